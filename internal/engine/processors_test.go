package engine

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/processor"
	"github.com/lambdaotel/lambdaotel/pipeline"
	"github.com/lambdaotel/lambdaotel/pipeline/buffer"
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
