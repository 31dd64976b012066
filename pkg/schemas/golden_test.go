package schemas

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func load(t *testing.T) *Set {
	t.Helper()
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// formatDir is pkg/format, where the codecs keep their test data.
var formatDir = filepath.Join("..", "format")

// goldenKinds are the golden files that must exist, with the kind of record
// each holds; more files under the glob are validated too.
var goldenKinds = map[string]Kind{
	"maxwell/testdata/golden/alltypes.jsonl":  KindMaxwell,
	"debezium/testdata/golden/alltypes.jsonl": KindDebezium,
	"debezium/testdata/golden/mongo.jsonl":    KindDebeziumMongo,
}

// goldenRecord is one line of a golden file.
type goldenRecord struct {
	Key     json.RawMessage   `json:"key"`
	Value   json.RawMessage   `json:"value"`
	Headers map[string]string `json:"headers"`
}

// TestGoldenFiles validates every record of the codecs' golden files as a
// record Sluice wrote: headers, key, the Sluice profile of the value schema
// and the Go checks, with the record kind taken from the file.
func TestGoldenFiles(t *testing.T) {
	s := load(t)
	files, err := filepath.Glob(filepath.Join(formatDir, "*", "testdata", "golden", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		rel := filepath.ToSlash(strings.TrimPrefix(f, formatDir+string(filepath.Separator)))
		seen[rel] = true
		want, ok := goldenKinds[rel]
		if !ok {
			want = KindMaxwell
			if strings.HasPrefix(rel, "debezium/") {
				want = KindDebezium
				if strings.Contains(filepath.Base(rel), "mongo") {
					want = KindDebeziumMongo
				}
			}
		}
		t.Run(rel, func(t *testing.T) { checkGolden(t, s, f, want) })
	}
	for rel := range goldenKinds {
		if !seen[rel] {
			t.Errorf("golden file pkg/format/%s not found; expected pkg/format/{maxwell/testdata/golden/alltypes.jsonl, debezium/testdata/golden/alltypes.jsonl, debezium/testdata/golden/mongo.jsonl}", rel)
		}
	}
}

func checkGolden(t *testing.T, s *Set, path string, want Kind) {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 16<<20)
	n, values := 0, 0
	for sc.Scan() {
		n++
		var rec goldenRecord
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			t.Errorf("line %d: not a {key,value,headers} record: %v", n, err)
			continue
		}
		var value []byte
		if !bytes.Equal(rec.Value, []byte("null")) {
			value = rec.Value
			values++
		}
		got, err := s.CheckRecord(formatOf(want), rec.Key, value, rec.Headers)
		if err != nil {
			t.Errorf("%s line %d: %v", path, n, err)
			continue
		}
		if got != want {
			t.Errorf("%s line %d: taken for a %s record, but the file holds %s records", path, n, got, want)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if values == 0 {
		t.Errorf("%s has no records with a value (%d lines)", path, n)
	}
	t.Logf("%s: %d records validated", path, n)
}

func formatOf(k Kind) string {
	if k == KindMaxwell {
		return "maxwell"
	}
	return "debezium"
}

// TestGenuineExamples validates the genuine Maxwell and Debezium output the
// decoders are tested with against the plain value schema of its style:
// apply must accept what the real tools write. Maxwell DDL records are not
// row changes and must be refused.
func TestGenuineExamples(t *testing.T) {
	s := load(t)
	for _, style := range []string{"maxwell", "debezium"} {
		files, _ := filepath.Glob(filepath.Join(formatDir, style, "testdata", "genuine", "*.json"))
		if len(files) == 0 {
			t.Errorf("no genuine examples in pkg/format/%s/testdata/genuine/", style)
		}
		for _, f := range files {
			doc, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			schema := MaxwellValue
			if style == "debezium" {
				schema = DebeziumValue
				var v map[string]any
				if json.Unmarshal(doc, &v) == nil && connector(v) == "mongodb" {
					schema = DebeziumMongoValue
				}
			}
			var probe struct{ Type string }
			_ = json.Unmarshal(doc, &probe)
			ddl := style == "maxwell" && (strings.HasPrefix(probe.Type, "table-") || strings.HasPrefix(probe.Type, "database-"))
			err = s.Validate(schema, doc)
			switch {
			case ddl && err == nil:
				t.Errorf("%s: DDL record (type %q) accepted as a row change", f, probe.Type)
			case !ddl && err != nil:
				t.Errorf("%s: %v", f, err)
			}
		}
	}
}
