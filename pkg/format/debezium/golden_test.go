package debezium

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/internal/jsonw"
)

var update = flag.Bool("update", false, "rewrite golden files and fuzz seed corpora")

// records turns the fixture into the events a publisher encodes: key
// changes split into delete + create.
func records() []event.Event {
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

// goldenLine is one Kafka record as a JSON line, built from raw bytes so
// the key and value appear exactly as encoded.
func goldenLine(key, value []byte, pos string, types []byte, last bool) []byte {
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
	if last {
		line = append(line, `,"sluice.tx.last":"true"`...)
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

// TestGoldenAllTypes encodes the fixture as a publisher with tombstones on
// would, compares the bytes with the golden file, and decodes every record
// back with its header.
func TestGoldenAllTypes(t *testing.T) {
	enc := &Encoder{Opts: Options{Tombstones: true}}
	var out []byte
	var seeds [][]byte
	for _, e := range records() {
		key, err := enc.AppendKey(nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		val, err := enc.AppendValue(nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		types := format.AppendTypes(nil, e.Columns)
		out = append(out, goldenLine(key, val, e.Position, types, e.Tx.Last)...)
		seeds = append(seeds, val)
		if enc.WantsTombstone(&e) {
			out = append(out, goldenLine(key, nil, e.Position, types, false)...)
		}
		cols, err := format.ParseTypes(types)
		if err != nil {
			t.Fatal(err)
		}
		var got event.Event
		if err := (&Decoder{}).Decode(val, cols, &got); err != nil {
			t.Fatalf("decoding golden %v: %v", e.Op, err)
		}
		if err := (&Decoder{}).DecodeKey(key, &got); err != nil {
			t.Fatalf("decoding golden key %s: %v", key, err)
		}
		assertSame(t, &got, &e)
	}
	checkGolden(t, "alltypes.jsonl", out)
	if *update {
		writeSeeds(t, "FuzzDecode", "golden", seeds, "bool(true)")
	}
}

// mongoChanges are the Mongo golden examples: insert, update with an
// updateDescription inside a transaction, replace (with a pre-image),
// delete, and a snapshot read.
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
	var seeds [][]byte
	changes := mongoChanges()
	for i := range changes {
		c := &changes[i]
		key, err := AppendMongoKey(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		val, err := AppendMongoValue(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, goldenLine(key, val, `{"resume_token":"8265A1B2C3000000012B022C0100296E5A1004"}`, nil, false)...)
		seeds = append(seeds, key, val)
		back, err := DecodeMongo(key, val)
		if err != nil {
			t.Fatalf("decoding change %d: %v", i, err)
		}
		assertMongoSame(t, back, c)
	}
	checkGolden(t, "mongo.jsonl", out)
	if *update {
		for i := 0; i < len(seeds); i += 2 {
			writeSeed(t, "FuzzDecodeMongo", fmt.Sprintf("golden-%d", i/2), seeds[i], seeds[i+1])
		}
	}
}

// writeSeeds writes values as seed corpus files of fuzz target name.
func writeSeeds(t *testing.T, name, prefix string, values [][]byte, extra string) {
	t.Helper()
	for i, v := range values {
		body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(v)) + ")\n" + extra + "\n"
		writeCorpusFile(t, name, fmt.Sprintf("%s-%d", prefix, i), body)
	}
}

func writeSeed(t *testing.T, name, file string, args ...[]byte) {
	t.Helper()
	body := "go test fuzz v1\n"
	for _, a := range args {
		body += "[]byte(" + strconv.Quote(string(a)) + ")\n"
	}
	writeCorpusFile(t, name, file, body)
}

func writeCorpusFile(t *testing.T, name, file, body string) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
