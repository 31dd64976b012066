// Command sluice-demo runs Sluice end to end on one machine: a private
// MariaDB source, MariaDB and PostgreSQL targets, a Kafka broker (kfake
// in-process by default, so no Java is needed; the real broker with
// DEMO_KAFKA=real), the capture binary and two apply groups. It writes a
// mixed workload, shows progress, and checks that both targets equal the
// source row by row. `make demo` builds the binaries and runs it.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluice-cdc/sluice/pkg/testenv"
)

func main() {
	captureBin := flag.String("capture", "bin/capture", "capture binary")
	applyBin := flag.String("apply", "bin/apply", "apply binary")
	orders := flag.Int("orders", 20000, "orders inserted before the mixed workload")
	bigTx := flag.Int("big-tx", 30000, "rows in the large transaction")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up when targets do not match source by then")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d := &demo{captureBin: *captureBin, applyBin: *applyBin, orders: *orders, bigTx: *bigTx, timeout: *timeout}
	err := d.run(ctx)
	if err != nil {
		d.keepDir = true // the services' logs explain the failure
	}
	d.cleanup()
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: FAILED: %v\n", err)
		if d.dir != "" {
			fmt.Fprintf(os.Stderr, "demo: logs are in %s\n", d.dir)
		}
		os.Exit(1)
	}
}

type demo struct {
	captureBin, applyBin string
	orders, bigTx        int
	timeout              time.Duration

	dir      string
	keepDir  bool
	cleanups []func()
	src      *sql.DB
	tgtMaria *sql.DB
	tgtPG    *sql.DB
	procs    []*exec.Cmd
	metrics  map[string]string // process name -> metrics address
	changes  int               // row changes written to the source
}

func (d *demo) cleanup() {
	for i := len(d.cleanups) - 1; i >= 0; i-- {
		d.cleanups[i]()
	}
}

func say(format string, args ...any) { fmt.Printf("demo: "+format+"\n", args...) }

func (d *demo) run(ctx context.Context) error {
	var err error
	for _, b := range []*string{&d.captureBin, &d.applyBin} {
		if *b, err = filepath.Abs(*b); err != nil {
			return err
		}
		if _, err := os.Stat(*b); err != nil {
			return fmt.Errorf("%s not built (run make demo, which builds it): %w", *b, err)
		}
	}
	if d.dir, err = os.MkdirTemp("", "sluice-demo-"); err != nil {
		return err
	}
	keep := os.Getenv("DEMO_KEEP") == "1"
	if !keep {
		d.cleanups = append(d.cleanups, func() {
			if !d.keepDir {
				os.RemoveAll(d.dir)
			}
		})
	}

	say("starting MariaDB source, MariaDB target and PostgreSQL target ...")
	src, err := testenv.StartMariaDB(ctx, testenv.MariaDBOptions{ServerID: 1})
	if err != nil {
		return fmt.Errorf("starting the MariaDB source: %w", err)
	}
	d.cleanups = append(d.cleanups, src.Remove)
	tgt, err := testenv.StartMariaDB(ctx, testenv.MariaDBOptions{ServerID: 2})
	if err != nil {
		return fmt.Errorf("starting the MariaDB target: %w", err)
	}
	d.cleanups = append(d.cleanups, tgt.Remove)
	pg, err := testenv.StartPostgres(ctx, testenv.PostgresOptions{})
	if err != nil {
		return fmt.Errorf("starting the PostgreSQL target: %w", err)
	}
	d.cleanups = append(d.cleanups, pg.Remove)

	brokers, kind, err := d.startKafka(ctx)
	if err != nil {
		return err
	}
	say("Kafka: %s at %s", kind, strings.Join(brokers, ","))

	if err := d.schema(ctx, src, tgt, pg); err != nil {
		return err
	}
	if err := d.startServices(ctx, src, tgt, pg, brokers); err != nil {
		return err
	}

	start := time.Now()
	progressCtx, stopProgress := context.WithCancel(ctx)
	go d.progress(progressCtx)
	err = d.workload(ctx)
	if err != nil {
		stopProgress()
		return fmt.Errorf("workload: %w", err)
	}
	say("workload done: %d row changes written to the source in %s; waiting for the targets", d.changes, time.Since(start).Round(time.Millisecond))
	err = d.waitMatch(ctx)
	stopProgress()
	if err != nil {
		return err
	}
	captured := d.metricSum("capture", "sluice_capture_events_total")
	toMaria := d.metricSum("apply-mariadb", "sluice_apply_rows_total")
	toPG := d.metricSum("apply-postgres", "sluice_apply_rows_total")
	say("end to end in %s", time.Since(start).Round(time.Millisecond))
	if extra := int64(toMaria) - int64(captured); extra > 0 && extra == int64(toPG)-int64(captured) {
		// Capture counts source row changes; apply counts the records it
		// applied, and a key change travels as a delete and an insert.
		say("(apply counts %d more rows than capture: the %d primary-key changes each travel as a delete of the old key and an insert of the new one)", extra, extra)
	}
	fmt.Printf("demo: %d changes captured, %d applied to mariadb, %d applied to postgres, targets match source\n", int64(captured), int64(toMaria), int64(toPG))

	if keep {
		d.cleanups = nil // leave everything running
		say("DEMO_KEEP=1: everything keeps running.")
		say("  source:   mysql -h127.0.0.1 -P%d -u%s -p%s shop", src.Port(), src.User(), src.Password())
		say("  mariadb:  mysql -h127.0.0.1 -P%d -u%s -p%s shop", tgt.Port(), tgt.User(), tgt.Password())
		say("  postgres: psql -h127.0.0.1 -p%d -U postgres demo", pg.Port())
		for name, addr := range d.metrics {
			say("  %s metrics: http://%s/metrics", name, addr)
		}
		say("  logs and configs: %s", d.dir)
		say("press Ctrl-C to stop everything.")
		<-ctx.Done()
		d.cleanups = append(d.cleanups, src.Remove, tgt.Remove, pg.Remove)
		d.stopServices()
	}
	return nil
}

func (d *demo) startKafka(ctx context.Context) ([]string, string, error) {
	if os.Getenv("DEMO_KAFKA") == "real" {
		k, err := testenv.StartKafka(ctx, testenv.KafkaOptions{})
		if err != nil {
			return nil, "", fmt.Errorf("starting the Kafka broker: %w", err)
		}
		d.cleanups = append(d.cleanups, k.Remove)
		return k.Brokers(), "Apache Kafka " + k.Version() + " (KRaft)", nil
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(3))
	if err != nil {
		return nil, "", fmt.Errorf("starting the embedded broker: %w", err)
	}
	d.cleanups = append(d.cleanups, c.Close)
	return c.ListenAddrs(), "embedded in-process broker (kfake; DEMO_KAFKA=real for Apache Kafka)", nil
}

const (
	customersDDL = "CREATE TABLE customers (id INT UNSIGNED PRIMARY KEY, email VARCHAR(120) NOT NULL, name VARCHAR(120), created_at DATETIME(6) NOT NULL)"
	ordersDDL    = "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT UNSIGNED NOT NULL, status ENUM('new','paid','shipped','cancelled') NOT NULL, total DECIMAL(12,2) NOT NULL, note TEXT, updated_at DATETIME(6) NOT NULL)"
	customersPG  = "CREATE TABLE customers (id bigint PRIMARY KEY, email varchar(120) NOT NULL, name varchar(120), created_at timestamp(6) NOT NULL)"
	ordersPG     = "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, status text NOT NULL, total numeric(12,2) NOT NULL, note text, updated_at timestamp(6) NOT NULL)"
)

func (d *demo) schema(ctx context.Context, src, tgt *testenv.MariaDB, pg *testenv.Postgres) error {
	var err error
	for _, m := range []*testenv.MariaDB{src, tgt} {
		db, err := m.Open("")
		if err != nil {
			return err
		}
		if _, err := db.ExecContext(ctx, "CREATE DATABASE shop"); err != nil {
			return fmt.Errorf("creating database shop: %w", err)
		}
		db.Close()
	}
	if d.src, err = src.Open("shop"); err != nil {
		return err
	}
	if d.tgtMaria, err = tgt.Open("shop"); err != nil {
		return err
	}
	pgAdmin, err := pg.Open("postgres")
	if err != nil {
		return err
	}
	defer pgAdmin.Close()
	if _, err := pgAdmin.ExecContext(ctx, "CREATE DATABASE demo"); err != nil {
		return fmt.Errorf("creating PostgreSQL database demo: %w", err)
	}
	if d.tgtPG, err = pg.Open("demo"); err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, func() { d.src.Close(); d.tgtMaria.Close(); d.tgtPG.Close() })
	for _, s := range []struct {
		db  *sql.DB
		ddl []string
	}{{d.src, []string{customersDDL, ordersDDL}}, {d.tgtMaria, []string{customersDDL, ordersDDL}}, {d.tgtPG, []string{customersPG, ordersPG}}} {
		for _, q := range s.ddl {
			if _, err := s.db.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
	}
	return nil
}

func (d *demo) write(name, content string) (string, error) {
	p := filepath.Join(d.dir, name)
	return p, os.WriteFile(p, []byte(content), 0o600)
}

func (d *demo) startServices(ctx context.Context, src, tgt *testenv.MariaDB, pg *testenv.Postgres, brokers []string) error {
	d.metrics = map[string]string{}
	bl := "[" + strings.Join(brokers, ", ") + "]"
	captureCfg, err := d.write("capture.yaml", captureConfig(src, bl))
	if err != nil {
		return err
	}
	mariaCfg, err := d.write("apply-mariadb.yaml", fmt.Sprintf(`group: demo-to-mariadb
topics: ["sluice\\.shop\\..*"]
topic_regex: true
target:
  kind: mysql
  dsn: "${DEMO_MARIADB_DSN}"
batch: {rows: 5000, linger: 50ms}
# new tables show up as topics while the demo runs
consumer: {topic_refresh: 2s}
kafka: {brokers: %s}
http: {listen: "127.0.0.1:0"}
`, bl))
	if err != nil {
		return err
	}
	pgCfg, err := d.write("apply-postgres.yaml", fmt.Sprintf(`group: demo-to-postgres
topics: ["sluice\\.shop\\..*"]
topic_regex: true
target:
  kind: postgres
  dsn: "${DEMO_PG_DSN}"
batch: {rows: 5000, linger: 50ms}
# new tables show up as topics while the demo runs
consumer: {topic_refresh: 2s}
kafka: {brokers: %s}
http: {listen: "127.0.0.1:0"}
`, bl))
	if err != nil {
		return err
	}
	env := append(os.Environ(),
		"DEMO_SOURCE_PASSWORD="+src.Password(),
		"DEMO_MARIADB_DSN="+tgt.DSN("shop"),
		"DEMO_PG_DSN="+pg.DSN("demo"),
	)
	if err := d.spawn(ctx, "capture", env, d.captureBin, "run", "--config", captureCfg); err != nil {
		return err
	}
	if err := d.spawn(ctx, "apply-mariadb", env, d.applyBin, "run", "--config", mariaCfg); err != nil {
		return err
	}
	return d.spawn(ctx, "apply-postgres", env, d.applyBin, "run", "--config", pgCfg)
}

func captureConfig(src *testenv.MariaDB, brokers string) string {
	return fmt.Sprintf(`name: demo
source:
  addrs: ["%s"]
  user: %s
  password: "${DEMO_SOURCE_PASSWORD}"
  server_id: 4242
include: ["shop.*"]
format: maxwell
topics: {partitions: 3}
start: {default: earliest}
kafka: {brokers: %s}
http: {listen: "127.0.0.1:0"}
`, src.Addr(), src.User(), brokers)
}

// spawn starts a service with its log in the demo directory and waits
// until its metrics endpoint answers (the address is read from its log).
func (d *demo) spawn(ctx context.Context, name string, env []string, bin string, args ...string) error {
	logPath := filepath.Join(d.dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	d.procs = append(d.procs, cmd)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	d.cleanups = append(d.cleanups, func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if addr := metricsAddr(logPath); addr != "" {
			d.metrics[name] = addr
			say("%s running (pid %d, metrics http://%s/metrics, log %s)", name, cmd.Process.Pid, addr, logPath)
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("%s exited at start (%v):\n%s", name, err, tail(logPath, 15))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not report its metrics address within 60s:\n%s", name, tail(logPath, 15))
}

func (d *demo) stopServices() {
	for _, c := range d.procs {
		_ = c.Process.Signal(syscall.SIGTERM)
	}
}

// metricsAddr finds the "metrics" field of the service's start-up log line.
func metricsAddr(logPath string) string {
	f, err := os.Open(logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, `"metrics":"`); i >= 0 {
			rest := line[i+len(`"metrics":"`):]
			if j := strings.IndexByte(rest, '"'); j > 0 {
				return rest[:j]
			}
		}
	}
	return ""
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// workload writes inserts, updates, deletes, a key change and a large
// transaction, counting the row changes.
func (d *demo) workload(ctx context.Context) error {
	rng := rand.New(rand.NewPCG(1, 2))
	ts := func() string {
		return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(30*24*time.Hour/time.Microsecond))) * time.Microsecond).Format("2006-01-02 15:04:05.000000")
	}
	exec := func(q string, args ...any) (int64, error) {
		r, err := d.src.ExecContext(ctx, q, args...)
		if err != nil {
			return 0, fmt.Errorf("%.60s: %w", q, err)
		}
		n, _ := r.RowsAffected()
		d.changes += int(n)
		return n, nil
	}
	insertMany := func(table string, cols int, rows [][]any) error {
		ph := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
		var args []any
		for _, r := range rows {
			args = append(args, r...)
		}
		_, err := exec("INSERT INTO "+table+" VALUES "+strings.TrimSuffix(strings.Repeat(ph+",", len(rows)), ","), args...)
		return err
	}
	const customers = 2000
	for i := 0; i < customers; i += 100 {
		var rows [][]any
		for j := i; j < i+100; j++ {
			name := any(fmt.Sprintf("Customer %d ✓", j))
			if j%17 == 0 {
				name = nil
			}
			rows = append(rows, []any{j + 1, fmt.Sprintf("c%d@example.com", j+1), name, ts()})
		}
		if err := insertMany("customers", 4, rows); err != nil {
			return err
		}
	}
	statuses := []string{"new", "paid", "shipped", "cancelled"}
	order := func(id int) []any {
		return []any{id, rng.IntN(customers) + 1, statuses[rng.IntN(4)], fmt.Sprintf("%d.%02d", rng.IntN(100000), rng.IntN(100)), fmt.Sprintf("order %d — note", id), ts()}
	}
	for i := 0; i < d.orders; i += 50 {
		var rows [][]any
		for j := i; j < min(i+50, d.orders); j++ {
			rows = append(rows, order(j+1))
		}
		if err := insertMany("orders", 6, rows); err != nil {
			return err
		}
	}
	say("inserted %d customers and %d orders", customers, d.orders)
	for range 3000 {
		if _, err := exec("UPDATE orders SET status = ?, total = total + 1.01, updated_at = ? WHERE id = ?", statuses[rng.IntN(4)], ts(), rng.IntN(d.orders)+1); err != nil {
			return err
		}
	}
	if _, err := exec("UPDATE customers SET name = CONCAT(name, ' (vip)') WHERE id % 10 = 0"); err != nil {
		return err
	}
	if _, err := exec("DELETE FROM orders WHERE id % 23 = 0"); err != nil {
		return err
	}
	if _, err := exec("DELETE FROM customers WHERE id > ?", customers-50); err != nil {
		return err
	}
	// Key changes: each is a delete of the old key and an upsert of the new
	// one downstream.
	if _, err := exec("UPDATE orders SET id = id + 10000000 WHERE id BETWEEN 1 AND 20"); err != nil {
		return err
	}
	say("updated, deleted and re-keyed rows")
	// One large source transaction.
	tx, err := d.src.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	base := 20000000
	for i := 0; i < d.bigTx; i += 500 {
		var rows [][]any
		var args []any
		for j := i; j < min(i+500, d.bigTx); j++ {
			rows = append(rows, order(base+j))
		}
		for _, r := range rows {
			args = append(args, r...)
		}
		ph := "(?,?,?,?,?,?)"
		if _, err := tx.ExecContext(ctx, "INSERT INTO orders VALUES "+strings.TrimSuffix(strings.Repeat(ph+",", len(rows)), ","), args...); err != nil {
			tx.Rollback()
			return err
		}
	}
	// Affected rows are changed rows (rows already 'paid' are not
	// changed and not in the binlog).
	res, err := tx.ExecContext(ctx, "UPDATE orders SET status = 'paid' WHERE id >= ? AND id < ?", base, base+d.bigTx/2)
	if err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	updated, _ := res.RowsAffected()
	d.changes += d.bigTx + int(updated)
	say("committed one transaction of %d inserts and an update of %d of them", d.bigTx, d.bigTx/2)
	return nil
}

// progress prints captured/applied counts and lag every second.
func (d *demo) progress(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastCap, lastMaria, lastPG float64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c := d.metricSum("capture", "sluice_capture_events_total")
		m := d.metricSum("apply-mariadb", "sluice_apply_rows_total")
		p := d.metricSum("apply-postgres", "sluice_apply_rows_total")
		lag := d.metricSum("apply-mariadb", "sluice_apply_consumer_lag") + d.metricSum("apply-postgres", "sluice_apply_consumer_lag")
		say("progress: captured %d (%d/s)  mariadb %d (%d/s)  postgres %d (%d/s)  consumer lag %d",
			int64(c), int64(c-lastCap), int64(m), int64(m-lastMaria), int64(p), int64(p-lastPG), int64(lag))
		lastCap, lastMaria, lastPG = c, m, p
	}
}

// metricSum adds every sample of a metric from a service's /metrics.
func (d *demo) metricSum(service, name string) float64 {
	addr := d.metrics[service]
	if addr == "" {
		return 0
	}
	cl := http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// Row forms that print the same on MariaDB and PostgreSQL.
var (
	mariaRows = map[string]string{
		"customers": "SELECT CONCAT_WS('|', id, email, IFNULL(name, '<null>'), DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f')) FROM customers ORDER BY id",
		"orders":    "SELECT CONCAT_WS('|', id, customer_id, status, total, IFNULL(note, '<null>'), DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f')) FROM orders ORDER BY id",
	}
	pgRows = map[string]string{
		"customers": "SELECT concat_ws('|', id, email, coalesce(name, '<null>'), to_char(created_at, 'YYYY-MM-DD HH24:MI:SS.US')) FROM customers ORDER BY id",
		"orders":    "SELECT concat_ws('|', id, customer_id, status, total, coalesce(note, '<null>'), to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.US')) FROM orders ORDER BY id",
	}
)

type digest struct {
	rows int
	sum  string
}

func checksum(ctx context.Context, db *sql.DB, q string) (digest, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return digest{}, err
	}
	defer rows.Close()
	h := sha256.New()
	n := 0
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return digest{}, err
		}
		h.Write([]byte(s))
		h.Write([]byte{'\n'})
		n++
	}
	return digest{n, hex.EncodeToString(h.Sum(nil))[:16]}, rows.Err()
}

// differences names up to ten differing rows per table and target, so a
// failed demo says what went wrong, not only that something did.
func (d *demo) differences(ctx context.Context) string {
	var out []string
	for _, table := range []string{"customers", "orders"} {
		want, err := rowsByID(ctx, d.src, mariaRows[table])
		if err != nil {
			return "\n  (listing differences: " + err.Error() + ")"
		}
		for _, t := range []struct {
			name string
			db   *sql.DB
			q    string
		}{{"mariadb", d.tgtMaria, mariaRows[table]}, {"postgres", d.tgtPG, pgRows[table]}} {
			got, err := rowsByID(ctx, t.db, t.q)
			if err != nil {
				return "\n  (listing differences: " + err.Error() + ")"
			}
			n := 0
			note := func(format string, args ...any) {
				if n++; n <= 10 {
					out = append(out, fmt.Sprintf("%s %s: ", t.name, table)+fmt.Sprintf(format, args...))
				}
			}
			for id, w := range want {
				switch g, ok := got[id]; {
				case !ok:
					note("missing %s", w)
				case g != w:
					note("differs: source %s, target %s", w, g)
				}
			}
			for id, g := range got {
				if _, ok := want[id]; !ok {
					note("extra %s", g)
				}
			}
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "\n  " + strings.Join(out, "\n  ")
}

// rowsByID reads a table in its printed row form, keyed by the id that
// starts each row.
func rowsByID(ctx context.Context, db *sql.DB, q string) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		id, _, _ := strings.Cut(s, "|")
		out[id] = s
	}
	return out, rows.Err()
}

// waitMatch polls until both targets hold exactly the source's rows.
func (d *demo) waitMatch(ctx context.Context) error {
	deadline := time.Now().Add(d.timeout)
	var last string
	for {
		ok := true
		var report []string
		for _, table := range []string{"customers", "orders"} {
			want, err := checksum(ctx, d.src, mariaRows[table])
			if err != nil {
				return fmt.Errorf("checksum of source %s: %w", table, err)
			}
			gotM, errM := checksum(ctx, d.tgtMaria, mariaRows[table])
			gotP, errP := checksum(ctx, d.tgtPG, pgRows[table])
			if err := errors.Join(errM, errP); err != nil {
				return fmt.Errorf("checksum of target %s: %w", table, err)
			}
			if gotM != want || gotP != want {
				ok = false
			}
			report = append(report, fmt.Sprintf("%s: source %d rows %s, mariadb %d rows %s, postgres %d rows %s",
				table, want.rows, want.sum, gotM.rows, gotM.sum, gotP.rows, gotP.sum))
		}
		last = strings.Join(report, "\n  ")
		if ok {
			say("row-by-row checksums match:\n  %s", last)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("targets do not match the source after %s:\n  %s%s", d.timeout, last, d.differences(ctx))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
