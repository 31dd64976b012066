package mysql

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
)

// allTypesRows are the fixture's rows as a batch for table, offsets 0..3.
func allTypesRows(db, table string) []sink.Row {
	cols := eventtest.EventColumns()
	rows := make([]sink.Row, 4)
	for r := range rows {
		rows[r] = sink.Row{Op: event.OpInsert, Schema: db, Table: table, Columns: cols, Key: []int{0},
			Values: eventtest.Row(r), Topic: "t", Offset: int64(r)}
	}
	return rows
}

// exactDump selects every column of the all-types table in a form that
// shows any difference: bytes as hex, floats widened to DOUBLE (whose
// text is exact), the rest as the server's text.
func exactDump(f *fixture, table string) []string {
	var exprs []string
	for _, c := range eventtest.Columns {
		q := quoteIdent(c.Name)
		switch event.KindOf(c.Type) {
		case event.Float:
			exprs = append(exprs, "CAST(CAST("+q+" AS DOUBLE) AS CHAR)")
		case event.String, event.Bytes, event.JSON, event.Bit:
			exprs = append(exprs, "HEX("+q+")")
		default:
			exprs = append(exprs, "CAST("+q+" AS CHAR)")
		}
	}
	return f.dump("SELECT " + strings.Join(exprs, ", ") + " FROM " + quoteIdent(table) + " ORDER BY id")
}

func checksum(f *fixture, table string) string {
	f.t.Helper()
	return f.dump("CHECKSUM TABLE " + quoteIdent(table) + " EXTENDED")[0]
}

// TestAllTypes writes the fixture's four rows (edge values of every type)
// through the sink and compares the table with one filled by the
// fixture's own INSERT statements (G8).
func TestAllTypes(t *testing.T) {
	for _, mode := range []string{"interpolateParams=true", "interpolateParams=false"} {
		t.Run(mode, func(t *testing.T) {
			testAllTypes(t, newFixture(t, func(c *Config) { c.DSN += "&" + mode }))
		})
	}
}

func testAllTypes(t *testing.T, f *fixture) {
	f.exec(eventtest.CreateTableSQL(f.db, "want"), eventtest.CreateTableSQL(f.db, "got"))
	for r := range 4 {
		f.exec(eventtest.InsertSQL(f.db, "want", r))
	}
	rows := allTypesRows(f.db, "got")
	f.mustApply(rows, offsetFor(rows))
	want, got := exactDump(f, "want"), exactDump(f, "got")
	if len(got) != 4 {
		t.Fatalf("got %d rows, want 4", len(got))
	}
	for i := range want {
		if got[i] != want[i] {
			w, g := strings.Split(want[i], "|"), strings.Split(got[i], "|")
			for j := range w {
				if w[j] != g[j] {
					t.Errorf("row %d column %s: got %s, want %s", i+1, eventtest.Columns[j].Name, g[j], w[j])
				}
			}
		}
	}
	// The checksum covers the stored bytes, FLOAT bits included.
	cw, cg := strings.Split(checksum(f, "want"), "|")[1], strings.Split(checksum(f, "got"), "|")[1]
	if cw != cg {
		t.Errorf("CHECKSUM TABLE: got %s, want %s", cg, cw)
	}

	// Applying the same rows again (a replay) changes nothing.
	if err := f.s.SetOffsets(context.Background(), "g", "t", map[int32]int64{0: 0}); err != nil {
		t.Fatal(err)
	}
	f.mustApply(rows, offsetFor(rows))
	if again := exactDump(f, "got"); !slices.Equal(again, got) {
		t.Errorf("after a replay:\n got %q\nwant %q", again, got)
	}
}

// TestAllTypesSpotChecks reads a few edge values back as text, so a bug
// shared by the fixture's SQL and the sink would still show.
func TestAllTypesSpotChecks(t *testing.T) {
	f := newFixture(t, nil)
	f.exec(eventtest.CreateTableSQL(f.db, "got"))
	rows := allTypesRows(f.db, "got")
	f.mustApply(rows, offsetFor(rows))
	got := f.dump("SELECT c_bigint_u, c_bit1+0, c_bit64+0, CAST(c_float AS DOUBLE), HEX(c_binary), c_time6, c_ts6, c_set," +
		" c_varchar, c_char IS NULL FROM got ORDER BY id")
	want := []string{
		"0|0|0|-1.1754943508222875e-38|00000000|-838:59:59.000000|1970-01-01 00:00:01.000000||a|0",
		"18446744073709551615|1|18446744073709551615|3.4028234663852886e+38|00FF0001|838:59:59.000000|2038-01-19 03:14:07.999999|a,c|ünïcödé 😀🎉 \"q\" \\ end|0",
		"<null>|<null>|<null>|<null>|<null>|<null>|<null>|<null>|<null>|1",
		"<null>|<null>|<null>|<null>|<null>|<null>|0000-00-00 00:00:00.000000|<null>|<null>|1",
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d:\n got %s\nwant %s", i+1, got[i], want[i])
		}
	}
}

func TestZeroDatesNull(t *testing.T) {
	var counted int
	f := newFixture(t, func(c *Config) { c.ZeroDates = ZeroDatesNull; c.OnZeroDate = func() { counted++ } })
	f.exec(eventtest.CreateTableSQL(f.db, "got"))
	rows := allTypesRows(f.db, "got")[eventtest.RowZero:]
	f.mustApply(rows, offsetFor(rows))
	got := f.dump("SELECT c_date, c_dt0, c_dt6, c_ts6 FROM got")
	if want := []string{"<null>|<null>|<null>|<null>"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if counted != 4 {
		t.Errorf("OnZeroDate called %d times, want 4", counted)
	}
}

func TestZeroDatesError(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.ZeroDates = ZeroDatesError })
	f.exec(eventtest.CreateTableSQL(f.db, "got"))
	rows := allTypesRows(f.db, "got")
	err := f.apply(rows, offsetFor(rows))
	re := asRowError(t, err)
	if re.Row.Offset != eventtest.RowZero || re.Column != "c_date" || re.Value != "0000-00-00" || !errors.Is(err, errZeroDate) {
		t.Errorf("got %v, want a zero-date error about c_date at offset %d", err, eventtest.RowZero)
	}
	if n := f.dump("SELECT COUNT(*) FROM got"); n[0] != "0" {
		t.Errorf("%s rows written by a failed batch", n[0])
	}
}
