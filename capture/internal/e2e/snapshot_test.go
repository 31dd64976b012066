package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// snapshotYAML is the e2e capture config starting at latest with an
// initial snapshot of chunk rows per chunk.
func snapshotYAML(t *testing.T, c captureConfig, chunk int) string {
	y := strings.Replace(c.yaml(), "start: {default: earliest}", fmt.Sprintf("start: {default: latest}\nsnapshot: {mode: initial, chunk_size: %d}", chunk), 1)
	p := filepath.Join(t.TempDir(), "capture.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// snapMsg is what the snapshot validator needs of a Maxwell message.
type snapMsg struct {
	Type string         `json:"type"`
	Data map[string]any `json:"data"`
}

// replay is the topic replayed into a map keyed by id, checking that no
// row goes back to an older version (v only grows in the source) and that
// no deleted row comes back.
type replay struct {
	rows       map[int64]int64
	deleted    map[int64]bool
	bootstrap  int
	starts     int
	completes  int
	streamed   int
	problems   []string
	bootTimes  []time.Time
	otherTimes []time.Time
}

func newReplay() *replay { return &replay{rows: map[int64]int64{}, deleted: map[int64]bool{}} }

func num(v any) int64 {
	f, _ := v.(json.Number).Int64()
	return f
}

func (r *replay) add(rec *kgo.Record) {
	var m snapMsg
	d := json.NewDecoder(strings.NewReader(string(rec.Value)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		r.problems = append(r.problems, fmt.Sprintf("offset %d: %v", rec.Offset, err))
		return
	}
	switch m.Type {
	case "bootstrap-start":
		r.starts++
		return
	case "bootstrap-complete":
		r.completes++
		return
	}
	id, v := num(m.Data["id"]), num(m.Data["v"])
	switch m.Type {
	case "bootstrap-insert":
		r.bootstrap++
		r.bootTimes = append(r.bootTimes, rec.Timestamp)
	default:
		r.streamed++
	}
	if m.Type == "delete" {
		delete(r.rows, id)
		r.deleted[id] = true
		return
	}
	if r.deleted[id] {
		r.problems = append(r.problems, fmt.Sprintf("id %d: %s of v%d after its delete (stale row resurrected)", id, m.Type, v))
	}
	if old, ok := r.rows[id]; ok && v < old {
		r.problems = append(r.problems, fmt.Sprintf("id %d: %s went back from v%d to v%d", id, m.Type, old, v))
	}
	r.rows[id] = v
}

// readTopic reads a topic read_committed until it has been quiet for
// settle.
func readTopic(t *testing.T, brokers []string, topic string, settle time.Duration, each func(*kgo.Record)) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	quiet := time.Now()
	for time.Since(quiet) < settle {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) { quiet = time.Now(); each(r) })
	}
}

// sourceRows is the table as id -> v.
func sourceRows(t *testing.T, db *sql.DB, table string) map[int64]int64 {
	t.Helper()
	rows, err := db.Query("SELECT id, v FROM " + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var id, v int64
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		out[id] = v
	}
	return out
}

// fillTable creates table (id PK, v version, pad) with n rows.
func fillTable(t *testing.T, db *sql.DB, table string, n int) {
	t.Helper()
	if _, err := db.Exec("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad VARCHAR(40) NOT NULL, d DECIMAL(12,3), ts DATETIME(6)) ENGINE=InnoDB"); err != nil {
		t.Fatal(err)
	}
	const batch = 2000
	for from := 1; from <= n; from += batch {
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (id, v, pad, d, ts) VALUES ")
		for id := from; id < from+batch && id <= n; id++ {
			if id > from {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "(%d,1,'row-%d-padding-padding',%d.125,'2024-01-02 03:04:05.000006')", id, id, id)
		}
		if _, err := db.Exec(b.String()); err != nil {
			t.Fatal(err)
		}
	}
}

func compare(t *testing.T, got, want map[int64]int64) {
	t.Helper()
	bad := 0
	for id, v := range want {
		if g, ok := got[id]; !ok || g != v {
			if bad++; bad <= 10 {
				t.Errorf("id %d: topic has v%d (present %v), source v%d", id, g, ok, v)
			}
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			if bad++; bad <= 10 {
				t.Errorf("id %d is in the topic but deleted in the source", id)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d rows differ between the replayed topic (%d rows) and the source (%d rows)", bad, len(got), len(want))
	}
}

// snapshotRows is SLUICE_SNAPSHOT_ROWS, else def.
func snapshotRows(def int) int {
	if s := os.Getenv("SLUICE_SNAPSHOT_ROWS"); s != "" {
		n, _ := strconv.Atoi(s)
		return n
	}
	return def
}

// rowWriter updates (update, with the id as its parameter) and now and
// then deletes random rows 1..n of table t until stopped.
type rowWriter struct {
	stopped          atomic.Bool
	done             chan error
	updates, deletes atomic.Int64
}

func startRowWriter(ctx context.Context, db *sql.DB, n int, update string) *rowWriter {
	w := &rowWriter{done: make(chan error, 1)}
	go func() {
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
		for !w.stopped.Load() {
			q, c := update, &w.updates
			if rng.IntN(10) == 0 {
				q, c = "DELETE FROM t WHERE id = ?", &w.deletes
			}
			if _, err := db.ExecContext(ctx, q, 1+rng.IntN(n)); err != nil {
				w.done <- err
				return
			}
			c.Add(1)
			time.Sleep(200 * time.Microsecond)
		}
		w.done <- nil
	}()
	return w
}

// stop ends the writes and returns the writer's error.
func (w *rowWriter) stop() error {
	w.stopped.Store(true)
	return <-w.done
}

// killDuringSnapshot kills capture (-9) up to kills times, each soon
// after the run copied a chunk, and restarts it; it stops early when the
// snapshot completed. It returns the running capture and the kills made.
func killDuringSnapshot(t *testing.T, log *captureLog, kills int, p *captureProc, restart func() *captureProc) (*captureProc, int) {
	t.Helper()
	start := time.Now()
	killed := 0
	for i := 0; i < kills; i++ {
		run := fmt.Sprintf("[run %d]", i+1)
		if log.waitFor(60*time.Second, run, "snapshot progress") == "" {
			t.Fatalf("run %d copied no chunk:\n%s", i+1, log.tail(20))
		}
		// A short random delay: a fixed one let a fast machine finish
		// the whole table before the last kill.
		time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
		if log.waitFor(10*time.Millisecond, "snapshot of table complete") != "" {
			break
		}
		p.Kill()
		killed++
		t.Logf("kill %d at %s", killed, time.Since(start).Round(time.Millisecond))
		p = restart()
	}
	return p, killed
}

// TestSnapshotUnderWritesAndKills snapshots a table while a writer updates
// and deletes random rows of it, killing capture (-9) mid-snapshot several
// times. Replaying the topic must give exactly the source table, no row
// may go back to an older version or come back after its delete, and the
// snapshot rows may exceed the table by at most one chunk per kill.
// SLUICE_SNAPSHOT_ROWS sets the table size (default 200000).
func TestSnapshotUnderWritesAndKills(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	n := snapshotRows(200000)
	kills := 5
	chunk := 5000
	m := testenv.SharedMariaDB(t)
	k := testenv.SharedKafka(t)
	bin := buildCapture(t)
	ctx := t.Context()
	dbName := m.CreateDatabase(t)
	db, err := m.Open(dbName)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Now()
	fillTable(t, db, "t", n)
	t.Logf("filled %d rows in %s", n, time.Since(t0).Round(time.Millisecond))

	cfg := captureConfig{name: "s" + strings.TrimPrefix(dbName, "t_"), addrs: []string{m.Addr()}, user: m.User(),
		db: dbName, brokers: k.Brokers(), format: "maxwell"}
	path := snapshotYAML(t, cfg, chunk)
	log := newCaptureLog(t)

	w := startRowWriter(ctx, db, n, "UPDATE t SET v = v + 1 WHERE id = ?")
	start := time.Now()
	p, killed := killDuringSnapshot(t, log, kills, startCapture(t, bin, path, m.Password(), log),
		func() *captureProc { return startCapture(t, bin, path, m.Password(), log) })
	if killed < kills {
		t.Errorf("the snapshot finished after %d kills, want %d mid-snapshot kills", killed, kills)
	}
	log.waitFor(5*time.Minute, "snapshot of table complete")
	snapDur := time.Since(start)
	if err := w.stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // let the stream catch up with the last writes
	if code := p.stop(30 * time.Second); code != 0 {
		t.Fatalf("capture exit %d:\n%s", code, log.tail(30))
	}
	t.Logf("snapshot took %s with %d kills and %d concurrent writes", snapDur.Round(time.Millisecond), kills, w.updates.Load()+w.deletes.Load())

	for _, l := range log.lines() {
		if strings.Contains(l, "resuming snapshot") {
			i := strings.Index(l, `"table"`)
			t.Logf("%s ... %s", l[:9], l[i:])
		}
	}
	r := newReplay()
	readTopic(t, k.Brokers(), cfg.topic("t"), 5*time.Second, r.add)
	for _, p := range r.problems[:min(len(r.problems), 10)] {
		t.Error(p)
	}
	if len(r.problems) > 0 {
		t.Fatalf("%d ordering problems", len(r.problems))
	}
	compare(t, r.rows, sourceRows(t, db, "t"))
	if r.completes != 1 {
		t.Errorf("bootstrap-complete %d times, want 1", r.completes)
	}
	if maxRows := n + kills*chunk; r.bootstrap > maxRows {
		t.Errorf("%d bootstrap-insert rows, more than the %d rows plus one chunk per kill (%d)", r.bootstrap, n, maxRows)
	}
	t.Logf("topic: %d bootstrap-insert (table had %d rows at start, at most %d allowed), %d bootstrap-start, %d streamed changes; final %d rows == source",
		r.bootstrap, n, n+kills*chunk, r.starts, r.streamed, len(r.rows))
}

// TestSnapshotOnDemand: a capture streams two tables; `capture snapshot`
// asks for one of them, whose rows existed before capture started; the
// other keeps streaming while the snapshot runs.
func TestSnapshotOnDemand(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const n = 50000
	m := testenv.SharedMariaDB(t)
	k := testenv.SharedKafka(t)
	bin := buildCapture(t)
	ctx := t.Context()
	dbName := m.CreateDatabase(t)
	db, err := m.Open(dbName)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fillTable(t, db, "big", n)
	if _, err := db.Exec("CREATE TABLE live (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	cfg := captureConfig{name: "o" + strings.TrimPrefix(dbName, "t_"), addrs: []string{m.Addr()}, user: m.User(),
		db: dbName, brokers: k.Brokers(), format: "maxwell"}
	y := strings.Replace(cfg.yaml(), "start: {default: earliest}", "start: {default: latest}\nsnapshot: {mode: never, chunk_size: 1000}", 1)
	path := filepath.Join(t.TempDir(), "capture.yaml")
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	log := newCaptureLog(t)
	p := startCapture(t, bin, path, m.Password(), log)
	log.waitFor(60*time.Second, "capture running")
	time.Sleep(2 * time.Second)

	var stop atomic.Bool
	done := make(chan int)
	go func() {
		i := 0
		for !stop.Load() {
			i++
			if _, err := db.ExecContext(ctx, "INSERT INTO live VALUES (?, 1)", i); err != nil {
				t.Error(err)
				i--
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		done <- i
	}()
	time.Sleep(time.Second)
	cmd := exec.Command(bin, "snapshot", "--config", path, "--table", dbName+".big")
	cmd.Env = append(os.Environ(), "E2E_SOURCE_PASSWORD="+m.Password())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("capture snapshot: %v\n%s", err, out)
	}
	t.Logf("capture snapshot: %s", strings.TrimSpace(string(out)))
	log.waitFor(2*time.Minute, "snapshot of table complete")
	time.Sleep(time.Second)
	stop.Store(true)
	live := <-done
	time.Sleep(2 * time.Second)
	if code := p.stop(30 * time.Second); code != 0 {
		t.Fatalf("capture exit %d:\n%s", code, log.tail(30))
	}

	r := newReplay()
	readTopic(t, k.Brokers(), cfg.topic("big"), 5*time.Second, r.add)
	if len(r.problems) > 0 {
		t.Fatal(r.problems[0])
	}
	compare(t, r.rows, sourceRows(t, db, "big"))
	if r.bootstrap != n || r.starts != 1 || r.completes != 1 {
		t.Fatalf("bootstrap rows %d (want %d), starts %d, completes %d", r.bootstrap, n, r.starts, r.completes)
	}
	first, last := r.bootTimes[0], r.bootTimes[len(r.bootTimes)-1]
	// The other table streamed during the snapshot: its records' times
	// fall inside the snapshot's window.
	liveIDs, during := map[int64]bool{}, 0
	readTopic(t, k.Brokers(), cfg.topic("live"), 3*time.Second, func(rec *kgo.Record) {
		var msg snapMsg
		d := json.NewDecoder(strings.NewReader(string(rec.Value)))
		d.UseNumber()
		if d.Decode(&msg) == nil {
			liveIDs[num(msg.Data["id"])] = true
		}
		if !rec.Timestamp.Before(first) && !rec.Timestamp.After(last) {
			during++
		}
	})
	if len(liveIDs) != live {
		t.Fatalf("live: %d rows in the topic, %d inserted", len(liveIDs), live)
	}
	if during == 0 && last.Sub(first) > 500*time.Millisecond {
		t.Fatalf("no change of the live table was published during the %s snapshot", last.Sub(first))
	}
	t.Logf("on-demand snapshot of %d rows in %s; %d live-table changes published inside that window, %d in total", n, last.Sub(first).Round(time.Millisecond), during, live)
}
