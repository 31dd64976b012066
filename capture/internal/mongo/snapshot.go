package mongo

// Snapshots of collections (DESIGN §6), the DBLog watermark idea applied
// to change streams.
//
// A snapshot copies a collection in chunks of ChunkSize documents in _id
// order (find {_id: {$gt: last}} sorted by _id, limit ChunkSize+1). Each
// chunk goes through a window that the stream carrying the collection
// (its own stream with watch: collections, the single stream otherwise)
// keeps open:
//
//  1. Low watermark. The snapshotter opens the window before it reads the
//     chunk. From then on the stream records the _id of every event of the
//     collection it hands on. Every change committed after the window
//     opened is handed on after it (the stream cannot hand on what did not
//     exist yet), so the recorded set covers every change the chunk might
//     have missed or might contradict.
//  2. The snapshotter reads the chunk and hands it over with its read
//     time hw when the server reports one (operationTime of the read, made
//     with readConcern majority).
//  3. High watermark. The stream emits the chunk, without the documents
//     whose _id it recorded (their newer state is already in the topic),
//     as op "r" documents and a Commit with the unchanged position and the
//     new snapshot progress:
//     - with hw: just before the first event whose clusterTime is after
//     hw, or when idle after a getMore that began after the hand-over or
//     whose postBatchResumeToken is past hw (the stream scanned the
//     oplog beyond the read: nothing at or before hw is still to come);
//     - without hw (mongo-java-server reports no operationTime): before
//     the next event it handles, or when idle likewise.
//
// What holds where:
//
//   - Real replica set (hw known): a chunk document is the state as of
//     hw; every event at or before hw was handed on before the chunk and
//     its _id dropped from the chunk; every event after hw follows it. So
//     replaying the topic by _id gives the source's state, and no
//     document goes back to an older state because of the snapshot (the
//     chunk never follows a newer event of its document, and never
//     precedes an older one).
//   - mongo-java-server (no hw): a change committed before the chunk read
//     ended but handed on after the chunk was emitted follows the chunk.
//     Replaying by _id still gives the source's state (the last record of
//     a document is its last change, or the chunk when it did not change
//     after the window opened), but a document can go back for a moment:
//     an insert event carries the document as inserted, which may be
//     older than the chunk's copy; the updateLookup that follows restores
//     it.
//   - full_document: off: update events carry no document, so a chunk
//     copy read before a concurrent update and emitted after it loses
//     that update until the document changes again. Snapshots are only
//     consistent with updateLookup, whenAvailable or required.
//
// Resuming: the progress (collections queued, current one, last _id
// emitted as canonical Extended JSON, documents done) travels in every
// Commit and Heartbeat item (source.Item Snapshot, in the
// snapshot.State form, so `capture status` shows it) and is stored with
// the position in the same Kafka transaction as the chunk. A killed
// capture resumes after the last committed chunk; at most the chunk of
// the aborted Kafka transaction is read again.
//
// _id order: $gt compares within one BSON type bracket only, so when a
// bracket is exhausted the next chunk starts at the smallest _id of a
// later bracket ($type query; one collection scan per bracket change).

import (
	"context"
	"sync"
	"time"

	"github.com/sluice-cdc/sluice/capture/internal/snapshot"
	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/position"
)

// SnapshotConfig turns snapshots on (Config.Snapshot).
type SnapshotConfig = snapshot.Config

// window is one chunk on its way into a stream.
type window struct {
	key      string // the stream carrying the collection
	db, coll string
	seen     map[string]struct{} // _id Extended JSON of events handed on since the window opened

	// Set by deliver.
	ready     bool
	docs      []*source.Doc // the chunk, not yet filtered by seen
	complete  bool          // the collection's last chunk
	state     string        // snapshot state after the chunk
	hw        position.ClusterTime
	delivered time.Time
	done      chan error // 1-buffered: nil once emitted
}

// snapCoord is shared by the streams and the snapshotter: at most one
// window is open at a time.
type snapCoord struct {
	mu  sync.Mutex
	win *window
}

func (c *snapCoord) open(key, db, coll string) *window {
	w := &window{key: key, db: db, coll: coll, seen: map[string]struct{}{}, done: make(chan error, 1)}
	c.mu.Lock()
	c.win = w
	c.mu.Unlock()
	return w
}

func (c *snapCoord) deliver(w *window, docs []*source.Doc, complete bool, state string, hw position.ClusterTime) {
	c.mu.Lock()
	w.docs, w.complete, w.state, w.hw = docs, complete, state, hw
	w.ready, w.delivered = true, time.Now()
	c.mu.Unlock()
}

// cancel closes a window whose chunk will not come (the read failed).
func (c *snapCoord) cancel(w *window) {
	c.mu.Lock()
	if c.win == w {
		c.win = nil
	}
	c.mu.Unlock()
}

// take returns the window of stream key if its chunk may be emitted now:
// before an event at ct (next) or, with idle set, when the stream's last
// empty getMore began at began and its postBatchResumeToken is at ct
// (zero when unknown). It removes the window it returns.
func (c *snapCoord) take(key string, ct position.ClusterTime, idle bool, began time.Time) *window {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.win
	if w == nil || w.key != key || !w.ready {
		return nil
	}
	switch {
	case idle:
		scanned := !w.hw.IsZero() && after(ct, w.hw)
		if !scanned && !began.After(w.delivered) {
			return nil
		}
	case !w.hw.IsZero() && !after(ct, w.hw):
		return nil
	}
	c.win = nil
	return w
}

// waiting reports whether a chunk of stream key waits for the stream, so
// the stream polls a server that does not wait in getMore at its fastest.
func (c *snapCoord) waiting(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.win != nil && c.win.key == key && c.win.ready
}

// record notes an event of db.coll with _id id handed on by stream key.
func (c *snapCoord) record(key, db, coll, id string) {
	c.mu.Lock()
	if w := c.win; w != nil && w.key == key && w.db == db && w.coll == coll {
		w.seen[id] = struct{}{}
	}
	c.mu.Unlock()
}

func after(a, b position.ClusterTime) bool {
	return a.T > b.T || a.T == b.T && a.I > b.I
}

// snapBefore emits the chunk of stream key that may go before an event at
// ct (or, idle, now; ct is then the postBatchResumeToken's time). It must
// be called with no transaction held.
func (s *Source) snapBefore(ctx context.Context, e *emitter, ss *streamState, ct position.ClusterTime, idle bool, began time.Time) error {
	if s.coord == nil || ss.holding {
		return nil
	}
	w := s.coord.take(ss.key, ct, idle, began)
	if w == nil {
		return nil
	}
	err := e.chunk(ctx, w)
	w.done <- err
	return err
}

// chunk sends the documents of a window not superseded by the stream, and
// a Commit that keeps the position and carries the new snapshot state.
func (e *emitter) chunk(ctx context.Context, w *window) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	pos := e.currentLocked()
	e.snap = w.state
	var last *source.Doc
	for _, d := range w.docs {
		if _, ok := w.seen[d.Change.KeyExtJSON]; ok {
			continue
		}
		if last != nil {
			if err := send(ctx, e.out, source.Item{Kind: source.Document, Doc: last}); err != nil {
				return err
			}
		}
		d.Position = pos
		last = d
	}
	if last != nil {
		if w.complete {
			last.Change.Source.Snapshot = "last"
		}
		if err := send(ctx, e.out, source.Item{Kind: source.Document, Doc: last}); err != nil {
			return err
		}
	}
	ct := e.ct
	if e.single {
		ct = e.lastCT
	}
	return send(ctx, e.out, source.Item{Kind: source.Commit, Position: pos, SourceTimeMs: int64(ct.T) * 1000,
		TxID: "snapshot " + w.db + "." + w.coll, Snapshot: e.snap})
}

// currentLocked is the position of the last Commit or Heartbeat, or the
// start position when there was none yet. e.mu is held.
func (e *emitter) currentLocked() string {
	if e.single {
		if e.last != "" {
			return e.last
		}
		return e.initial
	}
	if len(e.streams) == 0 && e.ct.IsZero() {
		return e.initial
	}
	return position.Mongo{ClusterTime: e.ct, Streams: e.streams}.JSON()
}
