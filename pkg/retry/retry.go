// Package retry holds the waits of retry loops: exponential backoff with
// jitter, and a sleep that ends with its context.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff yields exponentially growing waits: Base doubling up to Max,
// each drawn from [d/2, d] so that many processes retrying at once do not
// retry in step. The zero value of n starts at Base; Reset starts over.
type Backoff struct {
	Base, Max time.Duration
	n         int
}

// Next is the wait before the next attempt.
func (b *Backoff) Next() time.Duration {
	d := min(b.Base<<min(b.n, 20), b.Max)
	b.n++
	return d/2 + rand.N(d/2+1)
}

// Reset starts the waits over at Base (after progress).
func (b *Backoff) Reset() { b.n = 0 }

// Sleep waits d, or returns ctx.Err() when ctx ends first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
