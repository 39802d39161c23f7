package sandbox

import (
	"context"
	"slices"
	"sync"
)

// admission lets at most limit invocations run at once and admits the
// others in the order they arrived. Shutdown takes every slot at once.
type admission struct {
	mu    sync.Mutex
	limit int
	used  int
	queue []*admissionWaiter // oldest first
}

type admissionWaiter struct {
	n     int
	ready chan struct{} // closed when the slots are granted
}

func newAdmission(limit int) *admission { return &admission{limit: limit} }

// acquire waits for n slots (at most the limit), or until ctx ends.
func (a *admission) acquire(ctx context.Context, n int) error {
	a.mu.Lock()
	if len(a.queue) == 0 && a.used+n <= a.limit {
		a.used += n
		a.mu.Unlock()
		return nil
	}
	w := &admissionWaiter{n: n, ready: make(chan struct{})}
	a.queue = append(a.queue, w)
	a.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-w.ready: // granted meanwhile: hand the slots on
		a.used -= n
	default:
		a.queue = slices.DeleteFunc(a.queue, func(q *admissionWaiter) bool { return q == w })
	}
	a.grantLocked()
	return ctx.Err()
}

// release gives back n slots.
func (a *admission) release(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.used -= n
	a.grantLocked()
}

// grantLocked admits waiters from the front of the queue while slots allow.
func (a *admission) grantLocked() {
	for len(a.queue) > 0 && a.used+a.queue[0].n <= a.limit {
		w := a.queue[0]
		a.queue = a.queue[1:]
		a.used += w.n
		close(w.ready)
	}
}
