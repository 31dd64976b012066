package maxwell

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
)

// Decoder reads Maxwell-style values back into events. The zero value is
// ready to use and safe for concurrent use.
//
// With the column types of the sluice.types header it rebuilds the event
// Sluice encoded: kinds come from the types (base64 text becomes bytes for
// binary columns, decimals keep their digits, BIGINT UNSIGNED stays
// unsigned). Without types, as for genuine Maxwell topics, kinds are
// inferred from the JSON: integers become Int (Uint above MaxInt64), other
// numbers Decimal with their exact text, strings String, arrays, objects
// and booleans JSON with their raw text, null Null; columns then have Type
// "" and the kind of their first non-null value (Null if none). An array
// of strings stays JSON too: genuine Maxwell writes a SET column and a JSON
// column holding ["a","b"] alike, so only the target column can tell them
// apart (apply's sinks write it as SET members into a SET column).
//
// Columns are those of the header, or the keys of "data" in order. For an
// update, "old" holds only the changed columns; Maxwell's meaning is that
// every other column kept its value, so Before is After with old's values
// laid over it (data.merge(old) in Maxwell's documentation). Key comes from
// primary_key_columns when present. Source and Tx get what the envelope
// carries: ServerID, Thread, GTID, File and Pos (from "position"); XID,
// Seq (xoffset; 0 when absent, as on Maxwell's commit rows), Last (commit)
// and ID (the GTID). A column missing from "data" (Maxwell's output_nulls
// off, or exclude_columns) is Absent. Unknown fields are ignored.
//
// The schema-change records Maxwell writes with output_ddl=true
// (table-create, table-alter, table-drop, database-create, database-alter,
// database-drop), by default to the row topic, are not row events: Decode
// returns an error wrapping ErrDDL for them, so a consumer can skip them
// on purpose rather than stop at them.
//
// e.Columns may alias the types slice; everything else in e is newly
// allocated, so e may be kept after Decode returns. With Borrow set, the
// strings in e share value's memory instead of a copy of it: the caller
// must not change value while it uses e (a Kafka record's value, never
// reused, qualifies).
type Decoder struct {
	Borrow bool
}

// ErrDDL is wrapped by the error Decode returns for a Maxwell DDL record
// (output_ddl=true). It is not a malformed message: Sluice does not
// replicate DDL (DESIGN §6), so readers skip such records.
var ErrDDL = errors.New("maxwell: DDL record, not a row event")

// ddlTypes are the "type" values of Maxwell's DDL records
// (ResolvedSchemaChange's subtypes in Maxwell's source).
var ddlTypes = map[string]bool{
	"table-create": true, "table-alter": true, "table-drop": true,
	"database-create": true, "database-alter": true, "database-drop": true,
}

// IsDDLType reports whether typ is the type of a Maxwell DDL record.
func IsDDLType(typ string) bool { return ddlTypes[typ] }

var _ format.Decoder = (*Decoder)(nil)

// field is one member of "data" or "old".
type field struct {
	name string
	col  int // index in the header's types; -1 without types
	off  int64
	v    event.Value
}

// decodeState is the per-call scratch, pooled so a decode allocates little
// more than the event itself.
type decodeState struct {
	buf   bytes.Buffer
	dec   jsontext.Decoder
	src   string // copy of the message; decoded strings are substrings of it
	types []event.Column
	data  []field
	old   []field
	pk    []string
	// seen marks the header's columns read in the current row.
	seen []uint64
}

var statePool = sync.Pool{New: func() any { return new(decodeState) }}

// envelope holds the scalar fields of a message while it is read.
type envelope struct {
	database, table, typ string
	hasDB, hasTable      bool
	ts                   int64
	xid, xoffset, thread uint64
	serverID             uint64
	commit               bool
	position, gtid       string
	hasData              bool
}

// Decode implements format.Decoder.
func (d *Decoder) Decode(value []byte, types []event.Column, e *event.Event) error {
	st := statePool.Get().(*decodeState)
	defer st.release()
	// Parsing straight from a bytes.Buffer lets jsontext skip its copy;
	// the single string copy makes every unescaped string value free.
	st.buf = *bytes.NewBuffer(value)
	// jsontext's own duplicate-name check costs a quarter of the decode;
	// the names that matter are checked here instead (see member and
	// readRow), and a JSON column's value passes as the text it is.
	st.dec.Reset(&st.buf, jsontext.AllowDuplicateNames(true))
	if d.Borrow {
		st.src = unsafe.String(unsafe.SliceData(value), len(value))
	} else {
		st.src = string(value)
	}
	st.types = types
	err := st.decode(e)
	if err != nil && !errors.Is(err, ErrDDL) {
		// A DDL record whose "type" comes after an "old" or "data" that
		// does not read as a row (table-alter's "old" is a table
		// definition): the record is still DDL, not a bad row event.
		if typ := topLevelType(value); ddlTypes[typ] {
			return ddlErr(typ)
		}
	}
	return err
}

func ddlErr(typ string) error { return fmt.Errorf("%w (type %q)", ErrDDL, typ) }

// topLevelType returns the top-level "type" string of a JSON object, or
// "" when there is none or the value is not a readable object. It is only
// called on the error path.
func topLevelType(value []byte) string {
	dec := jsontext.NewDecoder(bytes.NewReader(value))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return ""
	}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadToken()
		if err != nil {
			return ""
		}
		if name.String() == "type" {
			if v, err := dec.ReadToken(); err == nil && v.Kind() == '"' {
				return v.String()
			}
			return ""
		}
		if dec.SkipValue() != nil {
			return ""
		}
	}
	return ""
}

func (st *decodeState) release() {
	// Clear what points into the message, so the pool does not keep it.
	clear(st.data)
	clear(st.old)
	clear(st.pk)
	st.data, st.old, st.pk = st.data[:0], st.old[:0], st.pk[:0]
	st.src, st.types = "", nil
	st.buf = bytes.Buffer{}
	st.dec.Reset(&st.buf)
	statePool.Put(st)
}

func (st *decodeState) decode(e *event.Event) error {
	tok, err := st.dec.ReadToken()
	if err == io.EOF {
		return decErr("", 0, errors.New("empty message"))
	}
	if err != nil {
		return decErr("", 0, err)
	}
	if tok.Kind() != '{' {
		return decErr("", 0, fmt.Errorf("want a JSON object, got %v", tok.Kind()))
	}
	var env envelope
	var seen uint32
	for st.dec.PeekKind() != '}' {
		name, off, err := st.readString()
		if err != nil {
			return decErr("", off, err)
		}
		if bit := fieldBit(name); bit != 0 {
			if seen&bit != 0 {
				return decErr(name, off, errors.New("duplicate field"))
			}
			seen |= bit
		}
		if err := st.member(&env, name); err != nil {
			return err
		}
	}
	if _, err := st.dec.ReadToken(); err != nil {
		return decErr("", st.dec.InputOffset(), err)
	}
	end := st.dec.InputOffset()
	if rest := strings.TrimLeft(st.src[min(end, int64(len(st.src))):], " \t\r\n"); rest != "" {
		return decErr("", int64(len(st.src)-len(rest)), errors.New("unexpected data after the object"))
	}
	return st.build(&env, e)
}

// fieldBit is the bit of a field member reads, 0 for the fields it skips
// (a repeated skipped field changes nothing, so it is not refused).
func fieldBit(name string) uint32 {
	switch name {
	case "database":
		return 1 << 0
	case "table":
		return 1 << 1
	case "type":
		return 1 << 2
	case "ts":
		return 1 << 3
	case "xid":
		return 1 << 4
	case "xoffset":
		return 1 << 5
	case "commit":
		return 1 << 6
	case "position":
		return 1 << 7
	case "gtid":
		return 1 << 8
	case "server_id":
		return 1 << 9
	case "thread_id":
		return 1 << 10
	case "primary_key_columns":
		return 1 << 11
	case "data":
		return 1 << 12
	case "old":
		return 1 << 13
	}
	return 0
}

// member reads the value of one top-level field.
func (st *decodeState) member(env *envelope, name string) error {
	var err error
	var off int64
	switch name {
	case "database":
		env.database, off, err = st.readString()
		env.hasDB = true
	case "table":
		env.table, off, err = st.readString()
		env.hasTable = true
	case "type":
		env.typ, off, err = st.readString()
	case "ts":
		env.ts, off, err = st.readInt()
	case "xid":
		env.xid, off, err = st.readUint()
	case "xoffset":
		env.xoffset, off, err = st.readUint()
	case "commit":
		env.commit, off, err = st.readBool()
	case "position":
		env.position, off, err = st.readString()
	case "gtid":
		env.gtid, off, err = st.readOptString()
	case "server_id":
		env.serverID, off, err = st.readUint()
		if err == nil && env.serverID > math.MaxUint32 {
			err = fmt.Errorf("%d does not fit 32 bits", env.serverID)
		}
	case "thread_id":
		env.thread, off, err = st.readUint()
	case "primary_key_columns":
		return st.readPKColumns()
	case "data", "old":
		if ddlTypes[env.typ] {
			// A DDL record's "old" is the table definition, not a row.
			off = st.dec.InputOffset()
			err = st.dec.SkipValue()
			break
		}
		if name == "old" {
			return st.readRow(&st.old, "old")
		}
		env.hasData = true
		return st.readRow(&st.data, "data")
	default:
		// primary_key repeats data; schema_id, query, comment and other
		// optional Maxwell fields carry nothing the event holds.
		off = st.dec.InputOffset()
		err = st.dec.SkipValue()
	}
	if err != nil {
		return decErr(name, off, err)
	}
	return nil
}

var opByType = map[string]event.Op{
	"insert":             event.OpInsert,
	"update":             event.OpUpdate,
	"delete":             event.OpDelete,
	"bootstrap-insert":   event.OpSnapshot,
	"bootstrap-start":    event.OpSnapshotStart,
	"bootstrap-complete": event.OpSnapshotComplete,
}

// build turns what was read into the event.
func (st *decodeState) build(env *envelope, e *event.Event) error {
	if ddlTypes[env.typ] {
		return ddlErr(env.typ)
	}
	switch {
	case env.typ == "":
		return decErr("type", 0, errors.New("missing"))
	case !env.hasDB:
		return decErr("database", 0, errors.New("missing"))
	case !env.hasTable:
		return decErr("table", 0, errors.New("missing"))
	case env.ts > math.MaxInt64/1000 || env.ts < math.MinInt64/1000:
		return decErr("ts", 0, fmt.Errorf("%d seconds is out of range", env.ts))
	}
	op, ok := opByType[env.typ]
	if !ok {
		return decErr("type", 0, fmt.Errorf("%q is not a row event type", env.typ))
	}
	*e = event.Event{
		Op:       op,
		Database: env.database,
		Table:    env.table,
		Source: event.Source{
			ServerID: uint32(env.serverID),
			GTID:     env.gtid,
			Thread:   env.thread,
		},
		Tx:           event.Tx{ID: env.gtid, XID: env.xid, Seq: env.xoffset, Last: env.commit},
		SourceTimeMs: env.ts * 1000,
	}
	if env.position != "" {
		i := strings.LastIndexByte(env.position, ':')
		pos, err := strconv.ParseUint(env.position[i+1:], 10, 64)
		if i < 0 || err != nil {
			return decErr("position", 0, fmt.Errorf("%q is not file:pos", env.position))
		}
		e.Source.File, e.Source.Pos = env.position[:i], pos
	}
	if err := st.columns(e); err != nil {
		return err
	}
	if op.HasRow() {
		if !env.hasData {
			return decErr("data", 0, errors.New("missing"))
		}
		if err := st.rows(e); err != nil {
			return err
		}
	}
	return st.key(e)
}

func decErr(field string, off int64, err error) error {
	switch {
	case field == "":
		return fmt.Errorf("maxwell: at byte %d: %w", off, err)
	case off == 0:
		return fmt.Errorf("maxwell: %s: %w", field, err)
	}
	return fmt.Errorf("maxwell: %s: at byte %d: %w", field, off, err)
}

// columns sets e.Columns: the header's types, or the keys of data in order
// with kinds inferred from the values.
func (st *decodeState) columns(e *event.Event) error {
	if st.types != nil {
		e.Columns = st.types
		return nil
	}
	if len(st.data) == 0 {
		return nil
	}
	cols := make([]event.Column, len(st.data))
	for i, f := range st.data {
		cols[i] = event.Column{Name: f.name, Kind: f.v.Kind}
	}
	e.Columns = cols
	return nil
}

// rows fills After and Before from data and old.
func (st *decodeState) rows(e *event.Event) error {
	row := make([]event.Value, len(e.Columns))
	for i, f := range st.data {
		if f.col >= 0 {
			i = f.col
		}
		row[i] = f.v
	}
	if e.Op != event.OpUpdate {
		if len(st.old) > 0 {
			return decErr("old", st.old[0].off, fmt.Errorf("not allowed in a %s", opTypes[e.Op]))
		}
		if e.Op == event.OpDelete {
			e.Before = row
		} else {
			e.After = row
		}
		return nil
	}
	// Columns missing from old kept their value (Maxwell's data.merge(old)).
	e.After = row
	e.Before = make([]event.Value, len(row))
	copy(e.Before, row)
	for _, f := range st.old {
		i := f.col
		if i < 0 {
			if i = lookup(e.Columns, f.name, -1); i < 0 {
				return decErr("old."+f.name, f.off, errors.New("not a column of data"))
			}
			if e.Columns[i].Kind == event.Null {
				e.Columns[i].Kind = f.v.Kind
			}
		}
		e.Before[i] = f.v
	}
	return nil
}

// key sets e.Key from primary_key_columns. Snapshot markers may name key
// columns without carrying any (Maxwell writes "data":{} for them); their
// key is then left empty.
func (st *decodeState) key(e *event.Event) error {
	if len(st.pk) == 0 {
		return nil
	}
	key := make([]int, len(st.pk))
	for n, name := range st.pk {
		i := lookup(e.Columns, name, n)
		if i < 0 {
			for j := range e.Columns {
				if strings.EqualFold(e.Columns[j].Name, name) {
					i = j
					break
				}
			}
		}
		if i < 0 {
			if !e.Op.HasRow() {
				return nil
			}
			return decErr("primary_key_columns", 0, fmt.Errorf("%q is not a column", name))
		}
		key[n] = i
	}
	e.Key = key
	return nil
}
