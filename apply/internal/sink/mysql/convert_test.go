package mysql

import (
	"bytes"
	"database/sql"
	"math"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
)

func TestBitBytes(t *testing.T) {
	cases := []struct {
		u     uint64
		width int
		want  []byte
	}{
		{0, 1, []byte{0}},
		{1, 1, []byte{1}},
		{2, 1, []byte{2}}, // too wide: the server refuses it
		{0x1ff, 9, []byte{1, 0xff}},
		{0x1ff, 12, []byte{1, 0xff}},
		{0, 64, make([]byte, 8)},
		{math.MaxUint64, 64, bytes.Repeat([]byte{0xff}, 8)},
		{0x10000, 16, []byte{1, 0, 0}},
	}
	for _, c := range cases {
		if got := bitBytes(c.u, c.width); !bytes.Equal(got, c.want) {
			t.Errorf("bitBytes(%#x, %d) = %x, want %x", c.u, c.width, got, c.want)
		}
	}
}

func TestIsZeroDate(t *testing.T) {
	for s, want := range map[string]bool{
		"0000-00-00": true, "0000-00-00 00:00:00.000000": true, "2024-00-10": true, "2024-05-00 12:00:00": true,
		"0000-01-01": false, "1000-01-01": false, "9999-12-31 23:59:59": false, "-838:59:59": false, "": false,
	} {
		if got := isZeroDate(s); got != want {
			t.Errorf("isZeroDate(%q) = %v", s, got)
		}
	}
}

func TestParam(t *testing.T) {
	s := &Sink{cfg: Config{ZeroDates: ZeroDatesKeep}}
	bit12 := &column{dataType: "bit", bitWidth: 12}
	cases := []struct {
		v    event.Value
		c    *column
		want any
	}{
		{event.NullValue(), nil, nil},
		{event.UintValue(math.MaxUint64), nil, uint64(math.MaxUint64)},
		{event.IntValue(math.MinInt64), nil, int64(math.MinInt64)},
		{event.DecimalValue("-0.000001"), nil, "-0.000001"},
		{event.FloatValue(float64(float32(-1.17549435e-38))), nil, float64(float32(-1.17549435e-38))},
		{event.BitValue(5), bit12, []byte{0, 5}},
		{event.BitValue(5), &column{dataType: "bigint"}, uint64(5)},
		{event.SetValue([]string{"a", "c"}), nil, "a,c"},
		{event.SetValue([]string{}), nil, ""},
		{event.JSONValue([]byte(`{"a":1}`)), nil, `{"a":1}`},
		{event.BytesValue(nil), nil, []byte{}},
		{event.TimeValue("-838:59:59.000000"), nil, "-838:59:59.000000"},
		{event.DateValue("0000-00-00"), nil, "0000-00-00"},
		{event.YearValue(2155), nil, int64(2155)},
	}
	for _, c := range cases {
		got, err := s.param(c.v, &event.Column{Type: "any"}, c.c)
		if err != nil {
			t.Errorf("param(%v): %v", c.v, err)
			continue
		}
		if b, ok := c.want.([]byte); ok {
			if gb, ok := got.([]byte); !ok || !bytes.Equal(gb, b) || gb == nil {
				t.Errorf("param(%v) = %#v, want %#v", c.v, got, c.want)
			}
			continue
		}
		if got != c.want {
			t.Errorf("param(%v) = %#v, want %#v", c.v, got, c.want)
		}
	}
}

// TestParamUntyped: values of unknown source type (genuine Maxwell and
// Debezium without the Connect schema) are read by the target column's
// type; the same values with a source type pass unchanged.
func TestParamUntyped(t *testing.T) {
	s := &Sink{cfg: Config{ZeroDates: ZeroDatesNull}}
	col := func(dataType string, scale, frac sql.NullInt64) *column {
		return &column{dataType: dataType, untyped: untypedTarget(dataType, scale, frac)}
	}
	n := func(i int64) sql.NullInt64 { return sql.NullInt64{Int64: i, Valid: true} }
	none := sql.NullInt64{}
	str, i64 := event.StringValue, event.IntValue
	untyped := &event.Column{Name: "c", Kind: event.String}
	for _, c := range []struct {
		name string
		v    event.Value
		c    *column
		want any // an error is "!"
	}{
		{"base64 into blob", str("AAEC/w=="), col("blob", none, none), []byte{0, 1, 2, 0xff}},
		{"base64 into varbinary", str("CQ=="), col("varbinary", none, none), []byte{9}},
		{"base64 into binary", str(""), col("binary", none, none), []byte{}},
		{"invalid base64 into longblob", str("AAEC/w="), col("longblob", none, none), "!"},
		{"base64 into text stays text", str("AAEC/w=="), col("text", none, none), "AAEC/w=="},
		{"JSON array into JSON", event.JSONValue([]byte(`["a","b"]`)), col("json", none, none), `["a","b"]`},
		{"JSON array into MariaDB JSON (longtext)", event.JSONValue([]byte(`[]`)), col("longtext", none, none), `[]`},
		{"JSON array into SET", event.JSONValue([]byte(`["b","c"]`)), col("set", none, none), "b,c"},
		{"empty JSON array into SET", event.JSONValue([]byte(`[]`)), col("set", none, none), ""},
		{"epoch days into date", i64(19844), col("date", none, none), "2024-05-01"},
		{"epoch micros into datetime(6)", i64(1714566896123456), col("datetime", none, n(6)), "2024-05-01 12:34:56.123456"},
		{"epoch millis into datetime(3)", i64(1714566896123), col("datetime", none, n(3)), "2024-05-01 12:34:56.123000"},
		{"epoch millis into datetime(0)", i64(946684799000), col("datetime", none, n(0)), "1999-12-31 23:59:59"},
		{"micros of day into time(6)", i64(45296000001), col("time", none, n(6)), "12:34:56.000001"},
		{"zoned timestamp into timestamp", str("2000-01-01T00:00:00Z"), col("timestamp", none, n(6)), "2000-01-01 00:00:00"},
		{"zoned timestamp into datetime", str("2024-05-01T12:34:56.5Z"), col("datetime", none, n(6)), "2024-05-01 12:34:56.500000"},
		{"Maxwell zero date gets the policy", str("0000-00-00"), col("date", none, none), nil},
		{"precise decimal", str("CZI="), col("decimal", n(2), none), "24.50"},
		{"string decimal", str("24.50"), col("decimal", n(2), none), "24.50"},
		{"bad decimal", str("x"), col("decimal", n(2), none), "!"},
		{"integer into int stays", i64(7), col("int", n(0), none), int64(7)},
	} {
		got, err := s.param(c.v, untyped, c.c)
		if err != nil {
			if c.want != "!" {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if b, ok := c.want.([]byte); ok {
			if gb, ok := got.([]byte); !ok || !bytes.Equal(gb, b) || gb == nil {
				t.Errorf("%s: got %#v, want %#v", c.name, got, c.want)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%s: got %#v, want %#v", c.name, got, c.want)
		}
	}
	// With a source type nothing is guessed: base64 text into a BLOB is
	// a typed string's bytes, an integer into DATE is the server's to refuse.
	typed := &event.Column{Name: "c", Type: "varchar(10)", Kind: event.String}
	if got, _ := s.param(str("CQ=="), typed, col("blob", none, none)); got != "CQ==" {
		t.Errorf("typed string into blob: %#v", got)
	}
	if got, _ := s.param(i64(19844), &event.Column{Type: "int"}, col("date", none, none)); got != int64(19844) {
		t.Errorf("typed int into date: %#v", got)
	}
}

func TestValueText(t *testing.T) {
	long := strings.Repeat("é", 150)
	got := valueText(event.StringValue(long))
	if !strings.HasSuffix(got, "...") || len(got) > maxValueText+3 {
		t.Errorf("long value not shortened: %d bytes", len(got))
	}
	if got := valueText(event.BytesValue([]byte{0, 0xff})); got != "0x00ff" {
		t.Errorf("bytes as %q", got)
	}
}
