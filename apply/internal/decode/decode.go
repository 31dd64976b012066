// Package decode turns Kafka records into change events, whichever style
// wrote them: Sluice's own topics (told apart by the sluice.format header,
// with exact column types from sluice.types) and topics written by genuine
// Maxwell or Debezium (no headers: the style is recognised from the
// envelope and the types inferred from the JSON), so a Maxwell or Debezium
// user can adopt apply before capture. MongoDB changes (Debezium-style
// with source.connector mongodb, or the changestream format) become
// events of "bson" columns by the apply/internal/docrow convention.
package decode

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
)

// Formats accepted by New.
const (
	Auto     = "auto"
	Maxwell  = format.Maxwell
	Debezium = format.Debezium
	// ChangeStream is Mongo capture's native format: the change event
	// itself as canonical Extended JSON (see mongo.go).
	ChangeStream = "changestream"
)

// Skip reasons: records that carry no row change. They are not errors, and
// they are counted, never dropped silently.
const (
	SkipTombstone = "tombstone"       // Debezium delete tombstone (null value)
	SkipMarker    = "snapshot-marker" // bootstrap-start / bootstrap-complete
	SkipControl   = "control"         // Sluice control records (barriers, heartbeats)
	// SkipDDL is a genuine Maxwell DDL record (table-alter, database-create,
	// ...), which output_ddl=true writes to the row topic by default.
	// Sluice does not replicate DDL (DESIGN §6): the target's schema is
	// the operator's, and the rows after the record apply as usual.
	SkipDDL = "ddl"
)

// Decoder decodes records of one worker. It caches the parsed types header
// per distinct value, so it is not safe for concurrent use: give each
// partition worker its own.
type Decoder struct {
	format string
	types  map[string][]event.Column
	mx     maxwell.Decoder
	dbz    debezium.Decoder
}

// New returns a decoder for format (auto, maxwell or debezium).
func New(f string) (*Decoder, error) {
	switch f {
	case "", Auto:
		f = Auto
	case Maxwell, Debezium, ChangeStream:
	default:
		return nil, fmt.Errorf("input format %q: want auto, maxwell, debezium or changestream", f)
	}
	// franz-go never reuses a record's value (apply sets no kgo.WithPools
	// buffer pools), so decoded strings can share its memory.
	return &Decoder{format: f, types: map[string][]event.Column{}, mx: maxwell.Decoder{Borrow: true}}, nil
}

// Decode fills e from r. It returns a skip reason (and no error) for a
// record that holds no row change. Errors name what was wrong; the caller
// adds topic, partition and offset.
func (d *Decoder) Decode(r *kgo.Record, e *event.Event) (skip string, err error) {
	var fmtHdr, typesHdr []byte
	for _, h := range r.Headers {
		switch h.Key {
		case format.HeaderFormat:
			fmtHdr = h.Value
		case format.HeaderTypes:
			typesHdr = h.Value
		case format.HeaderOrigin:
			e.Origin = string(h.Value)
		case "sluice.control":
			return SkipControl, nil
		}
	}
	if r.Value == nil {
		return SkipTombstone, nil
	}
	style := d.format
	if style == Auto {
		if len(fmtHdr) > 0 {
			style = string(fmtHdr)
		} else if style, err = Sniff(r.Value); err != nil {
			return "", err
		}
	} else if len(fmtHdr) > 0 && string(fmtHdr) != style {
		return "", fmt.Errorf("record is %s-style (header %s) but input format is set to %s", fmtHdr, format.HeaderFormat, style)
	}
	var types []event.Column
	if len(typesHdr) > 0 {
		if types, err = d.parseTypes(typesHdr); err != nil {
			return "", fmt.Errorf("header %s: %w", format.HeaderTypes, err)
		}
	}
	switch style {
	case Maxwell:
		if err := d.mx.Decode(r.Value, types, e); err != nil {
			if errors.Is(err, maxwell.ErrDDL) {
				return SkipDDL, nil
			}
			return "", err
		}
		if e.Op == event.OpSnapshotStart || e.Op == event.OpSnapshotComplete {
			return SkipMarker, nil
		}
		if len(e.Key) == 0 {
			if err := maxwellKey(r.Key, e); err != nil {
				return "", err
			}
		}
	case ChangeStream:
		return decodeChangeStream(r.Value, e)
	case Debezium:
		if isMongoDebezium(r.Value) {
			return decodeMongoDebezium(r.Key, r.Value, e)
		}
		if err := d.dbz.Decode(r.Value, types, e); err != nil {
			if errors.Is(err, debezium.ErrTombstone) {
				return SkipTombstone, nil
			}
			return "", err
		}
		if err := d.dbz.DecodeKey(r.Key, e); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("unknown format %q in header %s", style, format.HeaderFormat)
	}
	if !e.Op.HasRow() {
		return "", fmt.Errorf("record has no row change (op %s)", e.Op)
	}
	return "", nil
}

func (d *Decoder) parseTypes(h []byte) ([]event.Column, error) {
	if cols, ok := d.types[string(h)]; ok {
		return cols, nil
	}
	cols, err := format.ParseTypes(h)
	if err != nil {
		return nil, err
	}
	for _, c := range cols {
		if !event.KnownType(c.Type) {
			return nil, fmt.Errorf("column %q has type %q, which apply does not know how to write", c.Name, c.Type)
		}
	}
	if len(d.types) > 1024 { // schema churn: do not grow without bound
		clear(d.types)
	}
	d.types[string(h)] = cols
	return cols, nil
}

// Sniff tells a Maxwell-style value from a Debezium-style one by the
// top-level member names: Maxwell has "database", "table" and "type"
// ("database" and "type" alone on its database-create/-alter/-drop DDL
// records); Debezium has "payload" (Connect wrapper) or "op"; a MongoDB
// change event (changestream) has "operationType". Only names
// at the top level count, so a column called "op" inside Maxwell's "data"
// does not.
func Sniff(value []byte) (string, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(value))
	tok, err := dec.ReadToken()
	if err != nil || tok.Kind() != '{' {
		return "", fmt.Errorf("value is not a JSON object")
	}
	var db, table, typ bool
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return "", fmt.Errorf("value is not valid JSON: %w", err)
		}
		switch name.String() {
		case "payload", "op":
			return Debezium, nil
		case "operationType":
			return ChangeStream, nil
		case "database":
			db = true
		case "table":
			table = true
		case "type":
			typ = true
		}
		if db && table && typ {
			return Maxwell, nil
		}
		if err := dec.SkipValue(); err != nil {
			return "", fmt.Errorf("value is not valid JSON: %w", err)
		}
	}
	if db && typ {
		return Maxwell, nil // a database DDL record names no table
	}
	return "", errors.New(`value is neither Maxwell-style (database, table, type) nor Debezium-style (op or payload); set input.format if the topic has a known style`)
}

// maxwellKey sets e.Key from a Maxwell record key: {"database":..,
// "table":..,"pk.id":4}, the form genuine Maxwell writes when the value
// lacks primary_key_columns.
func maxwellKey(key []byte, e *event.Event) error {
	if len(key) == 0 {
		return errors.New("maxwell: record has neither primary_key_columns nor a key to find the primary key in")
	}
	dec := jsontext.NewDecoder(bytes.NewReader(key))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return fmt.Errorf("maxwell: key is not a JSON object")
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return fmt.Errorf("maxwell: key: %w", err)
		}
		if col, ok := strings.CutPrefix(name.String(), "pk."); ok {
			i := e.ColumnIndex(col)
			if i < 0 {
				return fmt.Errorf("maxwell: key column %q is not in data", col)
			}
			e.Key = append(e.Key, i)
		}
		if err := dec.SkipValue(); err != nil {
			return fmt.Errorf("maxwell: key: %w", err)
		}
	}
	if len(e.Key) == 0 {
		return errors.New("maxwell: key names no pk.* column")
	}
	return nil
}
