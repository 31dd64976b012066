package debezium

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
)

// ErrTombstone is returned by Decode for a null (or empty) value: the
// tombstone that follows a delete on compacted topics. It carries no
// change; consumers test for it with errors.Is and move on.
var ErrTombstone = errors.New("debezium: tombstone (null value) carries no change")

// Decoder reads Debezium-style row values back into events. The zero value
// is ready to use and safe for concurrent use.
//
// Columns come from, in this order: the types argument (the sluice.types
// header; values are then read exactly as Sluice wrote them, and a field
// the header does not list is an error); the Connect schema of a wrapped
// value (Debezium's logical types say how each value is written: Decimal
// as base64 of the scaled big-endian integer, Date as epoch days,
// Timestamp/MicroTimestamp/NanoTimestamp as epoch milli/micro/nanoseconds,
// Time/MicroTime/NanoTime as time since midnight, ZonedTimestamp as an
// ISO-8601 string, Bits as little-endian bytes; Debezium's propagated
// source-type parameters refine int64 to unsigned and strings to DECIMAL);
// else the fields of after (then before) in order, with kinds inferred from
// the JSON: integers Int (Uint above MaxInt64), other numbers Decimal with
// their exact text, booleans Bit (Debezium writes BIT(1) as a boolean),
// strings String, objects and arrays JSON, and the column kind is that of
// its first non-null value (Null if none). Inferred columns have Type "".
//
// The value carries no primary key: DecodeKey sets e.Key from the record
// key. Tx.XID and Tx.Last are not in the envelope and stay zero.
// e.Columns may alias types; everything else in e is newly allocated, so e
// may be kept after Decode returns.
type Decoder struct{}

var _ format.Decoder = (*Decoder)(nil)

// rawField is one member of a row image, kept as its JSON text until the
// columns are known (the schema may follow the payload).
type rawField struct {
	name string
	raw  string
	off  int64
}

// envelope holds what a message says while it is read.
type envelope struct {
	op                 string
	opOff              int64
	tsMs               int64
	src                sourceBlock
	hasSource          bool
	hasBefore          bool // before is an object (not null, not missing)
	hasAfter           bool
	txID               string
	txTotal, txDataCol uint64
	hasTx              bool
}

type sourceBlock struct {
	version, connector, name, snapshot, db, table, gtid, file string
	tsMs                                                      int64
	serverID, pos, row, thread                                uint64
}

// decodeState is the per-call scratch, pooled so a decode allocates little
// more than the event itself.
type decodeState struct {
	buf     bytes.Buffer
	dec     jsontext.Decoder
	src     string // copy of the message; decoded strings are substrings of it
	prefix  string // "payload." inside a wrapped value, for error paths
	types   []event.Column
	before  []rawField
	after   []rawField
	schema  *schemaNode // the wrapper's Connect schema, if any
	wrapped bool        // a payload member was read
	bare    bool        // an envelope member was read at the top level
}

var statePool = sync.Pool{New: func() any { return new(decodeState) }}

func getState(msg []byte) *decodeState {
	st := statePool.Get().(*decodeState)
	// Parsing from a bytes.Buffer lets jsontext use the bytes in place; the
	// one string copy makes every unescaped string value free. jsontext's
	// duplicate-name set costs an eighth of the decode: each object loop
	// refuses a repeated member itself, and a JSON column's value passes
	// as the text it is.
	st.buf = *bytes.NewBuffer(msg)
	st.dec.Reset(&st.buf, jsontext.AllowDuplicateNames(true))
	st.src = string(msg)
	return st
}

func (st *decodeState) release() {
	clear(st.before)
	clear(st.after)
	st.before, st.after = st.before[:0], st.after[:0]
	st.src, st.prefix, st.types, st.schema = "", "", nil, nil
	st.wrapped, st.bare = false, false
	st.buf = bytes.Buffer{}
	st.dec.Reset(&st.buf)
	statePool.Put(st)
}

// Decode implements format.Decoder.
func (*Decoder) Decode(value []byte, types []event.Column, e *event.Event) error {
	if v := bytes.TrimSpace(value); len(v) == 0 || string(v) == "null" {
		return ErrTombstone
	}
	st := getState(value)
	defer st.release()
	st.types = types
	var env envelope
	if err := st.readTop(&env); err != nil {
		return err
	}
	return st.build(&env, e)
}

// readTop reads the message: a bare payload, or {"schema","payload"}.
func (st *decodeState) readTop(env *envelope) error {
	if err := st.open('{', ""); err != nil {
		return err
	}
	seen := make([]string, 0, 16) // member names: jsontext's own check is off (getState)
	for st.dec.PeekKind() != '}' {
		name, off, err := st.readString()
		if err != nil {
			return decErr("", off, err)
		}
		if slices.Contains(seen, name) {
			return decErr("", off, fmt.Errorf("duplicate member %q", name))
		}
		seen = append(seen, name)
		switch name {
		case "schema":
			if st.dec.PeekKind() == 'n' {
				_, _, err = st.next()
				break
			}
			var n schemaNode
			if err = st.readSchema(&n, 0, "schema"); err == nil {
				st.schema = &n
			}
		case "payload":
			if st.dec.PeekKind() != '{' {
				_, off, err := st.next()
				if err == nil {
					err = errors.New("want the change event object")
				}
				return decErr("payload", off, err)
			}
			st.wrapped, st.prefix = true, "payload."
			err = st.readPayload(env)
			st.prefix = ""
		default:
			st.bare = true
			err = st.member(env, name)
		}
		if err != nil {
			return err
		}
	}
	if err := st.close(""); err != nil {
		return err
	}
	switch {
	case st.wrapped && st.bare:
		return decErr("payload", -1, errors.New("both a payload and envelope fields at the top level"))
	case st.schema != nil && !st.wrapped:
		return decErr("schema", -1, errors.New("a schema without a payload"))
	}
	return nil
}

func (st *decodeState) readPayload(env *envelope) error {
	if err := st.open('{', "payload"); err != nil {
		return err
	}
	seen := make([]string, 0, 16) // member names: jsontext's own check is off (getState)
	for st.dec.PeekKind() != '}' {
		name, off, err := st.readString()
		if err != nil {
			return decErr("payload", off, err)
		}
		if slices.Contains(seen, name) {
			return decErr("payload", off, fmt.Errorf("duplicate member %q", name))
		}
		seen = append(seen, name)
		if err := st.member(env, name); err != nil {
			return err
		}
	}
	_, err := st.dec.ReadToken()
	if err != nil {
		return decErr("payload", st.dec.InputOffset(), err)
	}
	return nil
}

// member reads the value of one envelope field. Unknown fields (ts_us,
// ts_ns and whatever later Debezium versions add) are skipped.
func (st *decodeState) member(env *envelope, name string) error {
	var err error
	var off int64
	switch name {
	case "before":
		env.hasBefore, err = st.readRow(&st.before, "before")
		return err
	case "after":
		env.hasAfter, err = st.readRow(&st.after, "after")
		return err
	case "source":
		env.hasSource = true
		return st.readSource(&env.src)
	case "transaction":
		return st.readTransaction(env)
	case "op":
		env.op, off, err = st.readString()
		env.opOff = off
	case "ts_ms":
		env.tsMs, off, err = st.readOptInt()
	default:
		off = st.dec.InputOffset()
		err = st.dec.SkipValue()
	}
	if err != nil {
		return decErr(st.prefix+name, off, err)
	}
	return nil
}

// readRow reads before or after: an object of column values, or null.
func (st *decodeState) readRow(dst *[]rawField, which string) (bool, error) {
	path := st.prefix + which
	switch st.dec.PeekKind() {
	case 'n':
		*dst = (*dst)[:0]
		_, off, err := st.next()
		if err != nil {
			return false, decErr(path, off, err)
		}
		return false, nil
	case '{':
	default:
		_, off, err := st.next()
		if err == nil {
			err = errors.New("want an object of column values or null")
		}
		return false, decErr(path, off, err)
	}
	*dst = (*dst)[:0]
	if err := st.open('{', path); err != nil {
		return false, err
	}
	seen := make([]string, 0, 16) // member names: jsontext's own check is off (getState)
	for st.dec.PeekKind() != '}' {
		name, off, err := st.readString()
		if err != nil {
			return false, decErr(path, off, err)
		}
		if slices.Contains(seen, name) {
			return false, decErr(path, off, fmt.Errorf("duplicate member %q", name))
		}
		seen = append(seen, name)
		raw, voff, err := st.next()
		if err != nil {
			return false, decErr(path+"."+name, voff, err)
		}
		*dst = append(*dst, rawField{name: name, raw: raw, off: voff})
	}
	return true, st.close(path)
}

var opByCode = map[string]event.Op{"c": event.OpInsert, "u": event.OpUpdate, "d": event.OpDelete, "r": event.OpSnapshot}

// build turns what was read into the event.
func (st *decodeState) build(env *envelope, e *event.Event) error {
	p := ""
	if st.wrapped {
		p = "payload."
	}
	op, ok := opByCode[env.op]
	switch {
	case env.op == "":
		return decErr(p+"op", -1, errors.New("missing"))
	case env.op == "t":
		return decErr(p+"op", env.opOff, errors.New(`"t" (truncate) is not supported: truncate the target by hand, or re-snapshot the table`))
	case !ok:
		return decErr(p+"op", env.opOff, fmt.Errorf("%q is not one of c, u, d, r", env.op))
	case !env.hasSource:
		return decErr(p+"source", -1, errors.New("missing"))
	case env.src.connector == "mongodb":
		return decErr(p+"source.connector", -1, errors.New("a MongoDB change; read it with DecodeMongo"))
	case env.src.db == "":
		return decErr(p+"source.db", -1, errors.New("missing or empty"))
	case env.src.table == "":
		return decErr(p+"source.table", -1, errors.New("missing or empty"))
	}
	needBefore := op == event.OpUpdate || op == event.OpDelete
	needAfter := op != event.OpDelete
	if needBefore != env.hasBefore {
		return decErr(p+"before", -1, fmt.Errorf("op %q %s a row image", env.op, needsOrNot(needBefore)))
	}
	if needAfter != env.hasAfter {
		return decErr(p+"after", -1, fmt.Errorf("op %q %s a row image", env.op, needsOrNot(needAfter)))
	}
	s := &env.src
	*e = event.Event{
		Op:       op,
		Database: s.db,
		Table:    s.table,
		Source: event.Source{Connector: s.connector, Name: s.name, Version: s.version, ServerID: uint32(s.serverID),
			GTID: s.gtid, File: s.file, Pos: s.pos, Row: uint32(s.row), Thread: s.thread},
		SourceTimeMs: s.tsMs,
		EmitTimeMs:   env.tsMs,
	}
	// The inverse of snapshotField: "false", and "true" on a snapshot row,
	// are what the encoder writes for an empty marker.
	if s.snapshot != "false" && s.snapshot != "" && !(op == event.OpSnapshot && s.snapshot == "true") {
		e.Source.Snapshot = s.snapshot
	}
	if env.hasTx {
		if env.txID == "" || env.txTotal == 0 {
			return decErr(p+"transaction", -1, errors.New("needs id and total_order"))
		}
		e.Tx = event.Tx{ID: env.txID, Seq: env.txTotal - 1, TableSeq: env.txDataCol}
	}
	return st.rows(e, needBefore, needAfter)
}

func needsOrNot(need bool) string {
	if need {
		return "needs"
	}
	return "must not have"
}
