package metrics

import "github.com/prometheus/client_golang/prometheus"

// Snapshot holds the snapshot progress series, per table (db.table).
type Snapshot struct {
	rows, total, rate, eta, done *prometheus.GaugeVec
}

// NewSnapshot registers the snapshot series on reg under the constant
// label capture=name.
func NewSnapshot(reg prometheus.Registerer, name string) *Snapshot {
	reg = prometheus.WrapRegistererWith(prometheus.Labels{"capture": name}, reg)
	g := func(o prometheus.GaugeOpts) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(o, []string{"table"})
		reg.MustRegister(v)
		return v
	}
	return &Snapshot{
		rows: g(prometheus.GaugeOpts{Name: "sluice_capture_snapshot_rows",
			Help: "Rows of the table copied by its snapshot so far (committed chunks)."}),
		total: g(prometheus.GaugeOpts{Name: "sluice_capture_snapshot_rows_estimated",
			Help: "Estimated rows of the table (information_schema.TABLES.TABLE_ROWS when its snapshot started)."}),
		rate: g(prometheus.GaugeOpts{Name: "sluice_capture_snapshot_rows_per_second",
			Help: "Snapshot copy rate of the table in this run."}),
		eta: g(prometheus.GaugeOpts{Name: "sluice_capture_snapshot_eta_seconds",
			Help: "Estimated seconds until the table's snapshot completes."}),
		done: g(prometheus.GaugeOpts{Name: "sluice_capture_snapshot_complete",
			Help: "1 once the table's snapshot completed in this run, else 0."}),
	}
}

// Progress records one table's progress; safe for concurrent use.
func (s *Snapshot) Progress(table string, rows, total int64, rate, etaSec float64, done bool) {
	s.rows.WithLabelValues(table).Set(float64(rows))
	s.total.WithLabelValues(table).Set(float64(total))
	s.rate.WithLabelValues(table).Set(rate)
	s.eta.WithLabelValues(table).Set(etaSec)
	d := 0.0
	if done {
		d = 1
	}
	s.done.WithLabelValues(table).Set(d)
}
