package obs

import (
	"cmp"
	"errors"
	"slices"
	"sync"
)

// Readiness is a set of named checks; the service is ready when every
// check passes. Components own their check and flip it with Set as their
// state changes, e.g. a partition worker sets
// "partition orders/3" to an error naming the offset it stopped at.
// It is safe for concurrent use.
type Readiness struct {
	mu     sync.RWMutex
	checks map[string]error
}

// errNotReported is the state of a check that has not reported yet.
var errNotReported = errors.New("not reported yet")

// NewReadiness returns readiness with the named checks, none ready until
// its owner calls Set(name, nil): a service is not ready merely because
// it has not failed yet.
func NewReadiness(names ...string) *Readiness {
	r := &Readiness{checks: make(map[string]error, len(names))}
	for _, n := range names {
		r.checks[n] = errNotReported
	}
	return r
}

// Set marks check name ready (err nil) or not ready with err as the
// reason. A name not seen before is added.
func (r *Readiness) Set(name string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks[name] = err
}

// Remove drops a check, e.g. for a partition that was revoked.
func (r *Readiness) Remove(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.checks, name)
}

// Check is the state of one check.
type Check struct {
	Name string
	Err  error // nil when ready
}

// Checks returns every check, sorted by name.
func (r *Readiness) Checks() []Check {
	r.mu.RLock()
	out := make([]Check, 0, len(r.checks))
	for n, err := range r.checks {
		out = append(out, Check{Name: n, Err: err})
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b Check) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Ready reports whether every check passes (true when there are none).
func (r *Readiness) Ready() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, err := range r.checks {
		if err != nil {
			return false
		}
	}
	return true
}
