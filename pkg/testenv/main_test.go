package testenv

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The servers start in parallel before the tests and are shared by them.
func TestMain(m *testing.M) { Main(m, NeedMariaDB, NeedPostgres, NeedKafka) }

func TestUniqueName(t *testing.T) {
	a, b := UniqueName(t), UniqueName(t)
	if a == b {
		t.Fatalf("two calls gave the same name %q", a)
	}
	if !strings.HasPrefix(a, "t_testuniquename_") || len(a) > 63 {
		t.Errorf("name %q: want the lower-cased test name as prefix and at most 63 characters", a)
	}
	t.Run("A Very/Long Sub-Test Name That Goes On And On And On", func(t *testing.T) {
		n := UniqueName(t)
		if len(n) > 63 || strings.ContainsAny(n, " /-ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Errorf("name %q is not a plain identifier of at most 63 characters", n)
		}
	})
}

func TestWaitFor(t *testing.T) {
	calls := 0
	err := WaitFor(context.Background(), time.Second, "the third call", func(context.Context) error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("WaitFor = %v after %d calls, want nil after 3", err, calls)
	}
	start := time.Now()
	err = WaitFor(context.Background(), 300*time.Millisecond, "never", func(context.Context) error { return errors.New("still down") })
	if err == nil || !strings.Contains(err.Error(), "still down") || time.Since(start) > 2*time.Second {
		t.Fatalf("WaitFor on a condition that never holds = %v after %s", err, time.Since(start))
	}
}

// TestSweepStale: a directory whose test binary is dead is deleted, one of
// a live binary (this one) is kept.
func TestSweepStale(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(pid int) string {
		dir, err := os.MkdirTemp("", dirPrefix+"sweeptest-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	stale, live := mk(dead.Process.Pid), mk(os.Getpid())
	sweepStale()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("directory of dead pid %d still exists (%v)", dead.Process.Pid, err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("directory of the running test binary was removed: %v", err)
	}
}
