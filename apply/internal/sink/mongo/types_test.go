package mongo

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// typeCase is one MySQL column, a value and the Extended JSON of the BSON
// value it must become.
type typeCase struct {
	typ  string
	v    event.Value
	want string
}

var sqlTypes = []typeCase{
	{"tinyint(4)", event.IntValue(-128), `{"$numberInt":"-128"}`},
	{"int(11)", event.IntValue(2147483647), `{"$numberInt":"2147483647"}`},
	{"bigint(20)", event.IntValue(7), `{"$numberLong":"7"}`},
	{"bigint(20)", event.IntValue(-9223372036854775808), `{"$numberLong":"-9223372036854775808"}`},
	{"int(10) unsigned", event.UintValue(4294967295), `{"$numberLong":"4294967295"}`},
	{"bigint(20) unsigned", event.UintValue(9223372036854775807), `{"$numberLong":"9223372036854775807"}`},
	{"double", event.FloatValue(-1.5e300), `{"$numberDouble":"-1.5E+300"}`},
	{"float", event.FloatValue(float64(float32(0.1))), `{"$numberDouble":"0.10000000149011612"}`},
	{"varchar(20)", event.StringValue("é 😀 \x00 ''"), `"é 😀 \u0000 ''"`},
	{"varchar(20)", event.StringValue(""), `""`},
	{"varchar(20)", event.NullValue(), `null`},
	{"blob", event.BytesValue([]byte{0, 1, 0xff}), `{"$binary":{"base64":"AAH/","subType":"00"}}`},
	{"date", event.DateValue("2024-02-29"), `{"$date":{"$numberLong":"1709164800000"}}`},
	{"datetime(3)", event.DateTimeValue("2024-02-29 23:59:58.123"), `{"$date":{"$numberLong":"1709251198123"}}`},
	{"timestamp(6)", event.TimestampValue("1970-01-01 00:00:01.000000"), `{"$date":{"$numberLong":"1000"}}`},
	{"datetime", event.DateTimeValue("0000-00-00 00:00:00"), `"0000-00-00 00:00:00"`},
	{"time(6)", event.TimeValue("-838:59:59.000000"), `"-838:59:59.000000"`},
	{"year", event.YearValue(2155), `{"$numberInt":"2155"}`},
	{"bit(8)", event.BitValue(5), `{"$numberLong":"5"}`},
	{"enum('a','b')", event.EnumValue("b"), `"b"`},
	{"set('x','y')", event.SetValue([]string{"x", "y"}), `["x","y"]`},
	{"set('x','y')", event.SetValue(nil), `[]`},
	{"json", event.JSONValue([]byte(`{"z":1,"a":[true,null,1.5,"s",{"k":"x"}],"big":12345678901}`)),
		`{"z":{"$numberInt":"1"},"a":[true,null,{"$numberDouble":"1.5"},"s",{"k":"x"}],"big":{"$numberLong":"12345678901"}}`},
	{"decimal(10,2)", event.DecimalValue("-12.50"), `"-12.50"`}, // DecimalsString on FerretDB; Decimal128 below
}

// TestSQLTypes: a row of every MySQL type becomes the documented BSON
// value and reads back as written.
func TestSQLTypes(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Decimals = DecimalsString })
	cols := []event.Column{{Name: "id", Type: "int(11)", Kind: event.Int}}
	vals := []event.Value{event.IntValue(1)}
	want := `{"_id":{"$numberInt":"1"},"id":{"$numberInt":"1"}`
	for i, c := range sqlTypes {
		name := "c" + string(rune('a'+i))
		cols = append(cols, event.Column{Name: name, Type: c.typ, Kind: event.KindOf(c.typ)})
		vals = append(vals, c.v)
		want += `,"` + name + `":` + c.want
	}
	want += "}"
	f.mustApply(0, Row{Op: event.OpInsert, Table: "types", Columns: cols, Key: []int{0}, Values: vals})
	wantDocs(t, f.docs("types"), want)
}

// TestCompositeKey: a composite primary key becomes a document _id.
func TestCompositeKey(t *testing.T) {
	f := newFixture(t, nil)
	cols := []event.Column{{Name: "a", Type: "varchar(5)", Kind: event.String}, {Name: "b", Type: "bigint(20)", Kind: event.Int}}
	r := Row{Op: event.OpInsert, Table: "ck", Columns: cols, Key: []int{1, 0}, Values: []event.Value{event.StringValue("x"), event.IntValue(2)}}
	f.mustApply(0, r)
	wantDocs(t, f.docs("ck"), `{"_id":{"b":{"$numberLong":"2"},"a":"x"},"a":"x","b":{"$numberLong":"2"}}`)
	r.Op = event.OpDelete
	f.mustApply(1, r)
	wantDocs(t, f.docs("ck"))
}

// TestDecimal128: DECIMAL and unsigned 64-bit values above int64 become
// Decimal128 with their exact digits. FerretDB v1 has no Decimal128, so
// this runs only against a real MongoDB (SLUICE_TEST_MONGO_URI).
func TestDecimal128(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Decimals = DecimalsDecimal128 })
	if !f.m.Real() {
		t.Skip("FerretDB v1 has no Decimal128; set SLUICE_TEST_MONGO_URI to a real MongoDB to run this")
	}
	cols := []event.Column{{Name: "id", Type: "int(11)", Kind: event.Int}, {Name: "d", Type: "decimal(34,10)", Kind: event.Decimal},
		{Name: "u", Type: "bigint(20) unsigned", Kind: event.Uint}}
	f.mustApply(0, Row{Op: event.OpInsert, Table: "dec", Columns: cols, Key: []int{0},
		Values: []event.Value{event.IntValue(1), event.DecimalValue("-123456789012345678901234.0000000001"), event.UintValue(18446744073709551615)}})
	wantDocs(t, f.docs("dec"), `{"_id":{"$numberInt":"1"},"id":{"$numberInt":"1"},"d":{"$numberDecimal":"-123456789012345678901234.0000000001"},"u":{"$numberDecimal":"18446744073709551615"}}`)
}

// TestValuePolicies: values BSON cannot hold exactly are refused, naming
// the column, unless configured otherwise (no server needed).
func TestValuePolicies(t *testing.T) {
	col := &event.Column{Name: "c", Type: "datetime(6)"}
	strict := converter{decimals: DecimalsDecimal128, subMillis: SubMillisError}
	if _, err := strict.value(col, event.DateTimeValue("2024-01-01 00:00:00.123456")); err == nil || !strings.Contains(err.Error(), "millisecond") {
		t.Errorf("sub-millisecond datetime: err = %v, want a refusal", err)
	}
	trunc := converter{subMillis: SubMillisTruncate}
	if v, err := trunc.value(col, event.DateTimeValue("2024-01-01 00:00:00.123456")); err != nil || v == nil {
		t.Errorf("truncate: %v, %v", v, err)
	}
	if _, err := strict.value(&event.Column{Type: "decimal(65,30)"}, event.DecimalValue(strings.Repeat("9", 35)+".0")); err == nil {
		t.Error("a 36-digit DECIMAL was accepted as Decimal128")
	}
	s := &Sink{cfg: Config{Database: "d"}, conv: strict}
	_, err := s.plan([]Row{{Op: event.OpInsert, Table: "x", Topic: "t", Offset: 9, Columns: []event.Column{{Name: "id", Type: "datetime(6)"}},
		Key: []int{0}, Values: []event.Value{event.DateTimeValue("2024-01-01 00:00:00.000001")}}})
	var re *sink.RowError
	if !errors.As(err, &re) || re.Column != "id" || !strings.Contains(err.Error(), "t/0@9") {
		t.Errorf("plan error = %v, want a RowError naming the column and offset", err)
	}
}
