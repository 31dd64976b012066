package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// TestBinary builds the capture command once and runs it as a process
// against the real MariaDB and Kafka broker: what an operator sees (exit
// codes, the one line on stderr, /metrics, /readyz) is what is tested.
// The subtests run in parallel; each has its own database, capture name
// and topic prefix.
func TestBinary(t *testing.T) {
	bin := buildBinary(t)
	m := testenv.SharedMariaDB(t)
	k := testenv.SharedKafka(t)
	base := func(t *testing.T) (yamlConfig, *sql.DB) {
		db := m.CreateDatabase(t)
		conn, err := m.Open(db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		mustExec(t, conn, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
		name := "c" + strings.TrimPrefix(db, "t_")
		return yamlConfig{name: name, source: m.Addr(), user: m.User(), db: db, brokers: k.Brokers()}, conn
	}

	t.Run("help", func(t *testing.T) {
		t.Parallel()
		p := startProc(t, bin, "", "--help")
		if code := p.wait(t, 10*time.Second); code != 0 {
			t.Fatalf("exit %d", code)
		}
		for _, c := range []string{"capture run", "capture doctor", "capture check-config", "--check-config", "--from", "--no-transactions"} {
			if !strings.Contains(p.stdout.String(), c) {
				t.Errorf("--help does not mention %q:\n%s", c, p.stdout.String())
			}
		}
	})

	t.Run("check-config", func(t *testing.T) {
		t.Parallel()
		good, _ := base(t)
		for _, args := range [][]string{{"check-config", "--config"}, {"--check-config", "--config"}, {"run", "--check-config", "--config"}} {
			p := startProc(t, bin, "pw", append(args, writeConfig(t, good))...)
			if code := p.wait(t, 10*time.Second); code != 0 || !strings.Contains(p.stdout.String(), "is valid") {
				t.Errorf("%v: exit %d, stdout %q, stderr %s", args, code, p.stdout.String(), p.stderr())
			}
		}
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(bad, []byte("name: \"\"\nsource: {addrs: [nohost], server_id: 0}\nformat: avro\ntopics: {partitions: 0}\nkafka: {brokers: []}\nlog: {level: loud}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"--check-config", "--config", bad}, {"run", "--config", bad}} {
			p := startProc(t, bin, "", args...)
			if code := p.wait(t, 10*time.Second); code != 1 {
				t.Errorf("%v: exit %d, want 1", args, code)
			}
			out := p.stderr()
			for _, w := range []string{"8 problems", "name:", "source.addrs[0]", "source.user", "source.server_id", "format:", "topics.partitions", "kafka.brokers", "log.level"} {
				if !strings.Contains(out, w) {
					t.Errorf("%v: %q missing from:\n%s", args, w, out)
				}
			}
		}
	})

	t.Run("doctor", func(t *testing.T) {
		t.Parallel()
		cfg, _ := base(t)
		p := startProc(t, bin, m.Password(), "doctor", "--config", writeConfig(t, cfg))
		if code := p.wait(t, 20*time.Second); code != 0 {
			t.Fatalf("doctor on the test server: exit %d\n%s\n%s", code, p.stdout.String(), p.stderr())
		}
		out := p.stdout.String()
		t.Logf("doctor:\n%s", out)
		for _, c := range []string{"[ok] log_bin", "[ok] binlog_format", "[ok] binlog_row_image", "[ok] binlog_row_metadata", "[ok] replication privileges", "binlog retention"} {
			if !strings.Contains(out, c) {
				t.Errorf("doctor output lacks %q", c)
			}
		}
		p = startProc(t, bin, "wrong-password", "doctor", "--config", writeConfig(t, cfg))
		if code := p.wait(t, 20*time.Second); code != 1 {
			t.Errorf("doctor with a wrong password: exit %d, want 1", code)
		}
		if out := p.stdout.String(); !strings.Contains(out, "[FAIL] connection "+m.Addr()) || !strings.Contains(out, "Access denied") {
			t.Errorf("doctor with a wrong password:\n%s", out)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		cfg, _ := base(t)
		p := startProc(t, bin, "wrong-password", "run", "--config", writeConfig(t, cfg))
		if code := p.wait(t, 20*time.Second); code == 0 {
			t.Fatal("exit 0")
		}
		oneClearLine(t, p, "refused user", "Access denied", "source.password")
		loggedFailure(t, p)
		nothingWritten(t, k.Brokers(), cfg.name)
	})

	t.Run("missing privileges", func(t *testing.T) {
		t.Parallel()
		cfg, conn := base(t)
		cfg.user = "u" + strings.TrimPrefix(cfg.name, "ctestbinary_missing_privileges")
		mustExec(t, conn, "CREATE USER '"+cfg.user+"'@'%' IDENTIFIED BY 'pw'", "GRANT SELECT ON *.* TO '"+cfg.user+"'@'%'")
		path := writeConfig(t, cfg)
		p := startProc(t, bin, "pw", "doctor", "--config", path)
		if code := p.wait(t, 20*time.Second); code != 1 {
			t.Errorf("doctor: exit %d, want 1", code)
		}
		if out := p.stdout.String(); !strings.Contains(out, "[FAIL] replication privileges") || !strings.Contains(out, "[ok] binlog_format") {
			t.Errorf("doctor:\n%s", out)
		}
		p = startProc(t, bin, "pw", "run", "--config", path)
		if code := p.wait(t, 20*time.Second); code == 0 {
			t.Fatal("run: exit 0")
		}
		oneClearLine(t, p, "cannot be captured", "[FAIL] replication privileges", "GRANT REPLICATION SLAVE")
		if strings.Contains(p.stderr(), "PASSWORD '*") {
			t.Error("the password hash of the user's grants was printed")
		}
		nothingWritten(t, k.Brokers(), cfg.name)
	})

	t.Run("unreachable brokers", func(t *testing.T) {
		t.Parallel()
		cfg, _ := base(t)
		cfg.brokers = []string{closedPort(t)}
		p := startProc(t, bin, m.Password(), "run", "--no-transactions", "--config", writeConfig(t, cfg))
		if code := p.wait(t, 20*time.Second); code == 0 {
			t.Fatal("exit 0")
		}
		if took := time.Since(p.start); took > 15*time.Second {
			t.Errorf("took %s to give up (connect_timeout is 3s)", took)
		}
		oneClearLine(t, p, "Kafka", cfg.brokers[0])
		if !strings.Contains(p.stderr(), "at-least-once") {
			t.Error("--no-transactions did not warn that delivery is at-least-once")
		}
	})

	t.Run("silent brokers", func(t *testing.T) {
		t.Parallel()
		cfg, _ := base(t)
		cfg.brokers = []string{silentBroker(t)}
		p := startProc(t, bin, m.Password(), "run", "--config", writeConfig(t, cfg))
		if code := p.wait(t, 20*time.Second); code == 0 {
			t.Fatal("exit 0")
		}
		if took := time.Since(p.start); took > 10*time.Second {
			t.Errorf("took %s to give up (connect_timeout is 3s)", took)
		}
		oneClearLine(t, p, "no Kafka broker answered at "+cfg.brokers[0]+" within connect_timeout 3s")
		loggedFailure(t, p)
	})

	t.Run("unreachable source", func(t *testing.T) {
		t.Parallel()
		cfg, _ := base(t)
		// A refused connection, then one that never answers: both are
		// tried (the failover list) and both named.
		refused, silent := closedPort(t), silentBroker(t)
		cfg.source = refused + `", "` + silent
		p := startProc(t, bin, m.Password(), "run", "--config", writeConfig(t, cfg))
		if code := p.wait(t, 20*time.Second); code == 0 {
			t.Fatal("exit 0")
		}
		if took := time.Since(p.start); took > 10*time.Second {
			t.Errorf("took %s to give up (connect_timeout is 3s)", took)
		}
		oneClearLine(t, p, "no source server reachable", refused, silent)
		nothingWritten(t, k.Brokers(), cfg.name)
	})

	t.Run("run, stop, resume", func(t *testing.T) {
		t.Parallel()
		cfg, conn := base(t)
		path := writeConfig(t, cfg)
		topic := cfg.name + "." + cfg.db + ".t"
		gtid, err := m.GTIDPosition(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		insert(t, conn, 1, 50)

		p := startProc(t, bin, m.Password(), "run", "--config", path, "--from", "gtid:"+gtid)
		addr := p.metricsAddr(t)
		checkIDs(t, readIDs(t, k.Brokers(), topic, 50), 50)
		waitReady(t, addr)
		waitMetric(t, addr, fmt.Sprintf(`sluice_capture_events_total{capture=%q,op="insert",table="%s.t"}`, cfg.name, cfg.db), func(v float64) bool { return v == 50 })
		waitMetric(t, addr, fmt.Sprintf(`sluice_capture_source_lag_seconds{capture=%q}`, cfg.name), func(v float64) bool { return v >= 0 && v < 30 })
		waitMetric(t, addr, fmt.Sprintf(`sluice_capture_transactions_total{capture=%q}`, cfg.name), func(v float64) bool { return v >= 1 })
		waitMetric(t, addr, fmt.Sprintf(`sluice_capture_binlog_file_offset_bytes{capture=%q}`, cfg.name), func(v float64) bool { return v > 4 })
		if code, body := get(t, addr, "/healthz"); code != http.StatusOK {
			t.Errorf("/healthz: %d %s", code, body)
		}

		// SIGTERM while a writer runs: capture stops at a transaction
		// boundary and exits 0; the rest is written while it is down. The
		// restart resumes from the stored position: every row once.
		wrote := make(chan error, 1)
		go func() {
			for lo := 51; lo <= 550; lo += 10 {
				if err := insertRows(conn, lo, lo+9); err != nil {
					wrote <- err
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
			wrote <- nil
		}()
		time.Sleep(150 * time.Millisecond)
		if len(wrote) > 0 {
			t.Log("the writer finished before SIGTERM; the stop was not under load")
		}
		stop(t, p)
		if err := <-wrote; err != nil {
			t.Fatal(err)
		}
		p = startProc(t, bin, m.Password(), "run", "--config", path)
		checkIDs(t, readIDs(t, k.Brokers(), topic, 550), 550)
		stop(t, p)
	})

	t.Run("fenced", func(t *testing.T) {
		t.Parallel()
		cfg, conn := base(t)
		// Same name, so same transactional id; each config file gets its
		// own replica server_id, or MariaDB would disconnect one reader
		// whenever the other connects (error 4052) and the first capture
		// might never read the row that makes it commit.
		first := startProc(t, bin, m.Password(), "run", "--config", writeConfig(t, cfg))
		waitReady(t, first.metricsAddr(t))
		second := startProc(t, bin, m.Password(), "run", "--config", writeConfig(t, cfg))
		waitReady(t, second.metricsAddr(t))
		insert(t, conn, 1, 1) // the first capture's next commit finds it fenced
		if code := first.wait(t, 30*time.Second); code == 0 {
			t.Fatal("the fenced capture exited 0")
		}
		oneClearLine(t, first, "another capture with transactional id sluice-capture-"+cfg.name+" took over")
		loggedFailure(t, first)
		checkIDs(t, readIDs(t, k.Brokers(), cfg.name+"."+cfg.db+".t", 1), 1)
		stop(t, second)
	})
}

func mustExec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// insert writes rows from..to in transactions of 10.
func insert(t *testing.T, db *sql.DB, from, to int) {
	t.Helper()
	if err := insertRows(db, from, to); err != nil {
		t.Fatal(err)
	}
}

// insertRows is insert for goroutines other than the test's.
func insertRows(db *sql.DB, from, to int) error {
	for lo := from; lo <= to; lo += 10 {
		var vals []string
		for id := lo; id <= min(lo+9, to); id++ {
			vals = append(vals, fmt.Sprintf("(%d, 'v%d')", id, id))
		}
		if _, err := db.Exec("INSERT INTO t VALUES " + strings.Join(vals, ", ")); err != nil {
			return fmt.Errorf("inserting %d..%d: %w", lo, min(lo+9, to), err)
		}
	}
	return nil
}

// checkIDs wants each of 1..n exactly once.
func checkIDs(t *testing.T, ids []int, n int) {
	t.Helper()
	seen := map[int]int{}
	for _, id := range ids {
		seen[id]++
	}
	for id := 1; id <= n; id++ {
		if seen[id] != 1 {
			t.Errorf("id %d seen %d times", id, seen[id])
		}
	}
	if len(ids) != n {
		slices.Sort(ids)
		t.Errorf("read %d records, want %d: %v", len(ids), n, ids)
	}
}

// stop sends SIGTERM and wants a clean exit 0 with nothing on stderr but
// JSON log lines.
func stop(t *testing.T, p *proc) {
	t.Helper()
	p.Signal(syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	if l := p.plainLines(); len(l) > 0 {
		t.Errorf("stderr after a clean stop: %q", l)
	}
}

// oneClearLine wants exactly one non-JSON line on stderr, holding every
// one of want.
func oneClearLine(t *testing.T, p *proc, want ...string) {
	t.Helper()
	lines := p.plainLines()
	if len(lines) != 1 {
		t.Fatalf("want one plain line on stderr, got %d: %q", len(lines), lines)
	}
	t.Logf("stderr: %s", lines[0])
	for _, w := range want {
		if !strings.Contains(lines[0], w) {
			t.Errorf("%q lacks %q", lines[0], w)
		}
	}
}

// loggedFailure wants the failure in the JSON log too, at error level.
func loggedFailure(t *testing.T, p *proc) {
	t.Helper()
	for _, l := range strings.Split(p.stderr(), "\n") {
		if strings.HasPrefix(l, "{") && strings.Contains(l, `"level":"error"`) && strings.Contains(l, `"msg":"capture failed"`) {
			return
		}
	}
	t.Error("no \"capture failed\" error line in the JSON log")
}

// nothingWritten wants no topic of the capture's prefix on the broker.
func nothingWritten(t *testing.T, brokers []string, prefix string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	topics, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range topics.Names() {
		if strings.HasPrefix(name, prefix+".") {
			t.Errorf("topic %s was created", name)
		}
	}
}

// waitMetric polls /metrics until the sample named series (name and
// labels exactly as exposed) satisfies ok.
func waitMetric(t *testing.T, addr, series string, ok func(float64) bool) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	var last string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		_, body := get(t, addr, "/metrics")
		if m := re.FindStringSubmatch(body); m != nil {
			last = m[1]
			if v, err := strconv.ParseFloat(m[1], 64); err == nil && ok(v) {
				return
			}
		}
	}
	t.Errorf("%s: last value %q", series, last)
}
