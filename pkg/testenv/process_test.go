package testenv

import (
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestProcess: output lines of both streams reach the callback before
// Done, the exit status is kept, and Stop escalates to SIGKILL.
func TestProcess(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	p := StartProcess(t, exec.Command("sh", "-c", "echo out; echo err >&2; exit 3"), func(l string) {
		mu.Lock()
		lines = append(lines, l)
		mu.Unlock()
	})
	<-p.Done()
	slices.Sort(lines)
	if !slices.Equal(lines, []string{"err", "out"}) || ExitCode(p.Err()) != 3 || !p.Exited() {
		t.Errorf("lines %q, exit %d (%v)", lines, ExitCode(p.Err()), p.Err())
	}

	p = StartProcess(t, exec.Command("sleep", "60"), nil)
	if err := p.Stop(10 * time.Second); ExitCode(err) != -1 || err == nil {
		t.Errorf("stopping sleep: %v", err)
	}

	p = StartProcess(t, exec.Command("sh", "-c", "trap '' TERM; echo ready; sleep 60 & wait"), nil)
	time.Sleep(200 * time.Millisecond) // the trap is set
	start := time.Now()
	if err := p.Stop(300 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "did not exit within") {
		t.Errorf("stopping a process that ignores SIGTERM: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Stop took %s", time.Since(start))
	}
}
