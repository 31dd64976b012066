package publish

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// wantRecord is a record the publisher must write for an event.
type wantRecord struct {
	key, value []byte // value nil: tombstone
	e          *event.Event
}

// expected encodes the golden events as the publisher must: Debezium splits
// the key change and adds tombstones after deletes.
func expected(t *testing.T, enc format.Encoder, events []event.Event, tombstones bool) []wantRecord {
	t.Helper()
	var out []wantRecord
	add := func(e *event.Event) {
		k, err := enc.AppendKey(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		v, err := enc.AppendValue(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, wantRecord{k, v, e})
		if tombstones && e.Op == event.OpDelete {
			out = append(out, wantRecord{k, nil, e})
		}
	}
	for i := range events {
		e := &events[i]
		if del, create, ok := debezium.SplitKeyChange(e); ok {
			add(&del)
			add(&create)
			continue
		}
		add(e)
	}
	return out
}

// TestGoldenRecords publishes the golden events in both formats and checks
// every record byte for byte: topic, key, value (the encoder's output),
// headers; and that the positions topic holds exactly the Commit items'
// positions.
func TestGoldenRecords(t *testing.T) {
	for _, tc := range []struct {
		name       string
		enc        format.Encoder
		tombstones bool
	}{
		{"maxwell", &maxwell.Encoder{}, false},
		{"debezium", &debezium.Encoder{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := testenv.NewKfake(t)
			p := newPub(t, k.Brokers(), "sluice", func(c *Config) {
				c.Encoder, c.Tombstones, c.CaptureName = tc.enc, tc.tombstones, "golden"
				c.Partitions = 1 // one total order to compare against
			})
			items := goldenItems()
			items[0].Event.Origin = "apply-to-warehouse"
			r := start(t, p)
			r.send(t, items...)
			if err := r.closeAndWait(t); err != nil {
				t.Fatalf("Run: %v", err)
			}

			var events []event.Event
			for _, it := range items {
				if it.Kind == source.Row {
					events = append(events, it.Event)
				}
			}
			want := expected(t, tc.enc, events, tc.tombstones)
			topic := "sluice." + eventtest.Database + "." + eventtest.Table
			got := consume(t, k.Brokers(), topic, true, len(want))
			if len(got) != len(want) {
				t.Fatalf("%d records on %s, want %d", len(got), topic, len(want))
			}
			for i, w := range want {
				g := got[i]
				if !bytes.Equal(g.Key, w.key) || !bytes.Equal(g.Value, w.value) || (w.value == nil) != (g.Value == nil) {
					t.Errorf("record %d:\n key %s\nwant %s\n value %s\nwant %s", i, g.Key, w.key, g.Value, w.value)
				}
				wantHdr := [][2]string{{format.HeaderFormat, tc.enc.Name()}, {format.HeaderPosition, w.e.Position}}
				if w.value != nil {
					wantHdr = append(wantHdr, [2]string{format.HeaderTypes, string(format.AppendTypes(nil, w.e.Columns))})
					if tc.enc.Name() == format.Debezium && w.e.Tx.Last {
						wantHdr = append(wantHdr, [2]string{format.HeaderTxLast, "true"})
					}
					if w.e.Origin != "" {
						wantHdr = append(wantHdr, [2]string{format.HeaderOrigin, w.e.Origin})
					}
				}
				var gotHdr [][2]string
				for _, h := range g.Headers {
					gotHdr = append(gotHdr, [2]string{h.Key, string(h.Value)})
				}
				if !slices.Equal(gotHdr, wantHdr) {
					t.Errorf("record %d headers\n%q\nwant\n%q", i, gotHdr, wantHdr)
				}
			}
			if tc.tombstones && !slices.ContainsFunc(got, func(r *kgo.Record) bool { return r.Value == nil }) {
				t.Error("no tombstone written")
			}

			var commits []string
			for _, it := range items {
				if it.Kind == source.Commit {
					commits = append(commits, it.Position)
				}
			}
			if got := storedPositions(t, k.Brokers(), p, len(commits)); !slices.Equal(got, commits) {
				t.Errorf("stored positions %q, want the Commit items' %q", got, commits)
			}
			p2 := newPub(t, k.Brokers(), "sluice", func(c *Config) { c.Encoder, c.CaptureName = tc.enc, "golden" })
			pos, ok, err := p2.LastPosition(context.Background())
			if err != nil || !ok || pos != commits[len(commits)-1] {
				t.Fatalf("LastPosition = %q, %v, %v; want %q", pos, ok, err, commits[len(commits)-1])
			}
		})
	}
}

// TestCommitBatching: with CommitEvery 5, transactions of 4, 2 and 1 rows
// give a Kafka commit after the second (6 rows, at its boundary, never
// inside it) and one at the end of input; the first position is never
// stored.
func TestCommitBatching(t *testing.T) {
	k := testenv.NewKfake(t)
	met := &recMetrics{}
	p := newPub(t, k.Brokers(), "sluice", func(c *Config) { c.CommitEvery, c.CommitInterval, c.Metrics = 5, 20*time.Second, met })
	r := start(t, p)
	r.send(t, append(append(txs(1, 1, 4), txs(2, 2, 2)...), txs(3, 3, 1)...)...)
	// The commit after transaction 2 is visible while Run still runs.
	if got := consume(t, k.Brokers(), "sluice.shop.orders", true, 6); len(got) != 6 {
		t.Fatalf("%d committed rows before the end of input, want 6", len(got))
	}
	if err := r.closeAndWait(t); err != nil {
		t.Fatal(err)
	}
	if got := storedPositions(t, k.Brokers(), p, 2); !slices.Equal(got, []string{position(2), position(3)}) {
		t.Fatalf("stored positions %q, want those of transactions 2 and 3", got)
	}
	if got := consume(t, k.Brokers(), "sluice.shop.orders", true, 7); len(got) != 7 {
		t.Fatalf("%d rows, want 7", len(got))
	}
	// Metrics count committed rows and commits with their source times.
	if met.events["shop.orders insert"] != 7 || !slices.Equal(met.committed, []int64{commitItem(2).SourceTimeMs, commitItem(3).SourceTimeMs}) || len(met.errors) != 0 {
		t.Fatalf("metrics: events %v, committed %v, errors %v", met.events, met.committed, met.errors)
	}
}

// TestRestartAfterAbort: Run ends inside a transaction (input closed) while
// an earlier source transaction was still waiting for its Kafka commit. Its
// rows were aborted too, so its position must never be stored, not even by
// the next Run; and the next Run starts at a boundary (a heartbeat first is
// fine).
func TestRestartAfterAbort(t *testing.T) {
	k := testenv.NewKfake(t)
	met := &recMetrics{}
	p := newPub(t, k.Brokers(), "sluice", func(c *Config) { c.CommitEvery, c.CommitInterval, c.Metrics = 5, 20*time.Second, met })
	r := start(t, p)
	r.send(t, txs(1, 1, 2)...)
	r.send(t, rows(2, 1)...)
	if err := r.closeAndWait(t); err != nil {
		t.Fatal(err)
	}
	if pos, ok, err := p.LastPosition(context.Background()); err != nil || ok {
		t.Fatalf("LastPosition after the abort = %q, %v, %v; want none", pos, ok, err)
	}
	r = start(t, p)
	if err := r.closeAndWait(t); err != nil {
		t.Fatal(err)
	}
	r = start(t, p)
	r.send(t, source.Item{Kind: source.Heartbeat, Position: position(7)})
	if err := r.closeAndWait(t); err != nil {
		t.Fatal(err)
	}
	if got := storedPositions(t, k.Brokers(), p, 1); !slices.Equal(got, []string{position(7)}) {
		t.Fatalf("stored positions %q, want only the later heartbeat's", got)
	}
	if got := consume(t, k.Brokers(), "sluice.shop.orders", true, 0); len(got) != 0 {
		t.Fatalf("read_committed sees %d rows of the aborted run", len(got))
	}
	if len(met.events) != 0 {
		t.Fatalf("aborted rows counted: %v", met.events)
	}
}

// TestLargeTransaction: one source transaction far larger than the
// producer buffer streams through (Produce blocks until space frees up)
// and commits whole.
func TestLargeTransaction(t *testing.T) {
	k := testenv.NewKfake(t)
	p := newPub(t, k.Brokers(), "sluice", func(c *Config) { c.MaxBufferedRecords, c.MaxBufferedBytes = 50, 64<<10 })
	r := start(t, p)
	r.send(t, txs(1, 1, 3000)...)
	if err := r.closeAndWait(t); err != nil {
		t.Fatal(err)
	}
	if got := consume(t, k.Brokers(), "sluice.shop.orders", true, 3000); len(got) != 3000 {
		t.Fatalf("%d rows, want 3000", len(got))
	}
}

// TestQuietSourceCommitsByTimer: a transaction below CommitEvery becomes
// visible after CommitInterval even though no further item arrives.
func TestQuietSourceCommitsByTimer(t *testing.T) {
	k := testenv.NewKfake(t)
	p := newPub(t, k.Brokers(), "sluice", func(c *Config) { c.CommitEvery, c.CommitInterval = 1000, 100*time.Millisecond })
	r := start(t, p)
	r.send(t, txs(1, 1, 3)...)
	if got := consume(t, k.Brokers(), "sluice.shop.orders", true, 3); len(got) != 3 {
		t.Fatalf("%d rows visible, want 3", len(got))
	}
	if got := storedPositions(t, k.Brokers(), p, 1); !slices.Equal(got, []string{position(1)}) {
		t.Fatalf("stored positions %q", got)
	}
	if err := r.closeAndWait(t); err != nil {
		t.Fatal(err)
	}
}

// TestAbortMidTransaction stops Run inside a source transaction whose rows
// already reached the broker, by cancelling (hard stop) and by closing the
// input (soft stop): a read_committed reader sees none of them, and the
// stored position is the last Commit's.
func TestAbortMidTransaction(t *testing.T) {
	for _, hard := range []bool{true, false} {
		name := map[bool]string{true: "cancel", false: "close"}[hard]
		t.Run(name, func(t *testing.T) {
			k := testenv.NewKfake(t)
			p := newPub(t, k.Brokers(), "sluice", nil)
			r := start(t, p)
			r.send(t, txs(1, 1, 2)...)
			r.send(t, rows(2, 3)...)
			// All 5 rows are on the broker (read_uncommitted sees them).
			if got := consume(t, k.Brokers(), "sluice.shop.orders", false, 5); len(got) != 5 {
				t.Fatalf("%d rows on the broker, want 5", len(got))
			}
			var err error
			if hard {
				r.cancel()
				err = r.wait(t)
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Run after cancel = %v, want context.Canceled", err)
				}
			} else if err = r.closeAndWait(t); err != nil {
				t.Fatalf("Run after the input closed mid-transaction = %v, want nil", err)
			}
			got := consume(t, k.Brokers(), "sluice.shop.orders", true, 2)
			if len(got) != 2 {
				t.Fatalf("read_committed sees %d rows, want the 2 of the committed transaction", len(got))
			}
			p2 := newPub(t, k.Brokers(), "sluice", nil)
			pos, ok, err := p2.LastPosition(context.Background())
			if err != nil || !ok || pos != position(1) {
				t.Fatalf("LastPosition = %q, %v, %v; want %q", pos, ok, err, position(1))
			}
		})
	}
}

// TestHeartbeats: an idle publisher stores heartbeat positions at most once
// per CommitInterval (the later one by its timer), and not again when the
// position did not change. A heartbeat inside a transaction is a source
// bug and stops Run.
func TestHeartbeats(t *testing.T) {
	k := testenv.NewKfake(t)
	p := newPub(t, k.Brokers(), "sluice", func(c *Config) { c.CommitInterval = 300 * time.Millisecond })
	r := start(t, p)
	hb := func(n int) source.Item {
		return source.Item{Kind: source.Heartbeat, Position: position(n), SourceTimeMs: int64(n)}
	}
	r.send(t, hb(1), hb(2), hb(3))
	time.Sleep(500 * time.Millisecond) // the timer writes 3
	r.send(t, hb(3))
	if err := r.closeAndWait(t); err != nil {
		t.Fatal(err)
	}
	if got := storedPositions(t, k.Brokers(), p, 2); !slices.Equal(got, []string{position(1), position(3)}) {
		t.Fatalf("stored positions %q, want those of heartbeats 1 and 3", got)
	}

	r = start(t, p)
	r.send(t, rows(4, 1)...)
	r.send(t, hb(4))
	err := r.wait(t)
	if err == nil || !strings.Contains(err.Error(), "heartbeat inside a transaction") {
		t.Fatalf("heartbeat inside a transaction: Run = %v", err)
	}
}

// TestBadItems: positions that are not JSON objects and unknown kinds stop
// Run with an error, and nothing of the open transaction becomes visible.
func TestBadItems(t *testing.T) {
	k := testenv.NewKfake(t)
	p := newPub(t, k.Brokers(), "sluice", nil)
	for _, it := range []source.Item{
		{Kind: source.Commit, Position: ""},
		{Kind: source.Commit, Position: `"0-1-5"`},
		{Kind: source.Heartbeat, Position: `{"gtid":`},
		{Kind: 99},
	} {
		r := start(t, p)
		r.send(t, rows(1, 1)...)
		r.send(t, it)
		if err := r.wait(t); err == nil || !strings.Contains(err.Error(), "source sent") {
			t.Errorf("item %+v: Run = %v, want an error naming the source", it, err)
		}
	}
	if got := consume(t, k.Brokers(), "sluice.shop.orders", true, 0); len(got) != 0 {
		t.Fatalf("read_committed sees %d rows of aborted transactions", len(got))
	}
}

// TestTopicCollision: two tables that map to one topic stop Run with an
// error naming both.
func TestTopicCollision(t *testing.T) {
	k := testenv.NewKfake(t)
	p := newPub(t, k.Brokers(), "sluice", nil)
	a, b := rows(1, 1), rows(1, 1)
	a[0].Event.Table, b[0].Event.Table = "order items", "order_items"
	r := start(t, p)
	r.send(t, a[0], b[0])
	err := r.wait(t)
	if err == nil || !strings.Contains(err.Error(), "shop.order items") || !strings.Contains(err.Error(), "shop.order_items") {
		t.Fatalf("Run = %v, want a collision error naming both tables", err)
	}
}

// TestNoTransactions: without transactions rows and positions are still
// written, and the position is read back.
func TestNoTransactions(t *testing.T) {
	k := testenv.NewKfake(t)
	p := newPub(t, k.Brokers(), "sluice", func(c *Config) { c.NoTransactions = true; c.CommitEvery = 3 })
	if p.Transactional() {
		t.Fatal("Transactional() with NoTransactions")
	}
	r := start(t, p)
	r.send(t, txs(1, 3, 2)...)
	if err := r.closeAndWait(t); err != nil {
		t.Fatal(err)
	}
	if got := consume(t, k.Brokers(), "sluice.shop.orders", false, 6); len(got) != 6 {
		t.Fatalf("%d rows, want 6", len(got))
	}
	if got := storedPositions(t, k.Brokers(), p, 2); !slices.Equal(got, []string{position(2), position(3)}) {
		t.Fatalf("stored positions %q", got)
	}
	pos, ok, err := newPub(t, k.Brokers(), "sluice", func(c *Config) { c.NoTransactions = true }).LastPosition(context.Background())
	if err != nil || !ok || pos != position(3) {
		t.Fatalf("LastPosition = %q, %v, %v", pos, ok, err)
	}
}

// TestTransactionTimeout: a source transaction that streams longer than
// TransactionTimeout is aborted by the broker; Run says which settings to
// raise, and nothing of it is visible.
func TestTransactionTimeout(t *testing.T) {
	k := testenv.NewKfake(t)
	met := &recMetrics{}
	p := newPub(t, k.Brokers(), "sluice", func(c *Config) { c.TransactionTimeout, c.Metrics = time.Second, met })
	r := start(t, p)
	r.send(t, txs(1, 1, 1)...)
	r.send(t, rows(2, 1)...)
	time.Sleep(2 * time.Second)
	r.send(t, rows(3, 1)...)
	r.send(t, commitItem(3))
	err := r.wait(t)
	t.Logf("Run: %v", err)
	if !slices.Contains(met.errors, "transaction_timeout") {
		t.Errorf("error kinds %v, want transaction_timeout", met.errors)
	}
	if !errors.Is(err, ErrTransactionTimeout) || !strings.Contains(err.Error(), "transaction.max.timeout.ms") {
		t.Fatalf("Run = %v, want ErrTransactionTimeout naming transaction.max.timeout.ms", err)
	}
	if got := consume(t, k.Brokers(), "sluice.shop.orders", true, 1); len(got) != 1 {
		t.Fatalf("read_committed sees %d rows, want 1", len(got))
	}
}
