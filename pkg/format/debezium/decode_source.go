package debezium

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// readSource reads the source block. Only the fields an event holds are
// kept; sequence, query, ts_us and what later Debezium versions add are
// skipped. Fields written as null read as their zero value.
func (st *decodeState) readSource(s *sourceBlock) error {
	path := st.prefix + "source"
	if err := st.open('{', path); err != nil {
		return err
	}
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
			s.version, off, err = st.readString()
		case "connector":
			s.connector, off, err = st.readString()
		case "name":
			s.name, off, err = st.readString()
		case "ts_ms":
			s.tsMs, off, err = st.readOptInt()
		case "snapshot":
			s.snapshot, off, err = st.readSnapshot()
		case "db":
			s.db, off, err = st.readString()
		case "table":
			s.table, off, err = st.readOptString()
		case "server_id":
			s.serverID, off, err = st.readOptUint(math.MaxUint32)
		case "gtid":
			s.gtid, off, err = st.readOptString()
		case "file":
			s.file, off, err = st.readOptString()
		case "pos":
			s.pos, off, err = st.readOptUint(math.MaxUint64)
		case "row":
			s.row, off, err = st.readOptUint(math.MaxUint32)
		case "thread":
			s.thread, off, err = st.readOptUint(math.MaxUint64)
		default: // sequence, query, ts_us, ts_ns, ...
			off = st.dec.InputOffset()
			err = st.dec.SkipValue()
		}
		if err != nil {
			return decErr(path+"."+name, off, err)
		}
	}
	return st.close(path)
}

// readSnapshot reads source.snapshot: a string, or a boolean in old
// Debezium versions.
func (st *decodeState) readSnapshot() (string, int64, error) {
	raw, off, err := st.next()
	switch {
	case err != nil:
		return "", off, err
	case raw == "true" || raw == "false":
		return raw, off, nil
	case raw == "null":
		return "false", off, nil
	case raw[0] != '"':
		return "", off, fmt.Errorf("want a string, got %s", shape(raw))
	}
	s, err := unquote(raw)
	return s, off, err
}

func (st *decodeState) readTransaction(env *envelope) error {
	path := st.prefix + "transaction"
	if st.dec.PeekKind() == 'n' {
		_, off, err := st.next()
		if err != nil {
			return decErr(path, off, err)
		}
		env.hasTx = false
		return nil
	}
	if err := st.open('{', path); err != nil {
		return err
	}
	env.hasTx = true
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
		case "id":
			env.txID, off, err = st.readString()
		case "total_order":
			env.txTotal, off, err = st.readOptUint(math.MaxUint64)
			if err == nil && env.txTotal == 0 {
				err = errors.New("must be at least 1")
			}
		case "data_collection_order":
			env.txDataCol, off, err = st.readOptUint(math.MaxUint64)
		default:
			off = st.dec.InputOffset()
			err = st.dec.SkipValue()
		}
		if err != nil {
			return decErr(path+"."+name, off, err)
		}
	}
	return st.close(path)
}
