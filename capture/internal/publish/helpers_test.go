package publish

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// TestMain starts the shared broker the integration tests use: the real
// Kafka broker, or kfake with SLUICE_TEST_KAFKA=kfake. Unit tests run on a
// kfake cluster of their own.
func TestMain(m *testing.M) { testenv.Main(m, testenv.NeedKafka) }

// newPub builds a publisher for the test with a unique prefix (so topics
// of tests sharing a broker never meet) and fast commits; mod adjusts the
// config.
func newPub(t *testing.T, brokers []string, prefix string, mod func(*Config)) *Publisher {
	t.Helper()
	cfg := Config{
		Kafka:              config.Kafka{Brokers: brokers, ClientID: "sluice-test"},
		CaptureName:        prefix,
		TopicPrefix:        prefix,
		Encoder:            &maxwell.Encoder{},
		CommitEvery:        1,
		CommitInterval:     50 * time.Millisecond,
		TransactionTimeout: 30 * time.Second,
		Logger:             zaptest.NewLogger(t),
	}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// recMetrics records what the publisher reports.
type recMetrics struct {
	mu        sync.Mutex
	events    map[string]int // "db.table op" -> n
	committed []int64
	errors    []string
}

func (m *recMetrics) Events(db, table string, op event.Op, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.events == nil {
		m.events = map[string]int{}
	}
	m.events[db+"."+table+" "+op.String()] += n
}

func (m *recMetrics) Committed(ms int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.committed = append(m.committed, ms)
}

func (m *recMetrics) Error(kind string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.errors = append(m.errors, kind)
}

// position is the commit position of synthetic transaction n.
func position(n int) string {
	return fmt.Sprintf(`{"gtid":"0-1-%d","file":"mariadb-bin.000001","pos":%d,"server_id":1}`, n, 1000+n)
}

func commitItem(n int) source.Item {
	return source.Item{Kind: source.Commit, Position: position(n), SourceTimeMs: eventtest.SourceTimeMs + int64(n), TxID: fmt.Sprintf("0-1-%d", n)}
}

// rows returns the rows of synthetic transaction n: eventtest.Small()
// events with ids n*1000+i, i < count, without the Commit item.
func rows(n, count int) []source.Item {
	var out []source.Item
	for i := range count {
		e := eventtest.Small()
		e.After[0] = event.IntValue(int64(n*1000 + i))
		e.Tx = event.Tx{ID: fmt.Sprintf("0-1-%d", n), XID: uint64(n), Seq: uint64(i), TableSeq: uint64(i + 1), Last: i == count-1}
		e.Source.GTID = e.Tx.ID
		e.Position = position(n)
		out = append(out, source.Item{Kind: source.Row, Event: e})
	}
	return out
}

// txs returns the items of synthetic transactions first..last, each with
// count rows and its Commit item.
func txs(first, last, count int) []source.Item {
	var out []source.Item
	for n := first; n <= last; n++ {
		out = append(append(out, rows(n, count)...), commitItem(n))
	}
	return out
}

// goldenItems is eventtest.Events() with a Commit item after each
// transaction's last row, positioned at that row's position.
func goldenItems() []source.Item {
	var out []source.Item
	for _, e := range eventtest.Events() {
		out = append(out, source.Item{Kind: source.Row, Event: e})
		if e.Tx.Last {
			out = append(out, source.Item{Kind: source.Commit, Position: e.Position, SourceTimeMs: e.SourceTimeMs, TxID: e.Tx.ID})
		}
	}
	return out
}

// running is a publisher's Run in a goroutine.
type running struct {
	in     chan source.Item
	done   chan error
	cancel context.CancelFunc
}

func start(t *testing.T, p *Publisher) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{in: make(chan source.Item), done: make(chan error, 1), cancel: cancel}
	go func() { r.done <- p.Run(ctx, r.in) }()
	t.Cleanup(cancel)
	return r
}

// send feeds items; it fails the test if Run ended early.
func (r *running) send(t *testing.T, items ...source.Item) {
	t.Helper()
	for _, it := range items {
		select {
		case r.in <- it:
		case err := <-r.done:
			r.done <- err
			t.Fatalf("Run ended while items were still being sent: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not take an item for 20s")
		}
	}
}

// wait returns Run's result.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30s")
		return nil
	}
}

// closeAndWait is the soft stop: the input ends, Run finishes.
func (r *running) closeAndWait(t *testing.T) error {
	t.Helper()
	close(r.in)
	return r.wait(t)
}

// consume reads topic from the start until want records arrived, then polls
// once more briefly so that anything extra shows up too. committed selects
// read_committed, otherwise read_uncommitted.
func consume(t *testing.T, brokers []string, topic string, committed bool, want int) []*kgo.Record {
	t.Helper()
	level := kgo.ReadUncommitted()
	if committed {
		level = kgo.ReadCommitted()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(level),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []*kgo.Record
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for len(got) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("topic %s: %d of %d records before the timeout (read_committed=%v)", topic, len(got), want, committed)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		got = append(got, fs.Records()...)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	return append(got, cl.PollFetches(short).Records()...)
}

func header(r *kgo.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// storedPositions returns the positions of the capture's records in its
// positions topic, in order, as a read_committed reader sees them.
func storedPositions(t *testing.T, brokers []string, p *Publisher, want int) []string {
	t.Helper()
	var out []string
	for _, r := range consume(t, brokers, p.cfg.PositionsTopic, true, want) {
		if string(r.Key) != p.cfg.CaptureName {
			continue
		}
		pos, ok, err := parsePosition(p.cfg.CaptureName, p.cfg.SourceKind, r.Value)
		if err != nil || !ok {
			t.Fatalf("position record %s: %v", r.Value, err)
		}
		out = append(out, pos)
	}
	return out
}
