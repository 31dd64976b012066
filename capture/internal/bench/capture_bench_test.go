package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/capture/internal/binlog"
	"github.com/sluice-cdc/sluice/capture/internal/pipeline"
	"github.com/sluice-cdc/sluice/capture/internal/publish"
	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m, testenv.NeedMariaDB, testenv.NeedKafka) }

// rowsWanted is the workload size: SLUICE_BENCH_ROWS, default 1,000,000.
func rowsWanted() int {
	if n, err := strconv.Atoi(os.Getenv("SLUICE_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// workload fills a fresh table with n small rows (10 columns, like the
// encoding benchmarks' event) in transactions of 1000, and returns the
// GTID position before the inserts.
func workload(b *testing.B, n int) (m *testenv.MariaDB, db, from string) {
	m = testenv.SharedMariaDB(b)
	db = m.CreateDatabase(b)
	conn, err := m.Open(db)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT, sku VARCHAR(32),
		qty INT UNSIGNED, price DECIMAL(10,2), status ENUM('new','paid','shipped'), note TEXT,
		created_at DATETIME(6), updated_at TIMESTAMP NULL, weight DOUBLE)`); err != nil {
		b.Fatal(err)
	}
	gtid, err := m.GTIDPosition(ctx)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	const tx = 1000
	for i := 0; i < n; i += tx {
		// The sequence engine generates the rows server-side; each INSERT
		// is one source transaction of tx rows.
		q := fmt.Sprintf(`INSERT INTO orders SELECT seq, seq %% 5000, CONCAT('SKU-', seq), seq %% 7, (seq %% 100000) / 100,
			ELT(1 + seq %% 3, 'new', 'paid', 'shipped'), 'leave at the door', '2026-11-23 10:00:00.123456' + INTERVAL seq SECOND,
			'2026-11-23 10:00:00', seq / 3 FROM seq_%d_to_%d`, i+1, min(i+tx, n))
		if _, err := conn.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("workload: %d rows in %d transactions written in %s", n, (n+tx-1)/tx, time.Since(start).Round(time.Millisecond))
	return m, db, "gtid:" + gtid
}

// counter ends the run when every row has been committed to Kafka.
type counter struct {
	events atomic.Int64
	want   int64
	done   chan struct{}
	closed atomic.Bool
}

func (c *counter) Events(_, _ string, _ event.Op, n int) {
	if c.events.Add(int64(n)) >= c.want && c.closed.CompareAndSwap(false, true) {
		close(c.done)
	}
}
func (c *counter) Committed(int64) {}
func (c *counter) Error(string)    {}

// usage is CPU time and peak RSS of this process so far.
func usage() (cpu time.Duration, maxRSSMB float64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return cpu, float64(ru.Maxrss) / 1024
}

func binlogConfig(m *testenv.MariaDB, db string) binlog.Config {
	return binlog.Config{
		Addrs: []string{m.Addr()}, User: m.User(), Password: m.Password(), ServerID: 9100,
		Tables: func(d, _ string) bool { return d == db },
		Logger: zap.NewNop(),
	}
}

// BenchmarkCaptureBinlogOnly is the peer baseline: the binlog reader alone
// (go-mysql parsing plus Sluice's exact conversion), items discarded.
func BenchmarkCaptureBinlogOnly(b *testing.B) {
	n := rowsWanted()
	m, db, from := workload(b, n)
	for b.Loop() {
		r, err := binlog.New(binlogConfig(m, db))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan source.Item, 1024)
		errc := make(chan error, 1)
		cpu0, _ := usage()
		start := time.Now()
		go func() { errc <- r.Run(ctx, from, out) }()
		rows := 0
		for rows < n {
			select {
			case it := <-out:
				if it.Kind == source.Row {
					rows++
				}
			case err := <-errc:
				b.Fatal(err)
			}
		}
		el := time.Since(start)
		cancel()
		<-errc
		cpu1, rss := usage()
		report(b, "binlog only", n, el, cpu1-cpu0, rss)
	}
}

func BenchmarkCaptureToKafkaMaxwell(b *testing.B)  { benchCapture(b, "maxwell") }
func BenchmarkCaptureToKafkaDebezium(b *testing.B) { benchCapture(b, "debezium") }

func benchCapture(b *testing.B, style string) {
	n := rowsWanted()
	m, db, from := workload(b, n)
	k := testenv.SharedKafka(b)
	for b.Loop() {
		r, err := binlog.New(binlogConfig(m, db))
		if err != nil {
			b.Fatal(err)
		}
		cnt := &counter{want: int64(n), done: make(chan struct{})}
		cfg := publish.Config{
			Kafka: config.Kafka{Brokers: k.Brokers()}, CaptureName: "bench-" + db + "-" + style,
			TopicPrefix: "bench-" + db + "-" + style, Partitions: 3, ReplicationFactor: 1,
			Encoder: &maxwell.Encoder{}, Compression: "lz4", Metrics: cnt, Logger: zap.NewNop(),
		}
		if style == "debezium" {
			cfg.Encoder = &debezium.Encoder{}
		}
		pub, err := publish.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		cpu0, _ := usage()
		start := time.Now()
		go func() { errc <- pipeline.Run(ctx, pipeline.Config{From: from}, r, pub, zap.NewNop()) }()
		select {
		case <-cnt.done:
		case err := <-errc:
			b.Fatalf("capture stopped: %v", err)
		case <-time.After(10 * time.Minute):
			b.Fatalf("timeout: %d of %d events committed", cnt.events.Load(), n)
		}
		el := time.Since(start)
		cancel()
		<-errc
		pub.Close()
		cpu1, rss := usage()
		report(b, style+" to Kafka", n, el, cpu1-cpu0, rss)
	}
}

func report(b *testing.B, what string, n int, el, cpu time.Duration, rssMB float64) {
	rate := float64(n) / el.Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(cpu.Seconds(), "cpu-s")
	b.ReportMetric(rssMB, "peak-rss-MB")
	b.ReportMetric(0, "ns/op")
	fmt.Printf("capture bench %-20s %8d events in %6.2fs = %8.0f events/s, CPU %6.2fs, peak RSS %5.1f MB\n",
		what, n, el.Seconds(), rate, cpu.Seconds(), rssMB)
}
