package telemetryapireceiver

import (
	"math"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/telemetryapi"
)

// The tests of this file check what the receiver emits against the
// OpenTelemetry semantic conventions v1.44.0 (faas-spans, faas-metrics,
// faas-exceptions, aws-lambda, general/naming, general/recording-errors)
// and the logs data model.

const (
	xrayPassive = "Root=1-66321000-aaaaaaaaaaaaaaaaaaaaaaaa;Parent=1111111111111111;Sampled=0"
	xrayActive  = "Root=1-66321000-aaaaaaaaaaaaaaaaaaaaaaaa;Parent=1111111111111111;Sampled=1"
	xrayTrace   = "66321000aaaaaaaaaaaaaaaaaaaaaaaa"
	xrayParent  = "1111111111111111"
)

// oneInvocation runs one invocation of req1 with the X-Ray header xray,
// with the function's traces ft (possibly empty), and collects.
func oneInvocation(t *testing.T, r *Receiver, clock *time.Time, xray string, ft ptrace.Traces) (ptrace.Traces, pmetric.Metrics, plog.Logs) {
	t.Helper()
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evStart, startRec(req1, xray)),
		line(t, 10, evFunction, "working"),
		ev(t, 100, evRuntimeDone, runtimeDoneRec(req1, "success", "", 100, 1)),
	})
	*clock = at(101)
	return r.Collect(ft)
}

// TestXRayContextIsALinkByDefault (item 1): under passive tracing
// (Sampled=0, Lambda's default) and active tracing alike, an invocation
// whose function sent no span of its own is the sampled root of a new
// trace, with a link to Lambda's X-Ray context — not a child of a parent
// no OTLP backend receives, nor an unsampled span.
func TestXRayContextIsALinkByDefault(t *testing.T) {
	for _, xray := range []string{xrayPassive, xrayActive} {
		t.Run(xray[len(xray)-9:], func(t *testing.T) {
			r, clock := newTestReceiver(nil)
			td, _, ld := oneInvocation(t, r, clock, xray, ptrace.NewTraces())
			sp := oneSpan(t, td, "orders")
			if !sp.ParentSpanID().IsEmpty() || sp.TraceID() == traceID(xrayTrace) || sp.Flags()&flagSampled == 0 || sp.Flags()&flagsRemoteParent != 0 {
				t.Errorf("invocation span: trace %s parent %s flags %#x, want a sampled root of its own", sp.TraceID(), sp.ParentSpanID(), sp.Flags())
			}
			if sp.Links().Len() != 1 {
				t.Fatalf("%d links, want one to the X-Ray context", sp.Links().Len())
			}
			l := sp.Links().At(0)
			wantSampled := strings.HasSuffix(xray, "=1")
			if l.TraceID() != traceID(xrayTrace) || l.SpanID() != spanID(xrayParent) || (l.Flags()&flagSampled != 0) != wantSampled {
				t.Errorf("link %s/%s flags %#x", l.TraceID(), l.SpanID(), l.Flags())
			}
			for _, c := range allSpans(td) {
				if c.TraceID() != sp.TraceID() || c.Flags()&flagSampled == 0 {
					t.Errorf("span %s: trace %s flags %#x", c.Name(), c.TraceID(), c.Flags())
				}
			}
			lr := logWithBody(t, ld, "working")
			if lr.TraceID() != sp.TraceID() || lr.SpanID() != sp.SpanID() || !lr.Flags().IsSampled() {
				t.Errorf("log record: trace %s span %s sampled %v", lr.TraceID(), lr.SpanID(), lr.Flags().IsSampled())
			}
		})
	}
}

// TestAdoptXRayParent (item 1): with Config.AdoptXRayParent the X-Ray
// header gives trace, parent and sampled flag; a trace the header says is
// not sampled is not exported unless Config.ExportUnsampled, and then
// with its sampled flag clear. Metrics and log records are kept.
func TestAdoptXRayParent(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		xray                  string
		exportUnsampled       bool
		wantSpan, wantSampled bool // a span at all; its sampled flag
	}{
		{"sampled", xrayActive, false, true, true},
		{"not sampled", xrayPassive, false, false, false},
		{"not sampled, exported on request", xrayPassive, true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, clock := newTestReceiver(func(c *Config) { c.AdoptXRayParent, c.ExportUnsampled = true, tc.exportUnsampled })
			td, md, ld := oneInvocation(t, r, clock, tc.xray, ptrace.NewTraces())
			if !tc.wantSpan {
				if td.SpanCount() != 0 {
					t.Errorf("%d spans of a trace X-Ray did not sample: %v", td.SpanCount(), spanNames(td))
				}
			} else {
				sp := oneSpan(t, td, "orders")
				if sp.TraceID() != traceID(xrayTrace) || sp.ParentSpanID() != spanID(xrayParent) || (sp.Flags()&flagSampled != 0) != tc.wantSampled || sp.Links().Len() != 0 {
					t.Errorf("invocation span: trace %s parent %s flags %#x links %d", sp.TraceID(), sp.ParentSpanID(), sp.Flags(), sp.Links().Len())
				}
			}
			if _, ok := metricsByName(md)[metricInvocations]; !ok {
				t.Error("no faas.invocations")
			}
			if lr := logWithBody(t, ld, "working"); lr.TraceID() != traceID(xrayTrace) || lr.Flags().IsSampled() != tc.wantSampled {
				t.Errorf("log record: trace %s sampled %v", lr.TraceID(), lr.Flags().IsSampled())
			}
		})
	}
}

// TestJoinedFunctionSpanCarriesXRay (item 1): when the function's own span
// carries the X-Ray context (its SDK uses the xray-lambda propagator), the
// invocation span joins it, whatever AdoptXRayParent says.
func TestJoinedFunctionSpanCarriesXRay(t *testing.T) {
	r, clock := newTestReceiver(nil)
	fn := functionTraces(attrFaaSInvocationID, req1, traceID(xrayTrace), spanID(xrayParent), spanID("00f067aa0ba902b7"), 1, 99)
	td, _, _ := oneInvocation(t, r, clock, xrayActive, fn)
	sp := oneSpan(t, td, "orders")
	if sp.TraceID() != traceID(xrayTrace) || sp.ParentSpanID() != spanID(xrayParent) || sp.Links().Len() != 0 {
		t.Errorf("invocation span: trace %s parent %s links %d", sp.TraceID(), sp.ParentSpanID(), sp.Links().Len())
	}
	if h := oneSpan(t, fn, "handler"); h.ParentSpanID() != sp.SpanID() {
		t.Errorf("function root under %s, want the invocation span", h.ParentSpanID())
	}
}

// pointAttrs lists the attributes of a metric's data points.
func pointAttrs(m pmetric.Metric) []map[string]any {
	var out []map[string]any
	switch m.Type() {
	case pmetric.MetricTypeSum:
		for _, dp := range m.Sum().DataPoints().All() {
			out = append(out, dp.Attributes().AsRaw())
		}
	case pmetric.MetricTypeHistogram:
		for _, dp := range m.Histogram().DataPoints().All() {
			out = append(out, dp.Attributes().AsRaw())
		}
	}
	return out
}

// TestFaaSTrigger (item 2): faas.trigger is on the invocation span — the
// trigger the function's own span reports, else "other" — and on the
// faas.* metrics when it is known, including those of the report that
// arrives after the invocation was emitted.
func TestFaaSTrigger(t *testing.T) {
	t.Run("from the function's span", func(t *testing.T) {
		r, clock := newTestReceiver(nil)
		r.Consume([]telemetryapi.Event{
			ev(t, 0, evInitStart, initStartRec("on-demand", "init")),
			ev(t, 50, evInitRuntimeDone, initDoneRec("init", "success", "")),
			ev(t, 60, evInitReport, initReportRec(60)),
		})
		fn := functionTraces(attrFaaSInvocationID, req1, traceID("0af7651916cd43dd8448eb211c80319c"), pcommon.SpanID{}, spanID("00f067aa0ba902b7"), 1, 99)
		oneSpan(t, fn, "handler").Attributes().PutStr(attrFaaSTrigger, "http")
		td, md, _ := oneInvocation(t, r, clock, "", fn)
		if got := str(oneSpan(t, td, "orders").Attributes(), attrFaaSTrigger); got != "http" {
			t.Errorf("invocation span faas.trigger %q, want http", got)
		}
		r.Consume([]telemetryapi.Event{ev(t, 200, evReport, reportRec(req1, "success", 110, 110, 40, 0))})
		*clock = at(201)
		_, md2, _ := r.Collect(ptrace.NewTraces())
		md2.ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
		got := metricsByName(md)
		for _, name := range []string{metricInvocations, metricColdstarts, metricInvokeDuration, metricInitDuration, metricMemUsage, metricBilledDuration, metricPostRuntime} {
			m, ok := got[name]
			if !ok {
				t.Errorf("no %s", name)
				continue
			}
			for _, a := range pointAttrs(m) {
				if a[attrFaaSTrigger] != "http" {
					t.Errorf("%s data point %v, want faas.trigger=http", name, a)
				}
			}
		}
	})
	t.Run("unknown", func(t *testing.T) {
		r, clock := newTestReceiver(nil)
		td, md, _ := oneInvocation(t, r, clock, "", ptrace.NewTraces())
		if got := str(oneSpan(t, td, "orders").Attributes(), attrFaaSTrigger); got != triggerOther {
			t.Errorf("invocation span faas.trigger %q, want %q", got, triggerOther)
		}
		for _, a := range pointAttrs(metricsByName(md)[metricInvocations]) {
			if _, ok := a[attrFaaSTrigger]; ok {
				t.Errorf("faas.invocations %v: a trigger nobody reported", a)
			}
		}
	})
}

// TestFaaSInstanceAgreesWithFunction (item 3): on standard Lambda (no
// instanceId in platform.initStart) faas.instance is the log stream name,
// as the function's SDK reports it, on every signal's resource; from
// AWS_LAMBDA_LOG_STREAM_NAME when the extension has it.
func TestFaaSInstanceAgreesWithFunction(t *testing.T) {
	const stream = "2024/05/01/[$LATEST]8f7e6d5c4b3a29180716253443526170"
	r, clock := newTestReceiver(nil)
	r.Consume([]telemetryapi.Event{
		ev(t, -100, evInitStart, `{"initializationType":"on-demand","phase":"init","runtimeVersion":"provided:al2023.v100","functionName":"orders","functionVersion":"$LATEST"}`),
		ev(t, -50, evInitRuntimeDone, initDoneRec("init", "success", "")),
	})
	fn := functionTraces(attrFaaSInvocationID, req1, traceID("0af7651916cd43dd8448eb211c80319c"), pcommon.SpanID{}, spanID("00f067aa0ba902b7"), 1, 99)
	fn.ResourceSpans().At(0).Resource().Attributes().PutStr(attrFaaSInstance, stream)
	fn.ResourceSpans().At(0).Resource().Attributes().PutStr(attrFaaSName, "orders")
	td, md, ld := oneInvocation(t, r, clock, "", fn)
	resources := map[string]pcommon.Map{"traces": td.ResourceSpans().At(0).Resource().Attributes(),
		"metrics": md.ResourceMetrics().At(0).Resource().Attributes(), "logs": ld.ResourceLogs().At(0).Resource().Attributes()}
	for signal, res := range resources {
		if got := str(res, attrFaaSInstance); got != stream {
			t.Errorf("%s resource faas.instance %q, want the function's %q", signal, got, stream)
		}
	}
	ri, err := ResourceFromEnv(func(k string) string {
		return map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "orders", "AWS_LAMBDA_LOG_STREAM_NAME": stream}[k]
	}, "")
	if err != nil || ri.Instance != stream {
		t.Errorf("ResourceFromEnv: instance %q, %v", ri.Instance, err)
	}
}

// TestInitSpanIsInitDuration (item 4): the init span lasts what
// faas.init_duration records, initReport's durationMs, not up to
// initRuntimeDone; and initReport's spans are kept when initRuntimeDone
// came first.
func TestInitSpanIsInitDuration(t *testing.T) {
	r, clock := newTestReceiver(nil)
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evInitStart, initStartRec("on-demand", "init")),
		ev(t, 120, evInitRuntimeDone, initDoneRec("init", "success", "")),
		ev(t, 250, evInitReport, `{"initializationType":"on-demand","phase":"init","status":"success","metrics":{"durationMs":250.5},`+
			`"spans":[{"name":"extensionInit","start":"`+stamp(121)+`","durationMs":129}]}`),
	})
	r.Consume([]telemetryapi.Event{
		ev(t, 300, evStart, startRec(req1, "")),
		ev(t, 400, evRuntimeDone, runtimeDoneRec(req1, "success", "", 100, 0)),
	})
	*clock = at(401)
	td, md, _ := r.Collect(ptrace.NewTraces())
	sp := oneSpan(t, td, spanInit)
	spanSeconds := float64(sp.EndTimestamp()-sp.StartTimestamp()) / 1e9
	h := metricsByName(md)[metricInitDuration].Histogram().DataPoints().At(0)
	if math.Abs(spanSeconds-h.Sum()) > 1e-6 || math.Abs(h.Sum()-0.2505) > 1e-9 {
		t.Errorf("init span %gs, faas.init_duration %gs: want both 0.2505", spanSeconds, h.Sum())
	}
	if c := oneSpan(t, td, "extensionInit"); c.ParentSpanID() != sp.SpanID() {
		t.Errorf("initReport's span under %s", c.ParentSpanID())
	}
}

// TestInvokeDurationByErrorType (item 5): faas.invoke_duration has
// error.type on failures and none on successes, so that timeouts and
// errors do not mix into the latency of successes.
func TestInvokeDurationByErrorType(t *testing.T) {
	r, clock := newTestReceiver(nil)
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evStart, startRec(req1, "")),
		ev(t, 100, evRuntimeDone, runtimeDoneRec(req1, "success", "", 100, 0)),
		ev(t, 200, evStart, startRec(req2, "")),
		ev(t, 3200, evRuntimeDone, runtimeDoneRec(req2, "timeout", "Sandbox.Timedout", 3000, 0)),
	})
	*clock = at(3201)
	_, md, _ := r.Collect(ptrace.NewTraces())
	dps := metricsByName(md)[metricInvokeDuration].Histogram().DataPoints()
	got := map[string]float64{}
	for _, dp := range dps.All() {
		got[str(dp.Attributes(), attrErrorType)] = dp.Sum()
	}
	if len(got) != 2 || got[""] != 0.1 || got["Sandbox.Timedout"] != 3 {
		t.Errorf("faas.invoke_duration by error.type %v, want success 0.1 s apart from Sandbox.Timedout 3 s", got)
	}
}

// TestProducedBytesOnlyWhenSent (item 5): producedBytes is optional; none
// is invented when Lambda did not send it.
func TestProducedBytesOnlyWhenSent(t *testing.T) {
	r, clock := newTestReceiver(nil)
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evStart, startRec(req1, "")),
		ev(t, 3000, evRuntimeDone, `{"requestId":"`+req1+`","status":"timeout","errorType":"Sandbox.Timedout","metrics":{"durationMs":3000}}`),
	})
	*clock = at(3001)
	td, _, _ := r.Collect(ptrace.NewTraces())
	if v, ok := oneSpan(t, td, "orders").Attributes().Get(attrRuntimeProducedBytes); ok {
		t.Errorf("%s = %v, but Lambda sent no producedBytes", attrRuntimeProducedBytes, v.AsRaw())
	}
}

// TestStatusDescriptionNotRepeated (item 5): an error's status description
// does not repeat the status or error.type.
func TestStatusDescriptionNotRepeated(t *testing.T) {
	r, clock := newTestReceiver(nil)
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evInitStart, initStartRec("on-demand", "init")),
		ev(t, 100, evInitRuntimeDone, initDoneRec("init", "error", "Runtime.ImportModuleError")),
		ev(t, 200, evStart, startRec(req1, "")),
		ev(t, 300, evRuntimeDone, runtimeDoneRec(req1, "error", "Handler.Error", 100, 0)),
	})
	*clock = at(301)
	td, _, _ := r.Collect(ptrace.NewTraces())
	for _, sp := range allSpans(td) {
		if sp.Status().Code() == ptrace.StatusCodeError && sp.Status().Message() != "" {
			t.Errorf("%s: description %q repeats the status (error.type %q)", sp.Name(), sp.Status().Message(), str(sp.Attributes(), attrErrorType))
		}
	}
}

// TestOwnNamesFollowNamingRules (item 5): every attribute and metric the
// receiver makes of its own is outside the namespaces the conventions own
// (aws.lambda.* holds only the conventions' aws.lambda.invoked_arn) and
// has no unit in its name; durations are in seconds.
func TestOwnNamesFollowNamingRules(t *testing.T) {
	r, clock := newTestReceiver(func(c *Config) { c.LogReportLines = true })
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evInitStart, initStartRec("on-demand", "init")),
		ev(t, 100, evInitRuntimeDone, initDoneRec("init", "success", "")),
		ev(t, 110, evInitReport, initReportRec(110)),
		ev(t, 200, evStart, startRec(req1, xrayActive)),
		line(t, 210, evFunction, "hello"),
		ev(t, 250, evLogsDropped, `{"droppedBytes":100,"droppedRecords":2,"reason":"buffer full"}`),
		ev(t, 300, evRuntimeDone, runtimeDoneRec(req1, "success", "", 100, 200)),
		ev(t, 320, evReport, reportRec(req1, "success", 120, 120, 40, 110)),
	})
	*clock = at(400)
	td, md, ld := r.Collect(ptrace.NewTraces())
	check := func(what, name string) {
		if strings.HasPrefix(name, "aws.lambda.") && name != attrAWSLambdaInvokedARN {
			t.Errorf("%s %s: in the aws.lambda.* namespace the conventions own", what, name)
		}
		if strings.HasSuffix(name, "_ms") || strings.HasSuffix(name, "_seconds") {
			t.Errorf("%s %s: a unit in the name", what, name)
		}
	}
	for _, sp := range allSpans(td) {
		for k := range sp.Attributes().All() {
			check("span attribute", k)
		}
	}
	for _, lr := range allLogs(ld) {
		for k := range lr.Attributes().All() {
			check("log attribute", k)
		}
	}
	for name, m := range metricsByName(md) {
		check("metric", name)
		if strings.Contains(name, "duration") && m.Unit() != "s" {
			t.Errorf("metric %s in %q, want s", name, m.Unit())
		}
	}
	if d := oneSpan(t, td, "orders").Attributes(); str(d, attrRuntimeDuration) != "0.1" {
		t.Errorf("%s = %q, want 0.1 (seconds)", attrRuntimeDuration, str(d, attrRuntimeDuration))
	}
}

// TestObservedTimestampIsReceiveTime (item 5): a log record's
// ObservedTimestamp is when the extension received the line, its
// Timestamp when the line was written.
func TestObservedTimestampIsReceiveTime(t *testing.T) {
	r, clock := newTestReceiver(func(c *Config) { c.LogReportLines = true })
	*clock = at(5000) // the Telemetry API delivers late (buffering)
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evStart, startRec(req1, "")),
		line(t, 10, evFunction, "hello"),
		ev(t, 100, evRuntimeDone, runtimeDoneRec(req1, "success", "", 100, 0)),
	})
	*clock = at(5001)
	_, _, ld := r.Collect(ptrace.NewTraces())
	for _, lr := range allLogs(ld) {
		if lr.ObservedTimestamp() != ts(at(5000)) || lr.Timestamp() == lr.ObservedTimestamp() {
			t.Errorf("%q: time %v observed %v, want observed at receipt", lr.Body().AsString(), lr.Timestamp().AsTime(), lr.ObservedTimestamp().AsTime())
		}
	}
}

// TestInvocationExceptionEvent (item 5): the error a runtime logs for a
// failed invocation is the faas.invocation.exception event, with the
// exception attributes and severity ERROR: in Lambda's JSON log format, in
// the Node.js runtime's text format and as aws-lambda-go logs it.
func TestInvocationExceptionEvent(t *testing.T) {
	for _, tc := range []struct{ name, record string }{
		{"json", `{"timestamp":"2024-05-01T10:00:00.050Z","level":"ERROR","requestId":"` + req1 + `","message":"Invoke Error","errorType":"TypeError","errorMessage":"x is undefined","stackTrace":["TypeError: x is undefined","    at handler (/var/task/index.js:3:9)"]}`},
		{"aws-lambda-go", `"2024/05/01 10:00:00 {\"errorMessage\":\"x is undefined\",\"errorType\":\"TypeError\",\"stackTrace\":[{\"path\":\"/var/task/main.go\",\"line\":3,\"label\":\"at handler\"}]}"`},
		{"node text", `"2024-05-01T10:00:00.050Z\t` + req1 + `\tERROR\tInvoke Error \t{\"errorType\":\"TypeError\",\"errorMessage\":\"x is undefined\",\"stack\":[\"TypeError: x is undefined\",\"    at handler (/var/task/index.js:3:9)\"]}"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, clock := newTestReceiver(nil)
			r.Consume([]telemetryapi.Event{
				ev(t, 0, evStart, startRec(req1, "")),
				ev(t, 50, evFunction, tc.record),
				ev(t, 100, evRuntimeDone, runtimeDoneRec(req1, "error", "TypeError", 100, 0)),
			})
			*clock = at(101)
			_, _, ld := r.Collect(ptrace.NewTraces())
			lrs := allLogs(ld)
			if len(lrs) != 1 {
				t.Fatalf("%d log records", len(lrs))
			}
			lr := lrs[0]
			a := lr.Attributes()
			if lr.EventName() != "faas.invocation.exception" || lr.SeverityNumber() != plog.SeverityNumberError ||
				str(a, attrExceptionType) != "TypeError" || str(a, attrExceptionMessage) != "x is undefined" ||
				!strings.Contains(str(a, attrExceptionStack), "at handler") {
				t.Errorf("event %q severity %v attributes %v", lr.EventName(), lr.SeverityNumber(), attrs(a))
			}
		})
	}
}

// TestSeverityDataModelAppendix (item 5): level words map as the logs data
// model's appendix B says: syslog's Alert and zap's Panic are ERROR3,
// zap's DPanic ERROR2, syslog's Emergency and Fatal FATAL.
func TestSeverityDataModelAppendix(t *testing.T) {
	for level, want := range map[string]plog.SeverityNumber{
		"ALERT": plog.SeverityNumberError3, "PANIC": plog.SeverityNumberError3, "DPANIC": plog.SeverityNumberError2,
		"EMERGENCY": plog.SeverityNumberFatal, "FATAL": plog.SeverityNumberFatal, "NOTICE": plog.SeverityNumberInfo2,
		"ERROR": plog.SeverityNumberError, "WARNING": plog.SeverityNumberWarn,
	} {
		if got, ok := severityOf(level); !ok || got != want {
			t.Errorf("severityOf(%q) = %v, want %v", level, got, want)
		}
	}
}
