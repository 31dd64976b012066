package schemas

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/position"
)

// Example folders under schemas/examples/<schema>/:
//
//	valid/       must validate; files named sluice-*.json must also pass the
//	             Sluice profile of a value schema
//	invalid/     must fail; README.md says, per file, where and why
//	not-sluice/  value schemas only: valid (genuine producers write it) but
//	             refused by the Sluice profile; README.md as for invalid/
const (
	dirValid     = "valid"
	dirInvalid   = "invalid"
	dirNotSluice = "not-sluice"
)

// TestExamples checks every example, and that each failing one fails for
// the reason its README gives: the error must name the given instance
// location and keyword, so an example cannot pass by breaking by accident.
func TestExamples(t *testing.T) {
	s := load(t)
	for _, name := range All {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(s.Dir, "examples", name)
			valid := jsonFiles(t, filepath.Join(dir, dirValid))
			if len(valid) < 2 {
				t.Errorf("%s: want at least 2 valid examples, have %d", dir, len(valid))
			}
			for _, f := range valid {
				doc := readFile(t, f)
				if err := s.Validate(name, doc); err != nil {
					t.Errorf("%s should be valid: %v", f, err)
				}
				if hasProfile(name) && strings.HasPrefix(filepath.Base(f), "sluice-") {
					if err := s.Validate(name+SluiceProfile, doc); err != nil {
						t.Errorf("%s should pass the Sluice profile: %v", f, err)
					}
				}
			}
			n := checkFailing(t, s, name, filepath.Join(dir, dirInvalid), name)
			if n < 3 {
				t.Errorf("%s: want at least 3 invalid examples, have %d", dir, n)
			}
			if hasProfile(name) {
				if checkFailing(t, s, name, filepath.Join(dir, dirNotSluice), name+SluiceProfile) == 0 {
					t.Errorf("%s: no %s examples", dir, dirNotSluice)
				}
			}
		})
	}
}

// checkFailing checks the examples of dir fail schema fail (and, for
// not-sluice/, pass the plain schema), each for its README reason.
func checkFailing(t *testing.T, s *Set, plain, dir, fail string) int {
	t.Helper()
	files := jsonFiles(t, dir)
	reasons := readReasons(t, filepath.Join(dir, "README.md"))
	for _, f := range files {
		base := filepath.Base(f)
		r, ok := reasons[base]
		if !ok {
			t.Errorf("%s: no line for %s in README.md", dir, base)
			continue
		}
		delete(reasons, base)
		doc := readFile(t, f)
		if fail != plain {
			if err := s.Validate(plain, doc); err != nil {
				t.Errorf("%s should pass %s: %v", f, plain, err)
			}
		}
		err := s.Validate(fail, doc)
		if err == nil {
			t.Errorf("%s should fail %s (%s)", f, fail, r.why)
			continue
		}
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			if r.at != "syntax" {
				t.Errorf("%s: want a schema error at %q, got %v", f, r.at, err)
			}
			continue
		}
		prefix := ""
		var he *HeaderError
		if errors.As(err, &he) {
			prefix = he.Header + " "
		}
		if got := errorSites(prefix, ve); !got[r.at] {
			t.Errorf("%s fails, but not at %q (%s); it fails at %v", f, r.at, r.why, sortedKeys(got))
		}
	}
	for base := range reasons {
		t.Errorf("%s/README.md lists %s, which does not exist", dir, base)
	}
	return len(files)
}

type reason struct{ at, why string }

// readReasons reads the "| file | fails at | why |" table of a README.md.
// "fails at" is an instance location (a JSON pointer, or "(root)") and the
// keyword that fails there, e.g. "/type enum"; "syntax" for bad JSON.
func readReasons(t *testing.T, path string) map[string]reason {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatalf("every failing example needs its reason: %v", err)
	}
	defer fh.Close()
	out := map[string]reason{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "|")
		if len(cells) != 5 || !strings.HasSuffix(strings.TrimSpace(cells[1]), ".json") {
			continue
		}
		file := strings.Trim(strings.TrimSpace(cells[1]), "`")
		at := strings.Trim(strings.TrimSpace(cells[2]), "`")
		why := strings.TrimSpace(cells[3])
		if why == "" {
			t.Errorf("%s: %s has no reason", path, file)
		}
		out[file] = reason{at: at, why: why}
	}
	return out
}

// errorSites lists "<instance location> <keyword>" for every error in the
// tree, e.g. "/op enum" or "(root) required", each after prefix.
func errorSites(prefix string, ve *jsonschema.ValidationError) map[string]bool {
	out := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		loc := "(root)"
		if len(e.InstanceLocation) > 0 {
			loc = "/" + strings.Join(e.InstanceLocation, "/")
		}
		if kw := e.ErrorKind.KeywordPath(); len(kw) > 0 {
			out[prefix+loc+" "+kw[0]] = true
		} else if _, ok := e.ErrorKind.(*kind.Not); ok {
			out[prefix+loc+" not"] = true // the one keyword whose kind has no path
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}

func hasProfile(name string) bool {
	for _, p := range profiled {
		if p == name {
			return true
		}
	}
	return false
}

func jsonFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestColumnClassesCovered: every value kind a column can have has its
// $defs/col-<kind> in both row value schemas, so no column goes unchecked.
func TestColumnClassesCovered(t *testing.T) {
	s := load(t)
	for k := event.Int; k <= event.JSON; k++ {
		for _, style := range []string{MaxwellValue, DebeziumValue} {
			if s.columns[style][k.String()] == nil {
				t.Errorf("%s has no $defs/col-%s", style, k)
			}
		}
	}
	if s.columns[DebeziumValue]["bit1"] == nil {
		t.Errorf("%s has no $defs/col-bit1", DebeziumValue)
	}
}

// TestLoadRefusesBrokenSchemas: Load fails loudly on a missing or malformed
// schema instead of validating nothing.
func TestLoadRefusesBrokenSchemas(t *testing.T) {
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, text string }{
		{"missing", ""},
		{"malformed", `{"$id": "https://x/headers.schema.json", `},
		{"wrong $id", `{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://x/other.schema.json"}`},
		{"bad keyword", `{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://x/headers.schema.json", "type": 3}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			if err := os.Mkdir(filepath.Join(tmp, "schemas"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, name := range All {
				b := readFile(t, filepath.Join(root, "schemas", name+".schema.json"))
				if name == Headers {
					if tc.text == "" {
						continue
					}
					b = []byte(tc.text)
				}
				if err := os.WriteFile(filepath.Join(tmp, "schemas", name+".schema.json"), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := Load(tmp); err == nil {
				t.Error("Load accepted it")
			}
		})
	}
}

// TestPositionExamplesParse: the mysql part of every valid position example
// is a position pkg/position reads back, so the schema and the parser that
// capture resumes with agree.
func TestPositionExamplesParse(t *testing.T) {
	s := load(t)
	n := 0
	for _, f := range jsonFiles(t, filepath.Join(s.Dir, "examples", Position, dirValid)) {
		var rec struct{ MySQL json.RawMessage }
		if err := json.Unmarshal(readFile(t, f), &rec); err != nil {
			t.Fatal(err)
		}
		if len(rec.MySQL) == 0 || string(rec.MySQL) == "null" {
			continue
		}
		n++
		if _, err := position.ParseMySQL(string(rec.MySQL)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if n == 0 {
		t.Error("no MySQL position examples")
	}
}
