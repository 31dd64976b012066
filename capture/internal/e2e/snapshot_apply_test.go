package e2e

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// buildApply builds the apply command (same go.work) once per test binary.
func buildApply(t *testing.T) string {
	return testenv.Binary(t, "github.com/sluice-cdc/sluice/apply/cmd/apply")
}

// startApply runs `apply run` consuming topic into database db of m; its
// output goes to a log file printed when the test fails.
func startApply(t *testing.T, bin string, m *testenv.MariaDB, db, group, topic string, brokers []string) {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`group: %s
topics: [%q]
target: {kind: mysql, dsn: "${TARGET_DSN}"}
batch: {rows: 5000, linger: 50ms}
consumer: {session_timeout: 6s, rebalance_timeout: 10s}
kafka: {brokers: [%q]}
http: {listen: "127.0.0.1:0"}
log: {level: warn}
`, group, topic, brokers[0])
	path := filepath.Join(dir, "apply.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "apply.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", path)
	cmd.Env = append(os.Environ(), "TARGET_DSN="+m.DSN(db))
	p := testenv.StartProcess(t, cmd, func(line string) { fmt.Fprintln(logf, line) })
	t.Cleanup(func() {
		_ = p.Stop(30 * time.Second)
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
			t.Logf("apply log tail:\n%s", strings.Join(lines[max(0, len(lines)-30):], "\n"))
		}
	})
}

// rowSums is a table as id -> CRC32 of the row's every column.
func rowSums(t *testing.T, db *sql.DB, table string) map[int64]uint32 {
	t.Helper()
	rows, err := db.Query("SELECT id, CRC32(CONCAT_WS('|', id, v, pad, d, ts)) FROM " + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]uint32{}
	for rows.Next() {
		var id int64
		var sum uint32
		if err := rows.Scan(&id, &sum); err != nil {
			t.Fatal(err)
		}
		out[id] = sum
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// diffSums lists up to 10 differences between source and target.
func diffSums(src, dst map[int64]uint32) (n int, sample []string) {
	for id, s := range src {
		if d, ok := dst[id]; !ok || d != s {
			if n++; len(sample) < 10 {
				sample = append(sample, fmt.Sprintf("id %d: source %08x, target %08x (present %v)", id, s, d, ok))
			}
		}
	}
	for id := range dst {
		if _, ok := src[id]; !ok {
			if n++; len(sample) < 10 {
				sample = append(sample, fmt.Sprintf("id %d: in the target, deleted in the source", id))
			}
		}
	}
	return n, sample
}

// tableSum folds row checksums into one figure for the log.
func tableSum(m map[int64]uint32) uint64 {
	var s uint64
	for id, c := range m {
		s += uint64(c) ^ uint64(id)*0x9e3779b97f4a7c15
	}
	return s
}

// waitTargetEqual polls until the target's row checksums equal the
// source's, and fails after timeout with the differing rows.
func waitTargetEqual(t *testing.T, src, dst *sql.DB, timeout time.Duration) map[int64]uint32 {
	t.Helper()
	want := rowSums(t, src, "t")
	deadline := time.Now().Add(timeout)
	for {
		got := rowSums(t, dst, "t")
		n, sample := diffSums(want, got)
		if n == 0 {
			return want
		}
		if time.Now().After(deadline) {
			t.Fatalf("target != source after %s: %d rows differ:\n%s", timeout, n, strings.Join(sample, "\n"))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// dbzAsMaxwell turns a Debezium record (with or without the Connect
// schema wrapper) into the Maxwell shape the replay validator reads, and
// checks the snapshot markers: op "r" rows carry source.snapshot "true",
// the table's last one "last".
func dbzAsMaxwell(rec *kgo.Record, lasts *int, problems *[]string) *kgo.Record {
	if rec.Value == nil {
		return nil // tombstone
	}
	var env struct {
		Payload json.RawMessage `json:"payload"`
	}
	v := rec.Value
	if json.Unmarshal(v, &env) == nil && len(env.Payload) > 0 && !bytes.Equal(env.Payload, []byte("null")) {
		v = env.Payload
	}
	var m struct {
		Op     string          `json:"op"`
		Before json.RawMessage `json:"before"`
		After  json.RawMessage `json:"after"`
		Source struct {
			Snapshot string `json:"snapshot"`
		} `json:"source"`
	}
	if err := json.Unmarshal(v, &m); err != nil {
		*problems = append(*problems, fmt.Sprintf("offset %d: %v", rec.Offset, err))
		return nil
	}
	typ, data := map[string]string{"c": "insert", "u": "update", "d": "delete", "r": "bootstrap-insert"}[m.Op], m.After
	switch {
	case m.Op == "d":
		data = m.Before
	case m.Op == "r" && m.Source.Snapshot == "last":
		*lasts++
	case m.Op == "r" && m.Source.Snapshot != "true":
		*problems = append(*problems, fmt.Sprintf("offset %d: op r with source.snapshot %q", rec.Offset, m.Source.Snapshot))
	case m.Op != "r" && m.Source.Snapshot != "" && m.Source.Snapshot != "false":
		*problems = append(*problems, fmt.Sprintf("offset %d: op %s with source.snapshot %q", rec.Offset, m.Op, m.Source.Snapshot))
	}
	out := *rec
	out.Value = fmt.Appendf(nil, `{"type":%q,"data":%s}`, typ, data)
	return &out
}

// TestSnapshotToApply is the whole path of a snapshot: capture copies a
// table while a writer updates and deletes random rows of it (and is
// killed -9 mid-snapshot SLUICE_SNAPSHOT_KILLS times, default 2), real
// Kafka, the apply binary into another MariaDB database. At the end the
// target equals the source row by row (checksums), and the topic replays
// without any row going back to a stale version. SLUICE_SNAPSHOT_ROWS
// sets the table size (default 200000).
func TestSnapshotToApply(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	n := snapshotRows(200000)
	kills := 2
	if s := os.Getenv("SLUICE_SNAPSHOT_KILLS"); s != "" {
		kills, _ = strconv.Atoi(s)
	}
	snapshotToApply(t, "maxwell", n, kills, 5000)
}

// TestSnapshotToApplyDebezium: the same, small, in the Debezium form (op
// "r", source.snapshot true/last), without kills.
func TestSnapshotToApplyDebezium(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	snapshotToApply(t, "debezium", 20000, 0, 2000)
}

func snapshotToApply(t *testing.T, format string, n, kills, chunk int) {
	m := testenv.SharedMariaDB(t)
	k := testenv.SharedKafka(t)
	bin := buildCapture(t)
	abin := buildApply(t)
	ctx := t.Context()
	srcName, dstName := m.CreateDatabase(t), m.CreateDatabase(t)
	src, err := m.Open(srcName)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := m.Open(dstName)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	t0 := time.Now()
	fillTable(t, src, "t", n)
	t.Logf("filled %d rows in %s", n, time.Since(t0).Round(time.Millisecond))
	if _, err := dst.Exec("CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad VARCHAR(40) NOT NULL, d DECIMAL(12,3), ts DATETIME(6)) ENGINE=InnoDB"); err != nil {
		t.Fatal(err)
	}

	cfg := captureConfig{name: "a" + strings.TrimPrefix(srcName, "t_"), addrs: []string{m.Addr()}, user: m.User(),
		db: srcName, brokers: k.Brokers(), format: format}
	path := snapshotYAML(t, cfg, chunk)
	log := newCaptureLog(t)

	w := startRowWriter(ctx, src, n, "UPDATE t SET v = v + 1, pad = CONCAT('upd-', v + 1) WHERE id = ?")
	start := time.Now()
	p := startCapture(t, bin, path, m.Password(), log)
	startApply(t, abin, m, dstName, "snap-"+cfg.name, cfg.topic("t"), k.Brokers())
	p, killed := killDuringSnapshot(t, log, kills, p, func() *captureProc { return startCapture(t, bin, path, m.Password(), log) })
	if log.waitFor(10*time.Minute, "snapshot of table complete") == "" {
		t.Fatalf("the snapshot did not complete:\n%s", log.tail(20))
	}
	snapDur := time.Since(start)
	if err := w.stop(); err != nil {
		t.Fatal(err)
	}
	sums := waitTargetEqual(t, src, dst, 5*time.Minute)
	total := time.Since(start)
	if code := p.stop(30 * time.Second); code != 0 {
		t.Fatalf("capture exit %d:\n%s", code, log.tail(30))
	}

	r := newReplay()
	lasts := 0
	var dbzProblems []string
	readTopic(t, k.Brokers(), cfg.topic("t"), 3*time.Second, func(rec *kgo.Record) {
		if format == "debezium" {
			if rec = dbzAsMaxwell(rec, &lasts, &dbzProblems); rec == nil {
				return
			}
		}
		r.add(rec)
	})
	problems := append(dbzProblems, r.problems...)
	for _, pr := range problems[:min(len(problems), 10)] {
		t.Error(pr)
	}
	if len(problems) > 0 {
		t.Fatalf("%d problems in the topic", len(problems))
	}
	compare(t, r.rows, sourceRows(t, src, "t"))
	if format == "maxwell" && (r.starts < 1 || r.completes != 1) {
		t.Errorf("bootstrap-start %d, bootstrap-complete %d times, want >= 1 and 1", r.starts, r.completes)
	}
	if format == "debezium" && lasts != 1 {
		t.Errorf("%d op r rows with source.snapshot last, want 1", lasts)
	}
	if maxRows := n + killed*chunk; r.bootstrap > maxRows {
		t.Errorf("%d snapshot rows, more than the %d rows plus one chunk per kill (%d)", r.bootstrap, n, maxRows)
	}
	t.Logf("%s: %d rows snapshotted in %s with %d kills and %d updates + %d deletes meanwhile; target == source %s after the start (%d rows, checksum %016x); topic: %d snapshot rows (at most %d allowed), %d streamed changes, no stale version",
		format, n, snapDur.Round(time.Millisecond), killed, w.updates.Load(), w.deletes.Load(), total.Round(time.Millisecond),
		len(sums), tableSum(sums), r.bootstrap, n+killed*chunk, r.streamed)
}
