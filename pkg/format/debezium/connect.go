package debezium

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// wire says how a column's values are written, beyond their kind: Sluice
// writes the text forms; genuine Debezium's defaults use epoch numbers and
// scaled bytes, which only the Connect schema tells apart.
type wire uint8

const (
	wireText         wire = iota // the package comment's forms
	wireDecimalBytes             // Connect Decimal: base64 big-endian unscaled, scale parameter
	wireDays                     // io.debezium.time.Date, Connect Date: days since the epoch
	wireMillis                   // io.debezium.time.Timestamp, Connect Timestamp
	wireMicros                   // io.debezium.time.MicroTimestamp
	wireNanos                    // io.debezium.time.NanoTimestamp
	wireTimeMillis               // io.debezium.time.Time, Connect Time: since midnight
	wireTimeMicros               // io.debezium.time.MicroTime
	wireTimeNanos                // io.debezium.time.NanoTime
)

// colWire is the wire form of one column and, for decimals, its scale.
type colWire struct {
	w     wire
	scale int
}

// schemaNode is what the decoder keeps of a Connect schema.
type schemaNode struct {
	typ, name, field string
	params           []param
	fields           []schemaNode
}

type param struct{ k, v string }

func (n *schemaNode) param(k string) string {
	for _, p := range n.params {
		if p.k == k {
			return p.v
		}
	}
	return ""
}

// child returns the field named name, or nil.
func (n *schemaNode) child(name string) *schemaNode {
	for i := range n.fields {
		if n.fields[i].field == name {
			return &n.fields[i]
		}
	}
	return nil
}

// maxSchemaDepth bounds the recursion on hostile input; Debezium's schemas
// are three or four levels deep.
const maxSchemaDepth = 32

// readSchema reads one Connect schema object. It keeps type, name, field,
// string parameters and nested fields, and skips the rest (optional,
// default, doc, version, items, keys, values).
func (st *decodeState) readSchema(n *schemaNode, depth int, path string) error {
	if depth > maxSchemaDepth {
		return decErr(path, st.dec.InputOffset(), errors.New("schema nested too deep"))
	}
	if err := st.open('{', path); err != nil {
		return err
	}
	seen := make([]string, 0, 16) // member names: jsontext's own check is off (getState)
	for st.dec.PeekKind() != '}' {
		name, off, err := st.readString()
		if err != nil {
			return decErr(path, off, err)
		}
		if slices.Contains(seen, name) {
			return decErr(path, off, fmt.Errorf("duplicate member %q", name))
		}
		seen = append(seen, name)
		switch name {
		case "type":
			n.typ, off, err = st.readString()
		case "name":
			n.name, off, err = st.readOptString()
		case "field":
			n.field, off, err = st.readString()
		case "parameters":
			err = st.readParams(n, path+".parameters")
		case "fields":
			err = st.readFields(n, depth, path+".fields")
		default:
			off = st.dec.InputOffset()
			err = st.dec.SkipValue()
		}
		if err != nil {
			return decErr(path+"."+name, off, err)
		}
	}
	return st.close(path)
}

func (st *decodeState) readParams(n *schemaNode, path string) error {
	if st.dec.PeekKind() == 'n' {
		_, _, err := st.next()
		return err
	}
	if err := st.open('{', path); err != nil {
		return err
	}
	seen := make([]string, 0, 16) // member names: jsontext's own check is off (getState)
	for st.dec.PeekKind() != '}' {
		k, off, err := st.readString()
		if err != nil {
			return decErr(path, off, err)
		}
		if slices.Contains(seen, k) {
			return decErr(path, off, fmt.Errorf("duplicate member %q", k))
		}
		seen = append(seen, k)
		v, off, err := st.readString()
		if err != nil {
			return decErr(path+"."+k, off, err)
		}
		n.params = append(n.params, param{k, v})
	}
	return st.close(path)
}

func (st *decodeState) readFields(n *schemaNode, depth int, path string) error {
	if err := st.open('[', path); err != nil {
		return err
	}
	for i := 0; st.dec.PeekKind() != ']'; i++ {
		n.fields = append(n.fields, schemaNode{})
		if err := st.readSchema(&n.fields[len(n.fields)-1], depth+1, path+"["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	return st.close(path)
}

// rowSchema returns the struct schema of the row images (after, else
// before), or nil when the wrapper has none.
func rowSchema(s *schemaNode) *schemaNode {
	if s == nil {
		return nil
	}
	for _, name := range []string{"after", "before"} {
		if c := s.child(name); c != nil && len(c.fields) > 0 {
			return c
		}
	}
	return nil
}

// connectColumn maps a Connect field schema to a column and its wire form:
// the inverse of columnSchema for Sluice's own wrapper, plus Debezium's
// default logical types.
func connectColumn(n *schemaNode) (event.Column, colWire) {
	col := event.Column{Name: n.field}
	var cw colWire
	set := func(k event.Kind, t string, w wire) { col.Kind, col.Type, cw.w = k, t, w }
	numeric := n.typ != "string" // a logical type in its string form is text
	switch n.name {
	case "org.apache.kafka.connect.data.Decimal":
		scale, _ := strconv.Atoi(n.param("scale"))
		prec := orDefault(n.param("connect.decimal.precision"), "65")
		set(event.Decimal, "decimal("+prec+","+strconv.Itoa(scale)+")", wireText)
		if n.typ == "bytes" {
			cw = colWire{w: wireDecimalBytes, scale: scale}
		}
	case "io.debezium.time.Date", "org.apache.kafka.connect.data.Date", "io.debezium.time.IsoDate":
		set(event.Date, "date", pick(numeric, wireDays))
	case "io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp":
		set(event.DateTime, "datetime(3)", pick(numeric, wireMillis))
	case "io.debezium.time.MicroTimestamp", "io.debezium.time.IsoTimestamp":
		set(event.DateTime, "datetime(6)", pick(numeric, wireMicros))
	case "io.debezium.time.NanoTimestamp":
		set(event.DateTime, "datetime(6)", pick(numeric, wireNanos))
	case "io.debezium.time.ZonedTimestamp":
		set(event.Timestamp, "timestamp(6)", wireText)
	case "io.debezium.time.Time", "org.apache.kafka.connect.data.Time":
		set(event.Time, "time(3)", pick(numeric, wireTimeMillis))
	case "io.debezium.time.MicroTime", "io.debezium.time.IsoTime":
		set(event.Time, "time(6)", pick(numeric, wireTimeMicros))
	case "io.debezium.time.NanoTime":
		set(event.Time, "time(6)", pick(numeric, wireTimeNanos))
	case "io.debezium.time.Year":
		set(event.Year, "year(4)", wireText)
	case "io.debezium.data.Bits":
		set(event.Bit, "bit("+orDefault(n.param("length"), "64")+")", wireText)
	case "io.debezium.data.Json":
		set(event.JSON, "json", wireText)
	case "io.debezium.data.Enum":
		set(event.Enum, enumType("enum", splitAllowed(n.param("allowed"))), wireText)
	case "io.debezium.data.EnumSet":
		set(event.Set, enumType("set", splitAllowed(n.param("allowed"))), wireText)
	default:
		set(plainConnect(n.typ))
	}
	refineBySourceType(&col, n)
	return col, cw
}

func pick(numeric bool, w wire) wire {
	if numeric {
		return w
	}
	return wireText
}

// plainConnect maps a Connect type without a logical name.
func plainConnect(typ string) (event.Kind, string, wire) {
	switch typ {
	case "int8":
		return event.Int, "tinyint", wireText
	case "int16":
		return event.Int, "smallint", wireText
	case "int32":
		return event.Int, "int", wireText
	case "int64":
		return event.Int, "bigint", wireText
	case "float", "float32":
		return event.Float, "float", wireText
	case "double", "float64":
		return event.Float, "double", wireText
	case "boolean":
		return event.Bit, "bit(1)", wireText
	case "bytes":
		return event.Bytes, "blob", wireText
	case "string":
		return event.String, "text", wireText
	}
	// struct, array, map (geometry, variable-scale decimals, ...): the
	// value is kept as embedded JSON.
	return event.JSON, "json", wireText
}

// splitAllowed splits Debezium's "allowed" parameter. A label holding a
// comma splits in two here, an ambiguity of Debezium's own format; Sluice's
// records carry the exact type in the sluice.types header instead.
func splitAllowed(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// refineBySourceType uses Debezium's propagated source type
// (column.propagate.source.type), when present, for what Connect types
// cannot say: unsigned integers, and exact decimals sent as strings. Where
// the source type agrees with the kind it just makes the type precise
// ("datetime(3)", "bit(12)"); it never overrides the logical type, which
// is what says how a value is written.
func refineBySourceType(col *event.Column, n *schemaNode) {
	st := strings.ToLower(n.param("__debezium.source.column.type"))
	if st == "" {
		return
	}
	base, unsigned := strings.CutSuffix(st, " unsigned")
	typ := base
	if l := n.param("__debezium.source.column.length"); l != "" && base != "enum" && base != "set" {
		typ += "(" + l
		if s := n.param("__debezium.source.column.scale"); s != "" {
			typ += "," + s
		}
		typ += ")"
	}
	if unsigned {
		typ += " unsigned"
	}
	switch k := event.KindOf(typ); {
	case k == event.Enum || k == event.Set:
		// The labels come from "allowed"; the source type has none.
	case k == col.Kind,
		k == event.Uint && col.Kind == event.Int,
		// bigint.unsigned.handling.mode=precise: a Decimal of scale 0.
		k == event.Uint && col.Kind == event.Decimal,
		k == event.Decimal && col.Kind == event.String:
		col.Kind, col.Type = k, typ
	}
}

func orDefault(s, d string) string {
	if strings.TrimSpace(s) == "" {
		return d
	}
	return s
}
