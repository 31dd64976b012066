package pg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m, testenv.NeedPostgres) }

type fixture struct {
	t    *testing.T
	conn *sql.DB
	s    *Sink
}

func newFixture(t *testing.T, mod func(*Config)) *fixture {
	p := testenv.SharedPostgres(t)
	db := p.CreateDatabase(t)
	f := &fixture{t: t}
	var err error
	if f.conn, err = p.Open(db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.conn.Close() })
	cfg := Config{DSN: p.DSN(db)}
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
				parts = append(parts, v.String)
			} else {
				parts = append(parts, "NULL")
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

func (f *fixture) apply(next int64, rows ...sink.Row) error {
	o := sink.Offset{Group: "g", Topic: "t", From: next - int64(len(rows)), Next: next}
	for i := range rows {
		rows[i].Topic, rows[i].Offset = "t", o.From+int64(i)
	}
	return f.s.Apply(context.Background(), rows, o)
}

// allTypes is the fixture table in PostgreSQL types that hold every value
// exactly: TIME's range needs interval, BIGINT UNSIGNED numeric(20).
const allTypes = `CREATE TABLE all_types (id bigint PRIMARY KEY, c_tinyint smallint, c_tinyint_u smallint,
	c_smallint smallint, c_smallint_u integer, c_mediumint integer, c_mediumint_u integer, c_int integer,
	c_int_u bigint, c_bigint bigint, c_bigint_u numeric(20,0), c_dec65 numeric(65,30), c_dec20 numeric(20,6),
	c_float real, c_double double precision, c_bit1 bit(1), c_bit64 bit(64), c_date date, c_dt0 timestamp(0),
	c_dt6 timestamp(6), c_ts6 timestamptz(6), c_time6 interval, c_year smallint, c_char varchar(10),
	c_varchar varchar(64), c_binary bytea, c_varbinary bytea, c_blob bytea, c_text text, c_json jsonb,
	c_enum text, c_set text)`

func TestAllTypesExact(t *testing.T) {
	var zero int
	f := newFixture(t, func(c *Config) { c.OnZeroDate = func() { zero++ } })
	f.exec(allTypes, "SET timezone = 'UTC'")
	cols := eventtest.EventColumns()
	var rows []sink.Row
	for r := range 4 {
		rows = append(rows, sink.Row{Op: event.OpInsert, Table: "all_types", Columns: cols, Key: []int{0}, Values: eventtest.Row(r)})
	}
	if err := f.apply(4, rows...); err != nil {
		t.Fatal(err)
	}
	if zero == 0 {
		t.Error("zero dates were not counted")
	}
	// Each value compared with its source text, per column kind.
	got := f.rows(`SELECT id, c_tinyint, c_tinyint_u, c_smallint, c_smallint_u, c_mediumint, c_mediumint_u, c_int, c_int_u,
		c_bigint, c_bigint_u, c_dec65, c_dec20, c_float::float8::text, c_double::text, c_bit1::text, c_bit64::text,
		c_date::text, to_char(c_dt0, 'YYYY-MM-DD HH24:MI:SS'), to_char(c_dt6, 'YYYY-MM-DD HH24:MI:SS.US'),
		to_char(c_ts6 AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), c_time6::text, c_year, c_char, c_varchar,
		encode(c_binary, 'hex'), encode(c_varbinary, 'hex'), encode(c_blob, 'hex'), c_text, c_json::text, c_enum, c_set
		FROM all_types ORDER BY id`)
	if len(got) != 4 {
		t.Fatalf("%d rows, want 4", len(got))
	}
	for r := range 4 {
		fields := strings.Split(got[r], "|")
		for i, c := range eventtest.Columns {
			want := expectText(c.Values[r], cols[i])
			if want == "?" {
				continue
			}
			if fields[i] != want {
				t.Errorf("row %d column %s: got %q, want %q", r, c.Name, fields[i], want)
			}
		}
	}
}

// expectText is how the query above prints a fixture value; "?" skips
// values whose text form differs by design (JSON normalisation, float
// spelling), checked separately.
func expectText(v event.Value, c event.Column) string {
	switch v.Kind {
	case event.Null:
		return "NULL"
	case event.Int, event.Year:
		return fmt.Sprint(v.I)
	case event.Uint:
		return fmt.Sprint(v.U)
	case event.Bit:
		w := 1
		if strings.Contains(c.Type, "64") {
			w = 64
		}
		s := fmt.Sprintf("%b", v.U)
		return strings.Repeat("0", w-len(s)) + s
	case event.Decimal, event.String, event.Enum:
		return v.S
	case event.Bytes:
		return fmt.Sprintf("%x", v.B)
	case event.Date:
		if isZeroDate(v.S) {
			return "NULL"
		}
		return v.S
	case event.DateTime, event.Timestamp:
		if isZeroDate(v.S) {
			return "NULL"
		}
		if !strings.Contains(v.S, ".") && strings.Contains(c.Type, "(6)") {
			return v.S + ".000000"
		}
		return v.S
	case event.Time:
		return strings.TrimSuffix(strings.TrimSuffix(v.S, ".000000"), ".0")
	case event.Set:
		return strings.Join(v.Set, ",")
	}
	return "?"
}

func TestFloatsAndJSONByMeaning(t *testing.T) {
	f := newFixture(t, nil)
	f.exec(allTypes)
	cols := eventtest.EventColumns()
	for r := range 2 {
		if err := f.apply(int64(r+1), sink.Row{Op: event.OpInsert, Table: "all_types", Columns: cols, Key: []int{0}, Values: eventtest.Row(r)}); err != nil {
			t.Fatal(err)
		}
	}
	for r := range 2 {
		row := eventtest.Row(r)
		var fl float32
		var db float64
		var js string
		id := row[0].U
		if err := f.conn.QueryRow("SELECT c_float, c_double, c_json::text FROM all_types WHERE id = $1", id).Scan(&fl, &db, &js); err != nil {
			t.Fatal(err)
		}
		if float64(fl) != row[idx("c_float")].F || db != row[idx("c_double")].F {
			t.Errorf("row %d: floats %v %v, want %v %v", r, fl, db, row[idx("c_float")].F, row[idx("c_double")].F)
		}
		var same bool
		if err := f.conn.QueryRow("SELECT $1::jsonb = $2::jsonb", js, string(row[idx("c_json")].B)).Scan(&same); err != nil || !same {
			t.Errorf("row %d: JSON %s, want %s (%v)", r, js, row[idx("c_json")].B, err)
		}
	}
}

func idx(name string) int {
	for i, c := range eventtest.Columns {
		if c.Name == name {
			return i
		}
	}
	panic(name)
}

var cols = []event.Column{{Name: "id", Kind: event.Int}, {Name: "v", Kind: event.String}}

func row(op event.Op, id int64, v string) sink.Row {
	return sink.Row{Op: op, Table: "t", Columns: cols, Key: []int{0}, Values: []event.Value{event.IntValue(id), event.StringValue(v)}}
}

func TestUpsertSemantics(t *testing.T) {
	f := newFixture(t, nil)
	f.exec("CREATE TABLE t (id bigint PRIMARY KEY, v varchar(10))", "INSERT INTO t VALUES (1, 'old'), (3, 'gone')")
	moved := row(event.OpUpdate, 20, "moved")
	moved.OldKey = []event.Value{event.IntValue(2)}
	batch := []sink.Row{
		row(event.OpInsert, 1, "new"), row(event.OpUpdate, 2, "upd"), row(event.OpDelete, 4, ""),
		row(event.OpDelete, 3, ""), moved, row(event.OpSnapshot, 5, "snap"), row(event.OpUpdate, 5, "snap2"),
	}
	for range 2 {
		if err := f.apply(7, slices.Clone(batch)...); err != nil {
			t.Fatal(err)
		}
		if err := f.s.SetOffsets(context.Background(), "g", "t", map[int32]int64{0: 0}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := f.rows("SELECT id, v FROM t ORDER BY id"), []string{"1|new", "5|snap2", "20|moved"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestOffsetsInTheSameTransaction(t *testing.T) {
	f := newFixture(t, nil)
	f.exec("CREATE TABLE t (id bigint PRIMARY KEY, v varchar(3))")
	if err := f.apply(2, row(event.OpInsert, 1, "a"), row(event.OpInsert, 2, "b")); err != nil {
		t.Fatal(err)
	}
	err := f.apply(5, row(event.OpInsert, 3, "c"), row(event.OpInsert, 4, "too long"), row(event.OpInsert, 5, "e"))
	var re *sink.RowError
	if !errors.As(err, &re) || sink.Retryable(err) || !strings.Contains(err.Error(), "too long") {
		t.Fatalf("err %v, want a RowError about the long value", err)
	}
	got, _ := f.s.Offsets(context.Background(), "g", "t")
	if got[0] != 2 || len(f.rows("SELECT id FROM t")) != 2 {
		t.Fatalf("stored offset %d; the failed batch must leave neither rows nor offset", got[0])
	}
}

func TestRowErrors(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.ZeroDates = "error" })
	f.exec("CREATE TABLE r (id bigint PRIMARY KEY, n bigint, tm time, d date, b boolean, v varchar(5))")
	mk := func(col string, v event.Value) sink.Row {
		return sink.Row{Op: event.OpInsert, Table: "r", Columns: []event.Column{{Name: "id"}, {Name: col}}, Key: []int{0},
			Values: []event.Value{event.IntValue(1), v}}
	}
	tests := []struct {
		name, want string
		r          sink.Row
	}{
		{"uint64 into bigint", "out of range", mk("n", event.UintValue(18446744073709551615))},
		{"TIME over 24h into time", "out of range", mk("tm", event.TimeValue("100:00:00"))},
		{"zero date", "zero date", mk("d", event.DateValue("0000-00-00"))},
		{"2 into boolean", "only 0 and 1", mk("b", event.IntValue(2))},
		{"unknown column", "has no column", mk("nope", event.IntValue(1))},
		{"missing table", "does not exist", sink.Row{Op: event.OpInsert, Table: "nope", Columns: cols, Key: []int{0}, Values: []event.Value{event.IntValue(1), event.StringValue("x")}}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.apply(int64(i+1), tt.r)
			var re *sink.RowError
			if !errors.As(err, &re) || !strings.Contains(strings.ToLower(err.Error()), tt.want) {
				t.Fatalf("err %v; want a RowError containing %q", err, tt.want)
			}
		})
	}
}

func TestStaleAndSplit(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxParams = 100 })
	f.exec("CREATE TABLE t (id bigint PRIMARY KEY, v varchar(10))")
	var rows []sink.Row
	for i := range 1000 {
		rows = append(rows, row(event.OpInsert, int64(i), "x"))
	}
	if err := f.apply(1000, rows...); err != nil {
		t.Fatal(err)
	}
	if n := len(f.rows("SELECT id FROM t")); n != 1000 {
		t.Fatalf("%d rows, want 1000", n)
	}
	err := f.s.Apply(context.Background(), []sink.Row{row(event.OpInsert, 1, "old")}, sink.Offset{Group: "g", Topic: "t", From: 5, Next: 6})
	if !errors.Is(err, sink.ErrStale) {
		t.Fatalf("err %v, want ErrStale", err)
	}
}

func TestClassify(t *testing.T) {
	rows := []*sink.Row{{Offset: 7}}
	for _, tt := range []struct {
		code      string
		retryable bool
		row       bool
	}{{"40001", true, false}, {"40P01", true, false}, {"57P01", true, false}, {"08006", true, false}, {"25006", true, false},
		{"22003", false, true}, {"23505", false, true}, {"42703", false, true}, {"42P10", false, true}} {
		err := classify(fmt.Errorf("x: %w", &pgconn.PgError{Code: tt.code}), rows)
		var re *sink.RowError
		if sink.Retryable(err) != tt.retryable || errors.As(err, &re) != tt.row {
			t.Errorf("%s: retryable %v, row error %v", tt.code, sink.Retryable(err), errors.As(err, &re))
		}
	}
}
