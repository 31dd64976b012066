// Package event defines the canonical change event: the one shape every
// source produces and every format encodes. Codecs (pkg/format/...) turn it
// into Maxwell-style or Debezium-style JSON and back; capture builds it from
// the binlog or a change stream; apply turns it into target writes.
//
// Invariants the rest of Sluice relies on:
//   - Values are exact. Nothing is converted to float64 or time.Time on the
//     way: decimals keep their digits, temporal values keep their text (zero
//     dates and negative TIME included), unsigned 64-bit stays unsigned.
//   - Before and After are aligned with Columns: Before[i] and After[i] are
//     the values of Columns[i]. A value of Kind Absent means "not known"
//     (Maxwell's "old" lists only the changed columns), which is different
//     from Null.
//   - An event is not retained by codecs after Encode returns, so capture can
//     reuse the slices of one event for the next.
package event

// Op is the kind of change an event describes.
type Op uint8

// The operations. The zero value is invalid so a forgotten field is caught.
const (
	OpInvalid Op = iota
	// OpInsert is a new row (Maxwell "insert", Debezium "c").
	OpInsert
	// OpUpdate changes a row; Before holds the old image (or the changed
	// columns only when decoded from Maxwell), After the new one.
	OpUpdate
	// OpDelete removes a row; Before holds the deleted image.
	OpDelete
	// OpSnapshot is a row read by a snapshot (Maxwell "bootstrap-insert",
	// Debezium "r"). Apply treats it as an upsert.
	OpSnapshot
	// OpSnapshotStart and OpSnapshotComplete bracket a table's snapshot
	// (Maxwell "bootstrap-start" / "bootstrap-complete"); they carry no row.
	OpSnapshotStart
	OpSnapshotComplete
)

var opNames = [...]string{"invalid", "insert", "update", "delete", "snapshot", "snapshot-start", "snapshot-complete"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "invalid"
}

// HasRow reports whether events of this op carry a row image.
func (o Op) HasRow() bool { return o >= OpInsert && o <= OpSnapshot }

// Column describes one column of the source table as it was when the change
// was written (not the table's current schema).
type Column struct {
	Name string
	// Type is the full MySQL column type as SHOW COLUMNS prints it, lower
	// case, e.g. "bigint(20) unsigned", "decimal(65,30)", "enum('a','b')",
	// "datetime(6)". For Mongo sources it is "bson".
	Type string
	// Kind is how values of this column are represented; derived from Type
	// by KindOf when the event is built.
	Kind Kind
}

// Source says where a change came from.
type Source struct {
	// Connector is "mysql", "mariadb" or "mongodb".
	Connector string
	// Name is the logical server name (Debezium's topic.prefix, Sluice's
	// capture name).
	Name string
	// Version is the Sluice version that produced the event.
	Version  string
	ServerID uint32
	// GTID is the GTID of the source transaction ("" in file:pos mode).
	GTID string
	// File and Pos are the binlog coordinates of the transaction's event.
	File string
	Pos  uint64
	// Row is the index of this row within its binlog rows event.
	Row    uint32
	Thread uint64
	// Snapshot is "true", "first", "last", "incremental" or "" (not a snapshot),
	// as in Debezium's source.snapshot.
	Snapshot string
}

// Tx identifies the source transaction of a row (G5).
type Tx struct {
	// ID is the transaction id as text: the GTID where there is one,
	// otherwise "file:pos" of the transaction start.
	ID string
	// XID is the numeric transaction id (MySQL XID) where known.
	XID uint64
	// Seq is the 0-based position of this row in the transaction (Maxwell's
	// xoffset; Debezium's total_order is Seq+1).
	Seq uint64
	// TableSeq is the 1-based position of this row among the transaction's
	// rows of the same table (Debezium's data_collection_order).
	TableSeq uint64
	// Last marks the transaction's last row (Maxwell "commit": true).
	Last bool
}

// Event is one row change (or a snapshot marker).
type Event struct {
	Op       Op
	Database string
	Table    string
	Columns  []Column
	// Key lists the indexes into Columns of the primary key (or the unique
	// NOT NULL key standing in for it), in key order.
	Key    []int
	Before []Value
	After  []Value
	Source Source
	Tx     Tx
	// SourceTimeMs is the source commit time in Unix milliseconds (binlog
	// event timestamp; Maxwell's "ts" is this in seconds).
	SourceTimeMs int64
	// EmitTimeMs is when Sluice produced the event (Debezium's ts_ms).
	EmitTimeMs int64
	// Position is the resume position after this event's transaction, as
	// text (see pkg/position); it goes into the position header.
	Position string
	// Origin is the origin tag of the transaction (loop prevention, DESIGN
	// §9); empty when untagged.
	Origin string
}

// KeyValues returns the values of the key columns: from After, or from
// Before for deletes.
func (e *Event) KeyValues() []Value {
	row := e.After
	if e.Op == OpDelete || len(row) == 0 {
		row = e.Before
	}
	out := make([]Value, len(e.Key))
	for i, c := range e.Key {
		if c < len(row) {
			out[i] = row[c]
		}
	}
	return out
}

// ColumnIndex returns the index of the named column, or -1.
func (e *Event) ColumnIndex(name string) int {
	for i := range e.Columns {
		if e.Columns[i].Name == name {
			return i
		}
	}
	return -1
}
