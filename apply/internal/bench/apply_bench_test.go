package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/apply/internal/consume"
	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/apply/internal/sink/mysql"
	"github.com/sluice-cdc/sluice/apply/internal/sink/postgres"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.NeedMariaDB, testenv.NeedPostgres, testenv.NeedKafka)
}

func rowsWanted() int {
	if n, err := strconv.Atoi(os.Getenv("SLUICE_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

const partitions = 4

// topic fills a topic with n changes of the 10-column row the encoding
// benchmarks use: n/2 inserts, then n/2 updates of the same rows, keyed
// by primary key as capture writes them.
func topic(b *testing.B, brokers []string, n int) string {
	name := "bench-apply-" + testenv.UniqueName(b)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerBatchCompression(kgo.Lz4Compression()),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(100000))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), partitions, 1, nil, name); err != nil {
		b.Fatal(err)
	}
	ev := eventtest.Small()
	types := format.AppendTypes(nil, ev.Columns)
	hdrs := []kgo.RecordHeader{{Key: format.HeaderFormat, Value: []byte(format.Maxwell)}, {Key: format.HeaderTypes, Value: types}}
	var enc maxwell.Encoder
	start := time.Now()
	errc := make(chan error, 1)
	for i := range n {
		id := int64(i%(n/2) + 1)
		e := ev
		e.After = append([]event.Value(nil), ev.After...)
		e.After[0] = event.IntValue(id)
		e.After[1] = event.IntValue(int64(i))
		if i >= n/2 {
			// An update of the row inserted earlier: same key, the
			// before image is what the insert wrote.
			e.Op = event.OpUpdate
			e.Before = append([]event.Value(nil), e.After...)
			e.Before[1] = event.IntValue(int64(i - n/2))
		}
		key, _ := enc.AppendKey(nil, &e)
		val, _ := enc.AppendValue(nil, &e)
		cl.Produce(context.Background(), &kgo.Record{Topic: name, Key: key, Value: val, Headers: hdrs}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	select {
	case err := <-errc:
		b.Fatal(err)
	default:
	}
	b.Logf("produced %d records to %s in %s", n, name, time.Since(start).Round(time.Millisecond))
	return name
}

const ordersMaria = `CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT, sku VARCHAR(32), qty INT UNSIGNED,
	price DECIMAL(10,2), status ENUM('new','paid','shipped'), note TEXT, created_at DATETIME(6), updated_at TIMESTAMP NULL, weight DOUBLE)`

const ordersPG = `CREATE TABLE orders (id bigint PRIMARY KEY, customer_id integer, sku varchar(32), qty bigint,
	price numeric(10,2), status text, note text, created_at timestamp(6), updated_at timestamptz, weight double precision)`

func BenchmarkApplyMariaDB(b *testing.B) {
	m := testenv.SharedMariaDB(b)
	k := testenv.SharedKafka(b)
	n := rowsWanted()
	t := topic(b, k.Brokers(), n)
	for _, rows := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("batch=%d", rows), func(b *testing.B) {
			for b.Loop() {
				db := m.CreateDatabase(b)
				conn, _ := m.Open(db)
				if _, err := conn.Exec(ordersMaria); err != nil {
					b.Fatal(err)
				}
				conn.Close()
				s, err := mysql.New(context.Background(), mysql.Config{DSN: m.DSN(db)})
				if err != nil {
					b.Fatal(err)
				}
				run(b, k.Brokers(), t, s, n, rows, "mariadb")
				s.Close()
			}
		})
	}
}

func BenchmarkApplyPostgres(b *testing.B) {
	p := testenv.SharedPostgres(b)
	k := testenv.SharedKafka(b)
	n := rowsWanted()
	t := topic(b, k.Brokers(), n)
	for _, rows := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("batch=%d", rows), func(b *testing.B) {
			for b.Loop() {
				db := p.CreateDatabase(b)
				conn, _ := p.Open(db)
				if _, err := conn.Exec(ordersPG); err != nil {
					b.Fatal(err)
				}
				conn.Close()
				s, err := postgres.New(context.Background(), postgres.Config{DSN: p.DSN(db)})
				if err != nil {
					b.Fatal(err)
				}
				run(b, k.Brokers(), t, s, n, rows, "postgres")
				s.Close()
			}
		})
	}
}

// run consumes the whole topic into s and reports the rate.
func run(b *testing.B, brokers []string, topic string, s sink.Sink, n, batch int, target string) {
	group := "bench-" + testenv.UniqueName(b)
	met := &batches{}
	c, err := consume.New(consume.Config{ClientOpts: []kgo.Opt{kgo.SeedBrokers(brokers...)}, Group: group, Topics: []string{topic},
		BatchRows: batch, BatchBytes: 64 << 20, Linger: 50 * time.Millisecond, Logger: zap.NewNop(), Metrics: met}, s)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// The kernel's writeback of what the setup wrote (the topic, the last
	// run's table) is not part of this run's work.
	syscall.Sync()
	testenv.ResetPeakRSS()
	base := testenv.PeakRSSMB()
	cpu0, _ := usage()
	start := time.Now()
	go func() { done <- c.Run(ctx) }()
	per := int64(0)
	for {
		got, err := s.Offsets(context.Background(), group, topic)
		if err != nil {
			b.Fatal(err)
		}
		per = 0
		for _, o := range got {
			per += o
		}
		if per >= int64(n) {
			break
		}

		if time.Since(start) > 10*time.Minute {
			b.Fatalf("timeout: %d of %d applied", per, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	end := time.Now()
	el := end.Sub(start)
	cancel()
	<-done
	cpu1, _ := usage()
	rss := testenv.PeakRSSMB()
	rate := float64(n) / el.Seconds()
	b.ReportMetric(rate, "rows/s")
	b.ReportMetric((cpu1 - cpu0).Seconds(), "cpu-s")
	b.ReportMetric(rss, "peak-rss-MB")
	b.ReportMetric(0, "ns/op")
	met.mu.Lock()
	defer met.mu.Unlock()
	steady := float64(n) / end.Sub(met.first).Seconds()
	b.ReportMetric(steady, "steady-rows/s")
	fmt.Printf("apply bench %-9s batch %5d: %8d rows (half inserts, half updates) in %6.2fs = %8.0f rows/s (%8.0f rows/s from the first batch on: group join excluded), apply CPU %6.2fs, peak RSS %5.1f MB (%.0f MB before consuming); %d batches, mean %.0f rows, %.1f ms each in the target\n",
		target, batch, n, el.Seconds(), rate, steady, (cpu1 - cpu0).Seconds(), rss, base, met.n, float64(met.rows)/float64(max(met.n, 1)), 1000*met.secs/float64(max(met.n, 1)))
}

func usage() (time.Duration, float64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), float64(ru.Maxrss) / 1024
}

// batches sums what the consumer reports about written batches.
type batches struct {
	consume.NopMetrics
	mu   sync.Mutex
	n    int
	rows int
	secs float64
	// first is when the first batch began: the time before it is group
	// join and the first fetch, not applying.
	first time.Time
}

func (m *batches) Batch(rows int, seconds float64) {
	m.mu.Lock()
	if m.first.IsZero() {
		m.first = time.Now().Add(-time.Duration(seconds * float64(time.Second)))
	}
	m.n++
	m.rows += rows
	m.secs += seconds
	m.mu.Unlock()
}
