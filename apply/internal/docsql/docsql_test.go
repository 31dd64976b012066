package docsql

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/apply/internal/docrow"
	"github.com/sluice-cdc/sluice/apply/internal/mapping"
	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
)

// fakeSQL records what reaches the SQL sink and reports a fixed table.
type fakeSQL struct {
	cols    []sink.TargetColumn
	got     []sink.Row
	reloads int
}

func (f *fakeSQL) Apply(_ context.Context, rows []sink.Row, _ sink.Offset) error {
	f.got = append(f.got, rows...)
	return nil
}
func (f *fakeSQL) Offsets(context.Context, string, string) (map[int32]int64, error) { return nil, nil }
func (f *fakeSQL) SetOffsets(context.Context, string, string, map[int32]int64) error {
	return nil
}
func (f *fakeSQL) Close() error { return nil }
func (f *fakeSQL) TargetColumns(_ context.Context, _, table string, reload bool) ([]sink.TargetColumn, error) {
	if reload {
		f.reloads++
	}
	if table != "orders" {
		return nil, nil
	}
	return f.cols, nil
}

func docRow(t *testing.T, c *debezium.MongoChange) sink.Row {
	t.Helper()
	var e event.Event
	if err := docrow.FromChange(c, &e); err != nil {
		t.Fatal(err)
	}
	vals := e.After
	if e.Op == event.OpDelete {
		vals = e.Before
	}
	return sink.Row{Op: e.Op, Table: "orders", Columns: e.Columns, Key: e.Key, Values: vals, Topic: "t", Offset: 7}
}

var orders = []sink.TargetColumn{{Name: "_id"}, {Name: "i32"}, {Name: "i64"}, {Name: "dbl"}, {Name: "dec"}, {Name: "s"},
	{Name: "b"}, {Name: "at"}, {Name: "oid"}, {Name: "bin"}, {Name: "nul"}, {Name: "sub", JSON: true}, {Name: "arr"},
	{Name: "ts"}, {Name: "js", JSON: true}, {Name: "gen", Generated: true}, {Name: "extra"}}

const allTypes = `{"_id":{"$oid":"65a1b2c3d4e5f60718293a4b"},"i32":{"$numberInt":"-5"},"i64":{"$numberLong":"9007199254740993"},` +
	`"dbl":{"$numberDouble":"1.5"},"dec":{"$numberDecimal":"-1.2345E+2"},"s":"héllo","b":true,` +
	`"at":{"$date":{"$numberLong":"1700000000123"}},"oid":{"$oid":"65a1b2c3d4e5f60718293a4c"},` +
	`"bin":{"$binary":{"base64":"AAEC","subType":"00"}},"nul":null,"sub":{"a":{"$numberLong":"1"},"d":{"$date":{"$numberLong":"0"}}},` +
	`"arr":[{"$numberInt":"1"},"x"],"ts":{"$timestamp":{"t":1,"i":2}},"js":"str"}`

func TestFullDocument(t *testing.T) {
	f := &fakeSQL{cols: orders}
	s, err := Wrap(f, Config{})
	if err != nil {
		t.Fatal(err)
	}
	r := docRow(t, &debezium.MongoChange{Op: event.OpInsert, DB: "d", Collection: "orders", After: allTypes})
	if err := s.Apply(context.Background(), []sink.Row{r}, sink.Offset{}); err != nil {
		t.Fatal(err)
	}
	out := f.got[0]
	got := map[string]event.Value{}
	for i, c := range out.Columns {
		got[c.Name] = out.Values[i]
	}
	want := map[string]event.Value{
		"_id": event.StringValue("65a1b2c3d4e5f60718293a4b"), "i32": event.IntValue(-5), "i64": event.IntValue(9007199254740993),
		"dbl": event.FloatValue(1.5), "dec": event.DecimalValue("-123.45"), "s": event.StringValue("héllo"), "b": event.IntValue(1),
		"at": event.TimestampValue("2023-11-14 22:13:20.123"), "oid": event.StringValue("65a1b2c3d4e5f60718293a4c"),
		"bin": event.BytesValue([]byte{0, 1, 2}), "nul": event.NullValue(),
		"sub":   event.JSONValue([]byte(`{"a":1,"d":{"$date":"1970-01-01T00:00:00Z"}}`)),
		"arr":   event.JSONValue([]byte(`[1,"x"]`)),
		"ts":    event.JSONValue([]byte(`{"$timestamp":{"t":1,"i":2}}`)),
		"js":    event.JSONValue([]byte(`"str"`)),
		"extra": event.NullValue(), // absent field: NULL (absent_fields: null)
	}
	for name, w := range want {
		if g, ok := got[name]; !ok || !g.Equal(w) {
			t.Errorf("%s = %+v, want %+v", name, g, w)
		}
	}
	if _, ok := got["gen"]; ok {
		t.Error("generated column written")
	}
	if out.Columns[out.Key[0]].Name != "_id" || out.Offset != 7 {
		t.Errorf("key %v offset %d", out.Key, out.Offset)
	}
}

func TestCanonicalJSONAndKeep(t *testing.T) {
	f := &fakeSQL{cols: orders}
	s, _ := Wrap(f, Config{Documents: mapping.Documents{JSON: mapping.JSONCanonical, AbsentFields: mapping.AbsentKeep}})
	r := docRow(t, &debezium.MongoChange{Op: event.OpInsert, DB: "d", Collection: "orders", After: `{"_id":1,"sub":{"a":{"$numberLong":"1"}}}`})
	if err := s.Apply(context.Background(), []sink.Row{r}, sink.Offset{}); err != nil {
		t.Fatal(err)
	}
	out := f.got[0]
	for i, c := range out.Columns {
		switch c.Name {
		case "sub":
			if string(out.Values[i].B) != `{"a":{"$numberLong":"1"}}` {
				t.Errorf("sub = %s", out.Values[i].B)
			}
		case "_id":
			if !out.Values[i].Equal(event.IntValue(1)) {
				t.Errorf("_id = %+v", out.Values[i])
			}
		default:
			if out.Values[i].Kind != event.Absent {
				t.Errorf("%s = %+v, want absent (keep)", c.Name, out.Values[i])
			}
		}
	}
}

func TestUnmappedFields(t *testing.T) {
	doc := &debezium.MongoChange{Op: event.OpInsert, DB: "d", Collection: "orders", After: `{"_id":1,"s":"a","nope":2}`}
	f := &fakeSQL{cols: orders}
	s, _ := Wrap(f, Config{})
	err := s.Apply(context.Background(), []sink.Row{docRow(t, doc)}, sink.Offset{})
	var re *sink.RowError
	if !errors.As(err, &re) || re.Column != "nope" || re.Row.Offset != 7 || !strings.Contains(err.Error(), "unmapped_fields") {
		t.Fatalf("error mode: %v", err)
	}
	if f.reloads != 1 {
		t.Errorf("%d reloads before refusing, want 1", f.reloads)
	}

	var counted []string
	s, _ = Wrap(f, Config{Documents: mapping.Documents{UnmappedFields: mapping.UnmappedIgnore},
		OnUnmapped: func(table, field string) { counted = append(counted, table+"/"+field) }})
	if err := s.Apply(context.Background(), []sink.Row{docRow(t, doc), docRow(t, doc)}, sink.Offset{}); err != nil {
		t.Fatal(err)
	}
	if len(counted) != 2 || counted[0] != "orders/nope" || len(f.got) != 2 {
		t.Fatalf("ignore mode: counted %v, got %d rows", counted, len(f.got))
	}
	if f.reloads != 2 {
		t.Errorf("%d reloads, want 2 (ignore mode reloads at most every %s)", f.reloads, reloadEvery)
	}

	// The key cannot be ignored.
	f2 := &fakeSQL{cols: []sink.TargetColumn{{Name: "id"}, {Name: "s"}}}
	f2.cols = append(f2.cols, sink.TargetColumn{Name: "x"})
	s, _ = Wrap(f2, Config{Documents: mapping.Documents{UnmappedFields: mapping.UnmappedIgnore}})
	if err := s.Apply(context.Background(), []sink.Row{docRow(t, doc)}, sink.Offset{}); !errors.As(err, &re) || re.Column != "_id" {
		t.Fatalf("key: %v", err)
	}
	// No such table.
	r := docRow(t, doc)
	r.Table = "missing"
	if err := s.Apply(context.Background(), []sink.Row{r}, sink.Offset{}); !errors.As(err, &re) {
		t.Fatalf("table: %v", err)
	}
}

func TestPartialAndDelete(t *testing.T) {
	f := &fakeSQL{cols: orders}
	s, _ := Wrap(f, Config{})
	upd := docRow(t, &debezium.MongoChange{Op: event.OpUpdate, DB: "d", Collection: "orders", KeyExtJSON: `{"$numberInt":"1"}`,
		Update: &debezium.UpdateDescription{UpdatedFields: `{"s":"b"}`, RemovedFields: []string{"i32"}}})
	gone := docRow(t, &debezium.MongoChange{Op: event.OpUpdate, DB: "d", Collection: "orders", KeyExtJSON: `{"$numberInt":"1"}`,
		Update: &debezium.UpdateDescription{}})
	del := docRow(t, &debezium.MongoChange{Op: event.OpDelete, DB: "d", Collection: "orders", KeyExtJSON: `{"$numberInt":"1"}`})
	if err := s.Apply(context.Background(), []sink.Row{upd, gone, del}, sink.Offset{}); err != nil {
		t.Fatal(err)
	}
	if len(f.got) != 2 {
		t.Fatalf("got %d rows, want the update and the delete (the empty update is dropped)", len(f.got))
	}
	u := f.got[0]
	if names := []string{u.Columns[0].Name, u.Columns[1].Name, u.Columns[2].Name}; len(u.Columns) != 3 || names[1] != "s" || names[2] != "i32" ||
		!u.Values[1].Equal(event.StringValue("b")) || u.Values[2].Kind != event.Null || u.Key[0] != 0 {
		t.Fatalf("update %+v", u)
	}
	if d := f.got[1]; d.Op != event.OpDelete || len(d.Columns) != 1 || !d.Values[0].Equal(event.IntValue(1)) {
		t.Fatalf("delete %+v", d)
	}

	nested := docRow(t, &debezium.MongoChange{Op: event.OpUpdate, DB: "d", Collection: "orders", KeyExtJSON: `1`,
		Update: &debezium.UpdateDescription{UpdatedFields: `{"sub.a":1}`}})
	var re *sink.RowError
	if err := s.Apply(context.Background(), []sink.Row{nested}, sink.Offset{}); !errors.As(err, &re) || re.Column != "sub.a" {
		t.Fatalf("nested: %v", err)
	}
}

func TestValues(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"$numberDecimal":"1E+3"}`, "1000"}, {`{"$numberDecimal":"0.001"}`, "0.001"}, {`{"$numberDecimal":"-0.10"}`, "-0.10"},
		{`{"$numberDecimal":"12345678901234567890123456789012.34"}`, "12345678901234567890123456789012.34"},
	} {
		rv, err := docrow.ParseValue([]byte(c.in))
		if err != nil {
			t.Fatal(err)
		}
		got, err := decimalText(rv.Decimal128())
		if err != nil || got != c.want {
			t.Errorf("%s: %q %v, want %q", c.in, got, err, c.want)
		}
	}
	s := &Sink{}
	for _, bad := range []string{`{"$numberDecimal":"NaN"}`, `{"$date":{"$numberLong":"-62200000000000"}}`} {
		rv, _ := docrow.ParseValue([]byte(bad))
		if _, err := s.value(rv, false); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestPassThrough(t *testing.T) {
	f := &fakeSQL{cols: orders}
	s, _ := Wrap(f, Config{})
	row := sink.Row{Op: event.OpInsert, Table: "t", Columns: []event.Column{{Name: "id", Type: "int", Kind: event.Int}},
		Key: []int{0}, Values: []event.Value{event.IntValue(1)}}
	if err := s.Apply(context.Background(), []sink.Row{row}, sink.Offset{}); err != nil || len(f.got) != 1 || &f.got[0].Columns[0] != &row.Columns[0] {
		t.Fatalf("%v %+v", err, f.got)
	}
	if _, err := Wrap(struct{ sink.Sink }{}, Config{}); err == nil {
		t.Fatal("a sink without a catalog was wrapped")
	}
}
