package telemetryapireceiver

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/processor"
	"github.com/lambdaotel/lambdaotel/internal/telemetryapi"
)

const (
	req1 = "6d68ca91-49c9-448d-89b8-7ca3e6dc66aa"
	req2 = "15b0ebbb-5cf8-49e2-8cbe-1d58a18330d2"
	req3 = "79b5e81f-9cdd-4145-b1f6-7c50ef8a2a36"

	invokedARN = "arn:aws:lambda:eu-west-1:123456789012:function:orders:live"
	functionID = "arn:aws:lambda:eu-west-1:123456789012:function:orders" // cloud.resource_id of $LATEST
)

// TestColdStartAndWarmInvocations follows one environment: a cold start
// and three invocations, with and without an SDK in the function.
func TestColdStartAndWarmInvocations(t *testing.T) {
	r, clock := newTestReceiver(nil)
	var all ptrace.Traces = ptrace.NewTraces()
	keep := func(td ptrace.Traces) { td.ResourceSpans().MoveAndAppendTo(all.ResourceSpans()) }

	// Init, then invocation 1: the function's SDK (W3C, upstream parent U)
	// sends its root span.
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evInitStart, initStartRec("on-demand", "init")),
		line(t, 50, evFunction, "loading configuration"),
		ev(t, 120, evInitRuntimeDone, initDoneRec("init", "success", "")),
		ev(t, 125, evInitReport, initReportRec(125)),
	})
	xray1 := "Root=1-66321000-aaaaaaaaaaaaaaaaaaaaaaaa;Parent=1111111111111111;Sampled=1"
	r.Invoke(req1, invokedARN, xray1)
	r.Consume([]telemetryapi.Event{
		ev(t, 200, evStart, startRec(req1, xray1)),
		line(t, 250, evFunction, "2024-05-01T10:00:00.250Z\t"+req1+"\tINFO\thello from the handler"),
		line(t, 260, evExtension, "lambdaotel: DEBUG received spans=2"),
		line(t, 270, evExtension, "other-extension: ready"),
		ev(t, 300, evRuntimeDone, runtimeDoneRec(req1, "success", "", 100, 200)),
	})
	fnTrace := traceID("0af7651916cd43dd8448eb211c80319c")
	upstream, fnRoot := spanID("b7ad6b7169203331"), spanID("00f067aa0ba902b7")
	fn1 := functionTraces(attrFaaSInvocationID, req1, fnTrace, upstream, fnRoot, 201, 299)
	*clock = at(302)
	td, md, ld := r.Collect(fn1)

	inv := oneSpan(t, td, "orders")
	initSpan := oneSpan(t, td, spanInit)
	if inv.Kind() != ptrace.SpanKindServer || inv.StartTimestamp() != ts(at(200)) || inv.EndTimestamp() != ts(at(300)) {
		t.Errorf("invocation span: kind %v, %v – %v", inv.Kind(), inv.StartTimestamp(), inv.EndTimestamp())
	}
	// One connected trace: the invocation span took the function's trace
	// id and upstream parent; the function's root is its child.
	if inv.TraceID() != fnTrace || inv.ParentSpanID() != upstream {
		t.Errorf("invocation span trace %s parent %s, want %s %s", inv.TraceID(), inv.ParentSpanID(), fnTrace, upstream)
	}
	root := fn1.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	if root.ParentSpanID() != inv.SpanID() || root.TraceID() != fnTrace {
		t.Errorf("function root parent %s, want the invocation span %s", root.ParentSpanID(), inv.SpanID())
	}
	if child := fn1.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1); child.ParentSpanID() != fnRoot {
		t.Errorf("function child re-parented: %s", child.ParentSpanID())
	}
	wantAttrs := map[string]any{
		"faas.invocation_id":                req1,
		"faas.coldstart":                    true,
		"aws.lambda.invoked_arn":            invokedARN,
		"cloud.account.id":                  "123456789012",
		"cloud.resource_id":                 functionID,
		"faas.trigger":                      "other",
		"lambdaotel.runtime.status":         "success",
		"lambdaotel.runtime.duration":       0.1,
		"lambdaotel.runtime.produced_bytes": int64(12),
	}
	if got := attrs(inv.Attributes()); fmt.Sprint(got) != fmt.Sprint(wantAttrs) {
		t.Errorf("invocation span attributes\n got %v\nwant %v", got, wantAttrs)
	}
	if inv.Status().Code() != ptrace.StatusCodeUnset {
		t.Errorf("successful invocation status %v", inv.Status().Code())
	}
	// The cold start: a child of the first invocation's span, as long as
	// initReport's durationMs (what faas.init_duration records).
	if initSpan.TraceID() != fnTrace || initSpan.ParentSpanID() != inv.SpanID() ||
		initSpan.StartTimestamp() != ts(at(0)) || initSpan.EndTimestamp() != ts(at(125)) {
		t.Errorf("init span: trace %s parent %s %v – %v", initSpan.TraceID(), initSpan.ParentSpanID(), initSpan.StartTimestamp(), initSpan.EndTimestamp())
	}
	wantInit := map[string]any{"lambdaotel.init.type": "on-demand", "lambdaotel.init.phase": "init",
		"lambdaotel.init.runtime_version": "provided:al2023.v100", "lambdaotel.init.duration": 0.125}
	if got := attrs(initSpan.Attributes()); fmt.Sprint(got) != fmt.Sprint(wantInit) {
		t.Errorf("init span attributes\n got %v\nwant %v", got, wantInit)
	}
	for name, want := range map[string][2]float64{"responseLatency": {200, 299}, "responseDuration": {299, 300}, spanPostRuntime: {300, 302}} {
		sp := oneSpan(t, td, name)
		if sp.ParentSpanID() != inv.SpanID() || sp.TraceID() != fnTrace || sp.StartTimestamp() != ts(at(want[0])) || sp.EndTimestamp() != ts(at(want[1])) {
			t.Errorf("%s: parent %s trace %s %v – %v, want %v", name, sp.ParentSpanID(), sp.TraceID(), sp.StartTimestamp().AsTime(), sp.EndTimestamp().AsTime(), want)
		}
	}
	// Metrics of invocation 1: the runtimeDone ones and the init's.
	m := metricsByName(md)
	if n := sumValue(t, m[metricInvocations], ""); n != 1 {
		t.Errorf("faas.invocations %d", n)
	}
	if n := sumValue(t, m[metricColdstarts], ""); n != 1 {
		t.Errorf("faas.coldstarts %d", n)
	}
	if h := m[metricInvokeDuration].Histogram().DataPoints().At(0); h.Count() != 1 || h.Sum() != 0.1 {
		t.Errorf("faas.invoke_duration count %d sum %g", h.Count(), h.Sum())
	}
	if h := m[metricInitDuration].Histogram().DataPoints().At(0); h.Count() != 1 || h.Sum() != 0.125 {
		t.Errorf("faas.init_duration count %d sum %g", h.Count(), h.Sum())
	}
	for _, name := range []string{metricErrors, metricTimeouts, metricBilledDuration, metricMemUsage, metricPostRuntime} {
		if _, ok := m[name]; ok {
			t.Errorf("%s in the first flush", name)
		}
	}
	// Logs: the init line belongs to the init span, the handler's line to
	// the invocation; the extension's own line is dropped.
	initLine := logWithBody(t, ld, "loading configuration")
	if initLine.TraceID() != fnTrace || initLine.SpanID() != initSpan.SpanID() {
		t.Errorf("init line trace %s span %s", initLine.TraceID(), initLine.SpanID())
	}
	hello := logWithBody(t, ld, "2024-05-01T10:00:00.250Z\t"+req1+"\tINFO\thello from the handler")
	if hello.TraceID() != fnTrace || hello.SpanID() != inv.SpanID() || hello.SeverityNumber() != plog.SeverityNumberInfo ||
		hello.SeverityText() != "INFO" || hello.Timestamp() != ts(at(250)) || !hello.Flags().IsSampled() {
		t.Errorf("handler line: trace %s span %s severity %v %q time %v", hello.TraceID(), hello.SpanID(), hello.SeverityNumber(), hello.SeverityText(), hello.Timestamp())
	}
	if got := attrs(hello.Attributes()); fmt.Sprint(got) != fmt.Sprint(map[string]any{"lambdaotel.log.type": "function", "faas.invocation_id": req1}) {
		t.Errorf("handler line attributes %v", got)
	}
	other := logWithBody(t, ld, "other-extension: ready")
	if str(other.Attributes(), attrLogType) != "extension" || other.TraceID() != fnTrace {
		t.Errorf("extension line: %v trace %s", attrs(other.Attributes()), other.TraceID())
	}
	if n := len(allLogs(ld)); n != 3 {
		t.Errorf("%d log records, want 3 (the extension's own line dropped)", n)
	}
	keep(td)

	// Invocation 2: no SDK in the function; the invocation span starts a
	// trace and links to the X-Ray header's context. The report of
	// invocation 1 arrives at this thaw. The INVOKE event comes before
	// platform.start.
	xray2 := "Root=1-66321001-bbbbbbbbbbbbbbbbbbbbbbbb;Parent=2222222222222222;Sampled=1"
	r.Invoke(req2, invokedARN, xray2)
	*clock = at(1101) // when the extension receives the events
	r.Consume([]telemetryapi.Event{
		ev(t, 1000, evReport, reportRec(req1, "success", 103, 229, 40, 125)),
		ev(t, 1001, evStart, startRec(req2, xray2)),
		line(t, 1050, evFunction, "[ERROR]\t2024-05-01T10:00:01.050Z\t"+req2+"\tsomething failed"),
		ev(t, 1060, evFunction, `{"timestamp":"2024-05-01T10:00:01.059Z","level":"WARN","requestId":"`+req2+`","message":"careful","logger":"root","attempt":3}`),
		ev(t, 1100, evRuntimeDone, runtimeDoneRec(req2, "error", "ValueError", 99, 1001)),
	})
	*clock = at(1103)
	td, md, ld = r.Collect(ptrace.NewTraces())
	inv2 := oneSpan(t, td, "orders")
	if inv2.TraceID() == traceID("66321001bbbbbbbbbbbbbbbbbbbbbbbb") || !inv2.ParentSpanID().IsEmpty() || inv2.Flags()&1 != 1 ||
		inv2.Links().Len() != 1 || inv2.Links().At(0).TraceID() != traceID("66321001bbbbbbbbbbbbbbbbbbbbbbbb") ||
		inv2.Links().At(0).SpanID() != spanID("2222222222222222") {
		t.Errorf("invocation 2 without SDK: trace %s parent %s flags %x links %d, want a sampled root linked to X-Ray", inv2.TraceID(), inv2.ParentSpanID(), inv2.Flags(), inv2.Links().Len())
	}
	if boolAttr(inv2.Attributes(), attrFaaSColdstart) {
		t.Error("invocation 2 is a cold start")
	}
	if inv2.Status().Code() != ptrace.StatusCodeError || inv2.Status().Message() != "" {
		t.Errorf("invocation 2 status %v %q", inv2.Status().Code(), inv2.Status().Message())
	}
	if str(inv2.Attributes(), attrErrorType) != "ValueError" {
		t.Errorf("invocation 2 error.type %q", str(inv2.Attributes(), attrErrorType))
	}
	if len(spansNamed(td, spanInit)) != 0 {
		t.Error("init span again")
	}
	m = metricsByName(md)
	if n := sumValue(t, m[metricErrors], "ValueError"); n != 1 {
		t.Errorf("faas.errors{ValueError} %d", n)
	}
	for _, name := range []string{metricInvocations, metricColdstarts, metricInitDuration, metricTimeouts} {
		if _, ok := m[name]; ok {
			t.Errorf("%s in the second flush (delta)", name)
		}
	}
	// From invocation 1's report.
	for name, want := range map[string]float64{metricBilledDuration: 0.229, metricMemUsage: 40 << 20, metricPostRuntime: 0.003, metricInvokeDuration: 0.099} {
		h := m[name].Histogram().DataPoints().At(0)
		if h.Count() != 1 || math.Abs(h.Sum()-want) > 1e-9 {
			t.Errorf("%s count %d sum %g, want 1 %g", name, h.Count(), h.Sum(), want)
		}
	}
	py := logWithBody(t, ld, "[ERROR]\t2024-05-01T10:00:01.050Z\t"+req2+"\tsomething failed")
	if py.SeverityNumber() != plog.SeverityNumberError || py.TraceID() != inv2.TraceID() || py.SpanID() != inv2.SpanID() {
		t.Errorf("python line severity %v trace %s span %s", py.SeverityNumber(), py.TraceID(), py.SpanID())
	}
	js := logWithBody(t, ld, "careful")
	if js.SeverityNumber() != plog.SeverityNumberWarn || js.SeverityText() != "WARN" || js.Timestamp() != ts(at(1059)) ||
		js.ObservedTimestamp() != ts(at(1101)) || js.TraceID() != inv2.TraceID() {
		t.Errorf("JSON line: severity %v %q time %v observed %v", js.SeverityNumber(), js.SeverityText(), js.Timestamp().AsTime(), js.ObservedTimestamp().AsTime())
	}
	wantJS := map[string]any{"lambdaotel.log.type": "function", "faas.invocation_id": req2, "logger": "root", "attempt": int64(3)}
	if got := attrs(js.Attributes()); fmt.Sprint(got) != fmt.Sprint(wantJS) {
		t.Errorf("JSON line attributes\n got %v\nwant %v", got, wantJS)
	}
	keep(td)

	// Invocation 3: platform.start without tracing (the INVOKE header
	// stands in); the SDK starts a new trace and names the request with the
	// older faas.execution.
	xray3 := "Root=1-66321002-cccccccccccccccccccccccc;Parent=3333333333333333;Sampled=0"
	r.Consume([]telemetryapi.Event{
		ev(t, 2000, evReport, reportRec(req2, "error", 101, 102, 41, 0)),
		ev(t, 2001, evStart, startRec(req3, "")),
	})
	r.Invoke(req3, invokedARN, xray3)
	r.Consume([]telemetryapi.Event{
		line(t, 2050, evFunction, "WARN disk almost full"),
		ev(t, 2100, evRuntimeDone, runtimeDoneRec(req3, "success", "", 99, 2001)),
	})
	fn3Trace := traceID("4bf92f3577b34da6a3ce929d0e0e4736")
	fn3 := functionTraces(attrFaaSExecution, req3, fn3Trace, pcommon.SpanID{}, spanID("1234567890abcdef"), 2002, 2099)
	*clock = at(2101)
	td, md, ld = r.Collect(fn3)
	inv3 := oneSpan(t, td, "orders")
	if inv3.TraceID() != fn3Trace || !inv3.ParentSpanID().IsEmpty() {
		t.Errorf("invocation 3: trace %s parent %s", inv3.TraceID(), inv3.ParentSpanID())
	}
	if p := fn3.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).ParentSpanID(); p != inv3.SpanID() {
		t.Errorf("function root of invocation 3 parent %s", p)
	}
	warn := logWithBody(t, ld, "WARN disk almost full")
	if warn.SeverityNumber() != plog.SeverityNumberWarn || warn.SpanID() != inv3.SpanID() {
		t.Errorf("plain line severity %v span %s", warn.SeverityNumber(), warn.SpanID())
	}
	if str(warn.Attributes(), attrFaaSInvocationID) != req3 {
		t.Errorf("plain line faas.invocation_id %q", str(warn.Attributes(), attrFaaSInvocationID))
	}
	if n := sumValue(t, metricsByName(md)[metricInvocations], ""); n != 1 {
		t.Errorf("faas.invocations %d in the third flush", n)
	}
	keep(td)

	// Shutdown: invocation 3's report.
	r.Consume([]telemetryapi.Event{ev(t, 3000, evReport, reportRec(req3, "success", 100, 100, 41, 0))})
	*clock = at(3001)
	td, md, _ = r.Drain(ptrace.NewTraces())
	if td.SpanCount() != 0 {
		t.Errorf("%d spans at shutdown", td.SpanCount())
	}
	if h := metricsByName(md)[metricBilledDuration].Histogram().DataPoints().At(0); h.Count() != 1 || h.Sum() != 0.1 {
		t.Errorf("billed duration at shutdown: %d %g", h.Count(), h.Sum())
	}

	// Exactly one init span and one invocation span per invocation.
	if n := len(spansNamed(all, spanInit)); n != 1 {
		t.Errorf("%d init spans", n)
	}
	ids := map[string]int{}
	for _, sp := range spansNamed(all, "orders") {
		ids[str(sp.Attributes(), attrFaaSInvocationID)]++
	}
	if fmt.Sprint(ids) != fmt.Sprint(map[string]int{req1: 1, req2: 1, req3: 1}) {
		t.Errorf("invocation spans per request: %v", ids)
	}
}

// TestOutcomes checks the invocation span and the counters of each way an
// invocation ends, as the sandbox reports them.
func TestOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name, status, errorType string
		responded               bool
		wantErrorType           string
		invocations, timeouts   int64
	}{
		{name: "success", status: "success", responded: true, invocations: 1},
		{name: "function error", status: "error", errorType: "Handler.Error", responded: true, wantErrorType: "Handler.Error"},
		{name: "timeout", status: "timeout", errorType: "Sandbox.Timedout", wantErrorType: "Sandbox.Timedout", timeouts: 1},
		{name: "timeout without errorType", status: "timeout", wantErrorType: "timeout", timeouts: 1},
		{name: "crash", status: "failure", errorType: "Runtime.ExitError", wantErrorType: "Runtime.ExitError"},
		{name: "out of memory", status: "error", errorType: "Runtime.OutOfMemory", wantErrorType: "Runtime.OutOfMemory"},
		{name: "extension crash", status: "failure", errorType: "Extension.Crash", wantErrorType: "Extension.Crash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, clock := newTestReceiver(nil)
			startMs := 0.0
			if tc.responded {
				startMs = 10
			}
			r.Consume([]telemetryapi.Event{
				ev(t, 10, evStart, startRec(req1, "Root=1-66321000-aaaaaaaaaaaaaaaaaaaaaaaa;Parent=1111111111111111;Sampled=1")),
				ev(t, 3010, evRuntimeDone, runtimeDoneRec(req1, tc.status, tc.errorType, 3000, startMs)),
			})
			*clock = at(3011)
			// The function never reported: nothing from its SDK.
			td, md, _ := r.Collect(ptrace.NewTraces())
			sp := oneSpan(t, td, "orders")
			if sp.EndTimestamp() != ts(at(3010)) {
				t.Errorf("end %v", sp.EndTimestamp().AsTime())
			}
			et := str(sp.Attributes(), attrErrorType)
			if tc.wantErrorType == "" {
				if sp.Status().Code() != ptrace.StatusCodeUnset || et != "" {
					t.Errorf("status %v error.type %q", sp.Status().Code(), et)
				}
			} else if sp.Status().Code() != ptrace.StatusCodeError || et != tc.wantErrorType || sp.Status().Message() != "" {
				// No description: it would only repeat the status.
				t.Errorf("status %v %q error.type %q, want ERROR with no description, %q", sp.Status().Code(), sp.Status().Message(), et, tc.wantErrorType)
			}
			if s, _ := sp.Attributes().Get(attrRuntimeStatus); s.Str() != tc.status {
				t.Errorf("lambdaotel.runtime.status %q", s.Str())
			}
			if n := len(spansNamed(td, "responseLatency")); tc.responded != (n == 1) {
				t.Errorf("%d responseLatency spans", n)
			}
			m := metricsByName(md)
			count := func(name, errorType string) int64 {
				if _, ok := m[name]; !ok {
					return 0
				}
				return sumValue(t, m[name], errorType)
			}
			if got := count(metricInvocations, ""); got != tc.invocations {
				t.Errorf("faas.invocations %d, want %d", got, tc.invocations)
			}
			if got := count(metricTimeouts, ""); got != tc.timeouts {
				t.Errorf("faas.timeouts %d, want %d", got, tc.timeouts)
			}
			if tc.wantErrorType != "" {
				if got := count(metricErrors, tc.wantErrorType); got != 1 {
					t.Errorf("faas.errors{%s} %d", tc.wantErrorType, got)
				}
			} else if _, ok := m[metricErrors]; ok {
				t.Error("faas.errors for a success")
			}
		})
	}
}

// TestMetricsModel checks names, units, descriptions, instrument types and
// temporality against the FaaS metric conventions.
func TestMetricsModel(t *testing.T) {
	for _, cumulative := range []bool{false, true} {
		t.Run(fmt.Sprint("cumulative=", cumulative), func(t *testing.T) {
			r, clock := newTestReceiver(func(c *Config) { c.Cumulative = cumulative })
			invocation := func(id string, ms float64) {
				r.Consume([]telemetryapi.Event{
					ev(t, ms, evStart, startRec(id, "")),
					ev(t, ms+100, evRuntimeDone, runtimeDoneRec(id, "success", "", 100, ms)),
				})
			}
			r.Consume([]telemetryapi.Event{ev(t, 0, evInitStart, initStartRec("on-demand", "init")),
				ev(t, 50, evInitRuntimeDone, initDoneRec("init", "success", "")), ev(t, 51, evInitReport, initReportRec(51))})
			invocation(req1, 100)
			*clock = at(201)
			r.Collect(ptrace.NewTraces())
			r.Consume([]telemetryapi.Event{ev(t, 1000, evReport, reportRec(req1, "success", 110, 161, 60, 51))})
			invocation(req2, 1001)
			*clock = at(1102)
			_, md, _ := r.Collect(ptrace.NewTraces())
			m := metricsByName(md)
			wantTemporality, wantStart, wantInvocations := pmetric.AggregationTemporalityDelta, at(201), int64(1)
			if cumulative {
				wantTemporality, wantStart, wantInvocations = pmetric.AggregationTemporalityCumulative, t0, 2
			}
			for _, want := range []struct {
				name, unit string
				typ        pmetric.MetricType
			}{
				{"faas.invocations", "{invocation}", pmetric.MetricTypeSum},
				{"faas.coldstarts", "{coldstart}", pmetric.MetricTypeSum},
				{"faas.invoke_duration", "s", pmetric.MetricTypeHistogram},
				{"faas.mem_usage", "By", pmetric.MetricTypeHistogram},
				{"lambdaotel.billed_duration", "s", pmetric.MetricTypeHistogram},
				{"lambdaotel.post_runtime.duration", "s", pmetric.MetricTypeHistogram},
			} {
				got, ok := m[want.name]
				if want.name == "faas.coldstarts" && !cumulative {
					if ok {
						t.Error("faas.coldstarts in a delta without a cold start")
					}
					continue
				}
				if !ok {
					t.Errorf("no %s; have %v", want.name, keys(m))
					continue
				}
				if got.Unit() != want.unit || got.Type() != want.typ || got.Description() == "" {
					t.Errorf("%s: unit %q type %v description %q", want.name, got.Unit(), got.Type(), got.Description())
				}
				var temporality pmetric.AggregationTemporality
				var start pcommon.Timestamp
				switch got.Type() {
				case pmetric.MetricTypeSum:
					if !got.Sum().IsMonotonic() {
						t.Errorf("%s is not monotonic", want.name)
					}
					temporality, start = got.Sum().AggregationTemporality(), got.Sum().DataPoints().At(0).StartTimestamp()
				case pmetric.MetricTypeHistogram:
					temporality, start = got.Histogram().AggregationTemporality(), got.Histogram().DataPoints().At(0).StartTimestamp()
				}
				if temporality != wantTemporality || start != ts(wantStart) {
					t.Errorf("%s: temporality %v start %v, want %v %v", want.name, temporality, start.AsTime(), wantTemporality, wantStart)
				}
			}
			if n := sumValue(t, m[metricInvocations], ""); n != wantInvocations {
				t.Errorf("faas.invocations %d, want %d", n, wantInvocations)
			}
			h := m[metricInvokeDuration].Histogram().DataPoints().At(0)
			wantBounds := []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
			if fmt.Sprint(h.ExplicitBounds().AsRaw()) != fmt.Sprint(wantBounds) || h.Count() != uint64(wantInvocations) {
				t.Errorf("faas.invoke_duration bounds %v count %d", h.ExplicitBounds().AsRaw(), h.Count())
			}
			// 0.1 s falls in the bucket (0.075, 0.1].
			if got := h.BucketCounts().At(5); got != uint64(wantInvocations) {
				t.Errorf("faas.invoke_duration buckets %v", h.BucketCounts().AsRaw())
			}
			if h.Min() != 0.1 || h.Max() != 0.1 {
				t.Errorf("min %g max %g", h.Min(), h.Max())
			}
			if mem := m[metricMemUsage].Histogram().DataPoints().At(0); mem.Sum() != 60<<20 {
				t.Errorf("faas.mem_usage sum %g", mem.Sum())
			}
			if cumulative {
				// One init: recorded once, from initReport, not again from
				// the report's initDurationMs.
				if h := m[metricInitDuration].Histogram().DataPoints().At(0); h.Count() != 1 || h.Sum() != 0.051 {
					t.Errorf("faas.init_duration %d %g", h.Count(), h.Sum())
				}
			}
			rm := md.ResourceMetrics().At(0)
			if sc := rm.ScopeMetrics().At(0).Scope(); sc.Name() != ScopeName || sc.Version() != "1.2.3" {
				t.Errorf("scope %s %s", sc.Name(), sc.Version())
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestPendingInvocation: an invocation without runtimeDone waits, then is
// emitted as it is once older than MaxPending.
func TestPendingInvocation(t *testing.T) {
	r, clock := newTestReceiver(func(c *Config) { c.MaxPending = time.Minute })
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evStart, startRec(req1, "Root=1-66321000-aaaaaaaaaaaaaaaaaaaaaaaa;Parent=1111111111111111;Sampled=1")),
		line(t, 10, evFunction, "working"),
	})
	*clock = at(500)
	td, _, ld := r.Collect(ptrace.NewTraces())
	if td.SpanCount() != 0 || ld.LogRecordCount() != 0 {
		t.Fatalf("a running invocation was emitted: %d spans %d logs", td.SpanCount(), ld.LogRecordCount())
	}
	*clock = at(60_001)
	td, _, ld = r.Collect(ptrace.NewTraces())
	sp := oneSpan(t, td, "orders")
	if sp.Status().Code() != ptrace.StatusCodeError || sp.Status().Message() != "no platform.runtimeDone received" || sp.EndTimestamp() != ts(at(60_001)) {
		t.Errorf("status %v %q end %v", sp.Status().Code(), sp.Status().Message(), sp.EndTimestamp().AsTime())
	}
	if str(sp.Attributes(), attrErrorType) != errorTypeOther {
		t.Errorf("error.type %q", str(sp.Attributes(), attrErrorType))
	}
	if lr := logWithBody(t, ld, "working"); lr.SpanID() != sp.SpanID() {
		t.Errorf("held line span %s", lr.SpanID())
	}
	// Its runtimeDone, late: counted, not emitted again.
	r.Consume([]telemetryapi.Event{ev(t, 60_100, evRuntimeDone, runtimeDoneRec(req1, "success", "", 60_100, 0))})
	*clock = at(60_200)
	td, md, _ := r.Collect(ptrace.NewTraces())
	if td.SpanCount() != 0 {
		t.Errorf("%d spans for a late runtimeDone", td.SpanCount())
	}
	if n := sumValue(t, metricsByName(md)[metricInvocations], ""); n != 1 {
		t.Errorf("faas.invocations %d", n)
	}

	// Drain emits what is still running.
	r.Consume([]telemetryapi.Event{ev(t, 61_000, evStart, startRec(req2, ""))})
	*clock = at(61_001)
	if td, _, _ := r.Collect(ptrace.NewTraces()); td.SpanCount() != 0 {
		t.Fatal("running invocation emitted")
	}
	td, _, _ = r.Drain(ptrace.NewTraces())
	if sp := oneSpan(t, td, "orders"); sp.Status().Message() != "no platform.runtimeDone received" {
		t.Errorf("drained invocation status %q", sp.Status().Message())
	}
}

// TestInitKinds: a failed init and the suppressed init that follows; an
// init done ahead (provisioned concurrency) is not a cold start.
func TestInitKinds(t *testing.T) {
	t.Run("failed then suppressed", func(t *testing.T) {
		r, clock := newTestReceiver(nil)
		r.Consume([]telemetryapi.Event{
			ev(t, 0, evInitStart, initStartRec("on-demand", "init")),
			ev(t, 100, evInitRuntimeDone, initDoneRec("init", "error", "Runtime.ImportModuleError")),
			ev(t, 101, evInitReport, `{"initializationType":"on-demand","phase":"init","status":"error","errorType":"Runtime.ImportModuleError","metrics":{"durationMs":101}}`),
			ev(t, 200, evStart, startRec(req1, "")),
			ev(t, 201, evInitStart, initStartRec("on-demand", "invoke")),
			ev(t, 300, evInitRuntimeDone, initDoneRec("invoke", "success", "")),
			ev(t, 400, evRuntimeDone, runtimeDoneRec(req1, "success", "", 200, 200)),
		})
		*clock = at(401)
		td, md, _ := r.Collect(ptrace.NewTraces())
		inits := spansNamed(td, spanInit)
		if len(inits) != 2 {
			t.Fatalf("%d init spans, want 2", len(inits))
		}
		inv := oneSpan(t, td, "orders")
		var failed, suppressed ptrace.Span
		for _, sp := range inits {
			if sp.ParentSpanID() == inv.SpanID() {
				suppressed = sp
			} else {
				failed = sp
			}
		}
		if failed == (ptrace.Span{}) || suppressed == (ptrace.Span{}) {
			t.Fatal("want one init span in its own trace and one in the invocation")
		}
		if failed.Status().Code() != ptrace.StatusCodeError || str(failed.Attributes(), attrErrorType) != "Runtime.ImportModuleError" || !failed.ParentSpanID().IsEmpty() {
			t.Errorf("failed init: %v %v parent %s", failed.Status().Code(), attrs(failed.Attributes()), failed.ParentSpanID())
		}
		if str(suppressed.Attributes(), attrInitPhase) != "invoke" || suppressed.TraceID() != inv.TraceID() {
			t.Errorf("suppressed init %v", attrs(suppressed.Attributes()))
		}
		if !boolAttr(inv.Attributes(), attrFaaSColdstart) {
			t.Error("not a cold start")
		}
		if n := sumValue(t, metricsByName(md)[metricColdstarts], ""); n != 1 {
			t.Errorf("faas.coldstarts %d", n)
		}
	})
	t.Run("provisioned concurrency", func(t *testing.T) {
		r, clock := newTestReceiver(nil)
		r.Consume([]telemetryapi.Event{
			ev(t, 0, evInitStart, initStartRec(initProvisioned, "init")),
			ev(t, 100, evInitRuntimeDone, initDoneRec("init", "success", "")),
		})
		*clock = at(101)
		td, _, _ := r.Collect(ptrace.NewTraces())
		sp := oneSpan(t, td, spanInit)
		if !sp.ParentSpanID().IsEmpty() {
			t.Error("ahead-of-time init has a parent")
		}
		r.Consume([]telemetryapi.Event{
			ev(t, 3_600_000, evStart, startRec(req1, "")),
			ev(t, 3_600_100, evRuntimeDone, runtimeDoneRec(req1, "success", "", 100, 0)),
		})
		*clock = at(3_600_101)
		td, md, _ := r.Collect(ptrace.NewTraces())
		inv := oneSpan(t, td, "orders")
		if boolAttr(inv.Attributes(), attrFaaSColdstart) || len(spansNamed(td, spanInit)) != 0 {
			t.Error("provisioned concurrency counted as a cold start")
		}
		if _, ok := metricsByName(md)[metricColdstarts]; ok {
			t.Error("faas.coldstarts for provisioned concurrency")
		}
	})
}

// TestLateFunctionRoot: a function root span exported after its
// invocation was emitted (an SDK with the X-Ray propagator, flushing late)
// still joins the invocation span, when that span took the X-Ray parent
// too (AdoptXRayParent).
func TestLateFunctionRoot(t *testing.T) {
	r, clock := newTestReceiver(func(c *Config) { c.AdoptXRayParent = true })
	xray := "Root=1-66321000-aaaaaaaaaaaaaaaaaaaaaaaa;Parent=1111111111111111;Sampled=1"
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evStart, startRec(req1, xray)),
		ev(t, 100, evRuntimeDone, runtimeDoneRec(req1, "success", "", 100, 0)),
	})
	*clock = at(101)
	td, _, _ := r.Collect(ptrace.NewTraces())
	inv := oneSpan(t, td, "orders")
	late := functionTraces(attrFaaSInvocationID, req1, traceID("66321000aaaaaaaaaaaaaaaaaaaaaaaa"), spanID("1111111111111111"), spanID("00f067aa0ba902b7"), 1, 99)
	*clock = at(5000)
	r.Collect(late)
	if p := late.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).ParentSpanID(); p != inv.SpanID() {
		t.Errorf("late root parent %s, want %s", p, inv.SpanID())
	}

	// Join: a second copy of function traces (another traces pipeline).
	r.Consume([]telemetryapi.Event{
		ev(t, 6000, evStart, startRec(req2, xray)),
		ev(t, 6100, evRuntimeDone, runtimeDoneRec(req2, "success", "", 100, 0)),
	})
	fnTrace, upstream := traceID("0af7651916cd43dd8448eb211c80319c"), spanID("b7ad6b7169203331")
	first := functionTraces(attrFaaSInvocationID, req2, fnTrace, upstream, spanID("00f067aa0ba902b7"), 6001, 6099)
	second := ptrace.NewTraces()
	first.CopyTo(second)
	*clock = at(6101)
	td, _, _ = r.Collect(first)
	r.Join(second)
	inv2 := oneSpan(t, td, "orders")
	for name, td := range map[string]ptrace.Traces{"first": first, "second": second} {
		if p := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).ParentSpanID(); p != inv2.SpanID() {
			t.Errorf("%s copy: root parent %s, want %s", name, p, inv2.SpanID())
		}
	}
}

// TestEarlyFunctionRoot: a flush while the invocation runs (Managed
// Instances, periodic and continuous flushing) takes the function's spans
// before platform.runtimeDone; the invocation span emitted later is still
// in the function's trace, under its upstream parent, and the root span
// that left early is its child.
func TestEarlyFunctionRoot(t *testing.T) {
	r, clock := newTestReceiver(nil)
	xray := "Root=1-66321000-aaaaaaaaaaaaaaaaaaaaaaaa;Parent=1111111111111111;Sampled=1"
	r.Consume([]telemetryapi.Event{ev(t, 0, evStart, startRec(req1, xray))})
	fnTrace, upstream := traceID("0af7651916cd43dd8448eb211c80319c"), spanID("b7ad6b7169203331")
	early := functionTraces(attrFaaSInvocationID, req1, fnTrace, upstream, spanID("00f067aa0ba902b7"), 1, 99)
	*clock = at(99)
	if td, _, _ := r.Collect(early); td.SpanCount() != 0 {
		t.Fatalf("an invocation without runtimeDone was emitted: %v", spanNames(td))
	}
	r.Consume([]telemetryapi.Event{ev(t, 100, evRuntimeDone, runtimeDoneRec(req1, "success", "", 100, 0))})
	*clock = at(1000)
	td, _, _ := r.Collect(ptrace.NewTraces())
	inv := oneSpan(t, td, "orders")
	if inv.TraceID() != fnTrace || inv.ParentSpanID() != upstream {
		t.Errorf("invocation span in trace %s under %s, want the function's trace %s under %s", inv.TraceID(), inv.ParentSpanID(), fnTrace, upstream)
	}
	if p := early.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).ParentSpanID(); p != inv.SpanID() {
		t.Errorf("early root parent %s, want the invocation span %s", p, inv.SpanID())
	}
}

// TestRootBeforeStart: on Managed Instances an invocation can end, and a
// flush take the function's spans, before platform.start is delivered; the
// invocation span still joins the function's trace (beside its root).
func TestRootBeforeStart(t *testing.T) {
	r, clock := newTestReceiver(nil)
	fnTrace, upstream := traceID("0af7651916cd43dd8448eb211c80319c"), spanID("b7ad6b7169203331")
	early := functionTraces(attrFaaSInvocationID, req1, fnTrace, upstream, spanID("00f067aa0ba902b7"), 1, 9)
	*clock = at(10)
	r.Collect(early)
	xray := "Root=1-66321000-aaaaaaaaaaaaaaaaaaaaaaaa;Parent=1111111111111111;Sampled=1"
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evStart, startRec(req1, xray)),
		ev(t, 10, evRuntimeDone, runtimeDoneRec(req1, "success", "", 10, 0)),
	})
	*clock = at(1000)
	td, _, _ := r.Collect(ptrace.NewTraces())
	inv := oneSpan(t, td, "orders")
	if inv.TraceID() != fnTrace || inv.ParentSpanID() != upstream {
		t.Errorf("invocation span in trace %s under %s, want the function's trace %s under %s", inv.TraceID(), inv.ParentSpanID(), fnTrace, upstream)
	}
}

// TestJoinEarly: the function's spans exported as they arrive, while the
// invocation runs, before platform.start is delivered (the Telemetry API
// buffers it) but after the INVOKE event: the root span that leaves early
// is already the child of the invocation span emitted later, which is in
// the function's trace under its upstream parent; a second copy (another
// pipeline) is joined alike, and nothing is emitted before runtimeDone.
func TestJoinEarly(t *testing.T) {
	for _, tt := range []struct {
		name      string
		invokeFst bool // INVOKE before the spans leave
	}{{"after INVOKE, before platform.start", true}, {"after platform.start", false}} {
		t.Run(tt.name, func(t *testing.T) {
			r, clock := newTestReceiver(nil)
			fnTrace, upstream := traceID("0af7651916cd43dd8448eb211c80319c"), spanID("b7ad6b7169203331")
			early := functionTraces(attrFaaSInvocationID, req1, fnTrace, upstream, spanID("00f067aa0ba902b7"), 1, 9)
			second := ptrace.NewTraces()
			early.CopyTo(second)
			if r.JoinEarly(early) {
				t.Fatalf("JoinEarly took the traces of an invocation it knows nothing of")
			}
			if p := early.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).ParentSpanID(); p != upstream {
				t.Fatalf("JoinEarly changed the root span of an unknown invocation")
			}
			if tt.invokeFst {
				r.Invoke(req1, "arn:aws:lambda:eu-west-1:123456789012:function:orders", "")
			} else {
				r.Consume([]telemetryapi.Event{ev(t, 0, evStart, startRec(req1, ""))})
			}
			*clock = at(10)
			if !r.JoinEarly(early) || !r.JoinEarly(second) {
				t.Fatal("JoinEarly refused the traces of a known invocation")
			}
			parent := early.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).ParentSpanID()
			if parent == upstream {
				t.Fatalf("the root span that left early kept its upstream parent")
			}
			if tt.invokeFst {
				r.Consume([]telemetryapi.Event{ev(t, 0, evStart, startRec(req1, ""))})
			}
			if td, _, _ := r.Collect(ptrace.NewTraces()); td.SpanCount() != 0 {
				t.Fatalf("an invocation without runtimeDone was emitted: %v", spanNames(td))
			}
			r.Consume([]telemetryapi.Event{ev(t, 30, evRuntimeDone, runtimeDoneRec(req1, "success", "", 30, 0))})
			*clock = at(40)
			td, _, _ := r.Collect(ptrace.NewTraces())
			inv := oneSpan(t, td, "orders")
			if inv.TraceID() != fnTrace || inv.ParentSpanID() != upstream {
				t.Errorf("invocation span in trace %s under %s, want the function's trace %s under %s", inv.TraceID(), inv.ParentSpanID(), fnTrace, upstream)
			}
			for name, td := range map[string]ptrace.Traces{"first": early, "second": second} {
				if p := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).ParentSpanID(); p != inv.SpanID() {
					t.Errorf("%s copy: root parent %s, want the invocation span %s", name, p, inv.SpanID())
				}
			}
		})
	}
}

// TestReportLines: START, END and REPORT as log records.
func TestReportLines(t *testing.T) {
	r, clock := newTestReceiver(func(c *Config) { c.LogReportLines = true })
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evStart, startRec(req1, "")),
		ev(t, 3000, evRuntimeDone, runtimeDoneRec(req1, "timeout", "Sandbox.Timedout", 3000, 0)),
		ev(t, 3010, evReport, `{"requestId":"`+req1+`","status":"timeout","errorType":"Sandbox.Timedout",`+
			`"metrics":{"durationMs":3010.5,"billedDurationMs":3011,"memorySizeMB":128,"maxMemoryUsedMB":64,"initDurationMs":250.25}}`),
	})
	*clock = at(3011)
	td, _, ld := r.Collect(ptrace.NewTraces())
	inv := oneSpan(t, td, "orders")
	for body, event := range map[string]string{
		"START RequestId: " + req1 + " Version: $LATEST": evStart,
		"END RequestId: " + req1:                         evRuntimeDone,
		"REPORT RequestId: " + req1 + "\tDuration: 3010.50 ms\tBilled Duration: 3011 ms\tMemory Size: 128 MB\tMax Memory Used: 64 MB\tInit Duration: 250.25 ms\tStatus: timeout\tError Type: Sandbox.Timedout": evReport,
	} {
		lr := logWithBody(t, ld, body)
		if lr.EventName() != event || lr.SpanID() != inv.SpanID() || lr.SeverityNumber() != plog.SeverityNumberInfo {
			t.Errorf("%s: event %q span %s severity %v", event, lr.EventName(), lr.SpanID(), lr.SeverityNumber())
		}
		if str(lr.Attributes(), attrLogType) != "platform" {
			t.Errorf("%s: %v", event, attrs(lr.Attributes()))
		}
	}
}

// TestSignalsOff: with spans off, logs still carry the trace id (the
// function's span when it sent one) and the function's traces are left
// alone; with logs off, none are made.
func TestSignalsOff(t *testing.T) {
	r, clock := newTestReceiver(func(c *Config) { c.Spans, c.Metrics = false, false })
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evStart, startRec(req1, "")),
		line(t, 10, evFunction, "hello"),
		ev(t, 100, evRuntimeDone, runtimeDoneRec(req1, "success", "", 100, 0)),
	})
	fnTrace, fnRoot := traceID("0af7651916cd43dd8448eb211c80319c"), spanID("00f067aa0ba902b7")
	fn := functionTraces(attrFaaSInvocationID, req1, fnTrace, pcommon.SpanID{}, fnRoot, 1, 99)
	*clock = at(101)
	td, md, ld := r.Collect(fn)
	if td.SpanCount() != 0 || md.DataPointCount() != 0 {
		t.Errorf("%d spans %d data points", td.SpanCount(), md.DataPointCount())
	}
	if p := fn.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).ParentSpanID(); !p.IsEmpty() {
		t.Error("function trace edited with spans off")
	}
	if lr := logWithBody(t, ld, "hello"); lr.TraceID() != fnTrace || lr.SpanID() != fnRoot {
		t.Errorf("log trace %s span %s", lr.TraceID(), lr.SpanID())
	}

	r, clock = newTestReceiver(func(c *Config) { c.Logs = false; c.LogReportLines = true })
	r.Consume([]telemetryapi.Event{ev(t, 0, evStart, startRec(req1, "")), line(t, 10, evFunction, "hello"),
		ev(t, 100, evRuntimeDone, runtimeDoneRec(req1, "success", "", 100, 0))})
	*clock = at(101)
	if _, _, ld := r.Collect(ptrace.NewTraces()); ld.LogRecordCount() != 0 {
		t.Errorf("%d log records with logs off", ld.LogRecordCount())
	}
}

// TestConcurrentConsumeCollect runs deliveries and flushes at once (run
// with -race): every invocation is emitted exactly once, with its line.
func TestConcurrentConsumeCollect(t *testing.T) {
	r, _ := newTestReceiver(nil)
	r.now = func() time.Time { return at(100_000) }
	const n = 200
	var wg sync.WaitGroup
	done := make(chan struct{})
	var mu sync.Mutex
	spans := map[string]int{}
	logs := 0
	gather := func(td ptrace.Traces, ld plog.Logs) {
		mu.Lock()
		defer mu.Unlock()
		for _, sp := range spansNamed(td, "orders") {
			spans[str(sp.Attributes(), attrFaaSInvocationID)]++
		}
		logs += ld.LogRecordCount()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range n {
			id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			ms := float64(i * 10)
			r.Invoke(id, invokedARN, "")
			r.Consume([]telemetryapi.Event{ev(t, ms, evStart, startRec(id, "")), line(t, ms+1, evFunction, "line of "+id)})
			r.Consume([]telemetryapi.Event{ev(t, ms+5, evRuntimeDone, runtimeDoneRec(id, "success", "", 5, ms)),
				ev(t, ms+6, evReport, reportRec(id, "success", 6, 6, 30, 0))})
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			td, _, ld := r.Collect(ptrace.NewTraces())
			gather(td, ld)
		}
	}()
	wg.Wait()
	td, md, ld := r.Drain(ptrace.NewTraces())
	gather(td, ld)
	_ = md
	if len(spans) != n || logs != n {
		t.Fatalf("%d invocations emitted, %d log records; want %d each", len(spans), logs, n)
	}
	for id, c := range spans {
		if c != 1 {
			t.Errorf("%s emitted %d times", id, c)
		}
	}
}

// BenchmarkInvocation is one warm invocation with 100 log lines and 100
// function spans: the deliveries, then the flush's Collect.
func BenchmarkInvocation(b *testing.B) {
	r, clock := newTestReceiver(nil)
	start := []telemetryapi.Event{ev(b, 0, evStart, startRec(req1, "Root=1-66321000-aaaaaaaaaaaaaaaaaaaaaaaa;Parent=1111111111111111;Sampled=1"))}
	var lines []telemetryapi.Event
	for i := range 100 {
		lines = append(lines, line(b, float64(i), evFunction, fmt.Sprintf("2024-05-01T10:00:00.%03dZ\t%s\tINFO\tline %d of the handler", i, req1, i)))
	}
	done := []telemetryapi.Event{ev(b, 100, evRuntimeDone, runtimeDoneRec(req1, "success", "", 100, 1)),
		ev(b, 101, evReport, reportRec(req1, "success", 101, 101, 40, 0))}
	fn := functionTraces(attrFaaSInvocationID, req1, traceID("0af7651916cd43dd8448eb211c80319c"), spanID("b7ad6b7169203331"), spanID("00f067aa0ba902b7"), 1, 99)
	spans := fn.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for range 98 {
		spans.At(1).CopyTo(spans.AppendEmpty())
	}
	*clock = at(102)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		td := ptrace.NewTraces()
		fn.CopyTo(td)
		b.StartTimer()
		r.Consume(start)
		r.Consume(lines)
		r.Consume(done)
		r.Collect(td)
		b.StopTimer()
		delete(r.invs, req1)
		r.recent = r.recent[:0]
		b.StartTimer()
	}
}

// TestManagedInstancesReportEndsInvocation checks schema 2025-01-29, where
// Lambda Managed Instances send no platform.runtimeDone: the report ends
// each invocation, and overlapping invocations each get their span.
func TestManagedInstancesReportEndsInvocation(t *testing.T) {
	r, _ := newTestReceiver(nil)
	r.Consume([]telemetryapi.Event{
		ev(t, 0, "platform.start", startRec("a", "")),
		ev(t, 5, "platform.start", startRec("b", "")),
		ev(t, 40, "platform.report", `{"requestId":"b","status":"error","errorType":"Function.Failed","metrics":{"durationMs":35.000}}`),
		ev(t, 50, "platform.report", `{"requestId":"a","status":"success","metrics":{"durationMs":50.000}}`),
	})
	td, md, _ := r.Collect(ptrace.NewTraces())
	spans := spansNamed(td, "orders")
	if len(spans) != 2 {
		t.Fatalf("%d invocation spans, want 2: %v", len(spans), spanNames(td))
	}
	for _, sp := range spans {
		id := str(sp.Attributes(), "faas.invocation_id")
		wantErr := id == "b"
		if (sp.Status().Code() == ptrace.StatusCodeError) != wantErr || sp.Attributes().Len() == 0 {
			t.Errorf("invocation %s: status %v", id, sp.Status().Code())
		}
		if wantErr && str(sp.Attributes(), "error.type") != "Function.Failed" {
			t.Errorf("invocation b: error.type %q", str(sp.Attributes(), "error.type"))
		}
	}
	m := metricsByName(md)
	if m["faas.invocations"].Sum().DataPoints().Len() == 0 || sumValue(t, m["faas.errors"], "Function.Failed") != 1 {
		t.Errorf("metrics: %v", m)
	}
}

// TestTakeEnded checks the facts of the invocations a Collect emitted, as
// the processors that decide per invocation get them: the function root's
// trace, the status, the runtime's duration and the cold start; an
// invocation without runtimeDone, emitted by Drain, has no status.
func TestTakeEnded(t *testing.T) {
	r, clock := newTestReceiver(nil)
	trace := traceID("0af7651916cd43dd8448eb211c80319c")
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evInitStart, initStartRec("on-demand", "init")),
		ev(t, 50, evInitRuntimeDone, initDoneRec("init", "success", "")),
		ev(t, 100, evStart, startRec(req1, "")),
		ev(t, 400, evRuntimeDone, runtimeDoneRec(req1, "error", "Handler.Error", 300, 0)),
		ev(t, 500, evStart, startRec(req2, "")),
	})
	*clock = at(401)
	r.Collect(functionTraces(attrFaaSInvocationID, req1, trace, pcommon.SpanID{}, spanID("b7ad6b7169203331"), 110, 390))
	got := r.TakeEnded()
	want := []processor.Invocation{{RequestID: req1, TraceID: trace, Status: "error", ErrorType: "Handler.Error", Duration: 300 * time.Millisecond, ColdStart: true}}
	if !slices.Equal(got, want) {
		t.Fatalf("ended %+v\nwant %+v", got, want)
	}
	if again := r.TakeEnded(); len(again) != 0 {
		t.Fatalf("taken twice: %+v", again)
	}
	r.Drain(ptrace.NewTraces())
	got = r.TakeEnded()
	if len(got) != 1 || got[0].RequestID != req2 || got[0].Status != "" || got[0].ColdStart || got[0].TraceID.IsEmpty() {
		t.Fatalf("drained %+v, want %s without a status, warm, with the trace its span started", got, req2)
	}
}
