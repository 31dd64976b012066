package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"

	"github.com/go-sql-driver/mysql"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
)

// Sink writes batches to one MySQL or MariaDB server. It is safe for
// concurrent use: each Apply runs on its own pooled connection.
type Sink struct {
	cfg Config
	db  *sql.DB
	log *zap.Logger
	cat *catalog

	// maxPacket is the server's max_allowed_packet; statements are kept
	// well below it.
	maxPacket int
	// offsets and origin are the quoted names of the bookkeeping tables.
	offsets, origin string

	// ensured holds the offset rows (offsetKey) known to exist, so their
	// batches lock them without first trying to create them.
	ensured sync.Map

	closeOnce sync.Once
	closeErr  error
}

type offsetKey struct {
	group, topic string
	partition    int32
}

var _ sink.Sink = (*Sink)(nil)

// idleConns keeps a connection per partition worker open between batches:
// database/sql keeps 2 by default, and every other worker would then pay
// a new connection (handshake and session settings) per batch.
const idleConns = 64

// New connects, checks the server answers, and creates sluice_offsets
// (and sluice_origin when OriginTag is set) in Config.Database if missing.
func New(ctx context.Context, cfg Config) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("mysql sink config: %w", err)
	}
	cfg = cfg.withDefaults()
	dc, err := cfg.driverConfig()
	if err != nil {
		return nil, err
	}
	conn, err := mysql.NewConnector(dc)
	if err != nil {
		return nil, fmt.Errorf("target dsn: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxIdleConns(idleConns)
	s := &Sink{
		cfg: cfg, db: db, log: cfg.Logger, cat: newCatalog(db),
		offsets: quoteName(cfg.Database, "sluice_offsets"),
		origin:  quoteName(cfg.Database, "sluice_origin"),
	}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Sink) init(ctx context.Context) error {
	var version string
	if err := s.db.QueryRowContext(ctx, "SELECT VERSION(), @@max_allowed_packet").Scan(&version, &s.maxPacket); err != nil {
		return classify(fmt.Errorf("connecting to the target: %w", err))
	}
	// utf8mb4_bin: topic and group names are case-sensitive in Kafka, so
	// "Orders" and "orders" must not share an offset row.
	stmts := []string{"CREATE TABLE IF NOT EXISTS " + s.offsets + " (" +
		"group_id VARCHAR(255) NOT NULL, topic VARCHAR(255) NOT NULL, partition_id INT NOT NULL, " +
		"next_offset BIGINT NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), " +
		"PRIMARY KEY (group_id, topic, partition_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"}
	if s.cfg.OriginTag != "" {
		stmts = append(stmts, "CREATE TABLE IF NOT EXISTS "+s.origin+" ("+
			"id TINYINT NOT NULL PRIMARY KEY, origin VARCHAR(255) NOT NULL, tx BIGINT NOT NULL"+
			") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
	}
	for _, q := range stmts {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return classify(fmt.Errorf("creating the bookkeeping tables in %s: %w", quoteIdent(s.cfg.Database), err))
		}
	}
	s.log.Info("mysql target ready", zap.String("version", version), zap.String("database", s.cfg.Database),
		zap.Int("max_allowed_packet", s.maxPacket), zap.String("zero_dates", s.cfg.ZeroDates))
	return nil
}

// Close implements sink.Sink; it may be called more than once.
func (s *Sink) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.db.Close() })
	return s.closeErr
}

// Apply implements sink.Sink: origin marker, offset check, the runs in
// order, then the new offset, all in one transaction.
func (s *Sink) Apply(ctx context.Context, rows []sink.Row, off sink.Offset) error {
	runs := sink.Runs(rows)
	// Catalog lookups and column checks happen before the transaction,
	// so a missing column fails without taking any lock.
	plans := make([]*plan, len(runs))
	for i := range runs {
		p, err := s.plan(ctx, &runs[i])
		if err != nil {
			return err
		}
		plans[i] = p
	}
	// READ COMMITTED: under REPEATABLE READ, upserts and deletes take
	// next-key (gap) locks, and the batches of partitions whose keys
	// interleave wait on and deadlock with each other's gaps. Each batch
	// holds the row locks it needs; no reads in it need a snapshot.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return failed(ctx, "beginning a target transaction", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback() // the error that brought us here is the one to report
		}
	}()
	if s.cfg.OriginTag != "" {
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+s.origin+" (id, origin, tx) VALUES (?, ?, 1)"+
			" ON DUPLICATE KEY UPDATE origin = VALUES(origin), tx = tx + 1", originSlot(off), s.cfg.OriginTag); err != nil {
			return failed(ctx, "writing the origin marker", err)
		}
	}
	stored, err := s.lockOffset(ctx, tx, off)
	if err != nil {
		return err
	}
	if stored > off.From {
		return sink.ErrStale
	}
	for _, p := range plans {
		if err := s.writeRun(ctx, tx, p); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE "+s.offsets+" SET next_offset = ?, updated_at = NOW(6)"+
		" WHERE group_id = ? AND topic = ? AND partition_id = ?", off.Next, off.Group, off.Topic, off.Partition); err != nil {
		return failed(ctx, "storing the offset", err)
	}
	done = true
	if err := tx.Commit(); err != nil {
		// The commit may have happened before the connection broke; a
		// retry then finds the stored offset past From and gets ErrStale,
		// which makes the consumer resume from the stored offset.
		return failed(ctx, "committing the batch", err)
	}
	s.ensured.Store(offsetKey{off.Group, off.Topic, off.Partition}, true)
	return nil
}

// originSlot spreads workers over sluice_origin's rows, so the marker
// does not serialise the transactions of all partitions on one row lock.
// A capture only needs to see a write to the table, not which row.
func originSlot(off sink.Offset) int8 {
	h := fnv.New32a()
	h.Write([]byte(off.Topic))
	return int8((h.Sum32() + uint32(off.Partition)) % 128)
}

// lockOffset locks the partition's offset row for the transaction and
// returns the stored next offset (-1 when none).
//
// A row not known to exist is created (at -1) before it is read. Two
// workers racing on a new partition then serialise on the row like on an
// existing one, whatever the isolation level. Reading first would not
// do: under REPEATABLE READ, a locking read of a missing row takes a gap
// lock, and the first batches of neighbouring partitions would deadlock
// on each other's gap when inserting their rows.
func (s *Sink) lockOffset(ctx context.Context, tx *sql.Tx, off sink.Offset) (int64, error) {
	create := func() error {
		_, err := tx.ExecContext(ctx, "INSERT INTO "+s.offsets+" (group_id, topic, partition_id, next_offset, updated_at)"+
			" VALUES (?, ?, ?, -1, NOW(6)) ON DUPLICATE KEY UPDATE next_offset = next_offset",
			off.Group, off.Topic, off.Partition)
		if err != nil {
			return failed(ctx, "creating the offset row", err)
		}
		return nil
	}
	key := offsetKey{off.Group, off.Topic, off.Partition}
	if _, ok := s.ensured.Load(key); !ok {
		if err := create(); err != nil {
			return 0, err
		}
	}
	sel := "SELECT next_offset FROM " + s.offsets + " WHERE group_id = ? AND topic = ? AND partition_id = ? FOR UPDATE"
	var stored int64
	err := tx.QueryRowContext(ctx, sel, off.Group, off.Topic, off.Partition).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) { // removed since (a replay elsewhere)
		if err := create(); err != nil {
			return 0, err
		}
		err = tx.QueryRowContext(ctx, sel, off.Group, off.Topic, off.Partition).Scan(&stored)
	}
	if err != nil {
		return 0, failed(ctx, fmt.Sprintf("locking the offset of %s/%d", off.Topic, off.Partition), err)
	}
	return stored, nil
}

// Offsets implements sink.Sink. A row at -1 only exists inside a batch
// that has not committed yet; it is not an offset.
func (s *Sink) Offsets(ctx context.Context, group, topic string) (map[int32]int64, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT partition_id, next_offset FROM "+s.offsets+
		" WHERE group_id = ? AND topic = ? AND next_offset >= 0", group, topic)
	if err != nil {
		return nil, failed(ctx, "reading the stored offsets", err)
	}
	defer rows.Close()
	out := map[int32]int64{}
	for rows.Next() {
		var p int32
		var n int64
		if err := rows.Scan(&p, &n); err != nil {
			return nil, failed(ctx, "reading the stored offsets", err)
		}
		out[p] = n
	}
	if err := rows.Err(); err != nil {
		return nil, failed(ctx, "reading the stored offsets", err)
	}
	return out, nil
}

// SetOffsets implements sink.Sink, in one transaction.
func (s *Sink) SetOffsets(ctx context.Context, group, topic string, next map[int32]int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return failed(ctx, "beginning a target transaction", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for p, n := range next {
		if n < 0 {
			s.ensured.Delete(offsetKey{group, topic, p})
			_, err = tx.ExecContext(ctx, "DELETE FROM "+s.offsets+" WHERE group_id = ? AND topic = ? AND partition_id = ?",
				group, topic, p)
		} else {
			_, err = tx.ExecContext(ctx, "INSERT INTO "+s.offsets+" (group_id, topic, partition_id, next_offset, updated_at)"+
				" VALUES (?, ?, ?, ?, NOW(6)) ON DUPLICATE KEY UPDATE next_offset = VALUES(next_offset), updated_at = VALUES(updated_at)",
				group, topic, p, n)
		}
		if err != nil {
			return failed(ctx, fmt.Sprintf("setting the offset of %s/%d", topic, p), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return failed(ctx, "committing the offsets", err)
	}
	return nil
}

// failed wraps err with what was being done and marks it retryable when
// it is. A cancelled context wins over the driver's error (often "invalid
// connection" after the driver aborted the query), so shutting down is
// never mistaken for a lost connection worth retrying.
func failed(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	return classify(fmt.Errorf("%s: %w", what, err))
}

// quoteIdent quotes a MySQL identifier; a backtick inside is doubled.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

func quoteName(schema, table string) string {
	return quoteIdent(schema) + "." + quoteIdent(table)
}
