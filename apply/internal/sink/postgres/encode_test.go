package postgres

import (
	"encoding/hex"
	"math"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// The conversions' edges, without a server: the output is what
// PostgreSQL's input function receives, "!" an error, "NULL?" the zero
// date signal.
func TestEncode(t *testing.T) {
	col := func(f family, typmod int32) *column { return &column{typ: "t", fam: f, typmod: typmod} }
	numeric := func(p, s int) *column { return col(famNumeric, int32(p<<16|(s&0x7ff))+4) }
	src := func(typ string) *event.Column { return &event.Column{Type: typ, Kind: event.KindOf(typ)} }
	for _, c := range []struct {
		name string
		c    *column
		src  string
		v    event.Value
		want string
	}{
		{"int2 min", col(famInt2, -1), "smallint", i64(math.MinInt16), "-32768"},
		{"int2 below min", col(famInt2, -1), "int", i64(math.MinInt16 - 1), "!"},
		{"int8 min", col(famInt8, -1), "bigint", i64(math.MinInt64), "-9223372036854775808"},
		{"uint into int8 max", col(famInt8, -1), "bigint unsigned", u64(math.MaxInt64), "9223372036854775807"},
		{"decimal integer into int4", col(famInt4, -1), "decimal(10,3)", event.DecimalValue("-12.000"), "-12"},
		{"decimal -0 into int4", col(famInt4, -1), "decimal(10,3)", event.DecimalValue("-0.000"), "0"},
		{"decimal too big for int8", col(famInt8, -1), "decimal(30,0)", event.DecimalValue("9223372036854775808"), "!"},
		{"numeric fits", numeric(5, 2), "decimal(5,2)", event.DecimalValue("-999.99"), "-999.99"},
		{"numeric trailing zeros are not rounding", numeric(5, 2), "decimal(9,6)", event.DecimalValue("1.230000"), "1.230000"},
		{"numeric leading zeros are not digits", numeric(3, 0), "decimal(9,0)", event.DecimalValue("000123"), "000123"},
		{"numeric negative scale", numeric(5, -2), "int", i64(1200), "1200"},
		{"numeric negative scale would round", numeric(5, -2), "int", i64(1250), "!"},
		{"numeric from float with exponent", numeric(40, 0), "float", event.FloatValue(float64(float32(math.MaxFloat32))), "3.4028235e+38"},
		{"numeric tiny float would round", numeric(10, 5), "double", event.FloatValue(1e-10), "!"},
		{"numeric unconstrained NaN", col(famNumeric, -1), "double", event.FloatValue(math.NaN()), "NaN"},
		{"float8 infinity", col(famFloat8, -1), "double", event.FloatValue(math.Inf(-1)), "-Infinity"},
		{"float4 from float32", col(famFloat4, -1), "float", event.FloatValue(float64(float32(0.1))), "0.1"},
		{"float8 from 2^53+1", col(famFloat8, -1), "bigint", i64(1<<53 + 1), "!"},
		{"float8 from 2^60", col(famFloat8, -1), "bigint", i64(1 << 60), "1.152921504606847e+18"},
		{"float4 from exact decimal", col(famFloat4, -1), "decimal(5,3)", event.DecimalValue("0.125"), "0.125"},
		{"leap day", col(famDate, -1), "date", event.DateValue("2024-02-29"), "2024-02-29"},
		{"not a leap day", col(famDate, -1), "date", event.DateValue("2100-02-29"), "NULL?"},
		{"zero month", col(famTimestamp, -1), "datetime", event.DateTimeValue("2024-00-10 10:00:00"), "NULL?"},
		{"datetime as UTC into timestamptz", col(famTimestamptz, 6), "datetime(6)", event.DateTimeValue("2024-01-02 03:04:05.000001"), "2024-01-02 03:04:05.000001+00"},
		{"date into timestamptz", col(famTimestamptz, -1), "date", event.DateValue("2024-01-02"), "2024-01-02 00:00:00+00"},
		{"trailing fraction zeros fit timestamp(0)", col(famTimestamp, 0), "datetime(6)", event.DateTimeValue("2024-01-02 03:04:05.000000"), "2024-01-02 03:04:05.000000"},
		{"24:00:00 fits time", col(famTime, -1), "time", event.TimeValue("24:00:00"), "24:00:00"},
		{"24:00:01 does not", col(famTime, -1), "time", event.TimeValue("24:00:01"), "!"},
		{"time(3) rounds microseconds", col(famTime, 3), "time(6)", event.TimeValue("10:00:00.000500"), "!"},
		{"interval hour to minute drops seconds", col(famInterval, int32((1<<10|1<<11)<<16|0xffff)), "time", event.TimeValue("1:00:00"), "!"},
		{"interval day to second", col(famInterval, int32((1<<3|1<<10|1<<11|1<<12)<<16|0xffff)), "time", event.TimeValue("-1:00:00"), "-1:00:00"},
		{"bit(8)", col(famBit, 8), "bit(8)", event.BitValue(5), "00000101"},
		{"varbit keeps the source width", col(famVarbit, -1), "bit(3)", event.BitValue(5), "101"},
		{"varbit(2) cannot hold 3 bits", col(famVarbit, 2), "bit(3)", event.BitValue(5), "!"},
		{"varbit(4) narrower than the source", col(famVarbit, 4), "bit(8)", event.BitValue(5), "0101"},
		{"bit into int8", col(famInt8, -1), "bit(64)", event.BitValue(math.MaxUint64), "!"},
		{"set into text[]", col(famTextArray, -1), "set('a')", event.SetValue([]string{`q"`, `b\`, "NULL"}), `{"q\"","b\\","NULL"}`},
		{"empty set into text", col(famText, -1), "set('a')", event.SetValue([]string{}), ""},
		{"set into json", col(famJSON, -1), "set('a')", event.SetValue([]string{"a", `"`}), `["a","\""]`},
		{"bytes into bytea", col(famBytea, -1), "blob", event.BytesValue([]byte{0, 1}), "\x00\x01"},
		{"date into bytea", col(famBytea, -1), "date", event.DateValue("2024-01-01"), "!"},
		{"varchar(3) counts characters", &column{typ: "t", fam: famText, maxChars: 3}, "varchar(3)", str("😀😀😀"), "😀😀😀"},
		{"char(2) ignores trailing spaces", &column{typ: "t", fam: famText, maxChars: 2, padded: true}, "varchar(5)", str("ab   "), "ab   "},
		{"string into anything else", col(famOther, -1), "varchar(20)", str("10.0.0.1/8"), "10.0.0.1/8"},
	} {
		s, err := encodeText(c.c, src(c.src), &c.v)
		if s != c.want {
			t.Errorf("%s: got %q (%v), want %q", c.name, s, err, c.want)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	for _, c := range []struct {
		in       string
		ok, zero bool
		msd, lsd int
	}{
		{"123.45", true, false, 2, -2},
		{"-0.00100", true, false, -3, -3},
		{"+1200", true, false, 3, 2},
		{"0.000", true, true, 0, 0},
		{"1.5e3", true, false, 3, 2},
		{"25E-3", true, false, -2, -3},
		{".5", true, false, -1, -1},
		{"", false, false, 0, 0},
		{".", false, false, 0, 0},
		{"1.2.3", false, false, 0, 0},
		{"NaN", false, false, 0, 0},
		{"0x10", false, false, 0, 0},
	} {
		d, ok := parseDecimal([]byte(c.in))
		if ok != c.ok || ok && (d.zero != c.zero || !d.zero && (d.msd != c.msd || d.lsd != c.lsd)) {
			t.Errorf("%q: got %+v %v, want ok %v zero %v msd %d lsd %d", c.in, d, ok, c.ok, c.zero, c.msd, c.lsd)
		}
	}
}

// TestEncodeUntyped: values of unknown source type (genuine Maxwell and
// Debezium without the Connect schema, src.Type "") are read by the
// target column's type. bytea output is shown in hex; "!" is an error.
func TestEncodeUntyped(t *testing.T) {
	col := func(f family, typmod int32) *column { return &column{typ: "t", fam: f, typmod: typmod} }
	numeric := func(p, s int) *column { return col(famNumeric, int32(p<<16|(s&0x7ff))+4) }
	str, js := event.StringValue, func(s string) event.Value { return event.JSONValue([]byte(s)) }
	for _, c := range []struct {
		name string
		c    *column
		v    event.Value
		want string
	}{
		{"base64 into bytea", col(famBytea, -1), str("AAEC/w=="), "000102ff"},
		{"empty base64 into bytea", col(famBytea, -1), str(""), ""},
		{"invalid base64 into bytea", col(famBytea, -1), str("AAEC/w="), "!"},
		{"JSON array into jsonb", col(famJSON, -1), js(`["a","b"]`), `["a","b"]`},
		{"JSON object into jsonb", col(famJSON, -1), js(`{"a":[1,"x"]}`), `{"a":[1,"x"]}`},
		{"JSON text (Debezium) into jsonb", col(famJSON, -1), str(`{"k":"v"}`), `{"k":"v"}`},
		{"JSON array of strings into text: SET members", col(famText, -1), js(`["b","c"]`), "b,c"},
		{"JSON array into text[]", col(famTextArray, -1), js(`["b","c"]`), `{"b","c"}`},
		{"JSON object into text stays JSON", col(famText, -1), js(`{"a":1}`), `{"a":1}`},
		{"precise decimal into numeric(10,2)", numeric(10, 2), str("CZI="), "24.50"},
		{"precise 2^64-1 into numeric(20,0)", numeric(20, 0), str("AP//////////"), "18446744073709551615"},
		{"string decimal into numeric", numeric(10, 2), str("0.10"), "0.10"},
		{"precise decimal into unconstrained numeric", col(famNumeric, -1), str("CZI="), "!"},
		{"epoch days into date", col(famDate, -1), event.IntValue(18321), "2020-02-29"},
		{"epoch micros into timestamp(6)", col(famTimestamp, 6), event.IntValue(946684799999999), "1999-12-31 23:59:59.999999"},
		{"epoch millis into timestamp(3)", col(famTimestamp, 3), event.IntValue(946684799999), "1999-12-31 23:59:59.999000"},
		{"zoned timestamp into timestamptz", col(famTimestamptz, 6), str("2024-05-01T12:34:56.5Z"), "2024-05-01 12:34:56.500000+00"},
		{"Maxwell timestamp into timestamptz as UTC", col(famTimestamptz, 6), str("2020-02-29 23:59:59.999999"), "2020-02-29 23:59:59.999999+00"},
		{"Maxwell zero date", col(famDate, -1), str("0000-00-00"), "NULL?"},
		{"micros of day into interval", col(famInterval, -1), event.IntValue(86399999999), "23:59:59.999999"},
		{"micros of day into time(6)", col(famTime, 6), event.IntValue(45296000001), "12:34:56.000001"},
		{"micros into time(3) would round", col(famTime, 3), event.IntValue(45296000001), "!"},
	} {
		s, err := encodeText(c.c, &event.Column{Name: "c", Kind: c.v.Kind}, &c.v)
		if c.c.fam == famBytea && err == nil {
			s = hex.EncodeToString([]byte(s))
		}
		if s != c.want {
			t.Errorf("%s: got %q (%v), want %q", c.name, s, err, c.want)
		}
	}
	// A typed string into bytea keeps its bytes: nothing is guessed.
	v := event.StringValue("CQ==")
	if got, err := encode(nil, col(famBytea, -1), &event.Column{Type: "varchar(8)", Kind: event.String}, &v); err != nil || string(got) != "CQ==" {
		t.Errorf("typed string into bytea: %q %v", got, err)
	}
}

// encodeText is encode's text for a table test: "NULL?" for a zero date
// the target cannot hold, "!" for any other error.
func encodeText(c *column, src *event.Column, v *event.Value) (string, error) {
	got, err := encode(nil, c, src, v)
	switch {
	case err == errZeroDate:
		return "NULL?", err
	case err != nil:
		return "!", err
	}
	return string(got), nil
}
