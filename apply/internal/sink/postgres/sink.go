package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
)

// Config of the PostgreSQL sink. The zero value of every field but DSN is
// a usable default.
type Config struct {
	// DSN is a PostgreSQL URL or key=value connection string.
	DSN string
	// Schema holds rows whose sink.Row.Schema is empty, and the
	// sluice_offsets table. Default "public".
	Schema string
	// ZeroDates is what happens to a MySQL zero or invalid date
	// ('0000-00-00', '2024-02-31') bound for a date or timestamp column,
	// which PostgreSQL cannot hold: "null" (default) writes NULL and calls
	// OnZeroDate once per value; "error" fails the row with a RowError.
	ZeroDates string
	// MaxParams bounds the parameters of one statement; a run needing more
	// is split. Default and maximum DefaultMaxParams (the protocol allows
	// 65535; the margin leaves room for a few extra parameters).
	MaxParams int
	// Logger receives catalog reloads and zero-date notices; nil discards.
	Logger *zap.Logger
	// OnZeroDate counts zero dates written as NULL (a warning metric). It
	// is called after the batch committed, so a retried batch counts once.
	OnZeroDate func()
}

// DefaultMaxParams is the default and the largest Config.MaxParams.
const DefaultMaxParams = 65000

// Sink writes batches to one PostgreSQL database. It is safe for
// concurrent use: each Apply takes its own connection from the pool.
type Sink struct {
	cfg  Config
	pool *pgxpool.Pool
	log  *zap.Logger
	// offsets is the quoted sluice_offsets table.
	offsets string
	// method is how rows are written; only tests and the benchmark
	// choose another than methodArrays, to compare.
	method method

	mu      sync.Mutex
	tables  map[tableKey]*table
	nextTmp int

	closeOnce sync.Once
}

var _ sink.Sink = (*Sink)(nil)

// method is a way to write a part; see BenchmarkUpsert for how they
// compare.
type method uint8

const (
	// methodArrays: one array parameter per column, unnest (arrays.go).
	methodArrays method = iota
	// methodValues: multi-row VALUES, one parameter per value.
	methodValues
	// methodCopy: COPY into a temporary table, then INSERT ... SELECT.
	methodCopy
)

// New connects to the target and creates the offsets table if missing.
func New(ctx context.Context, cfg Config) (*Sink, error) {
	if cfg.Schema == "" {
		cfg.Schema = "public"
	}
	switch cfg.ZeroDates {
	case "":
		cfg.ZeroDates = "null"
	case "null", "error":
	default:
		return nil, fmt.Errorf("zero_dates %q: want null or error (PostgreSQL cannot keep zero dates)", cfg.ZeroDates)
	}
	switch {
	case cfg.MaxParams == 0:
		cfg.MaxParams = DefaultMaxParams
	case cfg.MaxParams < 1 || cfg.MaxParams > DefaultMaxParams:
		return nil, fmt.Errorf("max params %d: want 1 to %d", cfg.MaxParams, DefaultMaxParams)
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("parsing the PostgreSQL DSN: %w", err)
	}
	// Values never depend on these (timestamps carry their zone, dates are
	// ISO), but catalog text and error messages read the same everywhere.
	pc.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pc.ConnConfig.RuntimeParams["datestyle"] = "ISO, YMD"
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("creating the PostgreSQL pool: %w", err)
	}
	s := &Sink{cfg: cfg, pool: pool, log: cfg.Logger, tables: map[tableKey]*table{},
		offsets: pgx.Identifier{cfg.Schema, "sluice_offsets"}.Sanitize()}
	if err := s.createOffsets(ctx); err != nil {
		pool.Close()
		return nil, classify(fmt.Errorf("creating %s on %s: %w", s.offsets, pc.ConnConfig.Host, err))
	}
	return s, nil
}

// createOffsets creates the offsets table if missing. Two instances
// starting together can both miss it; IF NOT EXISTS does not stop the
// loser's unique violation on the catalog, so it tries once more.
func (s *Sink) createOffsets(ctx context.Context) error {
	ddl := "CREATE TABLE IF NOT EXISTS " + s.offsets + ` (
		group_id text NOT NULL,
		topic text NOT NULL,
		partition_id integer NOT NULL,
		next_offset bigint NOT NULL,
		updated_at timestamptz NOT NULL,
		PRIMARY KEY (group_id, topic, partition_id))`
	_, err := s.pool.Exec(ctx, ddl)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42P07") {
		_, err = s.pool.Exec(ctx, ddl)
	}
	return err
}

// Close implements sink.Sink. It waits for connections in use to be
// returned; calling it again does nothing.
func (s *Sink) Close() error {
	s.closeOnce.Do(s.pool.Close)
	return nil
}

// offsetSQL stores the batch's offset, but only over a stored offset not
// past the batch's first message: ON CONFLICT locks the row either way,
// so a concurrent batch of the same partition waits here, and no row
// comes back when another consumer is ahead (sink.ErrStale).
func (s *Sink) offsetSQL() string {
	return "INSERT INTO " + s.offsets + ` AS o (group_id, topic, partition_id, next_offset, updated_at)
		VALUES ($1, $2, $3, $4, now())
		ON CONFLICT (group_id, topic, partition_id) DO UPDATE
		SET next_offset = EXCLUDED.next_offset, updated_at = EXCLUDED.updated_at
		WHERE o.next_offset <= $5
		RETURNING 1`
}

// Apply implements sink.Sink: rows and offset in one transaction, in two
// round trips (begin and offset; all statements and commit).
func (s *Sink) Apply(ctx context.Context, rows []sink.Row, off sink.Offset) error {
	// Values are converted before a connection is taken: a value the
	// target cannot hold fails the batch without touching the database.
	parts, zeros, err := s.plan(ctx, rows)
	if err != nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return classify(fmt.Errorf("connecting to the target: %w", err))
	}
	defer conn.Release()
	pc := conn.Conn().PgConn()

	if err := s.begin(ctx, pc, off, parts); err != nil {
		rollback(ctx, pc)
		return err
	}
	if s.method == methodCopy {
		err = s.writeCopy(ctx, pc, parts)
	} else {
		err = s.writeStatements(ctx, pc, parts)
	}
	if err != nil {
		rollback(ctx, pc)
		return s.failure(ctx, pc, parts, err)
	}
	if zeros > 0 {
		s.log.Debug("zero dates written as NULL", zap.Int("count", zeros), zap.String("topic", off.Topic),
			zap.Int32("partition", off.Partition), zap.Int64("from", off.From))
		if s.cfg.OnZeroDate != nil {
			for range zeros {
				s.cfg.OnZeroDate()
			}
		}
	}
	return nil
}

// begin opens the transaction and stores the offset, refusing a stale
// batch before anything else is written.
func (s *Sink) begin(ctx context.Context, pc *pgconn.PgConn, off sink.Offset, parts []*part) error {
	b := &pgconn.Batch{}
	b.ExecParams("BEGIN", nil, nil, nil, nil)
	b.ExecParams(s.offsetSQL(), [][]byte{[]byte(off.Group), []byte(off.Topic), itoa(int64(off.Partition)),
		itoa(off.Next), itoa(off.From)}, nil, nil, nil)
	if s.method == methodCopy {
		s.createTemps(b, pc, parts)
	}
	res, err := pc.ExecBatch(ctx, b).ReadAll()
	if err != nil {
		return classify(fmt.Errorf("storing offset %d of %s/%d: %w", off.Next, off.Topic, off.Partition, err))
	}
	if len(res) < 2 || len(res[1].Rows) == 0 {
		return sink.ErrStale
	}
	return nil
}

// rollback ends a failed transaction so the connection can go back to the
// pool; if even that fails the pool drops the connection.
func rollback(ctx context.Context, pc *pgconn.PgConn) {
	if pc.IsClosed() || pc.TxStatus() == 'I' {
		return
	}
	_, _ = pc.Exec(ctx, "ROLLBACK").ReadAll()
}

// Offsets implements sink.Sink.
func (s *Sink) Offsets(ctx context.Context, group, topic string) (map[int32]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT partition_id, next_offset FROM `+s.offsets+
		` WHERE group_id = $1 AND topic = $2`, group, topic)
	if err != nil {
		return nil, classify(fmt.Errorf("reading the stored offsets of %s for %s: %w", group, topic, err))
	}
	out := map[int32]int64{}
	var (
		p    int32
		next int64
	)
	_, err = pgx.ForEachRow(rows, []any{&p, &next}, func() error {
		out[p] = next
		return nil
	})
	if err != nil {
		return nil, classify(fmt.Errorf("reading the stored offsets of %s for %s: %w", group, topic, err))
	}
	return out, nil
}

// SetOffsets implements sink.Sink, in one transaction so a replay moves
// all partitions or none.
func (s *Sink) SetOffsets(ctx context.Context, group, topic string, next map[int32]int64) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for p, n := range next {
			var err error
			if n < 0 {
				_, err = tx.Exec(ctx, "DELETE FROM "+s.offsets+` WHERE group_id = $1 AND topic = $2 AND partition_id = $3`,
					group, topic, p)
			} else {
				_, err = tx.Exec(ctx, "INSERT INTO "+s.offsets+` (group_id, topic, partition_id, next_offset, updated_at)
					VALUES ($1, $2, $3, $4, now())
					ON CONFLICT (group_id, topic, partition_id) DO UPDATE
					SET next_offset = EXCLUDED.next_offset, updated_at = EXCLUDED.updated_at`, group, topic, p, n)
			}
			if err != nil {
				return fmt.Errorf("partition %d: %w", p, err)
			}
		}
		return nil
	})
	if err != nil {
		return classify(fmt.Errorf("setting the stored offsets of %s for %s: %w", group, topic, err))
	}
	return nil
}

func tableField(schema, name string) zap.Field { return zap.String("table", schema+"."+name) }
