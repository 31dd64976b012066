// Package testenv starts real servers for tests: MariaDB with the binlog
// on, PostgreSQL and an Apache Kafka broker in KRaft mode, each a private
// instance with its own data directory and free ports on loopback.
//
// A test package shares its servers: call testenv.Main from TestMain, then
// testenv.SharedMariaDB(t), SharedPostgres(t) or SharedKafka(t) in tests.
// The first call starts the server; Main stops every started server after
// the tests, and the servers also die with the test binary (parent-death
// signal), so a panic or kill leaves nothing behind. Tests that need a
// server of their own (crash, restart and failover tests) call StartMariaDB,
// StartPostgres or StartKafka directly and Stop it themselves.
//
// Policy when a server cannot start: with CI=true the test fails and prints
// the server's log tail, never a skip. Locally it skips with a loud message
// so a laptop without the packages can still run the unit tests; `make deps`
// installs everything.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// InCI reports whether the run is in CI (CI=true), where a server that does
// not start is a failure, not a skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// unavailable fails (CI) or skips (locally) the test because a server could
// not be started.
func unavailable(tb testing.TB, what string, err error) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("testenv: %s could not start (CI=true, so this fails instead of skipping): %v", what, err)
	}
	tb.Skipf("testenv: SKIPPING, %s is not available here: %v (run `make deps` to install it; in CI this is a failure)", what, err)
}

var (
	registryMu sync.Mutex
	stoppers   []func()
)

// register adds a stop function that Main runs after the tests.
func register(stop func()) {
	registryMu.Lock()
	defer registryMu.Unlock()
	stoppers = append(stoppers, stop)
}

// Main runs the tests of a package and then stops every server started for
// it. Use it as: func TestMain(m *testing.M) { testenv.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	StopAll()
	os.Exit(code)
}

// StopAll stops every server registered so far, newest first.
func StopAll() {
	registryMu.Lock()
	s := stoppers
	stoppers = nil
	registryMu.Unlock()
	for i := len(s) - 1; i >= 0; i-- {
		s[i]()
	}
}

// UniqueName returns a name usable as a database or topic name that no
// other test of this run uses: a prefix from the test name plus random hex.
func UniqueName(tb testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	base := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '_'
	}, tb.Name())
	if len(base) > 40 {
		base = base[:40]
	}
	return "t_" + base + "_" + hex.EncodeToString(b[:])
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RepoRoot finds the repository root (the directory holding go.work) from
// the working directory upwards.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.work found above the working directory")
		}
		dir = parent
	}
}

// process is a server child process with its log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
}

// startProcess starts a server in its own process group, with a parent-death
// signal so it cannot outlive the test binary, logging to logPath.
func startProcess(name, logPath string, cred *syscall.Credential, bin string, args ...string) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group and waits up to grace, then kills.
func (p *process) stop(grace time.Duration) {
	if p == nil || p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
}

// kill sends SIGKILL to the process group and waits for it: a crash.
func (p *process) kill() {
	if p == nil || p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// tail returns the last n lines of a log file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitUntil polls ready until it succeeds, the process exits, or the
// timeout passes; the error carries the log tail.
func waitUntil(ctx context.Context, p *process, timeout time.Duration, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if p.exited() {
			return fmt.Errorf("%s exited during start-up (%v); log tail:\n%s", p.name, p.waitErr, tail(p.logPath, 30))
		}
		if last = ready(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s (last error: %v); log tail:\n%s", p.name, timeout, last, tail(p.logPath, 30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tempDir makes a private directory for one server instance.
func tempDir(kind string) (string, error) {
	return os.MkdirTemp("", "sluice-"+kind+"-")
}
