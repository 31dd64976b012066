package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// TestMain starts the shared MariaDB and Kafka broker. The Galera test
// starts its own cluster.
func TestMain(m *testing.M) { testenv.Main(m, testenv.NeedMariaDB, testenv.NeedKafka) }

// buildCapture builds the capture command once per test binary, as
// `make binaries` does: the tests run the real process.
func buildCapture(t *testing.T) string {
	return testenv.Binary(t, "github.com/sluice-cdc/sluice/capture/cmd/capture")
}

// captureConfig is a capture YAML for one test: its own name and topic
// prefix, fast commits and heartbeats, start at the beginning of the
// binlog when no position is stored (so a capture killed before its first
// commit loses nothing either), metrics on a free port.
type captureConfig struct {
	name     string
	addrs    []string
	user     string
	db       string
	brokers  []string
	format   string
	serverID int
}

// captureIDs gives every capture its own replica server_id.
var captureIDs atomic.Int32

func init() { captureIDs.Store(7000) }

func (c captureConfig) yaml() string {
	if c.serverID == 0 {
		c.serverID = int(captureIDs.Add(1))
	}
	return fmt.Sprintf(`name: %s
source:
  addrs: ["%s"]
  user: %s
  password: "${E2E_SOURCE_PASSWORD}"
  server_id: %d
  heartbeat: 500ms
  retry_window: 60s
include: ["%s.*"]
format: %s
topics: {prefix: %s, partitions: 3, replication_factor: 1}
transactions: {commit_interval: 100ms, commit_every: 500}
start: {default: earliest}
connect_timeout: 5s
shutdown_timeout: 20s
kafka: {brokers: ["%s"]}
http: {listen: "127.0.0.1:0"}
log: {level: info}
`, c.name, strings.Join(c.addrs, `", "`), c.user, c.serverID, c.db, c.format, c.name, strings.Join(c.brokers, `", "`))
}

// topic is the topic of one table under the default template.
func (c captureConfig) topic(table string) string { return c.name + "." + c.db + "." + table }

func writeConfig(t *testing.T, c captureConfig) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "capture.yaml")
	if err := os.WriteFile(p, []byte(c.yaml()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// captureProc is one run of the capture binary. Its stderr is appended to
// a log file shared by all runs of a test (a failing test prints its
// tail) and watched for the "capture running" line.
type captureProc struct {
	*testenv.Process
	running atomic.Bool
	mu      sync.Mutex
	last    []string // the last stderr lines
}

// captureLog collects the stderr of every run of a test, each run's lines
// prefixed with its number.
type captureLog struct {
	mu   sync.Mutex
	f    *os.File
	runs int
}

func newCaptureLog(t *testing.T) *captureLog {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "capture.log"))
	if err != nil {
		t.Fatal(err)
	}
	l := &captureLog{f: f}
	t.Cleanup(func() {
		if keep := os.Getenv("E2E_CAPTURE_LOG"); keep != "" {
			// Keep the whole log for a look after the run.
			b, _ := os.ReadFile(f.Name())
			_ = os.WriteFile(keep+"."+strings.ReplaceAll(t.Name(), "/", "_"), b, 0o644)
		}
		if t.Failed() {
			t.Logf("capture stderr, last lines of all runs:\n%s", l.tail(80))
		}
		f.Close()
	})
	return l
}

func (l *captureLog) write(run int, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.f, "[run %d] %s\n", run, line)
}

func (l *captureLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, err := os.ReadFile(l.f.Name())
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitFor waits until a logged line holds every one of parts, and
// returns it; "" after timeout.
func (l *captureLog) waitFor(timeout time.Duration, parts ...string) string {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
	lines:
		for _, line := range l.lines() {
			for _, p := range parts {
				if !strings.Contains(line, p) {
					continue lines
				}
			}
			return line
		}
	}
	return ""
}

// lines returns every line logged so far.
func (l *captureLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, _ := os.ReadFile(l.f.Name())
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// startCapture runs `capture run --config path` with the source password
// in the environment.
func startCapture(t *testing.T, bin, path, password string, log *captureLog) *captureProc {
	t.Helper()
	log.mu.Lock()
	log.runs++
	run := log.runs
	log.mu.Unlock()
	p := &captureProc{}
	cmd := exec.Command(bin, "run", "--config", path)
	cmd.Env = append(os.Environ(), "E2E_SOURCE_PASSWORD="+password)
	p.Process = testenv.StartProcess(t, cmd, func(line string) {
		log.write(run, line)
		var rec struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "capture running" {
			p.running.Store(true)
		}
		p.mu.Lock()
		if p.last = append(p.last, line); len(p.last) > 20 {
			p.last = p.last[1:]
		}
		p.mu.Unlock()
	})
	return p
}

// stop sends SIGTERM and returns the exit code, or -1 if the process did
// not exit within timeout (it is then killed).
func (p *captureProc) stop(timeout time.Duration) int {
	return testenv.ExitCode(p.Stop(timeout))
}

// lastLines are the process's last stderr lines.
func (p *captureProc) lastLines() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.last, "\n")
}
