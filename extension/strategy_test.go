package extension

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/pipeline/config"
)

func TestAdaptiveStrategy(t *testing.T) {
	cases := []struct {
		name string
		gaps []time.Duration // before each invocation after the first
		want []string        // the mode of each invocation, the first included
	}{
		{"rare invocations flush at the end", []time.Duration{time.Minute, time.Minute, time.Minute},
			[]string{"end", "end", "end", "end"}},
		{"busy invocations flush periodically once three gaps are known", []time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond},
			[]string{"end", "end", "end", "periodic", "periodic"}},
		{"a busy function that goes quiet goes back to the end", []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Hour, time.Hour, time.Hour},
			[]string{"end", "end", "end", "periodic", "end", "end", "end"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := &Extension{log: slog.New(slog.NewTextHandler(io.Discard, nil)), cfg: &config.Config{}}
			x.cfg.Settings.Flush = config.FlushSettings{Strategy: config.StrategyAdaptive, Interval: time.Second}
			f := &x.flusher
			f.init(x)
			now := time.Unix(1e9, 0)
			var got []string
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
