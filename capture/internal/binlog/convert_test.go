package binlog

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// Collation ids of the servers' defaults, with their bytes per character.
var testMaxLen = map[uint64]int{45: 4, 46: 4, 224: 4, 33: 3, 8: 1, binaryCollation: 1}

func TestColumnType(t *testing.T) {
	// str packs MYSQL_TYPE_STRING metadata as the server does: the two
	// high length bits are folded, inverted, into the real type byte.
	str := func(realType byte, length int) uint16 {
		b0 := uint16(realType) ^ uint16((length&0x300)>>4)
		return b0<<8 | uint16(length&0xff)
	}
	for _, c := range []struct {
		typ  byte
		info typeInfo
		want string
		kind event.Kind
		fsp  int
	}{
		{mysql.MYSQL_TYPE_TINY, typeInfo{}, "tinyint", event.Int, 0},
		{mysql.MYSQL_TYPE_LONGLONG, typeInfo{unsigned: true}, "bigint unsigned", event.Uint, 0},
		{mysql.MYSQL_TYPE_INT24, typeInfo{unsigned: true}, "mediumint unsigned", event.Uint, 0},
		{mysql.MYSQL_TYPE_NEWDECIMAL, typeInfo{meta: 65<<8 | 30}, "decimal(65,30)", event.Decimal, 0},
		{mysql.MYSQL_TYPE_FLOAT, typeInfo{meta: 4}, "float", event.Float, 0},
		{mysql.MYSQL_TYPE_BIT, typeInfo{meta: 8 << 8}, "bit(64)", event.Bit, 0},
		{mysql.MYSQL_TYPE_BIT, typeInfo{meta: 1}, "bit(1)", event.Bit, 0},
		{mysql.MYSQL_TYPE_DATETIME2, typeInfo{meta: 6}, "datetime(6)", event.DateTime, 6},
		{mysql.MYSQL_TYPE_DATETIME2, typeInfo{}, "datetime", event.DateTime, 0},
		{mysql.MYSQL_TYPE_TIMESTAMP2, typeInfo{meta: 3}, "timestamp(3)", event.Timestamp, 3},
		{mysql.MYSQL_TYPE_TIME2, typeInfo{meta: 6}, "time(6)", event.Time, 6},
		{mysql.MYSQL_TYPE_YEAR, typeInfo{}, "year", event.Year, 0},
		{mysql.MYSQL_TYPE_DATE, typeInfo{}, "date", event.Date, 0},
		{mysql.MYSQL_TYPE_VARCHAR, typeInfo{meta: 256, bytesPerChar: 4}, "varchar(64)", event.String, 0},
		{mysql.MYSQL_TYPE_VARCHAR, typeInfo{meta: 16, binary: true, bytesPerChar: 1}, "varbinary(16)", event.Bytes, 0},
		{mysql.MYSQL_TYPE_STRING, typeInfo{meta: str(mysql.MYSQL_TYPE_STRING, 40), bytesPerChar: 4}, "char(10)", event.String, 0},
		{mysql.MYSQL_TYPE_STRING, typeInfo{meta: str(mysql.MYSQL_TYPE_STRING, 1020), bytesPerChar: 4}, "char(255)", event.String, 0},
		{mysql.MYSQL_TYPE_STRING, typeInfo{meta: str(mysql.MYSQL_TYPE_STRING, 4), binary: true, bytesPerChar: 1}, "binary(4)", event.Bytes, 0},
		{mysql.MYSQL_TYPE_BLOB, typeInfo{meta: 2, binary: true}, "blob", event.Bytes, 0},
		{mysql.MYSQL_TYPE_BLOB, typeInfo{meta: 4, bytesPerChar: 4}, "longtext", event.String, 0},
		{mysql.MYSQL_TYPE_BLOB, typeInfo{meta: 1}, "tinytext", event.String, 0},
		{mysql.MYSQL_TYPE_JSON, typeInfo{meta: 4}, "json", event.JSON, 0},
		{mysql.MYSQL_TYPE_STRING, typeInfo{enum: []string{"", "it's"}}, "enum('','it''s')", event.Enum, 0},
		{mysql.MYSQL_TYPE_STRING, typeInfo{set: []string{"a", "b"}}, "set('a','b')", event.Set, 0},
	} {
		got, conv, err := columnType(c.typ, c.info)
		if err != nil {
			t.Errorf("type %d %+v: %v", c.typ, c.info, err)
			continue
		}
		if got != c.want || event.KindOf(got) != c.kind || conv.fsp != c.fsp {
			t.Errorf("type %d %+v = %q (kind %v, fsp %d), want %q (kind %v, fsp %d)", c.typ, c.info, got, event.KindOf(got), conv.fsp, c.want, c.kind, c.fsp)
		}
	}
	if _, _, err := columnType(mysql.MYSQL_TYPE_VECTOR, typeInfo{meta: 4}); err == nil {
		t.Error("VECTOR: want an unsupported-type error")
	}
}

// TestColumnsOfNeedsFullMetadata: a table map without column names is
// refused with the setting to change.
func TestColumnsOfNeedsFullMetadata(t *testing.T) {
	tm := &replication.TableMapEvent{Schema: []byte("d"), Table: []byte("t"), ColumnCount: 1,
		ColumnType: []byte{mysql.MYSQL_TYPE_LONG}, ColumnMeta: []uint16{0}}
	_, _, err := columnsOf(tm, testMaxLen, nil)
	if err == nil || !strings.Contains(err.Error(), "binlog_row_metadata=FULL") || !isFatal(err) {
		t.Fatalf("err = %v, want a fatal error naming binlog_row_metadata=FULL", err)
	}
	tm.ColumnName = [][]byte{[]byte("id")}
	tm.SignednessBitmap = []byte{0x80}
	cols, _, err := columnsOf(tm, testMaxLen, nil)
	if err != nil || cols[0].Name != "id" || cols[0].Type != "int unsigned" || cols[0].Kind != event.Uint {
		t.Fatalf("with names: %+v, %v", cols, err)
	}
}

// TestColumnsOfMariaDBJSON: LONGTEXT is JSON only where the catalog says so.
func TestColumnsOfMariaDBJSON(t *testing.T) {
	tm := &replication.TableMapEvent{Schema: []byte("d"), Table: []byte("t"), ColumnCount: 2,
		ColumnType: []byte{mysql.MYSQL_TYPE_BLOB, mysql.MYSQL_TYPE_BLOB}, ColumnMeta: []uint16{4, 4},
		ColumnName: [][]byte{[]byte("doc"), []byte("note")}, DefaultCharset: []uint64{46}}
	cols, _, err := columnsOf(tm, testMaxLen, map[string]bool{"doc": true})
	if err != nil {
		t.Fatal(err)
	}
	if cols[0].Kind != event.JSON || cols[1].Kind != event.String {
		t.Fatalf("columns = %+v, want doc JSON and note String", cols)
	}
}

func TestConvertValue(t *testing.T) {
	for _, c := range []struct {
		name string
		kind event.Kind
		conv colConv
		in   any
		want event.Value
	}{
		{"null", event.Int, colConv{}, nil, event.NullValue()},
		{"int8", event.Int, colConv{}, int8(-128), event.IntValue(-128)},
		{"int24", event.Int, colConv{}, int32(-8388608), event.IntValue(-8388608)},
		{"uint64 max", event.Uint, colConv{}, uint64(math.MaxUint64), event.UintValue(math.MaxUint64)},
		{"uint8", event.Uint, colConv{}, uint8(255), event.UintValue(255)},
		{"float32", event.Float, colConv{}, float32(math.MaxFloat32), event.FloatValue(float64(float32(math.MaxFloat32)))},
		{"decimal", event.Decimal, colConv{}, "-0.000001", event.DecimalValue("-0.000001")},
		{"datetime6", event.DateTime, colConv{fsp: 6}, "1000-01-01 00:00:00.000000", event.DateTimeValue("1000-01-01 00:00:00.000000")},
		{"zero ts6", event.Timestamp, colConv{fsp: 6}, "0000-00-00 00:00:00.000000", event.TimestampValue("0000-00-00 00:00:00.000000")},
		{"time without fraction", event.Time, colConv{fsp: 6}, "-838:59:59", event.TimeValue("-838:59:59.000000")},
		{"year", event.Year, colConv{}, 2155, event.YearValue(2155)},
		{"bit64", event.Bit, colConv{}, int64(-1), event.BitValue(math.MaxUint64)},
		{"enum error value", event.Enum, colConv{labels: []string{"a", "b"}}, int64(0), event.EnumValue("")},
		{"enum", event.Enum, colConv{labels: []string{"", "small", "large"}}, int64(3), event.EnumValue("large")},
		{"set empty", event.Set, colConv{labels: []string{"a", "b", "c"}}, int64(0), event.SetValue([]string{})},
		{"set", event.Set, colConv{labels: []string{"a", "b", "c"}}, int64(5), event.SetValue([]string{"a", "c"})},
		{"text blob", event.String, colConv{}, []byte("line1\nline2"), event.StringValue("line1\nline2")},
		{"binary padded", event.Bytes, colConv{binaryLen: 4}, "", event.BytesValue([]byte{0, 0, 0, 0})},
		{"binary kept", event.Bytes, colConv{binaryLen: 4}, "\x00\xff\x00\x01", event.BytesValue([]byte{0, 0xff, 0, 1})},
		{"varbinary empty", event.Bytes, colConv{}, "", event.BytesValue([]byte{})},
		{"json text", event.JSON, colConv{}, `{"a":1}`, event.JSONValue([]byte(`{"a":1}`))},
		{"json mariadb", event.JSON, colConv{}, []byte(`{}`), event.JSONValue([]byte(`{}`))},
		{"json empty", event.JSON, colConv{}, []byte{}, event.JSONValue([]byte(`null`))},
	} {
		got, err := convertValue(c.kind, &c.conv, c.in)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%s: convertValue(%v, %#v) = %+v, %v; want %+v", c.name, c.kind, c.in, got, err, c.want)
		}
	}
	for _, c := range []struct {
		name string
		kind event.Kind
		conv colConv
		in   any
	}{
		{"signed value in an unsigned column", event.Uint, colConv{}, int32(-1)},
		{"enum index past the labels", event.Enum, colConv{labels: []string{"a"}}, int64(2)},
		{"set bit past the members", event.Set, colConv{labels: []string{"a"}}, int64(2)},
		{"partial JSON", event.JSON, colConv{}, &replication.JsonDiff{}},
		{"string for an int", event.Int, colConv{}, "1"},
	} {
		if got, err := convertValue(c.kind, &c.conv, c.in); err == nil {
			t.Errorf("%s: convertValue = %+v, want an error", c.name, got)
		}
	}
}

// TestBytesValueDoesNotShareTail: a BLOB value sliced from the event packet
// cannot be appended to in place.
func TestBytesValueDoesNotShareTail(t *testing.T) {
	packet := []byte("abcdef")
	v, err := bytesValue(packet[:3], 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(v.B, 'X')
	if string(packet) != "abcdef" {
		t.Fatalf("appending to the value changed the packet: %q", packet)
	}
}

func TestPadFraction(t *testing.T) {
	for _, c := range []struct {
		in   string
		fsp  int
		want string
	}{
		{"0000-00-00 00:00:00", 6, "0000-00-00 00:00:00.000000"},
		{"2024-01-01 10:00:00.5", 6, "2024-01-01 10:00:00.500000"},
		{"-838:59:59", 6, "-838:59:59.000000"},
		{"10:00:00.123456", 6, "10:00:00.123456"},
		{"00:00:00", 2, "00:00:00.00"},
		{"2024-01-01 10:00:00", 0, "2024-01-01 10:00:00"},
	} {
		if got := padFraction(c.in, c.fsp); got != c.want {
			t.Errorf("padFraction(%q, %d) = %q, want %q", c.in, c.fsp, got, c.want)
		}
	}
}

func TestJSONValidColumn(t *testing.T) {
	for clause, want := range map[string]string{
		"json_valid(`c_json`)":     "c_json",
		"JSON_VALID(`a``b`)":       "a`b",
		"json_valid(`a`) and 1":    "",
		"`x` > 0":                  "",
		"json_valid(`a`) or (`b`)": "",
	} {
		got, ok := jsonValidColumn(clause)
		if got != want || ok != (want != "") {
			t.Errorf("jsonValidColumn(%q) = %q, %v; want %q", clause, got, ok, want)
		}
	}
}

func TestQueryClassification(t *testing.T) {
	for q, want := range map[string]string{
		"INSERT INTO t VALUES (1)":         "INSERT",
		"/* c */ update t set a=1":         "update",
		"/* a */ /* b */ DELETE FROM t":    "DELETE",
		"ALTER TABLE t ADD COLUMN b INT":   "ALTER",
		"CREATE TABLE t(id int)":           "CREATE",
		"SAVEPOINT `s1`":                   "SAVEPOINT",
		"/* unterminated comment":          "",
		"replace into t select * from t2 ": "replace",
	} {
		if got := firstWord(q); got != want {
			t.Errorf("firstWord(%q) = %q, want %q", q, got, want)
		}
	}
	if !isDML("LOAD") || isDML("ALTER") {
		t.Error("isDML misclassifies")
	}
}

// TestPublish: excluded columns disappear except key columns, and the key
// is re-indexed into the published columns.
func TestPublish(t *testing.T) {
	s := event.String
	tb := &table{tableName: tableName{"d", "t"}, cols: []event.Column{{Name: "secret", Kind: s}, {Name: "id", Kind: s}, {Name: "a", Kind: s}, {Name: "b", Kind: s}}}
	tb.conv = make([]colConv, 4)
	tb.publish([]int{1}, func(db, table, col string) bool { return col == "secret" || col == "id" || col == "b" })
	var names []string
	for _, c := range tb.columns {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "id,a" || len(tb.key) != 1 || tb.key[0] != 0 {
		t.Fatalf("published %v key %v, want id,a keyed by [0]", names, tb.key)
	}
	row, err := tb.convertRow([]any{"x", "1", "2", "3"})
	if err != nil || len(row) != 2 || row[0].S != "1" || row[1].S != "2" {
		t.Fatalf("converted row = %+v, %v; want the values of id and a", row, err)
	}
	if _, err := tb.convertRow([]any{"1", "2"}); err == nil {
		t.Fatal("a row shorter than the table map was accepted")
	}
}

func TestBackoff(t *testing.T) {
	b := newBackoff()
	prev := time.Duration(0)
	for i := 0; i < 20; i++ {
		d := b.Next()
		if d <= 0 || d > maxBackoff {
			t.Fatalf("wait %d = %s, want within (0, %s]", i, d, maxBackoff)
		}
		if i < 5 && d < prev/4 {
			t.Fatalf("wait %d = %s after %s: not growing", i, d, prev)
		}
		prev = d
	}
	if prev < maxBackoff/2 {
		t.Fatalf("after 20 attempts the wait is %s, want near the cap %s", prev, maxBackoff)
	}
}

func TestMySQLGTID(t *testing.T) {
	sid := []byte{0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x62}
	if got := mysqlGTID(&replication.GTIDEvent{SID: sid, GNO: 23}); got != "3e11fa47-71ca-11e1-9e33-c80aa9429562:23" {
		t.Errorf("GTID = %q", got)
	}
	if got := mysqlGTID(&replication.GTIDEvent{SID: sid, GNO: 5, Tag: mysql.NewTag("Batch")}); got != "3e11fa47-71ca-11e1-9e33-c80aa9429562:batch:5" {
		t.Errorf("tagged GTID = %q", got)
	}
	if got := mysqlGTID(&replication.GTIDEvent{SID: make([]byte, 16)}); got != "" {
		t.Errorf("anonymous GTID = %q, want empty", got)
	}
}
