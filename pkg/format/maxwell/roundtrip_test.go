package maxwell

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format"
)

// roundTrip encodes e, decodes the value with the types header it would
// travel with, and checks the result is e as far as the format carries it.
func roundTrip(t *testing.T, e *event.Event) event.Event {
	t.Helper()
	var enc Encoder
	key, err := enc.AppendKey(nil, e)
	if err != nil {
		t.Fatalf("key: %v", err)
	}
	value, err := enc.AppendValue(nil, e)
	if err != nil {
		t.Fatalf("value: %v", err)
	}
	if !json.Valid(key) || !json.Valid(value) {
		t.Fatalf("invalid JSON:\n%s\n%s", key, value)
	}
	types, err := format.ParseTypes(format.AppendTypes(nil, e.Columns))
	if err != nil {
		t.Fatal(err)
	}
	var got event.Event
	if err := new(Decoder).Decode(value, types, &got); err != nil {
		t.Fatalf("decode %s: %v", value, err)
	}
	want := carried(e)
	if d := diffEvent(&want, &got); d != "" {
		t.Fatalf("round trip of %s: %s", value, d)
	}
	// Borrowing the value's memory gives the same event.
	var borrowed event.Event
	if err := (&Decoder{Borrow: true}).Decode(value, types, &borrowed); err != nil {
		t.Fatalf("decode %s borrowing: %v", value, err)
	}
	if d := diffEvent(&want, &borrowed); d != "" {
		t.Fatalf("round trip of %s borrowing: %s", value, d)
	}
	return got
}

func TestRoundTripFixture(t *testing.T) {
	events := append(eventtest.Events(), eventtest.Small())
	for _, e := range events {
		roundTrip(t, &e)
	}
}

// edgeEvent is a one-table event with an id key and one column of type typ.
func edgeEvent(typ string, v event.Value) event.Event {
	return event.Event{
		Op: event.OpInsert, Database: "d", Table: "t",
		Columns: []event.Column{{Name: "id", Type: "int(11)", Kind: event.Int}, {Name: "c", Type: typ, Kind: event.KindOf(typ)}},
		Key:     []int{0},
		After:   []event.Value{event.IntValue(1), v},
		Source:  event.Source{ServerID: 9, File: "bin.000001", Pos: 4, Thread: 3},
		Tx:      event.Tx{XID: 77, Seq: 5, Last: true}, SourceTimeMs: 1234567,
	}
}

func TestRoundTripEdgeValues(t *testing.T) {
	f32 := func(f float32) event.Value { return event.FloatValue(float64(f)) }
	tests := []struct {
		name string
		typ  string
		v    event.Value
	}{
		{"empty string", "varchar(10)", event.StringValue("")},
		{"null string", "varchar(10)", event.NullValue()},
		{"string that reads null", "varchar(10)", event.StringValue("null")},
		{"control and separators", "text", event.StringValue("\x00\x01\x1f\"\\/\u2028\u2029\r\n")},
		{"emoji", "text", event.StringValue("😀🎉 ü")},
		{"empty set", "set('a','b')", event.SetValue([]string{})},
		{"one member set", "set('a','b')", event.SetValue([]string{"b"})},
		{"escaped set member", "set('a\"b','c')", event.SetValue([]string{"a\"b", "c"})},
		{"empty enum", "enum('','x')", event.EnumValue("")},
		{"float32 0.1", "float", f32(0.1)},
		{"float32 not integer exact", "float", f32(16777217)},
		{"float32 denormal", "float", f32(math.SmallestNonzeroFloat32)},
		{"float32 max", "float", f32(-math.MaxFloat32)},
		{"float(7,3)", "float(7,3)", f32(1234.567)},
		{"double 0.1", "double", event.FloatValue(0.1)},
		{"double denormal", "double", event.FloatValue(math.SmallestNonzeroFloat64)},
		{"double negative zero", "double", event.FloatValue(math.Copysign(0, -1))},
		{"double NaN", "double", event.FloatValue(math.NaN())},
		{"double +Inf", "double", event.FloatValue(math.Inf(1))},
		{"double -Inf", "double", event.FloatValue(math.Inf(-1))},
		{"float with source text", "double", event.Value{Kind: event.Float, F: 2.5, S: "2.5"}},
		{"decimal zero", "decimal(10,0)", event.DecimalValue("0")},
		{"decimal trailing zeros", "decimal(10,4)", event.DecimalValue("-0.5000")},
		{"decimal 65 digits", "decimal(65,0)", event.DecimalValue("99999999999999999999999999999999999999999999999999999999999999999")},
		{"bytes empty", "varbinary(4)", event.BytesValue([]byte{})},
		{"bytes invalid utf8", "blob", event.BytesValue([]byte{0xff, 0xfe, 0, '"'})},
		{"bytes all values", "longblob", event.BytesValue(allBytes())},
		{"geometry", "point", event.BytesValue([]byte{0, 0, 0, 0, 1, 1})},
		{"json spaced", "json", event.JSONValue([]byte(`{ "a" : [1, 2.50, "x\u00fc"] }`))},
		{"json string", "json", event.JSONValue([]byte(`"x"`))},
		{"json number", "json", event.JSONValue([]byte(`1.50`))},
		{"json true", "json", event.JSONValue([]byte(`true`))},
		{"json empty array", "json", event.JSONValue([]byte(`[]`))},
		{"json array of strings", "json", event.JSONValue([]byte(`["a","b"]`))},
		{"time negative fraction", "time(1)", event.TimeValue("-00:00:01.5")},
		{"time over 24h", "time", event.TimeValue("100:00:00")},
		{"zero date", "date", event.DateValue("0000-00-00")},
		{"zero in-date", "datetime", event.DateTimeValue("2024-00-00 00:00:00")},
		{"timestamp", "timestamp(3)", event.TimestampValue("2038-01-19 03:14:07.999")},
		{"year zero", "year(4)", event.YearValue(0)},
		{"bit 64 max", "bit(64)", event.BitValue(math.MaxUint64)},
		{"bigint unsigned max", "bigint(20) unsigned", event.UintValue(math.MaxUint64)},
		{"bigint min", "bigint(20)", event.IntValue(math.MinInt64)},
		{"bool", "tinyint(1)", event.IntValue(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := edgeEvent(tt.typ, tt.v)
			roundTrip(t, &e)
		})
	}
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// A JSON column holding the JSON literal null looks exactly like SQL NULL
// in Maxwell's format; it decodes as NULL. This test pins that known loss.
func TestJSONNullBecomesSQLNull(t *testing.T) {
	e := edgeEvent("json", event.JSONValue([]byte("null")))
	value, err := new(Encoder).AppendValue(nil, &e)
	if err != nil {
		t.Fatal(err)
	}
	var got event.Event
	if err := new(Decoder).Decode(value, e.Columns, &got); err != nil {
		t.Fatal(err)
	}
	if got.After[1].Kind != event.Null {
		t.Fatalf("JSON null decoded as %v", got.After[1])
	}
}

func TestRoundTripShapes(t *testing.T) {
	cols := []event.Column{
		{Name: "Region", Type: "char(2)", Kind: event.String},
		{Name: "n", Type: "int(11)", Kind: event.Int},
		{Name: "ID", Type: "bigint(20) unsigned", Kind: event.Uint},
	}
	row := func(region string, n int64, id uint64) []event.Value {
		return []event.Value{event.StringValue(region), event.IntValue(n), event.UintValue(id)}
	}
	base := event.Event{
		Database: "d", Table: "t", Columns: cols, Key: []int{2, 0},
		Source: event.Source{ServerID: 1, GTID: "0-1-5", File: "f.000002", Pos: 99, Thread: 4},
		Tx:     event.Tx{ID: "0-1-5", XID: 8, Seq: 3}, SourceTimeMs: 1700000000999,
	}
	with := func(op event.Op, before, after []event.Value) event.Event {
		e := base
		e.Op, e.Before, e.After = op, before, after
		return e
	}
	tests := []struct {
		name string
		e    event.Event
	}{
		{"composite key out of column order", with(event.OpInsert, nil, row("eu", 1, math.MaxUint64))},
		{"update without change", with(event.OpUpdate, row("eu", 1, 2), row("eu", 1, 2))},
		{"update of every column", with(event.OpUpdate, row("eu", 1, 2), row("us", 2, 3))},
		{"update to null", with(event.OpUpdate, row("eu", 1, 2), []event.Value{event.NullValue(), event.IntValue(1), event.UintValue(2)})},
		{"delete", with(event.OpDelete, row("eu", 1, 2), nil)},
		{"snapshot row", with(event.OpSnapshot, nil, row("eu", 1, 2))},
		{"snapshot start", with(event.OpSnapshotStart, nil, nil)},
		{"snapshot complete", with(event.OpSnapshotComplete, nil, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { roundTrip(t, &tt.e) })
	}
}
