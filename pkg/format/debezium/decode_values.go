package debezium

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// inferValue reads a value without a column type (raw is not null).
func inferValue(raw string) (event.Value, error) {
	switch raw[0] {
	case 'n':
		return event.NullValue(), nil
	case 't':
		return event.BitValue(1), nil
	case 'f':
		return event.BitValue(0), nil
	case '"':
		s, err := unquote(raw)
		return event.StringValue(s), err
	case '{', '[':
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
	d, err := plainDecimal(raw)
	return event.DecimalValue(d), err
}

// typedValue reads raw (not null) as a value of the column's kind, written
// in wire form w.
func typedValue(col *event.Column, w colWire, raw string) (event.Value, error) {
	k := col.Kind
	mismatch := func(want string) (event.Value, error) {
		return event.Value{}, fmt.Errorf("want %s for a %s column, got %s", want, typeName(col), shape(raw))
	}
	str := func() (string, error) {
		if raw[0] != '"' {
			return "", fmt.Errorf("want a string for a %s column, got %s", typeName(col), shape(raw))
		}
		return unquote(raw)
	}
	switch k {
	case event.Int, event.Year:
		if !isNumber(raw) {
			return mismatch("an integer")
		}
		v, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return event.Value{}, fmt.Errorf("%s is not a 64-bit integer", raw)
		}
		return event.Value{Kind: k, I: v}, nil
	case event.Uint:
		if w.w == wireDecimalBytes {
			s, err := str()
			if err != nil {
				return event.Value{}, err
			}
			return uintFromDecimalBytes(s)
		}
		if !isNumber(raw) {
			return mismatch("an unsigned integer")
		}
		v, err := strconv.ParseUint(raw, 10, 64)
		if err != nil {
			return event.Value{}, fmt.Errorf("%s is not an unsigned 64-bit integer", raw)
		}
		return event.UintValue(v), nil
	case event.Float:
		return floatValue(col, raw)
	case event.Decimal:
		// A number is exact text too (decimal.handling.mode=double, or
		// a hand-written value); an exponent is moved into the digits.
		if isNumber(raw) {
			d, err := plainDecimal(raw)
			return event.DecimalValue(d), err
		}
		s, err := str()
		if err != nil {
			return event.Value{}, err
		}
		if w.w == wireDecimalBytes {
			return DecimalFromBytes(s, w.scale)
		}
		if !event.IsDecimalText(s) {
			return event.Value{}, fmt.Errorf("%q is not a decimal number", truncate(s))
		}
		return event.DecimalValue(s), nil
	case event.String, event.Enum:
		s, err := str()
		return event.Value{Kind: k, S: s}, err
	case event.Date, event.DateTime, event.Timestamp, event.Time:
		return temporalValue(col, w, raw)
	case event.Bytes:
		s, err := str()
		if err != nil {
			return event.Value{}, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return event.Value{}, fmt.Errorf("not standard base64: %w", err)
		}
		return event.BytesValue(b), nil
	case event.Bit:
		return bitValue(col, raw)
	case event.Set:
		// MySQL forbids commas in SET labels, so the split is exact.
		s, err := str()
		if err != nil {
			return event.Value{}, err
		}
		if s == "" {
			return event.SetValue([]string{}), nil
		}
		return event.SetValue(strings.Split(s, ",")), nil
	case event.JSON:
		if raw[0] == '{' || raw[0] == '[' { // a Connect struct or array
			return event.JSONValue([]byte(raw)), nil
		}
		s, err := str()
		if err != nil {
			return event.Value{}, err
		}
		if !json.Valid([]byte(s)) {
			return event.Value{}, fmt.Errorf("a JSON column holds invalid JSON %q", truncate(s))
		}
		return event.JSONValue([]byte(s)), nil
	}
	return event.Value{}, fmt.Errorf("a %s column has no value form (kind %v)", typeName(col), k)
}

// typeName names a column's type for errors; inferred columns have none.
func typeName(col *event.Column) string {
	if col.Type != "" {
		return col.Type
	}
	return col.Kind.String()
}

// floatValue reads FLOAT at 32 bits, so the value is the float32 the
// server held (widened exactly), and DOUBLE at 64. Non-finite values come
// as the strings jsonw.Float writes.
func floatValue(col *event.Column, raw string) (event.Value, error) {
	switch raw {
	case `"NaN"`:
		return event.FloatValue(math.NaN()), nil
	case `"Infinity"`:
		return event.FloatValue(math.Inf(1)), nil
	case `"-Infinity"`:
		return event.FloatValue(math.Inf(-1)), nil
	}
	if !isNumber(raw) {
		return event.Value{}, fmt.Errorf("want a number for a %s column, got %s", typeName(col), shape(raw))
	}
	f, err := strconv.ParseFloat(raw, floatBits(col))
	if err != nil {
		return event.Value{}, fmt.Errorf("%s is out of range for a %s column", raw, typeName(col))
	}
	return event.FloatValue(f), nil
}

// bitValue reads BIT(1) as a boolean and wider BITs as little-endian
// base64 bytes, refusing bits beyond the column's width: the encoder would
// drop them, so accepting them would make a second trip differ.
func bitValue(col *event.Column, raw string) (event.Value, error) {
	n := bitWidth(col.Type)
	if raw == "true" || raw == "false" {
		if n != 1 {
			return event.Value{}, fmt.Errorf("a boolean in a %s column (only BIT(1) is written as one)", typeName(col))
		}
		if raw == "true" {
			return event.BitValue(1), nil
		}
		return event.BitValue(0), nil
	}
	if n == 1 {
		return event.Value{}, fmt.Errorf("want true or false for a %s column, got %s", typeName(col), shape(raw))
	}
	if raw[0] != '"' {
		return event.Value{}, fmt.Errorf("want base64 bytes for a %s column, got %s", typeName(col), shape(raw))
	}
	s, err := unquote(raw)
	if err != nil {
		return event.Value{}, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) > 8 {
		return event.Value{}, fmt.Errorf("bits %q: want base64 of at most 8 bytes", truncate(s))
	}
	var u uint64
	for i, x := range b {
		u |= uint64(x) << (8 * i)
	}
	if n < 64 && u>>n != 0 {
		return event.Value{}, fmt.Errorf("bits %q do not fit a %s column", s, typeName(col))
	}
	return event.BitValue(u), nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
