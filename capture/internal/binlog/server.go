package binlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-sql-driver/mysql"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/pkg/retry"
)

// Flavors, spelled as go-mysql and pkg/position spell them.
const (
	flavorMySQL   = gomysql.MySQLFlavor
	flavorMariaDB = gomysql.MariaDBFlavor
)

// server is one source server as the reader sees it: a catalog connection
// pool and the facts about the server that do not change while connected.
type server struct {
	addr    string
	db      *sql.DB
	flavor  string
	version string
	id      uint32
	uuid    string // MySQL only
	// gtids: the server has GTIDs (always on MariaDB, gtid_mode=ON on
	// MySQL), so positions carry a GTID set and failover is possible.
	gtids bool
	// maxLen is the bytes per character of each collation id.
	maxLen map[uint64]int
}

func (s *server) close() {
	if s != nil && s.db != nil {
		s.db.Close()
	}
}

// openDB opens a connection pool to addr for what (named in errors):
// utf8mb4, temporal values as text, the reader's TLS settings, and the
// session variables in params. Two connections: catalog lookups are rare
// and sequential, and a snapshot reads one chunk at a time.
func (r *Reader) openDB(addr, what string, params map[string]string) (*sql.DB, error) {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr = r.cfg.User, r.cfg.Password, "tcp", addr
	c.TLS = r.cfg.TLS
	c.Timeout = dialTimeout
	c.ParseTime = false
	c.Params = params
	if err := c.Apply(mysql.Charset("utf8mb4", "")); err != nil {
		return nil, fmt.Errorf("%s connection to %s: %w", what, addr, err)
	}
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, fmt.Errorf("%s connection to %s: %w", what, addr, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(2)
	db.SetConnMaxIdleTime(time.Minute)
	return db, nil
}

// openServer connects to addr and learns the server's flavor, identity
// and GTID mode.
func (r *Reader) openServer(ctx context.Context, addr string) (*server, error) {
	db, err := r.openDB(addr, "catalog", nil)
	if err != nil {
		return nil, err
	}
	s := &server{addr: addr, db: db}
	if err := s.inspect(ctx, r.cfg.Flavor); err != nil {
		db.Close()
		return nil, err
	}
	if s.id == r.cfg.ServerID {
		db.Close()
		return nil, fatalf("server %s has server_id %d, the same as this reader's replica server_id: choose another server_id for capture", addr, s.id)
	}
	return s, nil
}

func (s *server) inspect(ctx context.Context, wantFlavor string) error {
	var id uint64
	if err := s.db.QueryRowContext(ctx, "SELECT VERSION(), @@server_id").Scan(&s.version, &id); err != nil {
		return fmt.Errorf("connecting to %s: %w", s.addr, err)
	}
	s.id = uint32(id)
	s.flavor = flavorMySQL
	if strings.Contains(strings.ToLower(s.version), "mariadb") {
		s.flavor = flavorMariaDB
	}
	if wantFlavor != "" && wantFlavor != s.flavor {
		return fatalf("the source flavor is configured as %s but %s runs %s (%s)", wantFlavor, s.addr, s.flavor, s.version)
	}
	if s.flavor == flavorMariaDB {
		s.gtids = true
	} else {
		var mode string
		if err := s.db.QueryRowContext(ctx, "SELECT @@server_uuid, @@gtid_mode").Scan(&s.uuid, &mode); err != nil {
			return fmt.Errorf("reading server_uuid and gtid_mode of %s: %w", s.addr, err)
		}
		s.gtids = strings.EqualFold(mode, "ON")
	}
	return s.loadCollations(ctx)
}

// loadCollations reads the bytes per character of every collation. CHAR
// and VARCHAR lengths are logged in bytes; this turns them back into the
// declared character counts of the column type.
func (s *server) loadCollations(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT c.ID, s.MAXLEN FROM information_schema.COLLATIONS c
		JOIN information_schema.CHARACTER_SETS s ON s.CHARACTER_SET_NAME = c.CHARACTER_SET_NAME`)
	if err != nil {
		return fmt.Errorf("reading collations of %s: %w", s.addr, err)
	}
	defer rows.Close()
	s.maxLen = map[uint64]int{}
	for rows.Next() {
		var id, maxLen sql.NullInt64
		if err := rows.Scan(&id, &maxLen); err != nil {
			return fmt.Errorf("reading collations of %s: %w", s.addr, err)
		}
		if id.Valid && maxLen.Valid && id.Int64 >= 0 {
			s.maxLen[uint64(id.Int64)] = int(maxLen.Int64)
		}
	}
	return rows.Err()
}

// dial connects to the first reachable address of addrs, in order, and
// keeps trying with backoff until until passes. Errors the server answers
// with (access denied, wrong flavor) are not retried.
func (r *Reader) dial(ctx context.Context, addrs []string, until time.Time) (*server, error) {
	b := newBackoff()
	for {
		var errs []error
		for _, a := range addrs {
			s, err := r.openServer(ctx, a)
			if err == nil {
				return s, nil
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if isFatal(err) || !transient(err) {
				return nil, err
			}
			errs = append(errs, err)
		}
		if time.Now().After(until) {
			return nil, fatalf("no source server reachable (tried %s for %s): %w", strings.Join(addrs, ", "), r.cfg.RetryWindow, errors.Join(errs...))
		}
		wait := b.Next()
		r.log.Warn("source server unreachable, retrying", zap.Strings("addrs", addrs), zap.Duration("in", wait), zap.Error(errors.Join(errs...)))
		if err := retry.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// transient reports whether a connection attempt may succeed later: no
// answer from the server (network), or a server error that passes (too
// many connections, shutting down). Other server errors (access denied,
// unknown variable) will not go away by retrying.
func transient(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1040, 1053, 1927: // too many connections, shutdown in progress, connection killed
			return true
		}
		return false
	}
	return !isAccessDenied(err)
}

// isAccessDenied reports server errors that retrying cannot fix.
func isAccessDenied(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1044, 1045, 1227: // access denied to db / for user / needs privilege
			return true
		}
	}
	var ge *gomysql.MyError
	if errors.As(err, &ge) {
		switch ge.Code {
		case gomysql.ER_DBACCESS_DENIED_ERROR, gomysql.ER_ACCESS_DENIED_ERROR, gomysql.ER_SPECIFIC_ACCESS_DENIED_ERROR:
			return true
		}
	}
	return false
}

// newBackoff is the reconnect backoff: 200ms doubling up to maxBackoff,
// with jitter so many captures restarting together do not retry in step.
func newBackoff() retry.Backoff { return retry.Backoff{Base: 200 * time.Millisecond, Max: maxBackoff} }

// splitAddr splits host:port for go-mysql, which wants them apart.
func splitAddr(addr string) (string, uint16, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("address %q: %w", addr, err)
	}
	var p uint16
	if _, err := fmt.Sscan(port, &p); err != nil {
		return "", 0, fmt.Errorf("address %q: port %q: %w", addr, port, err)
	}
	return host, p, nil
}
