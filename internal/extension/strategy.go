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
//
// The end and adaptive strategies also export the function's data as it
// arrives, during the invocation (earlyC, Engine.FlushEarly), so that at
// the end of an invocation little is left to send. While invocations are
// frequent, the adaptive strategy asks for the next event at once, and
// bounds what a freeze can hold instead: at each invocation it flushes
// (while the function runs) once anything held is older than holdBound:
// the platform's telemetry of earlier invocations, an export that failed.
const (
	busyGap   = 2 * time.Second
	gapWindow = 5
	holdBound = 500 * time.Millisecond
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

	// earlyC is signalled when the function's data arrives, for the
	// early exports of the end and adaptive strategies.
	earlyC       chan struct{}
	early        bool // the early exports run
	earlyStopped chan struct{}
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

// due reports whether the interval has passed since the last flush, or
// (the adaptive strategy) the oldest item held (zero: none) is older than
// holdBound.
func (f *flusher) due(now, held time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.strategy == config.StrategyAdaptive && !held.IsZero() && now.Sub(held) > holdBound {
		return true
	}
	return now.Sub(f.lastFlush) >= f.interval
}

// exportsEarly reports whether the strategy exports the function's data
// as it arrives: end and adaptive do; periodic collects it for the next
// interval, and continuous exports in the background anyway.
func (f *flusher) exportsEarly() bool {
	return f.strategy == config.StrategyEnd || f.strategy == config.StrategyAdaptive
}

// arrived signals that the function's data arrived.
func (f *flusher) arrived() {
	select {
	case f.earlyC <- struct{}{}:
	default:
	}
}

// maxEarly bounds the early exports under way at once; data that arrives
// meanwhile waits for one to end and goes with the next.
const maxEarly = 8

// runEarly exports the function's data as it arrives, until stop, each
// arrival at once, up to maxEarly exports at a time (the SDKs send traces,
// metrics and logs as separate requests: one export does not wait for
// another's round trip).
func (f *flusher) runEarly(ctx context.Context) {
	defer close(f.earlyStopped)
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, maxEarly)
	for {
		select {
		case <-f.stopC:
			return
		case <-f.earlyC:
		}
		select {
		case <-f.stopC:
			return
		case slots <- struct{}{}:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.x.flushEarly(ctx)
			<-slots
		}()
	}
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
	if f.early {
		<-f.earlyStopped
	}
}
