package lambdaotelsamplingprocessor

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

func init() { processor.Register(Factory) }

// decode parses options (indented under the processor) as the extension
// does.
func decode(t *testing.T, options string) (*Config, error) {
	t.Helper()
	text := `receivers:
  otlp:
    protocols:
      http:
processors:
  lambdaotel_sampling:
` + options + `
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [lambdaotel_sampling]
      exporters: [debug]
`
	cfg, err := config.Parse([]byte(text), "config.yaml", func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	return cfg.Processors["lambdaotel_sampling"].Options.(*Config), nil
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name, options string
		want          string // in the configuration's String, or the error
		err           bool
	}{
		{"defaults", "    percentage: 10", "keeps errors, timeouts, cold starts, and 10% of the rest", false},
		{"every option", "    errors: false\n    timeouts: true\n    cold_starts: false\n    slower_than: 250ms\n    span_conditions:\n      - attributes[\"http.route\"] == \"/checkout\"\n    percentage: 2.5%\n    logs: true",
			`(spans and log records), keeps timeouts, slower than 250ms, spans where attributes["http.route"] == "/checkout", and 2.5% of the rest`, false},
		{"percentage missing", "    errors: true", "percentage is required", true},
		{"percentage out of range", "    percentage: 150", `percentage: expected a number from 0 to 100, got "150"`, true},
		{"percentage not a number", "    percentage: most", `got "most"`, true},
		{"bad condition", "    percentage: 1\n    span_conditions: ['attributes[\"a\"] ==']", "span_conditions[0]:", true},
		{"unsupported function", "    percentage: 1\n    span_conditions: ['IsFoo(name)']", "span_conditions[0]:", true},
		{"unknown key", "    percentage: 1\n    sample_rate: 3", "unknown key", true},
		{"bad duration", "    percentage: 1\n    slower_than: fast", "slower_than", true},
		{"bad bool", "    percentage: 1\n    errors: maybe", "errors", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := decode(t, c.options)
			if c.err {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %v, want one containing %q", err, c.want)
				}
				if !strings.Contains(err.Error(), "processors.lambdaotel_sampling") {
					t.Errorf("error %v does not name the processor", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(cfg.String(), c.want) {
				t.Errorf("%s\nwant %q in it", cfg, c.want)
			}
		})
	}
}

// traceID makes a trace id from 32 hex digits.
func traceID(t *testing.T, s string) pcommon.TraceID {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		t.Fatalf("bad trace id %q", s)
	}
	return pcommon.TraceID(b)
}

// TestThreshold checks the consistent-sampling arithmetic: T = (1 - p) *
// 2^56, R the low 56 bits of the trace id (or rv), keep when R >= T.
func TestThreshold(t *testing.T) {
	cases := []struct {
		pct   float64
		trace string
		rv    string // tracestate, if any
		keep  bool
	}{
		{100, "00000000000000000000000000000000", "", true},
		{0, "ffffffffffffffffffffffffffffffff", "", false},
		{50, "0000000000000000" + "00" + "80000000000000", "", true},  // R = 2^55 = T
		{50, "0000000000000000" + "ff" + "7fffffffffffff", "", false}, // R = 2^55 - 1; byte 8 is not randomness
		{10, "0000000000000000" + "00" + "e6666666666666", "", true},  // R = 0.9 * 2^56, rounded up
		{10, "ffffffffffffffff" + "ff" + "e6666666666665", "", false}, // one below T
		{10, "00000000000000000000000000000000", "ot=th:0;rv:f0000000000000", true},
		{10, "ffffffffffffffffffffffffffffffff", "vendor=x,ot=rv:00000000000001", false},
		{10, "ffffffffffffffffffffffffffffffff", "ot=rv:zz", true}, // malformed rv: the trace id's
	}
	if got, want := Threshold(50), uint64(1)<<55; got != want {
		t.Fatalf("Threshold(50) = %x, want %x", got, want)
	}
	if got, want := Threshold(10), uint64(0xe6666666666666); got != want {
		t.Fatalf("Threshold(10) = %x, want %x", got, want)
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v%%/%s/%s", c.pct, c.trace, c.rv), func(t *testing.T) {
			rv, ok := explicitRandomness(c.rv)
			if got := Keep(Randomness(traceID(t, c.trace), rv, ok), Threshold(c.pct)); got != c.keep {
				t.Errorf("keep = %v, want %v", got, c.keep)
			}
		})
	}
}

// inv describes one invocation for a test: its facts and its spans.
type inv struct {
	id      string
	trace   string // 32 hex digits
	status  string
	dur     time.Duration
	cold    bool
	spanErr bool   // a child span has status ERROR
	name    string // the child span's name
}

// spans appends the invocation's function spans (a root naming the
// invocation, a child) and its platform span to td.
func (v inv) spans(t *testing.T, td ptrace.Traces) {
	tid := traceID(t, v.trace)
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "fn")
	ss := rs.ScopeSpans().AppendEmpty()
	root := ss.Spans().AppendEmpty()
	root.SetTraceID(tid)
	root.SetSpanID(pcommon.SpanID{1, byte(len(v.id))})
	root.SetName("handler")
	root.Attributes().PutStr("faas.invocation_id", v.id)
	child := ss.Spans().AppendEmpty()
	child.SetTraceID(tid)
	child.SetSpanID(pcommon.SpanID{2})
	child.SetParentSpanID(root.SpanID())
	child.SetName(v.name)
	if v.spanErr {
		child.Status().SetCode(ptrace.StatusCodeError)
	}
	platform := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	platform.SetTraceID(tid)
	platform.SetSpanID(pcommon.SpanID{3})
	platform.SetName("function")
	platform.Attributes().PutStr("faas.invocation_id", v.id)
}

func (v inv) facts(t *testing.T) processor.Invocation {
	return processor.Invocation{RequestID: v.id, TraceID: traceID(t, v.trace), Status: v.status, Duration: v.dur, ColdStart: v.cold}
}

// names returns the invocation ids of the spans in td that name one, and
// the count of spans.
func names(td ptrace.Traces) ([]string, int) {
	var ids []string
	forEachSpan(td, func(_ ptrace.ResourceSpans, _ ptrace.ScopeSpans, sp ptrace.Span) {
		if id := invocationID(sp.Attributes()); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	})
	slices.Sort(ids)
	return ids, td.SpanCount()
}

const (
	lowTrace  = "0102030405060708" + "00" + "00000000000001" // R tiny: dropped below 100 %
	highTrace = "0102030405060708" + "ff" + "ffffffffffffff" // R maximal: kept above 0 %
)

// TestDecision is the table of the rules: each invocation alone, its
// spans in the flush after its end.
func TestDecision(t *testing.T) {
	cases := []struct {
		name, options string
		inv           inv
		keep          bool
		reason        string
	}{
		{"success, sampled out", "", inv{status: "success", trace: lowTrace}, false, ReasonPercentage},
		{"success, sampled in", "", inv{status: "success", trace: highTrace}, true, ReasonPercentage},
		{"handler error", "", inv{status: "error", trace: lowTrace}, true, ReasonError},
		{"runtime failure", "", inv{status: "failure", trace: lowTrace}, true, ReasonError},
		{"no runtimeDone", "", inv{status: "", trace: lowTrace}, true, ReasonError},
		{"span with status ERROR", "", inv{status: "success", spanErr: true, trace: lowTrace}, true, ReasonError},
		{"timeout", "", inv{status: "timeout", trace: lowTrace}, true, ReasonTimeout},
		{"timeout before error", "", inv{status: "timeout", spanErr: true, trace: lowTrace}, true, ReasonTimeout},
		{"cold start", "", inv{status: "success", cold: true, trace: lowTrace}, true, ReasonColdStart},
		{"slow", "    slower_than: 1s", inv{status: "success", dur: 1500 * time.Millisecond, trace: lowTrace}, true, ReasonSlow},
		{"just under slow", "    slower_than: 1s", inv{status: "success", dur: 999 * time.Millisecond, trace: lowTrace}, false, ReasonPercentage},
		{"condition on a span", "    span_conditions: ['name == \"checkout\"']", inv{status: "success", name: "checkout", trace: lowTrace}, true, ReasonCondition},
		{"condition not met", "    span_conditions: ['name == \"checkout\"']", inv{status: "success", name: "cart", trace: lowTrace}, false, ReasonPercentage},
		{"errors off", "    errors: false", inv{status: "error", spanErr: true, trace: lowTrace}, false, ReasonPercentage},
		{"timeouts off: a timeout is no error", "    timeouts: false", inv{status: "timeout", trace: lowTrace}, false, ReasonPercentage},
		{"cold starts off", "    cold_starts: false", inv{status: "success", cold: true, trace: lowTrace}, false, ReasonPercentage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := decode(t, "    percentage: 50\n"+c.options)
			if err != nil {
				t.Fatal(err)
			}
			pr, _ := New(cfg)
			p := pr.(*Processor)
			c.inv.id = "req-1"
			td := ptrace.NewTraces()
			c.inv.spans(t, td)
			p.EndInvocation(c.inv.facts(t))
			if err := p.ProcessTraces(processor.WithFlush(context.Background(), "traces", false), td); err != nil {
				t.Fatal(err)
			}
			ids, n := names(td)
			if c.keep && (n != 3 || len(ids) != 1) || !c.keep && n != 0 {
				t.Errorf("%d spans of %v passed on; want all 3 kept: %v", n, ids, c.keep)
			}
			decision := "dropped"
			if c.keep {
				decision = "kept"
			}
			for _, ct := range p.Counters() {
				want := int64(0)
				if ct.Attributes[0][1] == decision && ct.Attributes[1][1] == c.reason {
					want = 1
				}
				if ct.Value != want {
					t.Errorf("counter %v = %d, want %d", ct.Attributes, ct.Value, want)
				}
			}
			if items, _ := p.Held("traces"); items != 0 {
				t.Errorf("%d items still held", items)
			}
		})
	}
}

// TestAcrossFlushes follows invocations whose spans come before their
// end: held (and counted as held), then passed on or dropped whole at the
// flush after the end; spans that come after the decision follow it;
// spans of no invocation are held while no invocation ended (a child
// whose root comes later follows the root's invocation), then kept; at
// the last flush what was never decided is kept.
func TestAcrossFlushes(t *testing.T) {
	cfg, err := decode(t, "    percentage: 50\n    logs: true")
	if err != nil {
		t.Fatal(err)
	}
	pr, _ := New(cfg)
	p := pr.(*Processor)
	flush := func(release bool) context.Context {
		return processor.WithFlush(context.Background(), "traces", release)
	}
	kept := inv{id: "kept", trace: highTrace, status: "success"}
	dropped := inv{id: "dropped", trace: lowTrace, status: "success"}
	open := inv{id: "open", trace: "0a" + lowTrace[2:], status: "success"}

	// Flush 1: both invocations running; a span of no invocation, and the
	// child of an invocation whose root span comes later.
	lateTrace := "0b" + lowTrace[2:]
	td := ptrace.NewTraces()
	kept.spans(t, td)
	dropped.spans(t, td)
	orphan := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	orphan.SetTraceID(traceID(t, "ffeeddccbbaa99887766554433221100"))
	orphan.SetName("orphan")
	early := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	early.SetTraceID(traceID(t, lateTrace))
	early.SetParentSpanID(pcommon.SpanID{9})
	early.SetName("early child")
	if err := p.ProcessTraces(flush(false), td); err != nil {
		t.Fatal(err)
	}
	if n := td.SpanCount(); n != 0 {
		t.Fatalf("flush 1 passed on %d spans; want none while no invocation ended", n)
	}
	if items, bytes := p.Held("traces"); items != 8 || bytes <= 0 {
		t.Fatalf("held %d items (%d bytes), want 8", items, bytes)
	}
	if items, _ := p.Held("other"); items != 0 {
		t.Fatalf("another pipeline holds %d items", items)
	}

	// Flush 2: three ended, the root span of the early child's came;
	// a log record of each, and the open invocation's spans.
	p.EndInvocation(kept.facts(t))
	p.EndInvocation(dropped.facts(t))
	p.EndInvocation(processor.Invocation{RequestID: "late", Status: "success", TraceID: traceID(t, lateTrace)})
	td = ptrace.NewTraces()
	open.spans(t, td)
	root := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	root.SetTraceID(traceID(t, lateTrace))
	root.SetSpanID(pcommon.SpanID{9})
	root.Attributes().PutStr("faas.invocation_id", "late")
	if err := p.ProcessTraces(flush(false), td); err != nil {
		t.Fatal(err)
	}
	if ids, n := names(td); n != 4 || !slices.Equal(ids, []string{"kept"}) {
		t.Fatalf("flush 2 passed on %d spans of %v; want the 3 of kept and the orphan", n, ids)
	}
	ld := plog.NewLogs()
	for _, id := range []string{"kept", "dropped"} {
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.Attributes().PutStr("faas.invocation_id", id)
		lr.Body().SetStr(id)
	}
	by := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	by.SetTraceID(traceID(t, lowTrace)) // the dropped invocation's, by its trace
	if err := p.ProcessLogs(processor.WithFlush(context.Background(), "logs", false), ld); err != nil {
		t.Fatal(err)
	}
	if ld.LogRecordCount() != 1 || ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str() != "kept" {
		t.Fatalf("logs: %d records passed on, want the kept invocation's only", ld.LogRecordCount())
	}

	// Flush 3: a late span of the dropped invocation (its trace), no end for open.
	td = ptrace.NewTraces()
	late := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	late.SetTraceID(traceID(t, lowTrace))
	late.SetParentSpanID(pcommon.SpanID{1})
	if err := p.ProcessTraces(flush(false), td); err != nil {
		t.Fatal(err)
	}
	if td.SpanCount() != 0 {
		t.Fatalf("a late span of a dropped invocation was passed on")
	}
	if items, _ := p.Held("traces"); items != 3 {
		t.Fatalf("held %d items, want the open invocation's 3", items)
	}

	// The last flush: the open invocation never ended; it is kept.
	td = ptrace.NewTraces()
	if err := p.ProcessTraces(flush(true), td); err != nil {
		t.Fatal(err)
	}
	if ids, n := names(td); n != 3 || !slices.Equal(ids, []string{"open"}) {
		t.Fatalf("the last flush passed on %d spans of %v; want the 3 of open", n, ids)
	}
	want := map[string]int64{"kept.percentage": 1, "dropped.percentage": 2, "kept.undecided": 1}
	for _, c := range p.Counters() {
		if got := c.Value; got != want[c.Attributes[0][1]+"."+c.Attributes[1][1]] {
			t.Errorf("counter %v = %d, want %d", c.Attributes, got, want[c.Attributes[0][1]+"."+c.Attributes[1][1]])
		}
	}
}

// TestTieByAncestor checks that, when one trace holds two invocations of
// the function (a caller that invokes it twice), each span follows the
// invocation of its nearest ancestor that names one.
func TestTieByAncestor(t *testing.T) {
	cfg, err := decode(t, "    percentage: 0\n    cold_starts: true")
	if err != nil {
		t.Fatal(err)
	}
	pr, _ := New(cfg)
	p := pr.(*Processor)
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	tid := traceID(t, highTrace)
	add := func(id, parent byte, name, inv string) {
		sp := spans.AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID{id})
		if parent != 0 {
			sp.SetParentSpanID(pcommon.SpanID{parent})
		}
		sp.SetName(name)
		if inv != "" {
			sp.Attributes().PutStr("faas.invocation_id", inv)
		}
	}
	add(1, 0, "caller", "")
	add(2, 1, "first", "a")
	add(3, 2, "first-child", "")
	add(4, 3, "first-grandchild", "")
	add(5, 1, "second", "b")
	add(6, 5, "second-child", "")
	p.EndInvocation(processor.Invocation{RequestID: "a", Status: "success", ColdStart: true, TraceID: tid})
	p.EndInvocation(processor.Invocation{RequestID: "b", Status: "success", TraceID: tid})
	if err := p.ProcessTraces(processor.WithFlush(context.Background(), "traces", false), td); err != nil {
		t.Fatal(err)
	}
	var got []string
	forEachSpan(td, func(_ ptrace.ResourceSpans, _ ptrace.ScopeSpans, sp ptrace.Span) { got = append(got, sp.Name()) })
	// The caller's span names no invocation: it follows the trace's first
	// (a, kept); b's spans are dropped.
	if want := []string{"caller", "first", "first-child", "first-grandchild"}; !slices.Equal(got, want) {
		t.Errorf("passed on %v, want %v", got, want)
	}
}

// TestWholeInvocation is the engine's predicate: traces always, logs with
// the option, metrics never.
func TestWholeInvocation(t *testing.T) {
	for _, c := range []struct {
		options string
		want    map[pipeline.Signal]bool
	}{
		{"    percentage: 5", map[pipeline.Signal]bool{pipeline.Traces: true}},
		{"    percentage: 5\n    logs: true", map[pipeline.Signal]bool{pipeline.Traces: true, pipeline.Logs: true}},
	} {
		cfg, err := decode(t, c.options)
		if err != nil {
			t.Fatal(err)
		}
		pr, _ := New(cfg)
		for _, s := range pipeline.Signals {
			if got := pr.(processor.InvocationEnder).WholeInvocation(s); got != c.want[s] {
				t.Errorf("%q: WholeInvocation(%s) = %v, want %v", c.options, s, got, c.want[s])
			}
		}
	}
}

// TestMaxWait keeps what waited longer than maxWait for its end, named
// or of no invocation.
func TestMaxWait(t *testing.T) {
	cfg, err := decode(t, "    percentage: 0")
	if err != nil {
		t.Fatal(err)
	}
	pr, _ := New(cfg)
	p := pr.(*Processor)
	now := time.Unix(1000, 0)
	p.now = func() time.Time { return now }
	td := ptrace.NewTraces()
	inv{id: "stuck", trace: lowTrace}.spans(t, td)
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("of no invocation")
	ctx := processor.WithFlush(context.Background(), "traces", false)
	if err := p.ProcessTraces(ctx, td); err != nil || td.SpanCount() != 0 {
		t.Fatalf("%d spans passed on (%v), want them held", td.SpanCount(), err)
	}
	now = now.Add(maxWait)
	if err := p.ProcessTraces(ctx, td); err != nil || td.SpanCount() != 0 {
		t.Fatalf("%d spans passed on at maxWait (%v), want them held", td.SpanCount(), err)
	}
	now = now.Add(time.Second)
	if err := p.ProcessTraces(ctx, td); err != nil || td.SpanCount() != 4 {
		t.Fatalf("%d spans passed on after maxWait (%v), want 4", td.SpanCount(), err)
	}
	if items, _ := p.Held("traces"); items != 0 {
		t.Fatalf("%d items still held", items)
	}
}
