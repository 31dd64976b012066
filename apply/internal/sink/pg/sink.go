// Package pg is the PostgreSQL target of apply.
//
// Every value travels as text (bytea as bytes) in a parameter typed as
// the target column's type, $n::numeric and so on: PostgreSQL's input
// functions parse decimals, timestamps, intervals and bit strings exactly,
// and the assignment to the column applies its length and precision
// checks, so a value the column cannot hold is an error, not a silent
// truncation (G6, G8). Parameters of string columns are typed text: a
// typmod in the cast (varchar(5)) would truncate silently.
//
// A batch is one transaction: the partition's offset row is locked first
// (refusing a batch another consumer already applied past, see
// sink.Offset.From), each run is one multi-row INSERT ... ON CONFLICT (key)
// DO UPDATE or DELETE ... WHERE (key) IN (...), then the offset row is
// written.
package pg

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
)

// Config of the sink.
type Config struct {
	// DSN is a PostgreSQL URL or key=value string.
	DSN string
	// Schema holds unmapped tables and the offsets table (default public).
	Schema string
	// ZeroDates: null (default: MySQL zero dates become NULL, counted by
	// OnZeroDate) or error. PostgreSQL cannot hold them.
	ZeroDates string
	// MaxParams bounds the parameters of one statement (protocol limit
	// 65535).
	MaxParams  int
	Logger     *zap.Logger
	OnZeroDate func()
}

// Sink writes to one PostgreSQL database.
type Sink struct {
	cfg  Config
	pool *pgxpool.Pool
	log  *zap.Logger

	mu      sync.Mutex
	catalog map[string]*table
}

var _ sink.Sink = (*Sink)(nil)

// New connects and creates the offsets table.
func New(ctx context.Context, cfg Config) (*Sink, error) {
	if cfg.Schema == "" {
		cfg.Schema = "public"
	}
	if cfg.ZeroDates == "" {
		cfg.ZeroDates = "null"
	}
	if cfg.ZeroDates == "keep" {
		return nil, errors.New("zero_dates keep: PostgreSQL cannot hold zero dates; use null or error")
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
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("target dsn: %w", err)
	}
	pc.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("target dsn: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to %s: %w", pc.ConnConfig.Host, err)
	}
	s := &Sink{cfg: cfg, pool: pool, log: cfg.Logger, catalog: map[string]*table{}}
	if _, err := pool.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+s.offsetsTable()+` (group_id text NOT NULL, topic text NOT NULL,
		partition_id integer NOT NULL, next_offset bigint NOT NULL, updated_at timestamptz NOT NULL,
		PRIMARY KEY (group_id, topic, partition_id))`); err != nil {
		pool.Close()
		return nil, fmt.Errorf("creating sluice_offsets in schema %s: %w", cfg.Schema, err)
	}
	return s, nil
}

func (s *Sink) offsetsTable() string {
	return pgx.Identifier{s.cfg.Schema, "sluice_offsets"}.Sanitize()
}

// Close implements sink.Sink.
func (s *Sink) Close() error { s.pool.Close(); return nil }

// Apply implements sink.Sink.
func (s *Sink) Apply(ctx context.Context, rows []sink.Row, off sink.Offset) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return classify(fmt.Errorf("beginning a transaction: %w", err), nil)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	// The row exists before it is locked, so two first batches of a
	// partition serialise on it too.
	if _, err := tx.Exec(ctx, "INSERT INTO "+s.offsetsTable()+" (group_id, topic, partition_id, next_offset, updated_at)"+
		" VALUES ($1, $2, $3, -1, now()) ON CONFLICT DO NOTHING", off.Group, off.Topic, off.Partition); err != nil {
		return classify(fmt.Errorf("preparing the offset row: %w", err), nil)
	}
	var stored int64
	if err := tx.QueryRow(ctx, "SELECT next_offset FROM "+s.offsetsTable()+
		" WHERE group_id = $1 AND topic = $2 AND partition_id = $3 FOR UPDATE", off.Group, off.Topic, off.Partition).Scan(&stored); err != nil {
		return classify(fmt.Errorf("locking the offset of %s/%d: %w", off.Topic, off.Partition, err), nil)
	}
	if stored > off.From {
		return sink.ErrStale
	}
	for _, run := range sink.Runs(rows) {
		if err := s.writeRun(ctx, tx, &run); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, "UPDATE "+s.offsetsTable()+" SET next_offset = $4, updated_at = now()"+
		" WHERE group_id = $1 AND topic = $2 AND partition_id = $3", off.Group, off.Topic, off.Partition, off.Next); err != nil {
		return classify(fmt.Errorf("storing the offset: %w", err), nil)
	}
	if err := tx.Commit(ctx); err != nil {
		return classify(fmt.Errorf("committing the batch: %w", err), nil)
	}
	return nil
}

// Offsets implements sink.Sink. Rows left at -1 (never committed) do not
// exist for callers.
func (s *Sink) Offsets(ctx context.Context, group, topic string) (map[int32]int64, error) {
	rows, err := s.pool.Query(ctx, "SELECT partition_id, next_offset FROM "+s.offsetsTable()+
		" WHERE group_id = $1 AND topic = $2 AND next_offset >= 0", group, topic)
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
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return classify(err, nil)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	for p, n := range next {
		if n < 0 {
			_, err = tx.Exec(ctx, "DELETE FROM "+s.offsetsTable()+" WHERE group_id = $1 AND topic = $2 AND partition_id = $3", group, topic, p)
		} else {
			_, err = tx.Exec(ctx, "INSERT INTO "+s.offsetsTable()+" (group_id, topic, partition_id, next_offset, updated_at)"+
				" VALUES ($1, $2, $3, $4, now()) ON CONFLICT (group_id, topic, partition_id) DO UPDATE SET next_offset = EXCLUDED.next_offset,"+
				" updated_at = EXCLUDED.updated_at", group, topic, p, n)
		}
		if err != nil {
			return classify(fmt.Errorf("setting the stored offset of %s/%d: %w", topic, p, err), nil)
		}
	}
	return classify(tx.Commit(ctx), nil)
}
