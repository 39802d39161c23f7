package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// spanNamer is a traces-only processor that keeps state across flushes:
// it renames every span "<flush>.<name>", and fails when told to.
type spanNamer struct {
	flushes int
	ended   []bool
	fail    bool
}

func (p *spanNamer) ProcessTraces(_ context.Context, td ptrace.Traces) error {
	if p.fail {
		return errors.New("told to fail")
	}
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				spans.At(k).SetName(string(rune('0'+p.flushes)) + "." + spans.At(k).Name())
			}
		}
	}
	return nil
}

func (p *spanNamer) EndFlush(final bool) {
	p.flushes++
	p.ended = append(p.ended, final)
}

// recorder is an exporter that keeps the span names it got.
type recorder struct {
	mu    sync.Mutex
	names []string
}

func (r *recorder) Name() string { return "recorder" }
func (r *recorder) ExportTraces(_ context.Context, td ptrace.Traces) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				r.names = append(r.names, spans.At(k).Name())
			}
		}
	}
	return nil
}
func (r *recorder) ExportMetrics(context.Context, pmetric.Metrics) error { return nil }
func (r *recorder) ExportLogs(context.Context, plog.Logs) error          { return nil }
func (r *recorder) Shutdown(context.Context) error                       { return nil }

func spans(names ...string) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for _, n := range names {
		ss.AppendEmpty().SetName(n)
	}
	return td
}

// TestProcessorAcrossFlushes runs a processor with state through three
// flushes: it sees every batch of its pipeline, hears the end of every
// flush (the last one final), and a failure drops that flush's batch,
// counted.
func TestProcessorAcrossFlushes(t *testing.T) {
	pr := &spanNamer{}
	st, err := stageFor("namer", pr, pipeline.Traces)
	if err != nil {
		t.Fatal(err)
	}
	exp := &recorder{}
	p := &pipe{id: "traces", signal: pipeline.Traces, buf: buffer.New(1 << 20), processors: []stage{st}, exporters: []pipeline.Exporter{exp}}
	x := &Engine{log: slog.New(slog.DiscardHandler), pipes: []*pipe{p}, exporters: []pipeline.Exporter{exp}, processors: []processor.Processor{pr}}
	ctx := context.Background()
	for i, c := range []struct {
		spans []string
		fail  bool
		final bool
	}{{[]string{"a", "b"}, false, false}, {[]string{"c"}, true, false}, {[]string{"d"}, false, true}} {
		if err := p.buf.ConsumeTraces(ctx, spans(c.spans...)); err != nil {
			t.Fatal(err)
		}
		pr.fail = c.fail
		x.Flush(ctx, c.final)
		if pr.flushes != i+1 {
			t.Fatalf("after flush %d the processor heard of %d flush ends", i+1, pr.flushes)
		}
	}
	if got, want := strings.Join(exp.names, " "), "0.a 0.b 2.d"; got != want {
		t.Errorf("exported %q, want %q", got, want)
	}
	if got, want := pr.ended, []bool{false, false, true}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("EndFlush(final) got %v, want %v", got, want)
	}
	if n := x.Counts(); n.Dropped != 1 || n.Exported != 3 {
		t.Errorf("dropped %d, exported %d; want 1 dropped (the failed flush's span), 3 exported", n.Dropped, n.Exported)
	}
}

// TestStageForSignal: a processor in a pipeline of a signal it does not
// process is an error naming the signals it does process.
func TestStageForSignal(t *testing.T) {
	for _, c := range []struct {
		signal pipeline.Signal
		err    string
	}{
		{pipeline.Traces, ""},
		{pipeline.Metrics, "processor namer does not process metrics; it processes: traces"},
		{pipeline.Logs, "processor namer does not process logs; it processes: traces"},
	} {
		_, err := stageFor("namer", &spanNamer{}, c.signal)
		if (err == nil) != (c.err == "") || (err != nil && err.Error() != c.err) {
			t.Errorf("%s: error %v, want %q", c.signal, err, c.err)
		}
	}
}

// TestRouterFanOut: what a receiver got reaches every pipeline of its
// signal, each with its own copy, and no pipeline of another signal.
func TestRouterFanOut(t *testing.T) {
	a := &pipe{id: "traces/a", signal: pipeline.Traces, buf: buffer.New(1 << 20)}
	b := &pipe{id: "traces/b", signal: pipeline.Traces, buf: buffer.New(1 << 20)}
	m := &pipe{id: "metrics", signal: pipeline.Metrics, buf: buffer.New(1 << 20)}
	r := &router{receiver: "otlp", pipes: []*pipe{a, b, m}, logger: slog.New(slog.DiscardHandler)}
	if err := r.ConsumeTraces(context.Background(), spans("x", "y")); err != nil {
		t.Fatal(err)
	}
	ta, tb := a.buf.Take(), b.buf.Take()
	if ta.Traces.SpanCount() != 2 || tb.Traces.SpanCount() != 2 || !m.buf.Empty() {
		t.Fatalf("spans: a %d, b %d, metrics pipeline empty %v; want 2, 2, true", ta.Traces.SpanCount(), tb.Traces.SpanCount(), m.buf.Empty())
	}
	ta.Traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SetName("changed")
	if n := tb.Traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name(); n != "x" {
		t.Errorf("pipeline b's span is %q after a's was renamed: the pipelines share data", n)
	}
}

// dropper removes the spans whose name starts with "drop".
type dropper struct{}

func (dropper) ProcessTraces(_ context.Context, td ptrace.Traces) error {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			ss.Spans().RemoveIf(func(s ptrace.Span) bool { return strings.HasPrefix(s.Name(), "drop") })
		}
	}
	return nil
}

// invocationHolder holds every span until an invocation has ended, and
// records the order of what it was told.
type invocationHolder struct {
	events []string
	held   ptrace.Traces
	ended  bool
}

func (h *invocationHolder) EndInvocation(inv processor.Invocation) {
	h.events = append(h.events, "end "+inv.RequestID+" "+inv.Status)
	h.ended = true
}

func (h *invocationHolder) WholeInvocation(s pipeline.Signal) bool { return s == pipeline.Traces }

func (h *invocationHolder) ProcessTraces(ctx context.Context, td ptrace.Traces) error {
	h.events = append(h.events, fmt.Sprintf("process %s %d release=%v", processor.PipelineOf(ctx), td.SpanCount(), processor.MustRelease(ctx)))
	if h.held == (ptrace.Traces{}) {
		h.held = ptrace.NewTraces()
	}
	td.ResourceSpans().MoveAndAppendTo(h.held.ResourceSpans())
	if h.ended || processor.MustRelease(ctx) {
		h.held.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	}
	return nil
}

func (h *invocationHolder) Held(string) (int64, int64) {
	if h.held == (ptrace.Traces{}) {
		return 0, 0
	}
	return int64(h.held.SpanCount()), int64((&ptrace.ProtoMarshaler{}).TracesSize(h.held))
}

// endingPlatform is a Platform whose invocations end when told.
type endingPlatform struct{ ended []processor.Invocation }

func (p *endingPlatform) Collect(ptrace.Traces) (ptrace.Traces, pmetric.Metrics, plog.Logs) {
	return ptrace.NewTraces(), pmetric.NewMetrics(), plog.NewLogs()
}
func (p *endingPlatform) Drain(ft ptrace.Traces) (ptrace.Traces, pmetric.Metrics, plog.Logs) {
	return p.Collect(ft)
}
func (p *endingPlatform) Join(ptrace.Traces)           {}
func (p *endingPlatform) JoinEarly(ptrace.Traces) bool { return true }
func (p *endingPlatform) TakeEnded() []processor.Invocation {
	out := p.ended
	p.ended = nil
	return out
}

// TestFilteredAndHeld runs a processor that removes spans on purpose and
// one that holds them until their invocation ends: what the first removes
// is counted as filtered under its id (not dropped); what the second
// holds is not, counts against the buffer, and is exported at the flush
// in which the end of the invocation is told, before the processor sees
// that flush's data; with nothing new, the holding pipeline still runs.
func TestFilteredAndHeld(t *testing.T) {
	holder := &invocationHolder{}
	drop, err := stageFor("filter/x", dropper{}, pipeline.Traces)
	if err != nil {
		t.Fatal(err)
	}
	hold, err := stageFor("sampler", holder, pipeline.Traces)
	if err != nil {
		t.Fatal(err)
	}
	exp := &recorder{}
	p := &pipe{id: "traces", signal: pipeline.Traces, buf: buffer.New(1 << 20), processors: []stage{drop, hold}, exporters: []pipeline.Exporter{exp}, holds: true}
	platform := &endingPlatform{}
	x := &Engine{log: slog.New(slog.DiscardHandler), pipes: []*pipe{p}, exporters: []pipeline.Exporter{exp},
		processors: []processor.Processor{dropper{}, holder}, processorIDs: []string{"filter/x", "sampler"},
		filtered: map[string]*atomic.Int64{"filter/x": {}, "sampler": {}}, platform: platform}
	if p.exportsEarly() || !x.NeedsInvocations() {
		t.Fatal("a pipeline whose processor holds items must not export early, and NeedsInvocations should hold")
	}
	ctx := context.Background()
	if err := p.buf.ConsumeTraces(ctx, spans("a", "drop-1", "b")); err != nil {
		t.Fatal(err)
	}
	x.Flush(ctx, false)
	if len(exp.names) != 0 {
		t.Fatalf("exported %v while the invocation runs", exp.names)
	}
	if items := p.buf.Items().Spans; items != 0 {
		t.Fatalf("%d spans in the buffer", items)
	}
	// The 2 held spans count against the buffer: one more than it holds
	// (1<<20 / 64 items) is refused.
	if err := p.buf.Admit(pipeline.Traces, 0, p.buf.MaxItems()-1); err == nil || !strings.Contains(err.Error(), "held by a processor") {
		t.Fatalf("Admit with 2 spans held: %v, want the held ones counted", err)
	}
	platform.ended = []processor.Invocation{{RequestID: "r1", Status: processor.StatusSuccess}}
	x.Flush(ctx, false) // nothing new: the holder runs anyway
	if got := strings.Join(exp.names, " "); got != "a b" {
		t.Fatalf("exported %q, want \"a b\"", got)
	}
	if err := p.buf.Admit(pipeline.Traces, 0, p.buf.MaxItems()-1); err != nil {
		t.Fatalf("nothing is held any more, yet: %v", err)
	}
	x.Flush(ctx, true)
	want := []string{"process traces 2 release=false", "end r1 success", "process traces 0 release=false", "process traces 0 release=true"}
	if !slices.Equal(holder.events, want) {
		t.Errorf("the holder was told\n%q\nwant\n%q", holder.events, want)
	}
	n := x.Counts()
	if n.Filtered != 1 || n.FilteredBy["filter/x"] != 1 || n.FilteredBy["sampler"] != 0 || n.Dropped != 0 {
		t.Errorf("filtered %d %v, dropped %d; want 1 by filter/x, none by the sampler, none dropped", n.Filtered, n.FilteredBy, n.Dropped)
	}
}

// checkedNamer is a spanNamer whose options hold for traces only in name:
// it refuses every signal but "traces" through processor.SignalChecker.
type checkedNamer struct{ spanNamer }

func (checkedNamer) ProcessLogs(context.Context, plog.Logs) error { return nil }
func (checkedNamer) CheckSignal(signal string) error {
	if signal != "traces" {
		return errors.New("include: span_names cannot match " + signal)
	}
	return nil
}

// TestStageForSignalChecker: a processor that implements a signal may
// still refuse it for its options; the error names the processor, the
// signal and the processor's reason.
func TestStageForSignalChecker(t *testing.T) {
	if _, err := stageFor("attributes/x", &checkedNamer{}, pipeline.Traces); err != nil {
		t.Errorf("traces: %v", err)
	}
	_, err := stageFor("attributes/x", &checkedNamer{}, pipeline.Logs)
	if want := "processor attributes/x in a logs pipeline: include: span_names cannot match logs"; err == nil || err.Error() != want {
		t.Errorf("logs: error %v, want %q", err, want)
	}
}
