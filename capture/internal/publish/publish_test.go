package publish

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newPub(t *testing.T, k testenv.Kafka, name, prefix string) *Publisher {
	t.Helper()
	p, err := New(Config{Brokers: k.Brokers(), CaptureName: name, PositionsTopic: prefix + ".positions",
		TopicTemplate: prefix + ".{db}.{table}", Encoder: &maxwell.Encoder{}, Logger: zaptest.NewLogger(t),
		TransactionTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func row(id int64, tx string) source.Item {
	e := eventtest.Small()
	e.After = append([]event.Value(nil), e.After...)
	e.After[0] = event.IntValue(id)
	e.Tx.ID = tx
	return source.Item{Kind: source.Row, Event: e}
}

func commitAt(n int) source.Item {
	return source.Item{Kind: source.Commit, Position: fmt.Sprintf(`{"gtid":"0-1-%d","file":"b.000001","pos":%d,"server_id":1}`, n, 100*n)}
}

// readAll returns the values' ids of a topic as a read_committed consumer
// sees them.
func readAll(t *testing.T, k testenv.Kafka, topic string, want int) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var keys []string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			keys = append(keys, string(r.Key))
			if h := r.Headers; len(h) < 3 || h[0].Key != "sluice.format" || string(h[0].Value) != "maxwell" {
				t.Errorf("record headers = %v", h)
			}
		})
		cancel()
		if len(keys) >= want {
			// one more poll: nothing else may follow
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { keys = append(keys, string(r.Key)) })
			cancel()
			break
		}
	}
	sort.Strings(keys)
	return keys
}

// TestExactlyOnceAcrossCrash: capture 1 dies inside a Kafka transaction;
// capture 2 fences it, resumes from the last committed position and
// re-publishes the lost transaction; a read_committed consumer sees every
// change exactly once.
func TestExactlyOnceAcrossCrash(t *testing.T) {
	k := testenv.SharedKafka(t)
	prefix := testenv.UniqueName(t)
	ctx := context.Background()

	p1 := newPub(t, k, "cap", prefix)
	if _, ok, err := p1.LastPosition(ctx); err != nil || ok {
		t.Fatalf("fresh LastPosition = %v, %v", ok, err)
	}
	// Unbuffered: each send waits for the previous item to be handled, so
	// both commits happen (nothing is queued behind them).
	in1 := make(chan source.Item)
	done1 := make(chan error, 1)
	go func() { done1 <- p1.Run(ctx, in1) }()
	in1 <- row(1, "t1")
	in1 <- row(2, "t1")
	in1 <- commitAt(1)
	in1 <- row(3, "t2")
	in1 <- commitAt(2)
	in1 <- row(4, "t3") // never committed: capture 1 "crashes" here
	time.Sleep(500 * time.Millisecond)
	p1.Close() // the process dies: no EndTransaction is sent
	close(in1)
	select {
	case <-done1: // whatever it says: its client is gone
	case <-time.After(20 * time.Second):
		t.Fatal("publisher did not notice its closed client")
	}

	p2 := newPub(t, k, "cap", prefix)
	pos, ok, err := p2.LastPosition(ctx)
	if err != nil || !ok || !strings.Contains(pos, `"0-1-2"`) {
		t.Fatalf("LastPosition after crash = %q, %v, %v; want the position of t2", pos, ok, err)
	}
	in2 := make(chan source.Item, 10)
	in2 <- row(4, "t3")
	in2 <- row(5, "t3")
	in2 <- commitAt(3)
	close(in2)
	if err := p2.Run(ctx, in2); err != nil {
		t.Fatal(err)
	}
	topic := prefix + ".shop.orders"
	got := readAll(t, k, topic, 5)
	var want []string
	for i := 1; i <= 5; i++ {
		want = append(want, fmt.Sprintf(`{"database":"shop","table":"orders","pk.id":%d}`, i))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("read_committed consumer saw\n%s\nwant each change once:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

}

// TestFencing: a second live capture with the same transactional id fences
// the first, which then stops with ErrFenced instead of writing.
func TestFencing(t *testing.T) {
	k := testenv.SharedKafka(t)
	prefix := testenv.UniqueName(t)
	ctx := context.Background()
	p1 := newPub(t, k, "cap", prefix)
	if _, _, err := p1.LastPosition(ctx); err != nil {
		t.Fatal(err)
	}
	in1 := make(chan source.Item)
	done1 := make(chan error, 1)
	go func() { done1 <- p1.Run(ctx, in1) }()
	in1 <- row(1, "t1")
	in1 <- commitAt(1)
	in1 <- row(2, "t2") // accepted only once commit 1 is done (unbuffered)

	p2 := newPub(t, k, "cap", prefix)
	if pos, ok, err := p2.LastPosition(ctx); err != nil || !ok || !strings.Contains(pos, `"0-1-1"`) {
		t.Fatalf("LastPosition = %q %v %v", pos, ok, err)
	}
	select {
	case in1 <- commitAt(2):
	case <-done1:
		t.Fatal("capture 1 stopped before its commit")
	}
	select {
	case err := <-done1:
		if !errors.Is(err, ErrFenced) || !strings.Contains(err.Error(), "another capture") {
			t.Fatalf("capture 1 after fencing: %v, want ErrFenced", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("fenced capture kept running")
	}
	p3 := newPub(t, k, "cap", prefix)
	if pos, _, _ := p3.LastPosition(ctx); !strings.Contains(pos, `"0-1-1"`) {
		t.Errorf("position after the fenced instance tried to commit = %s, want t1's", pos)
	}
}

// TestShutdownMidTransactionAborts: the channel closes inside a source
// transaction; nothing of it may become visible.
func TestShutdownMidTransactionAborts(t *testing.T) {
	k := testenv.SharedKafka(t)
	prefix := testenv.UniqueName(t)
	ctx := context.Background()
	p := newPub(t, k, "cap2", prefix)
	if _, _, err := p.LastPosition(ctx); err != nil {
		t.Fatal(err)
	}
	in := make(chan source.Item)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, in) }()
	in <- row(1, "t1")
	in <- commitAt(1)  // nothing queued behind it: committed at once
	in <- row(2, "t2") // half a transaction, then shutdown
	close(in)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	check := newPub(t, k, "cap2", prefix)
	if pos, ok, err := check.LastPosition(ctx); err != nil || !ok || !strings.Contains(pos, `"0-1-1"`) {
		t.Fatalf("position after shutdown = %q %v %v, want t1's", pos, ok, err)
	}
	got := readAll(t, k, prefix+".shop.orders", 1)
	if len(got) != 1 || !strings.Contains(got[0], `"pk.id":1`) {
		t.Fatalf("visible rows = %v, want only row 1", got)
	}
}
