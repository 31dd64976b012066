package debezium

import (
	"errors"
	"fmt"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/internal/jsonw"
)

// ErrNotRepresentable is returned for events the Debezium style has no
// form for (snapshot start/complete markers). Publishers test for it with
// errors.Is and skip those events; any other encoding error is a failure.
var ErrNotRepresentable = errors.New("debezium: event has no Debezium-style form")

// Options choose the optional parts of the format.
type Options struct {
	// Schema wraps values as {"schema":...,"payload":...}, as Kafka
	// Connect's JsonConverter does with schemas.enable=true. Keys stay bare.
	Schema bool
	// Tombstones makes publishers follow each delete with a tombstone, a
	// record with the delete's key and a null value (see WantsTombstone).
	Tombstones bool
}

// Encoder writes Debezium-style keys and values. It keeps no state between
// calls and is safe for concurrent use.
type Encoder struct{ Opts Options }

var _ format.Encoder = (*Encoder)(nil)

// Name returns "debezium".
func (*Encoder) Name() string { return format.Debezium }

// opCodes maps row ops to Debezium's op field; markers have no entry.
var opCodes = [...]string{event.OpInsert: "c", event.OpUpdate: "u", event.OpDelete: "d", event.OpSnapshot: "r"}

func opCode(op event.Op) string {
	if int(op) < len(opCodes) {
		return opCodes[op]
	}
	return ""
}

// WantsTombstone reports whether a tombstone must follow the record of e:
// Tombstones is on and e is a delete (including the delete half of a split
// key change). The tombstone's key is AppendKey of e and its value is nil.
func (enc *Encoder) WantsTombstone(e *event.Event) bool {
	return enc.Opts.Tombstones && e.Op == event.OpDelete
}

// SplitKeyChange splits an update that changes the primary key into a
// delete of the old key and a create of the new one, which callers encode
// and publish in that order (each under its own key). ok is false when e
// is not such an update; callers then encode e itself. del and create
// share e's slices.
func SplitKeyChange(e *event.Event) (del, create event.Event, ok bool) {
	if e.Op != event.OpUpdate || len(e.Before) != len(e.Columns) || len(e.After) != len(e.Columns) {
		return del, create, false
	}
	changed := false
	for _, c := range e.Key {
		if c >= 0 && c < len(e.Before) && !e.Before[c].Equal(e.After[c]) {
			changed = true
		}
	}
	if !changed {
		return del, create, false
	}
	del, create = *e, *e
	del.Op, del.After = event.OpDelete, nil
	create.Op, create.Before = event.OpInsert, nil
	// The create is the extra event: it takes the next place in the
	// transaction's orders, and the end of the transaction if e had it.
	// Callers renumber the events after it (see publish).
	del.Tx.Last = false
	create.Tx.Seq++
	create.Tx.TableSeq++
	return del, create, true
}

// AppendKey appends {"<pk col>":<value>,...} in key order: the key of the
// row image the value carries (Before for deletes, After otherwise).
func (enc *Encoder) AppendKey(dst []byte, e *event.Event) ([]byte, error) {
	row := e.After
	if e.Op == event.OpDelete {
		row = e.Before
	}
	if len(e.Key) == 0 {
		return dst, encErr(e, "", errors.New("table has no key; Debezium-style keys need one"))
	}
	start := len(dst)
	dst = append(dst, '{')
	for i, c := range e.Key {
		if c < 0 || c >= len(e.Columns) || c >= len(row) {
			return dst[:start], encErr(e, "", fmt.Errorf("key column index %d out of range", c))
		}
		col, v := &e.Columns[c], &row[c]
		if v.Kind == event.Null || v.Kind == event.Absent {
			return dst[:start], encErr(e, col.Name, fmt.Errorf("key column is %v", v.Kind))
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonw.Key(dst, col.Name)
		var err error
		if dst, err = appendValue(dst, col, v); err != nil {
			return dst[:start], encErr(e, col.Name, err)
		}
	}
	return append(dst, '}'), nil
}

// AppendValue appends the change event value: the payload, or the payload
// wrapped with its Connect schema when Opts.Schema is set.
func (enc *Encoder) AppendValue(dst []byte, e *event.Event) ([]byte, error) {
	if opCode(e.Op) == "" {
		return dst, fmt.Errorf("%w: %s.%s op %v", ErrNotRepresentable, e.Database, e.Table, e.Op)
	}
	start := len(dst)
	if enc.Opts.Schema {
		dst = append(dst, `{"schema":`...)
		dst = appendSchema(dst, e)
		dst = append(dst, `,"payload":`...)
	}
	dst, err := appendPayload(dst, e)
	if err != nil {
		return dst[:start], err
	}
	if enc.Opts.Schema {
		dst = append(dst, '}')
	}
	return dst, nil
}

func appendPayload(dst []byte, e *event.Event) ([]byte, error) {
	var err error
	dst = append(dst, `{"before":`...)
	if e.Op == event.OpUpdate || e.Op == event.OpDelete {
		if dst, err = appendRow(dst, e, e.Before, "before"); err != nil {
			return dst, err
		}
	} else {
		dst = jsonw.Null(dst)
	}
	dst = append(dst, `,"after":`...)
	if e.Op == event.OpDelete {
		dst = jsonw.Null(dst)
	} else if dst, err = appendRow(dst, e, e.After, "after"); err != nil {
		return dst, err
	}
	dst = appendSource(dst, e)
	dst = append(dst, `,"op":"`...)
	dst = append(dst, opCode(e.Op)...)
	dst = append(dst, `","ts_ms":`...)
	dst = jsonw.Int(dst, e.EmitTimeMs)
	dst = append(dst, `,"transaction":`...)
	if e.Tx.ID == "" {
		// Debezium writes null where it has no transaction (snapshots).
		dst = jsonw.Null(dst)
	} else {
		dst = append(dst, `{"id":`...)
		dst = jsonw.String(dst, e.Tx.ID)
		dst = append(dst, `,"total_order":`...)
		dst = jsonw.Uint(dst, e.Tx.Seq+1)
		dst = append(dst, `,"data_collection_order":`...)
		dst = jsonw.Uint(dst, e.Tx.TableSeq)
		dst = append(dst, '}')
	}
	return append(dst, '}'), nil
}

// appendSource writes the source block with the fields of Debezium's MySQL
// connector that Sluice knows; "sequence" and "query" are left out (no
// value to give them), as schemas/debezium-value.schema.json says.
func appendSource(dst []byte, e *event.Event) []byte {
	s := &e.Source
	dst = append(dst, `,"source":{"version":`...)
	dst = jsonw.String(dst, s.Version)
	dst = append(dst, `,"connector":`...)
	dst = jsonw.String(dst, s.Connector)
	dst = append(dst, `,"name":`...)
	dst = jsonw.String(dst, s.Name)
	dst = append(dst, `,"ts_ms":`...)
	dst = jsonw.Int(dst, e.SourceTimeMs)
	dst = append(dst, `,"snapshot":`...)
	dst = jsonw.String(dst, snapshotField(e))
	dst = append(dst, `,"db":`...)
	dst = jsonw.String(dst, e.Database)
	dst = append(dst, `,"table":`...)
	dst = jsonw.String(dst, e.Table)
	dst = append(dst, `,"server_id":`...)
	dst = jsonw.Uint(dst, uint64(s.ServerID))
	dst = append(dst, `,"gtid":`...)
	if s.GTID == "" {
		dst = jsonw.Null(dst)
	} else {
		dst = jsonw.String(dst, s.GTID)
	}
	dst = append(dst, `,"file":`...)
	dst = jsonw.String(dst, s.File)
	dst = append(dst, `,"pos":`...)
	dst = jsonw.Uint(dst, s.Pos)
	dst = append(dst, `,"row":`...)
	dst = jsonw.Uint(dst, uint64(s.Row))
	dst = append(dst, `,"thread":`...)
	dst = jsonw.Uint(dst, s.Thread)
	return append(dst, '}')
}

// snapshotField is source.snapshot: the event's own marker when set,
// "true" for snapshot rows without one, "false" for binlog changes.
func snapshotField(e *event.Event) string {
	switch {
	case e.Source.Snapshot != "":
		return e.Source.Snapshot
	case e.Op == event.OpSnapshot:
		return "true"
	}
	return "false"
}

func appendRow(dst []byte, e *event.Event, row []event.Value, which string) ([]byte, error) {
	if len(row) != len(e.Columns) {
		return dst, encErr(e, "", fmt.Errorf("%s image has %d values for %d columns", which, len(row), len(e.Columns)))
	}
	dst = append(dst, '{')
	first := true
	for i := range row {
		if row[i].Kind == event.Absent {
			continue // not logged by the source: left out, never null
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = jsonw.Key(dst, e.Columns[i].Name)
		var err error
		if dst, err = appendValue(dst, &e.Columns[i], &row[i]); err != nil {
			return dst, encErr(e, which+"."+e.Columns[i].Name, err)
		}
	}
	return append(dst, '}'), nil
}

func encErr(e *event.Event, field string, err error) error {
	where := e.Database + "." + e.Table
	if field != "" {
		where += " " + field
	}
	return fmt.Errorf("debezium: encoding %s: %w", where, err)
}
