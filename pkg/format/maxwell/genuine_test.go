package maxwell

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
)

// The files in testdata/genuine are written in the shape Maxwell documents
// for its output (docs/dataformat.md, docs/bootstrapping.md, the
// output_* options), not produced by this encoder: they check that topics
// written by a real Maxwell decode as Maxwell means them.

func col(name string, k event.Kind) event.Column { return event.Column{Name: name, Kind: k} }

var creature = []event.Column{col("id", event.Int), col("m", event.Decimal), col("c", event.String), col("comment", event.String)}

func creatureRow(m, c string) []event.Value {
	return []event.Value{event.IntValue(1), event.DecimalValue(m), event.StringValue(c), event.StringValue("I am a creature of light.")}
}

// allTypesHeader is the sluice.types header a Sluice capture would have sent
// with testdata/genuine/alltypes.json.
const allTypesHeader = `{"id":"bigint(20) unsigned","region":"char(2)","qty":"int(11)","price":"decimal(10,3)",` +
	`"big":"decimal(30,0)","ratio":"double","placed_at":"datetime(6)","tags":"set('a_val','b_val','c_val')",` +
	`"no_tags":"set('a_val')","blob":"blob","doc":"json","flag":"bit(1)","note":"text","weird":"varchar(20)"}`

func TestDecodeGenuine(t *testing.T) {
	allSource := event.Source{ServerID: 1, GTID: "3E11FA47-71CA-11E1-9E33-C80AA9429562:23", File: "mysql-bin.000003", Pos: 4242, Thread: 9}
	allTx := event.Tx{ID: allSource.GTID, XID: 555, Seq: 2}
	doc := event.JSONValue([]byte(`{"a":[1,"x"],"b":null}`))
	tests := []struct {
		file  string
		types string
		want  event.Event
	}{
		{file: "insert.json", want: event.Event{
			Op: event.OpInsert, Database: "test", Table: "e", Columns: creature,
			After:  creatureRow("4.2341", "2016-10-21 05:33:37.523000"),
			Source: event.Source{ServerID: 23042, File: "master.000006", Pos: 800911, Thread: 108},
			Tx:     event.Tx{XID: 23396, Last: true}, SourceTimeMs: 1477053217000,
		}},
		{file: "update.json", want: event.Event{
			Op: event.OpUpdate, Database: "test", Table: "e", Columns: creature, Key: []int{0},
			// Columns not in "old" are unchanged, so Before = data.merge(old).
			Before: creatureRow("4.2341", "2016-10-21 05:33:37.523000"),
			After:  creatureRow("5.444", "2016-10-21 05:33:54.631000"),
			Source: event.Source{ServerID: 23042, GTID: "e4ee4a56-2f4b-11e6-a6e5-0242ac110002:42", File: "master.000006", Pos: 801204, Thread: 108},
			Tx:     event.Tx{ID: "e4ee4a56-2f4b-11e6-a6e5-0242ac110002:42", XID: 23397}, SourceTimeMs: 1477053234000,
		}},
		{file: "delete.json", want: event.Event{
			Op: event.OpDelete, Database: "test", Table: "e", Columns: creature,
			Before: creatureRow("5.444", "2016-10-21 05:33:54.631000"),
			Source: event.Source{ServerID: 23042, File: "master.000006", Pos: 801520, Thread: 108},
			Tx:     event.Tx{XID: 23398, Last: true}, SourceTimeMs: 1477053250000,
		}},
		{file: "bootstrap-start.json", want: event.Event{
			Op: event.OpSnapshotStart, Database: "fooDB", Table: "barTable", SourceTimeMs: 1450557744000,
		}},
		{file: "bootstrap-insert.json", want: event.Event{
			Op: event.OpSnapshot, Database: "fooDB", Table: "barTable", SourceTimeMs: 1450557744000,
			Columns: []event.Column{col("txt", event.String)}, After: []event.Value{event.StringValue("hello")},
		}},
		{file: "bootstrap-complete.json", want: event.Event{
			Op: event.OpSnapshotComplete, Database: "fooDB", Table: "barTable", SourceTimeMs: 1450557744000,
		}},
		{file: "alltypes.json", want: event.Event{
			Op: event.OpInsert, Database: "shop", Table: "orders", Key: []int{0, 1},
			Columns: []event.Column{
				col("id", event.Uint), col("region", event.String), col("qty", event.Int), col("price", event.Decimal),
				col("big", event.Decimal), col("ratio", event.Decimal), col("placed_at", event.String), col("tags", event.JSON),
				col("no_tags", event.JSON), col("blob", event.String), col("doc", event.JSON), col("flag", event.JSON),
				col("note", event.Null), col("weird", event.String),
			},
			After: []event.Value{
				event.UintValue(18446744073709551615), event.StringValue("eu"), event.IntValue(-3), event.DecimalValue("12.500"),
				event.DecimalValue("123456789012345678901234567890"), event.DecimalValue("1.5e-7"),
				event.StringValue("2024-05-01 12:34:56.123456"), event.JSONValue([]byte(`["b_val","c_val"]`)),
				event.JSONValue([]byte(`[]`)), event.StringValue("AAEC/w=="), doc, event.JSONValue([]byte("true")),
				event.NullValue(), event.StringValue("tab\there ü"),
			},
			Source: allSource, Tx: allTx, SourceTimeMs: 1700000000000,
		}},
		{file: "alltypes.json", types: allTypesHeader, want: event.Event{
			Op: event.OpInsert, Database: "shop", Table: "orders", Key: []int{0, 1},
			Columns: mustTypes(t, allTypesHeader),
			After: []event.Value{
				event.UintValue(18446744073709551615), event.StringValue("eu"), event.IntValue(-3), event.DecimalValue("12.500"),
				event.DecimalValue("123456789012345678901234567890"), event.FloatValue(1.5e-7),
				event.DateTimeValue("2024-05-01 12:34:56.123456"), event.SetValue([]string{"b_val", "c_val"}),
				event.SetValue(nil), event.BytesValue([]byte{0, 1, 2, 0xff}), doc, event.BitValue(1),
				event.NullValue(), event.StringValue("tab\there ü"),
			},
			Source: allSource, Tx: allTx, SourceTimeMs: 1700000000000,
		}},
	}
	for _, tt := range tests {
		name := strings.TrimSuffix(tt.file, ".json")
		if tt.types != "" {
			name += "/types"
		}
		t.Run(name, func(t *testing.T) {
			var types []event.Column
			if tt.types != "" {
				types = mustTypes(t, tt.types)
			}
			var got event.Event
			if err := new(Decoder).Decode(readGenuine(t, tt.file), types, &got); err != nil {
				t.Fatal(err)
			}
			if d := diffEvent(&tt.want, &got); d != "" {
				t.Fatal(d)
			}
		})
	}
}

// A DDL record (output_ddl=true) is valid Maxwell output but not a row
// event: Decode reports ErrDDL, whatever order its members come in and
// whether or not it names a table, so a reader can skip it on purpose.
func TestDecodeGenuineDDL(t *testing.T) {
	cases := []struct{ name, value, typ string }{
		{"table-create", string(readGenuine(t, "table-create.json")), "table-create"},
		{"table-alter, type after old", `{"database":"shop","table":"items","old":{"database":"shop","table":"items",` +
			`"primary-key":["id"],"columns":[{"type":"int","name":"id","signed":true}]},"def":{"columns":[]},` +
			`"type":"table-alter","ts":1714566925000,"sql":"ALTER TABLE items ADD note TEXT"}`, "table-alter"},
		{"table-alter, type first", `{"type":"table-alter","database":"shop","table":"items","old":{"columns":[]},` +
			`"def":{"columns":[]},"ts":1714566925000,"sql":"ALTER TABLE items ADD note TEXT","position":"b.000003:6300"}`, "table-alter"},
		{"table-drop", `{"type":"table-drop","database":"shop","table":"items","ts":1,"sql":"DROP TABLE items"}`, "table-drop"},
		{"database-create", `{"type":"database-create","database":"shop","charset":"utf8mb4","ts":1,"sql":"CREATE DATABASE shop"}`, "database-create"},
		{"database-alter", `{"type":"database-alter","database":"shop","charset":"latin1","ts":1,"sql":"ALTER DATABASE shop CHARSET latin1"}`, "database-alter"},
		{"database-drop", `{"type":"database-drop","database":"shop","ts":1,"sql":"DROP DATABASE shop"}`, "database-drop"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var e event.Event
			err := new(Decoder).Decode([]byte(c.value), nil, &e)
			if !errors.Is(err, ErrDDL) || !strings.Contains(err.Error(), strconv.Quote(c.typ)) {
				t.Fatalf("error = %v, want ErrDDL naming %q", err, c.typ)
			}
			if !IsDDLType(c.typ) {
				t.Errorf("IsDDLType(%q) = false", c.typ)
			}
		})
	}
	for _, typ := range []string{"insert", "bootstrap-insert", "ddl", ""} {
		if IsDDLType(typ) {
			t.Errorf("IsDDLType(%q) = true", typ)
		}
	}
}

func readGenuine(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/genuine", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustTypes(t testing.TB, header string) []event.Column {
	t.Helper()
	cols, err := format.ParseTypes([]byte(header))
	if err != nil {
		t.Fatal(err)
	}
	return cols
}
