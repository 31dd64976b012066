package binlog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/position"
)

// stream is the reader's state across the connections of one Run: the
// committed position, the open transaction and the decoded table maps.
type stream struct {
	r         *Reader
	srv       *server
	cat       *catalog
	out       chan<- source.Item
	flavor    string
	connector string
	byGTID    bool

	// gset is the committed GTID set (nil when positions carry none);
	// file is the binlog file being read.
	gset          gomysql.GTIDSet
	file          string
	committed     position.MySQL
	committedJSON string
	// progressed: a Commit or Heartbeat was sent on this connection.
	progressed bool

	// tables maps table ids to decoded table maps for this connection;
	// shapes reuses a decoding for identical table maps (same id, same
	// columns), which repeat before every transaction.
	tables map[uint64]*table
	shapes map[string]*table

	tx txState

	// Snapshots (snapshot.go): the snapshotter, how far the binlog was
	// read, where the open transaction started, the snapshot state sent
	// with every Commit and Heartbeat, and the source time of the last.
	snap       *snapRun
	read       filePos
	txStart    filePos
	snapJSON   string
	lastTimeMs int64
}

// txState is the open transaction.
type txState struct {
	open  bool   // a GTID event or BEGIN was read
	begun bool   // rows may follow (BEGIN, or a MariaDB GTID that is not standalone)
	gtid  string // "" without GTIDs
	id    string // Tx.ID: the GTID, or file:pos of the transaction start
	seq   uint64
	perTb map[tableName]uint64
	// thread is the BEGIN query's thread id (MySQL).
	thread uint64
	// sent: rows of this transaction went out; losing the connection now
	// is ErrTxnInterrupted.
	sent bool
	// held are rows not sent yet: they get the XID at commit (see
	// Config.HoldRows); heldBytes is their size estimate.
	held      []source.Item
	heldBytes int
}

// maxCachedShapes bounds the table-map caches: table ids grow with every
// table (re)open, so a long run would otherwise keep them all.
const maxCachedShapes = 4096

func newStream(r *Reader, srv *server, sp startPoint, out chan<- source.Item) *stream {
	st := &stream{r: r, out: out, flavor: srv.flavor, byGTID: sp.byGTID, committed: sp.pos, file: sp.pos.File}
	st.connector = r.cfg.ConnectorName
	if st.connector == "" {
		st.connector = srv.flavor
	}
	st.committedJSON = sp.pos.JSON()
	st.tx.perTb = map[tableName]uint64{}
	st.setServer(srv)
	return st
}

// setServer switches to a (new) server: table ids and catalog answers are
// per server, so they start afresh.
func (st *stream) setServer(srv *server) {
	if st.srv != nil && st.srv != srv {
		st.srv.close()
	}
	st.srv, st.cat = srv, newCatalog(srv)
	st.tables, st.shapes = map[uint64]*table{}, map[string]*table{}
}

// run streams over one replication connection until it fails or ctx ends.
func (st *stream) run(ctx context.Context) error {
	st.progressed = false
	cfg, err := st.r.syncerConfig(st.srv)
	if err != nil {
		return err
	}
	syncer := replication.NewBinlogSyncer(cfg)
	defer syncer.Close()
	var streamer *replication.BinlogStreamer
	if st.byGTID {
		if st.gset == nil {
			if st.gset, err = gomysql.ParseGTIDSet(st.flavor, st.committed.GTIDSet); err != nil {
				return fatalf("GTID set %q: %w", st.committed.GTIDSet, err)
			}
		}
		streamer, err = syncer.StartSyncGTID(st.gset.Clone())
	} else {
		streamer, err = syncer.StartSync(gomysql.Position{Name: st.committed.File, Pos: uint32(st.committed.Pos)})
	}
	if err != nil {
		return st.streamErr(ctx, err)
	}
	st.r.log.Info("streaming binlog", zap.String("server", st.srv.addr), zap.Stringer("position", st.committed))
	period, dead := st.r.cfg.HeartbeatPeriod, st.r.deadAfter()
	var idle time.Duration
	st.read = filePos{}
	st.updateMark()
	for {
		ectx, cancel := context.WithTimeout(ctx, period)
		if st.snap != nil {
			st.snap.coord.setWake(cancel)
		}
		ev, err := streamer.GetEvent(ectx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if st.snap != nil && errors.Is(err, context.Canceled) {
				// Woken: a snapshot chunk is ready.
				if err := st.snapCheck(ctx, st.readPos()); err != nil {
					return err
				}
				continue
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				return st.streamErr(ctx, err)
			}
			if err := st.snapCheck(ctx, st.readPos()); err != nil {
				return err
			}
			// Nothing for a whole period: the source is quiet.
			if idle += period; idle >= dead {
				return &connLostError{fmt.Errorf("no event and no heartbeat from %s for %s", st.srv.addr, idle)}
			}
			if err := st.heartbeat(ctx); err != nil {
				return err
			}
			continue
		}
		idle = 0
		if st.snap == nil {
			if err := st.handle(ctx, ev, nil); err != nil {
				return err
			}
			continue
		}
		if err := st.handleSnap(ctx, ev); err != nil {
			return err
		}
	}
}

// handleSnap handles an event while snapshots run: a pending chunk goes
// out before the first event at or after its position, and the stream's
// mark follows the events.
func (st *stream) handleSnap(ctx context.Context, ev *replication.BinlogEvent) error {
	h := ev.Header
	var start filePos
	if h.LogPos > 0 && h.LogPos >= h.EventSize {
		start = filePos{st.file, uint64(h.LogPos - h.EventSize)}
		if !st.tx.open {
			if err := st.snapCheck(ctx, start); err != nil {
				return err
			}
		}
	}
	wasOpen := st.tx.open
	if err := st.handle(ctx, ev, nil); err != nil {
		return err
	}
	if st.tx.open && !wasOpen {
		st.txStart = start
	}
	switch e := ev.Event.(type) {
	case *replication.RotateEvent:
		st.read = filePos{string(e.NextLogName), e.Position}
	case *replication.HeartbeatEvent:
	default:
		if h.LogPos > 0 {
			st.read = filePos{st.file, uint64(h.LogPos)}
		}
	}
	st.updateMark()
	return nil
}

func (st *stream) send(ctx context.Context, it source.Item) error {
	select {
	case st.out <- it:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// heartbeat sends the committed position, unless a transaction is open
// (its rows are in flight and the position must not move past them).
func (st *stream) heartbeat(ctx context.Context) error {
	if st.tx.open {
		return nil
	}
	st.lastTimeMs = time.Now().UnixMilli()
	if err := st.send(ctx, source.Item{Kind: source.Heartbeat, Position: st.committedJSON, SourceTimeMs: st.lastTimeMs, Snapshot: st.snapJSON}); err != nil {
		return err
	}
	st.progressed = true
	return nil
}

// begin opens a transaction.
func (st *stream) begin(gtid string, begun bool) error {
	if len(st.tx.held) > 0 || st.tx.sent {
		return fatalf("transaction %s has no commit before the next transaction (%s) begins", st.tx.id, gtid)
	}
	if len(st.tables) >= maxCachedShapes {
		// Table maps are written again in every transaction, so between
		// transactions no rows event needs an earlier one.
		clear(st.tables)
	}
	perTb, held := st.tx.perTb, st.tx.held
	clear(perTb)
	st.tx = txState{open: true, begun: begun, gtid: gtid, id: gtid, perTb: perTb, held: held}
	if gtid == "" {
		st.tx.id = st.committed.File + ":" + strconv.FormatUint(st.committed.Pos, 10)
	}
	return nil
}

// abandonTx drops an open transaction none of whose rows were sent: it is
// read again from its start after a reconnect.
func (st *stream) abandonTx() {
	perTb, held := st.tx.perTb, st.tx.held
	clear(perTb)
	clear(held) // drop the events, keep the capacity
	st.tx = txState{perTb: perTb, held: held[:0]}
}

// commit ends the open transaction (or a standalone statement): the held
// back rows go out with the XID, the last one marked, then the Commit item
// with the position after the transaction.
func (st *stream) commit(ctx context.Context, h *replication.EventHeader, endPos uint64, xid uint64) error {
	if !st.tx.open {
		if err := st.begin("", false); err != nil {
			return err
		}
	}
	if st.tx.gtid != "" && st.gset != nil {
		if err := st.gset.Update(st.tx.gtid); err != nil {
			return fatalf("adding GTID %s to the position: %w", st.tx.gtid, err)
		}
		st.committed.GTIDSet = st.gset.String()
	}
	st.committed.File, st.committed.Pos = st.file, endPos
	st.committed.ServerID, st.committed.ServerUUID, st.committed.Flavor = st.srv.id, st.srv.uuid, st.flavor
	st.committedJSON = st.committed.JSON()
	if n := len(st.tx.held); n > 0 {
		st.tx.held[n-1].Event.Tx.Last = true
		for i := range st.tx.held {
			st.tx.held[i].Event.Tx.XID = xid
			if err := st.send(ctx, st.tx.held[i]); err != nil {
				return err
			}
		}
	}
	id := st.tx.id
	st.abandonTx()
	st.lastTimeMs = int64(h.Timestamp) * 1000
	if err := st.send(ctx, source.Item{Kind: source.Commit, Position: st.committedJSON, SourceTimeMs: st.lastTimeMs, TxID: id, Snapshot: st.snapJSON}); err != nil {
		return err
	}
	st.progressed = true
	return nil
}

// emit holds ev back: only the XID tells which row is the last, and the
// XID itself goes on every row held when it arrives. When the held rows
// exceed Config.HoldRows or HoldBytes, all but the newest go out (without
// the XID), so memory stays flat however big the transaction.
func (st *stream) emit(ctx context.Context, ev event.Event) error {
	st.tx.held = append(st.tx.held, source.Item{Kind: source.Row, Event: ev})
	st.tx.heldBytes += rowSize(&ev)
	n := len(st.tx.held)
	if n <= st.r.cfg.HoldRows && st.tx.heldBytes <= st.r.cfg.HoldBytes || n == 1 {
		return nil
	}
	for i := range n - 1 {
		if err := st.send(ctx, st.tx.held[i]); err != nil {
			return err
		}
	}
	st.tx.sent = true
	last := st.tx.held[n-1]
	clear(st.tx.held)
	st.tx.held = append(st.tx.held[:0], last)
	st.tx.heldBytes = rowSize(&last.Event)
	return nil
}

// rowSize estimates the memory a row event holds.
func rowSize(ev *event.Event) int {
	n := 256
	for _, row := range [2][]event.Value{ev.Before, ev.After} {
		n += len(row) * int(unsafe.Sizeof(event.Value{}))
		for i := range row {
			n += len(row[i].S) + len(row[i].B)
			for _, m := range row[i].Set {
				n += len(m) + 16
			}
		}
	}
	return n
}
