package publish

import "github.com/sluice-cdc/sluice/pkg/event"

// Metrics receives what the publisher counts. The service implements it
// with Prometheus collectors (suggested names in brackets); every method
// is called from Run's goroutine and must not block.
type Metrics interface {
	// Events adds n row events of op on db.table made visible by a
	// commit [sluice_capture_events_total{table,op}]. Events of an
	// aborted Kafka transaction are not counted: they are re-read.
	Events(db, table string, op event.Op, n int)
	// Committed counts a committed Kafka transaction (or, without
	// transactions, a written position) [sluice_capture_transactions_total]
	// and reports the source time of the position it stored, Unix
	// milliseconds [sluice_capture_last_committed_source_timestamp_seconds].
	Committed(sourceTimeMs int64)
	// Error counts a failure by kind: "fenced", "transaction_timeout",
	// "produce", "commit", "encode", "topic", "position" or "source"
	// (a source broke the item contract) [sluice_capture_errors_total{kind}].
	Error(kind string)
}

type nopMetrics struct{}

func (nopMetrics) Events(string, string, event.Op, int) {}
func (nopMetrics) Committed(int64)                      {}
func (nopMetrics) Error(string)                         {}

// countKey groups the rows of an open transaction for Metrics.Events.
type countKey struct {
	db, table string
	op        event.Op
}
