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
	s, err := Load(filepath.Join("..", "..", "schemas"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestExamples: every valid example validates and every invalid one fails.
func TestExamples(t *testing.T) {
	s := load(t)
	for _, name := range All {
		for _, kind := range []string{"valid", "invalid"} {
			files, _ := filepath.Glob(filepath.Join(s.Dir, "examples", name, kind, "*.json"))
			if len(files) < 1 {
				t.Errorf("schema %s has no %s examples", name, kind)
			}
			for _, f := range files {
				doc, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				err = s.Validate(name, doc)
				if kind == "valid" && err != nil {
					t.Errorf("%s should be valid: %v", f, err)
				}
				if kind == "invalid" && err == nil {
					t.Errorf("%s should be invalid (%s)", f, strings.TrimSuffix(filepath.Base(f), ".json"))
				}
			}
		}
	}
}

// TestGoldenFiles validates every record of the codecs' golden files.
func TestGoldenFiles(t *testing.T) {
	s := load(t)
	files, _ := filepath.Glob(filepath.Join("..", "format", "*", "testdata", "golden", "*.jsonl"))
	want := map[string]bool{"maxwell/testdata/golden/alltypes.jsonl": false, "debezium/testdata/golden/alltypes.jsonl": false, "debezium/testdata/golden/mongo.jsonl": false}
	for _, f := range files {
		rel := filepath.ToSlash(strings.TrimPrefix(f, filepath.Join("..", "format")+string(filepath.Separator)))
		want[rel] = true
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		n := 0
		for sc.Scan() {
			n++
			var rec struct {
				Key     json.RawMessage   `json:"key"`
				Value   json.RawMessage   `json:"value"`
				Headers map[string]string `json:"headers"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("%s:%d: %v", f, n, err)
			}
			value := []byte(rec.Value)
			if bytes.Equal(value, []byte("null")) {
				value = nil
			}
			if err := s.ValidateRecord(rec.Key, value, rec.Headers); err != nil {
				t.Errorf("%s:%d: %v", f, n, err)
			}
		}
		fh.Close()
		if n == 0 {
			t.Errorf("%s is empty", f)
		}
	}
	for f, seen := range want {
		if !seen {
			t.Errorf("golden file pkg/format/%s not found", f)
		}
	}
}

// TestGenuineExamples validates the genuine peer examples the decoders are
// tested with against the value schema of their style.
func TestGenuineExamples(t *testing.T) {
	s := load(t)
	for style, schema := range map[string]string{"maxwell": MaxwellValue, "debezium": DebeziumValue} {
		files, _ := filepath.Glob(filepath.Join("..", "format", style, "testdata", "genuine", "*.json"))
		if len(files) == 0 {
			t.Errorf("no genuine %s examples", style)
		}
		for _, f := range files {
			doc, _ := os.ReadFile(f)
			var probe struct{ Type string }
			_ = json.Unmarshal(doc, &probe)
			if strings.HasPrefix(probe.Type, "table-") || strings.HasPrefix(probe.Type, "database-") {
				continue // Maxwell DDL records are not row changes; apply rejects them
			}
			if err := s.Validate(schema, doc); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
	}
}

func TestValidateRecordChecksHeaderContent(t *testing.T) {
	s := load(t)
	key := []byte(`{"database":"d","table":"t","pk.id":1}`)
	val := []byte(`{"database":"d","table":"t","type":"insert","ts":1,"data":{"id":1}}`)
	ok := map[string]string{"sluice.format": "maxwell", "sluice.position": `{"gtid":"0-1-1"}`, "sluice.types": `{"id":"int"}`}
	if err := s.ValidateRecord(key, val, ok); err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{"sluice.format": "maxwell", "sluice.position": `{"gtid":`, "sluice.types": `{"id":"int"}`}
	if err := s.ValidateRecord(key, val, bad); err == nil {
		t.Error("broken position JSON accepted")
	}
	bad = map[string]string{"sluice.format": "maxwell", "sluice.position": `{}`, "sluice.types": `{"id":""}`}
	if err := s.ValidateRecord(key, val, bad); err == nil {
		t.Error("empty column type accepted")
	}
	if err := s.ValidateRecord([]byte(`{"id":1}`), val, ok); err == nil {
		t.Error("debezium key under maxwell format accepted")
	}
}
