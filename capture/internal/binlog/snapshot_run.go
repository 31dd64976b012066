package binlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/capture/internal/snapshot"
	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/retry"
)

// SnapshotConfig turns snapshots on (Config.Snapshot); see snapshot.go.
type SnapshotConfig = snapshot.Config

// chunk is one chunk ready to be emitted.
type chunk struct {
	meta            *snapMeta
	rows            [][]event.Value
	start, complete bool
	state           string // snapshot state after the chunk
}

// snapRun is the snapshotter of one Run.
type snapRun struct {
	r     *Reader
	cfg   *SnapshotConfig
	coord snapCoord
	log   *zap.Logger

	db     *sql.DB
	dbAddr string
	dbID   uint32
	flavor string
	meta   *snapMeta

	meter snapshot.Meter
}

// run copies the queued tables until ctx ends, the queue is empty (and no
// signals are configured) or it fails.
//
// state is the progress as of the last chunk the stream emitted; p, when
// set, is the chunk handed over after it, whose outcome is not known yet.
// The next chunk is read from p's state while the stream emits p.
func (s *snapRun) run(ctx context.Context, state snapshot.State) error {
	defer func() {
		if s.db != nil {
			s.db.Close()
		}
	}()
	sigs := s.cfg.ReadSignals(ctx, state.SignalsOffset, s.log)
	var p *pending
	pause := retry.Backoff{Base: 10 * time.Millisecond, Max: 2 * time.Second}
	for {
		// A table's last chunk is settled before the next table starts,
		// so each table's meta and rate stay its own.
		if p != nil && (p.complete || len(p.next.Tables) == 0) {
			err := s.settle(ctx, p)
			if err == nil {
				state = p.next
			}
			p = nil
			if err != nil && !errors.Is(err, errStaleChunk) {
				return err
			}
			continue
		}
		if len(state.Tables) == 0 {
			sig, ok, err := s.cfg.Idle(ctx, sigs)
			if !ok {
				return err
			}
			s.add(&state, sig, true)
			continue
		}
		select {
		case sig := <-sigs:
			s.add(&state, sig, true)
			if p != nil {
				s.add(&p.next, sig, false)
			}
		default:
		}
		base := state
		if p != nil {
			base = p.next
		}
		np, prevErr, err := s.tryChunk(ctx, base, p)
		if p != nil {
			if prevErr == nil {
				state = p.next
			} else if !errors.Is(prevErr, errStaleChunk) {
				return prevErr
			}
			p = nil
		}
		if err == nil && prevErr == nil {
			p = np
			pause.Reset()
			continue
		}
		if err != nil && !errors.Is(err, errStaleChunk) {
			return err
		}
		// A refused chunk is read again, after a pause.
		if err := retry.Sleep(ctx, pause.Next()); err != nil {
			return err
		}
	}
}

// add queues the tables of a signal (those not queued already).
func (s *snapRun) add(state *snapshot.State, sig snapshot.Signal, logIt bool) {
	for _, name := range sig.Tables {
		db, tbl, ok := splitTable(name)
		if !ok || state.Has(db, tbl) {
			continue
		}
		if !s.r.cfg.captures(db, tbl) {
			if !logIt {
				continue
			}
			s.log.Warn("snapshot request for a table this capture does not capture; ignored", zap.String("table", name))
			continue
		}
		state.Tables = append(state.Tables, snapshot.Table{DB: db, Table: tbl})
		if logIt {
			s.log.Info("snapshot requested", zap.String("table", name))
		}
	}
	state.SignalsOffset = sig.Next
}

func splitTable(name string) (string, string, bool) {
	for i := 0; i < len(name); i++ {
		if name[i] == '.' {
			return name[:i], name[i+1:], i > 0 && i < len(name)-1
		}
	}
	return "", "", false
}

// connect (re)opens the snapshot pool to the server the stream reads.
func (s *snapRun) connect(ctx context.Context) (uint32, error) {
	addr, id := s.coord.server()
	if addr == "" {
		return 0, errStaleChunk // the stream has not connected yet
	}
	if s.db != nil && s.dbAddr == addr && s.dbID == id {
		return id, nil
	}
	if s.db != nil {
		s.db.Close()
		s.db, s.meta = nil, nil
	}
	db, err := s.r.openSnapDB(addr)
	if err != nil {
		return 0, err
	}
	var got uint32
	var version string
	if err := db.QueryRowContext(ctx, "SELECT @@server_id, VERSION()").Scan(&got, &version); err != nil {
		db.Close()
		return 0, fmt.Errorf("snapshot connection to %s: %w", addr, err)
	}
	if got != id {
		db.Close()
		return 0, errStaleChunk
	}
	s.db, s.dbAddr, s.dbID = db, addr, id
	s.flavor = flavorMySQL
	if containsFold(version, "mariadb") {
		s.flavor = flavorMariaDB
	}
	return id, nil
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		ok := true
		for j := 0; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// pending is a chunk handed over to the stream, its outcome not yet
// known.
type pending struct {
	b        *barrier
	next     snapshot.State // the state after it
	table    snapshot.Table // its table's progress after it
	complete bool
	rows     int
}

// settle waits for the stream's verdict on p: nil once emitted; on
// success it reports the progress.
func (s *snapRun) settle(ctx context.Context, p *pending) error {
	var err error
	select {
	case err = <-p.b.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err == nil {
		s.meter.Chunk(p.table, p.rows, p.complete)
	}
	return err
}

// tryChunk reads the next chunk of base.Tables[0] and hands it to the
// stream, returning it as pending. prev, when set, is the chunk handed
// over before (base is the state after it): tryChunk always settles it,
// returning its outcome as prevErr, and withdraws the new chunk when prev
// failed. errStaleChunk (in either) means: read again.
func (s *snapRun) tryChunk(ctx context.Context, base snapshot.State, prev *pending) (p *pending, prevErr, err error) {
	settled := prev == nil
	settlePrev := func() error {
		if !settled {
			settled = true
			prevErr = s.settle(ctx, prev)
		}
		return prevErr
	}
	defer func() {
		if settlePrev(); prevErr != nil && p != nil {
			p = nil
		}
	}()
	id, err := s.connect(ctx)
	if err != nil {
		return nil, prevErr, err
	}
	t := base.Tables[0]
	if s.meta == nil || s.meta.db != t.DB || s.meta.table != t.Table {
		if s.meta, err = s.r.loadMeta(ctx, s.db, s.flavor, t.DB, t.Table); err != nil {
			return nil, prevErr, err
		}
		s.meter.Begin()
	}
	var after []any
	if len(t.After) > 0 {
		if after, err = decodeKey(t.After, t.After64, s.meta.keyKinds); err != nil {
			return nil, prevErr, fatalf("snapshot of %s: %w", t.Name(), err)
		}
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, prevErr, err
	}
	defer conn.Close()
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") //nolint:errcheck // read-only; ends the snapshot
	at, err := snapshotPos(ctx, conn, s.flavor)
	if err != nil {
		return nil, prevErr, err
	}
	b, err := s.coord.announce(at, id)
	if err != nil {
		return nil, prevErr, err
	}
	n := s.cfg.ChunkSize
	rows, err := readRows(ctx, conn, s.meta, after, n+1)
	if err == nil && settlePrev() != nil {
		err = errStaleChunk // withdrawn: it was read after a chunk that did not make it
	}
	if err != nil {
		s.coord.deliver(b, nil, err)
		select {
		case <-b.done:
		case <-ctx.Done():
		}
		return nil, prevErr, err
	}
	conn.ExecContext(ctx, "COMMIT") //nolint:errcheck // read-only
	next := base.Clone()
	cur := &next.Tables[0]
	ch := &chunk{meta: s.meta, start: len(t.After) == 0 && t.Rows == 0}
	if len(rows) > n {
		rows = rows[:n]
	} else {
		ch.complete = true
	}
	ch.rows = rows
	if ch.start {
		cur.Total = estimateRows(ctx, s.db, t.DB, t.Table)
		cur.StartedMs = time.Now().UnixMilli()
	}
	cur.Rows += int64(len(rows))
	cur.Chunks++
	if len(rows) > 0 {
		last := rows[len(rows)-1]
		kv := make([]event.Value, len(s.meta.key))
		for i, k := range s.meta.key {
			kv[i] = last[k]
		}
		cur.After, cur.After64 = encodeKey(kv)
	}
	done := *cur
	if ch.complete {
		next.Tables = next.Tables[1:]
		next.Done = append(next.Done, t.Name())
		if len(next.Tables) == 0 {
			next.Done = nil
		}
	}
	ch.state = next.JSON()
	s.coord.deliver(b, ch, nil)
	return &pending{b: b, next: next, table: done, complete: ch.complete, rows: len(rows)}, prevErr, nil
}

// initialTables lists every captured base table, for the initial snapshot.
func (r *Reader) initialTables(ctx context.Context, db *sql.DB) ([]snapshot.Table, error) {
	rows, err := db.QueryContext(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME")
	if err != nil {
		return nil, fmt.Errorf("listing tables for the initial snapshot: %w", err)
	}
	defer rows.Close()
	var out []snapshot.Table
	for rows.Next() {
		var d, t string
		if err := rows.Scan(&d, &t); err != nil {
			return nil, err
		}
		if r.cfg.captures(d, t) {
			out = append(out, snapshot.Table{DB: d, Table: t})
		}
	}
	return out, rows.Err()
}

// startSnapshots prepares the snapshotter of a Run: the stored state, or
// every captured table on a fresh start with Initial. It returns nil when
// there is nothing to do and nothing can arrive.
func (r *Reader) startSnapshots(ctx context.Context, srv *server) (*snapRun, snapshot.State, error) {
	sc := r.cfg.Snapshot
	if sc == nil {
		return nil, snapshot.State{}, nil
	}
	state, fresh, err := sc.Stored()
	if err != nil {
		return nil, state, fatalf("%w", err)
	}
	initialOnly := sc.InitialOnly
	if fresh && sc.Initial {
		if state.Tables, err = r.initialTables(ctx, srv.db); err != nil {
			return nil, state, err
		}
		r.log.Info("initial snapshot", zap.Int("tables", len(state.Tables)), zap.Int("chunk_size", sc.ChunkSize))
	} else if len(state.Tables) > 0 {
		r.log.Info("resuming snapshot", zap.String("table", state.Tables[0].Name()), zap.Int64("rows_done", state.Tables[0].Rows),
			zap.Int("tables_queued", len(state.Tables)))
	}
	if len(state.Tables) == 0 && sc.Signals == nil && !initialOnly {
		return nil, state, nil
	}
	cfg := *sc
	cfg.InitialOnly = initialOnly
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = snapshot.DefaultChunkSize
	}
	log := r.log.Named("snapshot")
	return &snapRun{r: r, cfg: &cfg, log: log, meter: snapshot.Meter{Report: cfg.Progress, Log: log, Noun: "table"}}, state, nil
}

// emitChunk sends a chunk as snapshot rows (with the bootstrap-start and
// -complete markers around a table) and a Commit item that keeps the
// position and carries the new snapshot state. Called by the stream at
// the chunk's position, with no transaction open.
func (st *stream) emitChunk(ctx context.Context, ch *chunk) error {
	now := time.Now().UnixMilli()
	m := ch.meta
	base := event.Event{Database: m.db, Table: m.table, Columns: m.cols, Key: m.key,
		Source: event.Source{Connector: st.connector, Name: st.r.cfg.Name, Version: st.r.cfg.Version, ServerID: st.srv.id,
			File: st.committed.File, Pos: st.committed.Pos},
		SourceTimeMs: now, EmitTimeMs: now, Position: st.committedJSON}
	if ch.start {
		ev := base
		ev.Op = event.OpSnapshotStart
		if err := st.send(ctx, source.Item{Kind: source.Row, Event: ev}); err != nil {
			return err
		}
	}
	for i, row := range ch.rows {
		ev := base
		ev.Op, ev.After, ev.Source.Snapshot = event.OpSnapshot, row, "true"
		if ch.complete && i == len(ch.rows)-1 {
			ev.Source.Snapshot = "last"
		}
		if err := st.send(ctx, source.Item{Kind: source.Row, Event: ev}); err != nil {
			return err
		}
	}
	if ch.complete {
		ev := base
		ev.Op = event.OpSnapshotComplete
		if err := st.send(ctx, source.Item{Kind: source.Row, Event: ev}); err != nil {
			return err
		}
	}
	st.snapJSON = ch.state
	return st.send(ctx, source.Item{Kind: source.Commit, Position: st.committedJSON, SourceTimeMs: st.lastTimeMs,
		TxID: "snapshot " + m.db + "." + m.table, Snapshot: st.snapJSON})
}
