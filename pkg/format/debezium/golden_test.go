package debezium

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/internal/jsonw"
)

var update = flag.Bool("update", false, "rewrite golden files")

// records turns the fixture into the records a publisher writes: PK changes
// split into delete + create.
func records(t testing.TB) []event.Event {
	var out []event.Event
	for _, e := range eventtest.Events() {
		if del, create, ok := SplitKeyChange(&e); ok {
			out = append(out, del, create)
			continue
		}
		out = append(out, e)
	}
	return out
}

func goldenLine(key, value []byte, pos string, types []byte) []byte {
	line := []byte(`{"key":`)
	line = append(line, key...)
	line = append(line, `,"value":`...)
	if value == nil {
		line = append(line, "null"...)
	} else {
		line = append(line, value...)
	}
	line = append(line, `,"headers":{"sluice.format":"debezium","sluice.position":`...)
	line = jsonw.String(line, pos)
	if types != nil {
		line = append(line, `,"sluice.types":`...)
		line = jsonw.String(line, string(types))
	}
	return append(line, "}}\n"...)
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := range min(len(gl), len(wl)) {
			if !bytes.Equal(gl[i], wl[i]) {
				t.Fatalf("%s line %d differs:\n got %s\nwant %s", name, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s: %d lines, want %d", name, len(gl), len(wl))
	}
}

func TestGoldenAllTypes(t *testing.T) {
	enc := &Encoder{}
	var out []byte
	for _, e := range records(t) {
		key, err := enc.AppendKey(nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		val, err := enc.AppendValue(nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		types := format.AppendTypes(nil, e.Columns)
		out = append(out, goldenLine(key, val, e.Position, types)...)
		if e.Op == event.OpDelete { // the tombstone that follows with Tombstones on
			out = append(out, goldenLine(key, nil, e.Position, types)...)
		}
	}
	checkGolden(t, "alltypes.jsonl", out)
}

func mongoChanges() []MongoChange {
	n := int64(7)
	src := MongoSource{Version: "0.1.0", Name: "sluice", TsMs: 1700000000000, Ord: 3}
	return []MongoChange{
		{Op: event.OpInsert, DB: "shop", Collection: "carts", KeyExtJSON: `{"$oid":"65a1b2c3d4e5f60718293a4b"}`,
			After:  `{"_id":{"$oid":"65a1b2c3d4e5f60718293a4b"},"n32":{"$numberInt":"42"},"n64":{"$numberLong":"9223372036854775807"},"d":{"$numberDouble":"NaN"},"dec":{"$numberDecimal":"12.3400"},"at":{"$date":{"$numberLong":"1700000000123"}},"ts":{"$timestamp":{"t":1700000000,"i":1}},"bin":{"$binary":{"base64":"AAEC","subType":"04"}},"re":{"$regularExpression":{"pattern":"^a","options":"i"}},"nested":{"arr":[{"$numberInt":"1"},null,"ü😀"]},"nil":null}`,
			Source: src, EmitTimeMs: 1700000000123},
		{Op: event.OpUpdate, DB: "shop", Collection: "carts", KeyExtJSON: `{"$oid":"65a1b2c3d4e5f60718293a4b"}`,
			Update: &UpdateDescription{UpdatedFields: `{"n32":{"$numberInt":"43"}}`, RemovedFields: []string{"nil"}, TruncatedArrays: []TruncatedArray{{Field: "nested.arr", NewSize: 2}}},
			Source: MongoSource{Version: "0.1.0", Name: "sluice", TsMs: 1700000001000, Ord: 1, TxnNumber: &n, Lsid: `{"id":{"$binary":{"base64":"AAAAAAAAAAAAAAAAAAAAAA==","subType":"04"}}}`}, EmitTimeMs: 1700000001001},
		{Op: event.OpUpdate, DB: "shop", Collection: "carts", KeyExtJSON: `{"$numberLong":"12"}`,
			After: `{"_id":{"$numberLong":"12"},"replaced":true}`, Before: `{"_id":{"$numberLong":"12"},"replaced":false}`, Source: src, EmitTimeMs: 1700000002000},
		{Op: event.OpDelete, DB: "shop", Collection: "carts", KeyExtJSON: `"string-id"`, Source: src, EmitTimeMs: 1700000003000},
		{Op: event.OpSnapshot, DB: "shop", Collection: "carts", KeyExtJSON: `{"$oid":"65a1b2c3d4e5f60718293a4c"}`,
			After: `{"_id":{"$oid":"65a1b2c3d4e5f60718293a4c"}}`, Source: MongoSource{Version: "0.1.0", Name: "sluice", TsMs: 1700000004000, Snapshot: "last"}, EmitTimeMs: 1700000004000},
	}
}

func TestGoldenMongo(t *testing.T) {
	var out []byte
	for i := range mongoChanges() {
		c := &mongoChanges()[i]
		key, err := AppendMongoKey(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		val, err := AppendMongoValue(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, goldenLine(key, val, `{"resume_token":"8265A1B2C3000000012B022C0100296E5A1004"}`, nil)...)
		back, err := DecodeMongo(key, val)
		if err != nil {
			t.Fatalf("decoding change %d: %v", i, err)
		}
		if !mongoEqual(back, c) {
			t.Errorf("change %d round trip:\n got %+v\nwant %+v", i, back, c)
		}
	}
	checkGolden(t, "mongo.jsonl", out)
}

func mongoEqual(a, b *MongoChange) bool {
	ja, _ := AppendMongoValue(nil, a)
	jb, _ := AppendMongoValue(nil, b)
	return bytes.Equal(ja, jb) && a.KeyExtJSON == b.KeyExtJSON
}
