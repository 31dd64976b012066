package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. The
// kernel hands out ephemeral ports round-robin, so a port just released is
// not given to the next caller soon; the race with other programs is
// accepted for tests.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RepoRoot finds the repository root (the directory holding go.work) from
// the working directory upwards; go test runs in the package directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the repository root: no go.work above the working directory")
		}
		dir = parent
	}
}

// WaitFor calls ready every 100ms until it returns nil, ctx ends or timeout
// passes, and returns the last error then.
func WaitFor(ctx context.Context, timeout time.Duration, what string, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s (%s): %w", what, timeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// runTool runs a set-up command (installer, initdb, storage format) to
// completion with the same guarantees as a server: forked from the spawn
// thread, own process group, parent-death signal, and the whole group
// killed when ctx ends. It returns the combined output.
func runTool(ctx context.Context, cred *syscall.Credential, dir, bin string, args ...string) ([]byte, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := spawn(cmd); err != nil {
		return nil, fmt.Errorf("starting %s: %w", filepath.Base(bin), err)
	}
	err := cmd.Wait()
	return out.Bytes(), err
}

// process is a server child process with its log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
}

// Linux sends a child's parent-death signal when the *thread* that forked
// it exits, not the process. The Go runtime may retire threads, so every
// server is forked from one goroutine locked to a thread that lives as long
// as the test binary.
var (
	spawnOnce sync.Once
	spawnReqs chan spawnReq
)

type spawnReq struct {
	cmd  *exec.Cmd
	errc chan error
}

func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread must outlive the servers
			for r := range spawnReqs {
				r.errc <- r.cmd.Start()
			}
		}()
	})
	errc := make(chan error, 1)
	spawnReqs <- spawnReq{cmd: cmd, errc: errc}
	return <-errc
}

// startProcess starts a server in its own process group (so Stop and Kill
// reach everything it forks) with SIGKILL as parent-death signal (so it
// cannot outlive the test binary, even after a panic or a kill -9 of go
// test), logging stdout and stderr to logPath. cred, when set, runs it as
// another user.
func startProcess(name, logPath string, cred *syscall.Credential, bin string, args ...string) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening %s log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := spawn(cmd); err != nil {
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

// stop sends sig to the process group, waits up to grace, then kills.
func (p *process) stop(sig syscall.Signal, grace time.Duration) {
	if p == nil || p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
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

// waitReady is WaitFor that also gives up as soon as the process exits,
// and puts the log tail into the error: in CI that tail is the diagnosis.
func (p *process) waitReady(ctx context.Context, timeout time.Duration, ready func(context.Context) error) error {
	err := WaitFor(ctx, timeout, p.name+" to accept clients", func(ctx context.Context) error {
		if p.exited() {
			return fmt.Errorf("%w: %s exited during start-up (%v)", errExited, p.name, p.waitErr)
		}
		return ready(ctx)
	})
	if err != nil {
		return fmt.Errorf("%w; log tail (%s):\n%s", err, p.logPath, tail(p.logPath, 40))
	}
	return nil
}

var errExited = errors.New("server process exited")

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

// Instance directories are os.TempDir()/sluice-<kind>-*, each with an
// owner file naming the test binary's pid, so the next run can remove what
// a crashed run left behind without touching a live run's servers.
const (
	dirPrefix = "sluice-"
	ownerFile = "owner.pid"
)

// tempDir makes a private directory for one server instance.
func tempDir(kind string) (string, error) {
	dir, err := os.MkdirTemp("", dirPrefix+kind+"-")
	if err != nil {
		return "", fmt.Errorf("making %s directory: %w", kind, err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return "", fmt.Errorf("writing %s owner file: %w", kind, err)
	}
	return dir, nil
}

// sweepStale removes instance directories whose test binary is gone. A
// directory without an owner file (an older harness) is removed only once
// it is a day old, as a live run's directory never is.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*-*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			if st, serr := os.Stat(dir); serr == nil && st.IsDir() && time.Since(st.ModTime()) > 24*time.Hour {
				_ = os.RemoveAll(dir)
			}
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			_ = os.RemoveAll(dir)
		}
	}
}
