package e2e

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
)

// reference builds, in its own MariaDB database, the table the fixture
// statements leave at the source: what every target must end up holding.
func (e *env) reference() string {
	e.t.Helper()
	ref := e.maria.CreateDatabase(e.t)
	conn, err := e.maria.Open(ref)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	e.exec(conn, "SET SESSION sql_mode = ''", "SET SESSION time_zone = '+00:00'", eventtest.CreateTableSQL(ref, eventtest.Table))
	for _, tx := range eventtest.Statements(ref, eventtest.Table) {
		e.exec(conn, tx...)
	}
	return ref
}

// pgAllTypes is the fixture table in PostgreSQL types that hold every
// value exactly (TIME's range needs interval; BIGINT UNSIGNED numeric).
const pgAllTypes = `CREATE TABLE all_types (id bigint PRIMARY KEY, c_tinyint smallint, c_tinyint_u smallint,
	c_smallint smallint, c_smallint_u integer, c_mediumint integer, c_mediumint_u integer, c_int integer,
	c_int_u bigint, c_bigint bigint, c_bigint_u numeric(20,0), c_dec65 numeric(65,30), c_dec20 numeric(20,6),
	c_float real, c_double double precision, c_bit1 bit(1), c_bit64 bit(64), c_date date, c_dt0 timestamp(0),
	c_dt6 timestamp(6), c_ts6 timestamptz(6), c_time6 interval, c_year smallint, c_char varchar(10),
	c_varchar varchar(64), c_binary bytea, c_varbinary bytea, c_blob bytea, c_text text, c_json jsonb,
	c_enum text, c_set text)`

func TestAllTypes(t *testing.T) {
	for _, enc := range []format.Encoder{&maxwell.Encoder{}, &debezium.Encoder{}} {
		t.Run(enc.Name(), func(t *testing.T) {
			e := newEnv(t)
			ref := e.reference()
			e.exec(e.mconn, eventtest.CreateTableSQL(e.mdb, eventtest.Table))
			e.exec(e.pconn, pgAllTypes)
			// Overlap: the targets already hold rows (a snapshot, an earlier
			// run), some with other values, one that the stream deletes.
			e.exec(e.mconn, "SET SESSION sql_mode = ''", "SET SESSION time_zone = '+00:00'",
				eventtest.InsertSQL(e.mdb, eventtest.Table, eventtest.RowMax),
				fmt.Sprintf("UPDATE `%s`.all_types SET c_varchar = 'stale', c_int = 7 WHERE id = 2", e.mdb),
				fmt.Sprintf("INSERT INTO `%s`.all_types (id, c_varchar) VALUES (5, 'stale')", e.mdb))
			e.exec(e.pconn, "INSERT INTO all_types (id, c_varchar) VALUES (1, 'stale'), (2, 'stale'), (5, 'stale')")

			topic := e.topic("all_types")
			e.createTopic(topic, 1)
			recs := records(t, topic, enc, eventtest.Events())
			// Delivered twice: the second pass must leave the same state (G4).
			e.produce(recs)
			e.produce(records(t, topic, enc, eventtest.Events()))

			ma := e.runApply(e.applyConfig("mysql", "to-maria", topic))
			pa := e.runApply(e.applyConfig("postgres", "to-pg", topic))
			e.waitApplied(e.mconn, "mysql", "to-maria", topic)
			e.waitApplied(e.pconn, "postgres", "to-pg", topic)

			// MariaDB target: byte-for-byte the reference table.
			q := "SELECT * FROM `%s`.all_types ORDER BY id"
			want := rowsText(t, e.mconn, fmt.Sprintf(q, ref))
			got := rowsText(t, e.mconn, fmt.Sprintf(q, e.mdb))
			if !slices.Equal(got, want) {
				t.Errorf("MariaDB target differs from the source:\n got  %q\n want %q", got, want)
			}
			if len(want) != 3 {
				t.Fatalf("reference has %d rows, want 3 (ids 1, 4, 5)", len(want))
			}

			comparePG(t, e.mconn, e.pconn, ref)
			if metric(t, ma.metrics, "sluice_apply_rows_total") == 0 || metric(t, pa.metrics, "sluice_apply_rows_total") == 0 {
				t.Error("sluice_apply_rows_total did not count the applied rows")
			}
		})
	}
}

// comparePG checks the PostgreSQL target's all_types against the MariaDB
// table of database ref, every column in a common text form.
func comparePG(t *testing.T, mconn, pconn *sql.DB, ref string) {
	t.Helper()
	// PostgreSQL target: every column in a common text form.
	mq := `SELECT id, c_tinyint, c_tinyint_u, c_smallint, c_smallint_u, c_mediumint, c_mediumint_u, c_int, c_int_u,
		c_bigint, c_bigint_u, c_dec65, c_dec20, c_double, c_bit1 + 0, c_bit64 + 0,
		NULLIF(c_date, '0000-00-00'), DATE_FORMAT(NULLIF(c_dt6, '0000-00-00 00:00:00'), '%%Y-%%m-%%d %%H:%%i:%%s.%%f'),
		DATE_FORMAT(NULLIF(c_ts6, '0000-00-00 00:00:00'), '%%Y-%%m-%%d %%H:%%i:%%s.%%f'), c_year, c_char, c_varchar,
		LOWER(HEX(c_binary)), LOWER(HEX(c_varbinary)), LOWER(HEX(c_blob)), c_text, c_enum, c_set
		FROM %s.all_types ORDER BY id`
	pq := `SELECT id, c_tinyint, c_tinyint_u, c_smallint, c_smallint_u, c_mediumint, c_mediumint_u, c_int, c_int_u,
		c_bigint, c_bigint_u, c_dec65, c_dec20, c_double, c_bit1::bigint, c_bit64::bigint::numeric + CASE WHEN c_bit64::bigint < 0 THEN 18446744073709551616 ELSE 0 END,
		c_date::text, to_char(c_dt6, 'YYYY-MM-DD HH24:MI:SS.US'),
		to_char(c_ts6 AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), c_year, c_char, c_varchar,
		encode(c_binary, 'hex'), encode(c_varbinary, 'hex'), encode(c_blob, 'hex'), c_text, c_enum, c_set
		FROM all_types ORDER BY id`
	want := rowsText(t, mconn, fmt.Sprintf(mq, "`"+ref+"`"))
	got := rowsText(t, pconn, pq)
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			g, w := strings.Split(got[i], "|"), strings.Split(want[i], "|")
			for j := range min(len(g), len(w)) {
				if g[j] != w[j] {
					t.Errorf("PostgreSQL row %d column %d: got %q, want %q", i, j, g[j], w[j])
				}
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("PostgreSQL target has %d rows, want %d", len(got), len(want))
	}
	// JSON and TIME compare by meaning.
	var js, tm string
	if err := pconn.QueryRow("SELECT c_json::text, c_time6::text FROM all_types WHERE id = 1").Scan(&js, &tm); err != nil {
		t.Fatal(err)
	}
	var mjs string
	_ = mconn.QueryRow(fmt.Sprintf("SELECT c_json FROM `%s`.all_types WHERE id = 1", ref)).Scan(&mjs)
	var eq bool
	if err := pconn.QueryRow("SELECT $1::jsonb = $2::jsonb", js, mjs).Scan(&eq); err != nil || !eq {
		t.Errorf("JSON differs: postgres %s, source %s (%v)", js, mjs, err)
	}
}
