package debezium

import (
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format"
)

// BenchmarkEncodeSmall encodes key and value of a 10-column row into
// reused buffers, as a publisher does.
func BenchmarkEncodeSmall(b *testing.B) {
	e := eventtest.Small()
	enc := &Encoder{}
	var key, val []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if key, err = enc.AppendKey(key[:0], &e); err != nil {
			b.Fatal(err)
		}
		if val, err = enc.AppendValue(val[:0], &e); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(key) + len(val)))
}

// BenchmarkDecodeSmall decodes the value of a 10-column row with its
// types header, as apply does.
func BenchmarkDecodeSmall(b *testing.B) {
	e := eventtest.Small()
	val, _ := (&Encoder{}).AppendValue(nil, &e)
	types, _ := format.ParseTypes(format.AppendTypes(nil, e.Columns))
	b.ReportAllocs()
	b.SetBytes(int64(len(val)))
	for b.Loop() {
		var out event.Event
		if err := (&Decoder{}).Decode(val, types, &out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeGenuineWrapped decodes a genuine Debezium value with its
// Connect schema (the slow path: the schema is read on every message).
func BenchmarkDecodeGenuineWrapped(b *testing.B) {
	val := readGenuine(b, "types-wrapped.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(val)))
	for b.Loop() {
		var out event.Event
		if err := (&Decoder{}).Decode(val, nil, &out); err != nil {
			b.Fatal(err)
		}
	}
}
