package service

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-cdc/sluice/capture/internal/publish"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// metrics implements publish.Metrics with Prometheus series named
// sluice_capture_*.
type metrics struct {
	events       *prometheus.CounterVec
	transactions prometheus.Counter
	errors       *prometheus.CounterVec
	lastSourceMs atomic.Int64
	lastCommitMs atomic.Int64
	onCommit     func()
}

var _ publish.Metrics = (*metrics)(nil)

func newMetrics(reg prometheus.Registerer, name string, onCommit func()) *metrics {
	reg = prometheus.WrapRegistererWith(prometheus.Labels{"capture": name}, reg)
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_capture_events_total",
			Help: "Row events made visible in Kafka (committed), by source table and op."}, []string{"table", "op"}),
		transactions: prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_capture_transactions_total",
			Help: "Kafka transactions committed (with transactions off: positions written)."}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_capture_errors_total",
			Help: "Errors by kind: fenced, transaction_timeout, produce, commit, encode, topic, position, source."}, []string{"kind"}),
		onCommit: onCommit,
	}
	reg.MustRegister(m.events, m.transactions, m.errors,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sluice_capture_source_lag_seconds",
			Help: "Now minus the source time of the last committed position (heartbeats keep it true on a quiet source); -1 before the first commit."},
			func() float64 {
				ms := m.lastSourceMs.Load()
				if ms == 0 {
					return -1
				}
				return max(time.Since(time.UnixMilli(ms)).Seconds(), 0)
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sluice_capture_last_committed_source_timestamp_seconds",
			Help: "Source time of the last committed position, Unix seconds."},
			func() float64 { return float64(m.lastSourceMs.Load()) / 1000 }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sluice_capture_last_commit_timestamp_seconds",
			Help: "When capture last committed to Kafka, Unix seconds."},
			func() float64 { return float64(m.lastCommitMs.Load()) / 1000 }),
	)
	for _, k := range []string{"fenced", "transaction_timeout", "produce", "commit", "encode", "topic", "position", "source"} {
		m.errors.WithLabelValues(k)
	}
	return m
}

func (m *metrics) Events(db, table string, op event.Op, n int) {
	m.events.WithLabelValues(db+"."+table, op.String()).Add(float64(n))
}

func (m *metrics) Committed(sourceTimeMs int64) {
	m.transactions.Inc()
	if sourceTimeMs > 0 {
		m.lastSourceMs.Store(sourceTimeMs)
	}
	m.lastCommitMs.Store(time.Now().UnixMilli())
	if m.onCommit != nil {
		m.onCommit()
	}
}

func (m *metrics) Error(kind string) { m.errors.WithLabelValues(kind).Inc() }
