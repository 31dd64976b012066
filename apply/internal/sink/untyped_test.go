package sink

import (
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// TestConvertUntyped covers each conversion of a value whose source type
// is unknown, with the values genuine Maxwell and Debezium (no Connect
// schema, default settings) write for the same source row.
func TestConvertUntyped(t *testing.T) {
	tg := func(k TargetKind, scale, frac int) Target { return Target{Kind: k, Scale: scale, Frac: frac} }
	str, i64 := event.StringValue, event.IntValue
	js := func(s string) event.Value { return event.JSONValue([]byte(s)) }
	for _, c := range []struct {
		name string
		v    event.Value
		t    Target
		want event.Value
		err  string // substring of the error, "" for none
	}{
		// Binary: base64 from both peers.
		{"base64 into binary", str("AAEC/w=="), tg(TargetBinary, 0, 0), event.BytesValue([]byte{0, 1, 2, 0xff}), ""},
		{"empty base64 into binary", str(""), tg(TargetBinary, 0, 0), event.BytesValue([]byte{}), ""},
		{"invalid base64 into binary", str("not base64!"), tg(TargetBinary, 0, 0), event.Value{}, "not"},
		{"unpadded base64 into binary", str("CQ"), tg(TargetBinary, 0, 0), event.Value{}, "base64"},
		{"string into text stays", str("AAEC/w=="), tg(TargetOther, 0, 0), str("AAEC/w=="), ""},
		// Maxwell arrays: SET members only for a SET column.
		{"array into SET", js(`["b","c"]`), tg(TargetSet, 0, 0), event.SetValue([]string{"b", "c"}), ""},
		{"empty array into SET", js(`[]`), tg(TargetSet, 0, 0), event.SetValue([]string{}), ""},
		{"escaped member into SET", js(`["a\u00fc"]`), tg(TargetSet, 0, 0), event.SetValue([]string{"aü"}), ""},
		{"mixed array into SET stays JSON", js(`["a",1]`), tg(TargetSet, 0, 0), js(`["a",1]`), ""},
		{"object into SET stays JSON", js(`{"a":"b"}`), tg(TargetSet, 0, 0), js(`{"a":"b"}`), ""},
		{"array into JSON stays JSON", js(`["a","b"]`), tg(TargetJSON, 0, 0), js(`["a","b"]`), ""},
		{"empty array into JSON stays JSON", js(`[]`), tg(TargetJSON, 0, 0), js(`[]`), ""},
		// Debezium DECIMAL, precise (base64 unscaled) or string mode.
		{"precise 19.99", str("B88="), tg(TargetDecimal, 2, 0), event.DecimalValue("19.99"), ""},
		{"precise 0.10", str("Cg=="), tg(TargetDecimal, 2, 0), event.DecimalValue("0.10"), ""},
		{"precise 5.00", str("AfQ="), tg(TargetDecimal, 2, 0), event.DecimalValue("5.00"), ""},
		{"precise negative", str("/w=="), tg(TargetDecimal, 3, 0), event.DecimalValue("-0.001"), ""},
		{"precise -128", str("gA=="), tg(TargetDecimal, 0, 0), event.DecimalValue("-128"), ""},
		{"precise 2^64-1 scale 0", str("AP//////////"), tg(TargetDecimal, 0, 0), event.DecimalValue("18446744073709551615"), ""},
		{"precise zero", str("AA=="), tg(TargetDecimal, 4, 0), event.DecimalValue("0.0000"), ""},
		{"string mode stays the number", str("-24.50"), tg(TargetDecimal, 2, 0), event.DecimalValue("-24.50"), ""},
		{"precise without a scale", str("B88="), tg(TargetDecimal, -1, 0), event.Value{}, "no scale"},
		{"neither number nor base64", str("1.2.3"), tg(TargetDecimal, 2, 0), event.Value{}, "neither"},
		{"decimal kind stays", event.DecimalValue("0.10"), tg(TargetDecimal, 2, 0), event.DecimalValue("0.10"), ""},
		// Debezium temporal integers.
		{"epoch days", i64(18321), tg(TargetDate, 0, 0), event.DateValue("2020-02-29"), ""},
		{"epoch day 0", i64(0), tg(TargetDate, 0, 0), event.DateValue("1970-01-01"), ""},
		{"days before the epoch", i64(-1), tg(TargetDate, 0, 0), event.DateValue("1969-12-31"), ""},
		{"Maxwell date", str("2024-05-01"), tg(TargetDate, 0, 0), event.DateValue("2024-05-01"), ""},
		{"Maxwell zero date", str("0000-00-00"), tg(TargetDate, 0, 0), event.DateValue("0000-00-00"), ""},
		{"Maxwell datetime", str("2024-05-01 12:34:56.123456"), tg(TargetDateTime, 0, 6), event.DateTimeValue("2024-05-01 12:34:56.123456"), ""},
		{"Maxwell timestamp", str("2020-02-29 23:59:59.999999"), tg(TargetTimestamp, 0, 6), event.TimestampValue("2020-02-29 23:59:59.999999"), ""},
		{"Maxwell time", str("23:59:59.999999"), tg(TargetTime, 0, 6), event.TimeValue("23:59:59.999999"), ""},
		{"Maxwell negative long time", str("-838:59:59"), tg(TargetTime, 0, 0), event.TimeValue("-838:59:59"), ""},
		{"not a time", str("12:34"), tg(TargetTime, 0, 0), str("12:34"), ""},
		{"not a time fraction", str("12:34:56.x"), tg(TargetTime, 0, 0), str("12:34:56.x"), ""},
		{"not a date", str("2024/05/01"), tg(TargetDate, 0, 0), str("2024/05/01"), ""},
		{"micros into datetime(6)", i64(1714566896123456), tg(TargetDateTime, 0, 6), event.DateTimeValue("2024-05-01 12:34:56.123456"), ""},
		{"micros, whole second", i64(1582934400000000), tg(TargetDateTime, 0, 6), event.DateTimeValue("2020-02-29 00:00:00"), ""},
		{"micros before the epoch", i64(-1), tg(TargetDateTime, 0, 6), event.DateTimeValue("1969-12-31 23:59:59.999999"), ""},
		{"millis into datetime(3)", i64(1714566896123), tg(TargetDateTime, 0, 3), event.DateTimeValue("2024-05-01 12:34:56.123000"), ""},
		{"millis into datetime(0)", i64(946684799000), tg(TargetDateTime, 0, 0), event.DateTimeValue("1999-12-31 23:59:59"), ""},
		{"millis into timestamp(3)", i64(1000), tg(TargetTimestamp, 0, 3), event.TimestampValue("1970-01-01 00:00:01"), ""},
		{"millis out of range", i64(1 << 62), tg(TargetDateTime, 0, 0), event.Value{}, "out of range"},
		// ISO-8601 strings (ZonedTimestamp) to UTC text.
		{"zoned Z into timestamp", str("2000-01-01T00:00:00Z"), tg(TargetTimestamp, 0, 6), event.TimestampValue("2000-01-01 00:00:00"), ""},
		{"zoned fraction", str("2024-05-01T12:34:56.5Z"), tg(TargetTimestamp, 0, 6), event.TimestampValue("2024-05-01 12:34:56.500000"), ""},
		{"zoned offset to UTC", str("2024-05-01T14:34:56.000001+02:00"), tg(TargetDateTime, 0, 6), event.DateTimeValue("2024-05-01 12:34:56.000001"), ""},
		{"no zone keeps the clock", str("2024-05-01T12:34:56.25"), tg(TargetDateTime, 0, 6), event.DateTimeValue("2024-05-01 12:34:56.250000"), ""},
		{"nanoseconds left to the target", str("2024-05-01T12:34:56.123456789Z"), tg(TargetTimestamp, 0, 6), str("2024-05-01T12:34:56.123456789Z"), ""},
		{"garbage stays for the target to refuse", str("yesterday"), tg(TargetDateTime, 0, 6), str("yesterday"), ""},
		// MicroTime.
		{"micros of day", i64(45296000001), tg(TargetTime, 0, 6), event.TimeValue("12:34:56.000001"), ""},
		{"last microsecond of a day", i64(86399999999), tg(TargetTime, 0, 6), event.TimeValue("23:59:59.999999"), ""},
		{"zero time", i64(0), tg(TargetTime, 0, 0), event.TimeValue("00:00:00"), ""},
		{"negative duration", i64(-3020399000000), tg(TargetTime, 0, 0), event.TimeValue("-838:59:59"), ""},
		{"over a day", i64(100*3600e6 + 500000), tg(TargetTime, 0, 6), event.TimeValue("100:00:00.500000"), ""},
		// Nothing else changes.
		{"null stays", event.NullValue(), tg(TargetBinary, 0, 0), event.NullValue(), ""},
		{"int into other stays", i64(7), tg(TargetOther, 0, 0), i64(7), ""},
		{"bit into binary stays", event.BitValue(1), tg(TargetBinary, 0, 0), event.BitValue(1), ""},
	} {
		got, err := ConvertUntyped(c.v, c.t)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err == "" && (!got.Equal(c.want) || got.Kind == event.Bytes && got.B == nil):
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestUntyped(t *testing.T) {
	if Untyped(nil) || Untyped(&event.Column{Type: "blob"}) || !Untyped(&event.Column{Kind: event.String}) {
		t.Fatal("Untyped: only a column without a type is untyped")
	}
}
