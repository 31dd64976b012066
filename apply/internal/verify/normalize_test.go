package verify

import "testing"

// TestCanonical checks that each class reads the MariaDB text and the
// PostgreSQL text of the same value as the same canonical text, and that
// different values stay different.
func TestCanonical(t *testing.T) {
	type side struct {
		engine, typ string
		raw         string
		null        bool // raw is NULL
	}
	my := func(raw string) side { return side{"mysql", "", raw, false} }
	pg := func(typ, raw string) side { return side{"postgres", typ, raw, false} }
	pgNull := side{"postgres", "", "", true}
	cases := []struct {
		name     string
		c        class
		zeroNull bool
		a, b     side
		equal    bool
	}{
		{"decimal trailing zeros", clsDecimal, false, my("1.500000"), pg("numeric", "1.5"), true},
		{"decimal negative zero", clsDecimal, false, my("-0.000000"), pg("numeric", "0"), true},
		{"decimal differs", clsDecimal, false, my("1.500001"), pg("numeric", "1.5"), false},
		{"decimal 65 digits", clsDecimal, false, my("-99999999999999999999999999999999999.999999999999999999999999999999"),
			pg("numeric", "-99999999999999999999999999999999999.999999999999999999999999999999"), true},
		{"unsigned 64-bit", clsInt, false, my("18446744073709551615"), pg("numeric", "18446744073709551615"), true},
		{"unsigned 64-bit off by one", clsInt, false, my("18446744073709551615"), pg("numeric", "18446744073709551614"), false},
		{"tinyint vs boolean true", clsBool, false, my("5"), pg("bool", "true"), true},
		{"tinyint vs boolean false", clsBool, false, my("0"), pg("bool", "false"), true},
		{"tinyint vs boolean differs", clsBool, false, my("1"), pg("bool", "false"), false},
		{"float shortest", clsFloat32, false, my("3.4028234663852886e38"), pg("float4", "3.4028235e+38"), true},
		{"float min normal", clsFloat32, false, my("-1.1754943508222875e-38"), pg("float4", "-1.1754944e-38"), true},
		{"float differs", clsFloat32, false, my("1.5"), pg("float4", "1.5000001"), false},
		{"double", clsFloat64, false, my("-1.7976931348623157e308"), pg("float8", "-1.7976931348623157e+308"), true},
		{"double differs in last digit", clsFloat64, false, my("0.1"), pg("float8", "0.10000000000000002"), false},
		{"bit64", clsBit, false, my("18446744073709551615"), pg("bit", "1111111111111111111111111111111111111111111111111111111111111111"), true},
		{"bit1", clsBit, false, my("1"), pg("bit", "1"), true},
		{"date", clsDate, false, my("9999-12-31"), pg("date", "9999-12-31"), true},
		{"zero date is NULL on postgres", clsDate, true, my("0000-00-00"), pgNull, true},
		{"zero date kept", clsDate, false, my("0000-00-00"), my("0000-00-00"), true},
		{"zero date kept is not NULL", clsDate, false, my("0000-00-00"), side{"mysql", "", "", true}, false},
		{"datetime(6) vs timestamp", clsDateTime, false, my("9999-12-31 23:59:59.999999"), pg("timestamp", "9999-12-31 23:59:59.999999"), true},
		{"datetime(0) vs timestamp(0)", clsDateTime, false, my("1000-01-01 00:00:00"), pg("timestamp", "1000-01-01 00:00:00"), true},
		{"timestamp vs timestamptz in UTC", clsDateTime, false, my("2038-01-19 03:14:07.999999"), pg("timestamptz", "2038-01-19 03:14:07.999999+00"), true},
		{"timestamp vs timestamptz other zone", clsDateTime, false, my("2038-01-19 03:14:07.999999"), pg("timestamptz", "2038-01-19 05:14:07.999999+02"), true},
		{"datetime micro differs", clsDateTime, false, my("2024-01-01 00:00:00.000001"), pg("timestamp", "2024-01-01 00:00:00"), false},
		{"zero datetime is NULL on postgres", clsDateTime, true, my("0000-00-00 00:00:00.000000"), pgNull, true},
		{"time negative", clsTime, false, my("-838:59:59.000000"), pg("interval", "-3020399000000"), true},
		{"time fraction", clsTime, false, my("01:02:03.5"), pg("time", "3723500000"), true},
		{"bytes", clsBytes, false, my("\x00\xff\x00\x01"), pg("bytea", "00ff0001"), true},
		{"bytes differ", clsBytes, false, my("\x00\xff"), pg("bytea", "00fe"), false},
		{"empty bytes vs NULL", clsBytes, false, my(""), pgNull, false},
		{"json key order and spacing", clsJSON, false, my(`{"b": {"d": true, "c": null}, "a": [1, 2.50, "ü😀"]}`),
			pg("jsonb", `{"a": [1, 2.5, "ü😀"], "b": {"c": null, "d": true}}`), true},
		{"json number forms", clsJSON, false, my(`[100, 0.0, -1.50]`), pg("jsonb", `[1e2, 0, -1.5]`), true},
		{"json differs", clsJSON, false, my(`{"a":1}`), pg("jsonb", `{"a":"1"}`), false},
		{"json escapes", clsJSON, false, my(`"\u00fc"`), pg("json", `"ü"`), true},
		{"enum", clsString, false, my("large"), pg("size", "large"), true},
		{"set order", clsSet, false, my("a,c"), pg("text", "c,a"), true},
		{"set as array", clsSet, false, my("a,c"), pg("_text", "{a,c}"), true},
		{"empty set vs NULL", clsSet, false, my(""), pgNull, false},
		{"char padding", clsChar, false, my("ab"), pg("bpchar", "ab   "), true},
		{"varchar trailing space counts", clsString, false, my("ab "), pg("varchar", "ab"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			canon := func(s side) (string, bool) {
				var raw []byte
				if !s.null {
					raw = []byte(s.raw)
				}
				c, null, err := canonical(tc.c, s.engine, s.typ, raw, tc.zeroNull)
				if err != nil {
					t.Fatalf("%s %q: %v", s.engine, s.raw, err)
				}
				return c, null
			}
			ca, na := canon(tc.a)
			cb, nb := canon(tc.b)
			if got := ca == cb && na == nb; got != tc.equal {
				t.Errorf("equal = %v, want %v: %q (null %v) vs %q (null %v)", got, tc.equal, ca, na, cb, nb)
			}
		})
	}
}

func TestJSONNumber(t *testing.T) {
	for in, want := range map[string]string{
		"0": "0", "-0.0": "0", "2.50": "25e-1", "25e-1": "25e-1", "100": "1e2", "1e2": "1e2",
		"-1.5E+3": "-15e2", "0.001": "1e-3", "12345678901234567890": "1234567890123456789e1",
	} {
		if got := jsonNumber(in); got != want {
			t.Errorf("jsonNumber(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestMysqlClass(t *testing.T) {
	for _, c := range []struct {
		dt, ct string
		json   bool
		want   class
	}{
		{"tinyint", "tinyint(1)", false, clsInt},
		{"bigint", "bigint(20) unsigned", false, clsInt},
		{"decimal", "decimal(20,6)", false, clsDecimal},
		{"float", "float", false, clsFloat32},
		{"double", "double", false, clsFloat64},
		{"longtext", "longtext", true, clsJSON},
		{"json", "json", false, clsJSON},
		{"enum", "enum('a')", false, clsString},
		{"set", "set('a')", false, clsSet},
		{"timestamp", "timestamp(6)", false, clsDateTime},
		{"blob", "blob", false, clsBytes},
		{"char", "char(10)", false, clsChar},
	} {
		if got := mysqlClass(c.dt, c.ct, c.json); got != c.want {
			t.Errorf("%s: %s, want %s", c.ct, got, c.want)
		}
	}
	if refine(clsInt, "bool") != clsBool || refine(clsString, "jsonb") != clsJSON || refine(clsString, "bpchar") != clsChar {
		t.Error("refine does not adapt to the target's boolean, jsonb or char")
	}
}
