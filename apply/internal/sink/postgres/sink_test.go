package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

type fixture struct {
	t    testing.TB
	ctx  context.Context
	conn *pgx.Conn
	s    *Sink
	cfg  Config
}

// newFixture gives a fresh database, a sink on it and a separate
// connection to look at it with.
func newFixture(t testing.TB, mod func(*Config)) *fixture {
	t.Helper()
	pg := testenv.SharedPostgres(t)
	db := pg.CreateDatabase(t)
	f := &fixture{t: t, ctx: t.Context(), cfg: Config{DSN: pg.DSN(db)}}
	var err error
	if f.conn, err = pg.Connect(f.ctx, db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.conn.Close(context.Background()) })
	f.exec("SET timezone = 'UTC'")
	if mod != nil {
		mod(&f.cfg)
	}
	if f.s, err = New(f.ctx, f.cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.s.Close() })
	return f
}

func (f *fixture) exec(qs ...string) {
	f.t.Helper()
	for _, q := range qs {
		if _, err := f.conn.Exec(f.ctx, q); err != nil {
			f.t.Fatalf("%s: %v", q, err)
		}
	}
}

// rows returns the result of q as text, one string per row with columns
// joined by "|", NULL as "∅".
func (f *fixture) rows(q string) []string {
	f.t.Helper()
	rs, err := f.conn.Query(f.ctx, q, pgx.QueryResultFormats{pgx.TextFormatCode})
	if err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var cells []string
		for _, v := range rs.RawValues() {
			if v == nil {
				cells = append(cells, "∅")
			} else {
				cells = append(cells, string(v))
			}
		}
		out = append(out, strings.Join(cells, "|"))
	}
	if err := rs.Err(); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return out
}

func (f *fixture) want(q string, want ...string) {
	f.t.Helper()
	got := f.rows(q)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		f.t.Errorf("%s:\ngot  %q\nwant %q", q, got, want)
	}
}

// apply applies rows as the partition's next batch: From is the first
// row's offset, Next one past the last.
func (f *fixture) apply(rows ...sink.Row) error {
	f.t.Helper()
	if len(rows) == 0 {
		f.t.Fatal("no rows")
	}
	off := sink.Offset{Group: "g", Topic: rows[0].Topic, Partition: rows[0].Partition,
		From: rows[0].Offset, Next: rows[len(rows)-1].Offset + 1}
	return f.s.Apply(f.ctx, rows, off)
}

func (f *fixture) mustApply(rows ...sink.Row) {
	f.t.Helper()
	if err := f.apply(rows...); err != nil {
		f.t.Fatal(err)
	}
}

// methods are the ways to write a part; tests that exercise writing run
// with each.
var methods = []struct {
	name string
	m    method
}{{"arrays", methodArrays}, {"values", methodValues}, {"copy", methodCopy}}

// eachMethod runs test once per method, on a fresh fixture.
func eachMethod(t *testing.T, mod func(*Config), test func(t *testing.T, f *fixture)) {
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			f := newFixture(t, mod)
			f.s.method = m.m
			test(t, f)
		})
	}
}

// table describes a test table's source columns; the first is the key.
type srcTable struct {
	name string
	cols []event.Column
	key  []int
}

func newTable(name string, types ...string) *srcTable {
	t := &srcTable{name: name, key: []int{0}}
	for i := 0; i < len(types); i += 2 {
		t.cols = append(t.cols, event.Column{Name: types[i], Type: types[i+1], Kind: event.KindOf(types[i+1])})
	}
	return t
}

func (t *srcTable) row(op event.Op, off int64, vals ...event.Value) sink.Row {
	return sink.Row{Op: op, Table: t.name, Columns: t.cols, Key: t.key, Values: vals,
		Topic: "src." + t.name, Partition: 0, Offset: off}
}

var (
	i64  = event.IntValue
	u64  = event.UintValue
	str  = event.StringValue
	null = event.NullValue()
)

// allTypesDDL is the all-types fixture as PostgreSQL columns that hold
// every value exactly.
const allTypesDDL = `CREATE TYPE size AS ENUM ('', 'small', 'large');
CREATE TABLE all_types (
	id bigint PRIMARY KEY,
	c_tinyint smallint, c_tinyint_u smallint, c_smallint smallint, c_smallint_u integer,
	c_mediumint integer, c_mediumint_u integer, c_int integer, c_int_u bigint,
	c_bigint bigint, c_bigint_u numeric(20,0), c_dec65 numeric(65,30), c_dec20 numeric(20,6),
	c_float real, c_double double precision, c_bit1 bit(1), c_bit64 bit(64),
	c_date date, c_dt0 timestamp(0), c_dt6 timestamp(6), c_ts6 timestamptz(6), c_time6 interval,
	c_year smallint, c_char char(10), c_varchar varchar(64),
	c_binary bytea, c_varbinary bytea, c_blob bytea, c_text text, c_json json,
	c_enum size, c_set text)`

// allTypesWant is every fixture row as PostgreSQL prints it back: the
// same values in PostgreSQL's canonical text (trailing fraction zeros and
// char padding are not printed; zero dates became NULL).
var allTypesWant = []string{
	"1|-128|0|-32768|0|-8388608|0|-2147483648|0|-9223372036854775808|0|" +
		"-99999999999999999999999999999999999.999999999999999999999999999999|-0.000001|-1.1754944e-38|-1.7976931348623157e+308|0|" +
		strings.Repeat("0", 64) + "|1000-01-01|1000-01-01 00:00:00|1000-01-01 00:00:00|1970-01-01 00:00:01+00|-838:59:59|1901||a|" +
		`\x00000000|\x|\x00||{}||`,
	"2|127|255|32767|65535|8388607|16777215|2147483647|4294967295|9223372036854775807|18446744073709551615|" +
		"99999999999999999999999999999999999.999999999999999999999999999999|99999999999999.999999|3.4028235e+38|2.2250738585072014e-308|1|" +
		strings.Repeat("1", 64) + "|9999-12-31|9999-12-31 23:59:59|9999-12-31 23:59:59.999999|2038-01-19 03:14:07.999999+00|838:59:59|2155|" +
		"emoji 😀|ünïcödé 😀🎉 \"q\" \\ end|" + `\x00ff0001|\x00ff00|\x0000626c6f6200|` + "line1\nline2\ttab 😀|" +
		`{"a":[1,2.5,"ü😀"],"b":{"c":null,"d":true}}|large|a,c`,
	"3" + strings.Repeat("|∅", 31),
	"4" + strings.Repeat("|∅", 31),
}

func allTypesSelect() string {
	var cols []string
	for _, c := range eventtest.Columns {
		cols = append(cols, c.Name+"::text")
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM all_types ORDER BY id"
}

func allTypesRows(op event.Op, first int64) []sink.Row {
	cols := eventtest.EventColumns()
	var rows []sink.Row
	for r := eventtest.RowMin; r <= eventtest.RowZero; r++ {
		rows = append(rows, sink.Row{Op: op, Table: "all_types", Columns: cols, Key: []int{0},
			Values: eventtest.Row(r), Topic: "shop.all_types", Offset: first + int64(r)})
	}
	return rows
}

func TestAllTypesExact(t *testing.T) {
	var zeros int
	eachMethod(t, func(c *Config) { zeros = 0; c.OnZeroDate = func() { zeros++ } }, func(t *testing.T, f *fixture) {
		testAllTypes(t, f, &zeros)
	})
}

func testAllTypes(t *testing.T, f *fixture, zeros *int) {
	f.exec(allTypesDDL)
	parts, _, err := f.s.plan(f.ctx, allTypesRows(event.OpInsert, 0))
	if err != nil || len(parts) != 1 || !parts[0].arrayable() {
		t.Fatalf("the all-types rows should be one statement the array method can write: %d parts, %v", len(parts), err)
	}
	f.mustApply(allTypesRows(event.OpInsert, 0)...)
	f.want(allTypesSelect(), allTypesWant...)
	if *zeros != 4 {
		t.Errorf("zero dates counted: %d, want 4 (date, datetime, datetime(6), timestamp of row 4)", *zeros)
	}
	// The same rows again as a replay (G4): the stored offset is rewound,
	// as apply replay does, and the upserts leave the same state.
	if err := f.s.SetOffsets(f.ctx, "g", "shop.all_types", map[int32]int64{0: 0}); err != nil {
		t.Fatal(err)
	}
	f.mustApply(allTypesRows(event.OpSnapshot, 0)...)
	f.want(allTypesSelect(), allTypesWant...)
	f.want("SELECT group_id, topic, partition_id, next_offset FROM sluice_offsets", "g|shop.all_types|0|4")
}

func TestZeroDatesError(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.ZeroDates = "error" })
	f.exec(allTypesDDL)
	err := f.apply(allTypesRows(event.OpInsert, 10)...)
	re := rowError(t, err)
	if re.Row.Offset != 13 || re.Column != "c_date" || re.Value != "0000-00-00" {
		t.Errorf("row error names offset %d, column %q, value %q; want 13, c_date, 0000-00-00: %v", re.Row.Offset, re.Column, re.Value, err)
	}
	f.want("SELECT count(*) FROM all_types", "0")
}

func rowError(t *testing.T, err error) *sink.RowError {
	t.Helper()
	var re *sink.RowError
	if !errors.As(err, &re) {
		t.Fatalf("want a *sink.RowError, got %T: %v", err, err)
	}
	if sink.Retryable(err) {
		t.Errorf("a row error must not be retryable: %v", err)
	}
	return re
}

func TestUpsertSemantics(t *testing.T) {
	eachMethod(t, nil, func(t *testing.T, f *fixture) {
		f.exec("CREATE TABLE items (id integer PRIMARY KEY, name text, n integer)")
		tb := newTable("items", "id", "int(11)", "name", "varchar(20)", "n", "int(11)")
		q := "SELECT id, name, n FROM items ORDER BY id"

		f.mustApply(tb.row(event.OpInsert, 0, i64(1), str("a"), i64(10)))
		// Insert of an existing row updates it; update of a missing row
		// inserts the after-image; delete of a missing row succeeds.
		f.mustApply(
			tb.row(event.OpInsert, 1, i64(1), str("b"), i64(11)),
			tb.row(event.OpUpdate, 2, i64(2), str(""), null),
			tb.row(event.OpDelete, 3, i64(3), null, null),
		)
		f.want(q, "1|b|11", "2||∅")

		// A key change deletes the old key and upserts the new one; an
		// absent value leaves the column as it is.
		pk := tb.row(event.OpUpdate, 4, i64(5), str("moved"), event.Value{})
		pk.OldKey = []event.Value{i64(1)}
		f.mustApply(pk)
		f.want(q, "2||∅", "5|moved|∅")
		f.mustApply(tb.row(event.OpUpdate, 5, i64(5), event.Value{}, i64(7)), tb.row(event.OpUpdate, 6, i64(2), str("x"), event.Value{}))
		f.want(q, "2|x|∅", "5|moved|7")

		// The same key several times in a batch ends at its last change.
		f.mustApply(
			tb.row(event.OpInsert, 7, i64(9), str("1"), i64(1)),
			tb.row(event.OpDelete, 8, i64(9), null, null),
			tb.row(event.OpInsert, 9, i64(9), str("3"), i64(3)),
			tb.row(event.OpUpdate, 10, i64(9), str("4"), i64(4)),
			tb.row(event.OpDelete, 11, i64(2), null, null),
		)
		f.want(q, "5|moved|7", "9|4|4")

		// A batch delivered twice (a rewound offset) leaves the same state.
		batch := []sink.Row{tb.row(event.OpInsert, 12, i64(20), str("t"), i64(1)), tb.row(event.OpDelete, 13, i64(5), null, null)}
		f.mustApply(batch...)
		if err := f.s.SetOffsets(f.ctx, "g", "src.items", map[int32]int64{0: 12}); err != nil {
			t.Fatal(err)
		}
		f.mustApply(batch...)
		f.want(q, "9|4|4", "20|t|1")
	})
}

func TestCompositeKeyAndKeyOnlyTable(t *testing.T) {
	eachMethod(t, nil, func(t *testing.T, f *fixture) {
		f.exec("CREATE TABLE pairs (a bigint, b text, PRIMARY KEY (b, a))", "CREATE TABLE tags (k text PRIMARY KEY)")
		pairs := newTable("pairs", "a", "bigint(20)", "b", "varchar(5)")
		pairs.key = []int{0, 1}
		tags := newTable("tags", "k", "varchar(5)")
		f.mustApply(
			pairs.row(event.OpInsert, 0, i64(1), str("x")),
			pairs.row(event.OpInsert, 1, i64(1), str("y")),
			pairs.row(event.OpInsert, 2, i64(1), str("x")), // all-key row again: DO NOTHING
			tags.row(event.OpInsert, 3, str("t1")),
			tags.row(event.OpInsert, 4, str("t1")),
			pairs.row(event.OpDelete, 5, i64(1), str("y")),
			pairs.row(event.OpDelete, 6, i64(2), str("y")),
		)
		f.want("SELECT a, b FROM pairs ORDER BY b", "1|x")
		f.want("SELECT k FROM tags", "t1")
	})
}

// A row the target refuses rolls back the whole batch, offset included,
// and the error names the row that broke, not the statement's first.
func TestFailedRowRollsBackRowsAndOffset(t *testing.T) {
	eachMethod(t, nil, func(t *testing.T, f *fixture) {
		f.exec("CREATE TABLE items (id integer PRIMARY KEY, n integer CHECK (n > 0))")
		tb := newTable("items", "id", "int(11)", "n", "int(11)")
		f.mustApply(tb.row(event.OpInsert, 0, i64(1), i64(1)))

		var batch []sink.Row
		for i := int64(1); i <= 20; i++ {
			n := i64(i)
			if i == 13 {
				n = i64(-1)
			}
			batch = append(batch, tb.row(event.OpInsert, i, i64(100+i), n))
		}
		err := f.apply(batch...)
		re := rowError(t, err)
		if re.Row.Offset != 13 || !strings.Contains(err.Error(), "23514") {
			t.Errorf("error names offset %d, want 13 (the CHECK violation): %v", re.Row.Offset, err)
		}
		f.want("SELECT count(*) FROM items", "1")
		got, err := f.s.Offsets(f.ctx, "g", "src.items")
		if err != nil || got[0] != 1 {
			t.Errorf("stored offset after the failed batch: %v %v, want 1", got, err)
		}
	})
}

// A batch that another consumer already applied past is refused whole.
func TestStaleBatch(t *testing.T) {
	f := newFixture(t, nil)
	f.exec("CREATE TABLE items (id integer PRIMARY KEY, n integer)")
	tb := newTable("items", "id", "int(11)", "n", "int(11)")
	f.mustApply(tb.row(event.OpInsert, 0, i64(1), i64(1)), tb.row(event.OpInsert, 9, i64(1), i64(9)))
	err := f.apply(tb.row(event.OpInsert, 5, i64(1), i64(5)), tb.row(event.OpInsert, 6, i64(2), i64(6)))
	if !errors.Is(err, sink.ErrStale) {
		t.Fatalf("want ErrStale, got %v", err)
	}
	f.want("SELECT id, n FROM items", "1|9")
	got, _ := f.s.Offsets(f.ctx, "g", "src.items")
	if got[0] != 10 {
		t.Errorf("stored offset %d, want 10", got[0])
	}
	// A gap (the stored offset behind the batch) is not stale.
	f.mustApply(tb.row(event.OpInsert, 15, i64(2), i64(15)))
}

func TestOffsets(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.s.SetOffsets(f.ctx, "g", "t", map[int32]int64{0: 5, 1: 7, 2: 9}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetOffsets(f.ctx, "g", "t", map[int32]int64{1: -1, 2: 3}); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.Offsets(f.ctx, "g", "t")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "map[0:5 2:3]" {
		t.Errorf("offsets %v, want map[0:5 2:3]", got)
	}
	// A batch of no rows (all filtered out) still moves the offset.
	if err := f.s.Apply(f.ctx, nil, sink.Offset{Group: "g", Topic: "t", Partition: 2, From: 3, Next: 8}); err != nil {
		t.Fatal(err)
	}
	if got, _ = f.s.Offsets(f.ctx, "g", "t"); fmt.Sprint(got) != "map[0:5 2:8]" {
		t.Errorf("offsets after an empty batch %v, want map[0:5 2:8]", got)
	}
	if other, _ := f.s.Offsets(f.ctx, "other", "t"); len(other) != 0 {
		t.Errorf("another group's offsets: %v", other)
	}
	// New on an existing database keeps the table and its rows.
	s2, err := New(f.ctx, f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if again, _ := s2.Offsets(f.ctx, "g", "t"); fmt.Sprint(again) != "map[0:5 2:8]" {
		t.Errorf("offsets through a second sink: %v", again)
	}
}

// A column added to the target after the table was cached is found by
// one reload.
func TestCatalogReload(t *testing.T) {
	f := newFixture(t, nil)
	f.exec("CREATE TABLE items (id integer PRIMARY KEY, n integer)")
	tb := newTable("items", "id", "int(11)", "n", "int(11)")
	f.mustApply(tb.row(event.OpInsert, 0, i64(1), i64(1)))
	f.exec("ALTER TABLE items ADD COLUMN note text")
	wide := newTable("items", "id", "int(11)", "n", "int(11)", "note", "text")
	f.mustApply(wide.row(event.OpInsert, 1, i64(2), i64(2), str("new")))
	f.want("SELECT id, n, note FROM items ORDER BY id", "1|1|∅", "2|2|new")
}

// MaxParams splits a run into several statements that still write every
// row.
func TestMaxParamsSplits(t *testing.T) {
	eachMethod(t, func(c *Config) { c.MaxParams = 10 }, func(t *testing.T, f *fixture) {
		f.exec("CREATE TABLE items (id integer, k text, n integer, PRIMARY KEY (id, k))")
		tb := newTable("items", "id", "int(11)", "k", "varchar(3)", "n", "int(11)")
		tb.key = []int{0, 1}
		var ups, dels []sink.Row
		for i := range int64(50) {
			ups = append(ups, tb.row(event.OpInsert, i, i64(i), str("k"), i64(i)))
			if i%2 == 0 {
				dels = append(dels, tb.row(event.OpDelete, 50+i/2, i64(i), str("k"), null))
			}
		}
		parts, _, err := f.s.plan(f.ctx, ups)
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) != 17 { // 3 rows of 3 values per statement
			t.Errorf("%d statements for 50 rows of 3 values with MaxParams 10, want 17", len(parts))
		}
		f.mustApply(ups...)
		f.want("SELECT count(*), sum(n) FROM items", "50|1225")
		f.mustApply(dels...)
		f.want("SELECT count(*), sum(n) FROM items", "25|625")
	})
}

// Source types into PostgreSQL types other than their twins: each value
// arrives exactly, or (TestRowErrors) fails.
func TestTargetTypeVariants(t *testing.T) {
	eachMethod(t, nil, func(t *testing.T, f *fixture) {
		f.exec(`CREATE TYPE size AS ENUM ('small', 'large')`, `CREATE TABLE v (id integer PRIMARY KEY,
		b boolean, jb jsonb, js json, arr text[], tm time(6), tz timetz, vb varbit, vb3 varbit(3),
		dtz timestamptz, dts timestamp, d date, ft text, n numeric, i8 bigint, f8 float8, e size,
		y integer, by bytea, big numeric(20,0), iv interval(2), setj jsonb, dec text)`)
		tb := newTable("v", "id", "int(11)",
			"b", "tinyint(1)", "jb", "json", "js", "set('a','b c')", "arr", "set('a','b c')", "tm", "time(6)", "tz", "time",
			"vb", "bit(5)", "vb3", "bit(8)", "dtz", "datetime(1)", "dts", "timestamp", "d", "datetime", "ft", "float",
			"n", "bigint(20) unsigned", "i8", "bit(64)", "f8", "float", "e", "varchar(10)", "y", "year(4)", "by", "varchar(10)",
			"big", "bigint(20) unsigned", "iv", "time(2)", "setj", "set('a','b c')", "dec", "decimal(10,3)")
		set := event.SetValue([]string{"a", "b c"})
		f.mustApply(
			tb.row(event.OpInsert, 0, i64(1),
				i64(1), event.JSONValue([]byte(`{"b":1,"a":[1,2]}`)), set, set, event.TimeValue("23:59:59.999999"), event.TimeValue("12:00:00"),
				event.BitValue(3), event.BitValue(5), event.DateTimeValue("2020-01-02 03:04:05.5"), event.TimestampValue("2038-01-19 03:14:07"),
				event.DateTimeValue("2020-01-02 00:00:00"), event.FloatValue(float64(float32(0.1))), u64(math.MaxUint64), event.BitValue(5),
				event.FloatValue(float64(float32(0.1))), str("small"), event.YearValue(2024), str("héllo"), u64(math.MaxUint64),
				event.TimeValue("-838:59:59.50"), event.SetValue([]string{}), event.DecimalValue("-0.500")),
			tb.row(event.OpInsert, 1, i64(2), i64(0), event.JSONValue([]byte(`[]`)), event.SetValue([]string{}), event.SetValue([]string{}),
				event.TimeValue("24:00:00"), null, event.BitValue(0), null, null, null, null, str(""), null, null, null, null, null,
				event.BytesValue(nil), null, null, null, null),
		)
		f.want("SELECT b, jb, js, arr, tm, tz, vb, vb3, dtz, dts, d, ft, n, i8, f8, e, y, by, big, iv, setj, dec FROM v ORDER BY id",
			`t|{"a": [1, 2], "b": 1}|["a","b c"]|{a,"b c"}|23:59:59.999999|12:00:00+00|00011|101|2020-01-02 03:04:05.5+00|2038-01-19 03:14:07|2020-01-02|`+
				`0.1|18446744073709551615|5|0.10000000149011612|small|2024|\x68c3a96c6c6f|18446744073709551615|-838:59:59.5|[]|-0.500`,
			`f|[]|[]|{}|24:00:00|∅|00000|∅|∅|∅|∅||∅|∅|∅|∅|∅|\x|∅|∅|∅|∅`)
	})
}
