package binlog

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/sluice-cdc/sluice/pkg/testenv"
)

func checkByName(checks []Check) map[string]Check {
	out := map[string]Check{}
	for _, c := range checks {
		out[c.Name] = c
	}
	return out
}

// openAs connects to m as another user.
func openAs(t *testing.T, m *testenv.MariaDB, user, password string) *sql.DB {
	t.Helper()
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr = user, password, "tcp", m.Addr()
	conn, err := mysql.NewConnector(c)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	return db
}

// TestPreflight: the test server as configured passes every check; a
// server with binlog_row_image=MINIMAL fails naming the setting (and the
// reader refuses its partial rows the same way); a user without
// replication grants fails the privilege check.
func TestPreflight(t *testing.T) {
	ctx := context.Background()
	m := testenv.SharedMariaDB(t)
	db := openDB(t, m, "")
	checks := Preflight(ctx, db)
	for _, c := range checks {
		t.Log(c)
		if !c.OK {
			t.Errorf("fresh server: %v", c)
		}
	}
	got := checkByName(checks)
	for _, name := range []string{"log_bin", "binlog_format", "binlog_row_image", "binlog_row_metadata", "server_id", "gtid_strict_mode", "replication privileges", "binlog retention"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no %q check in %v", name, checks)
		}
	}

	mustExec(t, db,
		"CREATE USER IF NOT EXISTS 'repl_only'@'%' IDENTIFIED BY 'pw'",
		"GRANT REPLICATION SLAVE, BINLOG MONITOR, SELECT ON *.* TO 'repl_only'@'%'",
		"CREATE USER IF NOT EXISTS 'no_grants'@'%' IDENTIFIED BY 'pw'")
	if c := privilegeCheck(ctx, openAs(t, m, "repl_only", "pw"), true); !c.OK {
		t.Errorf("replication-only user: %v", c)
	}
	if c := privilegeCheck(ctx, openAs(t, m, "no_grants", "pw"), true); c.OK || !c.Fatal || !strings.Contains(c.Fix, "REPLICATION SLAVE") {
		t.Errorf("user without grants: %v, want a fatal failure with the GRANT to run", c)
	}

	bad := testenv.NewMariaDB(t, testenv.MariaDBOptions{ServerID: 2, Extra: []string{
		"binlog_row_image=MINIMAL", "gtid_strict_mode=OFF", "binlog_expire_logs_seconds=3600"}})
	badDB := openDB(t, bad, "")
	got = checkByName(Preflight(ctx, badDB))
	for name, fatal := range map[string]bool{"binlog_row_image": true, "gtid_strict_mode": false, "binlog retention": false} {
		c := got[name]
		t.Log(c)
		if c.OK || c.Fatal != fatal || c.Fix == "" {
			t.Errorf("%s on the misconfigured server: %v, want a failure (fatal %v) with a fix", name, c, fatal)
		}
	}
	if c := got["binlog_row_image"]; !strings.Contains(c.Detail, "MINIMAL") || !strings.Contains(c.Fix, "binlog_row_image=FULL") {
		t.Errorf("binlog_row_image check %v: want it to show MINIMAL and the fix", c)
	}

	dbName := bad.CreateDatabase(t)
	tdb := openDB(t, bad, dbName)
	mustExec(t, tdb, "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT)", "INSERT INTO t VALUES (1, 1, 1)")
	from := gtidNow(t, bad)
	mustExec(t, tdb, "UPDATE t SET a = 2 WHERE id = 1")
	h := startReader(t, testConfig(t, bad, dbName), from, 16)
	if err := h.wait(t); err == nil || !strings.Contains(err.Error(), "binlog_row_image=FULL") || retryable(err) {
		t.Fatalf("reading a partial row image: %v, want a fatal error naming binlog_row_image=FULL", err)
	}
}
