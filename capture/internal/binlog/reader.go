// Package binlog reads the MySQL/MariaDB binary log (ROW format) and turns
// it into canonical change events for the publisher (source.Source).
//
// Contract with the pipeline:
//   - Rows of a transaction are sent in binlog order; the last one has
//     Tx.Last set (the reader holds back exactly one row so it can mark it
//     when the XID arrives: memory stays bounded whatever the transaction
//     size, G7). A Commit item with the position after the transaction
//     follows. DDL statements are their own transactions: logged, then a
//     Commit item.
//   - Positions advance only at commits (DESIGN §5).
//   - A lost connection ends Run with an error whose Retryable() is true;
//     rows already sent for an unfinished transaction are then discarded
//     by the publisher (it aborts its Kafka transaction) and the pipeline
//     restarts the reader from the last committed position, trying the
//     configured addresses in turn (GTID mode only: file:pos means nothing
//     on another server, so without GTIDs the reader stays on one server).
//   - Column names and types come from the table map of each rows event
//     (binlog_row_metadata=FULL), so rows written before a DDL keep the
//     schema they were written with, even when capture is lagging. The
//     catalog is read only to learn which MariaDB LONGTEXT columns are
//     JSON (a json_valid check), re-read after each DDL on the table.
//     Servers without FULL metadata are refused with the setting to fix;
//     tracking schemas through DDL for them is not implemented.
package binlog

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	_ "github.com/go-sql-driver/mysql" // catalog queries
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/capture/internal/filter"
	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/position"
)

// Config of a Reader.
type Config struct {
	// Addrs are host:port of the source and its failover peers.
	Addrs    []string
	User     string
	Password string
	// ServerID is this replica's id; it must differ from every server's.
	ServerID uint32
	// Flavor is "mysql" or "mariadb"; empty detects it.
	Flavor string
	TLS    *tls.Config
	Filter *filter.Filter
	// KeylessFullRow keys tables without a primary or unique NOT NULL key
	// by all their columns instead of refusing them.
	KeylessFullRow bool
	// HeartbeatPeriod: a Heartbeat item is sent after this long without a
	// transaction. Default 5s.
	HeartbeatPeriod time.Duration
	// Name and Version go into every event's Source.
	Name, Version string
	Logger        *zap.Logger
}

// Reader is a binlog source.
type Reader struct {
	cfg     Config
	log     *zap.Logger
	flavor  string
	addr    string // the server currently read
	catalog *sql.DB
	tables  map[uint64]*table
	json    map[string]map[string]bool // db.table -> JSON columns (MariaDB)
}

var _ source.Source = (*Reader)(nil)

// New validates the config.
func New(cfg Config) (*Reader, error) {
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("binlog: no source address")
	}
	if cfg.ServerID == 0 {
		return nil, errors.New("binlog: server_id must be set and differ from the source's")
	}
	if cfg.HeartbeatPeriod <= 0 {
		cfg.HeartbeatPeriod = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return &Reader{cfg: cfg, log: cfg.Logger}, nil
}

// interrupted marks a retryable stop (connection lost, server gone).
type interrupted struct{ err error }

func (e interrupted) Error() string   { return "binlog stream interrupted: " + e.err.Error() }
func (e interrupted) Unwrap() error   { return e.err }
func (e interrupted) Retryable() bool { return true }

// Run implements source.Source.
func (r *Reader) Run(ctx context.Context, from string, out chan<- source.Item) error {
	if err := r.connect(ctx); err != nil {
		return err
	}
	defer r.catalog.Close()
	start, err := r.resolve(ctx, from)
	if err != nil {
		return err
	}
	if err := CheckPositionAvailable(ctx, r.catalog, r.flavor, start); err != nil {
		return err
	}
	host, portS, _ := net.SplitHostPort(r.addr)
	port, _ := strconv.Atoi(portS)
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: r.cfg.ServerID, Flavor: r.flavor, Host: host, Port: uint16(port),
		User: r.cfg.User, Password: r.cfg.Password, TLSConfig: r.cfg.TLS, Charset: "utf8mb4",
		TimestampStringLocation: time.UTC, UseDecimal: false, ParseTime: false,
		RenderJSONAsMySQLText: true, DisableRetrySync: true, HeartbeatPeriod: r.cfg.HeartbeatPeriod,
		// A small bounded channel: go-mysql must not read ahead without
		// limit while Kafka is slow (STYLE.md, G7).
		EventCacheCount: 64,
		Logger:          discardLogger(),
	})
	defer syncer.Close()
	var streamer *replication.BinlogStreamer
	if start.GTIDSet != "" {
		gset, err := gomysql.ParseGTIDSet(r.flavor, start.GTIDSet)
		if err != nil {
			return fmt.Errorf("parsing GTID set %q: %w", start.GTIDSet, err)
		}
		streamer, err = syncer.StartSyncGTID(gset)
		if err != nil {
			return interrupted{fmt.Errorf("starting binlog dump at %s: %w", start, err)}
		}
	} else {
		streamer, err = syncer.StartSync(gomysql.Position{Name: start.File, Pos: uint32(start.Pos)})
		if err != nil {
			return interrupted{fmt.Errorf("starting binlog dump at %s: %w", start, err)}
		}
	}
	r.log.Info("reading binlog", zap.String("server", r.addr), zap.String("flavor", r.flavor), zap.String("from", start.String()))
	st, err := newStream(r, start, out)
	if err != nil {
		return err
	}
	for {
		ectx, cancel := context.WithTimeout(ctx, r.cfg.HeartbeatPeriod)
		ev, err := streamer.GetEvent(ectx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) {
				if err := st.heartbeat(ctx); err != nil {
					return err
				}
				continue
			}
			return interrupted{fmt.Errorf("reading binlog from %s: %w", r.addr, err)}
		}
		if err := st.handle(ctx, ev); err != nil {
			return err
		}
	}
}

// connect opens the catalog connection to the first reachable address,
// starting with the one read last, and detects the flavor.
func (r *Reader) connect(ctx context.Context) error {
	var errs []error
	order := r.cfg.Addrs
	if r.addr != "" {
		order = append([]string{r.addr}, r.cfg.Addrs...)
	}
	backoff := 200 * time.Millisecond
	for attempt := 0; attempt < 3; attempt++ {
		for _, addr := range order {
			db, err := sql.Open("mysql", r.dsn(addr))
			if err == nil {
				pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err = db.PingContext(pctx)
				cancel()
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", addr, err))
				if db != nil {
					db.Close()
				}
				continue
			}
			if r.addr != "" && r.addr != addr {
				r.log.Warn("failing over to another source server", zap.String("from", r.addr), zap.String("to", addr))
			}
			r.addr, r.catalog = addr, db
			r.tables = map[uint64]*table{}
			r.json = map[string]map[string]bool{}
			return r.detectFlavor(ctx)
		}
		// Backoff with jitter between rounds: a restarting server should
		// not be hammered, and many captures should not retry in step.
		sleep := backoff + time.Duration(rand.Int64N(int64(backoff)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(sleep):
		}
		backoff *= 2
	}
	return interrupted{fmt.Errorf("no source server reachable: %w", errors.Join(errs...))}
}

func (r *Reader) dsn(addr string) string {
	return fmt.Sprintf("%s:%s@tcp(%s)/?charset=utf8mb4&time_zone=%%27%%2B00%%3A00%%27", r.cfg.User, r.cfg.Password, addr)
}

func (r *Reader) detectFlavor(ctx context.Context) error {
	var version string
	if err := r.catalog.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return fmt.Errorf("reading server version: %w", err)
	}
	detected := gomysql.MySQLFlavor
	if strings.Contains(strings.ToLower(version), "mariadb") {
		detected = gomysql.MariaDBFlavor
	}
	if r.cfg.Flavor != "" && r.cfg.Flavor != detected {
		return fmt.Errorf("source.flavor is %q but %s runs %s (%s)", r.cfg.Flavor, r.addr, detected, version)
	}
	r.flavor = detected
	return nil
}

// resolve turns a start spec into a concrete position on the server.
func (r *Reader) resolve(ctx context.Context, from string) (position.MySQL, error) {
	f, err := position.ParseFrom(from)
	if err != nil {
		return position.MySQL{}, err
	}
	cur, err := CurrentPosition(ctx, r.catalog, r.flavor)
	if err != nil {
		return position.MySQL{}, err
	}
	switch f.Kind {
	case position.FromLatest:
		return cur, nil
	case position.FromEarliest:
		var name string
		var size any
		rows, err := r.catalog.QueryContext(ctx, "SHOW BINARY LOGS")
		if err != nil {
			return position.MySQL{}, fmt.Errorf("listing binary logs: %w", err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		if !rows.Next() {
			return position.MySQL{}, errors.New("the server has no binary logs (is log_bin on?)")
		}
		dest := []any{&name, &size}
		for len(dest) < len(cols) {
			dest = append(dest, new(any))
		}
		if err := rows.Scan(dest...); err != nil {
			return position.MySQL{}, err
		}
		return position.MySQL{File: name, Pos: 4, ServerID: cur.ServerID, ServerUUID: cur.ServerUUID, Flavor: r.flavor}, nil
	case position.FromGTID:
		return position.MySQL{GTIDSet: f.GTID, Flavor: r.flavor, ServerID: cur.ServerID}, nil
	case position.FromFile:
		return position.MySQL{File: f.File, Pos: f.Pos, ServerID: cur.ServerID, ServerUUID: cur.ServerUUID, Flavor: r.flavor}, nil
	case position.FromPosition:
		p := f.Position
		if p.GTIDSet == "" && p.ServerUUID != "" && cur.ServerUUID != "" && p.ServerUUID != cur.ServerUUID ||
			p.GTIDSet == "" && p.ServerID != 0 && p.ServerID != cur.ServerID {
			return position.MySQL{}, fmt.Errorf("stored position %s is a file:pos of server %d/%s but %s is server %d/%s; without GTIDs capture cannot switch servers (enable GTIDs, or re-snapshot)",
				p, p.ServerID, p.ServerUUID, r.addr, cur.ServerID, cur.ServerUUID)
		}
		return p, nil
	}
	return position.MySQL{}, fmt.Errorf("--from %q is not supported by the binlog reader", from)
}

// CurrentPosition reads the server's current binlog position and GTIDs.
func CurrentPosition(ctx context.Context, db *sql.DB, flavor string) (position.MySQL, error) {
	p := position.MySQL{Flavor: flavor}
	var sid uint64
	if err := db.QueryRowContext(ctx, "SELECT @@server_id").Scan(&sid); err != nil {
		return p, fmt.Errorf("reading server_id: %w", err)
	}
	p.ServerID = uint32(sid)
	q := "SELECT @@gtid_binlog_pos"
	if flavor == gomysql.MySQLFlavor {
		q = "SELECT @@gtid_executed"
		var uuid string
		if err := db.QueryRowContext(ctx, "SELECT @@server_uuid").Scan(&uuid); err == nil {
			p.ServerUUID = uuid
		}
	}
	if err := db.QueryRowContext(ctx, q).Scan(&p.GTIDSet); err != nil {
		return p, fmt.Errorf("reading GTID position: %w", err)
	}
	p.GTIDSet = strings.ReplaceAll(p.GTIDSet, "\n", "")
	rows, err := db.QueryContext(ctx, "SHOW MASTER STATUS")
	if err != nil {
		return p, fmt.Errorf("reading binlog position (SHOW MASTER STATUS needs REPLICATION CLIENT / BINLOG MONITOR): %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		return p, errors.New("SHOW MASTER STATUS returned nothing: log_bin is off")
	}
	dest := []any{&p.File, &p.Pos}
	for len(dest) < len(cols) {
		dest = append(dest, new(any))
	}
	if err := rows.Scan(dest...); err != nil {
		return p, err
	}
	return p, nil
}

// jsonColumns returns the JSON columns of db.table (MariaDB stores JSON as
// LONGTEXT with a json_valid check constraint), cached until a DDL.
func (r *Reader) jsonColumns(ctx context.Context, db, tbl string) (map[string]bool, error) {
	k := db + "." + tbl
	if m, ok := r.json[k]; ok {
		return m, nil
	}
	m := map[string]bool{}
	if r.flavor == gomysql.MariaDBFlavor {
		rows, err := r.catalog.QueryContext(ctx,
			"SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?", db, tbl)
		if err != nil {
			return nil, fmt.Errorf("reading JSON columns of %s: %w", k, err)
		}
		defer rows.Close()
		for rows.Next() {
			var clause string
			if err := rows.Scan(&clause); err != nil {
				return nil, err
			}
			if c, ok := strings.CutPrefix(clause, "json_valid(`"); ok {
				if name, _, ok := strings.Cut(c, "`)"); ok {
					m[name] = true
				}
			}
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	r.json[k] = m
	return m, nil
}

// uniqueKey finds a unique key whose columns are all NOT NULL, to stand in
// for a missing primary key (DESIGN §4).
func (r *Reader) uniqueKey(ctx context.Context, t *table) ([]int, error) {
	rows, err := r.catalog.QueryContext(ctx, `
		SELECT s.INDEX_NAME, s.COLUMN_NAME, c.IS_NULLABLE
		FROM information_schema.STATISTICS s
		JOIN information_schema.COLUMNS c
		  ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME
		WHERE s.TABLE_SCHEMA = ? AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0
		ORDER BY s.INDEX_NAME, s.SEQ_IN_INDEX`, t.db, t.name)
	if err != nil {
		return nil, fmt.Errorf("reading unique keys of %s.%s: %w", t.db, t.name, err)
	}
	defer rows.Close()
	keys := map[string][]string{}
	nullable := map[string]bool{}
	var order []string
	for rows.Next() {
		var idx, col, isNull string
		if err := rows.Scan(&idx, &col, &isNull); err != nil {
			return nil, err
		}
		if _, seen := keys[idx]; !seen {
			order = append(order, idx)
		}
		keys[idx] = append(keys[idx], col)
		nullable[idx] = nullable[idx] || isNull == "YES"
	}
	for _, idx := range order {
		if nullable[idx] {
			continue
		}
		var cols []int
		for _, name := range keys[idx] {
			for i, c := range t.columns {
				if c.Name == name {
					cols = append(cols, i)
				}
			}
		}
		if len(cols) == len(keys[idx]) {
			return cols, nil
		}
	}
	return nil, rows.Err()
}

func eventSource(r *Reader) event.Source {
	return event.Source{Connector: r.flavor, Name: r.cfg.Name, Version: r.cfg.Version}
}
