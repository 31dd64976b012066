package sink

import (
	"math"
	"slices"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// Run is a maximal slice of consecutive rows that one multi-row statement
// can write: same table, same column list, same kind (upsert or delete),
// and no key twice. Applying a batch's runs in order gives the same final
// state as applying its rows one by one, because a key that repeats starts
// a new run rather than being reordered inside one.
type Run struct {
	Delete        bool
	Schema, Table string
	Columns       []event.Column
	Key           []int
	Rows          []*Row
}

// Runs splits rows into runs. A key change becomes a delete of the old key
// followed by an upsert of the new one. Consecutive upserts of the same key
// collapse into the last one, which holds the full after-image and so the
// same final state.
func Runs(rows []Row) []Run {
	var (
		out  []Run
		cur  *Run
		keys = map[string]int{} // key of cur's rows -> index in cur.Rows
	)
	start := func(r *Row, del bool) {
		out = append(out, Run{Delete: del, Schema: r.Schema, Table: r.Table, Columns: r.Columns, Key: r.Key})
		cur = &out[len(out)-1]
		clear(keys)
	}
	add := func(r *Row, del bool, key string) {
		if cur == nil || cur.Delete != del || cur.Table != r.Table || cur.Schema != r.Schema || !sameColumns(cur.Columns, r.Columns) || !slices.Equal(cur.Key, r.Key) {
			start(r, del)
		} else if i, dup := keys[key]; dup {
			if !del && i == len(cur.Rows)-1 {
				cur.Rows[i] = r // consecutive upserts of one key: keep the last
				return
			}
			if del && i == len(cur.Rows)-1 {
				return // deleting the same key twice in a row
			}
			start(r, del)
		}
		keys[key] = len(cur.Rows)
		cur.Rows = append(cur.Rows, r)
	}
	for i := range rows {
		r := &rows[i]
		if r.OldKey != nil {
			old := &Row{Op: event.OpDelete, Schema: r.Schema, Table: r.Table, Columns: r.Columns, Key: r.Key,
				Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
			old.Values = make([]event.Value, len(r.Columns))
			for j, c := range r.Key {
				old.Values[c] = r.OldKey[j]
			}
			add(old, true, keyString(old.Key, old.Values))
		}
		add(r, r.Op == event.OpDelete, keyString(r.Key, r.Values))
	}
	return out
}

func sameColumns(a, b []event.Column) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) > 0 && &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i].Name != b[i].Name {
			return false
		}
	}
	return true
}

// keyString is an injective text form of the key values, for map lookups.
func keyString(key []int, vals []event.Value) string {
	var b []byte
	for _, c := range key {
		v := vals[c]
		b = append(b, byte(v.Kind))
		b = appendValue(b, v)
		b = append(b, 0xff)
	}
	return string(b)
}

func appendValue(b []byte, v event.Value) []byte {
	switch v.Kind {
	case event.Int, event.Year:
		return appendUint(b, uint64(v.I))
	case event.Uint, event.Bit:
		return appendUint(b, v.U)
	case event.Float:
		return appendUint(b, math.Float64bits(v.F))
	case event.Bytes, event.JSON:
		return appendEscaped(b, string(v.B))
	case event.Set:
		for _, m := range v.Set {
			b = appendEscaped(b, m)
			b = append(b, 0xfe)
		}
		return b
	}
	return appendEscaped(b, v.S)
}

func appendUint(b []byte, u uint64) []byte {
	for i := 0; i < 8; i++ {
		b = append(b, byte(u>>(8*i)))
	}
	return b
}

// appendEscaped writes s so that the 0xfe/0xff separators stay unambiguous.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0xfd {
			b = append(b, 0xfd)
		}
		b = append(b, c)
	}
	return b
}
