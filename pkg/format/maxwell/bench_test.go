package maxwell

import (
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format"
)

// BenchmarkEncodeSmall measures what capture pays per row: key and value of
// a 10-column insert, into buffers reused across records.
func BenchmarkEncodeSmall(b *testing.B) {
	e := eventtest.Small()
	var enc Encoder
	var key, value []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if key, err = enc.AppendKey(key[:0], &e); err != nil {
			b.Fatal(err)
		}
		if value, err = enc.AppendValue(value[:0], &e); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(key) + len(value)))
}

// BenchmarkDecodeSmall measures what apply pays per record, with the types
// header parsed once as a consumer caching it per table would.
func BenchmarkDecodeSmall(b *testing.B) {
	e := eventtest.Small()
	value, err := new(Encoder).AppendValue(nil, &e)
	if err != nil {
		b.Fatal(err)
	}
	types, err := format.ParseTypes(format.AppendTypes(nil, e.Columns))
	if err != nil {
		b.Fatal(err)
	}
	var dec Decoder
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	for b.Loop() {
		var got event.Event
		if err := dec.Decode(value, types, &got); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeSmallInferred is the genuine-Maxwell path, without types.
func BenchmarkDecodeSmallInferred(b *testing.B) {
	e := eventtest.Small()
	value, err := new(Encoder).AppendValue(nil, &e)
	if err != nil {
		b.Fatal(err)
	}
	var dec Decoder
	b.ReportAllocs()
	for b.Loop() {
		var got event.Event
		if err := dec.Decode(value, nil, &got); err != nil {
			b.Fatal(err)
		}
	}
}
