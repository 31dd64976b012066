package mysql

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m, testenv.NeedMariaDB) }

// fixture is a fresh database on the shared MariaDB, a sink writing to it
// and a plain connection to check what the sink wrote.
type fixture struct {
	t    testing.TB
	m    *testenv.MariaDB
	db   string
	conn *sql.DB
	s    *Sink
}

func newFixture(t testing.TB, mod func(*Config)) *fixture {
	t.Helper()
	m := testenv.SharedMariaDB(t)
	f := &fixture{t: t, m: m, db: m.CreateDatabase(t)}
	// The checking connection runs with sql_mode='' like the fixture's
	// InsertSQL expects (zero dates), and in UTC.
	dc, err := mysql.ParseDSN(m.DSN(f.db))
	if err != nil {
		t.Fatal(err)
	}
	dc.Params = map[string]string{"sql_mode": "''", "time_zone": "'+00:00'"}
	conn, err := mysql.NewConnector(dc)
	if err != nil {
		t.Fatal(err)
	}
	f.conn = sql.OpenDB(conn)
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

// dump returns the query's rows, each as its columns joined by "|",
// NULL as "<null>".
func (f *fixture) dump(q string) []string {
	f.t.Helper()
	var out []string
	for _, vals := range testenv.QueryRows(f.t, f.conn, q) {
		s := make([]string, len(vals))
		for i, v := range vals {
			s[i] = v.String
			if !v.Valid {
				s[i] = "<null>"
			}
		}
		out = append(out, strings.Join(s, "|"))
	}
	return out
}

func (f *fixture) apply(rows []sink.Row, off sink.Offset) error {
	return f.s.Apply(context.Background(), rows, off)
}

func (f *fixture) mustApply(rows []sink.Row, off sink.Offset) {
	f.t.Helper()
	if err := f.apply(rows, off); err != nil {
		f.t.Fatalf("apply: %v", err)
	}
}

// offsetFor is the offset record of a batch whose rows carry offsets.
func offsetFor(rows []sink.Row) sink.Offset {
	off := sink.Offset{Group: "g", Topic: "t"}
	if len(rows) > 0 {
		off.From, off.Next = rows[0].Offset, rows[len(rows)-1].Offset+1
	}
	return off
}

func (f *fixture) stored() map[int32]int64 {
	f.t.Helper()
	got, err := f.s.Offsets(context.Background(), "g", "t")
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

// The simple table of the semantics tests: t(id INT PK, a VARCHAR(8), b INT).
var simpleCols = []event.Column{
	{Name: "id", Type: "int(11)", Kind: event.Int},
	{Name: "a", Type: "varchar(8)", Kind: event.String},
	{Name: "b", Type: "int(11)", Kind: event.Int},
}

func (f *fixture) createSimple() {
	f.t.Helper()
	f.exec("CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(8), b INT)")
}

func up(off, id int64, a string, b int64) sink.Row {
	return sink.Row{Op: event.OpInsert, Table: "t", Columns: simpleCols, Key: []int{0},
		Values: []event.Value{event.IntValue(id), event.StringValue(a), event.IntValue(b)},
		Topic:  "t", Offset: off}
}

func del(off, id int64) sink.Row {
	return sink.Row{Op: event.OpDelete, Table: "t", Columns: simpleCols, Key: []int{0},
		Values: []event.Value{event.IntValue(id), {}, {}}, Topic: "t", Offset: off}
}

// renumber sets consecutive offsets from first.
func renumber(rows []sink.Row, first int64) []sink.Row {
	for i := range rows {
		rows[i].Offset = first + int64(i)
	}
	return rows
}

func asRowError(t testing.TB, err error) *sink.RowError {
	t.Helper()
	var re *sink.RowError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v (%T), want a *sink.RowError", err, err)
	}
	if sink.Retryable(err) {
		t.Fatalf("RowError %v is marked retryable", err)
	}
	return re
}
