// Package eventtest holds the shared fixture of every MySQL type at its edge
// values. The format golden tests encode it, the schema tests validate what
// it encodes to, and the capture and apply integration tests create the same
// table in a real server and expect the same events back. Keeping one
// fixture is what makes "every type round-trips" (G8) a single claim.
package eventtest

import (
	"fmt"
	"math"
	"strings"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// Col is one column of the all-types table: its DDL type, the type the
// server reports for it, and the value of each fixture row as SQL literal
// and as canonical event value.
type Col struct {
	Name string
	DDL  string // column definition in CREATE TABLE
	Type string // COLUMN_TYPE as MariaDB 10.11 reports it
	// Rows: index RowMin, RowMax, RowNulls, RowZero.
	SQL    [4]string
	Values [4]event.Value
}

// Row indexes into Col.SQL and Col.Values.
const (
	RowMin   = 0 // minimum / smallest edge values, id 1
	RowMax   = 1 // maximum edge values, id 2
	RowNulls = 2 // NULL in every nullable column, id 3
	RowZero  = 3 // zero dates, NULL elsewhere, id 4
)

var (
	null = event.NullValue()
	n    = "NULL"
)

func f32(v float32) event.Value { return event.FloatValue(float64(v)) }

// Columns is the all-types table. The first column is the primary key.
var Columns = []Col{
	{"id", "INT UNSIGNED NOT NULL PRIMARY KEY", "int(10) unsigned",
		[4]string{"1", "2", "3", "4"},
		[4]event.Value{event.UintValue(1), event.UintValue(2), event.UintValue(3), event.UintValue(4)}},
	{"c_tinyint", "TINYINT", "tinyint(4)", [4]string{"-128", "127", n, n},
		[4]event.Value{event.IntValue(-128), event.IntValue(127), null, null}},
	{"c_tinyint_u", "TINYINT UNSIGNED", "tinyint(3) unsigned", [4]string{"0", "255", n, n},
		[4]event.Value{event.UintValue(0), event.UintValue(255), null, null}},
	{"c_smallint", "SMALLINT", "smallint(6)", [4]string{"-32768", "32767", n, n},
		[4]event.Value{event.IntValue(-32768), event.IntValue(32767), null, null}},
	{"c_smallint_u", "SMALLINT UNSIGNED", "smallint(5) unsigned", [4]string{"0", "65535", n, n},
		[4]event.Value{event.UintValue(0), event.UintValue(65535), null, null}},
	{"c_mediumint", "MEDIUMINT", "mediumint(9)", [4]string{"-8388608", "8388607", n, n},
		[4]event.Value{event.IntValue(-8388608), event.IntValue(8388607), null, null}},
	{"c_mediumint_u", "MEDIUMINT UNSIGNED", "mediumint(8) unsigned", [4]string{"0", "16777215", n, n},
		[4]event.Value{event.UintValue(0), event.UintValue(16777215), null, null}},
	{"c_int", "INT", "int(11)", [4]string{"-2147483648", "2147483647", n, n},
		[4]event.Value{event.IntValue(math.MinInt32), event.IntValue(math.MaxInt32), null, null}},
	{"c_int_u", "INT UNSIGNED", "int(10) unsigned", [4]string{"0", "4294967295", n, n},
		[4]event.Value{event.UintValue(0), event.UintValue(math.MaxUint32), null, null}},
	{"c_bigint", "BIGINT", "bigint(20)", [4]string{"-9223372036854775808", "9223372036854775807", n, n},
		[4]event.Value{event.IntValue(math.MinInt64), event.IntValue(math.MaxInt64), null, null}},
	{"c_bigint_u", "BIGINT UNSIGNED", "bigint(20) unsigned", [4]string{"0", "18446744073709551615", n, n},
		[4]event.Value{event.UintValue(0), event.UintValue(math.MaxUint64), null, null}},
	{"c_dec65", "DECIMAL(65,30)", "decimal(65,30)",
		[4]string{"-99999999999999999999999999999999999.999999999999999999999999999999", "99999999999999999999999999999999999.999999999999999999999999999999", n, n},
		[4]event.Value{
			event.DecimalValue("-99999999999999999999999999999999999.999999999999999999999999999999"),
			event.DecimalValue("99999999999999999999999999999999999.999999999999999999999999999999"), null, null}},
	{"c_dec20", "DECIMAL(20,6)", "decimal(20,6)", [4]string{"-0.000001", "99999999999999.999999", n, n},
		[4]event.Value{event.DecimalValue("-0.000001"), event.DecimalValue("99999999999999.999999"), null, null}},
	// 3.4028235e38 (float32's shortest form) is above FLT_MAX as a double,
	// and MariaDB clips it with a warning; this is FLT_MAX exactly.
	{"c_float", "FLOAT", "float", [4]string{"-1.17549435e-38", "3.4028234663852886e38", n, n},
		[4]event.Value{f32(-1.17549435e-38), f32(math.MaxFloat32), null, null}},
	{"c_double", "DOUBLE", "double", [4]string{"-1.7976931348623157e308", "2.2250738585072014e-308", n, n},
		[4]event.Value{event.FloatValue(-math.MaxFloat64), event.FloatValue(2.2250738585072014e-308), null, null}},
	{"c_bit1", "BIT(1)", "bit(1)", [4]string{"b'0'", "b'1'", n, n},
		[4]event.Value{event.BitValue(0), event.BitValue(1), null, null}},
	{"c_bit64", "BIT(64)", "bit(64)", [4]string{"b'0'", "18446744073709551615", n, n},
		[4]event.Value{event.BitValue(0), event.BitValue(math.MaxUint64), null, null}},
	{"c_date", "DATE", "date", [4]string{"'1000-01-01'", "'9999-12-31'", n, "'0000-00-00'"},
		[4]event.Value{event.DateValue("1000-01-01"), event.DateValue("9999-12-31"), null, event.DateValue("0000-00-00")}},
	{"c_dt0", "DATETIME", "datetime", [4]string{"'1000-01-01 00:00:00'", "'9999-12-31 23:59:59'", n, "'0000-00-00 00:00:00'"},
		[4]event.Value{event.DateTimeValue("1000-01-01 00:00:00"), event.DateTimeValue("9999-12-31 23:59:59"), null, event.DateTimeValue("0000-00-00 00:00:00")}},
	{"c_dt6", "DATETIME(6)", "datetime(6)", [4]string{"'1000-01-01 00:00:00.000000'", "'9999-12-31 23:59:59.999999'", n, "'0000-00-00 00:00:00.000000'"},
		[4]event.Value{event.DateTimeValue("1000-01-01 00:00:00.000000"), event.DateTimeValue("9999-12-31 23:59:59.999999"), null, event.DateTimeValue("0000-00-00 00:00:00.000000")}},
	// TIMESTAMP literals are given in UTC; tests set time_zone='+00:00'.
	{"c_ts6", "TIMESTAMP(6) NULL", "timestamp(6)", [4]string{"'1970-01-01 00:00:01.000000'", "'2038-01-19 03:14:07.999999'", n, "'0000-00-00 00:00:00.000000'"},
		[4]event.Value{event.TimestampValue("1970-01-01 00:00:01.000000"), event.TimestampValue("2038-01-19 03:14:07.999999"), null, event.TimestampValue("0000-00-00 00:00:00.000000")}},
	{"c_time6", "TIME(6)", "time(6)", [4]string{"'-838:59:59.000000'", "'838:59:59.000000'", n, n},
		[4]event.Value{event.TimeValue("-838:59:59.000000"), event.TimeValue("838:59:59.000000"), null, null}},
	{"c_year", "YEAR", "year(4)", [4]string{"1901", "2155", n, n},
		[4]event.Value{event.YearValue(1901), event.YearValue(2155), null, null}},
	{"c_char", "CHAR(10)", "char(10)", [4]string{"''", "'emoji 😀'", n, n},
		[4]event.Value{event.StringValue(""), event.StringValue("emoji 😀"), null, null}},
	{"c_varchar", "VARCHAR(64)", "varchar(64)", [4]string{"'a'", "'ünïcödé 😀🎉 \"q\" \\\\ end'", n, n},
		[4]event.Value{event.StringValue("a"), event.StringValue("ünïcödé 😀🎉 \"q\" \\ end"), null, null}},
	{"c_binary", "BINARY(4)", "binary(4)", [4]string{"x'00000000'", "x'00FF0001'", n, n},
		[4]event.Value{event.BytesValue([]byte{0, 0, 0, 0}), event.BytesValue([]byte{0, 0xff, 0, 1}), null, null}},
	{"c_varbinary", "VARBINARY(16)", "varbinary(16)", [4]string{"x''", "x'00FF00'", n, n},
		[4]event.Value{event.BytesValue([]byte{}), event.BytesValue([]byte{0, 0xff, 0}), null, null}},
	{"c_blob", "BLOB", "blob", [4]string{"x'00'", "x'0000626C6F6200'", n, n},
		[4]event.Value{event.BytesValue([]byte{0}), event.BytesValue([]byte("\x00\x00blob\x00")), null, null}},
	{"c_text", "TEXT", "text", [4]string{"''", "'line1\\nline2\\ttab 😀'", n, n},
		[4]event.Value{event.StringValue(""), event.StringValue("line1\nline2\ttab 😀"), null, null}},
	{"c_json", "JSON", "json", [4]string{`'{}'`, `'{"a":[1,2.5,"ü😀"],"b":{"c":null,"d":true}}'`, n, n},
		[4]event.Value{event.JSONValue([]byte(`{}`)), event.JSONValue([]byte(`{"a":[1,2.5,"ü😀"],"b":{"c":null,"d":true}}`)), null, null}},
	{"c_enum", "ENUM('','small','large')", "enum('','small','large')", [4]string{"''", "'large'", n, n},
		[4]event.Value{event.EnumValue(""), event.EnumValue("large"), null, null}},
	{"c_set", "SET('a','b','c')", "set('a','b','c')", [4]string{"''", "'a,c'", n, n},
		[4]event.Value{event.SetValue([]string{}), event.SetValue([]string{"a", "c"}), null, null}},
}

// Table is the fixture's database and table name.
const (
	Database = "shop"
	Table    = "all_types"
)

// CreateTableSQL returns the CREATE TABLE statement of the all-types table.
func CreateTableSQL(db, table string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE `%s`.`%s` (", db, table)
	for i, c := range Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "`%s` %s", c.Name, c.DDL)
	}
	b.WriteString(") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
	return b.String()
}

// InsertSQL returns the INSERT of fixture row r. Run it with
// sql_mode=” (zero dates) and time_zone='+00:00'.
func InsertSQL(db, table string, r int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO `%s`.`%s` VALUES (", db, table)
	for i, c := range Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.SQL[r])
	}
	b.WriteString(")")
	return b.String()
}

// EventColumns returns the event columns of the fixture table.
func EventColumns() []event.Column {
	cols := make([]event.Column, len(Columns))
	for i, c := range Columns {
		cols[i] = event.Column{Name: c.Name, Type: c.Type, Kind: event.KindOf(c.Type)}
	}
	return cols
}

// Row returns fixture row r as event values.
func Row(r int) []event.Value {
	row := make([]event.Value, len(Columns))
	for i, c := range Columns {
		row[i] = c.Values[r]
	}
	return row
}
