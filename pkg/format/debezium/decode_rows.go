package debezium

import (
	"errors"
	"fmt"
	"slices"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// rows sets e.Columns and fills Before and After from the raw images.
func (st *decodeState) rows(e *event.Event, needBefore, needAfter bool) error {
	cols, wires := st.columns()
	if cols == nil {
		cols = st.inferColumns()
	}
	e.Columns = cols
	var err error
	if needBefore {
		if e.Before, err = st.row(st.before, "before", cols, wires); err != nil {
			return err
		}
	}
	if needAfter {
		if e.After, err = st.row(st.after, "after", cols, wires); err != nil {
			return err
		}
	}
	return nil
}

// columns returns the header's columns or the Connect schema's, with the
// wire form of each from the schema (nil: all text). Both nil means the
// kinds are to be inferred.
func (st *decodeState) columns() ([]event.Column, []colWire) {
	rs := rowSchema(st.schema)
	if st.types != nil {
		if rs == nil {
			return st.types, nil
		}
		// Sluice's own wrapped values: the header gives the kinds, the
		// schema only confirms how values are written.
		wires := make([]colWire, len(st.types))
		for i := range rs.fields {
			c, w := connectColumn(&rs.fields[i])
			if j := lookup(st.types, c.Name, i); j >= 0 && st.types[j].Kind == c.Kind {
				wires[j] = w
			}
		}
		return st.types, wires
	}
	if rs == nil {
		return nil, nil
	}
	cols := make([]event.Column, len(rs.fields))
	wires := make([]colWire, len(rs.fields))
	for i := range rs.fields {
		cols[i], wires[i] = connectColumn(&rs.fields[i])
	}
	return cols, wires
}

// inferColumns lists the fields of after, then any only in before, with
// the kind of each column's first non-null value.
func (st *decodeState) inferColumns() []event.Column {
	cols := make([]event.Column, 0, max(len(st.after), len(st.before)))
	for _, img := range [][]rawField{st.after, st.before} {
		for i, f := range img {
			v, _ := inferValue(f.raw) // errors come when the row is read
			k := v.Kind
			j := lookup(cols, f.name, i)
			if j < 0 {
				cols = append(cols, event.Column{Name: f.name, Kind: k})
				continue
			}
			if cols[j].Kind == event.Null {
				cols[j].Kind = k
			}
		}
	}
	return cols
}

// row decodes one image. Columns the image leaves out are Absent.
func (st *decodeState) row(fields []rawField, which string, cols []event.Column, wires []colWire) ([]event.Value, error) {
	path := which
	if st.wrapped {
		path = "payload." + which
	}
	inferred := st.types == nil && wires == nil
	row := make([]event.Value, len(cols))
	for i, f := range fields {
		j := lookup(cols, f.name, i)
		if j < 0 {
			where := "the sluice.types header"
			if st.types == nil {
				where = "the Connect schema"
			}
			return nil, decErr(path+"."+f.name, f.off, fmt.Errorf("not a column in %s", where))
		}
		if row[j].Kind != event.Absent {
			return nil, decErr(path+"."+f.name, f.off, errors.New("column given twice"))
		}
		var v event.Value
		var err error
		switch {
		case f.raw == "null":
			v = event.NullValue()
		case inferred:
			v, err = inferValue(f.raw)
		default:
			var w colWire
			if wires != nil {
				w = wires[j]
			}
			v, err = typedValue(&cols[j], w, f.raw)
		}
		if err != nil {
			return nil, decErr(path+"."+f.name, f.off, err)
		}
		row[j] = v
	}
	return row, nil
}

// lookup finds a column by name, trying hint first: images list the
// columns in order, so the hint nearly always hits.
func lookup(cols []event.Column, name string, hint int) int {
	if hint >= 0 && hint < len(cols) && cols[hint].Name == name {
		return hint
	}
	for i := range cols {
		if cols[i].Name == name {
			return i
		}
	}
	return -1
}

// DecodeKey sets e.Key from a record key ({"id":4}, or the Connect wrapper
// {"schema":...,"payload":{"id":4}}), matching key fields to the columns
// of e, which Decode filled from the record's value. It also checks that
// each key value equals the row's value of that column, so a key and a
// value that do not belong together fail loudly instead of touching the
// wrong row.
func (*Decoder) DecodeKey(key []byte, e *event.Event) error {
	if len(key) == 0 || string(key) == "null" {
		return errors.New("debezium: key: missing (Debezium writes no key for tables without a primary key)")
	}
	st := getState(key)
	defer st.release()
	fields, err := st.readKey()
	if err != nil {
		return err
	}
	ks := st.schema
	if len(fields) == 0 {
		return errors.New("debezium: key: empty object")
	}
	row := e.After
	if e.Op == event.OpDelete {
		row = e.Before
	}
	keyIdx := make([]int, len(fields))
	for n, f := range fields {
		i := lookup(e.Columns, f.name, -1)
		if i < 0 {
			return decErr("key."+f.name, f.off, fmt.Errorf("not a column of %s.%s", e.Database, e.Table))
		}
		keyIdx[n] = i
		var v event.Value
		switch col := &e.Columns[i]; {
		case f.raw == "null":
			return decErr("key."+f.name, f.off, errors.New("a key column is never null"))
		case col.Type == "": // inferred columns: infer the key too
			if v, err = inferValue(f.raw); err != nil {
				return decErr("key."+f.name, f.off, err)
			}
		default:
			var w colWire
			if ks != nil {
				if c := ks.child(f.name); c != nil {
					if kc, kw := connectColumn(c); kc.Kind == col.Kind {
						w = kw
					}
				}
			}
			if v, err = typedValue(col, w, f.raw); err != nil {
				return decErr("key."+f.name, f.off, err)
			}
		}
		if i < len(row) && row[i].Kind != event.Absent && !row[i].Equal(v) {
			return decErr("key."+f.name, f.off, errors.New("differs from the row's value of the column"))
		}
	}
	e.Key = keyIdx
	return nil
}

// readKey reads the fields of a bare or wrapped key.
func (st *decodeState) readKey() ([]rawField, error) {
	if err := st.open('{', "key"); err != nil {
		return nil, err
	}
	var bare, wrapped bool
	seen := make([]string, 0, 16) // member names: jsontext's own check is off (getState)
	for st.dec.PeekKind() != '}' {
		name, off, err := st.readString()
		if err != nil {
			return nil, decErr("key", off, err)
		}
		if slices.Contains(seen, name) {
			return nil, decErr("key", off, fmt.Errorf("duplicate member %q", name))
		}
		seen = append(seen, name)
		switch {
		case name == "schema" && !bare && st.dec.PeekKind() == '{':
			var n schemaNode
			if err := st.readSchema(&n, 0, "key.schema"); err != nil {
				return nil, err
			}
			st.schema = &n
			continue
		case name == "payload" && !bare && st.dec.PeekKind() == '{':
			wrapped = true
			if _, err := st.readRow(&st.after, "key.payload"); err != nil {
				return nil, err
			}
			continue
		}
		bare = true
		raw, voff, err := st.next()
		if err != nil {
			return nil, decErr("key."+name, voff, err)
		}
		st.after = append(st.after, rawField{name: name, raw: raw, off: voff})
	}
	if err := st.close("key"); err != nil {
		return nil, err
	}
	if bare && wrapped {
		return nil, decErr("key", -1, errors.New("both a payload and key fields"))
	}
	return st.after, nil
}
