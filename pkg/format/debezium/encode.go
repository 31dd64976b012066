// Package debezium encodes and decodes Debezium-style change events
// (DESIGN §4): the payload of Debezium's MySQL connector, without the Kafka
// Connect schema wrapper by default, and the MongoDB connector's envelope.
//
// Value encodings are chosen so a genuine Debezium consumer configured with
// decimal.handling.mode=string and binary.handling.mode=base64 reads them,
// and so every value round-trips exactly with the sluice.types header:
//
//	integers          JSON integers (BIGINT UNSIGNED exact)
//	DECIMAL           exact string "-0.000001"
//	FLOAT, DOUBLE     shortest round-trip number (FLOAT at 32 bits);
//	                  NaN/±Infinity as strings
//	DATE              "YYYY-MM-DD"
//	DATETIME          "YYYY-MM-DDTHH:MM:SS[.ffffff]" (no zone)
//	TIMESTAMP         "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" (UTC)
//	TIME              "[-]HH:MM:SS[.ffffff]"; may be negative or over 24h,
//	                  which ISO-8601 times cannot say, so it is MySQL's text
//	YEAR              integer
//	BIT(1)            true/false, as Debezium does
//	BIT(n>1)          base64 of the value's bytes, little-endian, as
//	                  Debezium's io.debezium.data.Bits
//	ENUM              label; SET: comma-joined labels, as Debezium does
//	binary, BLOB      base64
//	JSON              a string holding the JSON text (io.debezium.data.Json)
//	zero dates        verbatim ("0000-00-00", "0000-00-00T00:00:00Z"):
//	                  Debezium turns them into null, which loses data (G8)
//
// A primary-key change is a delete of the old key followed by a create of
// the new key (SplitKeyChange), so each key's messages stay in its own
// partition in order (G2). Deletes may be followed by a tombstone, a record
// with the key and a null value, for compacted topics.
package debezium

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/internal/jsonw"
)

// ErrNotRepresentable is returned for events the Debezium style has no form
// for (snapshot start/complete markers); publishers skip those on purpose.
var ErrNotRepresentable = errors.New("debezium: event has no Debezium-style form")

// Options choose the optional parts of the format.
type Options struct {
	// Schema wraps values as {"schema":...,"payload":...}, as Kafka
	// Connect's JsonConverter with schemas.enable=true does.
	Schema bool
	// Tombstones asks publishers to follow each delete with a null-value
	// record (read by publishers; the encoder itself writes one record).
	Tombstones bool
}

// Encoder writes Debezium-style keys and values. It keeps no state between
// calls and is safe for concurrent use.
type Encoder struct{ Opts Options }

var _ format.Encoder = (*Encoder)(nil)

// Name returns "debezium".
func (*Encoder) Name() string { return format.Debezium }

var opCodes = [...]string{event.OpInsert: "c", event.OpUpdate: "u", event.OpDelete: "d", event.OpSnapshot: "r"}

// SplitKeyChange splits an update that changes the primary key into a
// delete of the old key and a create of the new one. ok is false when e is
// not such an update; callers then encode e itself.
func SplitKeyChange(e *event.Event) (del, create event.Event, ok bool) {
	if e.Op != event.OpUpdate || len(e.Before) != len(e.Columns) || len(e.After) != len(e.Columns) {
		return del, create, false
	}
	changed := false
	for _, c := range e.Key {
		if c < len(e.Before) && !e.Before[c].Equal(e.After[c]) {
			changed = true
		}
	}
	if !changed {
		return del, create, false
	}
	del, create = *e, *e
	del.Op, del.After = event.OpDelete, nil
	create.Op, create.Before = event.OpInsert, nil
	return del, create, true
}

// AppendKey appends {"<pk col>":<value>,...} in key order.
func (enc *Encoder) AppendKey(dst []byte, e *event.Event) ([]byte, error) {
	row := e.After
	if e.Op == event.OpDelete {
		row = e.Before
	}
	if len(e.Key) == 0 {
		return dst, errorf(e, "", "table has no key; Debezium-style keys need one")
	}
	start := len(dst)
	dst = append(dst, '{')
	for i, c := range e.Key {
		if c >= len(e.Columns) || c >= len(row) {
			return dst[:start], errorf(e, "", "key column index %d out of range", c)
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonw.Key(dst, e.Columns[c].Name)
		var err error
		if dst, err = appendValue(dst, &e.Columns[c], &row[c]); err != nil {
			return dst[:start], errorf(e, e.Columns[c].Name, "%v", err)
		}
	}
	return append(dst, '}'), nil
}

// AppendValue appends the change event value.
func (enc *Encoder) AppendValue(dst []byte, e *event.Event) ([]byte, error) {
	if int(e.Op) >= len(opCodes) || opCodes[e.Op] == "" {
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
		if dst, err = appendRow(dst, e, e.Before); err != nil {
			return dst, err
		}
	} else {
		dst = jsonw.Null(dst)
	}
	dst = append(dst, `,"after":`...)
	if e.Op == event.OpDelete {
		dst = jsonw.Null(dst)
	} else if dst, err = appendRow(dst, e, e.After); err != nil {
		return dst, err
	}
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
	dst = append(dst, `},"op":"`...)
	dst = append(dst, opCodes[e.Op]...)
	dst = append(dst, `","ts_ms":`...)
	dst = jsonw.Int(dst, e.EmitTimeMs)
	dst = append(dst, `,"transaction":`...)
	if e.Tx.ID == "" {
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

func snapshotField(e *event.Event) string {
	switch {
	case e.Source.Snapshot != "":
		return e.Source.Snapshot
	case e.Op == event.OpSnapshot:
		return "true"
	}
	return "false"
}

func appendRow(dst []byte, e *event.Event, row []event.Value) ([]byte, error) {
	if len(row) != len(e.Columns) {
		return dst, errorf(e, "", "row image has %d values for %d columns", len(row), len(e.Columns))
	}
	dst = append(dst, '{')
	first := true
	for i := range row {
		if row[i].Kind == event.Absent {
			continue // unknown values are left out, never written as null
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = jsonw.Key(dst, e.Columns[i].Name)
		var err error
		if dst, err = appendValue(dst, &e.Columns[i], &row[i]); err != nil {
			return dst, errorf(e, e.Columns[i].Name, "%v", err)
		}
	}
	return append(dst, '}'), nil
}

func appendValue(dst []byte, col *event.Column, v *event.Value) ([]byte, error) {
	if v.Kind == event.Null {
		return jsonw.Null(dst), nil
	}
	if v.Kind != col.Kind && col.Kind != event.Absent {
		return dst, fmt.Errorf("value of kind %v in a %v column (%s)", v.Kind, col.Kind, col.Type)
	}
	switch v.Kind {
	case event.Int, event.Year:
		return jsonw.Int(dst, v.I), nil
	case event.Uint:
		return jsonw.Uint(dst, v.U), nil
	case event.Float:
		return jsonw.Float(dst, v.F, floatBits(col)), nil
	case event.Decimal, event.String, event.Enum, event.Date, event.Time:
		return jsonw.String(dst, v.S), nil
	case event.DateTime:
		return appendISO(dst, v.S, false), nil
	case event.Timestamp:
		return appendISO(dst, v.S, true), nil
	case event.Bytes:
		return jsonw.Base64(dst, v.B), nil
	case event.Bit:
		n := bitWidth(col)
		if n == 1 {
			return jsonw.Bool(dst, v.U != 0), nil
		}
		var b [8]byte
		nb := (n + 7) / 8
		for i := 0; i < nb; i++ {
			b[i] = byte(v.U >> (8 * i))
		}
		return jsonw.Base64(dst, b[:nb]), nil
	case event.Set:
		return jsonw.String(dst, strings.Join(v.Set, ",")), nil
	case event.JSON:
		return jsonw.String(dst, string(v.B)), nil
	}
	return dst, fmt.Errorf("cannot encode value kind %v", v.Kind)
}

// appendISO turns MySQL's "YYYY-MM-DD HH:MM:SS[.f]" into ISO-8601 with a T
// (and Z for TIMESTAMP, which is UTC).
func appendISO(dst []byte, s string, utc bool) []byte {
	dst = append(dst, '"')
	if len(s) > 10 && s[10] == ' ' {
		dst = append(dst, s[:10]...)
		dst = append(dst, 'T')
		dst = append(dst, s[11:]...)
	} else {
		dst = append(dst, s...)
	}
	if utc {
		dst = append(dst, 'Z')
	}
	return append(dst, '"')
}

func floatBits(col *event.Column) int {
	if strings.HasPrefix(strings.ToLower(col.Type), "float") {
		return 32
	}
	return 64
}

// bitWidth reads n from "bit(n)"; 64 when unknown, so no bits are lost.
func bitWidth(col *event.Column) int {
	t := strings.ToLower(col.Type)
	if n, ok := strings.CutPrefix(t, "bit("); ok {
		w := 0
		for _, c := range n {
			if c < '0' || c > '9' {
				break
			}
			w = w*10 + int(c-'0')
		}
		if w >= 1 && w <= 64 {
			return w
		}
	}
	return 64
}

func errorf(e *event.Event, column, f string, args ...any) error {
	where := e.Database + "." + e.Table
	if column != "" {
		where += "." + column
	}
	return fmt.Errorf("debezium: encoding %s: %s", where, fmt.Sprintf(f, args...))
}
