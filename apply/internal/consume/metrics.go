package consume

import "github.com/sluice-cdc/sluice/pkg/event"

// Metrics receives what the consumer does; apply's metrics package
// implements it with Prometheus.
type Metrics interface {
	// Applied counts rows written, by target table and op.
	Applied(table string, op event.Op, n int)
	// Batch observes one written batch: rows and seconds in the sink.
	Batch(rows int, seconds float64)
	// Skipped counts records without a row change or filtered out.
	Skipped(topic, reason string)
	// Lag is the partition's high watermark minus its next offset.
	Lag(topic string, partition int32, lag int64)
	// Error counts errors by kind: decode, map, write, retry, commit, dlq.
	Error(kind string)
	// Stopped reports whether a partition is stopped by a fatal error.
	Stopped(topic string, partition int32, stopped bool)
}

// NopMetrics discards everything.
type NopMetrics struct{}

func (NopMetrics) Applied(string, event.Op, int) {}
func (NopMetrics) Batch(int, float64)            {}
func (NopMetrics) Skipped(string, string)        {}
func (NopMetrics) Lag(string, int32, int64)      {}
func (NopMetrics) Error(string)                  {}
func (NopMetrics) Stopped(string, int32, bool)   {}
