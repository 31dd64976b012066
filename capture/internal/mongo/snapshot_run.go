package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/capture/internal/snapshot"
	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
	"github.com/sluice-cdc/sluice/pkg/position"
)

// snapRun is the snapshotter of one Run (see snapshot.go).
type snapRun struct {
	s      *Source
	cfg    SnapshotConfig
	client *mongo.Client
	log    *zap.Logger

	noSessions bool // the server refused a session (no operationTime)

	meter snapshot.Meter
}

// startSnapshot prepares the snapshotter of a Run from the stored state,
// or every captured collection on a fresh start with Initial. It returns
// nil when there is nothing to do and nothing can arrive.
func (s *Source) startSnapshot(ctx context.Context, client *mongo.Client) (*snapRun, snapshot.State, error) {
	sc := s.cfg.Snapshot
	if sc == nil {
		return nil, snapshot.State{}, nil
	}
	state, fresh, err := sc.Stored()
	if err != nil {
		return nil, state, err
	}
	if fresh && sc.Initial {
		names, err := s.snapshotCollections(ctx, client)
		if err != nil {
			return nil, state, err
		}
		for _, n := range names {
			db, coll, _ := strings.Cut(n, ".")
			state.Tables = append(state.Tables, snapshot.Table{DB: db, Table: coll})
		}
		s.log.Info("initial snapshot", zap.Int("collections", len(state.Tables)), zap.Int("chunk_size", sc.ChunkSize))
	} else if len(state.Tables) > 0 {
		t := state.Tables[0]
		s.log.Info("resuming snapshot", zap.String("collection", t.Name()), zap.Int64("docs_done", t.Rows),
			zap.Strings("after", t.After), zap.Int("collections_queued", len(state.Tables)))
	}
	if len(state.Tables) == 0 && sc.Signals == nil && !sc.InitialOnly {
		return nil, state, nil
	}
	if s.cfg.FullDocument == FullDocumentOff {
		s.log.Warn("snapshots with full_document: off are not consistent with the stream: an update made while its document's chunk is copied carries no document, so the older copy may stay in the topic until the document changes again; use updateLookup")
	}
	cfg := *sc
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = snapshot.DefaultChunkSize
	}
	log := s.log.Named("snapshot")
	return &snapRun{s: s, cfg: cfg, client: client, log: log, meter: snapshot.Meter{Report: cfg.Progress, Log: log, Noun: "collection"}}, state, nil
}

// snapshotCollections lists the captured collections, sorted.
func (s *Source) snapshotCollections(ctx context.Context, client *mongo.Client) ([]string, error) {
	var out []string
	add := func(db string) error {
		names, err := client.Database(db).ListCollectionNames(ctx, bson.D{})
		if err != nil {
			return fmt.Errorf("listing the collections of %s for the initial snapshot: %w", db, err)
		}
		for _, c := range names {
			if s.captured(db, c) {
				out = append(out, db+"."+c)
			}
		}
		return nil
	}
	switch s.cfg.Watch {
	case WatchCollections:
		for _, n := range s.cfg.Collections {
			db, coll, _ := strings.Cut(n, ".")
			if s.captured(db, coll) {
				out = append(out, n)
			}
		}
	case WatchDatabase:
		if err := add(s.cfg.Database); err != nil {
			return nil, err
		}
	default:
		dbs, err := client.ListDatabaseNames(ctx, bson.D{})
		if err != nil {
			return nil, fmt.Errorf("listing databases for the initial snapshot: %w", err)
		}
		for _, db := range dbs {
			if err := add(db); err != nil {
				return nil, err
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// streamKey is the key of the stream carrying db.coll; ok is false when
// no stream of this capture carries it.
func (s *Source) streamKey(db, coll string) (string, bool) {
	if !s.captured(db, coll) {
		return "", false
	}
	switch s.cfg.Watch {
	case WatchCollections:
		n := db + "." + coll
		return n, slices.Contains(s.cfg.Collections, n)
	case WatchDatabase:
		return "", db == s.cfg.Database
	}
	return "", true
}

// run copies the queued collections until ctx ends, the queue is empty
// (and no signals are configured) or it fails. state is the progress as
// of the last chunk emitted.
func (r *snapRun) run(ctx context.Context, state snapshot.State) error {
	sigs := r.cfg.ReadSignals(ctx, state.SignalsOffset, r.log)
	for {
		if len(state.Tables) == 0 {
			sig, ok, err := r.cfg.Idle(ctx, sigs)
			if !ok {
				return err
			}
			r.add(&state, sig)
			continue
		}
		select {
		case sig := <-sigs:
			r.add(&state, sig)
		default:
		}
		next, err := r.chunk(ctx, state)
		if err != nil {
			return err
		}
		state = next
	}
}

// add queues the collections of a signal (those not queued already).
func (r *snapRun) add(state *snapshot.State, sig snapshot.Signal) {
	for _, name := range sig.Tables {
		db, coll, ok := strings.Cut(name, ".")
		if !ok || db == "" || coll == "" || slices.ContainsFunc(state.Tables, func(t snapshot.Table) bool { return t.DB == db && t.Table == coll }) {
			continue
		}
		if _, ok := r.s.streamKey(db, coll); !ok {
			r.log.Warn("snapshot request for a collection this capture does not capture; ignored", zap.String("collection", name))
			continue
		}
		state.Tables = append(state.Tables, snapshot.Table{DB: db, Table: coll})
		r.log.Info("snapshot requested", zap.String("collection", name))
	}
	state.SignalsOffset = sig.Next
}

// chunk reads the next chunk of state.Tables[0] inside a window of its
// stream and waits until the stream emitted it. It returns the state
// after the chunk.
func (r *snapRun) chunk(ctx context.Context, state snapshot.State) (snapshot.State, error) {
	t := state.Tables[0]
	next := state
	next.Tables = slices.Clone(state.Tables)
	next.Done = slices.Clone(state.Done)
	cur := &next.Tables[0]
	key, ok := r.s.streamKey(t.DB, t.Table)
	if !ok { // no longer captured (config changed): skip it
		r.log.Warn("queued snapshot of a collection this capture no longer captures; dropped", zap.String("collection", t.Name()))
		next.Tables = next.Tables[1:]
		return next, nil
	}
	var after *bson.RawValue
	if len(t.After) == 1 {
		v, err := parseIDJSON(t.After[0])
		if err != nil {
			return state, fmt.Errorf("snapshot of %s: stored _id %s: %w", t.Name(), t.After[0], err)
		}
		after = &v
	}
	if t.Rows == 0 && len(t.After) == 0 {
		r.meter.Begin()
		cur.StartedMs = time.Now().UnixMilli()
		coll := r.client.Database(t.DB).Collection(t.Table)
		if n, err := coll.EstimatedDocumentCount(ctx); err == nil {
			cur.Total = n
		}
	} else {
		r.meter.Continue()
	}

	w := r.s.coord.open(key, t.DB, t.Table)
	docs, hw, err := r.read(ctx, t.DB, t.Table, after)
	if err != nil {
		r.s.coord.cancel(w)
		if ctx.Err() != nil {
			return state, ctx.Err()
		}
		err = fmt.Errorf("snapshot of %s: reading the chunk after _id %v: %w", t.Name(), t.After, err)
		if mongo.IsNetworkError(err) || mongo.IsTimeout(err) || isSelection(err) {
			return state, retryable{err}
		}
		return state, err
	}
	n := r.cfg.ChunkSize
	complete := len(docs) <= n
	if !complete {
		docs = docs[:n]
	}
	out := make([]*source.Doc, 0, len(docs))
	now := time.Now().UnixMilli()
	for _, d := range docs {
		sd, err := snapshotDoc(d, t.DB, t.Table, now, r.s.cfg.Name, r.s.cfg.Version)
		if err != nil {
			r.s.coord.cancel(w)
			return state, fmt.Errorf("snapshot of %s: %w", t.Name(), err)
		}
		out = append(out, sd)
	}
	cur.Rows += int64(len(out))
	cur.Chunks++
	if len(out) > 0 {
		cur.After = []string{out[len(out)-1].Change.KeyExtJSON}
	}
	done := *cur
	if complete {
		next.Tables = next.Tables[1:]
		next.Done = append(next.Done, t.Name())
		if len(next.Tables) == 0 {
			next.Done = nil
		}
	}
	r.s.coord.deliver(w, out, complete, next.JSON(), hw)
	select {
	case err := <-w.done:
		if err != nil {
			return state, err
		}
	case <-ctx.Done():
		return state, ctx.Err()
	}
	r.meter.Chunk(done, len(out), complete)
	return next, nil
}

// read returns up to ChunkSize+1 documents after after in _id order, and
// the read's operationTime when the server reports one. When after's type
// bracket has no more documents, it continues in the next bracket.
func (r *snapRun) read(ctx context.Context, db, coll string, after *bson.RawValue) ([]bson.Raw, position.ClusterTime, error) {
	c := r.client.Database(db).Collection(coll, options.Collection().SetReadConcern(readconcern.Majority()))
	if r.noSessions {
		docs, err := r.find(ctx, c, after)
		return docs, position.ClusterTime{}, err
	}
	sess, err := r.client.StartSession()
	if err != nil {
		return nil, position.ClusterTime{}, err
	}
	defer sess.EndSession(context.WithoutCancel(ctx))
	var docs []bson.Raw
	err = mongo.WithSession(ctx, sess, func(ctx context.Context) error {
		var err error
		docs, err = r.find(ctx, c, after)
		return err
	})
	if err != nil && strings.Contains(err.Error(), "does not support sessions") {
		// mongo-java-server: no sessions, so no operationTime either.
		r.noSessions = true
		r.log.Info("the server has no sessions (no operationTime): snapshot chunks are emitted at the next event after their read; see the guarantees in the README")
		docs, err = r.find(ctx, c, after)
		return docs, position.ClusterTime{}, err
	}
	var hw position.ClusterTime
	if ts := sess.OperationTime(); ts != nil {
		hw = position.ClusterTime{T: ts.T, I: ts.I}
	}
	return docs, hw, err
}

// find runs the chunk query (and the next bracket's when after's is
// exhausted).
func (r *snapRun) find(ctx context.Context, c *mongo.Collection, after *bson.RawValue) ([]bson.Raw, error) {
	o := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(r.cfg.ChunkSize + 1))
	filter := bson.D{}
	if after != nil {
		filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: *after}}}}
	}
	docs, err := findAll(ctx, c, filter, o)
	if err != nil || after == nil || len(docs) > r.cfg.ChunkSize {
		return docs, err
	}
	later := laterTypes(after.Type)
	if len(later) == 0 {
		return docs, nil
	}
	o.SetLimit(int64(r.cfg.ChunkSize + 1 - len(docs)))
	more, err := findAll(ctx, c, bson.D{{Key: "_id", Value: bson.D{{Key: "$type", Value: later}}}}, o)
	return append(docs, more...), err
}

func findAll(ctx context.Context, c *mongo.Collection, filter bson.D, o *options.FindOptionsBuilder) ([]bson.Raw, error) {
	cur, err := c.Find(ctx, filter, o)
	if err != nil {
		return nil, err
	}
	defer cur.Close(context.WithoutCancel(ctx))
	var out []bson.Raw
	for cur.Next(ctx) {
		out = append(out, slices.Clone(cur.Current))
	}
	return out, cur.Err()
}

// typeBrackets are the BSON types _id can have, in the server's sort
// order, grouped into the brackets that compare with each other.
var typeBrackets = [][]bson.Type{
	{bson.TypeMinKey},
	{bson.TypeNull, bson.TypeUndefined},
	{bson.TypeInt32, bson.TypeInt64, bson.TypeDouble, bson.TypeDecimal128},
	{bson.TypeString, bson.TypeSymbol},
	{bson.TypeEmbeddedDocument},
	{bson.TypeBinary},
	{bson.TypeObjectID},
	{bson.TypeBoolean},
	{bson.TypeDateTime},
	{bson.TypeTimestamp},
	{bson.TypeRegex},
	{bson.TypeMaxKey},
}

// laterTypes are the type numbers of the brackets after t's, for a $type
// query. The deprecated undefined and symbol types are left out (not every
// server accepts them in $type; _id values of those types are not
// snapshotted after a bracket change).
func laterTypes(t bson.Type) bson.A {
	var out bson.A
	found := false
	for _, b := range typeBrackets {
		if found {
			for _, x := range b {
				if x != bson.TypeUndefined && x != bson.TypeSymbol {
					out = append(out, int32(x))
				}
			}
		}
		if slices.Contains(b, t) {
			found = true
		}
	}
	return out
}

// parseIDJSON reads a stored _id (canonical Extended JSON of the value).
func parseIDJSON(s string) (bson.RawValue, error) {
	var d bson.Raw
	if err := bson.UnmarshalExtJSON([]byte(`{"v":`+s+`}`), true, &d); err != nil {
		return bson.RawValue{}, err
	}
	return d.LookupErr("v")
}

// snapshotDoc is the op "r" change of a document read by a snapshot. Its
// changestream form is an insert event whose _id is {_id, copyingData:
// true}, as the MongoDB Kafka source connector writes copied documents.
func snapshotDoc(d bson.Raw, db, coll string, nowMs int64, name, version string) (*source.Doc, error) {
	id, err := d.LookupErr("_id")
	if err != nil {
		return nil, errors.New("a document without _id")
	}
	m := debezium.MongoChange{Op: event.OpSnapshot, DB: db, Collection: coll, EmitTimeMs: nowMs,
		Source: debezium.MongoSource{Version: version, Name: name, TsMs: nowMs, Snapshot: "true"}}
	if m.After, err = extJSON(d); err != nil {
		return nil, err
	}
	if m.KeyExtJSON, err = valueExtJSON(id); err != nil {
		return nil, err
	}
	ev, err := bson.Marshal(bson.D{
		{Key: "_id", Value: bson.D{{Key: "_id", Value: id}, {Key: "copyingData", Value: true}}},
		{Key: "operationType", Value: "insert"},
		{Key: "ns", Value: bson.D{{Key: "db", Value: db}, {Key: "coll", Value: coll}}},
		{Key: "documentKey", Value: bson.D{{Key: "_id", Value: id}}},
		{Key: "fullDocument", Value: d},
	})
	if err != nil {
		return nil, err
	}
	text, err := extJSON(ev)
	if err != nil {
		return nil, err
	}
	return &source.Doc{Change: m, Event: text}, nil
}
