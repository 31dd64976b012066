// Package metrics is apply's Prometheus instrumentation: the consume
// package reports through the consume.Metrics interface and this package
// turns it into series named sluice_apply_*.
package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-cdc/sluice/apply/internal/consume"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// Apply holds the series of one apply process.
type Apply struct {
	applied   *prometheus.CounterVec
	batchRows prometheus.Histogram
	batchSecs prometheus.Histogram
	skipped   *prometheus.CounterVec
	lag       *prometheus.GaugeVec
	errors    *prometheus.CounterVec
	stopped   *prometheus.GaugeVec
	zeroDates prometheus.Counter
	unmapped  *prometheus.CounterVec
}

var _ consume.Metrics = (*Apply)(nil)

// New registers the series on reg. group labels every series, so one
// Prometheus can tell the groups (targets) apart.
func New(reg prometheus.Registerer, group string) *Apply {
	reg = prometheus.WrapRegistererWith(prometheus.Labels{"group": group}, reg)
	m := &Apply{
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_apply_rows_total",
			Help: "Rows written to the target, by target table and op."}, []string{"table", "op"}),
		batchRows: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sluice_apply_batch_rows",
			Help: "Rows per written batch.", Buckets: prometheus.ExponentialBuckets(1, 4, 9)}),
		batchSecs: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sluice_apply_batch_seconds",
			Help: "Time to write one batch and its offset to the target.", Buckets: prometheus.ExponentialBuckets(0.001, 3, 10)}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_apply_skipped_total",
			Help: "Records without a row to write (tombstone, snapshot-marker, control, filtered), by topic and reason."}, []string{"topic", "reason"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sluice_apply_consumer_lag",
			Help: "Records behind the partition's high watermark at the last fetch."}, []string{"topic", "partition"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_apply_errors_total",
			Help: "Errors by kind: decode, map, write, retry, commit, fetch, dlq."}, []string{"kind"}),
		stopped: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sluice_apply_partition_stopped",
			Help: "1 while a partition is stopped by a record it cannot apply."}, []string{"topic", "partition"}),
		zeroDates: prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_apply_zero_dates_total",
			Help: "Zero dates written as NULL because the target cannot hold them."}),
		unmapped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_apply_unmapped_fields_total",
			Help: "MongoDB document fields left out because the SQL target table has no column for them (mapping.documents.unmapped_fields: ignore), by target table and field."},
			[]string{"table", "field"}),
	}
	reg.MustRegister(m.applied, m.batchRows, m.batchSecs, m.skipped, m.lag, m.errors, m.stopped, m.zeroDates, m.unmapped)
	for _, k := range []string{"decode", "map", "write", "retry", "commit", "fetch", "dlq"} {
		m.errors.WithLabelValues(k) // export zeros so alerts see the series
	}
	return m
}

func (m *Apply) Applied(table string, op event.Op, n int) {
	m.applied.WithLabelValues(table, op.String()).Add(float64(n))
}

func (m *Apply) Batch(rows int, seconds float64) {
	m.batchRows.Observe(float64(rows))
	m.batchSecs.Observe(seconds)
}

func (m *Apply) Skipped(topic, reason string) { m.skipped.WithLabelValues(topic, reason).Inc() }

func (m *Apply) Lag(topic string, p int32, lag int64) {
	m.lag.WithLabelValues(topic, strconv.Itoa(int(p))).Set(float64(max(lag, 0)))
}

func (m *Apply) Error(kind string) { m.errors.WithLabelValues(kind).Inc() }

func (m *Apply) Stopped(topic string, p int32, stopped bool) {
	v := 0.0
	if stopped {
		v = 1
	}
	m.stopped.WithLabelValues(topic, strconv.Itoa(int(p))).Set(v)
}

// ZeroDate counts one zero date written as NULL; sinks take it as a hook.
func (m *Apply) ZeroDate() { m.zeroDates.Inc() }

// UnmappedField counts one document field left out of a SQL row
// (docsql takes it as a hook).
func (m *Apply) UnmappedField(table, field string) { m.unmapped.WithLabelValues(table, field).Inc() }
