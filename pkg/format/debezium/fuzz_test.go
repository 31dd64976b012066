package debezium

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format"
)

// FuzzDecode: the decoder never panics, and what it accepts with types
// re-encodes to a value that decodes to the same event.
func FuzzDecode(f *testing.F) {
	enc := &Encoder{}
	for _, e := range records(f) {
		v, _ := enc.AppendValue(nil, &e)
		f.Add(v, true)
	}
	files, _ := filepath.Glob("testdata/genuine/*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b, false)
	}
	types, _ := format.ParseTypes(format.AppendTypes(nil, eventtest.EventColumns()))
	f.Fuzz(func(t *testing.T, value []byte, withTypes bool) {
		var ty []event.Column
		if withTypes {
			ty = types
		}
		var e event.Event
		if err := (&Decoder{}).Decode(value, ty, &e); err != nil || !withTypes {
			return
		}
		e.Key = nil
		for i := range e.Columns {
			if e.Columns[i].Name == "id" {
				e.Key = []int{i}
			}
		}
		if e.Key == nil || (e.After != nil && e.After[e.Key[0]].Kind == event.Absent) || (e.Before != nil && e.Before[e.Key[0]].Kind == event.Absent) {
			return
		}
		again, err := enc.AppendValue(nil, &e)
		if err != nil {
			return // e.g. a kind the fuzzer put in a column of another kind
		}
		var e2 event.Event
		if err := (&Decoder{}).Decode(again, ty, &e2); err != nil {
			t.Fatalf("re-encoded value does not decode: %v\n%s", err, again)
		}
		third, err := enc.AppendValue(nil, &e2)
		if err != nil || !bytes.Equal(again, third) {
			t.Fatalf("encode/decode not stable:\n%s\n%s", again, third)
		}
	})
}

// FuzzDecodeMongo: never panics; accepted changes re-encode stably.
func FuzzDecodeMongo(f *testing.F) {
	for i := range mongoChanges() {
		c := &mongoChanges()[i]
		k, _ := AppendMongoKey(nil, c)
		v, _ := AppendMongoValue(nil, c)
		f.Add(k, v)
	}
	f.Fuzz(func(t *testing.T, key, value []byte) {
		c, err := DecodeMongo(key, value)
		if err != nil {
			return
		}
		v, err := AppendMongoValue(nil, c)
		if err != nil {
			t.Fatalf("decoded change does not encode: %v", err)
		}
		c2, err := DecodeMongo(key, v)
		if err != nil {
			t.Fatalf("re-encoded change does not decode: %v\n%s", err, v)
		}
		if v2, _ := AppendMongoValue(nil, c2); !bytes.Equal(v, v2) {
			t.Fatalf("not stable:\n%s\n%s", v, v2)
		}
	})
}
