package verify

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/apply/internal/sink/postgres"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m, testenv.NeedMariaDB, testenv.NeedPostgres) }

func exec(t *testing.T, db *sql.DB, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func openMaria(t *testing.T, m *testenv.MariaDB, db string) *sql.DB {
	t.Helper()
	c, err := m.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	c.SetMaxOpenConns(1) // session settings below stay on the one connection
	t.Cleanup(func() { c.Close() })
	exec(t, c, "SET SESSION sql_mode = ''", "SET SESSION time_zone = '+00:00'")
	return c
}

func run(t *testing.T, sp Spec, o Options) *Result {
	t.Helper()
	src, dst, err := Open(t.Context(), sp)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	defer dst.Close()
	res, err := Run(t.Context(), src, dst, o)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	res.WriteText(&b)
	t.Logf("verify:\n%s", b.String())
	return res
}

func keys(ds []Diff) []string {
	var out []string
	for _, d := range ds {
		s := d.Key
		if len(d.Columns) > 0 {
			s += " [" + strings.Join(d.Columns, ",") + "]"
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func wantDiffs(t *testing.T, r *Result, missing, extra, changed []string) {
	t.Helper()
	if got := keys(r.Missing); !slices.Equal(got, missing) {
		t.Errorf("missing: got %q, want %q", got, missing)
	}
	if got := keys(r.Extra); !slices.Equal(got, extra) {
		t.Errorf("extra: got %q, want %q", got, extra)
	}
	if got := keys(r.Changed); !slices.Equal(got, changed) {
		t.Errorf("changed: got %q, want %q", got, changed)
	}
	if r.MissingCount != int64(len(missing)) || r.ExtraCount != int64(len(extra)) || r.ChangedCount != int64(len(changed)) {
		t.Errorf("counts %d/%d/%d, want %d/%d/%d", r.MissingCount, r.ExtraCount, r.ChangedCount, len(missing), len(extra), len(changed))
	}
}

// TestMariaDBCompositeKey compares two MariaDB tables with a composite key
// (int, string) across many small chunks: equal first, then with rows
// missing, extra and changed, some on chunk boundaries and one past the
// source's last key.
func TestMariaDBCompositeKey(t *testing.T) {
	m := testenv.SharedMariaDB(t)
	sdb, tdb := m.CreateDatabase(t), m.CreateDatabase(t)
	s, d := openMaria(t, m, sdb), openMaria(t, m, tdb)
	ddl := "CREATE TABLE items (g INT NOT NULL, name VARCHAR(20) NOT NULL, n BIGINT UNSIGNED, price DECIMAL(10,2), " +
		"at DATETIME(6), doc JSON, PRIMARY KEY (g, name))"
	exec(t, s, ddl)
	exec(t, d, ddl)
	var vals []string
	for g := range 10 {
		for i := range 25 {
			vals = append(vals, fmt.Sprintf("(%d, 'k%02d', %d, %d.50, '2024-01-02 03:04:05.%06d', '{\"a\": %d}')", g, i, 18446744073709551615-uint64(i), i, i, i))
		}
	}
	ins := "INSERT INTO items VALUES " + strings.Join(vals, ", ")
	exec(t, s, ins)
	exec(t, d, ins)
	sp := Spec{Source: Endpoint{Kind: "mysql", DSN: m.DSN(sdb), Table: "items"}, Target: Endpoint{Kind: "mariadb", DSN: m.DSN(tdb), Table: "items"}}

	for _, chunk := range []int{7, 25, 250, 1000} {
		r := run(t, sp, Options{Chunk: chunk})
		if !r.Equal() || r.SourceRows != 250 || r.TargetRows != 250 {
			t.Fatalf("chunk %d: equal tables reported different (%d/%d rows)", chunk, r.SourceRows, r.TargetRows)
		}
	}

	exec(t, d,
		"DELETE FROM items WHERE g = 0 AND name = 'k00'",             // first row
		"DELETE FROM items WHERE g = 0 AND name = 'k24'",             // last of chunk 1 with chunk 25
		"DELETE FROM items WHERE g = 5 AND name = 'k10'",             // middle
		"INSERT INTO items (g, name) VALUES (3, 'k07x'), (99, 'zz')", // inside, and past the end
		"UPDATE items SET price = 1.51 WHERE g = 1 AND name = 'k01'",
		"UPDATE items SET doc = '{\"a\": 3}', at = '2024-01-02 03:04:05.000003' WHERE g = 2 AND name = 'k02'",
		"UPDATE items SET doc = '{ \"a\" : 5.0 }' WHERE g = 4 AND name = 'k05'", // same JSON, other text
	)
	for _, chunk := range []int{25, 7, 1000} {
		r := run(t, sp, Options{Chunk: chunk, MaxDiffs: 10})
		wantDiffs(t, r,
			[]string{`(g=0, name="k00")`, `(g=0, name="k24")`, `(g=5, name="k10")`},
			[]string{`(g=3, name="k07x")`, `(g=99, name="zz")`},
			[]string{`(g=1, name="k01") [price]`, `(g=2, name="k02") [at,doc]`})
		if r.Equal() || len(r.Ranges) == 0 {
			t.Errorf("chunk %d: no differing ranges listed", chunk)
		}
	}
	// The rate limit holds: 500 rows at 2000 rows/s take about 0.25 s.
	r := run(t, sp, Options{Chunk: 50, Rate: 2000})
	if r.SourceRows+r.TargetRows < 490 {
		t.Errorf("read %d rows", r.SourceRows+r.TargetRows)
	}
}

// pgAllTypes is the all-types fixture in PostgreSQL types, as in the e2e
// test (jsonb, enum as text, TIME as interval).
const pgAllTypes = `CREATE TABLE all_types (id bigint PRIMARY KEY, c_tinyint smallint, c_tinyint_u smallint,
	c_smallint smallint, c_smallint_u integer, c_mediumint integer, c_mediumint_u integer, c_int integer,
	c_int_u bigint, c_bigint bigint, c_bigint_u numeric(20,0), c_dec65 numeric(65,30), c_dec20 numeric(20,6),
	c_float real, c_double double precision, c_bit1 bit(1), c_bit64 bit(64), c_date date, c_dt0 timestamp(0),
	c_dt6 timestamp(6), c_ts6 timestamptz(6), c_time6 interval, c_year smallint, c_char char(10),
	c_varchar varchar(64), c_binary bytea, c_varbinary bytea, c_blob bytea, c_text text, c_json jsonb,
	c_enum text, c_set text)`

// TestMariaDBToPostgresAllTypes fills a MariaDB table with the all-types
// fixture and a PostgreSQL table through apply's PostgreSQL sink, so the
// target holds what apply writes; verify must find them equal (every type
// normalised), then find injected differences.
func TestMariaDBToPostgresAllTypes(t *testing.T) {
	m, p := testenv.SharedMariaDB(t), testenv.SharedPostgres(t)
	sdb, pdb := m.CreateDatabase(t), p.CreateDatabase(t)
	s := openMaria(t, m, sdb)
	exec(t, s, eventtest.CreateTableSQL(sdb, eventtest.Table))
	for r := range 4 {
		exec(t, s, eventtest.InsertSQL(sdb, eventtest.Table, r))
	}
	pc, err := p.Open(pdb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	exec(t, pc, pgAllTypes)
	sk, err := postgres.New(t.Context(), postgres.Config{DSN: p.DSN(pdb), ZeroDates: "null"})
	if err != nil {
		t.Fatal(err)
	}
	defer sk.Close()
	var rows []sink.Row
	for r := range 4 {
		rows = append(rows, sink.Row{Op: event.OpInsert, Table: "all_types", Columns: eventtest.EventColumns(), Key: []int{0},
			Values: eventtest.Row(r), Topic: "t", Offset: int64(r)})
	}
	if err := sk.Apply(t.Context(), rows, sink.Offset{Group: "g", Topic: "t", From: 0, Next: 4}); err != nil {
		t.Fatal(err)
	}
	sp := Spec{Source: Endpoint{Kind: "mysql", DSN: m.DSN(sdb), Table: eventtest.Table},
		Target: Endpoint{Kind: "postgres", DSN: p.DSN(pdb), Table: "all_types"}}
	for _, chunk := range []int{1, 3, 1000} {
		if r := run(t, sp, Options{Chunk: chunk}); !r.Equal() || r.SourceRows != 4 || r.TargetRows != 4 {
			t.Fatalf("chunk %d: the table apply wrote is reported different", chunk)
		}
	}
	// Without the zero-date policy the zero dates of row 4 differ.
	sp.ZeroDates = "keep"
	r := run(t, sp, Options{})
	wantDiffs(t, r, nil, nil, []string{"id=4 [c_date,c_dt0,c_dt6,c_ts6]"})
	sp.ZeroDates = ""

	exec(t, pc,
		`UPDATE all_types SET c_json = '{"b":{"d":true,"c":null},"a":[1,2.50,"ü😀"]}' WHERE id = 2`, // same meaning
		"UPDATE all_types SET c_dec20 = 99999999999999.999998, c_ts6 = c_ts6 + interval '1 microsecond' WHERE id = 2",
		"UPDATE all_types SET c_float = -1.1754942e-38 WHERE id = 1",
		"DELETE FROM all_types WHERE id = 3",
		"INSERT INTO all_types (id, c_varchar) VALUES (0, 'before'), (9, 'after')")
	for _, chunk := range []int{1, 2, 1000} {
		r := run(t, sp, Options{Chunk: chunk})
		wantDiffs(t, r, []string{"id=3"}, []string{"id=0", "id=9"}, []string{"id=1 [c_float]", "id=2 [c_dec20,c_ts6]"})
	}
}

// TestMapping resolves a rule with a rename, an exclusion and a static
// column, and verify compares through it.
func TestMapping(t *testing.T) {
	m := testenv.SharedMariaDB(t)
	sdb, tdb := m.CreateDatabase(t), m.CreateDatabase(t)
	s, d := openMaria(t, m, sdb), openMaria(t, m, tdb)
	exec(t, s, "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(20), secret VARCHAR(20))",
		"INSERT INTO users VALUES (1, 'a', 'x'), (2, 'b', 'y')")
	exec(t, d, "CREATE TABLE people (id INT PRIMARY KEY, full_name VARCHAR(20), region VARCHAR(5))",
		"INSERT INTO people VALUES (1, 'a', 'eu'), (2, 'b', 'eu')")
	mp := Mapping{Exclude: []string{"secret"}, Rename: map[string]string{"name": "full_name"}, Static: map[string]string{"region": "eu"}}
	sp := Spec{Source: Endpoint{Kind: "mysql", DSN: m.DSN(sdb), Table: "users"}, Target: Endpoint{Kind: "mysql", DSN: m.DSN(tdb), Table: "people"}, Mapping: mp}
	if r := run(t, sp, Options{}); !r.Equal() {
		t.Fatal("mapped tables reported different")
	}
	exec(t, d, "UPDATE people SET region = 'us' WHERE id = 2")
	wantDiffs(t, run(t, sp, Options{}), nil, nil, []string{"id=2 [region]"})
	sp.Mapping.Exclude = []string{"id"}
	if src, dst, err := Open(context.Background(), sp); err == nil {
		src.Close()
		dst.Close()
		t.Error("excluding a key column should fail")
	}
}
