// Package schemas validates Sluice's Kafka messages against the JSON
// Schemas in the repository's schemas/ folder, the published contract of
// what capture writes and apply reads (DESIGN §4).
//
// The schemas themselves stay portable (draft 2020-12, no custom keywords);
// what plain JSON Schema cannot say is checked here in Go: that the JSON
// texts inside the sluice.position and sluice.types headers are what they
// claim (content keywords, which this loader asserts), that each column
// value is encoded as its MySQL type in sluice.types requires, that the key
// agrees with the row, and that MongoDB documents are canonical Extended
// JSON. Every document is also checked to be well-formed I-JSON: valid
// UTF-8 and no duplicate names, which encoding/json would silently accept.
//
// Tests use it on the codecs' golden files, on genuine Maxwell and Debezium
// output, and (through Validator) on every record the integration tests
// produce.
package schemas

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Names of the schemas: the file names in schemas/ without ".schema.json".
const (
	MaxwellValue       = "maxwell-value"
	MaxwellKey         = "maxwell-key"
	DebeziumValue      = "debezium-value"
	DebeziumKey        = "debezium-key"
	DebeziumMongoValue = "debezium-mongo-value"
	DebeziumMongoKey   = "debezium-mongo-key"
	Headers            = "headers"
	Position           = "position"
)

// All lists every schema name.
var All = []string{MaxwellValue, MaxwellKey, DebeziumValue, DebeziumKey, DebeziumMongoValue, DebeziumMongoKey, Headers, Position}

// SluiceProfile is the suffix of the stricter variant of a value schema
// ("maxwell-value" + SluiceProfile): exactly what Sluice's capture writes,
// where the plain schema also admits genuine Maxwell and Debezium output.
const SluiceProfile = "#sluice"

// profiled are the schemas that define $defs/sluice.
var profiled = []string{MaxwellValue, DebeziumValue, DebeziumMongoValue}

// Set is the compiled schemas of one schemas/ folder. It is safe for
// concurrent use.
type Set struct {
	// Dir is the schemas/ folder the set was loaded from.
	Dir     string
	schemas map[string]*jsonschema.Schema
	// columns holds, per value schema, the $defs/col-<class> schemas that
	// say how one column value of that class is encoded.
	columns map[string]map[string]*jsonschema.Schema
	// content holds the contentSchema of each header that carries JSON.
	content map[string]*jsonschema.Schema
}

// contentHeaders are the headers whose text is JSON with a contentSchema.
var contentHeaders = []string{"sluice.position", "sluice.types"}

// HeaderError is a header whose JSON content breaks its contentSchema.
// Content is checked in Go before the headers schema runs: the validator
// reports content errors at a wrong instance location (jsonschema v6.0.3
// keeps a slice it later overwrites), so the header is named here instead.
type HeaderError struct {
	Header string
	// Err wraps the *jsonschema.ValidationError, located inside the content.
	Err error
}

func (e *HeaderError) Error() string { return "header " + e.Header + ": " + e.Err.Error() }
func (e *HeaderError) Unwrap() error { return e.Err }

// Load compiles every schema in repoRoot/schemas.
func Load(repoRoot string) (*Set, error) {
	dir := filepath.Join(repoRoot, "schemas")
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	// Content keywords describe the JSON inside header strings and Mongo
	// documents; without this they would be annotations only.
	c.AssertContent()
	// Resources are registered under their $id, so cross-file $refs resolve
	// offline and a missing file is a load error, never a download.
	c.UseLoader(offline{})
	ids := map[string]string{}
	docs := map[string]any{}
	for _, name := range All {
		path := filepath.Join(dir, name+".schema.json")
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("loading schemas: %w", err)
		}
		doc, err := parse(b)
		if err != nil {
			return nil, fmt.Errorf("loading schema %s: %w", path, err)
		}
		obj, _ := doc.(map[string]any)
		id, _ := obj["$id"].(string)
		if !strings.HasSuffix(id, "/"+name+".schema.json") {
			return nil, fmt.Errorf("loading schema %s: $id %q does not end in /%s.schema.json", path, id, name)
		}
		if err := c.AddResource(id, doc); err != nil {
			return nil, fmt.Errorf("loading schema %s: %w", path, err)
		}
		ids[name], docs[name] = id, obj
	}
	s := &Set{Dir: dir, schemas: map[string]*jsonschema.Schema{}, columns: map[string]map[string]*jsonschema.Schema{}, content: map[string]*jsonschema.Schema{}}
	compile := func(key, url string) error {
		sch, err := c.Compile(url)
		if err != nil {
			return fmt.Errorf("compiling schema %s: %w", url, err)
		}
		s.schemas[key] = sch
		return nil
	}
	for _, name := range All {
		if err := compile(name, ids[name]); err != nil {
			return nil, err
		}
	}
	for _, name := range profiled {
		if err := compile(name+SluiceProfile, ids[name]+"#/$defs/sluice"); err != nil {
			return nil, err
		}
	}
	for _, h := range contentHeaders {
		sch, err := c.Compile(ids[Headers] + "#/properties/" + h + "/contentSchema")
		if err != nil {
			return nil, fmt.Errorf("compiling the contentSchema of header %s: %w", h, err)
		}
		s.content[h] = sch
	}
	for _, name := range []string{MaxwellValue, DebeziumValue} {
		defs, _ := docs[name].(map[string]any)["$defs"].(map[string]any)
		s.columns[name] = map[string]*jsonschema.Schema{}
		for def := range defs {
			class, ok := strings.CutPrefix(def, "col-")
			if !ok {
				continue
			}
			sch, err := c.Compile(ids[name] + "#/$defs/" + def)
			if err != nil {
				return nil, fmt.Errorf("compiling schema %s#/$defs/%s: %w", ids[name], def, err)
			}
			s.columns[name][class] = sch
		}
	}
	return s, nil
}

// offline refuses every URL the compiler did not get as a resource.
type offline struct{}

func (offline) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema %s is not one of the loaded files (no downloads)", url)
}

// FindRepoRoot walks up from dir to the folder holding go.work and
// schemas/, so tests in any module can Load the schemas.
func FindRepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		_, errWork := os.Stat(filepath.Join(d, "go.work"))
		fi, errSchemas := os.Stat(filepath.Join(d, "schemas"))
		if errWork == nil && errSchemas == nil && fi.IsDir() {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no folder with go.work and schemas/ above %s", dir)
		}
	}
}

// Validate checks one JSON document against the named schema (one of All,
// or a value schema + SluiceProfile). A schema failure wraps the
// *jsonschema.ValidationError, which names every violated rule and where.
func (s *Set) Validate(name string, doc []byte) error {
	sch, ok := s.schemas[name]
	if !ok {
		return fmt.Errorf("validating against %q: no such schema", name)
	}
	v, err := parse(doc)
	if err != nil {
		return fmt.Errorf("validating against %s: %w", name, err)
	}
	if name == Headers {
		if err := s.checkHeaderContent(v); err != nil {
			return fmt.Errorf("validating against %s: %w", name, err)
		}
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Errorf("validating against %s: %w", name, err)
	}
	return nil
}

// checkHeaderContent validates the JSON inside the content headers, parsed
// as strictly as any document here (encoding/json, which contentMediaType
// uses, would let duplicate names through).
func (s *Set) checkHeaderContent(v any) error {
	hdrs, _ := v.(map[string]any)
	for _, h := range contentHeaders {
		text, ok := hdrs[h].(string)
		if !ok {
			continue
		}
		content, err := parse([]byte(text))
		if err != nil {
			return &HeaderError{Header: h, Err: err}
		}
		if err := s.content[h].Validate(content); err != nil {
			return &HeaderError{Header: h, Err: err}
		}
	}
	return nil
}

// ValidatePosition checks a value of the positions topic.
func (s *Set) ValidatePosition(value []byte) error { return s.Validate(Position, value) }

// parse reads one JSON document strictly (I-JSON: valid UTF-8, unique
// names, nothing after it) into the form the validator takes, numbers
// kept exact as json.Number.
func parse(doc []byte) (any, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(doc))
	if _, err := dec.ReadValue(); err != nil {
		return nil, fmt.Errorf("not well-formed JSON: %w", err)
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("not well-formed JSON: data after the document at byte %d", dec.InputOffset())
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("not well-formed JSON: %w", err)
	}
	return v, nil
}
