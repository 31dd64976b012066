package maxwell

import (
	"bytes"
	"encoding/json"
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

var update = flag.Bool("update", false, "rewrite testdata/golden and the golden seeds of testdata/fuzz/FuzzDecode")

const goldenPath = "testdata/golden/alltypes.jsonl"

// goldenLine renders one Kafka record as the golden file holds it. The
// record's parts are spliced in as raw bytes, so the file is byte-exact
// for the encoder and still valid JSON Lines for other readers (schemas/).
func goldenLine(t testing.TB, e *event.Event) []byte {
	t.Helper()
	var enc Encoder
	key, err := enc.AppendKey(nil, e)
	if err != nil {
		t.Fatalf("key of %v: %v", e.Op, err)
	}
	value, err := enc.AppendValue(nil, e)
	if err != nil {
		t.Fatalf("value of %v: %v", e.Op, err)
	}
	var b []byte
	b = append(b, `{"key":`...)
	b = append(b, key...)
	b = append(b, `,"value":`...)
	b = append(b, value...)
	b = append(b, `,"headers":{"`+format.HeaderFormat+`":"`+format.Maxwell+`","`+format.HeaderPosition+`":`...)
	b = jsonw.String(b, e.Position)
	b = append(b, `,"`+format.HeaderTypes+`":`...)
	b = jsonw.String(b, string(format.AppendTypes(nil, e.Columns)))
	b = append(b, "}}\n"...)
	return b
}

// goldenRecord is a golden line read back.
type goldenRecord struct {
	Key     json.RawMessage   `json:"key"`
	Value   json.RawMessage   `json:"value"`
	Headers map[string]string `json:"headers"`
}

func readGolden(t testing.TB) []goldenRecord {
	t.Helper()
	b, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	var recs []goldenRecord
	for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		var r goldenRecord
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("%s:%d: not valid JSON: %v", goldenPath, i+1, err)
		}
		recs = append(recs, r)
	}
	return recs
}

func TestGolden(t *testing.T) {
	var got []byte
	for _, e := range eventtest.Events() {
		got = append(got, goldenLine(t, &e)...)
	}
	if *update {
		writeFile(t, goldenPath, got)
		writeGoldenSeeds(t)
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := range min(len(gl), len(wl)) {
			if !bytes.Equal(gl[i], wl[i]) {
				t.Fatalf("%s line %d differs:\n got %s\nwant %s", goldenPath, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s: got %d lines, want %d", goldenPath, len(gl), len(wl))
	}
	// Every record must decode, with the header's types, to its event.
	recs := readGolden(t)
	events := eventtest.Events()
	if len(recs) != len(events) {
		t.Fatalf("%d golden records for %d events", len(recs), len(events))
	}
	for i, r := range recs {
		if r.Headers[format.HeaderFormat] != format.Maxwell || r.Headers[format.HeaderPosition] != events[i].Position {
			t.Errorf("record %d: headers %v", i, r.Headers)
		}
		types, err := format.ParseTypes([]byte(r.Headers[format.HeaderTypes]))
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		var got event.Event
		if err := new(Decoder).Decode(r.Value, types, &got); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		want := carried(&events[i])
		if d := diffEvent(&want, &got); d != "" {
			t.Errorf("record %d decodes differently: %s", i, d)
		}
	}
}

// writeGoldenSeeds stores the golden values, with and without their types
// header, as FuzzDecode seed files in Go's corpus format.
func writeGoldenSeeds(t *testing.T) {
	for i, r := range readGolden(t) {
		for _, withTypes := range []bool{true, false} {
			types, name := "", fmt.Sprintf("golden-%d", i)
			if withTypes {
				types, name = r.Headers[format.HeaderTypes], name+"-types"
			}
			body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(r.Value)) + ")\n[]byte(" + strconv.Quote(types) + ")\n"
			writeFile(t, filepath.Join("testdata/fuzz/FuzzDecode", name), []byte(body))
		}
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
