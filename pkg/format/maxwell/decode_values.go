package maxwell

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// next reads the next whole value and returns its text, a substring of the
// message, and the byte offset where it starts.
func (st *decodeState) next() (string, int64, error) {
	raw, err := st.dec.ReadValue()
	end := st.dec.InputOffset()
	if err != nil {
		return "", end, err
	}
	off := end - int64(len(raw))
	if off < 0 || end > int64(len(st.src)) {
		return "", end, errors.New("decoder offset outside the message")
	}
	return st.src[off:end], off, nil
}

// unquote returns the text of a JSON string already validated by jsontext.
// Strings without escapes, nearly all of them, cost no allocation.
func unquote(raw string) (string, error) {
	if strings.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1], nil
	}
	b, err := jsontext.AppendUnquote(nil, raw)
	return string(b), err
}

// shape names the JSON kind of raw for error messages.
func shape(raw string) string {
	switch raw[0] {
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "a number"
}

func isNumber(raw string) bool { return raw[0] == '-' || isDigit(raw[0]) }

func (st *decodeState) readString() (string, int64, error) {
	raw, off, err := st.next()
	if err != nil {
		return "", off, err
	}
	if raw[0] != '"' {
		return "", off, fmt.Errorf("want a string, got %s", shape(raw))
	}
	s, err := unquote(raw)
	return s, off, err
}

// readOptString reads a string or null (Maxwell writes "gtid":null when
// the server has no GTIDs).
func (st *decodeState) readOptString() (string, int64, error) {
	if st.dec.PeekKind() == 'n' {
		_, off, err := st.next()
		return "", off, err
	}
	return st.readString()
}

func (st *decodeState) readInt() (int64, int64, error) {
	raw, off, err := st.next()
	if err != nil {
		return 0, off, err
	}
	if !isNumber(raw) {
		return 0, off, fmt.Errorf("want an integer, got %s", shape(raw))
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	return v, off, err
}

func (st *decodeState) readUint() (uint64, int64, error) {
	raw, off, err := st.next()
	if err != nil {
		return 0, off, err
	}
	if !isNumber(raw) {
		return 0, off, fmt.Errorf("want an unsigned integer, got %s", shape(raw))
	}
	v, err := strconv.ParseUint(raw, 10, 64)
	return v, off, err
}

func (st *decodeState) readBool() (bool, int64, error) {
	raw, off, err := st.next()
	if err != nil {
		return false, off, err
	}
	if raw != "true" && raw != "false" {
		return false, off, fmt.Errorf("want a boolean, got %s", shape(raw))
	}
	return raw == "true", off, nil
}

// readPKColumns reads primary_key_columns, an array of column names.
func (st *decodeState) readPKColumns() error {
	const field = "primary_key_columns"
	if st.dec.PeekKind() != '[' {
		_, off, err := st.next()
		if err == nil {
			err = errors.New("want an array of column names")
		}
		return decErr(field, off, err)
	}
	if _, err := st.dec.ReadToken(); err != nil {
		return decErr(field, st.dec.InputOffset(), err)
	}
	for st.dec.PeekKind() != ']' {
		name, off, err := st.readString()
		if err != nil {
			return decErr(field, off, err)
		}
		st.pk = append(st.pk, name)
	}
	if _, err := st.dec.ReadToken(); err != nil {
		return decErr(field, st.dec.InputOffset(), err)
	}
	return nil
}

// readRow reads "data" or "old": an object of column name to value.
func (st *decodeState) readRow(dst *[]field, which string) error {
	if st.dec.PeekKind() != '{' {
		_, off, err := st.next()
		if err == nil {
			err = errors.New("want an object of column values")
		}
		return decErr(which, off, err)
	}
	if _, err := st.dec.ReadToken(); err != nil {
		return decErr(which, st.dec.InputOffset(), err)
	}
	if st.types != nil {
		st.seen = slices.Grow(st.seen[:0], (len(st.types)+63)/64)[:(len(st.types)+63)/64]
		clear(st.seen)
	}
	for st.dec.PeekKind() != '}' {
		name, off, err := st.readString()
		if err != nil {
			return decErr(which, off, err)
		}
		f := field{name: name, col: -1}
		var col *event.Column
		if st.types != nil {
			if f.col = lookup(st.types, name, len(*dst)); f.col < 0 {
				return decErr(which+"."+name, off, errors.New("no such column in the sluice.types header"))
			}
			if st.seen[f.col/64]&(1<<(f.col%64)) != 0 {
				return decErr(which+"."+name, off, errors.New("duplicate column"))
			}
			st.seen[f.col/64] |= 1 << (f.col % 64)
			col = &st.types[f.col]
		} else if slices.ContainsFunc(*dst, func(g field) bool { return g.name == name }) {
			return decErr(which+"."+name, off, errors.New("duplicate column"))
		}
		if f.v, f.off, err = st.readValue(col); err != nil {
			return decErr(which+"."+name, f.off, err)
		}
		*dst = append(*dst, f)
	}
	if _, err := st.dec.ReadToken(); err != nil {
		return decErr(which, st.dec.InputOffset(), err)
	}
	return nil
}

// lookup finds a column by name, trying hint first: data lists the
// columns in order, so the hint nearly always hits.
func lookup(cols []event.Column, name string, hint int) int {
	if hint >= 0 && hint < len(cols) && cols[hint].Name == name {
		return hint
	}
	for i := range cols {
		if cols[i].Name == name {
			return i
		}
	}
	return -1
}

// readValue reads one column value; col is nil when kinds are inferred.
func (st *decodeState) readValue(col *event.Column) (event.Value, int64, error) {
	if st.dec.PeekKind() == '[' {
		return st.readArray(col)
	}
	raw, off, err := st.next()
	if err != nil {
		return event.Value{}, off, err
	}
	if raw == "null" {
		return event.NullValue(), off, nil
	}
	if col == nil || col.Kind == event.Absent || col.Kind == event.Null {
		v, err := infer(raw)
		return v, off, err
	}
	v, err := typed(col, raw)
	return v, off, err
}

// readArray reads an array value: a SET for a SET column (which must hold
// only strings), raw JSON for a JSON column or an unknown one. Without a
// column type an array of strings stays JSON: Maxwell writes SET members
// and a JSON array of strings alike, and only the target can tell them
// apart.
func (st *decodeState) readArray(col *event.Column) (event.Value, int64, error) {
	if _, err := st.dec.ReadToken(); err != nil {
		return event.Value{}, st.dec.InputOffset(), err
	}
	start := st.dec.InputOffset() - 1
	kind := event.Absent
	if col != nil {
		kind = col.Kind
	}
	var members []string
	if kind == event.Set {
		members = []string{}
	}
	strs := true
	for st.dec.PeekKind() != ']' {
		raw, off, err := st.next()
		if err != nil {
			return event.Value{}, off, err
		}
		if raw[0] != '"' {
			strs = false
			continue
		}
		if kind != event.Set {
			continue
		}
		m, err := unquote(raw)
		if err != nil {
			return event.Value{}, off, err
		}
		members = append(members, m)
	}
	if _, err := st.dec.ReadToken(); err != nil {
		return event.Value{}, st.dec.InputOffset(), err
	}
	end := st.dec.InputOffset()
	if start < 0 || end > int64(len(st.src)) {
		return event.Value{}, start, errors.New("decoder offset outside the message")
	}
	raw := st.src[start:end]
	switch {
	case kind == event.Set && strs:
		return event.SetValue(members), start, nil
	case kind == event.JSON, kind == event.Absent, kind == event.Null:
		return event.JSONValue([]byte(raw)), start, nil
	case kind == event.Set:
		return event.Value{}, start, fmt.Errorf("want an array of strings for column type %q", col.Type)
	}
	return event.Value{}, start, fmt.Errorf("want %s for column type %q, got an array", want(kind), col.Type)
}

// infer maps a JSON value to a kind when no column type is known.
func infer(raw string) (event.Value, error) {
	switch raw[0] {
	case '"':
		s, err := unquote(raw)
		return event.StringValue(s), err
	case '{', 't', 'f':
		return event.JSONValue([]byte(raw)), nil
	}
	if !strings.ContainsAny(raw, ".eE") {
		if v, err := strconv.ParseInt(raw, 10, 64); err == nil {
			return event.IntValue(v), nil
		}
		if v, err := strconv.ParseUint(raw, 10, 64); err == nil {
			return event.UintValue(v), nil
		}
	}
	// Fractions, exponents and integers beyond 64 bits keep their text.
	return event.DecimalValue(raw), nil
}

// typed reads raw as a value of the column's kind.
func typed(col *event.Column, raw string) (event.Value, error) {
	k := col.Kind
	mismatch := func() (event.Value, error) {
		return event.Value{}, fmt.Errorf("want %s for column type %q, got %s", want(k), col.Type, shape(raw))
	}
	switch k {
	case event.Int, event.Year:
		if !isNumber(raw) {
			return mismatch()
		}
		v, err := strconv.ParseInt(raw, 10, 64)
		return event.Value{Kind: k, I: v}, err
	case event.Uint, event.Bit:
		switch {
		case k == event.Bit && raw == "true":
			return event.BitValue(1), nil
		case k == event.Bit && raw == "false":
			return event.BitValue(0), nil
		case !isNumber(raw):
			return mismatch()
		}
		v, err := strconv.ParseUint(raw, 10, 64)
		return event.Value{Kind: k, U: v}, err
	case event.Float:
		switch raw {
		case `"NaN"`:
			return event.FloatValue(math.NaN()), nil
		case `"Infinity"`:
			return event.FloatValue(math.Inf(1)), nil
		case `"-Infinity"`:
			return event.FloatValue(math.Inf(-1)), nil
		}
		if !isNumber(raw) {
			return mismatch()
		}
		f, err := strconv.ParseFloat(raw, floatBits(col))
		return event.FloatValue(f), err
	case event.Decimal:
		if !isNumber(raw) {
			return mismatch()
		}
		return event.DecimalValue(raw), nil
	case event.String, event.Enum, event.Date, event.DateTime, event.Timestamp, event.Time:
		if raw[0] != '"' {
			return mismatch()
		}
		s, err := unquote(raw)
		return event.Value{Kind: k, S: s}, err
	case event.Bytes:
		if raw[0] != '"' {
			return mismatch()
		}
		s, err := unquote(raw)
		if err != nil {
			return event.Value{}, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return event.Value{}, fmt.Errorf("binary column type %q: %w", col.Type, err)
		}
		return event.BytesValue(b), nil
	case event.JSON:
		return event.JSONValue([]byte(raw)), nil
	case event.Set:
		return mismatch()
	}
	return event.Value{}, fmt.Errorf("column type %q has unknown kind %v", col.Type, k)
}

func want(k event.Kind) string {
	switch k {
	case event.Int, event.Year:
		return "an integer"
	case event.Uint, event.Bit:
		return "an unsigned integer"
	case event.Float, event.Decimal:
		return "a number"
	case event.Bytes:
		return "a base64 string"
	case event.Set:
		return "an array of strings"
	}
	return "a string"
}
