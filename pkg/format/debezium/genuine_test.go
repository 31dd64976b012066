package debezium

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// TestGenuine decodes payloads shaped like the Debezium MySQL connector's
// documented output, with its default (non-string) encodings, and checks
// the values Sluice gets out of them.
func TestGenuine(t *testing.T) {
	tests := []struct {
		file   string
		op     event.Op
		row    string // "before" or "after"
		values map[string]event.Value
	}{
		{"insert-plain.json", event.OpInsert, "after", map[string]event.Value{
			"id": event.IntValue(1001), "first_name": event.StringValue("Sally"), "score": event.DecimalValue("12.5"), "active": event.BitValue(1)}},
		{"delete-plain.json", event.OpDelete, "before", map[string]event.Value{
			"id": event.IntValue(1004), "score": event.NullValue(), "active": event.BitValue(0)}},
		{"snapshot-read.json", event.OpSnapshot, "after", map[string]event.Value{
			"big": event.UintValue(18446744073709551615)}},
		{"update-wrapped.json", event.OpUpdate, "after", map[string]event.Value{
			"id": event.IntValue(7), "price": event.DecimalValue("1234.56"), "born": event.DateValue("2024-01-01"),
			"created": event.DateTimeValue("2024-01-01 00:00:00.123456"), "seen": event.TimestampValue("2024-01-01 00:00:00.5"),
			"dur": event.TimeValue("01:02:03.000001"), "doc": event.JSONValue([]byte(`{"a":[1,2]}`)),
			"tags": event.SetValue([]string{"a", "c"}), "blob": event.BytesValue([]byte{0, 1, 2})}},
		{"update-wrapped.json", event.OpUpdate, "before", map[string]event.Value{
			"price": event.DecimalValue("-0.01"), "tags": event.SetValue([]string{}), "born": event.NullValue()}},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.row, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "genuine", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var e event.Event
			if err := (&Decoder{}).Decode(raw, nil, &e); err != nil {
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
		})
	}
	var e event.Event
	raw, _ := os.ReadFile("testdata/genuine/snapshot-read.json")
	if err := (&Decoder{}).Decode(raw, nil, &e); err != nil || e.Source.Snapshot != "last" {
		t.Errorf("snapshot marker = %q, %v", e.Source.Snapshot, err)
	}
}
