package debezium

import (
	"math"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format"
)

// roundTrip encodes e, then decodes it with the types header it would carry.
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

func assertSame(t *testing.T, got, want *event.Event) {
	t.Helper()
	if got.Op != want.Op || got.Database != want.Database || got.Table != want.Table {
		t.Fatalf("header: got %v %s.%s, want %v %s.%s", got.Op, got.Database, got.Table, want.Op, want.Database, want.Table)
	}
	if len(got.Columns) != len(want.Columns) {
		t.Fatalf("columns: %d, want %d", len(got.Columns), len(want.Columns))
	}
	for i := range want.Columns {
		if got.Columns[i].Name != want.Columns[i].Name || got.Columns[i].Kind != want.Columns[i].Kind {
			t.Errorf("column %d = %+v, want %+v", i, got.Columns[i], want.Columns[i])
		}
	}
	if len(got.Key) != len(want.Key) || (len(want.Key) > 0 && got.Key[0] != want.Key[0]) {
		t.Errorf("key = %v, want %v", got.Key, want.Key)
	}
	rows := []struct {
		name      string
		got, want []event.Value
	}{{"before", got.Before, want.Before}, {"after", got.After, want.After}}
	if want.Op == event.OpInsert || want.Op == event.OpSnapshot {
		rows[0].want = nil
	}
	if want.Op == event.OpDelete {
		rows[1].want = nil
	}
	for _, r := range rows {
		if len(r.got) != len(r.want) {
			t.Errorf("%s: %d values, want %d", r.name, len(r.got), len(r.want))
			continue
		}
		for i := range r.want {
			if !r.got[i].Equal(r.want[i]) {
				t.Errorf("%s.%s = %+v, want %+v", r.name, want.Columns[i].Name, r.got[i], r.want[i])
			}
		}
	}
	if got.Tx.ID != want.Tx.ID || got.Tx.Seq != want.Tx.Seq || got.Tx.TableSeq != want.Tx.TableSeq {
		t.Errorf("tx = %+v, want %+v", got.Tx, want.Tx)
	}
	s, w := got.Source, want.Source
	if s.ServerID != w.ServerID || s.GTID != w.GTID || s.File != w.File || s.Pos != w.Pos || s.Row != w.Row || s.Thread != w.Thread || s.Connector != w.Connector || s.Name != w.Name {
		t.Errorf("source = %+v, want %+v", s, w)
	}
	if got.SourceTimeMs != want.SourceTimeMs || got.EmitTimeMs != want.EmitTimeMs {
		t.Errorf("times = %d/%d, want %d/%d", got.SourceTimeMs, got.EmitTimeMs, want.SourceTimeMs, want.EmitTimeMs)
	}
}

func TestRoundTripFixture(t *testing.T) {
	for _, schema := range []bool{false, true} {
		enc := &Encoder{Opts: Options{Schema: schema}}
		events := append(records(t), eventtest.Small())
		for i := range events {
			got := roundTrip(t, enc, &events[i])
			assertSame(t, &got, &events[i])
		}
	}
}

// TestSchemaWrapperAloneRecoversKinds decodes wrapped values without the
// types header: the Connect schema must give the kinds back.
func TestSchemaWrapperAloneRecoversKinds(t *testing.T) {
	enc := &Encoder{Opts: Options{Schema: true}}
	for _, e := range records(t) {
		val, err := enc.AppendValue(nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		var got event.Event
		if err := (&Decoder{}).Decode(val, nil, &got); err != nil {
			t.Fatal(err)
		}
		want := e.After
		if e.Op == event.OpDelete {
			want = e.Before
		}
		row := got.After
		if e.Op == event.OpDelete {
			row = got.Before
		}
		for i := range want {
			if !row[i].Equal(want[i]) {
				t.Errorf("%v %s = %+v, want %+v", e.Op, e.Columns[i].Name, row[i], want[i])
			}
		}
	}
}

func TestEdgeValues(t *testing.T) {
	cols := []event.Column{
		{Name: "id", Type: "int", Kind: event.Int},
		{Name: "f", Type: "float", Kind: event.Float},
		{Name: "d", Type: "double", Kind: event.Float},
		{Name: "s", Type: "varchar(10)", Kind: event.String},
		{Name: "b", Type: "bit(12)", Kind: event.Bit},
		{Name: "set", Type: "set('a','b')", Kind: event.Set},
		{Name: "j", Type: "json", Kind: event.JSON},
	}
	rows := [][]event.Value{
		{event.IntValue(1), event.FloatValue(math.NaN()), event.FloatValue(math.Inf(-1)), event.StringValue(""), event.BitValue(0xABC), event.SetValue([]string{}), event.JSONValue([]byte(`"null"`))},
		{event.IntValue(2), event.FloatValue(float64(float32(0.1))), event.FloatValue(-0.0), event.StringValue("null"), event.BitValue(0), event.SetValue([]string{"a", "b"}), event.JSONValue([]byte(`[1, 2 ,{"k":"v"}]`))},
		{event.IntValue(3), event.NullValue(), event.NullValue(), event.NullValue(), event.NullValue(), event.NullValue(), event.NullValue()},
	}
	for _, row := range rows {
		e := eventtest.Small()
		e.Columns, e.After = cols, row
		got := roundTrip(t, &Encoder{}, &e)
		assertSame(t, &got, &e)
	}
}

func TestSplitKeyChange(t *testing.T) {
	evs := eventtest.Events()
	pk := evs[len(evs)-1]
	del, create, ok := SplitKeyChange(&pk)
	if !ok || del.Op != event.OpDelete || create.Op != event.OpInsert || !del.Before[0].Equal(event.UintValue(3)) || !create.After[0].Equal(event.UintValue(5)) {
		t.Fatalf("split = %v %v %v", ok, del.Op, create.Op)
	}
	if _, _, ok := SplitKeyChange(&evs[4]); ok {
		t.Error("an update keeping its key must not split")
	}
}

func TestErrors(t *testing.T) {
	types, _ := format.ParseTypes(format.AppendTypes(nil, eventtest.EventColumns()))
	tests := []struct{ in, want string }{
		{``, "empty"},
		{`null`, "tombstone"},
		{`{"op":"x","source":{}}`, `op: "x"`},
		{`{"op":"t","source":{}}`, "truncate"},
		{`{"op":"c","after":{"id":1}}`, "source: missing"},
		{`{"op":"c","source":{"db":"d"},"after":null}`, "after: op"},
		{`{"op":"c","source":{"db":"d"},"after":{"nope":1}}`, "after.nope"},
		{`{"op":"c","source":{"db":"d"},"after":{"c_int":"x"}}`, "want a number"},
		{`{"op":"c","source":{"db":"d"},"after":{"c_blob":"%%%"}}`, "not base64"},
		{`{"op":"c","source":{"db":"d"},"after":{"c_json":"{bad"}}`, "invalid JSON"},
		{`{"op":"c","source":{"db":"d"},"after":{"c_dec20":"1e5"}}`, "not a decimal"},
		{`[1]`, "debezium"},
	}
	for _, tt := range tests {
		var e event.Event
		err := (&Decoder{}).Decode([]byte(tt.in), types, &e)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Decode(%s) = %v, want error containing %q", tt.in, err, tt.want)
		}
	}
	e := eventtest.Small()
	e.Op = event.OpSnapshotStart
	if _, err := (&Encoder{}).AppendValue(nil, &e); err == nil || !strings.Contains(err.Error(), "no Debezium-style form") {
		t.Errorf("snapshot marker: %v", err)
	}
	e = eventtest.Small()
	e.After[4] = event.IntValue(3)
	if _, err := (&Encoder{}).AppendValue(nil, &e); err == nil || !strings.Contains(err.Error(), "shop.orders.price") {
		t.Errorf("kind mismatch error = %v, want naming shop.orders.price", err)
	}
}

func TestPlainDecimal(t *testing.T) {
	for in, want := range map[string]string{
		"12.5": "12.5", "0e0": "0", "1.5e-3": "0.0015", "-1.5E3": "-1500", "1e2": "100", "123.456e1": "1234.56", "-0e5": "0", "9.99e-1": "0.999",
	} {
		if got := plainDecimal(in); got != want {
			t.Errorf("plainDecimal(%q) = %q, want %q", in, got, want)
		}
	}
}
