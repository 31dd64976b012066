package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-cdc/sluice/capture/internal/metrics"
	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/obs"
)

// fakeSource sends items, then returns err (or waits for ctx when block).
type fakeSource struct {
	items []source.Item
	err   error
	block bool
}

func (f *fakeSource) Run(ctx context.Context, _ string, out chan<- source.Item) error {
	for _, it := range f.items {
		select {
		case out <- it:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if f.block {
		<-ctx.Done()
		return ctx.Err()
	}
	return f.err
}

type retryable struct{ error }

func (retryable) Retryable() bool { return true }

func readyErr(r *obs.Readiness, name string) error {
	for _, c := range r.Checks() {
		if c.Name == name {
			return c.Err
		}
	}
	return errors.New("no such check")
}

func TestObservedSource(t *testing.T) {
	items := []source.Item{
		{Kind: source.Row},
		{Kind: source.Commit, Position: `{"file":"b.000002","pos":10}`, SourceTimeMs: 1000},
		{Kind: source.Heartbeat, Position: `{"file":"b.000002","pos":10}`, SourceTimeMs: 2000},
	}
	for _, tc := range []struct {
		name      string
		err       error
		wantReady bool
	}{
		{"retryable", retryable{errors.New("connection lost mid-transaction")}, false},
		{"fatal", errors.New("purged"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ready := obs.NewReadiness(readySource)
			met := metrics.New(prometheus.NewRegistry(), "x", nil)
			o := &observedSource{src: &fakeSource{items: items, err: tc.err}, met: met, ready: ready}
			out := make(chan source.Item, len(items))
			if err := o.Run(context.Background(), "", out); !errors.Is(err, tc.err) {
				t.Fatalf("Run = %v, want %v", err, tc.err)
			}
			if len(out) != len(items) {
				t.Fatalf("forwarded %d items of %d", len(out), len(items))
			}
			if got := met.Position(); got != items[2].Position {
				t.Errorf("position %q", got)
			}
			if err := readyErr(ready, readySource); err == nil {
				t.Error("source ready after it failed")
			}
		})
	}

	// Ready while delivering; a cancelled run returns promptly even with
	// the publisher not reading.
	ready := obs.NewReadiness(readySource)
	met := metrics.New(prometheus.NewRegistry(), "x", nil)
	o := &observedSource{src: &fakeSource{items: items, block: true}, met: met, ready: ready}
	out := make(chan source.Item, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx, "", out) }()
	<-out // the first item arrived, the next blocks on the full channel
	if err := readyErr(ready, readySource); err != nil {
		t.Errorf("not ready while delivering: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// BenchmarkObservedSourceHop is the cost of the extra hop per item
// (observed minus direct), for comparison with the ~6µs per event the
// whole capture may spend at 150k events/s.
func BenchmarkObservedSourceHop(b *testing.B) {
	items := make([]source.Item, 1000)
	for i := range items {
		items[i].Kind = source.Row
		if i%10 == 9 {
			items[i] = source.Item{Kind: source.Commit, Position: `{"file":"b.000002","pos":10}`, SourceTimeMs: 1000}
		}
	}
	src := &fakeSource{items: items}
	for _, bc := range []struct {
		name string
		src  source.Source
	}{
		{"direct", src},
		{"observed", &observedSource{src: src, met: metrics.New(prometheus.NewRegistry(), "x", nil), ready: obs.NewReadiness()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			out := make(chan source.Item, 1024)
			go func() {
				for range out {
				}
			}()
			defer close(out)
			for b.Loop() {
				if err := bc.src.Run(context.Background(), "", out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(items)), "ns/item")
		})
	}
}
