package eventtest

import "github.com/sluice-cdc/sluice/pkg/event"

// Fixed times so encodings are byte-stable.
const (
	SourceTimeMs = 1700000000000
	EmitTimeMs   = 1700000000123
)

func base(op event.Op, before, after []event.Value, tx event.Tx, pos uint64, row uint32) event.Event {
	return event.Event{
		Op:       op,
		Database: Database,
		Table:    Table,
		Columns:  EventColumns(),
		Key:      []int{0},
		Before:   before,
		After:    after,
		Source: event.Source{
			Connector: "mariadb",
			Name:      "sluice",
			Version:   "0.1.0",
			ServerID:  1,
			GTID:      tx.ID,
			File:      "mariadb-bin.000001",
			Pos:       pos,
			Row:       row,
			Thread:    7,
		},
		Tx:           tx,
		SourceTimeMs: SourceTimeMs,
		EmitTimeMs:   EmitTimeMs,
		Position:     `{"gtid":"` + tx.ID + `","file":"mariadb-bin.000001","pos":` + itoa(pos) + `,"server_id":1}`,
	}
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

// Events is the golden sequence of the all-types table, in the order a
// capture of the statements in Statements would produce them:
//
//	tx 0-1-10: insert rows 1..4 (min, max, nulls, zero dates)
//	tx 0-1-11: update row 1 (c_int and c_varchar change), delete row 2
//	tx 0-1-12: primary-key change of row 3 (id 3 -> 5)
func Events() []event.Event {
	tx1 := func(seq uint64, last bool) event.Tx {
		return event.Tx{ID: "0-1-10", XID: 100, Seq: seq, TableSeq: seq + 1, Last: last}
	}
	updated := Row(RowMin)
	updated[idx("c_int")] = event.IntValue(42)
	updated[idx("c_varchar")] = event.StringValue("b")
	pkBefore := Row(RowNulls)
	pkAfter := Row(RowNulls)
	pkAfter[0] = event.UintValue(5)
	return []event.Event{
		base(event.OpInsert, nil, Row(RowMin), tx1(0, false), 1000, 0),
		base(event.OpInsert, nil, Row(RowMax), tx1(1, false), 1000, 1),
		base(event.OpInsert, nil, Row(RowNulls), tx1(2, false), 1000, 2),
		base(event.OpInsert, nil, Row(RowZero), tx1(3, true), 1000, 3),
		base(event.OpUpdate, Row(RowMin), updated, event.Tx{ID: "0-1-11", XID: 101, Seq: 0, TableSeq: 1}, 2000, 0),
		base(event.OpDelete, Row(RowMax), nil, event.Tx{ID: "0-1-11", XID: 101, Seq: 1, TableSeq: 2, Last: true}, 2100, 0),
		base(event.OpUpdate, pkBefore, pkAfter, event.Tx{ID: "0-1-12", XID: 102, Seq: 0, TableSeq: 1, Last: true}, 3000, 0),
	}
}

// Statements are the SQL statements, one transaction per element, that
// produce Events when run against a server with the fixture table created
// (sql_mode=”, time_zone='+00:00').
func Statements(db, table string) [][]string {
	q := "`" + db + "`.`" + table + "`"
	return [][]string{
		{InsertSQL(db, table, RowMin), InsertSQL(db, table, RowMax), InsertSQL(db, table, RowNulls), InsertSQL(db, table, RowZero)},
		{"UPDATE " + q + " SET c_int = 42, c_varchar = 'b' WHERE id = 1", "DELETE FROM " + q + " WHERE id = 2"},
		{"UPDATE " + q + " SET id = 5 WHERE id = 3"},
	}
}

func idx(name string) int {
	for i, c := range Columns {
		if c.Name == name {
			return i
		}
	}
	panic("eventtest: no column " + name)
}

// Small returns a 10-column row event used by the encoding benchmarks.
func Small() event.Event {
	cols := []event.Column{
		{Name: "id", Type: "bigint(20)", Kind: event.Int},
		{Name: "customer_id", Type: "int(11)", Kind: event.Int},
		{Name: "sku", Type: "varchar(32)", Kind: event.String},
		{Name: "qty", Type: "int(10) unsigned", Kind: event.Uint},
		{Name: "price", Type: "decimal(10,2)", Kind: event.Decimal},
		{Name: "status", Type: "enum('new','paid','shipped')", Kind: event.Enum},
		{Name: "note", Type: "text", Kind: event.String},
		{Name: "created_at", Type: "datetime(6)", Kind: event.DateTime},
		{Name: "updated_at", Type: "timestamp", Kind: event.Timestamp},
		{Name: "weight", Type: "double", Kind: event.Float},
	}
	row := []event.Value{
		event.IntValue(123456789), event.IntValue(42), event.StringValue("SKU-0001"),
		event.UintValue(3), event.DecimalValue("19.99"), event.EnumValue("paid"),
		event.StringValue("leave at the door"), event.DateTimeValue("2024-05-01 12:34:56.123456"),
		event.TimestampValue("2024-05-01 12:34:57"), event.FloatValue(1.25),
	}
	return event.Event{
		Op: event.OpInsert, Database: "shop", Table: "orders", Columns: cols, Key: []int{0}, After: row,
		Source: event.Source{Connector: "mariadb", Name: "sluice", Version: "0.1.0", ServerID: 1, GTID: "0-1-99", File: "mariadb-bin.000003", Pos: 4242},
		Tx:     event.Tx{ID: "0-1-99", XID: 555, Seq: 0, TableSeq: 1, Last: true}, SourceTimeMs: SourceTimeMs, EmitTimeMs: EmitTimeMs,
		Position: `{"gtid":"0-1-99","file":"mariadb-bin.000003","pos":4242,"server_id":1}`,
	}
}
