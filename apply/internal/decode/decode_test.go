package decode

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
)

func TestSniff(t *testing.T) {
	tests := []struct {
		value, want, err string
	}{
		{`{"database":"d","table":"t","type":"insert","data":{"op":1}}`, Maxwell, ""},
		{`{"data":{"op":1,"payload":2},"table":"t","database":"d","type":"insert"}`, Maxwell, ""},
		{`{"before":null,"after":{"id":1},"op":"c"}`, Debezium, ""},
		{`{"schema":{},"payload":{"op":"c"}}`, Debezium, ""},
		// Maxwell's database DDL records name no table.
		{`{"type":"database-create","database":"d","charset":"utf8mb4","sql":"CREATE DATABASE d"}`, Maxwell, ""},
		{`{"table":"t","type":"insert"}`, "", "neither Maxwell-style"},
		{`[1]`, "", "not a JSON object"},
		{`{"a":1}`, "", "neither Maxwell-style"},
		{`{"a":`, "", "not valid JSON"},
	}
	for _, tt := range tests {
		got, err := Sniff([]byte(tt.value))
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("Sniff(%s) = %q, %v; want %q, %q", tt.value, got, err, tt.want, tt.err)
		}
	}
}

// TestRoundTrip decodes what capture's encoders write, with and without
// the headers (as from genuine peers), in auto mode.
func TestRoundTrip(t *testing.T) {
	for _, enc := range []format.Encoder{&maxwell.Encoder{}, &debezium.Encoder{}} {
		for _, headers := range []bool{true, false} {
			d, _ := New(Auto)
			for _, ev := range eventtest.Events() {
				if ev.Op == event.OpUpdate && !ev.Before[0].Equal(ev.After[0]) && enc.Name() == format.Debezium {
					continue // split into delete + create by the publisher
				}
				key, _ := enc.AppendKey(nil, &ev)
				val, _ := enc.AppendValue(nil, &ev)
				r := &kgo.Record{Key: key, Value: val}
				if headers {
					r.Headers = []kgo.RecordHeader{{Key: format.HeaderFormat, Value: []byte(enc.Name())}, {Key: format.HeaderTypes, Value: format.AppendTypes(nil, ev.Columns)}}
				}
				var got event.Event
				skip, err := d.Decode(r, &got)
				if err != nil || skip != "" {
					t.Fatalf("%s headers=%v: %v %q", enc.Name(), headers, err, skip)
				}
				if got.Op != ev.Op || got.Table != ev.Table || len(got.Key) != 1 || got.Columns[got.Key[0]].Name != "id" {
					t.Fatalf("%s headers=%v: got op %s table %s key %v", enc.Name(), headers, got.Op, got.Table, got.Key)
				}
				if headers {
					row, want := got.After, ev.After
					if ev.Op == event.OpDelete {
						row, want = got.Before, ev.Before
					}
					for i := range want {
						if !row[i].Equal(want[i]) {
							t.Fatalf("%s: column %s: got %+v want %+v", enc.Name(), ev.Columns[i].Name, row[i], want[i])
						}
					}
				}
			}
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	ev := eventtest.Small()
	var enc maxwell.Encoder
	key, _ := enc.AppendKey(nil, &ev)
	val, _ := enc.AppendValue(nil, &ev)
	types := func(s string) []kgo.RecordHeader {
		return []kgo.RecordHeader{{Key: format.HeaderTypes, Value: []byte(s)}}
	}
	tests := []struct {
		name string
		r    *kgo.Record
		want string
	}{
		{"unknown type", &kgo.Record{Key: key, Value: val, Headers: types(strings.Replace(string(format.AppendTypes(nil, ev.Columns)), "double", "frobnicate", 1))}, `type "frobnicate"`},
		{"bad types header", &kgo.Record{Key: key, Value: val, Headers: types(`{"id":`)}, "sluice.types"},
		{"format mismatch", &kgo.Record{Key: key, Value: val, Headers: []kgo.RecordHeader{{Key: format.HeaderFormat, Value: []byte("debezium")}}}, "debezium-style"},
		{"unknown format header", &kgo.Record{Key: key, Value: val, Headers: []kgo.RecordHeader{{Key: format.HeaderFormat, Value: []byte("avro")}}}, `unknown format "avro"`},
		{"maxwell key without pk", &kgo.Record{Key: []byte(`{"database":"shop"}`), Value: []byte(`{"database":"shop","table":"t","type":"insert","ts":1,"data":{"id":1}}`)}, "no pk.* column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := New(Auto)
			if tt.name == "format mismatch" {
				d, _ = New(Maxwell)
			}
			var e event.Event
			_, err := d.Decode(tt.r, &e)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSkips(t *testing.T) {
	d, _ := New(Auto)
	var e event.Event
	if s, err := d.Decode(&kgo.Record{Key: []byte(`{"id":1}`)}, &e); s != SkipTombstone || err != nil {
		t.Fatalf("tombstone: %q %v", s, err)
	}
	v := []byte(`{"database":"shop","table":"t","type":"bootstrap-start","ts":1,"data":{}}`)
	if s, err := d.Decode(&kgo.Record{Value: v}, &e); s != SkipMarker || err != nil {
		t.Fatalf("bootstrap-start: %q %v", s, err)
	}
}

// TestSkipsMaxwellDDL: the DDL records genuine Maxwell writes with
// output_ddl=true are skipped as "ddl" in auto and maxwell mode, whatever
// their key (Maxwell keys them by a random UUID) and member order.
func TestSkipsMaxwellDDL(t *testing.T) {
	values := []string{
		`{"type":"table-create","database":"shop","table":"items","def":{"database":"shop","table":"items","columns":[{"type":"int","name":"id","signed":true}],"primary-key":["id"]},"ts":1714566925000,"sql":"CREATE TABLE items (id INT PRIMARY KEY)","position":"b.000003:100"}`,
		`{"database":"shop","table":"items","old":{"columns":[{"type":"int","name":"id"}],"primary-key":["id"]},"def":{"columns":[]},"type":"table-alter","ts":1714566925000,"sql":"ALTER TABLE items ADD note TEXT"}`,
		`{"type":"table-drop","database":"shop","table":"items","ts":1714566925000,"sql":"DROP TABLE items"}`,
		`{"type":"database-create","database":"shop","charset":"utf8mb4","ts":1714566925000,"sql":"CREATE DATABASE shop"}`,
		`{"type":"database-alter","database":"shop","charset":"latin1","ts":1714566925000,"sql":"ALTER DATABASE shop CHARSET latin1"}`,
		`{"type":"database-drop","database":"shop","ts":1714566925000,"sql":"DROP DATABASE shop"}`,
	}
	for _, f := range []string{Auto, Maxwell} {
		d, _ := New(f)
		for _, v := range values {
			var e event.Event
			r := &kgo.Record{Key: []byte("5b2a6a4e-0c1f-4d1e-9d3a-1f2e3d4c5b6a"), Value: []byte(v)}
			if s, err := d.Decode(r, &e); s != SkipDDL || err != nil {
				t.Errorf("input %s: %s: got skip %q, error %v; want skip %q", f, v, s, err, SkipDDL)
			}
		}
	}
	// A record that only looks like DDL is still an error.
	d, _ := New(Auto)
	var e event.Event
	r := &kgo.Record{Value: []byte(`{"type":"table-rename","database":"shop","table":"items"}`)}
	if s, err := d.Decode(r, &e); s != "" || err == nil {
		t.Errorf("unknown type: got skip %q, error %v; want an error", s, err)
	}
}
