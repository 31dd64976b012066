package debezium

import (
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format"
)

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
