package mongo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-cdc/sluice/capture/internal/publish"
	"github.com/sluice-cdc/sluice/pkg/config"
)

// runSnap starts a pipeline with snapshots on, resuming from the stored
// position and snapshot state (initial snapshot on a fresh start).
func (e *env) runSnap(t *testing.T, chunk int) *running {
	t.Helper()
	cfg := e.sourceConfig(t)
	pub, err := publish.New(publish.Config{
		Kafka: config.Kafka{Brokers: e.brokers, ClientID: "sluice-test"}, CaptureName: e.prefix, TopicPrefix: e.prefix,
		SourceKind: "mongo", DocEncoder: DebeziumEncoder{}, CommitEvery: 5000, CommitInterval: 100 * time.Millisecond,
		TransactionTimeout: 30 * time.Second, Logger: zaptest.NewLogger(t).Named("publish"),
	})
	must(t, err, "publisher")
	t.Cleanup(pub.Close)
	cfg.Snapshot = &SnapshotConfig{ChunkSize: chunk, Initial: true, Resume: pub.StoredSnapshot}
	src, err := New(cfg)
	must(t, err, "source")
	return startPipeline(t, src, pub, "")
}

// dbzRecord is what the replay needs of a Debezium MongoDB value.
type dbzRecord struct {
	After  *string `json:"after"`
	Op     string  `json:"op"`
	Source struct {
		Snapshot string `json:"snapshot"`
	} `json:"source"`
}

// TestSnapshotUnderWrites snapshots a collection of n documents in
// chunks while a writer updates and deletes random documents (each update
// increments v), restarting the capture once in the middle (a soft stop,
// and with kill set a hard cancel of the source). Replaying the topic by
// _id must give the collection's final state, and no document's v may go
// down after its snapshot copy (no stale chunk row over a newer event).
func TestSnapshotUnderWrites(t *testing.T) {
	const n, chunk = 20000, 1000
	e := newEnv(t)
	ctx := t.Context()
	c := e.m.Connect(t).Database(e.db).Collection(e.coll)
	batch := make([]any, 0, 1000)
	for i := range n {
		batch = append(batch, bson.D{{Key: "_id", Value: int32(i)}, {Key: "v", Value: int64(0)}, {Key: "pad", Value: "0123456789abcdef"}})
		if len(batch) == cap(batch) {
			_, err := c.InsertMany(ctx, batch)
			must(t, err, "insert")
			batch = batch[:0]
		}
	}
	// Two documents of another _id type bracket, after the numbers.
	_, err := c.InsertMany(ctx, []any{bson.D{{Key: "_id", Value: "s1"}, {Key: "v", Value: int64(0)}}, bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "v", Value: int64(0)}}})
	must(t, err, "insert")

	r := e.runSnap(t, chunk)
	var writes atomic.Int64
	wctx, stopW := context.WithCancel(ctx)
	wdone := make(chan error, 1)
	go func() { wdone <- writer(wctx, c, n, &writes) }()

	// Restart once mid-snapshot: the snapshot resumes from the stored _id.
	seen := consumeWhile(t, r, e.brokers, e.topic(), 30*time.Second, func(recs []*kgo.Record) bool { return countSnap(recs) >= n/3 })
	t.Logf("%d records (%d snapshot) before the restart", len(seen), countSnap(seen))
	must(t, r.stop(t), "stop")
	r = e.runSnap(t, chunk)
	consumeWhile(t, r, e.brokers, e.topic(), 60*time.Second, func(recs []*kgo.Record) bool { return hasLast(recs) })
	stopW()
	must(t, <-wdone, "writer")
	// A sentinel update marks the end of the writes in the stream.
	_, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: "s1"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "end", Value: true}}}})
	must(t, err, "sentinel")
	recs := consumeWhile(t, r, e.brokers, e.topic(), 60*time.Second, func(recs []*kgo.Record) bool {
		for _, rec := range recs {
			if bytes.Contains(rec.Value, []byte(`\"end\":true`)) {
				return true
			}
		}
		return false
	})
	must(t, r.stop(t), "stop")

	// Replay by _id, and check v never goes down after a snapshot copy.
	state := map[string]string{}
	lastV := map[string]int64{}
	snaps, stale := 0, 0
	for _, rec := range recs {
		if rec.Value == nil {
			continue
		}
		var v dbzRecord
		must(t, json.Unmarshal(rec.Value, &v), "value %s", rec.Value)
		var k struct{ ID string }
		must(t, json.Unmarshal(rec.Key, &k), "key %s", rec.Key)
		switch v.Op {
		case "d":
			delete(state, k.ID)
			delete(lastV, k.ID)
			continue
		case "r":
			snaps++
		}
		if v.After == nil {
			continue
		}
		state[k.ID] = *v.After
		var doc struct {
			V struct {
				N string `json:"$numberLong"`
			} `json:"v"`
		}
		must(t, json.Unmarshal([]byte(*v.After), &doc), "after %s", *v.After)
		ver, _ := strconv.ParseInt(doc.V.N, 10, 64)
		if old, ok := lastV[k.ID]; ok && ver < old {
			stale++
			if stale <= 5 {
				t.Errorf("_id %s went back from v=%d to v=%d (op %s)", k.ID, old, ver, v.Op)
			}
		}
		lastV[k.ID] = ver
	}
	want := map[string]string{}
	cur, err := c.Find(ctx, bson.D{})
	must(t, err, "find")
	for cur.Next(ctx) {
		id, _ := valueExtJSON(cur.Current.Lookup("_id"))
		want[id], _ = extJSON(cur.Current)
	}
	must(t, cur.Err(), "find")
	diff := 0
	for id, w := range want {
		if state[id] != w {
			diff++
			if diff <= 5 {
				t.Errorf("_id %s: replay %q, source %q", id, state[id], w)
			}
		}
	}
	for id := range state {
		if _, ok := want[id]; !ok {
			diff++
			if diff <= 5 {
				t.Errorf("_id %s: in the replay, deleted in the source", id)
			}
		}
	}
	t.Logf("%d records, %d snapshot reads (source had %d documents at the start), %d writes, %d documents at the end, %d differ, %d stale",
		len(recs), snaps, n+2, writes.Load(), len(want), diff, stale)
	if snaps < n+2-int(writes.Load()) {
		t.Errorf("%d snapshot reads, want at least %d", snaps, n+2-int(writes.Load()))
	}
}

// writer updates (v+1) and sometimes deletes random documents until ctx
// ends.
func writer(ctx context.Context, c *mongo.Collection, n int, writes *atomic.Int64) error {
	for ctx.Err() == nil {
		id := int32(rand.N(n))
		var err error
		if rand.N(10) == 0 {
			_, err = c.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
		} else {
			_, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "v", Value: int64(1)}}}})
		}
		if err != nil && ctx.Err() == nil {
			return err
		}
		writes.Add(1)
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

func countSnap(recs []*kgo.Record) int {
	n := 0
	for _, r := range recs {
		if bytes.Contains(r.Value, []byte(`"op":"r"`)) {
			n++
		}
	}
	return n
}

func hasLast(recs []*kgo.Record) bool {
	for _, r := range recs {
		if bytes.Contains(r.Value, []byte(`"snapshot":"last"`)) {
			return true
		}
	}
	return false
}

// consumeUntil reads topic read_committed from the start until done holds.
func consumeUntil(t *testing.T, brokers []string, topic string, timeout time.Duration, done func([]*kgo.Record) bool) []*kgo.Record {
	return consumeWhile(t, nil, brokers, topic, timeout, done)
}

// consumeWhile is consumeUntil that fails at once when r's pipeline
// stops.
func consumeWhile(t *testing.T, r *running, brokers []string, topic string, timeout time.Duration, done func([]*kgo.Record) bool) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	must(t, err, "consumer")
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	if r != nil {
		go func() {
			select {
			case <-r.ended:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	var got []*kgo.Record
	for !done(got) {
		fs := cl.PollFetches(ctx)
		if r != nil && ctx.Err() != nil {
			select {
			case <-r.ended:
				t.Fatalf("topic %s: the pipeline stopped (%d records, %d snapshot): %v", topic, len(got), countSnap(got), r.err)
			default:
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("topic %s: condition not met within %s (%d records, %d snapshot)", topic, timeout, len(got), countSnap(got))
		}
		got = append(got, fs.Records()...)
	}
	return got
}

// TestSnapshotKill9 runs the capture binary with an initial snapshot of a
// collection in small chunks and kills it with SIGKILL five times in the
// middle: each restart resumes after the last committed chunk, so a
// read_committed reader sees every document exactly once (a chunk and its
// progress are in one Kafka transaction), and a later change is streamed.
func TestSnapshotKill9(t *testing.T) {
	const n, chunk = 20000, 100
	e := newEnv(t)
	ctx := t.Context()
	dir := t.TempDir()
	c := e.m.Connect(t).Database(e.db).Collection(e.coll)
	batch := make([]any, 0, 1000)
	for i := range n {
		batch = append(batch, bson.D{{Key: "_id", Value: int32(i)}, {Key: "pad", Value: "0123456789abcdef0123456789abcdef"}})
		if len(batch) == cap(batch) {
			_, err := c.InsertMany(ctx, batch)
			must(t, err, "insert")
			batch = batch[:0]
		}
	}
	// The initial position (stored with the first chunk, before any event)
	// is the capture's start second: keep the inserts out of it.
	time.Sleep(1100 * time.Millisecond)
	cp := e.binCapture(t, dir, []string{e.db + "." + e.coll}, fmt.Sprintf("snapshot: {mode: initial, chunk_size: %d}", chunk))
	p := cp.start(t)
	kills := 0
	for k := 1; k <= 5; k++ {
		at := n * k / 7
		recs := consumeUntil(t, e.brokers, e.topic(), 60*time.Second, func(recs []*kgo.Record) bool { return countSnap(recs) >= at })
		p.Kill()
		if hasLast(recs) {
			t.Logf("the snapshot finished before kill -9 at %d documents", at)
		} else {
			kills++
		}
		t.Logf("kill -9 after %d committed snapshot records", countSnap(recs))
		p = cp.start(t)
	}
	recs := consumeUntil(t, e.brokers, e.topic(), 90*time.Second, hasLast)
	_, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: int32(n)}})
	must(t, err, "insert after the snapshot")
	recs = consumeUntil(t, e.brokers, e.topic(), 60*time.Second, func(recs []*kgo.Record) bool { return countSnap(recs) >= n && len(recs) > countSnap(recs) })
	_ = p.Stop(30 * time.Second)
	seen := map[string]int{}
	dups := 0
	for _, r := range recs {
		if bytes.Contains(r.Value, []byte(`"op":"r"`)) {
			seen[string(r.Key)]++
			if seen[string(r.Key)] == 2 {
				dups++
			}
		}
	}
	t.Logf("%d kills mid-snapshot; %d records, %d snapshot reads of %d documents, %d duplicated", kills, len(recs), countSnap(recs), len(seen), dups)
	if len(seen) != n {
		t.Errorf("%d documents snapshotted, want %d", len(seen), n)
	}
	if kills < 5 {
		t.Errorf("%d kills in the middle of the snapshot, want 5", kills)
	}
	if dups > kills*chunk {
		t.Errorf("%d duplicates, more than one chunk (%d) per kill (%d)", dups, chunk, kills)
	}
}

// TestOnDemandSnapshot runs the capture binary on two collections with
// no initial snapshot, asks for a snapshot of one with `capture snapshot`
// and checks that every document of it is copied while the other
// collection's changes keep streaming (records of it are committed
// between the first and the last copied document).
func TestOnDemandSnapshot(t *testing.T) {
	const n, chunk = 3000, 100
	e := newEnv(t)
	ctx := t.Context()
	dir := t.TempDir()
	db := e.m.Connect(t).Database(e.db)
	c, other := db.Collection(e.coll), db.Collection("other")
	batch := make([]any, 0, n)
	for i := range n {
		batch = append(batch, bson.D{{Key: "_id", Value: int32(i)}, {Key: "v", Value: int64(0)}})
	}
	_, err := c.InsertMany(ctx, batch)
	must(t, err, "insert")
	_, err = other.InsertOne(ctx, bson.D{{Key: "_id", Value: int32(-1)}})
	must(t, err, "insert into other")
	cp := e.binCapture(t, dir, []string{e.db + "." + e.coll, e.db + ".other"}, fmt.Sprintf("snapshot: {mode: never, chunk_size: %d}", chunk))
	p := cp.start(t)

	// The other collection streams throughout.
	otherTopic := e.prefix + "." + e.db + ".other"
	wctx, stopW := context.WithCancel(ctx)
	wdone := make(chan error, 1)
	go func() {
		for i := int32(0); wctx.Err() == nil; i++ {
			if _, err := other.InsertOne(wctx, bson.D{{Key: "_id", Value: i}}); err != nil && wctx.Err() == nil {
				wdone <- err
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		wdone <- nil
	}()
	consumeUntil(t, e.brokers, otherTopic, 30*time.Second, func(recs []*kgo.Record) bool { return len(recs) >= 10 })

	out, err := cp.command("snapshot", "--table", e.db+"."+e.coll).CombinedOutput()
	must(t, err, "capture snapshot: %s", out)
	t.Logf("capture snapshot: %s", bytes.TrimSpace(out))

	recs := consumeUntil(t, e.brokers, e.topic(), 60*time.Second, hasLast)
	stopW()
	must(t, <-wdone, "writer")
	seen := map[string]bool{}
	var first, last time.Time
	for _, r := range recs {
		if bytes.Contains(r.Value, []byte(`"op":"r"`)) {
			seen[string(r.Key)] = true
			if first.IsZero() {
				first = r.Timestamp
			}
			last = r.Timestamp
		}
	}
	if len(seen) != n {
		t.Errorf("%d documents copied, want %d", len(seen), n)
	}
	during := 0
	for _, r := range consumeUntil(t, e.brokers, otherTopic, 30*time.Second, func(recs []*kgo.Record) bool {
		return len(recs) > 0 && recs[len(recs)-1].Timestamp.After(last)
	}) {
		if !r.Timestamp.Before(first) && !r.Timestamp.After(last) {
			during++
		}
	}
	t.Logf("%d documents copied in %s; %d changes of the other collection streamed meanwhile", len(seen), last.Sub(first), during)
	if during == 0 {
		t.Errorf("no change of the other collection was streamed during the snapshot (%s .. %s)", first, last)
	}
	_ = p.Stop(30 * time.Second)
}
