package extension

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
)

func TestAdaptiveStrategy(t *testing.T) {
	cases := []struct {
		name string
		gaps []time.Duration   // before each invocation after the first
		want []config.Strategy // the mode of each invocation, the first included
	}{
		{"rare invocations flush at the end", []time.Duration{time.Minute, time.Minute, time.Minute},
			[]config.Strategy{"end", "end", "end", "end"}},
		{"busy invocations flush periodically once three gaps are known", []time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond},
			[]config.Strategy{"end", "end", "end", "periodic", "periodic"}},
		{"a busy function that goes quiet goes back to the end", []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Hour, time.Hour, time.Hour},
			[]config.Strategy{"end", "end", "end", "periodic", "end", "end", "end"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := &Extension{log: slog.New(slog.NewTextHandler(io.Discard, nil)), cfg: &config.Config{}}
			x.cfg.Settings.Flush = config.FlushSettings{Strategy: config.StrategyAdaptive, Interval: time.Second}
			f := &x.flusher
			f.init(x)
			now := time.Unix(1e9, 0)
			var got []config.Strategy
			for i := range len(c.want) {
				if i > 0 {
					f.idleSince(now)
					now = now.Add(c.gaps[i-1])
				}
				got = append(got, f.mode(now))
				now = now.Add(10 * time.Millisecond)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("modes %v, want %v", got, c.want)
				}
			}
		})
	}
}

// TestRuntimeDoneBounded: runtimeDone events nobody waits for (periodic and
// continuous strategies) do not pile up, and one arriving before its waiter
// is still seen.
func TestRuntimeDoneBounded(t *testing.T) {
	x := &Extension{runtimeDone: map[string]chan struct{}{}}
	for i := range 10 * maxRuntimeDone {
		x.runtimeDoneFor(fmt.Sprint("req-", i), true)
	}
	if n := len(x.runtimeDone); n > maxRuntimeDone {
		t.Errorf("%d runtimeDone entries kept, want at most %d", n, maxRuntimeDone)
	}
	select {
	case <-x.runtimeDoneFor(fmt.Sprint("req-", 10*maxRuntimeDone-1), false):
	default:
		t.Errorf("the latest runtimeDone was forgotten before its waiter came")
	}
}

// TestStrategyDecided: the strategy applied is decided once, in
// flusher.init: the configuration's, except on Managed Instances, where
// it is continuous with an interval of at most a second.
func TestStrategyDecided(t *testing.T) {
	cases := []struct {
		configured   config.Strategy
		managed      bool
		want         config.Strategy
		background   bool
		wantInterval time.Duration
	}{
		{config.StrategyEnd, false, config.StrategyEnd, false, 10 * time.Second},
		{config.StrategyAdaptive, false, config.StrategyAdaptive, false, 10 * time.Second},
		{config.StrategyContinuous, false, config.StrategyContinuous, true, 10 * time.Second},
		{config.StrategyEnd, true, config.StrategyContinuous, true, time.Second},
		{config.StrategyPeriodic, true, config.StrategyContinuous, true, time.Second},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s managed=%v", c.configured, c.managed), func(t *testing.T) {
			x := &Extension{log: slog.New(slog.NewTextHandler(io.Discard, nil)), cfg: &config.Config{}, managed: c.managed}
			x.cfg.Settings.Flush = config.FlushSettings{Strategy: c.configured, Interval: 10 * time.Second}
			f := &x.flusher
			f.init(x)
			if f.strategy != c.want || f.background() != c.background || f.interval != c.wantInterval {
				t.Errorf("strategy %s, background %v, interval %v; want %s, %v, %v", f.strategy, f.background(), f.interval, c.want, c.background, c.wantInterval)
			}
		})
	}
}
