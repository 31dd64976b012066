package binlog

import (
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// convertRow turns one go-mysql row image into the published event values.
// Every conversion is exact (pkg/event/value.go); a value the reader cannot
// represent exactly is an error naming the column, never a guess.
func (t *table) convertRow(row []any) ([]event.Value, error) {
	if len(row) != len(t.cols) {
		return nil, fatalf("%s.%s: a row has %d values for %d columns", t.db, t.table, len(row), len(t.cols))
	}
	out := make([]event.Value, len(t.keep))
	for j, i := range t.keep {
		v, err := convertValue(t.cols[i].Kind, &t.conv[i], row[i])
		if err != nil {
			return nil, fatalf("%s.%s.%s (%s): %w", t.db, t.table, t.cols[i].Name, t.cols[i].Type, err)
		}
		out[j] = v
	}
	return out, nil
}

// convertValue converts one decoded value. go-mysql decodes with
// UseDecimal=false and ParseTime=false, so decimals and temporal values
// arrive as text, TIMESTAMP already in UTC.
func convertValue(kind event.Kind, c *colConv, v any) (event.Value, error) {
	if v == nil {
		return event.NullValue(), nil
	}
	switch kind {
	case event.Int:
		if n, ok := signed(v); ok {
			return event.IntValue(n), nil
		}
	case event.Uint:
		if n, ok := unsigned(v); ok {
			return event.UintValue(n), nil
		}
	case event.Float:
		switch f := v.(type) {
		case float32:
			return event.FloatValue(float64(f)), nil // widening is exact
		case float64:
			return event.FloatValue(f), nil
		}
	case event.Decimal:
		if s, ok := v.(string); ok {
			return event.DecimalValue(s), nil // the stored digits, scale zeros included
		}
	case event.Date:
		if s, ok := v.(string); ok {
			return event.DateValue(s), nil
		}
	case event.DateTime, event.Timestamp, event.Time:
		if s, ok := v.(string); ok {
			return event.Value{Kind: kind, S: padFraction(s, c.fsp)}, nil
		}
	case event.Year:
		if n, ok := signed(v); ok {
			return event.YearValue(n), nil
		}
	case event.Bit:
		if n, ok := signed(v); ok {
			return event.BitValue(uint64(n)), nil // go-mysql packs BIT(64) into an int64
		}
	case event.Enum:
		if n, ok := signed(v); ok {
			return enumValue(n, c.labels)
		}
	case event.Set:
		if n, ok := signed(v); ok {
			return setValue(uint64(n), c.labels)
		}
	case event.String:
		switch s := v.(type) {
		case string:
			return event.StringValue(s), nil
		case []byte:
			return event.StringValue(string(s)), nil
		}
	case event.Bytes:
		return bytesValue(v, c.binaryLen)
	case event.JSON:
		switch s := v.(type) {
		case string:
			return jsonValue([]byte(s)), nil
		case []byte:
			return jsonValue(s[:len(s):len(s)]), nil
		case *replication.JsonDiff:
			return event.Value{}, fmt.Errorf("a partial JSON update: the server must log full JSON values (binlog_row_value_options='')")
		}
	}
	return event.Value{}, fmt.Errorf("unexpected decoded value %T for a %v column", v, kind)
}

// jsonValue keeps the document's text. An empty document (MySQL writes
// one for INSERT IGNORE of NULL into a NOT NULL JSON column) is JSON null,
// as the server itself reads it.
func jsonValue(b []byte) event.Value {
	if len(b) == 0 {
		return event.JSONValue([]byte("null"))
	}
	return event.JSONValue(b)
}

// bytesValue returns binary data. BINARY(n) is padded back to n bytes: the
// binlog drops its trailing 0x00 bytes, which are part of the value the
// server stores and returns.
func bytesValue(v any, binaryLen int) (event.Value, error) {
	var b []byte
	switch s := v.(type) {
	case string:
		b = []byte(s)
	case []byte:
		// The slice points into the event's packet; cap it so nobody
		// appends over the bytes that follow.
		b = s[:len(s):len(s)]
	default:
		return event.Value{}, fmt.Errorf("unexpected decoded value %T for a bytes column", v)
	}
	if len(b) < binaryLen {
		padded := make([]byte, binaryLen)
		copy(padded, b)
		b = padded
	}
	return event.BytesValue(b), nil
}

// enumValue maps an ENUM index to its label; index 0 is the empty string
// the server stores for an invalid value.
func enumValue(n int64, labels []string) (event.Value, error) {
	if n == 0 {
		return event.EnumValue(""), nil
	}
	if n < 0 || n > int64(len(labels)) {
		return event.Value{}, fmt.Errorf("enum index %d outside its %d labels", n, len(labels))
	}
	return event.EnumValue(labels[n-1]), nil
}

// setValue maps a SET bitmask to its members in definition order.
func setValue(mask uint64, labels []string) (event.Value, error) {
	members := []string{}
	for i, l := range labels {
		if i < 64 && mask&(1<<i) != 0 {
			members = append(members, l)
			mask &^= 1 << i
		}
	}
	if mask != 0 {
		return event.Value{}, fmt.Errorf("set bits %#x beyond its %d members", mask, len(labels))
	}
	return event.SetValue(members), nil
}

// padFraction gives temporal text exactly fsp fractional digits: go-mysql
// leaves the fraction out of TIME values without one, but the column's
// text form always has it ("838:59:59.000000").
func padFraction(s string, fsp int) string {
	if fsp == 0 {
		return s
	}
	dot := strings.LastIndexByte(s, '.')
	if dot < 0 || strings.LastIndexByte(s, ':') > dot {
		return s + "." + strings.Repeat("0", fsp)
	}
	if have := len(s) - dot - 1; have < fsp {
		return s + strings.Repeat("0", fsp-have)
	}
	return s
}

// signed returns a decoded integer as int64.
func signed(v any) (int64, bool) {
	switch n := v.(type) {
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	}
	return 0, false
}

// unsigned returns a decoded unsigned integer as uint64. go-mysql decodes
// a column as unsigned when the table map's signedness metadata says so
// (part of binlog_row_metadata=FULL), so a signed Go type here means the
// metadata and the column disagree: an error, not a reinterpretation,
// since the width of a sign-extended MEDIUMINT is no longer known.
func unsigned(v any) (uint64, bool) {
	switch n := v.(type) {
	case uint8:
		return uint64(n), true
	case uint16:
		return uint64(n), true
	case uint32:
		return uint64(n), true
	case uint64:
		return n, true
	}
	return 0, false
}
