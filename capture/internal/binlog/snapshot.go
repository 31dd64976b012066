package binlog

// Snapshots (DESIGN §6), the chunk-at-position approach.
//
// A snapshot copies a table in chunks of ChunkSize rows in key order
// (keyset pagination: WHERE key > last key ORDER BY key LIMIT n). Each
// chunk is read in its own START TRANSACTION WITH CONSISTENT SNAPSHOT, and
// MariaDB reports the exact binlog position P of that snapshot
// (binlog_snapshot_file / binlog_snapshot_position): the chunk is the state
// of its rows after every transaction before P and none after. The chunk is
// put into the stream exactly where the binlog reader reaches P: after the
// last transaction before P, before the first one after it. So every row's
// messages stay in source order: a row changed while its chunk was read is
// in the chunk as of P and then changes in the stream after it; it is never
// overwritten by a stale snapshot row, and no watermark de-duplication is
// needed.
//
// The snapshotter (a goroutine of Run, snapshotRun) and the stream
// coordinate through a barrier (snapCoord):
//
//  1. The snapshotter opens the consistent snapshot, learns P and announces
//     it. The announcement is refused when the stream has already emitted
//     something at or after P (a transaction logged but not yet visible to
//     the snapshot); the snapshotter then reads the chunk again later.
//  2. It reads the chunk (at most ChunkSize+1 rows in memory) and hands it
//     over.
//  3. The stream, before it handles the first event at or after P (or when
//     it is idle with everything up to P read), emits the chunk as rows
//     and a Commit item with the unchanged position and the new snapshot
//     progress. If it reaches P before the chunk is read it waits for it:
//     the binlog stream pauses for at most one chunk read. The other
//     tables keep streaming between chunks.
//
// At most two chunks are in memory (G7): while the stream emits one, the
// snapshotter reads the next (announced behind it, at a position no
// earlier), and hands it over only once the first was emitted; if the
// first was refused, the second is withdrawn and both are read again.
//
// Resuming: the progress (tables queued, current table, last key emitted,
// rows done) travels in every Commit and Heartbeat item (source.Item
// Snapshot) and the publisher stores it in the position record, in the
// same Kafka transaction as the chunk's rows. A killed capture resumes at
// the chunk after the last committed one; at most the chunks of the
// aborted Kafka transaction are sent again (their rows were not
// committed, so a read_committed consumer sees no duplicates; with
// transactions off, at most the uncommitted chunks are duplicated).
//
// MySQL has no binlog_snapshot_position. There the snapshotter reads the
// binlog position (SHOW BINARY LOG STATUS / SHOW MASTER STATUS) before and
// after opening the snapshot and uses it only when both agree, retrying
// otherwise. This is weaker: a transaction written to the binlog but not
// yet committed in InnoDB at that moment could be missed by the chunk. It
// is untested here (no MySQL 8 in this environment); MariaDB is the tested
// flavor.

import (
	"cmp"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
)

// filePos is a binlog coordinate; positions compare by file sequence
// number, then offset.
type filePos struct {
	file string
	pos  uint64
}

func (a filePos) String() string { return a.file + ":" + strconv.FormatUint(a.pos, 10) }

// seq is the numeric suffix of a binlog file name ("mariadb-bin.000012").
func (a filePos) seq() uint64 {
	i := strings.LastIndexByte(a.file, '.')
	n, _ := strconv.ParseUint(a.file[i+1:], 10, 64)
	return n
}

func (a filePos) cmp(b filePos) int {
	if a.file != b.file {
		return cmp.Compare(a.seq(), b.seq())
	}
	return cmp.Compare(a.pos, b.pos)
}

// errStaleChunk: the stream had passed the chunk's position; read it again.
var errStaleChunk = errors.New("the binlog stream passed the chunk's snapshot position")

// barrier is one chunk on its way into the stream.
type barrier struct {
	at       filePos
	serverID uint32
	ready    chan struct{} // closed when chunk or failed is set
	chunk    *chunk
	failed   error
	done     chan error // 1-buffered: nil once emitted, errStaleChunk when refused
}

// snapCoord is shared by the stream (one goroutine) and the snapshotter.
type snapCoord struct {
	mu sync.Mutex
	// mark: the stream has emitted everything before it and nothing at or
	// after it. serverID and addr: the server the stream reads.
	mark     filePos
	serverID uint32
	addr     string
	wake     func() // interrupts the stream's wait for the next event
	// bs are the announced chunks in position order: at most two, the
	// one being emitted or awaited and the one being read after it.
	bs []*barrier
}

// announce registers a chunk to be read at position at. It fails with
// errStaleChunk when the stream is past at or reads another server.
func (c *snapCoord) announce(at filePos, serverID uint32) (*barrier, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.serverID != serverID || c.mark.file == "" || c.mark.cmp(at) > 0 {
		return nil, errStaleChunk
	}
	if n := len(c.bs); n > 0 && (c.bs[n-1].serverID != serverID || c.bs[n-1].at.cmp(at) > 0) {
		return nil, errStaleChunk
	}
	b := &barrier{at: at, serverID: serverID, ready: make(chan struct{}), done: make(chan error, 1)}
	c.bs = append(c.bs, b)
	return b, nil
}

// deliver hands over the chunk read for b (or the error that stopped the
// read) and wakes the stream.
func (c *snapCoord) deliver(b *barrier, ch *chunk, err error) {
	c.mu.Lock()
	b.chunk, b.failed = ch, err
	close(b.ready)
	wake := c.wake
	c.mu.Unlock()
	if wake != nil {
		wake()
	}
}

// setMark records how far the stream has emitted.
func (c *snapCoord) setMark(p filePos, serverID uint32, addr string) {
	c.mu.Lock()
	c.mark, c.serverID, c.addr = p, serverID, addr
	c.mu.Unlock()
}

func (c *snapCoord) setWake(f func()) {
	c.mu.Lock()
	c.wake = f
	c.mu.Unlock()
}

// server returns the address and id of the server the stream reads.
func (c *snapCoord) server() (string, uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr, c.serverID
}

// dropBarrier refuses the pending chunks (the stream changed servers).
func (c *snapCoord) dropBarrier() {
	c.mu.Lock()
	bs := c.bs
	c.bs = nil
	c.mu.Unlock()
	for _, b := range bs {
		b.done <- errStaleChunk
	}
}

// readPos is the stream's position in the binlog: the end of the last
// event read, or the committed position when that is further (right after
// connecting, go-mysql's fake rotate event carries no real offset).
func (st *stream) readPos() filePos {
	p := st.read
	if c := (filePos{st.committed.File, st.committed.Pos}); p.file == "" || c.file != "" && c.cmp(p) > 0 {
		p = c
	}
	return p
}

// updateMark publishes the stream's mark to the snapshotter: the start of
// the open transaction, or how far it has read.
func (st *stream) updateMark() {
	if st.snap == nil {
		return
	}
	m := st.readPos()
	if st.tx.open && st.txStart.file != "" {
		m = st.txStart
	}
	st.snap.coord.setMark(m, st.srv.id, st.srv.addr)
}

// snapCheck emits the pending chunks whose position the stream has
// reached: next is the start of the event about to be handled, or the
// read position when idle. It must only be called with no transaction
// open.
func (st *stream) snapCheck(ctx context.Context, next filePos) error {
	if st.snap == nil || st.tx.open {
		return nil
	}
	c := &st.snap.coord
	for {
		c.mu.Lock()
		if len(c.bs) == 0 {
			c.mu.Unlock()
			return nil
		}
		b := c.bs[0]
		if next.cmp(b.at) < 0 && b.serverID == st.srv.id {
			c.mu.Unlock()
			return nil
		}
		c.bs = c.bs[1:]
		c.mu.Unlock()
		committed := filePos{st.committed.File, st.committed.Pos}
		if b.serverID != st.srv.id || committed.cmp(b.at) > 0 {
			b.done <- errStaleChunk
			continue
		}
		select {
		case <-b.ready:
		case <-ctx.Done():
			b.done <- ctx.Err()
			return ctx.Err()
		}
		if b.failed != nil {
			b.done <- b.failed
			continue
		}
		err := st.emitChunk(ctx, b.chunk)
		b.done <- err
		if err != nil {
			return err
		}
	}
}
