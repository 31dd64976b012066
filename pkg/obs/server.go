package obs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/pkg/config"
)

// NewRegistry returns a registry with the Go runtime and process
// collectors; services register their own metrics on it.
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// DefaultShutdownTimeout bounds the graceful shutdown of the Server: long
// enough for a scrape in flight to finish, short enough not to hold up a
// pod's termination grace period.
const DefaultShutdownTimeout = 5 * time.Second

// Server serves:
//
//	/metrics  the registry it was given, in the Prometheus text format;
//	/healthz  200 while the process serves at all (liveness);
//	/readyz   200 when every readiness check passes, else 503 with one
//	          "name: reason" line per failing check (readiness).
//
// Build it with NewServer, add routes with Handle if needed, then Run it
// once.
type Server struct {
	addr  string
	log   *zap.Logger
	mux   *http.ServeMux
	ready *Readiness

	// ShutdownTimeout bounds graceful shutdown once Run's context is done;
	// requests still running after it are cut. Default
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	mu sync.Mutex
	ln net.Listener
}

// NewServer returns a server for cfg.Listen. reg and ready must not be
// nil; log may be.
func NewServer(cfg config.HTTP, reg *prometheus.Registry, ready *Readiness, log *zap.Logger) *Server {
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{addr: cfg.Listen, log: log, mux: http.NewServeMux(), ready: ready, ShutdownTimeout: DefaultShutdownTimeout}
	s.mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry: reg, // counts its own errors in reg
		ErrorLog: zap.NewStdLog(log),
	}))
	s.mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		plain(w, http.StatusOK, "ok\n")
	})
	s.mux.HandleFunc("/readyz", s.serveReady)
	return s
}

func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	var b strings.Builder
	for _, c := range s.ready.Checks() {
		if c.Err != nil {
			fmt.Fprintf(&b, "%s: %v\n", c.Name, c.Err)
		}
	}
	if b.Len() > 0 {
		plain(w, http.StatusServiceUnavailable, "not ready\n"+b.String())
		return
	}
	plain(w, http.StatusOK, "ready\n")
}

func plain(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

// Handle adds a route (e.g. a debug page). Call it before Run.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler is the server's routes, for tests that use httptest.
func (s *Server) Handler() http.Handler { return s.mux }

// Listen binds the address now and returns it, so a caller that asked for
// port 0 learns the port before Run. Run listens itself if Listen was not
// called.
func (s *Server) Listen() (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			return nil, fmt.Errorf("listening for metrics and health on %s: %w", s.addr, err)
		}
		s.ln = ln
	}
	return s.ln.Addr(), nil
}

// Run serves until ctx is done, then shuts down: it stops accepting,
// lets requests in flight finish within ShutdownTimeout, then closes the
// rest. It returns nil after a shutdown, or the error that stopped
// serving.
func (s *Server) Run(ctx context.Context) error {
	addr, err := s.Listen()
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          zap.NewStdLog(s.log),
	}
	s.log.Info("serving metrics and health", zap.Stringer("addr", addr))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(s.ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serving metrics and health on %s: %w", addr, err)
	case <-ctx.Done():
	}
	timeout := s.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// A slow scrape must not hold up the process: cut it, and say so.
		s.log.Warn("metrics and health server did not stop in time; closing open requests",
			zap.Duration("timeout", timeout), zap.Error(err))
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving metrics and health on %s: %w", addr, err)
	}
	return nil
}
