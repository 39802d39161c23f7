// Package awake makes contexts whose timeouts count only the time the
// process is awake. Lambda freezes an environment between invocations: a
// timer keeps running through the freeze, and one that expired meanwhile
// fires at the thaw, at the same moment as the answer that came in during
// the freeze. An export cut that way is sent again although the backend
// has it. A timeout of this package counts the time in steps of Tick, and
// a step far longer than that (over a second: the process did not run, a
// freeze) as one step only.
package awake

import (
	"context"
	"time"
)

// Tick is the step in which awake time is counted.
const Tick = 10 * time.Millisecond

// stalled is the longest step counted as it is; a longer one is a freeze
// and counts as one Tick. It is long enough that a process starved of CPU
// on a loaded machine (its ticks late by a few hundred milliseconds) is not
// taken for a frozen one: a request must not outlive its time by far
// because the machine is busy.
const stalled = time.Second

// WithTimeout returns a copy of parent that is cancelled, with the cause
// context.DeadlineExceeded, once the process has been awake for d, or
// when parent ends or cancel is called. It has no deadline (Deadline
// reports none): a deadline is wall-clock time.
func WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	go func() {
		t := time.NewTicker(Tick)
		defer t.Stop()
		var awake time.Duration
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				step := now.Sub(last)
				last = now
				if step > stalled {
					step = Tick
				}
				if awake += step; awake >= d {
					cancel(context.DeadlineExceeded)
					return
				}
			}
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}
