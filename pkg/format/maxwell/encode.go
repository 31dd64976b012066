package maxwell

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/internal/jsonw"
)

// Encoder writes Maxwell-style keys and values. The zero value is ready to
// use and safe for concurrent use; it keeps no state between calls.
type Encoder struct {
	// UUIDSource supplies the randomness of the "_uuid" key field of tables
	// without a key. Nil means crypto/rand; tests set a fixed reader.
	UUIDSource io.Reader
}

var _ format.Encoder = (*Encoder)(nil)

// Name returns "maxwell".
func (*Encoder) Name() string { return format.Maxwell }

// opTypes maps event.Op to Maxwell's "type"; "" marks ops with no form.
var opTypes = [...]string{
	event.OpInsert:           "insert",
	event.OpUpdate:           "update",
	event.OpDelete:           "delete",
	event.OpSnapshot:         "bootstrap-insert",
	event.OpSnapshotStart:    "bootstrap-start",
	event.OpSnapshotComplete: "bootstrap-complete",
}

func opType(op event.Op) string {
	if int(op) < len(opTypes) {
		return opTypes[op]
	}
	return ""
}

// keyRow is the row the key values come from: the deleted image for a
// delete, the new image otherwise (for a key change that is the new key, as
// in Maxwell), nil for snapshot markers.
func keyRow(e *event.Event) []event.Value {
	switch e.Op {
	case event.OpDelete:
		return e.Before
	case event.OpInsert, event.OpUpdate, event.OpSnapshot:
		return e.After
	}
	return nil
}

// AppendKey appends the record key. On error dst is returned unchanged.
func (enc *Encoder) AppendKey(dst []byte, e *event.Event) ([]byte, error) {
	start := len(dst)
	if opType(e.Op) == "" {
		return dst, errorf(e, "", "cannot encode op %v", e.Op)
	}
	row := keyRow(e)
	if e.Op.HasRow() && len(row) != len(e.Columns) {
		return dst, errorf(e, "", "row image has %d values for %d columns", len(row), len(e.Columns))
	}
	dst = append(dst, `{"database":`...)
	dst = jsonw.String(dst, e.Database)
	dst = append(dst, `,"table":`...)
	dst = jsonw.String(dst, e.Table)
	if len(e.Key) == 0 {
		var u [16]byte
		src := enc.UUIDSource
		if src == nil {
			src = rand.Reader
		}
		if _, err := io.ReadFull(src, u[:]); err != nil {
			return dst[:start], errorf(e, "", "reading randomness for _uuid: %w", err)
		}
		dst = append(dst, `,"_uuid":`...)
		dst = appendUUID(dst, u)
		return append(dst, '}'), nil
	}
	for _, c := range e.Key {
		if c < 0 || c >= len(e.Columns) {
			return dst[:start], errorf(e, "", "key column index %d out of range (%d columns)", c, len(e.Columns))
		}
		col := &e.Columns[c]
		dst = append(dst, ',')
		dst = appendPKName(dst, col.Name)
		if row == nil {
			// Snapshot markers have no row; Maxwell writes null key values.
			dst = jsonw.Null(dst)
			continue
		}
		var err error
		if dst, err = appendValue(dst, col, &row[c]); err != nil {
			return dst[:start], errorf(e, col.Name, "key: %w", err)
		}
	}
	return append(dst, '}'), nil
}

// appendPKName appends "pk.<name>": with the name lower-cased like Maxwell.
// ASCII names, the common case, are lower-cased in place without allocating.
func appendPKName(dst []byte, name string) []byte {
	dst = append(dst, `"pk.`...)
	ascii := true
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		name = strings.ToLower(name)
	}
	// Write the quoted name, then drop its opening quote: the escaping
	// stays jsonw's, and escapes are all lower case already.
	at := len(dst)
	dst = jsonw.String(dst, name)
	copy(dst[at:], dst[at+1:])
	dst = dst[:len(dst)-1]
	if ascii {
		for i := at; i < len(dst); i++ {
			if c := dst[i]; 'A' <= c && c <= 'Z' {
				dst[i] = c + 'a' - 'A'
			}
		}
	}
	return append(dst, ':')
}

func appendUUID(dst []byte, u [16]byte) []byte {
	const hex = "0123456789abcdef"
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	dst = append(dst, '"')
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[b>>4], hex[b&0xf])
	}
	return append(dst, '"')
}

// AppendValue appends the record value. On error dst is returned unchanged.
func (enc *Encoder) AppendValue(dst []byte, e *event.Event) ([]byte, error) {
	start := len(dst)
	typ := opType(e.Op)
	if typ == "" {
		return dst, errorf(e, "", "cannot encode op %v", e.Op)
	}
	dst = append(dst, `{"database":`...)
	dst = jsonw.String(dst, e.Database)
	dst = append(dst, `,"table":`...)
	dst = jsonw.String(dst, e.Table)
	dst = append(dst, `,"type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, `","ts":`...)
	dst = jsonw.Int(dst, e.SourceTimeMs/1000)
	if !e.Op.HasRow() {
		return append(dst, `,"data":{}}`...), nil
	}
	if e.Op != event.OpSnapshot {
		dst = append(dst, `,"xid":`...)
		dst = jsonw.Uint(dst, e.Tx.XID)
		dst = append(dst, `,"xoffset":`...)
		dst = jsonw.Uint(dst, e.Tx.Seq)
		if e.Tx.Last {
			dst = append(dst, `,"commit":true`...)
		}
	}
	dst = append(dst, `,"position":"`...)
	// The file name is escaped through jsonw and then spliced: a
	// "file:pos" string built with + would allocate.
	at := len(dst)
	dst = jsonw.String(dst, e.Source.File)
	copy(dst[at:], dst[at+1:])
	dst = dst[:len(dst)-2]
	dst = append(dst, ':')
	dst = jsonw.Uint(dst, e.Source.Pos)
	dst = append(dst, '"')
	if e.Source.GTID != "" {
		dst = append(dst, `,"gtid":`...)
		dst = jsonw.String(dst, e.Source.GTID)
	}
	dst = append(dst, `,"server_id":`...)
	dst = jsonw.Uint(dst, uint64(e.Source.ServerID))
	if e.Op != event.OpSnapshot {
		dst = append(dst, `,"thread_id":`...)
		dst = jsonw.Uint(dst, e.Source.Thread)
	}
	var err error
	if dst, err = appendBody(dst, e); err != nil {
		return dst[:start], err
	}
	return append(dst, '}'), nil
}

// appendBody appends primary_key, primary_key_columns, data and old.
func appendBody(dst []byte, e *event.Event) ([]byte, error) {
	data := keyRow(e)
	if len(data) != len(e.Columns) {
		return dst, errorf(e, "", "row image has %d values for %d columns", len(data), len(e.Columns))
	}
	dst = append(dst, `,"primary_key":[`...)
	for i, c := range e.Key {
		if c < 0 || c >= len(e.Columns) {
			return dst, errorf(e, "", "key column index %d out of range (%d columns)", c, len(e.Columns))
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendValue(dst, &e.Columns[c], &data[c]); err != nil {
			return dst, errorf(e, e.Columns[c].Name, "primary_key: %w", err)
		}
	}
	dst = append(dst, `],"primary_key_columns":[`...)
	for i, c := range e.Key {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonw.String(dst, e.Columns[c].Name)
	}
	dst = append(dst, `],"data":{`...)
	for i := range e.Columns {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonw.Key(dst, e.Columns[i].Name)
		var err error
		if dst, err = appendValue(dst, &e.Columns[i], &data[i]); err != nil {
			return dst, errorf(e, e.Columns[i].Name, "data: %w", err)
		}
	}
	dst = append(dst, '}')
	if e.Op != event.OpUpdate || len(e.Before) == 0 {
		return dst, nil
	}
	if len(e.Before) != len(e.Columns) {
		return dst, errorf(e, "", "before image has %d values for %d columns", len(e.Before), len(e.Columns))
	}
	// "old" lists only the changed columns, and is left out when none
	// changed, as Maxwell does. A before value that is Absent is unknown,
	// so it cannot be shown as changed.
	mark := len(dst)
	dst = append(dst, `,"old":{`...)
	n := 0
	for i := range e.Columns {
		b := &e.Before[i]
		if b.Kind == event.Absent || b.Equal(e.After[i]) {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = jsonw.Key(dst, e.Columns[i].Name)
		var err error
		if dst, err = appendValue(dst, &e.Columns[i], b); err != nil {
			return dst, errorf(e, e.Columns[i].Name, "old: %w", err)
		}
	}
	if n == 0 {
		return dst[:mark], nil
	}
	return append(dst, '}'), nil
}

// errorf names the table (and column, when known) an encoding error is
// about, so a refused event can be traced to its source row.
func errorf(e *event.Event, column, f string, args ...any) error {
	err := fmt.Errorf(f, args...)
	if column != "" {
		return fmt.Errorf("maxwell: encoding %s.%s.%s: %w", e.Database, e.Table, column, err)
	}
	return fmt.Errorf("maxwell: encoding %s.%s: %w", e.Database, e.Table, err)
}

var errAbsent = errors.New("value is absent (not known); a row image must be complete")
