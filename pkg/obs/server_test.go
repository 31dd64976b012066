package obs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-cdc/sluice/pkg/config"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// startServer runs a server on a free loopback port until the test ends.
func startServer(t *testing.T, s *Server) (base string, stop func() error) {
	t.Helper()
	addr, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("Run did not return after cancel")
		}
	})
	t.Cleanup(func() { _ = stop() })
	return "http://" + addr.String(), stop
}

func TestServerEndpoints(t *testing.T) {
	reg := NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_test_events_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	ready := NewReadiness("source", "kafka")
	base, stop := startServer(t, NewServer(config.HTTP{Listen: "127.0.0.1:0"}, reg, ready, nil))

	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 503 || body != "not ready\nkafka: not reported yet\nsource: not reported yet\n" {
		t.Errorf("/readyz before any report = %d %q", code, body)
	}
	ready.Set("source", nil)
	ready.Set("kafka", errors.New("partition t/3 stopped at offset 42: bad json"))
	if code, body := get(t, base+"/readyz"); code != 503 || body != "not ready\nkafka: partition t/3 stopped at offset 42: bad json\n" {
		t.Errorf("/readyz with one failure = %d %q", code, body)
	}
	ready.Set("kafka", nil)
	if code, body := get(t, base+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz all ready = %d %q", code, body)
	}
	ready.Set("partition t/4", fmt.Errorf("writing batch: %w", errors.New("deadlock")))
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "partition t/4: writing batch: deadlock") {
		t.Errorf("/readyz after a new failing check = %d %q", code, body)
	}
	ready.Remove("partition t/4")
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz after Remove = %d", code)
	}

	code, body := get(t, base+"/metrics")
	for _, want := range []string{"sluice_test_events_total 3", "go_goroutines", "process_start_time_seconds"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics = %d, lacks %q", code, want)
		}
	}

	if err := stop(); err != nil {
		t.Fatalf("Run after cancel = %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

// A request that does not finish is cut once ShutdownTimeout passes, and
// Run still returns.
func TestServerShutdownDeadline(t *testing.T) {
	s := NewServer(config.HTTP{Listen: "127.0.0.1:0"}, prometheus.NewRegistry(), NewReadiness(), nil)
	s.ShutdownTimeout = 100 * time.Millisecond
	entered := make(chan struct{})
	s.Handle("/slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // only a closed connection ends it
	}))
	base, stop := startServer(t, s)

	reqErr := make(chan error, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err == nil {
			resp.Body.Close()
		}
		reqErr <- err
	}()
	<-entered
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Errorf("shutdown took %v, want about the 100ms deadline", d)
	}
	if err := <-reqErr; err == nil {
		t.Error("the slow request completed; want it cut")
	}
}

func TestServerListenError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := NewServer(config.HTTP{Listen: l.Addr().String()}, prometheus.NewRegistry(), NewReadiness(), nil)
	err = s.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Errorf("Run on a busy port = %v, want an error naming the address", err)
	}
}

func TestReadinessWithHTTPTest(t *testing.T) {
	ready := NewReadiness()
	srv := httptest.NewServer(NewServer(config.HTTP{}, prometheus.NewRegistry(), ready, nil).Handler())
	defer srv.Close()
	if code, _ := get(t, srv.URL+"/readyz"); code != 200 {
		t.Errorf("no checks: /readyz = %d, want 200", code)
	}
	ready.Set("source", errors.New("connecting to 127.0.0.1:3306: refused"))
	if ready.Ready() {
		t.Error("Ready with a failing check")
	}
	if code, body := get(t, srv.URL+"/readyz"); code != 503 || !strings.Contains(body, "source: connecting to 127.0.0.1:3306: refused") {
		t.Errorf("/readyz = %d %q", code, body)
	}
}
