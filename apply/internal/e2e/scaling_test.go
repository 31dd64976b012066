package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/apply/internal/consume"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// The order guard: triggers on the target's accounts table record every
// change that takes a key's version backwards, i.e. a key's older change
// applied after a newer one (G2). An update (or the update half of an
// upsert) with a lower version than the row's is one; so is an insert
// with a lower version than the key had when it was deleted.
var orderGuard = []string{
	`CREATE TABLE order_violations (n BIGINT AUTO_INCREMENT PRIMARY KEY, id BIGINT NOT NULL,
		have_version BIGINT NOT NULL, got_version BIGINT NOT NULL, kind VARCHAR(16) NOT NULL)`,
	`CREATE TABLE deleted_versions (id BIGINT PRIMARY KEY, version BIGINT NOT NULL)`,
	`CREATE TRIGGER accounts_guard_update BEFORE UPDATE ON accounts FOR EACH ROW
		IF NEW.version < OLD.version THEN
			INSERT INTO order_violations (id, have_version, got_version, kind) VALUES (OLD.id, OLD.version, NEW.version, 'update');
		END IF`,
	`CREATE TRIGGER accounts_guard_insert BEFORE INSERT ON accounts FOR EACH ROW
		IF NEW.version < (SELECT COALESCE(MAX(version), 0) FROM deleted_versions WHERE id = NEW.id) THEN
			INSERT INTO order_violations (id, have_version, got_version, kind)
				SELECT NEW.id, version, NEW.version, 'reinsert' FROM deleted_versions WHERE id = NEW.id;
		END IF`,
	`CREATE TRIGGER accounts_guard_delete AFTER DELETE ON accounts FOR EACH ROW
		INSERT INTO deleted_versions (id, version) VALUES (OLD.id, OLD.version)
			ON DUPLICATE KEY UPDATE version = GREATEST(version, OLD.version)`,
}

func violations(t *testing.T, db *sql.DB) (n int, sample []string) {
	t.Helper()
	if err := db.QueryRow("SELECT COUNT(*) FROM order_violations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n, rowsText(t, db, "SELECT id, have_version, got_version, kind FROM order_violations ORDER BY n LIMIT 5")
}

// TestScalingAddPartitions: real MariaDB source -> capture binary -> real
// broker -> apply binary replicas -> MariaDB target guarded by the order
// triggers. Under a steady write load the topic grows from 2 to 6
// partitions (capture add-partitions), two replicas join, one leaves. No
// key may ever go backwards, the target ends equal to the source, and the
// offsets stored in the target equal Kafka's commits and the end of each
// partition.
func TestScalingAddPartitions(t *testing.T) {
	if testing.Short() {
		t.Skip("scaling test is long")
	}
	e := newEnv(t)
	applyPath, capturePath := buildApply(t), buildCapture(t)
	src := e.maria.CreateDatabase(t)
	sconn, err := e.maria.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer sconn.Close()
	e.exec(sconn, accountsMaria)
	e.exec(e.mconn, accountsMaria)
	e.exec(e.mconn, orderGuard...)
	gtid, err := e.maria.GTIDPosition(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	topic := e.prefix + "." + src + ".accounts"
	dir := t.TempDir()

	// capture, from the GTID position after the table was created.
	capCfg := captureYAML(t, dir, "capture.yaml", "scaling-"+strings.TrimPrefix(e.mdb, "t_"), e.maria, 7000+rand.IntN(1000),
		src, "maxwell", e.prefix, e.brokers, "shutdown_timeout: 20s\nlog: {level: info}")
	capEnv := append(os.Environ(), "SOURCE_PASSWORD="+e.maria.Password())
	capture := startSvc(t, "capture-1", dir, capEnv, capturePath, "run", "--config", capCfg, "--from", "gtid:"+gtid)
	capture.waitLog(t, "capture running", 60*time.Second)

	// The writer: 200 hot keys updated over and over, 300 more inserted
	// and deleted; one writer so the source commit order per key is the
	// version order.
	w := newVersionWriter(sconn, 200, 300)
	if err := w.seed(); err != nil {
		t.Fatal(err)
	}
	waitTopic(t, e.adm, topic, 2, 60*time.Second)

	const group = "scaling"
	applyCfg := writeFile(t, dir, "apply.yaml", fmt.Sprintf(`group: %s
topics: [%q]
target: {kind: mysql, dsn: "${TARGET_DSN}"}
batch: {rows: 500, linger: 20ms}
consumer: {session_timeout: 6s, rebalance_timeout: 15s}
kafka: {brokers: [%q]}
http: {listen: "127.0.0.1:0"}
log: {level: info}
`, group, topic, e.brokers[0]))
	applyEnv := append(os.Environ(), "TARGET_DSN="+e.maria.DSN(e.mdb))
	startReplica := func(name string) *svc {
		s := startSvc(t, name, dir, applyEnv, applyPath, "run", "--config", applyCfg)
		s.waitLog(t, "apply running", 60*time.Second)
		return s
	}
	replicas := []*svc{startReplica("apply-a"), startReplica("apply-b")}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	writerDone := make(chan error, 1)
	go func() { writerDone <- w.run(ctx, 4*time.Millisecond) }()
	checkWriter := func() {
		t.Helper()
		select {
		case err := <-writerDone:
			t.Fatalf("writer stopped early: %v", err)
		default:
		}
	}

	time.Sleep(8 * time.Second)
	checkWriter()
	updatesBefore := w.updates.Load()
	// Add partitions the documented way: stop capture, add-partitions
	// (fences, grows the topic, writes the barrier), start capture again.
	if err := capture.stop(t); err != nil {
		t.Fatalf("capture did not stop cleanly: %v\n%s", err, capture.tail(20))
	}
	addCmd := exec.Command(capturePath, "add-partitions", "--config", capCfg, "--topic", topic, "--partitions", "6")
	addCmd.Env = capEnv
	out, err := addCmd.CombinedOutput()
	if err != nil {
		t.Fatalf("capture add-partitions: %v\n%s", err, out)
	}
	t.Logf("capture add-partitions: %s", strings.TrimSpace(string(out)))
	addedAt := time.Now()
	capture = startSvc(t, "capture-2", dir, capEnv, capturePath, "run", "--config", capCfg)
	capture.waitLog(t, "capture running", 60*time.Second)

	// Do the two replicas already in the group pick up the new partitions
	// by themselves? (A client sees them at its next metadata refresh.)
	newApplied := func() bool {
		got := storedOffsets(t, e.mconn, "mysql", group, topic)
		for p := int32(2); p < 6; p++ {
			if got[p] > 1 {
				return true
			}
		}
		return false
	}
	selfPickup := time.Duration(-1)
	for time.Since(addedAt) < selfPickupWait {
		if newApplied() {
			selfPickup = time.Since(addedAt)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	checkWriter()
	replicas = append(replicas, startReplica("apply-c"), startReplica("apply-d"))
	pickup := time.Duration(-1)
	for time.Since(addedAt) < 60*time.Second {
		if newApplied() {
			pickup = time.Since(addedAt)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if pickup < 0 {
		t.Fatalf("no record past the barrier was applied in the new partitions within 60s of add-partitions; stored %v", storedOffsets(t, e.mconn, "mysql", group, topic))
	}
	time.Sleep(6 * time.Second)
	checkWriter()
	// One replica leaves (gracefully); its partitions move to the others.
	if err := replicas[1].stop(t); err != nil {
		t.Errorf("apply-b did not stop cleanly: %v", err)
	}
	time.Sleep(6 * time.Second)
	cancel()
	if err := <-writerDone; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}

	// Converge: target equals source.
	deadline := time.Now().Add(120 * time.Second)
	var got, want []string
	for {
		want, got = rowsText(t, sconn, accountsQuery), rowsText(t, e.mconn, accountsQuery)
		if slices.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			diff := 0
			for _, r := range want {
				if !slices.Contains(got, r) {
					diff++
				}
			}
			for _, r := range replicas {
				t.Logf("%s log tail:\n%s", r.name, r.tail(15))
			}
			t.Fatalf("target did not converge to the source within 120s: %d rows vs %d, %d source rows missing or different; stored offsets %v",
				len(got), len(want), diff, storedOffsets(t, e.mconn, "mysql", group, topic))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err := capture.stop(t); err != nil {
		t.Errorf("capture did not stop cleanly: %v", err)
	}
	for _, r := range replicas {
		if err := r.stop(t); err != nil {
			t.Errorf("%s did not stop cleanly: %v\n%s", r.name, err, r.tail(10))
		}
	}

	// What is in the topic: per partition the last record, which keys moved.
	sum := readTopic(t, e.brokers, topic)
	stored := storedOffsets(t, e.mconn, "mysql", group, topic)
	committed := map[int32]int64{}
	resp, err := e.adm.FetchOffsets(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			committed[o.Partition] = o.At
		}
	})
	if len(sum.next) != 6 {
		t.Errorf("topic has records in %d partitions, want 6: %v", len(sum.next), sum.next)
	}
	for p, next := range sum.next {
		if stored[p] != next || committed[p] != next {
			t.Errorf("partition %d: last record ends at %d, sluice_offsets has %d, Kafka committed %d", p, next, stored[p], committed[p])
		}
	}
	if sum.barriers != 6 {
		t.Errorf("topic holds %d barrier records, want 6 (one per partition)", sum.barriers)
	}
	n, sample := violations(t, e.mconn)
	if n != 0 {
		t.Fatalf("%d order violations: a key's older change was applied after a newer one; first: %q", n, sample)
	}
	pick := fmt.Sprintf("not within %s (picked up when replicas joined)", selfPickupWait)
	if selfPickup >= 0 {
		pick = selfPickup.Round(100 * time.Millisecond).String()
	}
	t.Logf("scaling: %d updates, %d inserts, %d deletes (%d updates before add-partitions); partitions 2 -> 6; replicas 2 -> 4 -> 3; "+
		"%d records (%v by partition), %d keys moved partition; new partitions applied %s after add-partitions (existing replicas alone: %s); "+
		"violations=%d; target equals source (%d rows); sluice_offsets = Kafka commits = end of each partition %v",
		w.updates.Load(), w.inserts.Load(), w.deletes.Load(), updatesBefore, sum.records, sum.count, sum.moved,
		pickup.Round(100*time.Millisecond), pick, n, len(want), stored)
	t.Logf("timeline (seconds after add-partitions):\n%s", timeline(addedAt, replicas))
}

// selfPickupWait is how long the test waits, after add-partitions, for
// the replicas already in the group to apply the new partitions before two
// more join.
const selfPickupWait = 10 * time.Second

// timeline lists the replicas' assignment and barrier log lines after
// since, in time order.
func timeline(since time.Time, replicas []*svc) string {
	type line struct {
		at   float64
		text string
	}
	var lines []line
	for _, r := range replicas {
		b, _ := os.ReadFile(r.log)
		for _, l := range strings.Split(string(b), "\n") {
			var rec struct {
				TS        string `json:"ts"`
				Msg       string `json:"msg"`
				Partition *int32 `json:"partition"`
			}
			if json.Unmarshal([]byte(l), &rec) != nil {
				continue
			}
			switch {
			case strings.HasPrefix(rec.Msg, "partition assigned"), strings.HasPrefix(rec.Msg, "partition revoked"),
				strings.HasPrefix(rec.Msg, "partition at a barrier"), strings.HasPrefix(rec.Msg, "barrier passed"),
				strings.HasPrefix(rec.Msg, "apply running"), strings.HasPrefix(rec.Msg, "apply stopped"):
			default:
				continue
			}
			ts, err := time.Parse(time.RFC3339Nano, rec.TS)
			if err != nil || ts.Before(since) {
				continue
			}
			p := ""
			if rec.Partition != nil {
				p = fmt.Sprintf(" p%d", *rec.Partition)
			}
			lines = append(lines, line{ts.Sub(since).Seconds(), fmt.Sprintf("%s: %s%s", r.name, rec.Msg, p)})
		}
	}
	slices.SortStableFunc(lines, func(a, b line) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "  %6.2f %s\n", l.at, l.text)
	}
	return b.String()
}

// TestScalingGuardControl proves the order guard can fail: the same key's
// changes split over two partitions, the newer ones applied first. Without
// a barrier the guard must record violations; with the barrier records
// add-partitions writes, the same timing must produce none.
func TestScalingGuardControl(t *testing.T) {
	for _, withBarrier := range []bool{false, true} {
		name := "without barrier"
		if withBarrier {
			name = "with barrier"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.exec(e.mconn, accountsMaria)
			e.exec(e.mconn, orderGuard...)
			topic := e.topic("accounts")
			e.createTopic(topic, 2)
			manual, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
			if err != nil {
				t.Fatal(err)
			}
			defer manual.Close()
			produce := func(p int32, recs ...*kgo.Record) {
				t.Helper()
				for _, r := range recs {
					r.Partition = p
				}
				if err := manual.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			// Key 1: versions 1..5 were written before the topic grew (old
			// partition 0), versions 6..10 after (new partition 1).
			var evs []event.Event
			for v := int64(1); v <= 10; v++ {
				ev := event.Event{Op: event.OpUpdate, Database: "shop", Table: "accounts", Columns: accountCols, Key: []int{0},
					After: []event.Value{event.IntValue(1), event.IntValue(v), event.DecimalValue(fmt.Sprintf("%d.00", v)), event.StringValue(fmt.Sprintf("v%d", v))}}
				if v == 1 {
					ev.Op = event.OpInsert
				} else {
					ev.Before = evs[v-2].After
				}
				evs = append(evs, ev)
			}
			older := records(t, topic, &maxwell.Encoder{}, evs[:5])
			newer := records(t, topic, &maxwell.Encoder{}, evs[5:])
			final := []string{"1|10|10.00|v10"}
			barrier := func() *kgo.Record {
				v, _ := json.Marshal(consume.Barrier{ID: "control-1", Partitions: 2})
				return &kgo.Record{Topic: topic, Value: v, Headers: []kgo.RecordHeader{{Key: consume.HeaderControl, Value: []byte(consume.ControlBarrier)}}}
			}
			if withBarrier {
				produce(1, append([]*kgo.Record{barrier()}, newer...)...)
			} else {
				produce(1, newer...)
			}
			e.runApply(e.applyConfig("mysql", "control", topic))
			// The newer changes go first: applied (no barrier), or held at
			// the barrier.
			time.Sleep(2 * time.Second)
			held := rowsText(t, e.mconn, accountsQuery)
			if withBarrier {
				if len(held) != 0 {
					t.Fatalf("partition 1 passed the barrier before partition 0 reached it: target holds %q", held)
				}
				produce(0, append(older, barrier())...)
			} else {
				if len(held) != 1 {
					t.Fatalf("partition 1 was not applied: target holds %q", held)
				}
				produce(0, older...)
			}
			e.waitApplied(e.mconn, "mysql", "control", topic)
			n, sample := violations(t, e.mconn)
			got := rowsText(t, e.mconn, accountsQuery)
			if withBarrier {
				if n != 0 {
					t.Fatalf("with the barrier: %d violations %q", n, sample)
				}
				if !slices.Equal(got, final) {
					t.Fatalf("with the barrier the target holds %q, want %q", got, final)
				}
				t.Logf("with barrier: violations=0, key 1 ends at %q", got)
				return
			}
			if n == 0 {
				t.Fatalf("the guard recorded no violation although versions 1..5 were applied after 6..10 (target %q): the detector is broken", got)
			}
			t.Logf("without barrier: the guard caught %d violations (first %q); target %q instead of %q", n, sample, got, final)
		})
	}
}

// versionWriter changes the source's accounts table: hot keys are updated
// over and over, churn keys inserted and deleted; every change of a key
// sets its version one higher than the key's last.
type versionWriter struct {
	db                        *sql.DB
	hot, churn                int
	rng                       *rand.Rand
	ver                       map[int64]int64
	live                      map[int64]bool
	updates, inserts, deletes atomic.Int64
}

func newVersionWriter(db *sql.DB, hot, churn int) *versionWriter {
	return &versionWriter{db: db, hot: hot, churn: churn, rng: rand.New(rand.NewPCG(42, 7)), ver: map[int64]int64{}, live: map[int64]bool{}}
}

func (w *versionWriter) seed() error {
	tx, err := w.db.Begin()
	if err != nil {
		return err
	}
	for id := int64(1); id <= int64(w.hot); id++ {
		w.ver[id] = 1
		w.live[id] = true
		if _, err := tx.Exec("INSERT INTO accounts VALUES (?, 1, 100.00, ?)", id, fmt.Sprintf("hot-%d", id)); err != nil {
			tx.Rollback()
			return err
		}
	}
	w.inserts.Add(int64(w.hot))
	return tx.Commit()
}

// step writes one transaction: four updates of hot keys and one insert or
// delete of a churn key.
func (w *versionWriter) step() error {
	tx, err := w.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit: no-op
	for range 4 {
		id := int64(w.rng.IntN(w.hot) + 1)
		w.ver[id]++
		if _, err := tx.Exec("UPDATE accounts SET version = ?, balance = ?, owner = ? WHERE id = ?",
			w.ver[id], fmt.Sprintf("%d.%02d", w.rng.IntN(100000), w.rng.IntN(100)), fmt.Sprintf("hot-%d-v%d", id, w.ver[id]), id); err != nil {
			return err
		}
	}
	id := int64(1000 + w.rng.IntN(w.churn) + 1)
	w.ver[id]++
	if w.live[id] {
		_, err = tx.Exec("DELETE FROM accounts WHERE id = ?", id)
	} else {
		_, err = tx.Exec("INSERT INTO accounts VALUES (?, ?, ?, ?)", id, w.ver[id], fmt.Sprintf("%d.00", w.rng.IntN(1000)), fmt.Sprintf("churn-%d-v%d ✓", id, w.ver[id]))
	}
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	w.updates.Add(4)
	if w.live[id] {
		w.deletes.Add(1)
	} else {
		w.inserts.Add(1)
	}
	w.live[id] = !w.live[id]
	return nil
}

func (w *versionWriter) run(ctx context.Context, pause time.Duration) error {
	for ctx.Err() == nil {
		if err := w.step(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
	return ctx.Err()
}

// topicSummary is what a read_committed reader finds in a topic.
type topicSummary struct {
	next     map[int32]int64 // offset after the last record, by partition
	count    map[int32]int   // records by partition
	records  int
	barriers int
	moved    int // keys with records in more than one partition
}

// readTopic reads the whole topic with read_committed until it has been
// quiet for two seconds.
func readTopic(t *testing.T, brokers []string, topic string) topicSummary {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	s := topicSummary{next: map[int32]int64{}, count: map[int32]int{}}
	parts := map[string]map[int32]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			s.records++
			s.count[r.Partition]++
			s.next[r.Partition] = max(s.next[r.Partition], r.Offset+1)
			for _, h := range r.Headers {
				if h.Key == consume.HeaderControl {
					s.barriers++
					return
				}
			}
			if parts[string(r.Key)] == nil {
				parts[string(r.Key)] = map[int32]bool{}
			}
			parts[string(r.Key)][r.Partition] = true
		})
		if n == 0 {
			break
		}
	}
	for _, ps := range parts {
		if len(ps) > 1 {
			s.moved++
		}
	}
	return s
}

func waitTopic(t *testing.T, adm *kadm.Client, topic string, partitions int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		td, err := adm.ListTopics(context.Background(), topic)
		if err == nil && len(td[topic].Partitions) == partitions {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s with %d partitions did not appear within %s (%v)", topic, partitions, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// buildCapture builds capture/cmd/capture once per test binary.
func buildCapture(t *testing.T) string {
	return testenv.Binary(t, "github.com/sluice-cdc/sluice/capture/cmd/capture")
}

// svc is a capture or apply process of a test, logging to a file.
type svc struct {
	*testenv.Process
	name, log string
}

func startSvc(t *testing.T, name, dir string, env []string, bin string, args ...string) *svc {
	t.Helper()
	s := &svc{name: name, log: filepath.Join(dir, name+".log")}
	f, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	s.Process = testenv.StartProcess(t, cmd, func(line string) { fmt.Fprintln(f, line) })
	t.Cleanup(func() {
		s.Kill()
		f.Close()
		if t.Failed() {
			t.Logf("%s log tail:\n%s", s.name, s.tail(20))
		}
	})
	return s
}

// waitLog waits for a JSON log line whose msg is msg.
func (s *svc) waitLog(t *testing.T, msg string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if s.logged(msg) > 0 {
			return
		}
		select {
		case <-s.Done():
			t.Fatalf("%s exited (%v) before logging %q:\n%s", s.name, s.Err(), msg, s.tail(20))
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("%s did not log %q within %s:\n%s", s.name, msg, timeout, s.tail(20))
}

// logged counts the JSON log lines whose msg is msg.
func (s *svc) logged(msg string) int {
	f, err := os.Open(s.log)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == msg {
			n++
		}
	}
	return n
}

// stop sends SIGTERM and waits for the exit.
func (s *svc) stop(t *testing.T) error {
	t.Helper()
	return s.Stop(45 * time.Second)
}

func (s *svc) tail(n int) string { return tailFile(s.log, n) }
