package engine

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// fakePlatform is a Platform that makes nothing and knows the invocations
// in known: JoinEarly refuses traces until known is set.
type fakePlatform struct {
	known  bool
	joined int
}

func (f *fakePlatform) Collect(ptrace.Traces) (ptrace.Traces, pmetric.Metrics, plog.Logs) {
	return ptrace.NewTraces(), pmetric.NewMetrics(), plog.NewLogs()
}
func (f *fakePlatform) Drain(ft ptrace.Traces) (ptrace.Traces, pmetric.Metrics, plog.Logs) {
	return f.Collect(ft)
}
func (f *fakePlatform) Join(ptrace.Traces)                {}
func (f *fakePlatform) TakeEnded() []processor.Invocation { return nil }
func (f *fakePlatform) JoinEarly(ptrace.Traces) bool {
	if f.known {
		f.joined++
	}
	return f.known
}

// TestFlushEarly: an early flush exports what the pipelines hold, each item
// once whatever flush comes next; traces the platform cannot join yet wait
// (held, counted by Held) and leave with the next flush; Held is zero when
// nothing is held.
func TestFlushEarly(t *testing.T) {
	ctx := context.Background()
	exp := &recorder{}
	p := &pipe{id: "traces", signal: pipeline.Traces, buf: buffer.New(1 << 20), exporters: []pipeline.Exporter{exp}, platform: true}
	plat := &fakePlatform{}
	x := &Engine{log: slog.New(slog.DiscardHandler), pipes: []*pipe{p}, exporters: []pipeline.Exporter{exp}, platform: plat}
	if !p.exportsEarly() {
		t.Fatal("a pipeline without processors does not export early")
	}
	if !x.Held().IsZero() {
		t.Fatal("an empty engine holds something")
	}

	// Not joinable yet: nothing leaves, the traces are held.
	p.buf.ConsumeTraces(ctx, spans("a", "b"))
	x.FlushEarly(ctx)
	if len(exp.names) != 0 {
		t.Fatalf("exported %v before the platform could join them", exp.names)
	}
	if x.Held().IsZero() {
		t.Fatal("traces waiting for their invocation are not counted as held")
	}
	// Joinable: they leave with what arrived since.
	plat.known = true
	p.buf.ConsumeTraces(ctx, spans("c"))
	x.FlushEarly(ctx)
	if got := strings.Join(exp.names, " "); got != "a b c" {
		t.Errorf("early flush exported %q, want \"a b c\"", got)
	}
	if !x.Held().IsZero() {
		t.Error("something is held after everything was exported")
	}
	// The flush at the end sends only what arrived after.
	p.buf.ConsumeTraces(ctx, spans("d"))
	x.Flush(ctx, false)
	x.FlushEarly(ctx)
	x.Flush(ctx, true)
	if got := strings.Join(exp.names, " "); got != "a b c d" {
		t.Errorf("exported %q, want each of \"a b c d\" once", got)
	}
	if n := x.Counts(); n.Exported != 4 {
		t.Errorf("%d exported, want 4", n.Exported)
	}
}

// TestFlushEarlyConcurrent: early flushes side by side, each after data
// arrived, with a processor, and flushes (one at a time) meanwhile, then a
// final flush: every item is exported once, and the processor is never
// called twice at once.
func TestFlushEarlyConcurrent(t *testing.T) {
	ctx := context.Background()
	exp := &recorder{}
	pr := &exclusive{}
	st, err := stageFor("exclusive", pr, pipeline.Traces)
	if err != nil {
		t.Fatal(err)
	}
	p := &pipe{id: "traces", signal: pipeline.Traces, buf: buffer.New(64 << 20), exporters: []pipeline.Exporter{exp}, processors: []stage{st}}
	x := &Engine{log: slog.New(slog.DiscardHandler), pipes: []*pipe{p}, exporters: []pipeline.Exporter{exp}, processors: []processor.Processor{pr}}
	const senders, each = 8, 25
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				if err := p.buf.ConsumeTraces(ctx, spans(fmt.Sprintf("%d-%d", s, i))); err != nil {
					t.Error(err)
				}
				x.FlushEarly(ctx)
			}
		})
	}
	stop := make(chan struct{})
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		for {
			select {
			case <-stop:
				return
			default:
				x.Flush(ctx, false)
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-flushed
	x.Flush(ctx, true)
	seen := map[string]int{}
	for _, n := range exp.names {
		seen[n]++
	}
	if len(seen) != senders*each {
		t.Errorf("%d distinct spans exported, want %d", len(seen), senders*each)
	}
	for n, c := range seen {
		if c != 1 {
			t.Errorf("span %s exported %d times", n, c)
		}
	}
	if pr.overlapped.Load() {
		t.Error("the processor was called by two flushes at once")
	}
}

// exclusive is a traces processor that notes whether it is ever called
// while another call is under way.
type exclusive struct {
	busy, overlapped atomic.Bool
}

func (e *exclusive) ProcessTraces(context.Context, ptrace.Traces) error {
	if !e.busy.CompareAndSwap(false, true) {
		e.overlapped.Store(true)
		return nil
	}
	time.Sleep(time.Millisecond)
	e.busy.Store(false)
	return nil
}
