package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
)

func TestMariaDBBinlogSettings(t *testing.T) {
	m := SharedMariaDB(t)
	db, err := m.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[string]string{
		"log_bin": "ON", "binlog_format": "ROW", "binlog_row_image": "FULL",
		"binlog_row_metadata": "FULL", "gtid_strict_mode": "ON", "log_slave_updates": "ON",
		"character_set_server": "utf8mb4", "time_zone": "+00:00", "server_id": "1",
	}
	for name, v := range want { // names are constants: SHOW cannot take placeholders
		var got, n string
		if err := db.QueryRow("SHOW GLOBAL VARIABLES LIKE '"+name+"'").Scan(&n, &got); err != nil {
			t.Fatalf("SHOW GLOBAL VARIABLES LIKE %q: %v", name, err)
		}
		if got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	var cs string
	if err := db.QueryRow("SELECT @@character_set_client").Scan(&cs); err != nil || cs != "utf8mb4" {
		t.Errorf("client connection character set = %q (%v), want utf8mb4 from the DSN", cs, err)
	}
}

// TestMariaDBAllTypesFixture proves the shared fixture's SQL is what a real
// server accepts and stores: capture tests depend on it.
func TestMariaDBAllTypesFixture(t *testing.T) {
	m := SharedMariaDB(t)
	ctx := context.Background()
	name := m.CreateDatabase(t)
	db, err := m.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx) // one session: the SET statements must hold for the inserts
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	before, err := m.GTIDPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{"SET SESSION sql_mode=''", "SET SESSION time_zone='+00:00'", eventtest.CreateTableSQL(name, eventtest.Table)}
	for r := range 4 {
		stmts = append(stmts, eventtest.InsertSQL(name, eventtest.Table, r))
	}
	for _, q := range stmts {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		// A warning means the server adjusted a literal (truncation,
		// clipping): the stored row would not be the fixture's.
		if w := showWarnings(t, conn); w != "" {
			t.Errorf("warnings %s after\n%s", w, q)
		}
	}
	// Col.Type must be what the server reports: capture compares them.
	rows, err := conn.QueryContext(ctx, "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", name, eventtest.Table)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var col, typ string
		if err := rows.Scan(&col, &typ); err != nil {
			t.Fatal(err)
		}
		got = append(got, col+" "+typ)
	}
	rows.Close()
	var want []string
	for _, c := range eventtest.Columns {
		typ := c.Type
		if typ == "json" {
			// MariaDB's JSON is LONGTEXT plus a json_valid CHECK, also in
			// the binlog metadata; the fixture names the logical type.
			typ = "longtext"
		}
		want = append(want, c.Name+" "+typ)
	}
	var jsonChecks int
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND CHECK_CLAUSE = 'json_valid(`c_json`)'", name, eventtest.Table).Scan(&jsonChecks); err != nil || jsonChecks != 1 {
		t.Errorf("c_json: %d json_valid CHECK constraints (%v), want 1", jsonChecks, err)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("server column types:\n%s\nfixture Col.Type:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Read back as text: every edge value is stored exactly.
	checks := []struct{ col, id, want string }{
		{"c_bigint_u", "2", "18446744073709551615"},
		{"c_bigint", "1", "-9223372036854775808"},
		{"c_dec65", "1", "-99999999999999999999999999999999999.999999999999999999999999999999"},
		{"c_dt6", "2", "9999-12-31 23:59:59.999999"},
		{"c_ts6", "2", "2038-01-19 03:14:07.999999"},
		{"c_time6", "1", "-838:59:59.000000"},
		{"c_date", "4", "0000-00-00"},
		{"c_varchar", "2", "ünïcödé 😀🎉 \"q\" \\ end"},
		{"HEX(c_binary)", "2", "00FF0001"},
		{"HEX(c_blob)", "2", "0000626C6F6200"},
		{"c_set", "2", "a,c"},
		{"c_enum", "1", ""},
		{"CAST(c_bit64 AS UNSIGNED)", "2", "18446744073709551615"},
	}
	for _, c := range checks {
		var got string
		q := fmt.Sprintf("SELECT %s FROM `%s`.`%s` WHERE id = ?", c.col, name, eventtest.Table)
		if err := conn.QueryRowContext(ctx, q, c.id).Scan(&got); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if got != c.want {
			t.Errorf("%s of row %s = %q, want %q", c.col, c.id, got, c.want)
		}
	}
	var nulls int
	q := fmt.Sprintf("SELECT COUNT(*) FROM `%s`.`%s` WHERE id = 3 AND c_int IS NULL AND c_json IS NULL AND c_set IS NULL", name, eventtest.Table)
	if err := conn.QueryRowContext(ctx, q).Scan(&nulls); err != nil || nulls != 1 {
		t.Errorf("row 3 should be NULL in every nullable column (count %d, err %v)", nulls, err)
	}
	after, err := m.GTIDPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after == before || !strings.HasPrefix(after, "0-1-") {
		t.Errorf("GTID position %q -> %q: want it to advance in domain 0, server 1", before, after)
	}
	if file, pos, err := m.BinlogPosition(ctx); err != nil || !strings.HasPrefix(file, "mariadb-bin.") || pos <= 4 {
		t.Errorf("BinlogPosition = %q, %d, %v", file, pos, err)
	}
}

// TestMariaDBKillRestart crashes an instance of its own: committed rows
// survive (the relaxed durability settings are safe for process crashes)
// and the GTID sequence continues after crash recovery.
func TestMariaDBKillRestart(t *testing.T) {
	m := NewMariaDB(t, MariaDBOptions{ServerID: 7, GTIDDomainID: 3})
	ctx := context.Background()
	db, err := m.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"CREATE DATABASE k", "CREATE TABLE k.t (id INT PRIMARY KEY)", "INSERT INTO k.t VALUES (1), (2)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	gtid, err := m.GTIDPosition(ctx)
	if err != nil || !strings.HasPrefix(gtid, "3-7-") {
		t.Fatalf("GTID position = %q (%v), want domain 3, server 7", gtid, err)
	}
	seq, _ := strconv.Atoi(strings.TrimPrefix(gtid, "3-7-"))
	m.Kill()
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("server still answers after Kill")
	}
	if err := m.Restart(ctx); err != nil {
		t.Fatalf("restart after kill: %v\n%s", err, m.LogTail(20))
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM k.t").Scan(&n); err != nil || n != 2 {
		t.Fatalf("after crash recovery: %d rows (%v), want 2", n, err)
	}
	if _, err := db.Exec("INSERT INTO k.t VALUES (3)"); err != nil {
		t.Fatal(err)
	}
	want := "3-7-" + strconv.Itoa(seq+1)
	if gtid, err := m.GTIDPosition(ctx); err != nil || gtid != want {
		t.Errorf("GTID position after restart and one more write = %q (%v), want %s", gtid, err, want)
	}
	if !strings.Contains(m.LogTail(200), "ready for connections") {
		t.Errorf("log tail has no start-up line:\n%s", m.LogTail(20))
	}
}

// showWarnings returns SHOW WARNINGS of the session's last statement.
func showWarnings(t *testing.T, conn *sql.Conn) string {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), "SHOW WARNINGS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var level, msg string
		var code int
		if err := rows.Scan(&level, &code, &msg); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "[%s %d: %s]", level, code, msg)
	}
	return b.String()
}

// TestMariaDBStartFailureExplained: a server that cannot start gives an
// error that carries its own diagnosis, which CI prints.
func TestMariaDBStartFailureExplained(t *testing.T) {
	skipIfDisabled(t)
	_, err := StartMariaDB(context.Background(), MariaDBOptions{Extra: []string{"no_such_option_sluice=1"}})
	if err == nil {
		t.Fatal("MariaDB started with an unknown option")
	}
	if !strings.Contains(err.Error(), "no_such_option_sluice") {
		t.Errorf("error does not name the cause: %v", err)
	}
}
