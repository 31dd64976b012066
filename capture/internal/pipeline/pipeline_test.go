package pipeline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// scriptedSource plays one script per run; a script ends with an error (or
// blocks until ctx is cancelled when err is nil).
type scriptedSource struct {
	mu      sync.Mutex
	runs    [][]source.Item
	errs    []error
	starts  []string
	current int
}

func (s *scriptedSource) Run(ctx context.Context, from string, out chan<- source.Item) error {
	s.mu.Lock()
	i := s.current
	s.current++
	s.starts = append(s.starts, from)
	s.mu.Unlock()
	for _, it := range s.runs[i] {
		select {
		case out <- it:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.errs[i] != nil {
		return s.errs[i]
	}
	<-ctx.Done()
	return ctx.Err()
}

// memPublisher keeps "committed" rows and position like a transactional
// Kafka would: rows since the last Commit are dropped unless the run ends
// right after a Commit.
type memPublisher struct {
	mu        sync.Mutex
	committed []string
	position  string
	hasPos    bool
}

func (p *memPublisher) LastPosition(context.Context) (string, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.position, p.hasPos, nil
}

func (p *memPublisher) Run(ctx context.Context, in <-chan source.Item) error {
	var pending []string
	for {
		select {
		case it, ok := <-in:
			if !ok {
				return nil // pending rows after the last Commit are aborted
			}
			switch it.Kind {
			case source.Row:
				pending = append(pending, it.Event.Tx.ID)
			case source.Commit, source.Heartbeat:
				p.mu.Lock()
				p.committed = append(p.committed, pending...)
				p.position, p.hasPos = it.Position, true
				p.mu.Unlock()
				pending = nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type interrupted struct{}

func (interrupted) Error() string   { return "connection lost mid-transaction" }
func (interrupted) Retryable() bool { return true }

func row(tx string) source.Item {
	return source.Item{Kind: source.Row, Event: event.Event{Op: event.OpInsert, Tx: event.Tx{ID: tx}}}
}

func commit(pos string) source.Item { return source.Item{Kind: source.Commit, Position: pos} }

func TestRestartFromLastCommitAfterInterruption(t *testing.T) {
	src := &scriptedSource{
		runs: [][]source.Item{
			{row("t1"), row("t1"), commit("p1"), row("t2")}, // t2 interrupted
			{row("t2"), commit("p2")},
		},
		errs: []error{interrupted{}, nil},
	}
	pub := &memPublisher{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Config{From: "gtid:0-1-1"}, src, pub, zap.NewNop()) }()
	waitFor(t, func() bool { pub.mu.Lock(); defer pub.mu.Unlock(); return pub.position == "p2" })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after shutdown = %v, want nil", err)
	}
	if want := []string{"gtid:0-1-1", "p1"}; !equal(src.starts, want) {
		t.Errorf("starts = %v, want %v (explicit start first, then the committed position)", src.starts, want)
	}
	if want := []string{"t1", "t1", "t2"}; !equal(pub.committed, want) {
		t.Errorf("committed rows = %v, want %v (t2 exactly once)", pub.committed, want)
	}
}

func TestFatalSourceErrorStops(t *testing.T) {
	boom := errors.New("binlog purged")
	src := &scriptedSource{runs: [][]source.Item{{row("t1"), commit("p1")}}, errs: []error{boom}}
	err := Run(context.Background(), Config{}, src, &memPublisher{}, zap.NewNop())
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want %v", err, boom)
	}
	if src.starts[0] != "latest" {
		t.Errorf("start without stored position = %q, want latest", src.starts[0])
	}
}

func TestGivesUpAfterMaxRestarts(t *testing.T) {
	src := &scriptedSource{
		runs: [][]source.Item{{}, {}, {}},
		errs: []error{interrupted{}, interrupted{}, interrupted{}},
	}
	err := Run(context.Background(), Config{MaxRestarts: 2}, src, &memPublisher{}, zap.NewNop())
	if err == nil || src.current != 3 {
		t.Fatalf("Run = %v after %d runs, want an error after 3 runs", err, src.current)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
