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

// addGenuine adds the genuine examples as seeds through add.
func addGenuine(f *testing.F, add func(b []byte)) {
	files, _ := filepath.Glob(filepath.Join("testdata", "genuine", "*.json"))
	wrapped, _ := filepath.Glob(filepath.Join("testdata", "genuine", "wrapped", "*.json"))
	files = append(files, wrapped...)
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

// FuzzDecode: the decoder never panics; what it accepts re-encodes to a
// value that decodes again, and a second encode gives the same bytes.
// With withTypes the fixture's header is used, else the message's own
// schema or inference.
func FuzzDecode(f *testing.F) {
	enc := &Encoder{}
	wrapped := &Encoder{Opts: Options{Schema: true}}
	for _, e := range records() {
		v, _ := enc.AppendValue(nil, &e)
		f.Add(v, true)
		w, _ := wrapped.AppendValue(nil, &e)
		f.Add(w, false)
	}
	addGenuine(f, func(b []byte) { f.Add(b, false) })
	types, err := format.ParseTypes(format.AppendTypes(nil, eventtest.EventColumns()))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, value []byte, withTypes bool) {
		var ty []event.Column
		if withTypes {
			ty = types
		}
		var e event.Event
		if err := (&Decoder{}).Decode(value, ty, &e); err != nil {
			return
		}
		if !withTypes {
			// Inferred columns re-encode only when each value has its
			// column's kind; genuine input need not be that regular.
			ty = e.Columns
		}
		again, err := enc.AppendValue(nil, &e)
		if err != nil {
			return
		}
		var e2 event.Event
		if err := (&Decoder{}).Decode(again, ty, &e2); err != nil {
			t.Fatalf("re-encoded value does not decode: %v\n%s", err, again)
		}
		third, err := enc.AppendValue(nil, &e2)
		if err != nil || !bytes.Equal(again, third) {
			t.Fatalf("encode/decode not stable (%v):\n%s\n%s", err, again, third)
		}
	})
}

// FuzzDecodeMongo: never panics; accepted changes re-encode stably.
func FuzzDecodeMongo(f *testing.F) {
	changes := mongoChanges()
	for i := range changes {
		k, _ := AppendMongoKey(nil, &changes[i])
		v, _ := AppendMongoValue(nil, &changes[i])
		f.Add(k, v)
	}
	addGenuine(f, func(b []byte) { f.Add([]byte(nil), b) })
	f.Fuzz(func(t *testing.T, key, value []byte) {
		c, err := DecodeMongo(key, value)
		if err != nil {
			return
		}
		v, err := AppendMongoValue(nil, c)
		if err != nil {
			t.Fatalf("decoded change does not encode: %v", err)
		}
		if key != nil {
			if _, err := AppendMongoKey(nil, c); err != nil {
				t.Fatalf("decoded key does not encode: %v", err)
			}
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
