package obs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry with the Go runtime and process
// collectors; services register their own metrics on it.
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Readiness is a set of named checks; the service is ready when every
// check is ready. A check starts not ready until Set(name, nil).
type Readiness struct {
	mu     sync.Mutex
	checks map[string]error
}

// NewReadiness returns readiness with the named checks, all not ready yet.
func NewReadiness(names ...string) *Readiness {
	r := &Readiness{checks: map[string]error{}}
	for _, n := range names {
		r.checks[n] = errors.New("starting")
	}
	return r
}

// Set marks check name ready (err nil) or not ready with the reason.
func (r *Readiness) Set(name string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks[name] = err
}

// Failing returns "name: reason" for each failing check, sorted.
func (r *Readiness) Failing() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for n, err := range r.checks {
		if err != nil {
			out = append(out, n+": "+err.Error())
		}
	}
	sort.Strings(out)
	return out
}

// Handler serves /metrics, /healthz (alive: always 200 while serving) and
// /readyz (200 when every check passes, else 503 listing the failures).
func Handler(reg *prometheus.Registry, ready *Readiness) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if f := ready.Failing(); len(f) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:\n"+strings.Join(f, "\n"))
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// Serve listens on addr and serves h until ctx is done, then shuts down
// gracefully within 5 seconds. It returns once the listener is closed.
func Serve(ctx context.Context, addr string, h http.Handler) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening for metrics/health on %s: %w", addr, err)
	}
	return ServeListener(ctx, l, h)
}

// ServeListener is Serve on an existing listener (tests use port 0).
func ServeListener(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-errc
		return nil
	}
}
