package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/capture/internal/binlog"
	"github.com/sluice-cdc/sluice/capture/internal/pipeline"
	"github.com/sluice-cdc/sluice/capture/internal/publish"
	"github.com/sluice-cdc/sluice/capture/internal/snapshot"
	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// snapRows counts the snapshot rows committed to Kafka.
type snapRows struct{ rows atomic.Int64 }

func (c *snapRows) Events(_, _ string, op event.Op, n int) {
	if op == event.OpSnapshot {
		c.rows.Add(int64(n))
	}
}
func (c *snapRows) Committed(int64) {}
func (c *snapRows) Error(string)    {}

// snapshotChunk is the chunk size of the benchmark: SLUICE_BENCH_CHUNK,
// default 0 (the reader's default).
func snapshotChunk() int {
	n, _ := strconv.Atoi(os.Getenv("SLUICE_BENCH_CHUNK"))
	return n
}

// BenchmarkSnapshot copies a table of SLUICE_BENCH_ROWS rows (default
// 1,000,000) already in MariaDB into a real Kafka broker with snapshot
// mode initial_only (Maxwell bootstrap-insert records, transactional
// publisher), as `capture run` does: every chunk read in its own
// consistent snapshot and emitted at its binlog position. CPU is this
// process's (reader, encoder, producer); peak RSS is the kernel's VmHWM
// reset before the measured phase.
func BenchmarkSnapshot(b *testing.B) {
	n := rowsWanted()
	m, db, _ := workload(b, n)
	k := testenv.SharedKafka(b)
	run := 0
	for b.Loop() {
		run++
		name := fmt.Sprintf("snapbench-%s-%d", db, run)
		cfg := binlogConfig(m, db)
		cnt := &snapRows{}
		pub, err := publish.New(publish.Config{
			Kafka: config.Kafka{Brokers: k.Brokers()}, CaptureName: name, TopicPrefix: name,
			Partitions: 3, ReplicationFactor: 1, Encoder: &maxwell.Encoder{}, Compression: "lz4",
			Metrics: cnt, Logger: zap.NewNop(),
		})
		if err != nil {
			b.Fatal(err)
		}
		cfg.Snapshot = &binlog.SnapshotConfig{
			ChunkSize: snapshotChunk(), Initial: true, InitialOnly: true, Resume: pub.StoredSnapshot,
		}
		r, err := binlog.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		testenv.ResetPeakRSS()
		cpu0, _ := usage()
		start := time.Now()
		err = pipeline.Run(context.Background(), pipeline.Config{}, r, pub, zap.NewNop())
		el := time.Since(start)
		cpu1, _ := usage()
		rss := testenv.PeakRSSMB()
		pub.Close()
		if !errors.Is(err, snapshot.ErrDone) {
			b.Fatalf("capture stopped: %v", err)
		}
		if got := cnt.rows.Load(); got != int64(n) {
			b.Fatalf("%d snapshot rows committed, want %d", got, n)
		}
		rate := float64(n) / el.Seconds()
		b.ReportMetric(rate, "rows/s")
		b.ReportMetric((cpu1 - cpu0).Seconds(), "cpu-s")
		b.ReportMetric(rss, "peak-rss-MB")
		b.ReportMetric(0, "ns/op")
		fmt.Printf("capture bench %-20s %8d rows   in %6.2fs = %8.0f rows/s,   CPU %6.2fs, peak RSS %5.1f MB\n",
			"snapshot to Kafka", n, el.Seconds(), rate, (cpu1 - cpu0).Seconds(), rss)
	}
}
