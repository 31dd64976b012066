package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a program a test runs and stops (capture, apply): it dies
// with the test binary (parent-death signal) and is killed at the end of
// the test if still running. Its output is read line by line.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit, once done is closed
}

// StartProcess starts cmd and hands each line of its stderr, and of its
// stdout unless cmd.Stdout is set, to line (one call at a time, every
// line before Done closes; line may be nil). Output still held open by a
// child of the process after it exited is given up after a second.
func StartProcess(tb testing.TB, cmd *exec.Cmd, line func(string)) *Process {
	tb.Helper()
	p := &Process{cmd: cmd, done: make(chan struct{})}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	lw := &lineWriter{line: line}
	cmd.Stderr = lw
	if cmd.Stdout == nil {
		cmd.Stdout = lw
	}
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting %s: %v", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		lw.flush()
		close(p.done)
	}()
	tb.Cleanup(p.Kill)
	return p
}

// lineWriter calls line for every complete line written to it.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	line func(string)
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if w.line != nil {
			w.line(string(w.buf[:i]))
		}
		w.buf = w.buf[i+1:]
	}
	return len(b), nil
}

// flush hands on a last line without a newline.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 && w.line != nil {
		w.line(string(w.buf))
	}
	w.buf = nil
}

// Done is closed once the process exited and its output was read.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the exit (nil for status 0); it is valid once Done is closed.
func (p *Process) Err() error { return p.err }

// Exited reports whether Done is closed.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig unless the process exited.
func (p *Process) Signal(sig syscall.Signal) {
	if !p.Exited() {
		_ = p.cmd.Process.Signal(sig)
	}
}

// Kill sends SIGKILL and waits for the exit.
func (p *Process) Kill() {
	p.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and returns the exit (Err). A process still running
// after timeout is killed, and the error says so (ExitCode -1).
func (p *Process) Stop(timeout time.Duration) error {
	p.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("%s did not exit within %s of SIGTERM; killed", filepath.Base(p.cmd.Path), timeout)
	}
}

// ExitCode is the exit status in err from Err: 0 for nil, -1 when the
// process did not exit normally.
func ExitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
