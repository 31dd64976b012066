package debezium

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// DecodeMongo reads a Debezium MongoDB record back: Sluice's own, or
// genuine Debezium (2.x string documents), bare or with the Connect
// wrapper. key may be nil when only the value is of interest. Documents
// are checked to be JSON objects but kept as the text they were written
// in; Sluice writes canonical Extended JSON, genuine Debezium may write
// the relaxed form. A null value is ErrTombstone.
func DecodeMongo(key, value []byte) (*MongoChange, error) {
	if v := bytes.TrimSpace(value); len(v) == 0 || string(v) == "null" {
		return nil, ErrTombstone
	}
	c := &MongoChange{}
	st := getState(value)
	err := st.readMongoTop(c)
	st.release()
	if err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("debezium: mongo value: %w", err)
	}
	if key != nil {
		if c.KeyExtJSON, err = decodeMongoKey(key); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// decodeMongoKey reads {"id":"..."} or its Connect wrapper.
func decodeMongoKey(key []byte) (string, error) {
	st := getState(key)
	defer st.release()
	fields, err := st.readKey()
	if err != nil {
		return "", err
	}
	if len(fields) != 1 || fields[0].name != "id" {
		return "", errors.New(`debezium: mongo key: want {"id":"<_id as Extended JSON>"}`)
	}
	f := fields[0]
	if f.raw[0] != '"' {
		return "", decErr("key.id", f.off, fmt.Errorf("want a string of Extended JSON, got %s", shape(f.raw)))
	}
	id, err := unquote(f.raw)
	if err != nil || id == "" || !isJSON(id) {
		return "", decErr("key.id", f.off, fmt.Errorf("%q is not Extended JSON", truncate(id)))
	}
	return id, nil
}

// readMongoTop reads the value, bare or wrapped. The wrapper's schema is
// skipped: Mongo documents are strings in every Debezium mode, so the
// schema has nothing to say about them.
func (st *decodeState) readMongoTop(c *MongoChange) error {
	if err := st.open('{', ""); err != nil {
		return err
	}
	var op string
	var opOff int64
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
		switch {
		case name == "schema" && !st.bare:
			err = st.dec.SkipValue() // documents are strings: nothing to learn
			st.wrapped = true
		case name == "payload" && !st.bare && st.dec.PeekKind() == '{':
			st.wrapped, st.prefix = true, "payload."
			err = st.readMongoObject(c, &op, &opOff)
			st.prefix = ""
		default:
			st.bare = true
			err = st.mongoMember(c, name, &op, &opOff)
		}
		if err != nil {
			return err
		}
	}
	if err := st.close(""); err != nil {
		return err
	}
	if st.wrapped && st.bare {
		return decErr("payload", -1, errors.New("both a payload and envelope fields at the top level"))
	}
	p := ""
	if st.wrapped {
		p = "payload."
	}
	var ok bool
	switch c.Op, ok = opByCode[op]; {
	case op == "":
		return decErr(p+"op", -1, errors.New("missing"))
	case !ok:
		return decErr(p+"op", opOff, fmt.Errorf("%q is not one of c, u, d, r", op))
	case c.DB == "" || c.Collection == "":
		return decErr(p+"source", -1, errors.New("missing db or collection (is this a MongoDB change?)"))
	}
	if c.Source.Snapshot == "false" || (c.Op == event.OpSnapshot && c.Source.Snapshot == "true") {
		c.Source.Snapshot = "" // what the encoder writes for an empty marker
	}
	return nil
}

func (st *decodeState) readMongoObject(c *MongoChange, op *string, opOff *int64) error {
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
		if err := st.mongoMember(c, name, op, opOff); err != nil {
			return err
		}
	}
	return st.close("payload")
}

// mongoMember reads one envelope field. Debezium 1.x's patch and filter
// (superseded by updateDescription) and the transaction block are skipped.
func (st *decodeState) mongoMember(c *MongoChange, name string, op *string, opOff *int64) error {
	var err error
	var off int64
	switch name {
	case "before":
		c.Before, off, err = st.readDoc()
	case "after":
		c.After, off, err = st.readDoc()
	case "updateDescription":
		return st.readUpdateDescription(c)
	case "source":
		return st.readMongoSource(c)
	case "op":
		*op, off, err = st.readString()
		*opOff = off
	case "ts_ms":
		c.EmitTimeMs, off, err = st.readOptInt()
	default: // transaction, patch, filter, ts_us, ...
		off = st.dec.InputOffset()
		err = st.dec.SkipValue()
	}
	if err != nil {
		return decErr(st.prefix+name, off, err)
	}
	return nil
}

// readDoc reads a document written as a string of Extended JSON, or null.
func (st *decodeState) readDoc() (string, int64, error) {
	s, off, err := st.readOptString()
	if err == nil && s != "" && !isDocument(s) {
		err = fmt.Errorf("%q is not an Extended JSON document", truncate(s))
	}
	return s, off, err
}

// readUpdateDescription reads updateDescription; null means none (inserts,
// replaces, deletes).
func (st *decodeState) readUpdateDescription(c *MongoChange) error {
	path := st.prefix + "updateDescription"
	if st.dec.PeekKind() == 'n' {
		_, off, err := st.next()
		if err != nil {
			return decErr(path, off, err)
		}
		return nil
	}
	if err := st.open('{', path); err != nil {
		return err
	}
	u := &UpdateDescription{RemovedFields: []string{}}
	seen := make([]string, 0, 16) // member names: jsontext's own check is off (getState)
	for st.dec.PeekKind() != '}' {
		name, off, err := st.readString()
		if err != nil {
			return decErr(path, off, err)
		}
		if slices.Contains(seen, name) {
			return decErr(path, off, fmt.Errorf("duplicate member %q", name))
		}
		seen = append(seen, name)
		switch name {
		case "updatedFields":
			u.UpdatedFields, off, err = st.readDoc()
		case "removedFields":
			err = st.readArray(path+".removedFields", func(p string) error {
				f, off, err := st.readString()
				if err != nil {
					return decErr(p, off, err)
				}
				u.RemovedFields = append(u.RemovedFields, f)
				return nil
			})
		case "truncatedArrays":
			err = st.readArray(path+".truncatedArrays", func(p string) error {
				t, err := st.readTruncated(p)
				u.TruncatedArrays = append(u.TruncatedArrays, t)
				return err
			})
		default:
			off = st.dec.InputOffset()
			err = st.dec.SkipValue()
		}
		if err != nil {
			return decErr(path+"."+name, off, err)
		}
	}
	c.Update = u
	return st.close(path)
}

// readArray reads an array (or null), calling each for every element with
// the element's path.
func (st *decodeState) readArray(path string, each func(path string) error) error {
	if st.dec.PeekKind() == 'n' {
		_, _, err := st.next()
		return err
	}
	if err := st.open('[', path); err != nil {
		return err
	}
	for i := 0; st.dec.PeekKind() != ']'; i++ {
		if err := each(fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	return st.close(path)
}

func (st *decodeState) readTruncated(path string) (TruncatedArray, error) {
	var t TruncatedArray
	if err := st.open('{', path); err != nil {
		return t, err
	}
	seen := make([]string, 0, 16) // member names: jsontext's own check is off (getState)
	for st.dec.PeekKind() != '}' {
		name, off, err := st.readString()
		if err != nil {
			return t, decErr(path, off, err)
		}
		if slices.Contains(seen, name) {
			return t, decErr(path, off, fmt.Errorf("duplicate member %q", name))
		}
		seen = append(seen, name)
		switch name {
		case "field":
			t.Field, off, err = st.readString()
		case "newSize":
			var n uint64
			n, off, err = st.readOptUint(math.MaxUint32)
			t.NewSize = uint32(n)
		default:
			off = st.dec.InputOffset()
			err = st.dec.SkipValue()
		}
		if err != nil {
			return t, decErr(path+"."+name, off, err)
		}
	}
	return t, st.close(path)
}

// readMongoSource reads the source block; connector must be "mongodb", so
// a row change read here by mistake fails instead of losing its rows.
func (st *decodeState) readMongoSource(c *MongoChange) error {
	path := st.prefix + "source"
	if err := st.open('{', path); err != nil {
		return err
	}
	s := &c.Source
	connector := ""
	seen := make([]string, 0, 16) // member names: jsontext's own check is off (getState)
	for st.dec.PeekKind() != '}' {
		name, off, err := st.readString()
		if err != nil {
			return decErr(path, off, err)
		}
		if slices.Contains(seen, name) {
			return decErr(path, off, fmt.Errorf("duplicate member %q", name))
		}
		seen = append(seen, name)
		switch name {
		case "version":
			s.Version, off, err = st.readString()
		case "connector":
			connector, off, err = st.readString()
			if err == nil && connector != "mongodb" {
				err = fmt.Errorf("%q is not mongodb (a row change? read it with Decoder)", connector)
			}
		case "name":
			s.Name, off, err = st.readString()
		case "ts_ms":
			s.TsMs, off, err = st.readOptInt()
		case "snapshot":
			s.Snapshot, off, err = st.readSnapshot()
		case "db":
			c.DB, off, err = st.readString()
		case "collection":
			c.Collection, off, err = st.readString()
		case "ord":
			var n uint64
			n, off, err = st.readOptUint(math.MaxUint32)
			s.Ord = uint32(n)
		case "lsid":
			s.Lsid, off, err = st.readDoc()
		case "txnNumber":
			s.TxnNumber, off, err = st.readTxnNumber()
		default: // sequence, wallTime, rs, ts_us, ...
			off = st.dec.InputOffset()
			err = st.dec.SkipValue()
		}
		if err != nil {
			return decErr(path+"."+name, off, err)
		}
	}
	if connector == "" {
		return decErr(path+".connector", -1, errors.New("missing"))
	}
	return st.close(path)
}

// readTxnNumber keeps null apart from 0: txnNumber 0 is a valid
// transaction number.
func (st *decodeState) readTxnNumber() (*int64, int64, error) {
	if st.dec.PeekKind() == 'n' {
		_, off, err := st.next()
		return nil, off, err
	}
	n, off, err := st.readOptInt()
	if err != nil {
		return nil, off, err
	}
	return &n, off, nil
}
