// Package schemas validates Sluice messages against the JSON Schemas in the
// repository's schemas/ folder. The schemas are the published contract of
// what capture writes and apply reads; tests validate golden files, genuine
// peer examples and every message the integration tests produce with it.
package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Names of the schemas, as file names without ".schema.json".
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

// Set is the compiled schemas.
type Set struct {
	Dir     string
	schemas map[string]*jsonschema.Schema
}

// Load compiles every schema in dir (the repository's schemas/ folder).
func Load(dir string) (*Set, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s := &Set{Dir: dir, schemas: map[string]*jsonschema.Schema{}}
	for _, name := range All {
		path := filepath.Join(dir, name+".schema.json")
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		url := "file://" + filepath.ToSlash(path)
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		sch, err := c.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("compiling %s: %w", path, err)
		}
		s.schemas[name] = sch
	}
	return s, nil
}

// Validate checks one JSON document against the named schema.
func (s *Set) Validate(name string, doc []byte) error {
	sch, ok := s.schemas[name]
	if !ok {
		return fmt.Errorf("no schema %q", name)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("%s: not JSON: %w", name, err)
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// ValidateRecord checks a Kafka record Sluice wrote: headers, key, and the
// value (nil for a tombstone) against the schemas its sluice.format header
// and its content select. The JSON inside sluice.position and sluice.types
// is checked too.
func (s *Set) ValidateRecord(key, value []byte, headers map[string]string) error {
	hdr, err := json.Marshal(headers)
	if err != nil {
		return err
	}
	if err := s.Validate(Headers, hdr); err != nil {
		return err
	}
	for _, h := range []string{"sluice.position", "sluice.types"} {
		if v, ok := headers[h]; ok {
			var obj map[string]any
			if err := json.Unmarshal([]byte(v), &obj); err != nil {
				return fmt.Errorf("header %s is not a JSON object: %w", h, err)
			}
		}
	}
	if h, ok := headers["sluice.types"]; ok {
		var types map[string]any
		_ = json.Unmarshal([]byte(h), &types)
		for col, t := range types {
			if ts, ok := t.(string); !ok || ts == "" {
				return fmt.Errorf("header sluice.types: column %q has no type", col)
			}
		}
	}
	keySchema, valueSchema := MaxwellKey, MaxwellValue
	switch headers["sluice.format"] {
	case "maxwell":
	case "debezium":
		keySchema, valueSchema = DebeziumKey, DebeziumValue
		if isMongo(value) {
			keySchema, valueSchema = DebeziumMongoKey, DebeziumMongoValue
		}
	default:
		return fmt.Errorf("no schema for sluice.format %q", headers["sluice.format"])
	}
	if err := s.Validate(keySchema, key); err != nil {
		return fmt.Errorf("key: %w", err)
	}
	if value == nil {
		return nil // tombstone
	}
	if err := s.Validate(valueSchema, value); err != nil {
		return fmt.Errorf("value: %w", err)
	}
	return nil
}

func isMongo(value []byte) bool {
	var v struct {
		Source  struct{ Connector string } `json:"source"`
		Payload *struct {
			Source struct{ Connector string } `json:"source"`
		} `json:"payload"`
	}
	_ = json.Unmarshal(value, &v)
	if v.Payload != nil {
		return strings.EqualFold(v.Payload.Source.Connector, "mongodb")
	}
	return strings.EqualFold(v.Source.Connector, "mongodb")
}
