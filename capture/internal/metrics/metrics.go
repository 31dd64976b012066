// Package metrics is capture's Prometheus instrumentation. The publisher
// reports through publish.Metrics (events made visible, commits, errors);
// the app reports what it sees of the source (the position and source time
// of every transaction boundary handed to the publisher, heartbeats
// included) and the server's binlog retention. From these it derives the
// source lag, the binlog position and the time-to-purge estimate.
//
// Every series is named sluice_capture_* and carries a constant label
// capture=<name>, so one Prometheus can tell the captures of several
// sources apart. Counters end in _total; lag, position and retention are
// gauges (pkg/obs).
//
// Why the lag needs heartbeats: the publisher writes a position only when
// it changed, so on a quiet source nothing is committed and a lag computed
// from commits alone would grow without bound while capture is in fact
// up to date. A heartbeat says "nothing after the last transaction, as of
// this time"; once every transaction read before it is committed, its time
// counts as committed for the lag.
package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-cdc/sluice/capture/internal/publish"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// ErrorKinds are the values of the kind label of sluice_capture_errors_total
// exported as zero from the start, so alerts see the series: the
// publisher's kinds (publish.Metrics) and the app's source kinds.
var ErrorKinds = []string{
	"fenced", "transaction_timeout", "produce", "commit", "encode", "topic", "position", "source",
	"source_interrupted", "source_failed",
}

// Capture holds the series of one capture process. Its methods are safe
// for concurrent use and never block.
type Capture struct {
	events       *prometheus.CounterVec
	transactions prometheus.Counter
	errors       *prometheus.CounterVec
	originDrops  *prometheus.CounterVec
	onCommit     func()
	now          func() time.Time // tests

	committedMs  atomic.Int64 // source time of the last committed position
	lastCommitMs atomic.Int64 // wall time of the last commit
	retentionSec atomic.Int64 // binlog retention, -1 unknown, 0 never expires

	mu sync.Mutex // guards the source-side state below
	// readCommitMs is the source time of the last Commit item handed to
	// the publisher; heartbeatMs the time of the last Heartbeat and
	// heartbeatAfterMs the readCommitMs when it was read.
	readCommitMs, heartbeatMs, heartbeatAfterMs int64
	position                                    string // last position read, pkg/position JSON
}

var _ publish.Metrics = (*Capture)(nil)

// New registers the series on reg under the constant label capture=name.
// onCommit, if not nil, runs after every commit (the app marks Kafka
// ready with it); it must not block.
func New(reg prometheus.Registerer, name string, onCommit func()) *Capture {
	reg = prometheus.WrapRegistererWith(prometheus.Labels{"capture": name}, reg)
	m := &Capture{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_capture_events_total",
			Help: "Row events made visible in Kafka (committed), by source table (db.table) and op. Events of aborted Kafka transactions are not counted: they are read again."},
			[]string{"table", "op"}),
		transactions: prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_capture_transactions_total",
			Help: "Kafka transactions committed, each with the capture position (with transactions off: positions written)."}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_capture_errors_total",
			Help: "Errors by kind: fenced, transaction_timeout, produce, commit, encode, topic, position, source (a source broke the item contract), " +
				"source_interrupted (connection lost inside a transaction: restarted from the last committed position), source_failed (the source stopped with an error)."},
			[]string{"kind"}),
		originDrops: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_capture_origin_dropped_total",
			Help: "Row events not published because their transaction carries an origin in drop_origins (written by apply: loop prevention), by origin. " +
				"Counted when read, so a restart may count a row again."},
			[]string{"origin"}),
		onCommit: onCommit,
		now:      time.Now,
	}
	m.retentionSec.Store(-1)
	reg.MustRegister(m.events, m.transactions, m.errors, m.originDrops, &collector{m: m})
	for _, k := range ErrorKinds {
		m.errors.WithLabelValues(k)
	}
	return m
}

// Events implements publish.Metrics.
func (m *Capture) Events(db, table string, op event.Op, n int) {
	m.events.WithLabelValues(db+"."+table, op.String()).Add(float64(n))
}

// Committed implements publish.Metrics.
func (m *Capture) Committed(sourceTimeMs int64) {
	m.transactions.Inc()
	if sourceTimeMs > 0 {
		m.committedMs.Store(sourceTimeMs)
	}
	m.lastCommitMs.Store(m.now().UnixMilli())
	if m.onCommit != nil {
		m.onCommit()
	}
}

// Error implements publish.Metrics; the app also counts source failures
// with it (kinds in ErrorKinds).
func (m *Capture) Error(kind string) { m.errors.WithLabelValues(kind).Inc() }

// OriginDropped counts n row events of origin left out (loop prevention).
func (m *Capture) OriginDropped(origin string, n int) {
	m.originDrops.WithLabelValues(origin).Add(float64(n))
}

// Read records a transaction boundary the source handed to the publisher:
// a Commit (heartbeat false) or a Heartbeat item, with its position (JSON,
// pkg/position) and source time in Unix milliseconds. It is cheap: the
// position is only parsed when scraped.
func (m *Capture) Read(position string, sourceTimeMs int64, heartbeat bool) {
	m.mu.Lock()
	if heartbeat {
		m.heartbeatMs, m.heartbeatAfterMs = sourceTimeMs, m.readCommitMs
	} else if sourceTimeMs > 0 {
		m.readCommitMs = sourceTimeMs
	}
	m.position = position
	m.mu.Unlock()
}

// SetRetention records how long the source server keeps binlogs; 0 means
// they never expire automatically.
func (m *Capture) SetRetention(d time.Duration) { m.retentionSec.Store(int64(d / time.Second)) }

// lagBaseMs is the source time capture is known to have committed up to:
// the last committed position's, or a later heartbeat's once everything
// read before that heartbeat is committed. 0 when nothing is known yet.
//
// Commit source times have second resolution (the binlog header), so
// "everything before the heartbeat is committed" is judged to the second;
// the error is at most the commit interval, well below the lag worth an
// alert.
func (m *Capture) lagBaseMs() int64 {
	committed := m.committedMs.Load()
	m.mu.Lock()
	hb, after := m.heartbeatMs, m.heartbeatAfterMs
	m.mu.Unlock()
	if hb > committed && committed >= after {
		return hb
	}
	return committed
}

// Lag is now minus the source time capture has committed up to, and false
// before anything is known.
func (m *Capture) Lag() (time.Duration, bool) {
	base := m.lagBaseMs()
	if base == 0 {
		return 0, false
	}
	return max(m.now().Sub(time.UnixMilli(base)), 0), true
}

// Position returns the last position read (JSON), "" before the first.
func (m *Capture) Position() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.position
}
