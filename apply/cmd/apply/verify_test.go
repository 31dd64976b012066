package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m, testenv.NeedMariaDB) }

func TestExpandEnv(t *testing.T) {
	t.Setenv("VERIFY_DSN", "u:p@tcp(h)/db")
	for in, want := range map[string]string{
		"${VERIFY_DSN}": "u:p@tcp(h)/db", "x${VERIFY_UNSET:-d}y": "xdy", "plain": "plain",
	} {
		if got, err := expandEnv(in); err != nil || got != want {
			t.Errorf("expandEnv(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := expandEnv("${VERIFY_UNSET}"); err == nil || !strings.Contains(err.Error(), "VERIFY_UNSET") {
		t.Errorf("an unset variable: %v", err)
	}
}

// TestVerifyCommand runs apply verify between two MariaDB databases: exit
// 0 when equal, 1 with the differing key listed, 2 on bad flags; DSNs
// come from the environment and the password is never printed.
func TestVerifyCommand(t *testing.T) {
	m := testenv.SharedMariaDB(t)
	sdb, tdb := m.CreateDatabase(t), m.CreateDatabase(t)
	for _, db := range []string{sdb, tdb} {
		c, err := m.Open(db)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))", "INSERT INTO t VALUES (1, 'a'), (2, 'b')"} {
			if _, err := c.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
	}
	t.Setenv("SRC_DSN", m.DSN(sdb))
	t.Setenv("DST_DSN", m.DSN(tdb))
	cfg := filepath.Join(t.TempDir(), "apply.yaml")
	if err := os.WriteFile(cfg, []byte("group: g\ntopics: [x]\nkafka:\n  brokers: [127.0.0.1:9]\ntarget:\n  kind: mysql\n  dsn: ${DST_DSN}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	verify := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"verify"}, args...), &out, &errb)
		all := out.String() + errb.String()
		if strings.Contains(all, m.Password()) {
			t.Errorf("output shows the password:\n%s", all)
		}
		return code, all
	}
	base := []string{"--source-dsn", "${SRC_DSN}", "--table", sdb + ".t", "--config", cfg, "--rate", "0"}
	if code, out := verify(base...); code != 0 || !strings.Contains(out, "EQUAL") {
		t.Fatalf("equal tables: exit %d\n%s", code, out)
	}
	c, _ := m.Open(tdb)
	defer c.Close()
	if _, err := c.Exec("UPDATE t SET v = 'x' WHERE id = 2"); err != nil {
		t.Fatal(err)
	}
	if code, out := verify(append(base, "--json")...); code != 1 || !strings.Contains(out, `"key": "id=2"`) {
		t.Fatalf("changed row: exit %d\n%s", code, out)
	}
	if code, out := verify("--source-dsn", "${SRC_DSN}", "--table", sdb+".t", "--target-kind", "mysql", "--target-dsn", "${DST_DSN}", "--quiet"); code != 1 || !strings.Contains(out, "id=2  columns: v") {
		t.Fatalf("changed row without config: exit %d\n%s", code, out)
	}
	if code, _ := verify("--table", "nodot"); code != 2 {
		t.Errorf("bad --table: exit %d, want 2", code)
	}
	if code, out := verify("--source-dsn", "${SRC_DSN}", "--table", sdb+".missing", "--config", cfg); code != 2 || !strings.Contains(out, "not found") {
		t.Errorf("missing table: exit %d, want 2\n%s", code, out)
	}
}

func TestStatusBadConfig(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"status", "--config", filepath.Join(t.TempDir(), "none.yaml")}, &out, &errb); code == 0 {
		t.Errorf("status with a missing config exited 0")
	}
}
