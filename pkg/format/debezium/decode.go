package debezium

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
)

// Decoder reads Debezium-style values back into events: Sluice's own (with
// the sluice.types header, exactly) and genuine Debezium MySQL connector
// output, with or without the {"schema","payload"} wrapper. For genuine
// messages, kinds come from the Connect schema when present (Debezium's
// default encodings: Decimal as scaled bytes, dates as epoch days,
// timestamps as epoch micro/milliseconds, ...), otherwise they are inferred
// from the JSON: integers Int (Uint above MaxInt64), other numbers Decimal
// with their exact text, booleans Bit, strings String, objects and arrays
// JSON. The value carries no key; DecodeKey sets e.Key from the record key.
// The decoded event does not alias value.
type Decoder struct{}

var _ format.Decoder = (*Decoder)(nil)

type payload struct {
	Before      jsontext.Value `json:"before"`
	After       jsontext.Value `json:"after"`
	Source      *sourceBlock   `json:"source"`
	Op          string         `json:"op"`
	TsMs        int64          `json:"ts_ms"`
	Transaction *struct {
		ID                  string `json:"id"`
		TotalOrder          uint64 `json:"total_order"`
		DataCollectionOrder uint64 `json:"data_collection_order"`
	} `json:"transaction"`
}

type sourceBlock struct {
	Version   string  `json:"version"`
	Connector string  `json:"connector"`
	Name      string  `json:"name"`
	TsMs      int64   `json:"ts_ms"`
	Snapshot  any     `json:"snapshot"` // "true"/"false"/"last"... or a bool in old versions
	DB        string  `json:"db"`
	Table     string  `json:"table"`
	ServerID  uint32  `json:"server_id"`
	GTID      *string `json:"gtid"`
	File      string  `json:"file"`
	Pos       uint64  `json:"pos"`
	Row       uint32  `json:"row"`
	Thread    *uint64 `json:"thread"`
}

type connectSchema struct {
	Type       string            `json:"type"`
	Name       string            `json:"name"`
	Field      string            `json:"field"`
	Parameters map[string]string `json:"parameters"`
	Fields     []connectSchema   `json:"fields"`
}

var ops = map[string]event.Op{"c": event.OpInsert, "u": event.OpUpdate, "d": event.OpDelete, "r": event.OpSnapshot}

// Decode implements format.Decoder.
func (*Decoder) Decode(value []byte, types []event.Column, e *event.Event) error {
	if len(bytes.TrimSpace(value)) == 0 || bytes.Equal(bytes.TrimSpace(value), []byte("null")) {
		return errors.New("debezium: empty or null value (a tombstone carries no change)")
	}
	body, schemaCols, err := unwrap(value)
	if err != nil {
		return err
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return fmt.Errorf("debezium: %w", err)
	}
	op, ok := ops[p.Op]
	if !ok {
		if p.Op == "t" {
			return errors.New(`debezium: op "t" (truncate) is not supported: truncate the target by hand or re-snapshot`)
		}
		return fmt.Errorf("debezium: op: %q is not one of c, u, d, r", p.Op)
	}
	if p.Source == nil {
		return errors.New("debezium: source: missing")
	}
	*e = event.Event{Op: op, Database: p.Source.DB, Table: p.Source.Table, SourceTimeMs: p.Source.TsMs, EmitTimeMs: p.TsMs}
	e.Source = event.Source{Connector: p.Source.Connector, Name: p.Source.Name, Version: p.Source.Version,
		ServerID: p.Source.ServerID, File: p.Source.File, Pos: p.Source.Pos, Row: p.Source.Row}
	if p.Source.GTID != nil {
		e.Source.GTID = *p.Source.GTID
	}
	if p.Source.Thread != nil {
		e.Source.Thread = *p.Source.Thread
	}
	if s := fmt.Sprint(p.Source.Snapshot); s != "false" && s != "<nil>" && s != "" && !(op == event.OpSnapshot && s == "true") {
		e.Source.Snapshot = s
	}
	if t := p.Transaction; t != nil {
		e.Tx = event.Tx{ID: t.ID, TableSeq: t.DataCollectionOrder}
		if t.TotalOrder > 0 {
			e.Tx.Seq = t.TotalOrder - 1
		}
	}
	cols := types
	if cols == nil {
		cols = schemaCols
	}
	needBefore := op == event.OpUpdate || op == event.OpDelete
	needAfter := op != event.OpDelete
	if needBefore && isNull(p.Before) {
		return fmt.Errorf("debezium: before: op %q needs a row image", p.Op)
	}
	if needAfter && isNull(p.After) {
		return fmt.Errorf("debezium: after: op %q needs a row image", p.Op)
	}
	if cols == nil { // genuine without schema: columns from the first image
		first := p.After
		if !needAfter {
			first = p.Before
		}
		if cols, err = inferColumns(first); err != nil {
			return err
		}
	}
	e.Columns = cols
	if needBefore {
		if e.Before, err = readRow(p.Before, cols, "before"); err != nil {
			return err
		}
	}
	if needAfter {
		if e.After, err = readRow(p.After, cols, "after"); err != nil {
			return err
		}
	}
	return nil
}

// DecodeKey sets e.Key from a Debezium-style record key ({"id":4}), matching
// key fields to e.Columns by name.
func (*Decoder) DecodeKey(key []byte, e *event.Event) error {
	fields, err := readObject(key, "key")
	if err != nil {
		return err
	}
	if len(fields) == 0 {
		return errors.New("debezium: key: empty object")
	}
	e.Key = e.Key[:0]
	for _, f := range fields {
		i := e.ColumnIndex(f.name)
		if i < 0 {
			return fmt.Errorf("debezium: key: field %q is not a column of %s.%s", f.name, e.Database, e.Table)
		}
		e.Key = append(e.Key, i)
	}
	return nil
}

func isNull(v jsontext.Value) bool { return len(v) == 0 || string(v) == "null" }

// unwrap returns the payload and, for wrapped messages, the columns of the
// "after" (or "before") struct of the Connect schema.
func unwrap(value []byte) ([]byte, []event.Column, error) {
	var w struct {
		Schema  *connectSchema  `json:"schema"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(value, &w); err != nil {
		return nil, nil, fmt.Errorf("debezium: %w", err)
	}
	if w.Payload == nil || w.Schema == nil {
		return value, nil, nil
	}
	for _, f := range w.Schema.Fields {
		if f.Field == "after" || f.Field == "before" {
			cols := make([]event.Column, len(f.Fields))
			for i, c := range f.Fields {
				cols[i] = refineBySourceType(connectColumn(c.Field, c.Type, c.Name, c.Parameters), c.Parameters)
			}
			return w.Payload, cols, nil
		}
	}
	return w.Payload, nil, nil
}

type rawField struct {
	name string
	val  jsontext.Value
	off  int64
}

func readObject(raw []byte, where string) ([]rawField, error) {
	d := jsontext.NewDecoder(bytes.NewReader(raw))
	tok, err := d.ReadToken()
	if err != nil {
		return nil, fmt.Errorf("debezium: %s: %w", where, err)
	}
	if tok.Kind() != '{' {
		return nil, fmt.Errorf("debezium: %s: want an object, got %v", where, tok.Kind())
	}
	var out []rawField
	for d.PeekKind() != '}' {
		off := d.InputOffset()
		tok, err := d.ReadToken()
		if err != nil {
			return nil, fmt.Errorf("debezium: %s at byte %d: %w", where, off, err)
		}
		name := tok.String() // read before the next call voids the token
		v, err := d.ReadValue()
		if err != nil {
			return nil, fmt.Errorf("debezium: %s.%s at byte %d: %w", where, name, off, err)
		}
		out = append(out, rawField{name: name, val: v.Clone(), off: off})
	}
	if _, err := d.ReadToken(); err != nil {
		return nil, fmt.Errorf("debezium: %s: %w", where, err)
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return nil, fmt.Errorf("debezium: %s: trailing data", where)
	}
	return out, nil
}

func inferColumns(raw jsontext.Value) ([]event.Column, error) {
	fields, err := readObject(raw, "row")
	if err != nil {
		return nil, err
	}
	cols := make([]event.Column, len(fields))
	for i, f := range fields {
		cols[i] = event.Column{Name: f.name, Kind: inferKind(f.val)}
	}
	return cols, nil
}

func inferKind(v jsontext.Value) event.Kind {
	switch v.Kind() {
	case 'n':
		return event.Null
	case 't', 'f':
		return event.Bit
	case '"':
		return event.String
	case '0':
		s := string(v)
		if strings.ContainsAny(s, ".eE") {
			return event.Decimal
		}
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			return event.Int
		}
		if _, err := strconv.ParseUint(s, 10, 64); err == nil {
			return event.Uint
		}
		return event.Decimal
	}
	return event.JSON
}

func readRow(raw jsontext.Value, cols []event.Column, which string) ([]event.Value, error) {
	fields, err := readObject(raw, which)
	if err != nil {
		return nil, err
	}
	row := make([]event.Value, len(cols))
	for _, f := range fields {
		i := -1
		for j := range cols {
			if cols[j].Name == f.name {
				i = j
				break
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("debezium: %s.%s at byte %d: not a column of the table's types", which, f.name, f.off)
		}
		v, err := decodeValue(&cols[i], f.val)
		if err != nil {
			return nil, fmt.Errorf("debezium: %s.%s at byte %d: %w", which, f.name, f.off, err)
		}
		row[i] = v
	}
	return row, nil
}

func decodeValue(col *event.Column, v jsontext.Value) (event.Value, error) {
	if v.Kind() == 'n' {
		return event.NullValue(), nil
	}
	kind := col.Kind
	if col.Kind == event.Null { // inferred from a null first value
		kind = inferKind(v)
	}
	str := func() (string, error) {
		if v.Kind() != '"' {
			return "", fmt.Errorf("want a string for a %s column, got %s", kind, v.Kind())
		}
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	}
	num := func() (string, error) {
		if v.Kind() != '0' {
			return "", fmt.Errorf("want a number for a %s column, got %s", kind, v.Kind())
		}
		return string(v), nil
	}
	switch kind {
	case event.Int, event.Year:
		s, err := num()
		if err != nil {
			return event.Value{}, err
		}
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			if u, uerr := strconv.ParseUint(s, 10, 64); uerr == nil {
				return event.UintValue(u), nil
			}
			return event.Value{}, fmt.Errorf("%s is not a 64-bit integer", s)
		}
		return event.Value{Kind: kind, I: i}, nil
	case event.Uint:
		s, err := num()
		if err != nil {
			return event.Value{}, err
		}
		u, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return event.Value{}, fmt.Errorf("%s is not an unsigned 64-bit integer", s)
		}
		return event.UintValue(u), nil
	case event.Float:
		if v.Kind() == '"' {
			s, _ := str()
			switch s {
			case "NaN":
				return event.FloatValue(math.NaN()), nil
			case "Infinity":
				return event.FloatValue(math.Inf(1)), nil
			case "-Infinity":
				return event.FloatValue(math.Inf(-1)), nil
			}
			return event.Value{}, fmt.Errorf("%q is not a float", s)
		}
		s, err := num()
		if err != nil {
			return event.Value{}, err
		}
		f, err := strconv.ParseFloat(s, floatBits(col))
		if err != nil {
			return event.Value{}, fmt.Errorf("%s is not a float", s)
		}
		return event.FloatValue(f), nil
	case event.Decimal:
		if v.Kind() == '0' { // genuine Debezium double mode, or inferred
			return event.DecimalValue(plainDecimal(string(v))), nil
		}
		s, err := str()
		if err != nil {
			return event.Value{}, err
		}
		if strings.HasPrefix(col.Type, "decimal(65,") && !isDecimalText(s) { // Connect Decimal: base64 unscaled
			return decimalFromBytes(s, col.Type)
		}
		if !isDecimalText(s) {
			return event.Value{}, fmt.Errorf("%q is not a decimal", s)
		}
		return event.DecimalValue(s), nil
	case event.String, event.Enum:
		s, err := str()
		return event.Value{Kind: kind, S: s}, err
	case event.Date:
		if v.Kind() == '0' { // io.debezium.time.Date: days since epoch
			days, err := strconv.ParseInt(string(v), 10, 32)
			if err != nil {
				return event.Value{}, err
			}
			return event.DateValue(time.Unix(days*86400, 0).UTC().Format("2006-01-02")), nil
		}
		s, err := str()
		return event.DateValue(s), err
	case event.DateTime, event.Timestamp:
		if v.Kind() == '0' { // epoch millis (Timestamp) or micros (MicroTimestamp)
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				return event.Value{}, err
			}
			var t time.Time
			if strings.HasSuffix(col.Type, "(3)") {
				t = time.UnixMilli(n).UTC()
				return event.Value{Kind: kind, S: t.Format("2006-01-02 15:04:05.000")}, nil
			}
			t = time.UnixMicro(n).UTC()
			return event.Value{Kind: kind, S: t.Format("2006-01-02 15:04:05.000000")}, nil
		}
		s, err := str()
		if err != nil {
			return event.Value{}, err
		}
		if kind == event.Timestamp {
			s = strings.TrimSuffix(s, "Z")
		}
		if len(s) > 10 && s[10] == 'T' {
			s = s[:10] + " " + s[11:]
		}
		return event.Value{Kind: kind, S: s}, nil
	case event.Time:
		if v.Kind() == '0' { // MicroTime (µs) or Time (ms)
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				return event.Value{}, err
			}
			if strings.HasSuffix(col.Type, "(3)") {
				n *= 1000
			}
			return event.TimeValue(microsToTime(n)), nil
		}
		s, err := str()
		return event.TimeValue(s), err
	case event.Bytes:
		s, err := str()
		if err != nil {
			return event.Value{}, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return event.Value{}, fmt.Errorf("not base64: %w", err)
		}
		return event.BytesValue(b), nil
	case event.Bit:
		if v.Kind() == 't' || v.Kind() == 'f' {
			return event.BitValue(map[bool]uint64{true: 1}[v.Kind() == 't']), nil
		}
		s, err := str()
		if err != nil {
			return event.Value{}, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) > 8 {
			return event.Value{}, fmt.Errorf("bits %q: want base64 of at most 8 bytes", s)
		}
		var u uint64
		for i, x := range b {
			u |= uint64(x) << (8 * i)
		}
		return event.BitValue(u), nil
	case event.Set:
		s, err := str()
		if err != nil {
			return event.Value{}, err
		}
		if s == "" {
			return event.SetValue([]string{}), nil
		}
		return event.SetValue(strings.Split(s, ",")), nil
	case event.JSON:
		if v.Kind() != '"' { // inferred: an embedded object or array
			return event.JSONValue(bytes.Clone(v)), nil
		}
		s, err := str()
		if err != nil {
			return event.Value{}, err
		}
		if !json.Valid([]byte(s)) {
			return event.Value{}, fmt.Errorf("JSON column holds invalid JSON %q", truncate(s))
		}
		return event.JSONValue([]byte(s)), nil
	}
	return event.Value{}, fmt.Errorf("cannot decode a %s value", kind)
}

// plainDecimal rewrites a JSON number with an exponent ("1.5e-3") as plain
// decimal text ("0.0015"), exactly: the decimal point moves, no digit is
// rounded. Numbers without an exponent are returned as they are.
func plainDecimal(num string) string {
	i := strings.IndexAny(num, "eE")
	if i < 0 {
		return num
	}
	exp, err := strconv.Atoi(num[i+1:])
	if err != nil || exp > 10000 || exp < -10000 {
		return num // absurd exponents stay as text and fail validation later
	}
	mant, neg := num[:i], false
	if strings.HasPrefix(mant, "-") {
		mant, neg = mant[1:], true
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	point := len(intPart) + exp
	for point <= 0 {
		digits, point = "0"+digits, point+1
	}
	for point > len(digits) {
		digits += "0"
	}
	out := strings.TrimLeft(digits[:point], "0")
	if out == "" {
		out = "0"
	}
	if f := strings.TrimRight(digits[point:], "0"); f != "" {
		out += "." + f
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return out
}

func isDecimalText(s string) bool {
	if s == "" {
		return false
	}
	_, ok := new(big.Rat).SetString(s)
	return ok && !strings.ContainsAny(s, "/eE") && s != "+" && s[0] != '+'
}

// decimalFromBytes decodes Connect's Decimal: base64 of the big-endian
// two's-complement unscaled value; the scale is in the column type.
func decimalFromBytes(s, typ string) (event.Value, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return event.Value{}, fmt.Errorf("decimal %q is neither text nor base64: %w", s, err)
	}
	scale, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(typ, "decimal(65,"), ")"))
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	digits := n.String()
	neg := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	if scale > 0 {
		for len(digits) <= scale {
			digits = "0" + digits
		}
		digits = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if neg {
		digits = "-" + digits
	}
	return event.DecimalValue(digits), nil
}

func microsToTime(us int64) string {
	sign := ""
	if us < 0 {
		sign, us = "-", -us
	}
	h := us / 3_600_000_000
	m := us / 60_000_000 % 60
	s := us / 1_000_000 % 60
	return fmt.Sprintf("%s%02d:%02d:%02d.%06d", sign, h, m, s, us%1_000_000)
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
