package binlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/position"
)

// ErrPositionPurged means the binlog needed to resume was purged: capture
// cannot continue without losing changes (G6).
var ErrPositionPurged = errors.New("binlog position is no longer available on the server")

// stream is the state of one binlog connection: the position of the last
// committed transaction and the transaction being read.
type stream struct {
	r         *Reader
	out       chan<- source.Item
	gset      gomysql.GTIDSet
	file      string
	committed position.MySQL
	serverID  uint32

	inTx     bool
	txGTID   string
	txStart  string // position JSON before the transaction
	seq      uint64
	tableSeq map[string]uint64
	thread   uint64
	pending  *source.Item
	fixedTs  int64
}

func newStream(r *Reader, start position.MySQL, out chan<- source.Item) (*stream, error) {
	gset, err := gomysql.ParseGTIDSet(r.flavor, start.GTIDSet)
	if err != nil {
		return nil, fmt.Errorf("parsing GTID set %q: %w", start.GTIDSet, err)
	}
	return &stream{r: r, out: out, gset: gset, file: start.File, committed: start, tableSeq: map[string]uint64{}}, nil
}

func (s *stream) send(ctx context.Context, it source.Item) error {
	select {
	case s.out <- it:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *stream) heartbeat(ctx context.Context) error {
	if s.inTx || s.committed.IsZero() {
		return nil
	}
	return s.send(ctx, source.Item{Kind: source.Heartbeat, Position: s.committed.JSON(), SourceTimeMs: s.fixedTs})
}

func (s *stream) begin(gtid string, thread uint64) {
	s.inTx, s.txGTID, s.seq, s.thread = true, gtid, 0, thread
	clear(s.tableSeq)
	s.txStart = s.committed.JSON()
}

// commit flushes the held-back row as the transaction's last and sends the
// Commit item with the position after the transaction.
func (s *stream) commit(ctx context.Context, h *replication.EventHeader, xid uint64) error {
	if s.txGTID != "" {
		if err := s.gset.Update(s.txGTID); err != nil {
			return fmt.Errorf("adding GTID %s to the position: %w", s.txGTID, err)
		}
	}
	s.committed = position.MySQL{GTIDSet: s.gset.String(), File: s.file, Pos: uint64(h.LogPos),
		ServerID: h.ServerID, ServerUUID: s.committed.ServerUUID, Flavor: s.r.flavor}
	if s.pending != nil {
		p := s.pending
		s.pending = nil
		p.Event.Tx.Last = true
		p.Event.Tx.XID = xid
		if err := s.send(ctx, *p); err != nil {
			return err
		}
	}
	s.inTx, s.txGTID = false, ""
	s.fixedTs = int64(h.Timestamp) * 1000
	return s.send(ctx, source.Item{Kind: source.Commit, Position: s.committed.JSON(), SourceTimeMs: s.fixedTs, TxID: s.txID()})
}

func (s *stream) txID() string {
	if s.txGTID != "" {
		return s.txGTID
	}
	return s.file + ":" + fmt.Sprint(s.committed.Pos)
}

func (s *stream) handle(ctx context.Context, ev *replication.BinlogEvent) error {
	h := ev.Header
	switch e := ev.Event.(type) {
	case *replication.RotateEvent:
		s.file = string(e.NextLogName)
	case *replication.MariadbGTIDListEvent:
		// The list at a file's start is the GTID state before it: the
		// starting set when reading from a file:pos.
		if s.gset.String() == "" {
			for i := range e.GTIDs {
				if err := s.gset.Update(e.GTIDs[i].String()); err != nil {
					return err
				}
			}
		}
	case *replication.MariadbGTIDEvent:
		s.begin(e.GTID.String(), 0)
	case *replication.GTIDEvent:
		s.begin(fmt.Sprintf("%s:%d", uuidText(e.SID), e.GNO), 0)
	case *replication.QueryEvent:
		q := strings.TrimSpace(string(e.Query))
		switch up := strings.ToUpper(q); {
		case up == "BEGIN":
			if !s.inTx {
				s.begin("", uint64(e.SlaveProxyID))
			}
			s.thread = uint64(e.SlaveProxyID)
		case up == "COMMIT", up == "ROLLBACK":
			// COMMIT ends transactions on non-transactional engines; a
			// logged ROLLBACK means non-transactional changes stayed.
			return s.commit(ctx, h, 0)
		case strings.HasPrefix(up, "SAVEPOINT"), strings.HasPrefix(up, "XA "):
		default:
			// DDL is not replicated: it changes table maps from here on.
			s.r.log.Info("DDL in binlog", zap.String("schema", string(e.Schema)), zap.String("query", truncate(q, 300)),
				zap.String("gtid", s.txGTID))
			clear(s.r.json)
			return s.commit(ctx, h, 0)
		}
	case *replication.TableMapEvent:
		// go-mysql keeps the map on each RowsEvent; nothing to do here.
	case *replication.RowsEvent:
		return s.rows(ctx, h, e)
	case *replication.XIDEvent:
		return s.commit(ctx, h, e.XID)
	}
	return nil
}

func (s *stream) rows(ctx context.Context, h *replication.EventHeader, e *replication.RowsEvent) error {
	tm := e.Table
	db, name := string(tm.Schema), string(tm.Table)
	if !s.r.cfg.Filter.Table(db, name) {
		return nil
	}
	t, err := s.r.table(ctx, e.TableID, tm)
	if err != nil {
		return err
	}
	var op event.Op
	step := 1
	switch e.Type() {
	case replication.EnumRowsEventTypeInsert:
		op = event.OpInsert
	case replication.EnumRowsEventTypeUpdate:
		op, step = event.OpUpdate, 2
	case replication.EnumRowsEventTypeDelete:
		op = event.OpDelete
	default:
		return fmt.Errorf("%s.%s: unknown rows event type %v", db, name, h.EventType)
	}
	if !s.inTx {
		s.begin("", 0)
	}
	for i := 0; i+step <= len(e.Rows); i += step {
		first, err := t.convertRow(e.Rows[i])
		if err != nil {
			return err
		}
		ev := event.Event{Op: op, Database: db, Table: name, Columns: t.columns, Key: t.key,
			SourceTimeMs: int64(h.Timestamp) * 1000, Position: s.txStart}
		switch op {
		case event.OpInsert:
			ev.After = first
		case event.OpDelete:
			ev.Before = first
		case event.OpUpdate:
			if ev.After, err = t.convertRow(e.Rows[i+1]); err != nil {
				return err
			}
			ev.Before = first
		}
		if t.keep != nil {
			ev.Before, ev.After = t.project(ev.Before), t.project(ev.After)
		}
		s.tableSeq[db+"."+name]++
		ev.Source = eventSource(s.r)
		ev.Source.ServerID, ev.Source.GTID, ev.Source.File, ev.Source.Pos = h.ServerID, s.txGTID, s.file, uint64(h.LogPos)
		ev.Source.Row, ev.Source.Thread = uint32(i/step), s.thread
		ev.Tx = event.Tx{ID: s.txID(), Seq: s.seq, TableSeq: s.tableSeq[db+"."+name]}
		s.seq++
		if s.pending != nil {
			if err := s.send(ctx, *s.pending); err != nil {
				return err
			}
		}
		s.pending = &source.Item{Kind: source.Row, Event: ev}
	}
	return nil
}

// table returns the decoded table map, building it on first use of a
// table id (ids change after DDL, so a new id means a new shape).
func (r *Reader) table(ctx context.Context, id uint64, tm *replication.TableMapEvent) (*table, error) {
	if t, ok := r.tables[id]; ok && t.db == string(tm.Schema) && t.name == string(tm.Table) && len(t.raw) == int(tm.ColumnCount) {
		return t, nil
	}
	db, name := string(tm.Schema), string(tm.Table)
	jsonCols, err := r.jsonColumns(ctx, db, name)
	if err != nil {
		return nil, err
	}
	t, err := newTable(tm, jsonCols)
	if err != nil {
		return nil, err
	}
	if len(t.key) == 0 {
		if t.key, err = r.uniqueKey(ctx, t); err != nil {
			return nil, err
		}
	}
	if len(t.key) == 0 {
		if !r.cfg.KeylessFullRow {
			return nil, fmt.Errorf("table %s.%s has no primary key and no unique NOT NULL key: add one, exclude the table (source.exclude), or set source.keyless: full_row to key it by all columns", db, name)
		}
		for i := range t.columns {
			t.key = append(t.key, i)
		}
	}
	t.applyColumnFilter(r.cfg.Filter)
	if len(r.tables) > 10000 { // table ids only grow; keep the cache bounded
		clear(r.tables)
	}
	r.tables[id] = t
	return t, nil
}

// CheckPositionAvailable verifies the binlog needed to resume from p is
// still on the server (DESIGN §5): the file exists, and (GTID mode) the
// purged GTIDs are all within p.
func CheckPositionAvailable(ctx context.Context, db *sql.DB, flavor string, p position.MySQL) error {
	recovery := "recover by re-snapshotting the tables and starting capture with --from latest (see README, \"Purged binlog\")"
	if p.GTIDSet != "" {
		ours, err := gomysql.ParseGTIDSet(flavor, p.GTIDSet)
		if err != nil {
			return err
		}
		var needed string
		if flavor == gomysql.MySQLFlavor {
			if err := db.QueryRowContext(ctx, "SELECT @@gtid_purged").Scan(&needed); err != nil {
				return fmt.Errorf("reading gtid_purged: %w", err)
			}
		} else {
			oldest, err := oldestBinlog(ctx, db)
			if err != nil {
				return err
			}
			if needed, err = gtidListOf(ctx, db, oldest); err != nil {
				return fmt.Errorf("reading the GTID state of the oldest binlog %s: %w", oldest, err)
			}
		}
		needed = strings.ReplaceAll(needed, "\n", "")
		if needed == "" {
			return nil
		}
		purged, err := gomysql.ParseGTIDSet(flavor, needed)
		if err != nil {
			return err
		}
		if !ours.Contain(purged) {
			return fmt.Errorf("%w: resuming needs the transactions after GTID %s, but the server's binlogs start after %s (purged); %s", ErrPositionPurged, p.GTIDSet, needed, recovery)
		}
		return nil
	}
	rows, err := db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return fmt.Errorf("listing binary logs: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var files []string
	for rows.Next() {
		var name string
		dest := []any{&name}
		for len(dest) < len(cols) {
			dest = append(dest, new(any))
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		files = append(files, name)
		if name == p.File {
			return nil
		}
	}
	return fmt.Errorf("%w: binlog file %s (position %s) is not among the server's binlogs %v; %s", ErrPositionPurged, p.File, p, files, recovery)
}

// gtidListOf returns the GTID state written at the start of a MariaDB
// binlog file (its Gtid_list event): every transaction up to it is in
// older, possibly purged, files.
func gtidListOf(ctx context.Context, db *sql.DB, file string) (string, error) {
	rows, err := db.QueryContext(ctx, "SHOW BINLOG EVENTS IN '"+strings.ReplaceAll(file, "'", "''")+"' LIMIT 4")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		dest := make([]any, len(cols))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return "", err
		}
		// Columns: Log_name, Pos, Event_type, Server_id, End_log_pos, Info.
		if len(vals) >= 6 && vals[2].String == "Gtid_list" {
			return strings.Trim(vals[5].String, "[] "), nil
		}
	}
	return "", rows.Err()
}

func oldestBinlog(ctx context.Context, db *sql.DB) (string, error) {
	rows, err := db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return "", fmt.Errorf("listing binary logs: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		return "", errors.New("the server has no binary logs (log_bin off?)")
	}
	var name string
	dest := []any{&name}
	for len(dest) < len(cols) {
		dest = append(dest, new(any))
	}
	return name, rows.Scan(dest...)
}

func uuidText(b []byte) string {
	if len(b) != 16 {
		return fmt.Sprintf("%x", b)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// discardLogger silences go-mysql's own logging; the reader logs what
// matters with context.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
