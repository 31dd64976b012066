package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/capture/internal/binlog"
	"github.com/sluice-cdc/sluice/pkg/position"
)

// SourceReport is what the startup checks learned about the source.
type SourceReport struct {
	// Addr is the server that was checked: the first of source.addrs that
	// answered.
	Addr   string
	Checks []binlog.Check
	// Retention is how long the server keeps binlogs, 0 when they never
	// expire; RetentionKnown is false when it could not be read.
	Retention      time.Duration
	RetentionKnown bool
}

// Fatal returns the failed fatal checks as one error, nil when capture
// may start. One failed check makes one line; several make one line each
// under a heading.
func (r SourceReport) Fatal() error {
	var lines []string
	for _, c := range r.Checks {
		if !c.OK && c.Fatal {
			lines = append(lines, c.String())
		}
	}
	switch len(lines) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("source %s cannot be captured: %s", r.Addr, lines[0])
	}
	return fmt.Errorf("source %s cannot be captured until these are fixed (capture doctor lists every check):\n  %s", r.Addr, strings.Join(lines, "\n  "))
}

// CheckSource runs the preflight checks (binlog.Preflight) against the
// first address of source.addrs that answers, each attempt bounded by
// connect_timeout. It fails with one line when no address answers or
// when the server refuses the login: a wrong password is the same on
// every node, and trying the next would only hide it.
func CheckSource(ctx context.Context, cfg *Config) (SourceReport, error) {
	var unreachable []string
	for _, addr := range cfg.Source.Addrs {
		rep, err := checkOne(ctx, cfg, addr)
		switch {
		case err == nil:
			return rep, nil
		case ctx.Err() != nil:
			return SourceReport{}, ctx.Err()
		case isServerRefusal(err):
			return SourceReport{}, err
		}
		unreachable = append(unreachable, err.Error())
	}
	return SourceReport{}, fmt.Errorf("no source server reachable within connect_timeout %s: %s", cfg.ConnectTimeout, strings.Join(unreachable, "; "))
}

// refusedError is a source server that answered but would not let capture
// in: wrong user or password, host not allowed, too many connections.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }

func isServerRefusal(err error) bool {
	var r *refusedError
	return errors.As(err, &r)
}

func checkOne(ctx context.Context, cfg *Config, addr string) (SourceReport, error) {
	db, err := openSource(cfg, addr)
	if err != nil {
		return SourceReport{}, err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		var me *mysql.MySQLError
		if errors.As(err, &me) {
			hint := ""
			switch me.Number {
			case 1044, 1045, 1698: // access denied to db / for user / without password
				hint = "; check source.user and source.password"
			case 1130: // host not allowed
				hint = "; the user may not connect from this host"
			}
			return SourceReport{}, &refusedError{fmt.Errorf("source %s refused user %q: %s%s", addr, cfg.Source.User, me.Message, hint)}
		}
		if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
			return SourceReport{}, fmt.Errorf("%s: no answer within %s", addr, cfg.ConnectTimeout)
		}
		return SourceReport{}, fmt.Errorf("%s: %w", addr, err)
	}
	rep := SourceReport{Addr: addr, Checks: binlog.Preflight(ctx, db)}
	for i := range rep.Checks {
		rep.Checks[i].Detail = redactGrants(rep.Checks[i].Detail)
	}
	rep.Retention, rep.RetentionKnown = readRetention(ctx, db)
	return rep, nil
}

// grantSecret matches the credential part of a SHOW GRANTS line: MariaDB
// prints the password hash ("IDENTIFIED BY PASSWORD '*D8...'") and
// authentication strings ("IDENTIFIED VIA ed25519 USING '...'").
var grantSecret = regexp.MustCompile(`(?i)(IDENTIFIED (?:BY PASSWORD|VIA \S+ USING|WITH \S+ AS|BY)) '(?:[^'\\]|\\.)*'`)

// redactGrants keeps password hashes out of the check lines, which are
// printed and logged: a hash is a credential (it can be cracked, and
// MariaDB accepts it in IDENTIFIED BY PASSWORD).
func redactGrants(s string) string { return grantSecret.ReplaceAllString(s, "$1 '[redacted]'") }

// openSource opens a connection pool like the reader's catalog pool: the
// configured user and TLS, bounded dial time.
func openSource(cfg *Config, addr string) (*sql.DB, error) {
	dc := mysql.NewConfig()
	dc.Net, dc.Addr, dc.User, dc.Passwd = "tcp", addr, cfg.Source.User, cfg.Source.Password.Reveal()
	dc.Timeout = cfg.ConnectTimeout
	tc, err := cfg.Source.TLS.TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("source.%w", err)
	}
	dc.TLS = tc
	conn, err := mysql.NewConnector(dc)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", addr, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1) // the checks are sequential
	return db, nil
}

// readRetention reads how long the server keeps binlogs: MySQL 8 and
// MariaDB 10.6+ have binlog_expire_logs_seconds, older servers
// expire_logs_days (MariaDB keeps both in step).
func readRetention(ctx context.Context, db *sql.DB) (time.Duration, bool) {
	rows, err := db.QueryContext(ctx, "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('binlog_expire_logs_seconds', 'expire_logs_days')")
	if err != nil {
		return 0, false
	}
	defer rows.Close()
	var secs, days float64
	found := false
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return 0, false
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		found = true
		if strings.EqualFold(name, "binlog_expire_logs_seconds") {
			secs = v
		} else {
			days = v
		}
	}
	if rows.Err() != nil || !found {
		return 0, false
	}
	if secs > 0 {
		return time.Duration(secs) * time.Second, true
	}
	return time.Duration(days * float64(24*time.Hour)), true
}

// Doctor runs the preflight checks for `capture doctor`: the checks of the
// first server that answers, with every address that did not answer (or
// refused the login) as a failed "connection" check before them.
func Doctor(ctx context.Context, cfg *Config) SourceReport {
	var failed []binlog.Check
	for _, addr := range cfg.Source.Addrs {
		rep, err := checkOne(ctx, cfg, addr)
		if err == nil {
			rep.Checks = append(failed, rep.Checks...)
			return rep
		}
		c := binlog.Check{Name: "connection " + addr, Fatal: true, Detail: err.Error()}
		failed = append(failed, c)
		if isServerRefusal(err) || ctx.Err() != nil {
			break
		}
	}
	return SourceReport{Addr: strings.Join(cfg.Source.Addrs, ", "), Checks: failed}
}

// CheckKafka fails with one clear line when no broker answers within
// timeout, or the brokers refuse the client (TLS, SASL). The publisher
// would otherwise retry for minutes before its first request fails.
//
// franz-go does not give up a dial when the request's context ends (it
// waits out its own dial timeout), so the dial timeout is bounded too and
// the answer is awaited on the side: a silent address fails after timeout,
// not after franz-go's 10s.
func CheckKafka(ctx context.Context, opts []kgo.Opt, brokers []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	opts = append(slices.Clip(opts), kgo.DialTimeout(timeout))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("creating the Kafka client: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		defer cl.Close()
		_, err := kadm.NewClient(cl).ListBrokers(ctx)
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		if parent := context.Cause(ctx); errors.Is(parent, context.Canceled) {
			return parent
		}
		return fmt.Errorf("no Kafka broker answered at %s within connect_timeout %s", strings.Join(brokers, ","), timeout)
	}
	return fmt.Errorf("Kafka brokers %s: %w", strings.Join(brokers, ","), err)
}

// CheckFrom validates a --from spec for a MySQL/MariaDB source: earliest,
// latest, gtid:<set>, file:<name>:<pos> or a stored position (JSON).
func CheckFrom(from string) error {
	f, err := position.ParseFrom(from)
	if err != nil {
		return err
	}
	switch f.Kind {
	case position.FromEarliest, position.FromLatest, position.FromGTID, position.FromFile, position.FromPosition:
		return nil
	}
	return fmt.Errorf("--from %s: a %s start is not supported by the MySQL/MariaDB source (use earliest, latest, gtid:<set> or file:<name>:<pos>)", from, f.Kind)
}
