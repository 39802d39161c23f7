package extension

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
)

// The adaptive strategy flushes periodically while invocations come less
// than busyGap apart (the median of the last gapWindow gaps, and the last
// one), and at the end of each invocation otherwise. While the environment
// is awake, data then waits at most the flush interval plus one gap; after
// a long gap the strategy is back to flushing before every freeze.
const (
	busyGap   = 2 * time.Second
	gapWindow = 5
)

// flusher decides when to flush: it applies the strategy, makes the
// adaptive choice from the gaps between invocations, and runs the
// background flushes of the continuous strategy and of Managed Instances.
type flusher struct {
	x *Extension
	// strategy is the strategy applied: the configuration's, except on
	// Managed Instances (continuous). It is decided here, in init, and
	// nowhere else.
	strategy config.Strategy
	interval time.Duration

	mu        sync.Mutex
	lastFlush time.Time
	idleAt    time.Time       // when the extension last asked for an event
	gaps      []time.Duration // the latest gaps between invocations
	current   config.Strategy // the adaptive strategy's present choice

	kickC   chan struct{}
	stopC   chan struct{}
	stopped chan struct{}
}

func (f *flusher) init(x *Extension) {
	f.x = x
	f.strategy = x.cfg.Settings.Flush.Strategy
	f.interval = x.cfg.Settings.Flush.Interval
	if x.managed {
		// No INVOKE events, no freeze: export in the background, on a timer
		// and when a buffer fills.
		f.strategy = config.StrategyContinuous
		f.interval = min(f.interval, time.Second)
	}
	f.lastFlush = time.Now()
	x.log.Debug("flush strategy", "strategy", f.strategy, "interval", f.interval, "budget", x.budget)
}

// idleSince records that the extension asked for the next event at t.
func (f *flusher) idleSince(t time.Time) {
	f.mu.Lock()
	f.idleAt = t
	f.mu.Unlock()
}

// flushed records a flush at t.
func (f *flusher) flushed(t time.Time) {
	f.mu.Lock()
	f.lastFlush = t
	f.mu.Unlock()
}

// due reports whether the interval has passed since the last flush.
func (f *flusher) due(now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return now.Sub(f.lastFlush) >= f.interval
}

// background reports whether data is exported in the background (the
// continuous strategy) rather than at invocations.
func (f *flusher) background() bool { return f.strategy == config.StrategyContinuous }

// mode returns the strategy for an invocation that starts now: end,
// periodic or continuous (adaptive chooses between the first two).
func (f *flusher) mode(now time.Time) config.Strategy {
	if f.strategy != config.StrategyAdaptive {
		return f.strategy
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.idleAt.IsZero() {
		f.gaps = append(f.gaps, now.Sub(f.idleAt))
		if len(f.gaps) > gapWindow {
			f.gaps = f.gaps[1:]
		}
	}
	// Periodic while invocations are frequent; back to the end at the
	// first long gap, since another may follow with data left in memory.
	mode := config.StrategyEnd
	if n := len(f.gaps); n >= 3 && f.gaps[n-1] < busyGap {
		sorted := slices.Clone(f.gaps)
		slices.Sort(sorted)
		if median := sorted[len(sorted)/2]; median < busyGap {
			mode = config.StrategyPeriodic
		}
	}
	if mode != f.current {
		f.x.log.Debug("adaptive flush strategy switches", "from", f.current, "to", mode, "gaps", f.gaps)
		f.current = mode
	}
	return mode
}

// kick asks the background loop to flush now.
func (f *flusher) kick() {
	select {
	case f.kickC <- struct{}{}:
	default:
	}
}

// run flushes in the background, every interval and when kicked, until
// stop.
func (f *flusher) run(ctx context.Context) {
	defer close(f.stopped)
	ticker := time.NewTicker(f.interval)
	defer ticker.Stop()
	for {
		select {
		case <-f.stopC:
			return
		case <-ticker.C:
		case <-f.kickC:
		}
		f.x.flushWithin(ctx, time.Now().Add(f.x.budget))
	}
}

// stop ends the background loop, if it runs, and waits for it.
func (f *flusher) stop() {
	select {
	case <-f.stopC:
		return
	default:
	}
	close(f.stopC)
	if f.background() {
		<-f.stopped
	}
}
