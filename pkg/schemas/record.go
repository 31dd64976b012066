package schemas

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/sluice-cdc/sluice/pkg/format"
)

// Validator checks a Kafka record Sluice wrote. *Set implements it;
// integration tests hold one to validate every record they produce.
type Validator interface {
	// ValidateRecord checks key, value (nil for a tombstone) and headers.
	// format is the style the caller expects ("maxwell" or "debezium"), or
	// "" to take it from the sluice.format header.
	ValidateRecord(format string, key, value []byte, headers map[string]string) error
}

var _ Validator = (*Set)(nil)

// Kind is the kind of a record, which picks its key and value schemas.
type Kind string

// The record kinds.
const (
	KindMaxwell       Kind = "maxwell"        // maxwell-key, maxwell-value
	KindDebezium      Kind = "debezium"       // debezium-key, debezium-value
	KindDebeziumMongo Kind = "debezium-mongo" // debezium-mongo-key, debezium-mongo-value
)

// ValidateRecord checks a record against the headers schema (including the
// JSON inside sluice.position and sluice.types), its key schema, and the
// Sluice profile of its value schema; then checks in Go what the schemas
// cannot: each column value against its type in sluice.types, the key
// against the row, the position kind against the record kind, and MongoDB
// documents as canonical Extended JSON.
//
// The schemas are picked by the sluice.format header and, for "debezium",
// by source.connector == "mongodb" in the value (for a tombstone, by the
// position header being a MongoDB one).
func (s *Set) ValidateRecord(format string, key, value []byte, headers map[string]string) error {
	_, err := s.CheckRecord(format, key, value, headers)
	return err
}

// CheckRecord is ValidateRecord that also reports which kind of record it
// took the record for.
func (s *Set) CheckRecord(wantFormat string, key, value []byte, headers map[string]string) (Kind, error) {
	if headers == nil {
		return "", errors.New("record has no headers; Sluice writes sluice.format and sluice.position on every record")
	}
	for name, v := range headers {
		// json.Marshal below would quietly turn bad bytes into U+FFFD.
		if !utf8.ValidString(name) || !utf8.ValidString(v) {
			return "", fmt.Errorf("headers: %q: not valid UTF-8", name)
		}
	}
	hdr, err := json.Marshal(headers)
	if err != nil {
		return "", fmt.Errorf("headers: %w", err)
	}
	if err := s.Validate(Headers, hdr); err != nil {
		return "", fmt.Errorf("headers: %w", err)
	}
	got := headers[format.HeaderFormat]
	if wantFormat != "" && got != wantFormat {
		return "", fmt.Errorf("headers: %s is %q, expected %q", format.HeaderFormat, got, wantFormat)
	}
	var pos map[string]any
	if err := json.Unmarshal([]byte(headers[format.HeaderPosition]), &pos); err != nil {
		return "", fmt.Errorf("headers: %s: %w", format.HeaderPosition, err) // the schema already parsed it
	}
	// The two position forms share no field (both schemas are closed), so
	// one member tells them apart.
	_, mongoPos := pos["resume_token"]
	if _, ok := pos["cluster_time"]; ok {
		mongoPos = true
	}
	var val map[string]any
	if value != nil {
		v, err := parse(value)
		if err != nil {
			return "", fmt.Errorf("value: %w", err)
		}
		if val, _ = v.(map[string]any); val == nil {
			return "", fmt.Errorf("value: want a JSON object, got %s", jsonType(v))
		}
	}

	var kind Kind
	switch got {
	case format.Maxwell:
		kind = KindMaxwell
		if value == nil {
			return kind, errors.New("value: null, but Maxwell-style topics have no tombstones")
		}
	case format.Debezium:
		kind = KindDebezium
		if (value == nil && mongoPos) || (value != nil && connector(val) == "mongodb") {
			kind = KindDebeziumMongo
		}
	default:
		return "", fmt.Errorf("headers: no schema for %s %q records yet", format.HeaderFormat, got)
	}
	// A record whose position is of the other source kind would make
	// apply store a position capture cannot resume from.
	_, hasTypes := headers[format.HeaderTypes]
	switch {
	case kind == KindDebeziumMongo && !mongoPos:
		return kind, fmt.Errorf("headers: %s of a MongoDB record is a MySQL position", format.HeaderPosition)
	case kind != KindDebeziumMongo && mongoPos:
		return kind, fmt.Errorf("headers: %s of a MySQL record is a MongoDB position", format.HeaderPosition)
	case kind == KindDebeziumMongo && hasTypes:
		return kind, fmt.Errorf("headers: %s on a MongoDB record (documents carry their own BSON types)", format.HeaderTypes)
	case kind != KindDebeziumMongo && !hasTypes:
		return kind, fmt.Errorf("headers: %s missing; apply needs the column types of a MySQL record", format.HeaderTypes)
	}

	keySchema, valueSchema := MaxwellKey, MaxwellValue
	switch kind {
	case KindDebezium:
		keySchema, valueSchema = DebeziumKey, DebeziumValue
	case KindDebeziumMongo:
		keySchema, valueSchema = DebeziumMongoKey, DebeziumMongoValue
	}
	if key == nil {
		return kind, errors.New("key: missing; every Sluice record is keyed")
	}
	if err := s.Validate(keySchema, key); err != nil {
		return kind, fmt.Errorf("key: %w", err)
	}
	k, _ := parse(key) // valid: it just passed the schema
	// Records with Sluice headers are Sluice's own, so the stricter profile
	// applies; genuine Maxwell/Debezium output has no such headers.
	if value != nil {
		if err := s.Validate(valueSchema+SluiceProfile, value); err != nil {
			return kind, fmt.Errorf("value: %w", err)
		}
	}
	switch kind {
	case KindMaxwell:
		err = s.checkMaxwell(k.(map[string]any), val, headers[format.HeaderTypes])
	case KindDebezium:
		err = s.checkDebezium(k.(map[string]any), val, headers[format.HeaderTypes])
	case KindDebeziumMongo:
		err = checkMongo(k.(map[string]any), val)
	}
	return kind, err
}

// connector returns source.connector of a Debezium value, wrapped or not.
func connector(val map[string]any) string {
	if p, ok := val["payload"].(map[string]any); ok && val["schema"] != nil {
		val = p
	}
	src, _ := val["source"].(map[string]any)
	c, _ := src["connector"].(string)
	return c
}

// jsonType names the JSON type of a parsed value, for error messages.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
