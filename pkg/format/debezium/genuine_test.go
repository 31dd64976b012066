package debezium

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
)

func readGenuine(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "genuine", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGenuine decodes payloads shaped like the Debezium MySQL connector's
// documented output, with its default (non-string) encodings, and checks
// the values Sluice gets out of them.
func TestGenuine(t *testing.T) {
	tests := []struct {
		file   string
		op     event.Op
		row    string // "before" or "after"
		values map[string]event.Value
		types  map[string]string // column types expected, where known
	}{
		{file: "insert-plain.json", op: event.OpInsert, row: "after", values: map[string]event.Value{
			"id": event.IntValue(1001), "first_name": event.StringValue("Sally"), "score": event.DecimalValue("12.5"), "active": event.BitValue(1)}},
		{file: "delete-plain.json", op: event.OpDelete, row: "before", values: map[string]event.Value{
			"id": event.IntValue(1004), "score": event.NullValue(), "active": event.BitValue(0)}},
		{file: "snapshot-read.json", op: event.OpSnapshot, row: "after", values: map[string]event.Value{
			"big": event.UintValue(math.MaxUint64)}},
		{file: "update-wrapped.json", op: event.OpUpdate, row: "after", values: map[string]event.Value{
			"id": event.IntValue(7), "price": event.DecimalValue("1234.56"), "born": event.DateValue("2024-01-01"),
			"created": event.DateTimeValue("2024-01-01 00:00:00.123456"), "seen": event.TimestampValue("2024-01-01 00:00:00.5"),
			"dur": event.TimeValue("01:02:03.000001"), "doc": event.JSONValue([]byte(`{"a":[1,2]}`)),
			"tags": event.SetValue([]string{"a", "c"}), "blob": event.BytesValue([]byte{0, 1, 2})},
			types: map[string]string{"price": "decimal(10,2)", "created": "datetime(6)", "seen": "timestamp(6)"}},
		{file: "update-wrapped.json", op: event.OpUpdate, row: "before", values: map[string]event.Value{
			"price": event.DecimalValue("-0.01"), "tags": event.SetValue([]string{}), "born": event.NullValue()}},
		{file: "create-wrapped.json", op: event.OpInsert, row: "after", values: map[string]event.Value{
			"id": event.IntValue(1005), "last_name": event.StringValue("O'Hara")},
			types: map[string]string{"id": "int", "email": "text"}},
		{file: "types-wrapped.json", op: event.OpInsert, row: "after", values: map[string]event.Value{
			"id": event.IntValue(42), "flag": event.BitValue(1), "bits": event.BitValue(0xabc), "yr": event.YearValue(2024),
			"size": event.EnumValue("medium"), "tags": event.SetValue([]string{"a", "b"}),
			"dt0": event.DateTimeValue("2024-01-01 00:00:00"), "dt3": event.DateTimeValue("2024-01-01 00:00:00.123"),
			"ts": event.TimestampValue("2024-05-01 12:34:57.5"), "t": event.TimeValue("-01:00:00.000000"),
			"big": event.UintValue(math.MaxInt64), "bigp": event.UintValue(math.MaxUint64), "price": event.DecimalValue("1234.56"),
			"dec_str": event.DecimalValue("-1.50"), "ratio": event.FloatValue(float64(float32(0.1))), "d": event.FloatValue(1e300),
			"born": event.DateValue("1969-12-31"), "bin": event.BytesValue([]byte{0, 1, 2}),
			"geo": event.JSONValue([]byte(`{"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAABA","srid":null}`)), "doc": event.JSONValue([]byte(`{"k": [1, 2]}`)),
			"small_u": event.UintValue(255)},
			types: map[string]string{"id": "int(11)", "bits": "bit(12)", "size": "enum('small','medium','large')", "tags": "set('a','b','c')",
				"dt0": "datetime", "dt3": "datetime(3)", "big": "bigint(20) unsigned", "bigp": "bigint(20) unsigned",
				"price": "decimal(10,2)", "dec_str": "decimal(5,2)", "ratio": "float", "small_u": "tinyint(3) unsigned", "geo": "json"}},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.row, func(t *testing.T) {
			var e event.Event
			if err := (&Decoder{}).Decode(readGenuine(t, tt.file), nil, &e); err != nil {
				t.Fatal(err)
			}
			if e.Op != tt.op {
				t.Errorf("op = %v, want %v", e.Op, tt.op)
			}
			row := e.After
			if tt.row == "before" {
				row = e.Before
			}
			for name, want := range tt.values {
				i := e.ColumnIndex(name)
				if i < 0 {
					t.Fatalf("no column %s", name)
				}
				if !row[i].Equal(want) {
					t.Errorf("%s = %+v, want %+v", name, row[i], want)
				}
			}
			for name, want := range tt.types {
				if i := e.ColumnIndex(name); i < 0 || e.Columns[i].Type != want || e.Columns[i].Kind != event.KindOf(want) {
					t.Errorf("column %s = %+v, want type %q", name, e.Columns[max(i, 0)], want)
				}
			}
		})
	}
}

// TestGenuineEnvelope checks the envelope fields of genuine messages.
func TestGenuineEnvelope(t *testing.T) {
	var e event.Event
	if err := (&Decoder{}).Decode(readGenuine(t, "types-wrapped.json"), nil, &e); err != nil {
		t.Fatal(err)
	}
	wantSrc := event.Source{Connector: "mysql", Name: "dbserver1", Version: "2.7.0.Final", ServerID: 223344,
		GTID: "3e11fa47-71ca-11e1-9e33-c80aa9429562:7", File: "mysql-bin.000007", Pos: 4711, Row: 2, Thread: 19}
	wantTx := event.Tx{ID: "3e11fa47-71ca-11e1-9e33-c80aa9429562:7", Seq: 2, TableSeq: 2}
	if e.Database != "shop" || e.Table != "gadgets" || e.Source != wantSrc || e.Tx != wantTx ||
		e.SourceTimeMs != 1714566897000 || e.EmitTimeMs != 1714566897650 {
		t.Errorf("envelope = %s.%s %+v %+v %d %d", e.Database, e.Table, e.Source, e.Tx, e.SourceTimeMs, e.EmitTimeMs)
	}
	// An old boolean snapshot flag reads as "no snapshot marker".
	if err := (&Decoder{}).Decode(readGenuine(t, "create-wrapped.json"), nil, &e); err != nil || e.Source.Snapshot != "" || e.Tx != (event.Tx{}) {
		t.Errorf("create-wrapped: snapshot %q tx %+v err %v", e.Source.Snapshot, e.Tx, err)
	}
	if err := (&Decoder{}).Decode(readGenuine(t, "snapshot-read.json"), nil, &e); err != nil || e.Source.Snapshot != "last" {
		t.Errorf("snapshot marker = %q, %v", e.Source.Snapshot, err)
	}
}

// TestGenuineKeys decodes genuine keys, wrapped and bare, against the
// columns of their values.
func TestGenuineKeys(t *testing.T) {
	tests := []struct {
		value, key string
		want       []string
	}{
		{"create-wrapped.json", "keys/create-wrapped.json", []string{"id"}},
		{"types-wrapped.json", "keys/types-wrapped.json", []string{"id"}},
		{"insert-plain.json", `{"id":1001}`, []string{"id"}},
		{"delete-plain.json", `{"id":1004,"email":"annek@noanswer.org"}`, []string{"id", "email"}},
	}
	for _, tt := range tests {
		var e event.Event
		if err := (&Decoder{}).Decode(readGenuine(t, tt.value), nil, &e); err != nil {
			t.Fatal(err)
		}
		key := []byte(tt.key)
		if key[0] != '{' {
			key = readGenuine(t, tt.key)
		}
		if err := (&Decoder{}).DecodeKey(key, &e); err != nil {
			t.Errorf("%s: %v", tt.key, err)
			continue
		}
		var got []string
		for _, i := range e.Key {
			got = append(got, e.Columns[i].Name)
		}
		if len(got) != len(tt.want) || got[0] != tt.want[0] || got[len(got)-1] != tt.want[len(tt.want)-1] {
			t.Errorf("%s: key columns %v, want %v", tt.key, got, tt.want)
		}
	}
}
