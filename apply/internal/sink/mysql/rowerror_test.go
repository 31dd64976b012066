package mysql

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// TestRowErrors: each value or schema the target refuses is a RowError
// naming the row (by offset), the column and the value, and nothing of
// the batch is written.
func TestRowErrors(t *testing.T) {
	f := newFixture(t, nil)
	f.createSimple()
	f.exec("CREATE TABLE u (id INT PRIMARY KEY, email VARCHAR(16) UNIQUE, flag BIT(1), parent INT,"+
		" FOREIGN KEY (parent) REFERENCES t (id))",
		"INSERT INTO t VALUES (1, 'p', 0)",
		"INSERT INTO u VALUES (100, 'taken', 0, NULL), (101, 'other', 0, NULL)")
	uCols := []event.Column{{Name: "id", Kind: event.Int}, {Name: "email", Kind: event.String},
		{Name: "flag", Kind: event.Bit}, {Name: "parent", Kind: event.Int}}
	u := func(off, id int64, email string, flag uint64, parent int64) sink.Row {
		p := event.IntValue(parent)
		if parent == 0 {
			p = event.NullValue()
		}
		return sink.Row{Op: event.OpInsert, Table: "u", Columns: uCols, Key: []int{0}, Topic: "t", Offset: off,
			Values: []event.Value{event.IntValue(id), event.StringValue(email), event.BitValue(flag), p}}
	}
	good := func(off int64) []sink.Row { // rows before the bad one, in the same statement
		return []sink.Row{u(off, off+1, "e"+string(rune('a'+off)), 1, 1), u(off+1, off+2, "f"+string(rune('a'+off)), 0, 0)}
	}
	goodT := func(off int64) []sink.Row { return []sink.Row{up(off, 50, "g", 1), up(off+1, 51, "h", 1)} }
	withCol := func(r sink.Row, name string, v event.Value) sink.Row {
		r.Columns = append(append([]event.Column(nil), r.Columns...), event.Column{Name: name, Kind: v.Kind})
		r.Values = append(append([]event.Value(nil), r.Values...), v)
		return r
	}
	noTable := up(12, 1, "a", 1)
	noTable.Table = "missing"

	cases := []struct {
		name         string
		rows         []sink.Row
		offset       int64
		column, val  string
		code         uint16
		wantIs       error
		wantInString string
	}{
		{name: "out of range", rows: append(goodT(10), up(12, 5, "x", 1<<31), up(13, 6, "y", 1)),
			offset: 12, column: "b", val: "2147483648", code: 1264},
		{name: "data too long", rows: append(goodT(10), up(12, 5, "123456789", 1)),
			offset: 12, column: "a", val: "123456789", code: 1406},
		{name: "bit too wide", rows: append(good(10), u(12, 5, "z", 2, 0)),
			offset: 12, column: "flag", val: "2", code: 1406},
		{name: "unknown column", rows: append(good(10), withCol(u(12, 5, "z", 0, 0), "nope", event.StringValue("v"))),
			offset: 12, column: "nope", val: "v", wantIs: errNoColumn},
		{name: "no table", rows: []sink.Row{noTable}, offset: 12, wantIs: errNoTable, wantInString: "missing"},
		// The server does not say which row of a multi-row statement broke a
		// unique index or a foreign key; the sink finds it by bisection.
		// (A collision on the unique index alone replaces the other row,
		// see TestUniqueCollision; on the key and the index it fails.)
		{name: "duplicate unique key", rows: append(good(10), u(12, 5, "ok", 0, 0), u(13, 101, "taken", 0, 0), u(14, 7, "ok2", 0, 0)),
			offset: 13, code: 1062},
		{name: "foreign key", rows: append(good(10), u(12, 5, "ok", 0, 0), u(13, 6, "ok1", 0, 0), u(14, 7, "ok2", 0, 42)),
			offset: 14, code: 1452},
		{name: "null in not null key", rows: []sink.Row{func() sink.Row {
			r := up(12, 0, "a", 1)
			r.Values[0] = event.NullValue()
			return r
		}()}, offset: 12, column: "id", val: "NULL", code: 1048},
		{name: "no key", rows: []sink.Row{func() sink.Row { r := up(12, 0, "a", 1); r.Key = nil; return r }()},
			offset: 12, wantIs: errNoKeyColumns},
		{name: "absent key", rows: []sink.Row{func() sink.Row { r := up(12, 0, "a", 1); r.Values[0] = event.Value{}; return r }()},
			offset: 12, column: "id", wantIs: errNoKey},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			off := offsetFor(c.rows)
			off.Partition = int32(i) // a case that wrongly succeeds must not make the next one stale
			err := f.apply(c.rows, off)
			re := asRowError(t, err)
			if re.Row.Offset != c.offset || re.Column != c.column || re.Value != c.val {
				t.Errorf("got offset %d column %q value %q, want %d %q %q (%v)", re.Row.Offset, re.Column, re.Value,
					c.offset, c.column, c.val, err)
			}
			if c.code != 0 && errCode(err) != c.code {
				t.Errorf("server error %d, want %d: %v", errCode(err), c.code, err)
			}
			if c.wantIs != nil && !errors.Is(err, c.wantIs) {
				t.Errorf("err %v, want %v", err, c.wantIs)
			}
			if !strings.Contains(err.Error(), c.wantInString) {
				t.Errorf("err %q does not mention %q", err, c.wantInString)
			}
			t.Log(err)
			if n := f.dump("SELECT (SELECT COUNT(*) FROM t) + (SELECT COUNT(*) FROM u)"); n[0] != "3" {
				t.Errorf("%s rows in t and u after a failed batch, want 3", n[0])
			}
		})
	}
}
