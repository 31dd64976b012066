package app

import (
	"context"
	"errors"

	"github.com/sluice-cdc/sluice/capture/internal/metrics"
	"github.com/sluice-cdc/sluice/capture/internal/pipeline"
	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/obs"
)

// Readiness check names.
const (
	readySource = "source"
	readyKafka  = "kafka"
)

var (
	errConnecting   = errors.New("connecting")
	errShuttingDown = errors.New("shutting down")
)

// hopCap bounds the items between the source and the observer. Small: the
// pipeline's own channel is the buffer, this one only decouples.
const hopCap = 64

// observedSource reports what passes from the source to the publisher:
// readiness "source" (ready once the source delivers, not ready while it
// (re)starts or after it failed), and the position and source time of
// every transaction boundary (metrics.Capture.Read), which the publisher
// does not report. It costs one extra channel hop per item; nothing is
// parsed on the way.
type observedSource struct {
	src   source.Source
	met   *metrics.Capture
	ready *obs.Readiness
}

// Run implements source.Source with the inner source's contract: items in
// order, nothing sent after it returns, out never closed.
func (o *observedSource) Run(ctx context.Context, from string, out chan<- source.Item) error {
	o.ready.Set(readySource, errConnecting)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hop := make(chan source.Item, hopCap)
	done := make(chan error, 1)
	go func() {
		defer close(hop)
		done <- o.src.Run(ctx, from, hop)
	}()
	first := true
	for it := range hop {
		if first {
			o.ready.Set(readySource, nil)
			first = false
		}
		if it.Kind != source.Row {
			o.met.Read(it.Position, it.SourceTimeMs, it.Kind == source.Heartbeat)
		}
		select {
		case out <- it:
		case <-ctx.Done():
			// The inner source sees the same ctx and stops; drain what it
			// already queued so it can return. Those items were never
			// handed on, exactly as if the source had stopped before them.
			for range hop {
			}
		}
	}
	err := <-done
	switch {
	case err == nil || errors.Is(err, context.Canceled):
	case isRetryable(err):
		o.met.Error("source_interrupted")
		o.ready.Set(readySource, err)
	default:
		o.met.Error("source_failed")
		o.ready.Set(readySource, err)
	}
	return err
}

func isRetryable(err error) bool {
	var r pipeline.Retryable
	return errors.As(err, &r) && r.Retryable()
}

// observedPublisher sets readiness "kafka": ready once the stored position
// was read (the brokers answer and earlier instances are fenced) and after
// every commit (metrics.New's hook), not ready when publishing failed.
type observedPublisher struct {
	pub   pipeline.Publisher
	ready *obs.Readiness
}

func (o *observedPublisher) LastPosition(ctx context.Context) (string, bool, error) {
	pos, ok, err := o.pub.LastPosition(ctx)
	o.ready.Set(readyKafka, err)
	return pos, ok, err
}

func (o *observedPublisher) Run(ctx context.Context, in <-chan source.Item) error {
	err := o.pub.Run(ctx, in)
	if err != nil && !errors.Is(err, context.Canceled) {
		o.ready.Set(readyKafka, err)
	}
	return err
}
