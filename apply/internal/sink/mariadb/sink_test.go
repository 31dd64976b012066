package mariadb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m, testenv.NeedMariaDB) }

type fixture struct {
	t    *testing.T
	db   string
	conn *sql.DB
	s    *Sink
}

func newFixture(t *testing.T, mod func(*Config)) *fixture {
	m := testenv.SharedMariaDB(t)
	f := &fixture{t: t, db: m.CreateDatabase(t)}
	var err error
	if f.conn, err = m.Open(f.db); err != nil {
		t.Fatal(err)
	}
	f.conn.SetMaxOpenConns(1)
	t.Cleanup(func() { f.conn.Close() })
	cfg := Config{DSN: m.DSN(f.db)}
	if mod != nil {
		mod(&cfg)
	}
	if f.s, err = New(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.s.Close() })
	return f
}

func (f *fixture) exec(qs ...string) {
	f.t.Helper()
	for _, q := range qs {
		if _, err := f.conn.Exec(q); err != nil {
			f.t.Fatalf("%s: %v", q, err)
		}
	}
}

func (f *fixture) rows(q string) []string {
	f.t.Helper()
	rows, err := f.conn.Query(q)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			f.t.Fatal(err)
		}
		var parts []string
		for _, v := range vals {
			if v.Valid {
				parts = append(parts, fmt.Sprintf("%q", v.String))
			} else {
				parts = append(parts, "NULL")
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

var off = sink.Offset{Group: "g", Topic: "t", Partition: 0}

func (f *fixture) apply(next int64, rows ...sink.Row) error {
	o := off
	o.From, o.Next = next-int64(len(rows)), next
	for i := range rows {
		rows[i].Topic, rows[i].Offset = "t", o.From+int64(i)
	}
	return f.s.Apply(context.Background(), rows, o)
}

func TestAllTypesExact(t *testing.T) {
	f := newFixture(t, nil)
	f.exec("SET SESSION sql_mode = ''", "SET SESSION time_zone = '+00:00'",
		eventtest.CreateTableSQL(f.db, "want"), eventtest.CreateTableSQL(f.db, "got"))
	cols := eventtest.EventColumns()
	var rows []sink.Row
	for r := range 4 {
		f.exec(eventtest.InsertSQL(f.db, "want", r))
		rows = append(rows, sink.Row{Op: event.OpInsert, Table: "got", Columns: cols, Key: []int{0}, Values: eventtest.Row(r)})
	}
	if err := f.apply(4, rows...); err != nil {
		t.Fatal(err)
	}
	want := f.rows("SELECT * FROM want ORDER BY id")
	got := f.rows("SELECT * FROM got ORDER BY id")
	if !slices.Equal(got, want) {
		for i := range want {
			if i < len(got) && got[i] != want[i] {
				g, w := strings.Split(got[i], "|"), strings.Split(want[i], "|")
				for j := range w {
					if g[j] != w[j] {
						t.Errorf("row %d column %s: got %s, want %s", i, cols[j].Name, g[j], w[j])
					}
				}
			}
		}
		if len(got) != len(want) {
			t.Errorf("got %d rows, want %d", len(got), len(want))
		}
	}
}

var cols = []event.Column{{Name: "id", Kind: event.Int}, {Name: "v", Kind: event.String}}

func row(op event.Op, id int64, v string) sink.Row {
	return sink.Row{Op: op, Table: "t", Columns: cols, Key: []int{0}, Values: []event.Value{event.IntValue(id), event.StringValue(v)}}
}

func TestUpsertSemantics(t *testing.T) {
	f := newFixture(t, nil)
	f.exec("CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(10))", "INSERT INTO t VALUES (1, 'old'), (3, 'gone')")
	moved := row(event.OpUpdate, 20, "moved")
	moved.OldKey = []event.Value{event.IntValue(2)}
	batch := []sink.Row{
		row(event.OpInsert, 1, "new"),    // insert of an existing row updates it
		row(event.OpUpdate, 2, "upd"),    // update of a missing row inserts it
		row(event.OpDelete, 4, ""),       // delete of a missing row succeeds
		row(event.OpDelete, 3, ""),       // delete
		moved,                            // key change: 2 -> 20
		row(event.OpSnapshot, 5, "snap"), // snapshot rows upsert
		row(event.OpUpdate, 5, "snap2"),
	}
	for range 2 { // the second delivery leaves the same state
		if err := f.apply(7, slices.Clone(batch)...); err != nil {
			t.Fatal(err)
		}
		if err := f.s.SetOffsets(context.Background(), "g", "t", map[int32]int64{0: 0}); err != nil {
			t.Fatal(err)
		}
	}
	got := f.rows("SELECT id, v FROM t ORDER BY id")
	want := []string{`"1"|"new"`, `"5"|"snap2"`, `"20"|"moved"`}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestOffsetsInTheSameTransaction(t *testing.T) {
	f := newFixture(t, nil)
	f.exec("CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(3))")
	if err := f.apply(2, row(event.OpInsert, 1, "a"), row(event.OpInsert, 2, "b")); err != nil {
		t.Fatal(err)
	}
	// A value the column cannot hold: nothing of the batch, offset included, lands.
	err := f.apply(5, row(event.OpInsert, 3, "c"), row(event.OpInsert, 4, "too long"), row(event.OpInsert, 5, "e"))
	var re *sink.RowError
	if !errors.As(err, &re) || re.Row.Offset != 3 || re.Column != "v" || sink.Retryable(err) {
		t.Fatalf("err %v, want a RowError for offset 3, column v", err)
	}
	if !strings.Contains(err.Error(), "t/0@3") || !strings.Contains(err.Error(), "Data too long") {
		t.Errorf("error does not name where and why: %v", err)
	}
	got, _ := f.s.Offsets(context.Background(), "g", "t")
	if got[0] != 2 {
		t.Fatalf("stored offset %d, want 2", got[0])
	}
	if n := len(f.rows("SELECT id FROM t")); n != 2 {
		t.Fatalf("%d rows, want the first batch's 2", n)
	}
}

func TestRowErrors(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.ZeroDates = "error" })
	f.exec("CREATE TABLE r (id BIGINT PRIMARY KEY, n TINYINT, d DATE, v VARCHAR(5))")
	mk := func(col string, v event.Value) sink.Row {
		return sink.Row{Op: event.OpInsert, Table: "r", Columns: []event.Column{{Name: "id"}, {Name: col}}, Key: []int{0},
			Values: []event.Value{event.IntValue(1), v}}
	}
	tests := []struct {
		name   string
		r      sink.Row
		column string
		want   string
	}{
		{"out of range", mk("n", event.IntValue(300)), "n", "Out of range"},
		{"unknown column", mk("nope", event.IntValue(1)), "nope", "has no column"},
		{"zero date refused", mk("d", event.DateValue("0000-00-00")), "d", "zero date"},
		{"bad date", mk("d", event.DateValue("2024-13-45")), "d", "Incorrect"},
		{"missing table", sink.Row{Op: event.OpInsert, Table: "nope", Columns: cols, Key: []int{0}, Values: []event.Value{event.IntValue(1), event.StringValue("x")}}, "", "does not exist"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.apply(int64(i+1), tt.r)
			var re *sink.RowError
			if !errors.As(err, &re) || re.Column != tt.column || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v; want RowError on column %q containing %q", err, tt.column, tt.want)
			}
		})
	}
}

func TestStaleBatchRefused(t *testing.T) {
	f := newFixture(t, nil)
	f.exec("CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(10))")
	if err := f.apply(10, row(event.OpInsert, 1, "new")); err != nil {
		t.Fatal(err)
	}
	// A consumer that lost the partition still holds offsets 5..6.
	err := f.s.Apply(context.Background(), []sink.Row{row(event.OpInsert, 1, "old")}, sink.Offset{Group: "g", Topic: "t", From: 5, Next: 6})
	if !errors.Is(err, sink.ErrStale) {
		t.Fatalf("err %v, want ErrStale", err)
	}
	if got := f.rows("SELECT v FROM t"); got[0] != `"new"` {
		t.Fatalf("stale batch overwrote the row: %v", got)
	}
}

func TestLargeBatchSplits(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxParams = 100 })
	f.exec("CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(10))")
	var rows []sink.Row
	for i := range 1000 {
		rows = append(rows, row(event.OpInsert, int64(i), "x"))
	}
	if err := f.apply(1000, rows...); err != nil {
		t.Fatal(err)
	}
	var dels []sink.Row
	for i := range 500 {
		dels = append(dels, row(event.OpDelete, int64(i), ""))
	}
	if err := f.apply(1500, dels...); err != nil {
		t.Fatal(err)
	}
	if n := len(f.rows("SELECT id FROM t")); n != 500 {
		t.Fatalf("%d rows, want 500", n)
	}
}

func TestClassify(t *testing.T) {
	rows := []*sink.Row{{Offset: 7}, {Offset: 8}}
	tests := []struct {
		err       error
		retryable bool
		rowOffset int64
		column    string
	}{
		{&mysql.MySQLError{Number: 1213, Message: "Deadlock found"}, true, -1, ""},
		{&mysql.MySQLError{Number: 1205, Message: "Lock wait timeout exceeded"}, true, -1, ""},
		{&mysql.MySQLError{Number: 1290, Message: "running with the --read-only option"}, true, -1, ""},
		{&mysql.MySQLError{Number: 1264, Message: "Out of range value for column 'n' at row 2"}, false, 8, "n"},
		{&mysql.MySQLError{Number: 1292, Message: "Incorrect date value: '2024-13-45' for column `db`.`r`.`d` at row 1"}, false, 7, "d"},
		{&mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'x' for key 'email'"}, false, 7, ""},
		{mysql.ErrInvalidConn, true, -1, ""},
		{driver.ErrBadConn, true, -1, ""},
	}
	for _, tt := range tests {
		err := classify(fmt.Errorf("writing: %w", tt.err), rows)
		if sink.Retryable(err) != tt.retryable {
			t.Errorf("%v: retryable %v", tt.err, sink.Retryable(err))
		}
		var re *sink.RowError
		if tt.rowOffset >= 0 && (!errors.As(err, &re) || re.Row.Offset != tt.rowOffset || re.Column != tt.column) {
			t.Errorf("%v: got %#v, want row %d column %q", tt.err, re, tt.rowOffset, tt.column)
		}
	}
}
