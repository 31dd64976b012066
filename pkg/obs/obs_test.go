package obs

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-cdc/sluice/pkg/config"
)

func TestNewLogger(t *testing.T) {
	if _, err := NewLogger(config.Log{Level: "info", Format: "json"}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLogger(config.Log{Level: "debug", Format: "console"}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLogger(config.Log{Level: "loud", Format: "json"}); err == nil || !strings.Contains(err.Error(), `"loud"`) {
		t.Errorf("bad level error = %v", err)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServer(t *testing.T) {
	reg := NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_test_events_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	ready := NewReadiness("source", "kafka")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, l, Handler(reg, ready)) }()
	base := "http://" + l.Addr().String()

	if code, body := get(t, base+"/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "kafka: starting") || !strings.Contains(body, "source: starting") {
		t.Errorf("/readyz while starting = %d %q", code, body)
	}
	ready.Set("source", nil)
	ready.Set("kafka", errors.New("partition t/3 stopped at offset 42: bad json"))
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "offset 42") || strings.Contains(body, "source") {
		t.Errorf("/readyz with one failure = %d %q", code, body)
	}
	ready.Set("kafka", nil)
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz all ready = %d", code)
	}
	if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "sluice_test_events_total 3") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics = %d, missing metrics", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after shutdown = %v", err)
	}
}
