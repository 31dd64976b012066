package debezium

import (
	"math"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format"
)

// roundTrip encodes e, then decodes value and key with the types header the
// record would carry.
func roundTrip(t *testing.T, enc *Encoder, e *event.Event) event.Event {
	t.Helper()
	val, err := enc.AppendValue(nil, e)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	key, err := enc.AppendKey(nil, e)
	if err != nil {
		t.Fatalf("encode key: %v", err)
	}
	types, err := format.ParseTypes(format.AppendTypes(nil, e.Columns))
	if err != nil {
		t.Fatal(err)
	}
	var got event.Event
	if err := (&Decoder{}).Decode(val, types, &got); err != nil {
		t.Fatalf("decode %s: %v", val, err)
	}
	if err := (&Decoder{}).DecodeKey(key, &got); err != nil {
		t.Fatalf("decode key %s: %v", key, err)
	}
	return got
}

// assertSame checks everything the Debezium style carries: all of the
// event but Tx.XID, Tx.Last, Position and Origin (which travel in headers
// or not at all; see the package comment).
func assertSame(t *testing.T, got, want *event.Event) {
	t.Helper()
	if got.Op != want.Op || got.Database != want.Database || got.Table != want.Table {
		t.Fatalf("got %v %s.%s, want %v %s.%s", got.Op, got.Database, got.Table, want.Op, want.Database, want.Table)
	}
	if len(got.Columns) != len(want.Columns) {
		t.Fatalf("columns: %d, want %d", len(got.Columns), len(want.Columns))
	}
	for i := range want.Columns {
		if got.Columns[i] != want.Columns[i] {
			t.Errorf("column %d = %+v, want %+v", i, got.Columns[i], want.Columns[i])
		}
	}
	if len(got.Key) != len(want.Key) {
		t.Errorf("key = %v, want %v", got.Key, want.Key)
	}
	for i := range min(len(got.Key), len(want.Key)) {
		if got.Key[i] != want.Key[i] {
			t.Errorf("key = %v, want %v", got.Key, want.Key)
		}
	}
	wantBefore, wantAfter := want.Before, want.After
	if want.Op == event.OpInsert || want.Op == event.OpSnapshot {
		wantBefore = nil
	}
	if want.Op == event.OpDelete {
		wantAfter = nil
	}
	sameRow(t, "before", want.Columns, got.Before, wantBefore)
	sameRow(t, "after", want.Columns, got.After, wantAfter)
	wantTx := want.Tx
	wantTx.XID, wantTx.Last = 0, false
	if got.Tx != wantTx {
		t.Errorf("tx = %+v, want %+v", got.Tx, wantTx)
	}
	if got.Source != want.Source {
		t.Errorf("source = %+v, want %+v", got.Source, want.Source)
	}
	if got.SourceTimeMs != want.SourceTimeMs || got.EmitTimeMs != want.EmitTimeMs {
		t.Errorf("times = %d/%d, want %d/%d", got.SourceTimeMs, got.EmitTimeMs, want.SourceTimeMs, want.EmitTimeMs)
	}
}

func sameRow(t *testing.T, which string, cols []event.Column, got, want []event.Value) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", which, len(got), len(want))
		return
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("%s.%s = %+v, want %+v", which, cols[i].Name, got[i], want[i])
		}
	}
}

func TestRoundTripFixture(t *testing.T) {
	for _, schema := range []bool{false, true} {
		enc := &Encoder{Opts: Options{Schema: schema}}
		events := append(records(), eventtest.Small())
		for i := range events {
			got := roundTrip(t, enc, &events[i])
			assertSame(t, &got, &events[i])
		}
	}
}

// TestSchemaWrapperAloneRecoversKinds decodes wrapped values without the
// types header: the Connect schema must give the values back exactly.
func TestSchemaWrapperAloneRecoversKinds(t *testing.T) {
	enc := &Encoder{Opts: Options{Schema: true}}
	for _, e := range append(records(), eventtest.Small()) {
		val, err := enc.AppendValue(nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		var got event.Event
		if err := (&Decoder{}).Decode(val, nil, &got); err != nil {
			t.Fatal(err)
		}
		for i, c := range got.Columns {
			if c.Kind != e.Columns[i].Kind || c.Name != e.Columns[i].Name {
				t.Errorf("column %d = %+v, want %+v", i, c, e.Columns[i])
			}
		}
		if e.Op == event.OpDelete {
			sameRow(t, "before", e.Columns, got.Before, e.Before)
		} else {
			sameRow(t, "after", e.Columns, got.After, e.After)
		}
	}
}

// TestEdgeValues round-trips values at the edges of each form.
func TestEdgeValues(t *testing.T) {
	col := func(name, typ string) event.Column {
		return event.Column{Name: name, Type: typ, Kind: event.KindOf(typ)}
	}
	tests := []struct {
		name string
		col  event.Column
		v    event.Value
	}{
		{"float NaN", col("f", "float"), event.FloatValue(math.NaN())},
		{"float +Inf", col("f", "float"), event.FloatValue(math.Inf(1))},
		{"float 0.1", col("f", "float"), event.FloatValue(float64(float32(0.1)))},
		{"double -Inf", col("d", "double"), event.FloatValue(math.Inf(-1))},
		{"double -0", col("d", "double"), event.FloatValue(math.Copysign(0, -1))},
		{"double tiny", col("d", "double"), event.FloatValue(5e-324)},
		{"uint64 max", col("u", "bigint(20) unsigned"), event.UintValue(math.MaxUint64)},
		{"int64 min", col("i", "bigint(20)"), event.IntValue(math.MinInt64)},
		{"decimal zero scale", col("dec", "decimal(10,0)"), event.DecimalValue("-1234567890")},
		{"decimal fraction", col("dec", "decimal(10,10)"), event.DecimalValue("0.0000000001")},
		{"string empty", col("s", "varchar(10)"), event.StringValue("")},
		{"string null text", col("s", "varchar(10)"), event.StringValue("null")},
		{"string escapes", col("s", "text"), event.StringValue("\x00\x1f\"\\\u2028</script>😀")},
		{"enum empty", col("e", "enum('','a')"), event.EnumValue("")},
		{"set empty", col("set", "set('a','b')"), event.SetValue([]string{})},
		{"set two", col("set", "set('a','b')"), event.SetValue([]string{"a", "b"})},
		{"set escapes", col("set", `set('"q"','\')`), event.SetValue([]string{`"q"`, `\`})},
		{"bit1 one", col("b", "bit(1)"), event.BitValue(1)},
		{"bit5", col("b", "bit(5)"), event.BitValue(0x1f)},
		{"bit12", col("b", "bit(12)"), event.BitValue(0xabc)},
		{"bit64 max", col("b", "bit(64)"), event.BitValue(math.MaxUint64)},
		{"bytes empty", col("b", "varbinary(4)"), event.BytesValue([]byte{})},
		{"bytes high", col("b", "blob"), event.BytesValue([]byte{0xff, 0, 0xfe})},
		{"json string", col("j", "json"), event.JSONValue([]byte(`"null"`))},
		{"json spaced", col("j", "json"), event.JSONValue([]byte(`[1, 2 ,{"k":"v"}]`))},
		{"json scalar", col("j", "json"), event.JSONValue([]byte(`12.50`))},
		{"date zero", col("d", "date"), event.DateValue("0000-00-00")},
		{"date zero day", col("d", "date"), event.DateValue("2024-02-00")},
		{"datetime zero", col("dt", "datetime"), event.DateTimeValue("0000-00-00 00:00:00")},
		{"datetime fsp3", col("dt", "datetime(3)"), event.DateTimeValue("2024-01-02 03:04:05.120")},
		{"timestamp zero", col("ts", "timestamp"), event.TimestampValue("0000-00-00 00:00:00")},
		{"timestamp fsp1", col("ts", "timestamp(1)"), event.TimestampValue("2038-01-19 03:14:07.9")},
		{"time negative", col("t", "time"), event.TimeValue("-00:00:01")},
		{"time over 24h", col("t", "time(6)"), event.TimeValue("838:59:59.999999")},
		{"time negative max", col("t", "time(6)"), event.TimeValue("-838:59:59.000000")},
		{"year zero", col("y", "year(4)"), event.YearValue(0)},
		{"null", col("n", "int(11)"), event.NullValue()},
	}
	for _, schema := range []bool{false, true} {
		for _, tt := range tests {
			e := eventtest.Small()
			e.Columns = []event.Column{col("id", "int(11)"), tt.col}
			e.Key = []int{0}
			e.After = []event.Value{event.IntValue(1), tt.v}
			// An update with the value in before only, the after Absent
			// (a column the source did not log).
			u := e
			u.Op, u.Before, u.After = event.OpUpdate, e.After, []event.Value{event.IntValue(1), {}}
			for _, ev := range []*event.Event{&e, &u} {
				got := roundTrip(t, &Encoder{Opts: Options{Schema: schema}}, ev)
				if t.Failed() {
					t.Fatalf("%s (schema %v)", tt.name, schema)
				}
				assertSame(t, &got, ev)
				if t.Failed() {
					t.Fatalf("%s (schema %v, %v)", tt.name, schema, ev.Op)
				}
			}
		}
	}
}

func TestSplitKeyChange(t *testing.T) {
	evs := eventtest.Events()
	pk := evs[len(evs)-1]
	del, create, ok := SplitKeyChange(&pk)
	if !ok || del.Op != event.OpDelete || create.Op != event.OpInsert {
		t.Fatalf("split = %v %v %v", ok, del.Op, create.Op)
	}
	if !del.Before[0].Equal(event.UintValue(3)) || del.After != nil || !create.After[0].Equal(event.UintValue(5)) || create.Before != nil {
		t.Fatalf("split images: del %v/%v create %v/%v", del.Before[0], del.After, create.Before, create.After[0])
	}
	enc := &Encoder{}
	dk, _ := enc.AppendKey(nil, &del)
	ck, _ := enc.AppendKey(nil, &create)
	if string(dk) != `{"id":3}` || string(ck) != `{"id":5}` {
		t.Errorf("keys = %s, %s", dk, ck)
	}
	if _, _, ok := SplitKeyChange(&evs[4]); ok {
		t.Error("an update keeping its key must not split")
	}
	if _, _, ok := SplitKeyChange(&evs[0]); ok {
		t.Error("an insert must not split")
	}
}

func TestWantsTombstone(t *testing.T) {
	evs := eventtest.Events()
	on, off := &Encoder{Opts: Options{Tombstones: true}}, &Encoder{}
	if !on.WantsTombstone(&evs[5]) || on.WantsTombstone(&evs[4]) || off.WantsTombstone(&evs[5]) {
		t.Error("tombstones follow deletes only, and only when configured")
	}
	var e event.Event
	if err := (&Decoder{}).Decode(nil, nil, &e); err != ErrTombstone {
		t.Errorf("decoding a tombstone = %v, want ErrTombstone", err)
	}
}

// TestSnapshotRows round-trips snapshot reads: op "r", source.snapshot as
// set (or "true"), and no transaction block.
func TestSnapshotRows(t *testing.T) {
	for _, marker := range []string{"", "first", "last", "incremental"} {
		e := eventtest.Small()
		e.Op, e.Tx, e.Source.Snapshot, e.Source.GTID = event.OpSnapshot, event.Tx{}, marker, ""
		val, err := (&Encoder{}).AppendValue(nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		want := marker
		if want == "" {
			want = "true"
		}
		if !strings.Contains(string(val), `"snapshot":"`+want+`"`) || !strings.Contains(string(val), `"op":"r","ts_ms":1700000000123,"transaction":null}`) ||
			!strings.Contains(string(val), `"gtid":null`) {
			t.Errorf("snapshot %q value = %s", marker, val)
		}
		got := roundTrip(t, &Encoder{}, &e)
		assertSame(t, &got, &e)
	}
}

func TestZonedTimestamps(t *testing.T) {
	for in, want := range map[string]string{
		"2024-01-01T00:00:00Z":             "2024-01-01 00:00:00",
		"2024-01-01T02:00:00.5+02:00":      "2024-01-01 00:00:00.5",
		"2024-01-01T00:00:00.000001-05:30": "2024-01-01 05:30:00.000001",
		"0000-00-00T00:00:00Z":             "0000-00-00 00:00:00",
	} {
		if got, ok := utcTimestamp(in); !ok || got != want {
			t.Errorf("utcTimestamp(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"2024-01-01T00:00:00", "2024-01-01T00:00:00+0200", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00.1234567Z", "0000-00-00T00:00:00+01:00"} {
		if got, ok := utcTimestamp(in); ok {
			t.Errorf("utcTimestamp(%q) = %q, want refused", in, got)
		}
	}
}
