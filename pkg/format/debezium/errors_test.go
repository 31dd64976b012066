package debezium

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format"
)

// TestDecodeErrors checks that bad messages fail with the field path and,
// where there is one, the byte offset of the culprit.
func TestDecodeErrors(t *testing.T) {
	types, err := format.ParseTypes(format.AppendTypes(nil, eventtest.EventColumns()))
	if err != nil {
		t.Fatal(err)
	}
	const src = `"source":{"connector":"mariadb","db":"d","table":"t"}`
	tests := []struct{ in, want string }{
		{`[1]`, "at byte 0: want an object"},
		{`{"op":"c"`, "unexpected EOF"},
		{`{"op":"c"} x`, "at byte 11: unexpected data after the message"},
		{`{"op":"c","op":"c"}`, "duplicate"},
		{`{"op":"x",` + src + `}`, `op: at byte 6: "x" is not one of c, u, d, r`},
		{`{"op":"t",` + src + `}`, "truncate"},
		{`{"op":"c","after":{"id":1}}`, "source: missing"},
		{`{"op":"c","source":{"connector":"mongodb","db":"d","table":"t"},"after":{}}`, "DecodeMongo"},
		{`{"op":"c","source":{"db":"d"},"after":{}}`, "source.table: missing"},
		{`{"op":"c","source":{"db":"d","table":"t","server_id":4294967296},"after":{}}`, "source.server_id: at byte 53"},
		{`{"op":"c",` + src + `,"after":null}`, `after: op "c" needs a row image`},
		{`{"op":"c",` + src + `,"before":{},"after":{}}`, `before: op "c" must not have a row image`},
		{`{"op":"d",` + src + `,"before":{"id":1},"after":{"id":1}}`, `after: op "d" must not have`},
		{`{"op":"u",` + src + `,"after":{"id":1}}`, `before: op "u" needs`},
		{`{"op":"c",` + src + `,"after":[]}`, "after: at byte 72: want an object of column values"},
		{`{"op":"c",` + src + `,"after":{"nope":1}}`, "after.nope: at byte 80: not a column in the sluice.types header"},
		{`{"op":"c",` + src + `,"after":{"id":1,"id":2}}`, `after: at byte 80: duplicate member "id"`},
		{`{"op":"c","source":{"db":"d","db":"e","table":"t"},"after":{}}`, `source: at byte 29: duplicate member "db"`},
		{`{"payload":{"op":"c","op":"c"}}`, `payload: at byte 21: duplicate member "op"`},
		{`{"op":"c",` + src + `,"after":{"c_int":"x"}}`, `after.c_int: at byte 81: want an integer for a int(11) column, got a string`},
		{`{"op":"c",` + src + `,"after":{"c_int":1.5}}`, "after.c_int: at byte 81: 1.5 is not a 64-bit integer"},
		{`{"op":"c",` + src + `,"after":{"c_int_u":-1}}`, "after.c_int_u: at byte 83: -1 is not an unsigned"},
		{`{"op":"c",` + src + `,"after":{"c_blob":"%%%"}}`, "after.c_blob: at byte 82: not standard base64"},
		{`{"op":"c",` + src + `,"after":{"c_json":"{bad"}}`, "invalid JSON"},
		{`{"op":"c",` + src + `,"after":{"c_dec20":"1e5"}}`, `"1e5" is not a decimal number`},
		{`{"op":"c",` + src + `,"after":{"c_dec20":"+1"}}`, "not a decimal"},
		{`{"op":"c",` + src + `,"after":{"c_float":1e39}}`, "out of range"},
		{`{"op":"c",` + src + `,"after":{"c_float":"nan"}}`, "want a number"},
		{`{"op":"c",` + src + `,"after":{"c_bit1":"AQ=="}}`, "want true or false"},
		{`{"op":"c",` + src + `,"after":{"c_bit64":true}}`, "only BIT(1)"},
		{`{"op":"c",` + src + `,"after":{"c_bit64":"AAAAAAAAAAAA"}}`, "at most 8 bytes"},
		{`{"op":"c",` + src + `,"after":{"c_date":"1000-1-1"}}`, "not a date"},
		{`{"op":"c",` + src + `,"after":{"c_date":19000}}`, "want a string for a date column, got a number"},
		{`{"op":"c",` + src + `,"after":{"c_dt6":"2024-01-01 00:00:00"}}`, "not a datetime"},
		{`{"op":"c",` + src + `,"after":{"c_dt6":"2024-01-01T00:00:00.1234567"}}`, "not a datetime"},
		{`{"op":"c",` + src + `,"after":{"c_ts6":"2024-01-01T00:00:00"}}`, "not a timestamp"},
		{`{"op":"c",` + src + `,"after":{"c_time6":"1:00:00"}}`, "not a time"},
		{`{"op":"c",` + src + `,"after":{"c_set":["a"]}}`, "want a string for a set('a','b','c') column, got an array"},
		{`{"op":"c",` + src + `,"after":{},"transaction":{"id":"x","total_order":0}}`, "transaction.total_order: at byte"},
		{`{"op":"c",` + src + `,"after":{},"transaction":{"total_order":1}}`, "transaction: needs id"},
		{`{"schema":{"type":"struct"}}`, "schema: a schema without a payload"},
		{`{"schema":null,"payload":{"op":"c"},"op":"c"}`, "both a payload and envelope fields"},
		{`{"payload":[]}`, "payload: at byte 11: want the change event object"},
		{`{"payload":{"op":"c",` + src + `,"after":{"c_int":"x"}}}`, "payload.after.c_int: at byte 92"},
		{`{"schema":{"fields":[` + strings.Repeat(`{"fields":[`, 40), "nested too deep"},
		{"{\"op\":\"c\xff\"}", "invalid UTF-8"},
	}
	for _, tt := range tests {
		var e event.Event
		err := (&Decoder{}).Decode([]byte(tt.in), types, &e)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "debezium: ") {
			t.Errorf("Decode(%s)\n = %v\nwant an error containing %q", tt.in, err, tt.want)
		}
	}
}

func TestDecodeKeyErrors(t *testing.T) {
	e := eventtest.Events()[0]
	enc := &Encoder{}
	val, _ := enc.AppendValue(nil, &e)
	types, _ := format.ParseTypes(format.AppendTypes(nil, e.Columns))
	tests := []struct{ key, want string }{
		{``, "missing"},
		{`null`, "missing"},
		{`{}`, "empty object"},
		{`{"id":2}`, "key.id: at byte 6: differs from the row"},
		{`{"nope":1}`, `key.nope: at byte 8: not a column of shop.all_types`},
		{`{"id":null}`, "never null"},
		{`{"id":"1"}`, "want an unsigned integer"},
		{`{"payload":{"id":1},"id":1}`, "both a payload and key fields"},
	}
	for _, tt := range tests {
		var got event.Event
		if err := (&Decoder{}).Decode(val, types, &got); err != nil {
			t.Fatal(err)
		}
		err := (&Decoder{}).DecodeKey([]byte(tt.key), &got)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("DecodeKey(%s) = %v, want an error containing %q", tt.key, err, tt.want)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	enc := &Encoder{}
	tests := []struct {
		name   string
		change func(e *event.Event)
		want   string
	}{
		{"snapshot start", func(e *event.Event) { e.Op = event.OpSnapshotStart }, "no Debezium-style form"},
		{"invalid op", func(e *event.Event) { e.Op = event.OpInvalid }, "no Debezium-style form"},
		{"kind mismatch", func(e *event.Event) { e.After[4] = event.IntValue(3) }, "shop.orders after.price: value of kind int in a decimal column"},
		{"short row", func(e *event.Event) { e.After = e.After[:3] }, "after image has 3 values for 10 columns"},
		{"float not 32-bit", func(e *event.Event) {
			e.Columns[9].Type = "float"
			e.After[9] = event.FloatValue(0.1)
		}, "not a 32-bit float"},
		{"bit overflow", func(e *event.Event) {
			e.Columns[9] = event.Column{Name: "weight", Type: "bit(3)", Kind: event.Bit}
			e.After[9] = event.BitValue(8)
		}, "does not fit BIT(3)"},
		{"set comma", func(e *event.Event) {
			e.Columns[9] = event.Column{Name: "weight", Type: "set('a')", Kind: event.Set}
			e.After[9] = event.SetValue([]string{"a,b"})
		}, "comma"},
	}
	for _, tt := range tests {
		e := eventtest.Small()
		tt.change(&e)
		_, err := enc.AppendValue(nil, &e)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: AppendValue error = %v, want containing %q", tt.name, err, tt.want)
		}
	}
	e := eventtest.Small()
	e.Op = event.OpSnapshotComplete
	if _, err := enc.AppendValue(nil, &e); !errors.Is(err, ErrNotRepresentable) {
		t.Errorf("snapshot marker: %v, want ErrNotRepresentable", err)
	}

	keyTests := []struct {
		name   string
		change func(e *event.Event)
		want   string
	}{
		{"no key", func(e *event.Event) { e.Key = nil }, "has no key"},
		{"key out of range", func(e *event.Event) { e.Key = []int{10} }, "out of range"},
		{"null key", func(e *event.Event) { e.After[0] = event.NullValue() }, "shop.orders id: key column is null"},
		{"absent key", func(e *event.Event) { e.After[0] = event.Value{} }, "key column is absent"},
	}
	for _, tt := range keyTests {
		e := eventtest.Small()
		tt.change(&e)
		dst := []byte("keep")
		out, err := enc.AppendKey(dst, &e)
		if err == nil || !strings.Contains(err.Error(), tt.want) || string(out) != "keep" {
			t.Errorf("%s: AppendKey = %q, %v; want dst untouched and an error containing %q", tt.name, out, err, tt.want)
		}
	}
}

func TestPlainDecimal(t *testing.T) {
	for in, want := range map[string]string{
		"12.5": "12.5", "0e0": "0", "1.5e-3": "0.0015", "-1.5E3": "-1500", "1e2": "100",
		"123.456e1": "1234.56", "-0e5": "0", "9.99e-1": "0.999", "1E+2": "100", "5e-324": "0." + strings.Repeat("0", 323) + "5",
	} {
		if got, err := plainDecimal(in); got != want || err != nil {
			t.Errorf("plainDecimal(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"1e1001", "1e-1001", "1e99999999999999999999"} {
		if got, err := plainDecimal(in); err == nil {
			t.Errorf("plainDecimal(%q) = %q, want an error", in, got)
		}
	}
}

func TestEpochConversions(t *testing.T) {
	tests := []struct {
		got  func() (string, error)
		want string
	}{
		{func() (string, error) { return fromEpochDays(19723) }, "2024-01-01"},
		{func() (string, error) { return fromEpochDays(-719528) }, "0000-01-01"},
		{func() (string, error) { return fromEpoch(-1, wireMillis, 3) }, "1969-12-31 23:59:59.999"},
		{func() (string, error) { return fromEpoch(1704067200123456, wireMicros, 6) }, "2024-01-01 00:00:00.123456"},
		{func() (string, error) { return fromEpoch(1704067200000, wireMillis, 0) }, "2024-01-01 00:00:00"},
		{func() (string, error) { return fromEpoch(1704067200500, wireMillis, 0) }, "2024-01-01 00:00:00.500000"},
		{func() (string, error) { return fromEpoch(1704067200123456000, wireNanos, 6) }, "2024-01-01 00:00:00.123456"},
		{func() (string, error) { return fromTimeOfDay(-3723000001, wireTimeMicros, 6) }, "-01:02:03.000001"},
		{func() (string, error) { return fromTimeOfDay(3020399000000, wireTimeMicros, 0) }, "838:59:59"},
		{func() (string, error) { return fromTimeOfDay(1500, wireTimeMillis, 3) }, "00:00:01.500"},
	}
	for i, tt := range tests {
		got, err := tt.got()
		if err != nil || got != tt.want {
			t.Errorf("case %d = %q, %v; want %q", i, got, err, tt.want)
		}
	}
	for i, f := range []func() (string, error){
		func() (string, error) { return fromEpochDays(math.MaxInt64) },
		func() (string, error) { return fromEpoch(math.MaxInt64, wireMicros, 6) },
		func() (string, error) { return fromEpoch(1, wireNanos, 6) },
		func() (string, error) { return fromTimeOfDay(math.MinInt64, wireTimeMicros, 6) },
		func() (string, error) { return fromTimeOfDay(math.MaxInt64, wireTimeMillis, 6) },
	} {
		if s, err := f(); err == nil {
			t.Errorf("bad case %d = %q, want an error", i, s)
		}
	}
}
