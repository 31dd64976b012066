package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// These tests run on the shared broker: the real Kafka broker by default,
// kfake with SLUICE_TEST_KAFKA=kfake. Each uses topics of its own prefix.

// keyIDs returns the "pk.id" of each Maxwell key, for exactly-once checks.
func keyIDs(t *testing.T, brokers []string, topic string, committed bool, want int) []string {
	t.Helper()
	var ids []string
	for _, r := range consume(t, brokers, topic, committed, want) {
		ids = append(ids, string(r.Key))
	}
	slices.Sort(ids)
	return ids
}

func wantIDs(txRows map[int]int) []string {
	var ids []string
	for n, count := range txRows {
		for i := range count {
			ids = append(ids, fmt.Sprintf(`{"database":"shop","table":"orders","pk.id":%d}`, n*1000+i))
		}
	}
	slices.Sort(ids)
	return ids
}

// TestExactlyOnceAcrossCrash: publisher 1 commits three transactions, then
// crashes at the worst moment: the rows of a fourth transaction and its
// position record are on the broker, the commit was never sent (its client
// closes without ending the transaction). Publisher 2 with the same
// transactional id must fence it in LastPosition: otherwise its
// read_committed read of the positions topic would wait for the broker's
// transaction timeout. It resumes after the third transaction and
// re-publishes the fourth; a read_committed consumer sees every row exactly
// once.
func TestExactlyOnceAcrossCrash(t *testing.T) {
	k := testenv.SharedKafka(t)
	prefix := testenv.UniqueName(t)
	topic := prefix + ".shop.orders"
	ctx := context.Background()

	p1 := newPub(t, k.Brokers(), prefix, nil)
	if pos, ok, err := p1.LastPosition(ctx); err != nil || ok {
		t.Fatalf("LastPosition on a new topic = %q, %v, %v", pos, ok, err)
	}
	r1 := start(t, p1)
	r1.send(t, txs(1, 3, 2)...)
	if err := r1.closeAndWait(t); err != nil {
		t.Fatal(err)
	}
	// The crash, driven step by step: rows and position record flushed
	// inside an open transaction, then the client goes away.
	if err := p1.begin(); err != nil {
		t.Fatal(err)
	}
	for _, it := range rows(4, 3) {
		if _, err := p1.produceRow(ctx, &it.Event); err != nil {
			t.Fatal(err)
		}
	}
	rec, err := p1.positionRecord(position(4))
	if err != nil {
		t.Fatal(err)
	}
	p1.cl.Produce(ctx, rec, p1.promise)
	if err := p1.cl.Flush(ctx); err != nil || p1.failureErr() != nil {
		t.Fatalf("flush: %v, %v", err, p1.failureErr())
	}
	p1.Close()
	if n := len(consume(t, k.Brokers(), topic, false, 9)); n != 9 {
		t.Fatalf("%d rows on the broker after the crash, want 9", n)
	}

	p2 := newPub(t, k.Brokers(), prefix, nil)
	began := time.Now()
	pos, ok, err := p2.LastPosition(ctx)
	if err != nil || !ok || pos != position(3) {
		t.Fatalf("LastPosition after the crash = %q, %v, %v; want %q", pos, ok, err, position(3))
	}
	if d := time.Since(began); d > p2.cfg.TransactionTimeout/3 {
		t.Fatalf("LastPosition took %s: the crashed transaction was not fenced (timeout %s)", d, p2.cfg.TransactionTimeout)
	}
	t.Logf("fenced and read the position in %s", time.Since(began).Round(time.Millisecond))
	r2 := start(t, p2)
	r2.send(t, append(append(rows(4, 3), commitItem(4)), txs(5, 6, 2)...)...)
	if err := r2.closeAndWait(t); err != nil {
		t.Fatal(err)
	}

	want := wantIDs(map[int]int{1: 2, 2: 2, 3: 2, 4: 3, 5: 2, 6: 2})
	if got := keyIDs(t, k.Brokers(), topic, true, len(want)); !slices.Equal(got, want) {
		t.Fatalf("read_committed keys\n%q\nwant each once\n%q", got, want)
	}
	// The crashed attempt's rows are in the log, aborted.
	if n := len(consume(t, k.Brokers(), topic, false, len(want)+3)); n != len(want)+3 {
		t.Fatalf("read_uncommitted sees %d rows, want %d", n, len(want)+3)
	}
	pos, ok, err = newPub(t, k.Brokers(), prefix, nil).LastPosition(ctx)
	if err != nil || !ok || pos != position(6) {
		t.Fatalf("final LastPosition = %q, %v, %v", pos, ok, err)
	}
}

// TestCancelMidTransaction: the hard stop (Run's context cancelled) inside
// a source transaction whose rows reached the broker aborts them; the next
// instance resumes from the last Commit.
func TestCancelMidTransaction(t *testing.T) {
	k := testenv.SharedKafka(t)
	prefix := testenv.UniqueName(t)
	topic := prefix + ".shop.orders"
	p1 := newPub(t, k.Brokers(), prefix, nil)
	r1 := start(t, p1)
	r1.send(t, txs(1, 2, 2)...)
	r1.send(t, rows(3, 2)...)
	if n := len(consume(t, k.Brokers(), topic, false, 6)); n != 6 {
		t.Fatalf("%d rows on the broker, want 6", n)
	}
	r1.cancel()
	if err := r1.wait(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel = %v", err)
	}
	p2 := newPub(t, k.Brokers(), prefix, nil)
	pos, ok, err := p2.LastPosition(context.Background())
	if err != nil || !ok || pos != position(2) {
		t.Fatalf("LastPosition = %q, %v, %v; want %q", pos, ok, err, position(2))
	}
	r2 := start(t, p2)
	r2.send(t, txs(3, 3, 2)...)
	if err := r2.closeAndWait(t); err != nil {
		t.Fatal(err)
	}
	want := wantIDs(map[int]int{1: 2, 2: 2, 3: 2})
	if got := keyIDs(t, k.Brokers(), topic, true, len(want)); !slices.Equal(got, want) {
		t.Fatalf("read_committed keys\n%q\nwant each once\n%q", got, want)
	}
}

// TestFencing: a second publisher with the same transactional id takes
// over; the first one's next transaction fails with ErrFenced and the
// message operators need, and none of its rows become visible.
func TestFencing(t *testing.T) {
	k := testenv.SharedKafka(t)
	prefix := testenv.UniqueName(t)
	topic := prefix + ".shop.orders"
	ctx := context.Background()

	met := &recMetrics{}
	pa := newPub(t, k.Brokers(), prefix, func(c *Config) { c.Metrics = met })
	if _, _, err := pa.LastPosition(ctx); err != nil {
		t.Fatal(err)
	}
	ra := start(t, pa)
	ra.send(t, txs(1, 1, 2)...)
	if n := len(consume(t, k.Brokers(), topic, true, 2)); n != 2 {
		t.Fatalf("%d committed rows, want 2", n)
	}

	pb := newPub(t, k.Brokers(), prefix, nil)
	if pos, ok, err := pb.LastPosition(ctx); err != nil || !ok || pos != position(1) {
		t.Fatalf("LastPosition of the new instance = %q, %v, %v", pos, ok, err)
	}
	var err error
	for _, it := range txs(2, 2, 2) {
		select {
		case ra.in <- it:
			continue
		case err = <-ra.done:
		}
		break
	}
	if err == nil {
		err = ra.closeAndWait(t)
	}
	wantMsg := fmt.Sprintf("another capture with transactional id %q took over; this instance stops", "sluice-capture-"+prefix)
	if !errors.Is(err, ErrFenced) || !strings.Contains(err.Error(), wantMsg) {
		t.Fatalf("fenced publisher: Run = %v\nwant ErrFenced saying %q", err, wantMsg)
	}
	t.Logf("fenced publisher: %v", err)
	if !slices.Equal(met.errors, []string{"fenced"}) {
		t.Errorf("error kinds %v, want [fenced]", met.errors)
	}

	rb := start(t, pb)
	rb.send(t, txs(2, 3, 1)...)
	if err := rb.closeAndWait(t); err != nil {
		t.Fatal(err)
	}
	want := wantIDs(map[int]int{1: 2, 2: 1, 3: 1})
	if got := keyIDs(t, k.Brokers(), topic, true, len(want)); !slices.Equal(got, want) {
		t.Fatalf("read_committed keys\n%q\nwant\n%q", got, want)
	}
}

// TestKcatReadCommitted: kcat (librdkafka) reads a topic the publisher
// wrote, read_committed, and gets the encoder's bytes for each committed
// golden event and nothing of an aborted transaction.
func TestKcatReadCommitted(t *testing.T) {
	k := testenv.SharedKafka(t)
	if k.Kind() != "real" {
		t.Skip("kcat reads the real broker only")
	}
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("kcat not found (CI=true): %v", err)
		}
		t.Skipf("kcat not found: %v", err)
	}
	prefix := testenv.UniqueName(t)
	p := newPub(t, k.Brokers(), prefix, func(c *Config) { c.Partitions = 1 })
	items := goldenItems()
	r := start(t, p)
	r.send(t, items...)
	aborted := goldenItems()[0]
	aborted.Event.Tx.ID = "0-1-99"
	r.send(t, aborted)
	topic := prefix + ".shop.all_types"
	// The records: a key change is a delete and an insert.
	var rows []event.Event
	for _, it := range items {
		if it.Kind != source.Row {
			continue
		}
		if del, create, ok := debezium.SplitKeyChange(&it.Event); ok {
			rows = append(rows, del, create)
			continue
		}
		rows = append(rows, it.Event)
	}
	rowCount := len(rows)
	if n := len(consume(t, k.Brokers(), topic, false, rowCount+1)); n != rowCount+1 {
		t.Fatalf("%d records on the broker, want %d", n, rowCount+1)
	}
	if err := r.closeAndWait(t); err != nil { // aborts the open transaction
		t.Fatal(err)
	}

	var want bytes.Buffer
	enc := &maxwell.Encoder{}
	for i := range rows {
		e := &rows[i]
		key, _ := enc.AppendKey(nil, e)
		value, _ := enc.AppendValue(nil, e)
		fmt.Fprintf(&want, "%s\t%s\t%s=%s,%s=%s,%s=%s\n", key, value, format.HeaderFormat, "maxwell",
			format.HeaderPosition, e.Position, format.HeaderTypes, format.AppendTypes(nil, e.Columns))
	}
	out, err := exec.Command(kcat, "-b", k.Brokers()[0], "-C", "-t", topic, "-e", "-q",
		"-X", "isolation.level=read_committed", "-f", `%k\t%s\t%h\n`).CombinedOutput()
	if err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	if !bytes.Equal(out, want.Bytes()) {
		t.Fatalf("kcat read\n%s\nwant\n%s", out, want.Bytes())
	}
}
