package retry

import (
	"context"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	b := Backoff{Base: 200 * time.Millisecond, Max: 10 * time.Second}
	prev := time.Duration(0)
	for i := range 40 {
		d := b.Next()
		lo, hi := min(b.Base<<i, b.Max)/2, min(b.Base<<min(i, 20), b.Max)
		if i > 20 {
			lo = b.Max / 2
		}
		if d < lo || d > hi {
			t.Fatalf("wait %d = %s, want within [%s, %s]", i, d, lo, hi)
		}
		prev = d
	}
	if prev < b.Max/2 {
		t.Fatalf("after 40 attempts the wait is %s, want near the cap %s", prev, b.Max)
	}
	b.Reset()
	if d := b.Next(); d > b.Base {
		t.Fatalf("after Reset the wait is %s, want at most %s", d, b.Base)
	}
}

func TestSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	if err := Sleep(ctx, time.Millisecond); err != nil {
		t.Fatalf("Sleep: %v", err)
	}
	cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("Sleep on a cancelled context: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("Sleep did not end with its context")
	}
}
