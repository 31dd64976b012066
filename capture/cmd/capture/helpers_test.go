package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// TestMain starts the real MariaDB and Kafka broker shared by the tests
// (kfake instead with SLUICE_TEST_KAFKA=kfake).
func TestMain(m *testing.M) { testenv.Main(m, testenv.NeedMariaDB, testenv.NeedKafka) }

// buildBinary builds the capture command once per test binary, as
// `make binaries` does, so the tests exercise the real process: flags,
// exit codes, signals, stderr.
func buildBinary(t *testing.T) string {
	return testenv.Binary(t, "github.com/sluice-cdc/sluice/capture/cmd/capture")
}

// yamlConfig is the test config: the shared servers, a unique name and
// topic prefix per test (so tests sharing the broker never meet), fast
// commits and heartbeats, port 0 for metrics.
type yamlConfig struct {
	name, source, user, password, db string
	brokers                          []string
	extra                            string // more top-level YAML
}

// serverIDs gives every capture its own replica server_id: two replicas
// with one id make the server drop one of them.
var serverIDs atomic.Int32

func init() { serverIDs.Store(5000) }

func (c yamlConfig) String() string {
	return fmt.Sprintf(`name: %s
source:
  addrs: ["%s"]
  user: %s
  password: "${TEST_SOURCE_PASSWORD}"
  server_id: %d
  heartbeat: 500ms
include: ["%s.*"]
topics: {prefix: %s, partitions: 2, replication_factor: 1}
transactions: {commit_interval: 100ms}
snapshot: {mode: never}
connect_timeout: 3s
shutdown_timeout: 20s
kafka: {brokers: ["%s"]}
http: {listen: "127.0.0.1:0"}
%s`, c.name, c.source, c.user, serverIDs.Add(1), c.db, c.name, strings.Join(c.brokers, `", "`), c.extra)
}

func writeConfig(t *testing.T, c yamlConfig) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "capture.yaml")
	if err := os.WriteFile(p, []byte(c.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// proc is a running capture process whose stderr is collected by line.
type proc struct {
	*testenv.Process
	mu     sync.Mutex
	lines  []string
	stdout strings.Builder
	start  time.Time
}

func startProc(t *testing.T, bin, password string, args ...string) *proc {
	t.Helper()
	p := &proc{start: time.Now()}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TEST_SOURCE_PASSWORD="+password)
	cmd.Stdout = &lockedWriter{mu: &p.mu, w: &p.stdout}
	p.Process = testenv.StartProcess(t, cmd, func(line string) {
		p.mu.Lock()
		p.lines = append(p.lines, line)
		p.mu.Unlock()
	})
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("capture %s stderr:\n%s", strings.Join(args, " "), p.stderr())
		}
	})
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// plainLines are the stderr lines that are not JSON log lines: what a
// person reads.
func (p *proc) plainLines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.lines {
		if !strings.HasPrefix(l, "{") {
			out = append(out, l)
		}
	}
	return out
}

// wait waits for the exit and returns the exit code.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(timeout):
		t.Fatalf("capture did not exit within %s", timeout)
	}
	code := testenv.ExitCode(p.Err())
	if code < 0 {
		t.Fatal(p.Err())
	}
	return code
}

// metricsAddr waits for the startup log line that names the metrics
// address (the demo finds it the same way).
func (p *proc) metricsAddr(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for _, l := range p.lines {
			var rec struct {
				Msg     string `json:"msg"`
				Metrics string `json:"metrics"`
			}
			if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == "capture running" && rec.Metrics != "" {
				p.mu.Unlock()
				return rec.Metrics
			}
		}
		p.mu.Unlock()
		select {
		case <-p.Done():
			t.Fatalf("capture exited before it was running")
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatal("no \"capture running\" line within 30s")
	return ""
}

// get returns the status and body of http://addr/path.
func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitReady polls /readyz until it answers 200.
func waitReady(t *testing.T, addr string) {
	t.Helper()
	var body string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var code int
		if code, body = get(t, addr, "/readyz"); code == http.StatusOK {
			return
		}
	}
	t.Fatalf("/readyz not 200 within 30s: %s", body)
}

// readIDs reads topic from the start with read_committed until want
// records arrived (or 30s passed) and a second more, so that duplicates
// show, and returns the Maxwell data.id of each, in order.
func readIDs(t *testing.T, brokers []string, topic string, want int) []int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ids []int
	extra := time.Time{} // after want records, look a little longer for duplicates
	for ctx.Err() == nil {
		if len(ids) >= want {
			if extra.IsZero() {
				extra = time.Now().Add(time.Second)
			} else if time.Now().After(extra) {
				break
			}
		}
		pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fs := cl.PollFetches(pctx)
		pcancel()
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Logf("fetch: %v", err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			var m struct {
				Type string `json:"type"`
				Data struct {
					ID int `json:"id"`
				} `json:"data"`
			}
			if err := json.Unmarshal(r.Value, &m); err != nil {
				t.Errorf("record at %s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err)
				return
			}
			ids = append(ids, m.Data.ID)
		})
	}
	return ids
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// silentBroker is a loopback address that accepts connections and never
// answers: a broker (or database) that hangs, which only a timeout
// catches.
func silentBroker(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}
