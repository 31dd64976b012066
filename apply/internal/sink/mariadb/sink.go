// Package mariadb is the MySQL/MariaDB target of apply.
//
// A batch becomes one transaction: the offset row of the partition is
// locked first (so a consumer that lost the partition while writing cannot
// commit older changes over newer ones, see sink.Offset.From), then each
// run of the batch is one multi-row INSERT ... ON DUPLICATE KEY UPDATE or
// DELETE ... WHERE key IN (...), then the offset row is written. Sessions
// run in strict mode, so a value the column cannot hold fails loudly
// instead of being clipped, and with time_zone +00:00, so TIMESTAMP values
// (UTC in the events) are stored as they are. Zero dates are allowed by
// the session's sql_mode when the config keeps them.
//
// It is tested on MariaDB 10.11; the statements are the MySQL 8 subset.
package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
)

// Config of the sink.
type Config struct {
	// DSN in go-sql-driver form: user:pass@tcp(host:3306)/db.
	DSN string
	// Database holds unmapped tables and the offsets table; default the
	// DSN's database.
	Database string
	// ZeroDates: keep (default), null or error.
	ZeroDates string
	// MaxParams bounds the placeholders of one statement (the protocol's
	// limit is 65535).
	MaxParams int
	// OriginTag, when set, is written in every transaction to the
	// sluice_origin table, so a capture of this database can recognise
	// (and drop) the transactions apply wrote.
	OriginTag  string
	Logger     *zap.Logger
	OnZeroDate func()
}

// Sink writes to one MySQL/MariaDB server.
type Sink struct {
	cfg Config
	db  *sql.DB
	log *zap.Logger

	mu      sync.Mutex
	catalog map[string]*table
	ensured sync.Map // offKey -> true: offset row exists
}

var _ sink.Sink = (*Sink)(nil)

// New connects, checks the server answers and creates the offsets table.
func New(ctx context.Context, cfg Config) (*Sink, error) {
	if cfg.ZeroDates == "" {
		cfg.ZeroDates = "keep"
	}
	if cfg.MaxParams <= 0 || cfg.MaxParams > 65000 {
		cfg.MaxParams = 65000
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.OnZeroDate == nil {
		cfg.OnZeroDate = func() {}
	}
	dc, err := mysql.ParseDSN(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("target dsn: %w", err)
	}
	if cfg.Database == "" {
		cfg.Database = dc.DBName
	}
	if cfg.Database == "" {
		return nil, errors.New("target dsn names no database (user:pass@tcp(host:3306)/DATABASE)")
	}
	mode := "STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION"
	if cfg.ZeroDates != "keep" {
		mode += ",NO_ZERO_DATE,NO_ZERO_IN_DATE"
	}
	if dc.Params == nil {
		dc.Params = map[string]string{}
	}
	dc.Params["time_zone"] = "'+00:00'"
	dc.Params["sql_mode"] = "'" + mode + "'"
	dc.Collation = "utf8mb4_bin"
	dc.ParseTime = false
	dc.InterpolateParams = false
	conn, err := mysql.NewConnector(dc)
	if err != nil {
		return nil, fmt.Errorf("target dsn: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxIdleConns(16)
	db.SetConnMaxLifetime(time.Hour)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to %s: %w", dc.Addr, err)
	}
	s := &Sink{cfg: cfg, db: db, log: cfg.Logger, catalog: map[string]*table{}}
	ddl := []string{
		"CREATE TABLE IF NOT EXISTS " + s.offsetsTable() + ` (group_id VARCHAR(255) NOT NULL, topic VARCHAR(255) NOT NULL,
			partition_id INT NOT NULL, next_offset BIGINT NOT NULL, updated_at TIMESTAMP(6) NOT NULL,
			PRIMARY KEY (group_id, topic, partition_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
	}
	if cfg.OriginTag != "" {
		ddl = append(ddl, "CREATE TABLE IF NOT EXISTS "+quote(cfg.Database, "sluice_origin")+
			` (id TINYINT NOT NULL PRIMARY KEY, origin VARCHAR(255) NOT NULL, tx BIGINT NOT NULL) ENGINE=InnoDB`)
	}
	for _, q := range ddl {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			return nil, fmt.Errorf("creating Sluice's tables in %s: %w", cfg.Database, err)
		}
	}
	return s, nil
}

func (s *Sink) offsetsTable() string { return quote(s.cfg.Database, "sluice_offsets") }

// Close implements sink.Sink.
func (s *Sink) Close() error { return s.db.Close() }

// Apply implements sink.Sink.
func (s *Sink) Apply(ctx context.Context, rows []sink.Row, off sink.Offset) error {
	if err := s.ensureOffsetRow(ctx, off); err != nil {
		return err
	}
	// READ COMMITTED: writes by primary key lock the rows they touch and
	// no gaps, so workers of different partitions do not deadlock.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return classify(fmt.Errorf("beginning a transaction: %w", err), nil)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	var stored int64
	err = tx.QueryRowContext(ctx, "SELECT next_offset FROM "+s.offsetsTable()+
		" WHERE group_id = ? AND topic = ? AND partition_id = ? FOR UPDATE", off.Group, off.Topic, off.Partition).Scan(&stored)
	switch {
	case errors.Is(err, sql.ErrNoRows): // removed by a replay meanwhile; the upsert below recreates it
	case err != nil:
		return classify(fmt.Errorf("locking the offset of %s/%d: %w", off.Topic, off.Partition, err), nil)
	case stored > off.From:
		return sink.ErrStale
	}
	if s.cfg.OriginTag != "" {
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+quote(s.cfg.Database, "sluice_origin")+
			" (id, origin, tx) VALUES (1, ?, 1) ON DUPLICATE KEY UPDATE origin = VALUES(origin), tx = tx + 1", s.cfg.OriginTag); err != nil {
			return classify(fmt.Errorf("writing the origin marker: %w", err), nil)
		}
	}
	for _, run := range sink.Runs(rows) {
		if err := s.writeRun(ctx, tx, &run); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO "+s.offsetsTable()+
		" (group_id, topic, partition_id, next_offset, updated_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6))"+
		" ON DUPLICATE KEY UPDATE next_offset = VALUES(next_offset), updated_at = VALUES(updated_at)",
		off.Group, off.Topic, off.Partition, off.Next); err != nil {
		return classify(fmt.Errorf("storing the offset: %w", err), nil)
	}
	if err := tx.Commit(); err != nil {
		return classify(fmt.Errorf("committing the batch: %w", err), nil)
	}
	return nil
}

// ensureOffsetRow creates the partition's offset row (next_offset -1: no
// batch yet) outside the batch transaction, once per partition: locking a
// row that does not exist would lock the gap instead, and two partitions'
// first batches would deadlock on it.
func (s *Sink) ensureOffsetRow(ctx context.Context, off sink.Offset) error {
	key := offKey{off.Group, off.Topic, off.Partition}
	if _, ok := s.ensured.Load(key); ok {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, "INSERT INTO "+s.offsetsTable()+
		" (group_id, topic, partition_id, next_offset, updated_at) VALUES (?, ?, ?, -1, UTC_TIMESTAMP(6))"+
		" ON DUPLICATE KEY UPDATE next_offset = next_offset", off.Group, off.Topic, off.Partition); err != nil {
		return classify(fmt.Errorf("creating the offset row of %s/%d: %w", off.Topic, off.Partition, err), nil)
	}
	s.ensured.Store(key, true)
	return nil
}

type offKey struct {
	group, topic string
	partition    int32
}

// Offsets implements sink.Sink. Rows still at -1 hold no offset.
func (s *Sink) Offsets(ctx context.Context, group, topic string) (map[int32]int64, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT partition_id, next_offset FROM "+s.offsetsTable()+
		" WHERE group_id = ? AND topic = ? AND next_offset >= 0", group, topic)
	if err != nil {
		return nil, classify(fmt.Errorf("reading stored offsets: %w", err), nil)
	}
	defer rows.Close()
	out := map[int32]int64{}
	for rows.Next() {
		var p int32
		var n int64
		if err := rows.Scan(&p, &n); err != nil {
			return nil, err
		}
		out[p] = n
	}
	return out, rows.Err()
}

// SetOffsets implements sink.Sink.
func (s *Sink) SetOffsets(ctx context.Context, group, topic string, next map[int32]int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return classify(err, nil)
	}
	defer tx.Rollback() //nolint:errcheck
	for p, n := range next {
		if n < 0 {
			_, err = tx.ExecContext(ctx, "DELETE FROM "+s.offsetsTable()+" WHERE group_id = ? AND topic = ? AND partition_id = ?", group, topic, p)
			s.ensured.Delete(offKey{group, topic, p})
		} else {
			_, err = tx.ExecContext(ctx, "INSERT INTO "+s.offsetsTable()+
				" (group_id, topic, partition_id, next_offset, updated_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6))"+
				" ON DUPLICATE KEY UPDATE next_offset = VALUES(next_offset), updated_at = VALUES(updated_at)", group, topic, p, n)
		}
		if err != nil {
			return classify(fmt.Errorf("setting the stored offset of %s/%d: %w", topic, p, err), nil)
		}
	}
	return classify(tx.Commit(), nil)
}

// quote quotes db.table for MySQL.
func quote(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteByte('`')
		b.WriteString(strings.ReplaceAll(p, "`", "``"))
		b.WriteByte('`')
	}
	return b.String()
}
