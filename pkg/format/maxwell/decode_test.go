package maxwell

import (
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
)

const env = `{"database":"d","table":"t","type":"insert","ts":1,`

func TestDecodeErrors(t *testing.T) {
	typed := `{"id":"int(11)","c":"int(11)","f":"float","b":"blob","s":"set('a')","j":"json","bit":"bit(1)","dec":"decimal(5,2)","u":"bigint(20) unsigned"}`
	tests := []struct {
		name, in, types, want string
	}{
		{"empty", ``, "", "maxwell: at byte 0: empty message"},
		{"blank", " \n", "", "maxwell: at byte 0: empty message"},
		{"not an object", `[1]`, "", "want a JSON object, got ["},
		{"trailing data", `{"database":"d","table":"t","type":"insert","data":{}} x`, "", "maxwell: at byte 55: unexpected data after the object"},
		{"second object", `{"database":"d","table":"t","type":"insert","data":{}}{}`, "", "unexpected data after the object"},
		{"ddl", `{"type":"table-alter","database":"d","table":"t"}`, "", `maxwell: DDL record, not a row event (type "table-alter")`},
		{"unknown type", `{"type":"view-create","database":"d","table":"t"}`, "", `maxwell: type: "view-create" is not a row event type`},
		{"no type", `{"database":"d","table":"t","data":{}}`, "", "maxwell: type: missing"},
		{"no database", `{"table":"t","type":"insert","data":{}}`, "", "maxwell: database: missing"},
		{"no table", `{"database":"d","type":"insert","data":{}}`, "", "maxwell: table: missing"},
		{"no data", `{"database":"d","table":"t","type":"delete"}`, "", "maxwell: data: missing"},
		{"data not object", env + `"data":[1]}`, "", "maxwell: data: at byte 58: want an object of column values"},
		{"database not string", `{"database":1}`, "", "maxwell: database: at byte 12: want a string, got a number"},
		{"ts not integer", `{"database":"d","table":"t","type":"insert","ts":1.5,"data":{}}`, "", `maxwell: ts: at byte 49: strconv.ParseInt: parsing "1.5"`},
		{"ts overflow", `{"database":"d","table":"t","type":"insert","ts":9223372036854775807,"data":{}}`, "", "maxwell: ts: 9223372036854775807 seconds is out of range"},
		{"xid negative", env + `"xid":-1,"data":{}}`, "", "maxwell: xid: at byte 57: strconv.ParseUint"},
		{"commit not bool", env + `"commit":1,"data":{}}`, "", "maxwell: commit: at byte 60: want a boolean, got a number"},
		{"server_id too big", env + `"server_id":4294967296,"data":{}}`, "", "maxwell: server_id: at byte 63: 4294967296 does not fit 32 bits"},
		{"position without pos", env + `"position":"bin.000001","data":{}}`, "", `maxwell: position: "bin.000001" is not file:pos`},
		{"position bad pos", env + `"position":"bin.000001:x","data":{}}`, "", `is not file:pos`},
		{"gtid number", env + `"gtid":5,"data":{}}`, "", "maxwell: gtid: at byte 58: want a string, got a number"},
		{"old in insert", env + `"data":{"a":1},"old":{"a":2}}`, "", "maxwell: old: at byte 77: not allowed in a insert"},
		{"old column unknown", `{"database":"d","table":"t","type":"update","data":{"a":1},"old":{"b":2}}`, "", "maxwell: old.b: at byte 70: not a column of data"},
		{"pk column unknown", env + `"primary_key_columns":["zz"],"data":{"a":1}}`, "", `maxwell: primary_key_columns: "zz" is not a column`},
		{"pk columns not array", env + `"primary_key_columns":"a","data":{"a":1}}`, "", "maxwell: primary_key_columns: at byte 73: want an array of column names"},
		{"pk column not string", env + `"primary_key_columns":[1],"data":{"a":1}}`, "", "maxwell: primary_key_columns: at byte 74: want a string, got a number"},
		{"duplicate column", env + `"data":{"a":1,"a":2}}`, "", "maxwell: data.a: at byte 65: duplicate column"},
		{"duplicate column in old", `{"database":"d","table":"t","type":"update","data":{"a":1},"old":{"a":2,"a":3}}`, "", "maxwell: old.a: at byte 72: duplicate column"},
		{"duplicate field", env + `"ts":2,"data":{}}`, "", "maxwell: ts: at byte 51: duplicate field"},
		{"duplicate data", env + `"data":{},"data":{}}`, "", "maxwell: data: at byte 61: duplicate field"},
		{"typed duplicate column", env + `"data":{"c":1,"c":2}}`, typed, "maxwell: data.c: at byte 65: duplicate column"},
		{"invalid utf8", env + "\"data\":{\"a\":\"\xff\"}}", "", "invalid UTF-8"},
		{"unterminated", env + `"data":{"a":1`, "", "unexpected EOF"},
		{"typed unknown column", env + `"data":{"zz":1}}`, typed, "maxwell: data.zz: at byte 59: no such column in the sluice.types header"},
		{"typed int from string", env + `"data":{"c":"5"}}`, typed, `maxwell: data.c: at byte 63: want an integer for column type "int(11)", got a string`},
		{"typed int from fraction", env + `"data":{"c":1.5}}`, typed, "maxwell: data.c: at byte 63: strconv.ParseInt"},
		{"typed uint negative", env + `"data":{"u":-1}}`, typed, "maxwell: data.u: at byte 63: strconv.ParseUint"},
		{"typed float32 overflow", env + `"data":{"f":1e39}}`, typed, "maxwell: data.f: at byte 63: strconv.ParseFloat: parsing \"1e39\": value out of range"},
		{"typed float string", env + `"data":{"f":"1.5"}}`, typed, `want a number for column type "float", got a string`},
		{"typed decimal string", env + `"data":{"dec":"1.5"}}`, typed, `want a number for column type "decimal(5,2)", got a string`},
		{"typed bad base64", env + `"data":{"b":"a"}}`, typed, `maxwell: data.b: at byte 63: binary column type "blob": illegal base64 data`},
		{"typed blob number", env + `"data":{"b":1}}`, typed, `want a base64 string for column type "blob", got a number`},
		{"typed set of numbers", env + `"data":{"s":[1]}}`, typed, `maxwell: data.s: at byte 63: want an array of strings for column type "set('a')"`},
		{"typed set from string", env + `"data":{"s":"a"}}`, typed, `want an array of strings for column type "set('a')", got a string`},
		{"typed int from array", env + `"data":{"c":[]}}`, typed, `want an integer for column type "int(11)", got an array`},
		{"typed bit object", env + `"data":{"bit":{}}}`, typed, `want an unsigned integer for column type "bit(1)", got an object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var types []event.Column
			if tt.types != "" {
				types = mustTypes(t, tt.types)
			}
			var e event.Event
			err := new(Decoder).Decode([]byte(tt.in), types, &e)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v\nwant containing %s", err, tt.want)
			}
		})
	}
}

func TestDecodeInfer(t *testing.T) {
	tests := []struct {
		json string
		want event.Value
	}{
		{`0`, event.IntValue(0)},
		{`-9223372036854775808`, event.IntValue(-9223372036854775808)},
		{`9223372036854775808`, event.UintValue(9223372036854775808)},
		{`18446744073709551616`, event.DecimalValue("18446744073709551616")},
		{`-9223372036854775809`, event.DecimalValue("-9223372036854775809")},
		{`1.50`, event.DecimalValue("1.50")},
		{`1e3`, event.DecimalValue("1e3")},
		{`-0.0`, event.DecimalValue("-0.0")},
		{`""`, event.StringValue("")},
		{`"a\"\u00fc\n"`, event.StringValue("a\"ü\n")},
		{`null`, event.NullValue()},
		// A SET and a JSON array of strings look alike: raw JSON, for
		// the target to tell apart.
		{`[]`, event.JSONValue([]byte(`[]`))},
		{`["a", "b"]`, event.JSONValue([]byte(`["a", "b"]`))},
		{`["a",1]`, event.JSONValue([]byte(`["a",1]`))},
		{`[["a"]]`, event.JSONValue([]byte(`[["a"]]`))},
		{`{ "k" : [ 1 ] }`, event.JSONValue([]byte(`{ "k" : [ 1 ] }`))},
		{`false`, event.JSONValue([]byte(`false`))},
	}
	for _, tt := range tests {
		var e event.Event
		in := env + `"data":{"c": ` + tt.json + ` }}`
		if err := new(Decoder).Decode([]byte(in), nil, &e); err != nil {
			t.Errorf("%s: %v", tt.json, err)
			continue
		}
		if len(e.After) != 1 || !e.After[0].Equal(tt.want) || e.Columns[0] != (event.Column{Name: "c", Kind: tt.want.Kind}) {
			t.Errorf("%s: got %+v in %+v, want %+v", tt.json, e.After, e.Columns, tt.want)
		}
	}
}

// A column that is null in data takes its kind from old, when old has it.
func TestDecodeInferKindFromOld(t *testing.T) {
	in := `{"database":"d","table":"t","type":"update","data":{"id":1,"c":null},"old":{"c":"x"}}`
	var e event.Event
	if err := new(Decoder).Decode([]byte(in), nil, &e); err != nil {
		t.Fatal(err)
	}
	if e.Columns[1].Kind != event.String || !e.Before[1].Equal(event.StringValue("x")) || !e.Before[0].Equal(event.IntValue(1)) {
		t.Fatalf("columns %+v before %+v", e.Columns, e.Before)
	}
}

// Decode must leave nothing of a previous event behind, and what it returns
// must not change when the input buffer is reused.
func TestDecodeOwnsItsResult(t *testing.T) {
	buf := []byte(env + `"gtid":"0-1-2","position":"f:1","data":{"a":"hello","b":[1]}}`)
	e := event.Event{Origin: "stale", Position: "stale", Key: []int{4}}
	if err := new(Decoder).Decode(buf, nil, &e); err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 'x'
	}
	if e.Origin != "" || e.Position != "" || e.Key != nil || e.After[0].S != "hello" || string(e.After[1].B) != "[1]" ||
		e.Source.GTID != "0-1-2" || e.Source.File != "f" || e.Database != "d" {
		t.Fatalf("event %+v", e)
	}
}

// Every prefix and many single-byte corruptions of real messages must give
// an event or an error, never a panic. FuzzDecode explores further.
func TestDecodeNeverPanics(t *testing.T) {
	var enc Encoder
	events := append(eventtest.Events(), eventtest.Small())
	for i := range events {
		e := &events[i]
		value, err := enc.AppendValue(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		for _, types := range [][]event.Column{nil, e.Columns} {
			for n := range value {
				var got event.Event
				_ = new(Decoder).Decode(value[:n], types, &got)
			}
			mutated := make([]byte, len(value))
			for n := 0; n < len(value); n += 7 {
				for _, c := range []byte{'"', '[', '{', '}', '0', '\\', 0xff} {
					copy(mutated, value)
					mutated[n] = c
					var got event.Event
					_ = new(Decoder).Decode(mutated, types, &got)
				}
			}
		}
	}
}
