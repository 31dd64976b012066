package mongo

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/sluice-cdc/sluice/capture/internal/filter"
	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/position"
)

// Source reads MongoDB change streams; it implements source.Source.
type Source struct {
	cfg      Config
	log      *zap.Logger
	flt      *filter.Filter
	pipeline []bson.Raw
	coord    *snapCoord // set by Run when snapshots are configured

	warnOnce    sync.Once // documentKey fallback noted
	unkeyedOnce sync.Once // update of a deleted document without a key noted
}

// New checks cfg. It does not connect.
func New(cfg Config) (*Source, error) {
	cfg.setDefaults()
	if ps := Check(cfg); len(ps) > 0 {
		msgs := make([]string, len(ps))
		for i, p := range ps {
			msgs[i] = "source." + p.Field + ": " + p.Msg
		}
		return nil, fmt.Errorf("mongo source config: %s", strings.Join(msgs, "; "))
	}
	flt, err := filter.New(cfg.Include, cfg.Exclude, nil)
	if err != nil {
		return nil, err
	}
	pl, err := parsePipeline(cfg.Pipeline)
	if err != nil {
		return nil, err
	}
	return &Source{cfg: cfg, log: cfg.Logger, flt: flt, pipeline: pl}, nil
}

// captured reports whether changes of db.coll are published.
func (s *Source) captured(db, coll string) bool {
	switch db {
	case "admin", "config", "local":
		return false
	}
	return !strings.HasPrefix(coll, "system.") && s.flt.Table(db, coll)
}

// streams lists the namespaces to open a stream on and their position
// keys ("" for the single stream of deployment and database watches).
func (s *Source) streams() (keys []string, nss []ns) {
	switch s.cfg.Watch {
	case WatchDatabase:
		return []string{""}, []ns{{DB: s.cfg.Database}}
	case WatchCollections:
		for _, c := range s.cfg.Collections {
			db, coll, _ := strings.Cut(c, ".")
			keys, nss = append(keys, c), append(nss, ns{db, coll})
		}
		return keys, nss
	}
	return []string{""}, []ns{{}}
}

// Run implements source.Source. from is a stored Mongo position (JSON) or
// a start spec (latest, time:<RFC3339>, token:<resume token>).
func (s *Source) Run(ctx context.Context, from string, out chan<- source.Item) error {
	pf, err := parseFrom(from)
	if err != nil {
		return err
	}
	keys, nss := s.streams()
	st, err := starts(pf, keys)
	if err != nil {
		return err
	}
	client, err := mongo.Connect(options.Client().ApplyURI(s.cfg.URI))
	if err != nil {
		return fmt.Errorf("connecting to MongoDB: %w", err)
	}
	defer client.Disconnect(context.WithoutCancel(ctx)) //nolint:errcheck // nothing to do on a failed disconnect

	e := &emitter{out: out, single: keys[0] == ""}
	if !e.single {
		// Every stream's last position, so a Commit never drops another
		// stream's progress; streams started by time keep that time.
		e.streams = map[string]position.Mongo{}
		for k, v := range st {
			if v.token != "" {
				e.streams[k] = position.Mongo{ResumeToken: v.token}
			} else if v.at != nil {
				e.streams[k] = position.Mongo{ClusterTime: position.ClusterTime{T: v.at.T, I: v.at.I}}
			}
		}
		e.ct = pf.pos.ClusterTime
	}
	e.initial = initialPosition(pf)
	g, gctx := errgroup.WithContext(ctx)
	s.coord = nil
	snap, state, err := s.startSnapshot(ctx, client)
	if err != nil {
		return err
	}
	if snap != nil {
		s.coord = &snapCoord{}
		e.snap = state.JSON()
		g.Go(func() error { return snap.run(gctx, state) })
	}
	for i, k := range keys {
		g.Go(func() error { return s.runStream(gctx, client, k, nss[i], st[k], e) })
	}
	return g.Wait()
}

// initialPosition is the position a chunk is stored with when no event
// or heartbeat came before it: the start itself, or for a start at latest
// the current wall-clock second (a restart replays from there, so changes
// made in that second before the stream opened may come twice; none is
// lost unless the server's clock is ahead of capture's).
func initialPosition(pf parsedFrom) string {
	if !pf.pos.IsZero() {
		return pf.pos.JSON()
	}
	return position.Mongo{ClusterTime: position.ClusterTime{T: uint32(time.Now().Unix())}}.JSON()
}

// watchOpts builds the stream options of a start.
func (s *Source) watchOpts(st start) (*options.ChangeStreamOptionsBuilder, error) {
	o := options.ChangeStream().SetMaxAwaitTime(s.cfg.MaxAwait)
	if s.cfg.FullDocument != FullDocumentOff {
		o.SetFullDocument(options.FullDocument(s.cfg.FullDocument))
	}
	if s.cfg.FullDocumentBeforeChange != FullDocumentOff {
		o.SetFullDocumentBeforeChange(options.FullDocument(s.cfg.FullDocumentBeforeChange))
	}
	switch {
	case st.token != "":
		tok, err := tokenDoc(st.token)
		if err != nil {
			return nil, err
		}
		if st.startAfter {
			o.SetStartAfter(tok)
		} else {
			o.SetResumeAfter(tok)
		}
	case st.at != nil:
		o.SetStartAtOperationTime(st.at)
	}
	return o, nil
}

func (s *Source) open(ctx context.Context, client *mongo.Client, n ns, st start) (*mongo.ChangeStream, error) {
	o, err := s.watchOpts(st)
	if err != nil {
		return nil, err
	}
	pipe := make([]any, len(s.pipeline), len(s.pipeline)+1)
	for i, p := range s.pipeline {
		pipe[i] = p
	}
	if s.cfg.SplitLargeEvents { // must be the last stage
		pipe = append(pipe, bson.D{{Key: splitStage, Value: bson.D{}}})
	}
	switch {
	case n.Coll != "":
		return client.Database(n.DB).Collection(n.Coll).Watch(ctx, pipe, o)
	case n.DB != "":
		return client.Database(n.DB).Watch(ctx, pipe, o)
	}
	return client.Watch(ctx, pipe, o)
}

func (n ns) String() string {
	switch {
	case n.Coll != "":
		return "collection " + n.DB + "." + n.Coll
	case n.DB != "":
		return "database " + n.DB
	}
	return "the deployment"
}

// runStream reads one stream until ctx ends or it fails.
func (s *Source) runStream(ctx context.Context, client *mongo.Client, key string, n ns, st start, e *emitter) error {
	where := "watching " + n.String()
	cs, err := s.open(ctx, client, n, st)
	if err != nil {
		if s.cfg.SplitLargeEvents {
			if e := splitRefused(err, where); e != nil {
				return e
			}
		}
		return classify(err, where, st)
	}
	defer cs.Close(context.WithoutCancel(ctx)) //nolint:errcheck // closing a cursor we stopped reading
	s.log.Info("change stream open", zap.String("watch", n.String()), zap.String("from", st.String()),
		zap.String("full_document", s.cfg.FullDocument))

	var pending *change // last event of an open multi-document transaction
	ss := &streamState{key: key}
	defer e.release(ss)
	lastBeat, lastTok := time.Now(), st.token
	idle := 10 * time.Millisecond
	var asm assembler
	for {
		began := time.Now()
		if !cs.TryNext(ctx) {
			if err := cs.Err(); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if s.cfg.SplitLargeEvents {
					if e := splitRefused(err, where); e != nil {
						return e
					}
				}
				return classify(err, where, st)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Between the fragments of a split event: no commit, chunk or
			// heartbeat (a position there would resume inside the event).
			if !asm.busy() {
				if pending != nil {
					if err := e.commit(ctx, ss, pending); err != nil {
						return err
					}
					pending = nil
				}
				// postBatchResumeToken: how far the stream scanned; read
				// only when a chunk or a heartbeat may use it.
				beat := time.Since(lastBeat) >= s.cfg.Heartbeat
				var tok string
				if raw := cs.ResumeToken(); raw != nil && (beat || s.coord != nil) {
					tok, _ = tokenText(raw)
				}
				if err := s.snapBefore(ctx, e, ss, tokenTime(tok), true, began); err != nil {
					return err
				}
				// A newer position on a quiet stream.
				if beat && tok != "" {
					if tok != lastTok {
						if err := e.heartbeat(ctx, ss, tok, tokenTime(tok)); err != nil {
							return err
						}
						lastTok = tok
					}
					lastBeat = time.Now()
				}
			}
			// A server that answers getMore at once without waiting
			// MaxAwait (mongo-java-server) must not be polled in a spin.
			if time.Since(began) < s.cfg.MaxAwait/4 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(idle):
				}
				idle = min(2*idle, 200*time.Millisecond)
				if s.coord != nil && s.coord.waiting(ss.key) {
					idle = 10 * time.Millisecond
				}
			}
			continue
		}
		idle = 10 * time.Millisecond
		ev, err := asm.add(cs.Current)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if ev == nil {
			continue // more fragments to come
		}
		c, err := parseChange(ev, n, s.cfg.Name, s.cfg.Version)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		st = start{token: c.token} // what a restart of this stream would resume after
		lastTok = c.token
		if pending != nil && (c.txn == "" || c.txn != pending.txn) {
			if err := e.commit(ctx, ss, pending); err != nil {
				return err
			}
			pending = nil
		}
		if err := s.snapBefore(ctx, e, ss, c.ct, false, time.Time{}); err != nil {
			return err
		}
		if c.unkeyed {
			s.unkeyedOnce.Do(func() {
				s.log.Warn("an update event without a usable documentKey whose document was deleted before the lookup (mongo-java-server); its delete event follows, so the update is not published",
					zap.String("watch", n.String()), zap.String("token", c.token))
			})
		}
		if c.doc == nil {
			if c.kind == "invalidate" {
				return fmt.Errorf("%s: the change stream was invalidated (the collection or database was dropped or renamed); after recreating it, start capture with `capture run --config <file> --from token:%s` (starts after the invalidate)", where, c.token)
			}
			if !c.unkeyed {
				s.log.Info("change event without a document, not published", zap.String("operation", c.kind), zap.String("watch", n.String()))
			}
			if err := e.heartbeat(ctx, ss, c.token, c.ct); err != nil {
				return err
			}
			continue
		}
		if !s.captured(c.doc.Change.DB, c.doc.Change.Collection) {
			if pending == nil { // inside a transaction its Commit moves past it
				if err := e.heartbeat(ctx, ss, c.token, c.ct); err != nil {
					return err
				}
			}
			continue
		}
		if s.coord != nil {
			s.coord.record(key, c.doc.Change.DB, c.doc.Change.Collection, c.doc.Change.KeyExtJSON)
		}
		if c.keyFallback {
			s.warnOnce.Do(func() {
				s.log.Warn("the server sent a documentKey without a usable _id (mongo-java-server sends the update specification); keying by fullDocument._id",
					zap.String("watch", n.String()), zap.String("operation", c.kind))
			})
		}
		if err := e.document(ctx, ss, c); err != nil {
			return err
		}
		if c.txn != "" {
			pending = c
			continue
		}
		if err := e.commit(ctx, ss, c); err != nil {
			return err
		}
	}
}

// emitter sends items for every stream of a Source, one stream at a time,
// keeping the merged position. A stream holds the emitter from its first
// Document until the Commit after it, so no other stream's Commit or
// Heartbeat lands inside its transaction.
type emitter struct {
	out    chan<- source.Item
	single bool

	mu      sync.Mutex
	streams map[string]position.Mongo
	ct      position.ClusterTime // newest cluster time seen (multi-stream)

	// last is the position of the last Commit or Heartbeat (single
	// stream) and lastCT its cluster time; initial the position to store
	// before there is one (a chunk emitted before the first event).
	last, initial string
	lastCT        position.ClusterTime
	// snap is the snapshot state carried by every Commit and Heartbeat,
	// so the stored state changes only with a chunk.
	snap string
}

// streamState is what one stream's goroutine knows of the emitter.
type streamState struct {
	key     string
	holding bool // holds e.mu: a Document sent, its Commit not yet
}

// positionLocked returns the position after tok at ct for key, recording
// it when record is set. e.mu is held.
func (e *emitter) positionLocked(key, tok string, ct position.ClusterTime, record bool) string {
	if e.single {
		return position.Mongo{ResumeToken: tok, ClusterTime: ct}.JSON()
	}
	m := e.streams
	if !record {
		m = make(map[string]position.Mongo, len(e.streams)+1)
		for k, v := range e.streams {
			m[k] = v
		}
	}
	m[key] = position.Mongo{ResumeToken: tok, ClusterTime: ct}
	newest := e.ct
	if ct.T > newest.T || (ct.T == newest.T && ct.I > newest.I) {
		newest = ct
	}
	if record {
		e.ct = newest
	}
	return position.Mongo{ClusterTime: newest, Streams: m}.JSON()
}

// document sends a Document item, taking the emitter if not held yet.
func (e *emitter) document(ctx context.Context, ss *streamState, c *change) error {
	if !ss.holding {
		e.mu.Lock()
		ss.holding = true
	}
	c.doc.Position = e.positionLocked(ss.key, c.token, c.ct, false)
	return send(ctx, e.out, source.Item{Kind: source.Document, Doc: c.doc})
}

// commit sends the Commit after c and releases the emitter.
func (e *emitter) commit(ctx context.Context, ss *streamState, c *change) error {
	if !ss.holding {
		return errors.New("mongo source: commit without a document") // not reached
	}
	pos := e.positionLocked(ss.key, c.token, c.ct, true)
	e.last, e.lastCT = pos, c.ct
	ss.holding = false
	defer e.mu.Unlock()
	return send(ctx, e.out, source.Item{Kind: source.Commit, Position: pos, SourceTimeMs: int64(c.ct.T) * 1000, TxID: c.token, Snapshot: e.snap})
}

// heartbeat sends a newer position of a stream with no document pending.
// ct is the token's cluster time when known.
func (e *emitter) heartbeat(ctx context.Context, ss *streamState, tok string, ct position.ClusterTime) error {
	if ss.holding {
		return errors.New("mongo source: heartbeat inside a transaction") // not reached
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.single && ct.IsZero() {
		ct = e.streams[ss.key].ClusterTime
	}
	pos := e.positionLocked(ss.key, tok, ct, true)
	e.last, e.lastCT = pos, ct
	ms := int64(ct.T) * 1000
	if !e.single {
		ms = int64(e.ct.T) * 1000
	}
	return send(ctx, e.out, source.Item{Kind: source.Heartbeat, Position: pos, SourceTimeMs: ms, Snapshot: e.snap})
}

// release frees the emitter when a stream stops holding it (its reader
// failed between a Document and its Commit).
func (e *emitter) release(ss *streamState) {
	if ss.holding {
		ss.holding = false
		e.mu.Unlock()
	}
}

// tokenTime reads the cluster time at the start of a MongoDB 4.2+ resume
// token (KeyString: 0x82, then the timestamp as 8 big-endian bytes).
func tokenTime(tok string) position.ClusterTime {
	if len(tok) < 18 || !strings.HasPrefix(tok, "82") {
		return position.ClusterTime{}
	}
	b, err := hex.DecodeString(tok[2:18])
	if err != nil {
		return position.ClusterTime{}
	}
	return position.ClusterTime{T: binary.BigEndian.Uint32(b[:4]), I: binary.BigEndian.Uint32(b[4:])}
}

func send(ctx context.Context, out chan<- source.Item, it source.Item) error {
	select {
	case out <- it:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var _ source.Source = (*Source)(nil)
