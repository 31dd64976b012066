package mysql

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
)

func (f *fixture) table() []string { return f.dump("SELECT id, a, b FROM t ORDER BY id") }

func expectTable(t *testing.T, f *fixture, want ...string) {
	t.Helper()
	if got := f.table(); !slices.Equal(got, want) {
		t.Errorf("table t:\n got %q\nwant %q", got, want)
	}
}

// TestUpsertSemantics checks the overlap-tolerant writes of DESIGN §7.
func TestUpsertSemantics(t *testing.T) {
	f := newFixture(t, nil)
	f.createSimple()
	f.exec("INSERT INTO t VALUES (1, 'old', 1), (3, 'three', 3)")
	rows := renumber([]sink.Row{
		up(0, 1, "new", 10), // insert of an existing row updates it
		func() sink.Row { r := up(0, 2, "two", 2); r.Op = event.OpUpdate; return r }(), // update of a missing row inserts it
		del(0, 9), // delete of a missing row succeeds
		del(0, 3),
		func() sink.Row { r := up(0, 4, "snap", 4); r.Op = event.OpSnapshot; return r }(),
	}, 0)
	f.mustApply(rows, offsetFor(rows))
	expectTable(t, f, "1|new|10", "2|two|2", "4|snap|4")
	if got := f.stored(); !maps.Equal(got, map[int32]int64{0: 5}) {
		t.Errorf("stored offsets %v, want 0:5", got)
	}
}

// TestKeyChange: an update with OldKey deletes the old key and upserts the
// new one, also when the new key already exists (overlap) and when the
// old one is already gone.
func TestKeyChange(t *testing.T) {
	f := newFixture(t, nil)
	f.createSimple()
	f.exec("INSERT INTO t VALUES (1, 'one', 1), (7, 'stale', 0)")
	change := func(off, from, to int64, a string) sink.Row {
		r := up(off, to, a, to)
		r.Op, r.OldKey = event.OpUpdate, []event.Value{event.IntValue(from)}
		return r
	}
	rows := []sink.Row{change(0, 1, 5, "five"), change(1, 6, 7, "seven"), change(2, 5, 6, "six")}
	f.mustApply(rows, offsetFor(rows))
	expectTable(t, f, "6|six|6", "7|seven|7")
}

// TestRepeatedKeys: several changes of one key in a batch end in the last.
func TestRepeatedKeys(t *testing.T) {
	f := newFixture(t, nil)
	f.createSimple()
	rows := renumber([]sink.Row{up(0, 1, "a", 1), up(0, 1, "b", 2), del(0, 1), up(0, 1, "c", 3), up(0, 2, "x", 0), del(0, 2)}, 0)
	f.mustApply(rows, offsetFor(rows))
	expectTable(t, f, "1|c|3")
}

// TestDoubleDelivery: a batch delivered again (after a crash between the
// target commit and the Kafka commit, or a replay) leaves the same state.
// Without a replay resetting the stored offset, the second delivery is
// refused as stale and writes nothing.
func TestDoubleDelivery(t *testing.T) {
	f := newFixture(t, nil)
	f.createSimple()
	b1 := renumber([]sink.Row{up(0, 1, "a", 1), up(0, 2, "b", 2), up(0, 3, "c", 3)}, 0)
	b2 := renumber([]sink.Row{del(0, 2), up(0, 1, "a2", 10), up(0, 4, "d", 4)}, 3)
	f.mustApply(b1, offsetFor(b1))
	f.mustApply(b2, offsetFor(b2))
	want := []string{"1|a2|10", "3|c|3", "4|d|4"}
	expectTable(t, f, want...)

	f.exec("UPDATE t SET b = 99 WHERE id = 3") // so a stale write would show
	if err := f.apply(b1, offsetFor(b1)); !errors.Is(err, sink.ErrStale) {
		t.Fatalf("stale batch: err %v, want ErrStale", err)
	}
	expectTable(t, f, "1|a2|10", "3|c|99", "4|d|4")

	// A replay from 0 redelivers everything: same state as the first time.
	if err := f.s.SetOffsets(context.Background(), "g", "t", map[int32]int64{0: 0}); err != nil {
		t.Fatal(err)
	}
	f.exec("UPDATE t SET b = 3 WHERE id = 3")
	f.mustApply(b1, offsetFor(b1))
	f.mustApply(b2, offsetFor(b2))
	f.mustApply(b2[1:], sink.Offset{Group: "g", Topic: "t", From: 6, Next: 7}) // overlap again, later offsets
	expectTable(t, f, want...)
}

// TestRollback: a row the target refuses fails the batch, and neither the
// rows before it nor the offset are stored.
func TestRollback(t *testing.T) {
	f := newFixture(t, nil)
	f.createSimple()
	ok := renumber([]sink.Row{up(0, 1, "a", 1)}, 0)
	f.mustApply(ok, offsetFor(ok))
	rows := renumber([]sink.Row{up(0, 2, "b", 2), del(0, 1), up(0, 3, "c", 1<<40), up(0, 4, "d", 4)}, 1)
	re := asRowError(t, f.apply(rows, offsetFor(rows)))
	if re.Row.Offset != 3 || re.Column != "b" || re.Value != "1099511627776" || errCode(re) != 1264 {
		t.Errorf("got %v (code %d), want out of range for column b at offset 3", re, errCode(re))
	}
	expectTable(t, f, "1|a|1")
	if got := f.stored(); !maps.Equal(got, map[int32]int64{0: 1}) {
		t.Errorf("stored offsets %v, want 0:1", got)
	}
}

// TestAbsentValues: an absent value is not written, so the target keeps
// its own; rows with different absent columns go to separate statements.
func TestAbsentValues(t *testing.T) {
	f := newFixture(t, nil)
	f.createSimple()
	f.exec("INSERT INTO t VALUES (1, 'one', 1), (2, 'two', 2)")
	r1 := up(0, 1, "", 10)
	r1.Values[1] = event.Value{}
	r2 := up(1, 2, "deux", 0)
	r2.Values[2] = event.Value{}
	r3 := up(2, 3, "three", 3)
	rows := []sink.Row{r1, r2, r3}
	f.mustApply(rows, offsetFor(rows))
	expectTable(t, f, "1|one|10", "2|deux|2", "3|three|3")
}

// TestMaxParams: a batch needing more placeholders than MaxParams is
// split into several statements, and the split point is where expected.
func TestMaxParams(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxParams = 7 }) // 2 rows of 3 columns per statement
	f.createSimple()
	var rows []sink.Row
	var want []string
	for i := range int64(101) {
		rows = append(rows, up(i, i, fmt.Sprint(i), i*2))
		want = append(want, fmt.Sprintf("%d|%d|%d", i, i, i*2))
	}
	slices.Sort(want)
	p := &plan{run: &sink.Run{Columns: simpleCols, Key: []int{0}}}
	ptrs := make([]*sink.Row, len(rows))
	for i := range rows {
		ptrs[i] = &rows[i]
	}
	if n := f.s.chunk(ptrs, present(p.run.Columns, ptrs[0]), false); n != 2 {
		t.Errorf("chunk = %d rows, want 2", n)
	}
	f.mustApply(rows, offsetFor(rows))
	got := f.dump("SELECT id, a, b FROM t")
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("got %d rows, want %d", len(got), len(want))
	}
	dels := renumber([]sink.Row{del(0, 1), del(0, 2), del(0, 3), del(0, 4), del(0, 5), del(0, 6), del(0, 7), del(0, 8)}, 101)
	f.mustApply(dels, offsetFor(dels))
	if n := f.dump("SELECT COUNT(*) FROM t"); n[0] != "93" {
		t.Errorf("%s rows after deleting 8 of 101", n[0])
	}
}

func TestOffsets(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if err := f.s.SetOffsets(ctx, "g", "t", map[int32]int64{0: 5, 1: 7}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetOffsets(ctx, "g", "T", map[int32]int64{0: 9}); err != nil { // topics are case-sensitive
		t.Fatal(err)
	}
	if got := f.stored(); !maps.Equal(got, map[int32]int64{0: 5, 1: 7}) {
		t.Errorf("offsets %v, want 0:5 1:7", got)
	}
	if err := f.s.SetOffsets(ctx, "g", "t", map[int32]int64{0: -1, 1: 8}); err != nil {
		t.Fatal(err)
	}
	if got := f.stored(); !maps.Equal(got, map[int32]int64{1: 8}) {
		t.Errorf("offsets %v, want 1:8", got)
	}
	// An empty batch (all filtered out) still moves the offset.
	if err := f.s.Apply(ctx, nil, sink.Offset{Group: "g", Topic: "t", Partition: 2, From: 0, Next: 3}); err != nil {
		t.Fatal(err)
	}
	if got := f.stored(); !maps.Equal(got, map[int32]int64{1: 8, 2: 3}) {
		t.Errorf("offsets %v, want 1:8 2:3", got)
	}
	if err := f.s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestOriginTag: every transaction writes the marker, and the marker row
// changes each time so the binlog always carries it.
func TestOriginTag(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.OriginTag = "dc-1" })
	f.createSimple()
	for i := range int64(3) {
		rows := []sink.Row{up(i, i, "x", i)}
		f.mustApply(rows, offsetFor(rows))
	}
	got := f.dump("SELECT origin, tx FROM sluice_origin")
	if !slices.Equal(got, []string{"dc-1|3"}) {
		t.Errorf("sluice_origin: %q, want [dc-1|3]", got)
	}
}

// TestCatalogReload: a column added to the target after its columns were
// cached is found without a restart.
func TestCatalogReload(t *testing.T) {
	f := newFixture(t, nil)
	f.createSimple()
	rows := []sink.Row{up(0, 1, "a", 1)}
	f.mustApply(rows, offsetFor(rows))
	f.exec("ALTER TABLE t ADD COLUMN c VARCHAR(8)")
	cols := append(slices.Clone(simpleCols), event.Column{Name: "C", Type: "varchar(8)", Kind: event.String})
	r := up(1, 2, "b", 2)
	r.Columns, r.Values = cols, append(r.Values, event.StringValue("new"))
	f.mustApply([]sink.Row{r}, offsetFor([]sink.Row{r}))
	if got := f.dump("SELECT id, c FROM t ORDER BY id"); !slices.Equal(got, []string{"1|<null>", "2|new"}) {
		t.Errorf("got %q", got)
	}
}

// TestCompositeKey: multi-column keys upsert and delete by the whole key,
// and identifiers that need quoting are quoted.
func TestCompositeKey(t *testing.T) {
	f := newFixture(t, nil)
	f.exec("CREATE TABLE `we``ird` (`k 1` INT, `select` VARCHAR(4), v INT, PRIMARY KEY (`k 1`, `select`))",
		"INSERT INTO `we``ird` VALUES (1, 'a', 0), (1, 'b', 0), (2, 'a', 0)")
	cols := []event.Column{{Name: "k 1", Kind: event.Int}, {Name: "select", Kind: event.String}, {Name: "v", Kind: event.Int}}
	row := func(off int64, op event.Op, k int64, s string, v int64) sink.Row {
		return sink.Row{Op: op, Table: "we`ird", Columns: cols, Key: []int{0, 1}, Topic: "t", Offset: off,
			Values: []event.Value{event.IntValue(k), event.StringValue(s), event.IntValue(v)}}
	}
	rows := []sink.Row{row(0, event.OpUpdate, 1, "a", 5), row(1, event.OpDelete, 1, "b", 0), row(2, event.OpDelete, 2, "b", 0),
		row(3, event.OpInsert, 3, "c", 3)}
	f.mustApply(rows, offsetFor(rows))
	if got := f.dump("SELECT * FROM `we``ird` ORDER BY 1, 2"); !slices.Equal(got, []string{"1|a|5", "2|a|0", "3|c|3"}) {
		t.Errorf("got %q", got)
	}
}

// TestUniqueCollision: an upserted row that collides with another row on
// a unique secondary index replaces that row rather than writing its
// values under the other row's key; the other row's own later change
// brings it back, so the target converges.
func TestUniqueCollision(t *testing.T) {
	f := newFixture(t, nil)
	f.exec("CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(8) UNIQUE, b INT)", "INSERT INTO t VALUES (100, 'taken', 0)")
	rows := []sink.Row{up(0, 6, "taken", 6)}
	f.mustApply(rows, offsetFor(rows))
	expectTable(t, f, "6|taken|6")
	rows = []sink.Row{up(1, 100, "moved", 0)}
	f.mustApply(rows, offsetFor(rows))
	expectTable(t, f, "6|taken|6", "100|moved|0")
}

// TestConnectionKilled: a connection lost in the middle of a batch is a
// retryable error, and the retried batch applies in full.
func TestConnectionKilled(t *testing.T) {
	f := newFixture(t, nil)
	f.createSimple()
	f.exec("INSERT INTO t VALUES (1, 'a', 1)")
	// Hold the row so the sink's upsert waits, then kill its connection.
	lock, err := f.conn.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback() //nolint:errcheck
	if _, err := lock.Exec("SELECT * FROM t WHERE id = 1 FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	rows := []sink.Row{up(0, 2, "b", 2), up(1, 1, "a2", 10)}
	done := make(chan error, 1)
	go func() { done <- f.apply(rows, offsetFor(rows)) }()
	var id int64
	for i := 0; ; i++ {
		err := f.conn.QueryRow("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE 'INSERT INTO%'", f.db).Scan(&id)
		if err == nil {
			break
		}
		if i == 500 {
			t.Fatalf("the sink's insert never showed up: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.exec(fmt.Sprintf("KILL CONNECTION %d", id))
	err = <-done
	if !sink.Retryable(err) {
		t.Fatalf("err %v, want a retryable error", err)
	}
	t.Log(err)
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	expectTable(t, f, "1|a|1")
	f.mustApply(rows, offsetFor(rows))
	expectTable(t, f, "1|a2|10", "2|b|2")
}

// TestConcurrentWorkers: first batches of different partitions do not
// block each other, and of two workers holding the same partition (one
// that lost it, one that took it over) only one writes; the other is
// told its batch is stale.
func TestConcurrentWorkers(t *testing.T) {
	f := newFixture(t, nil)
	f.createSimple()
	const n = 6
	errs := make(chan error, n)
	for w := range int64(n) {
		go func() {
			rows := []sink.Row{up(0, w, "w", w)}
			off := offsetFor(rows)
			off.Partition = int32(w % 3) // two workers per partition
			errs <- f.apply(rows, off)
		}()
	}
	var ok, stale int
	for range n {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, sink.ErrStale):
			stale++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 3 || stale != 3 {
		t.Errorf("%d batches applied and %d stale, want 3 and 3", ok, stale)
	}
	if got := f.stored(); !maps.Equal(got, map[int32]int64{0: 1, 1: 1, 2: 1}) {
		t.Errorf("stored offsets %v", got)
	}
}
