package mongo

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-cdc/sluice/capture/internal/pipeline"
	"github.com/sluice-cdc/sluice/capture/internal/publish"
	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// env is one test's Mongo database, collection and Kafka prefix.
type env struct {
	m       *testenv.Mongo
	brokers []string
	db      string
	coll    string
	prefix  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	m := testenv.MongoJavaServer(t)
	k := testenv.SharedKafka(t)
	db := m.CreateDatabase(t)
	return &env{m: m, brokers: k.Brokers(), db: db, coll: "docs", prefix: testenv.UniqueName(t)}
}

func (e *env) topic() string { return e.prefix + "." + e.db + "." + e.coll }

// sourceConfig watches the test's collection with one stream: the mode
// mongo-java-server can serve (and a real server too).
func (e *env) sourceConfig(t *testing.T) Config {
	return Config{URI: e.m.URI(), Watch: WatchCollections, Collections: []string{e.db + "." + e.coll},
		Name: e.prefix, Version: "test", Logger: zaptest.NewLogger(t).Named("mongo"), Heartbeat: 500 * time.Millisecond}
}

func (e *env) publisher(t *testing.T, enc publish.DocEncoder) *publish.Publisher {
	t.Helper()
	p, err := publish.New(publish.Config{
		Kafka: config.Kafka{Brokers: e.brokers, ClientID: "sluice-test"}, CaptureName: e.prefix, TopicPrefix: e.prefix,
		SourceKind: "mongo", DocEncoder: enc, CommitEvery: 1, CommitInterval: 50 * time.Millisecond,
		TransactionTimeout: 30 * time.Second, Logger: zaptest.NewLogger(t).Named("publish"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// running is a capture pipeline in a goroutine.
type running struct {
	cancel context.CancelFunc
	ended  chan struct{} // closed when the pipeline returned
	err    error         // its error, once ended
}

// startPipeline runs the pipeline of src and pub in the background until the
// test ends.
func startPipeline(t *testing.T, src *Source, pub *publish.Publisher, from string) *running {
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{cancel: cancel, ended: make(chan struct{})}
	go func() {
		defer close(r.ended)
		r.err = pipeline.Run(ctx, pipeline.Config{From: from, ShutdownTimeout: 10 * time.Second}, src, pub, zaptest.NewLogger(t).Named("pipeline"))
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// run starts a pipeline; from "" resumes from the stored position.
func (e *env) run(t *testing.T, cfg Config, enc publish.DocEncoder, from string) *running {
	t.Helper()
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return startPipeline(t, src, e.publisher(t, enc), from)
}

// stop is the soft stop; it returns the pipeline's error.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case <-r.ended:
		if errors.Is(r.err, context.Canceled) {
			return nil
		}
		return r.err
	case <-time.After(30 * time.Second):
		t.Fatal("pipeline did not stop within 30s")
	}
	return nil
}

// startSpec is a --from time a little before now: the stream then sees
// every write the test makes after it, without racing the stream's open.
func startSpec() string {
	return "time:" + time.Now().Add(-2*time.Second).UTC().Format(time.RFC3339)
}

// consume reads topic with read_committed from the start until want
// records arrived (tombstones included), then briefly for extras.
func consume(t *testing.T, brokers []string, topic string, want int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []*kgo.Record
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	for len(got) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("topic %s: %d of %d records within %s", topic, len(got), want, timeout)
		}
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Logf("fetch %s/%d: %v", topic, p, err)
			}
		})
		got = append(got, fs.Records()...)
	}
	short, cancel2 := context.WithTimeout(t.Context(), time.Second)
	defer cancel2()
	return append(got, cl.PollFetches(short).Records()...)
}

// canon is the canonical Extended JSON of v as a document.
func canon(t *testing.T, v any) string {
	t.Helper()
	b, err := bson.MarshalExtJSON(v, true, false)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func idJSON(t *testing.T, id any) string {
	t.Helper()
	s := canon(t, bson.D{{Key: "v", Value: id}})
	return s[len(`{"v":`) : len(s)-1]
}

func must(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

type kgoRecord = kgo.Record
