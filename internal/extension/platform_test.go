package extension_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/sandbox"
	"github.com/lambdaotel/lambdaotel/sink"
)

const plainFunc = "github.com/lambdaotel/lambdaotel/internal/fixtures/plainfunc"

// platformConfig is defaultConfig with the telemetryapi receiver in every
// pipeline.
var platformConfig = lambdatest.WithTelemetryAPI(defaultConfig)

// logRecord is a received log record in plain values.
type logRecord struct {
	body         string
	attrs        map[string]any
	resource     map[string]any
	traceID      pcommon.TraceID
	spanID       pcommon.SpanID
	severityText string
}

func logRecords(s *sink.Sink) []logRecord {
	var out []logRecord
	for _, ld := range s.Logs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					out = append(out, logRecord{body: lr.Body().AsString(), attrs: lr.Attributes().AsRaw(),
						resource: rl.Resource().Attributes().AsRaw(), traceID: lr.TraceID(), spanID: lr.SpanID(),
						severityText: lr.SeverityText()})
				}
			}
		}
	}
	return out
}

// metricNames lists the names of the metrics received.
func metricNames(s *sink.Sink) map[string]int {
	out := map[string]int{}
	for _, md := range s.Metrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					out[m.Name()]++
				}
			}
		}
	}
	return out
}

func spansNamed(spans []sink.Span, name string) []sink.Span {
	var out []sink.Span
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// TestPlatformTelemetryWithoutSDK runs a function with no OpenTelemetry at
// all: the extension alone makes, per invocation, the platform span, the
// metrics and the log records, all correlated, and one init span.
func TestPlatformTelemetryWithoutSDK(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOptions{function: plainFunc, config: platformConfig,
		sandbox: sandbox.Config{FunctionName: "orders"}})
	const traceHeader = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	var ids []string
	var traces []pcommon.TraceID
	for k := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		res, err := e.sb.Invoke(ctx, sandbox.Request{Payload: []byte(`{"action":"print","lines":2}`), TraceHeader: traceHeader})
		cancel()
		if err != nil || res.Error != nil {
			t.Fatalf("invocation %d: %v %v", k, err, res.Error)
		}
		ids = append(ids, res.RequestID)
		// Already at the backend: the platform span of this invocation.
		var span *sink.Span
		spans := e.sink.Spans()
		for i, s := range spansNamed(spans, "orders") {
			if s.Attributes["faas.invocation_id"] == res.RequestID {
				span = &spansNamed(spans, "orders")[i]
			}
		}
		if span == nil {
			t.Fatalf("invocation %d: no platform span at the backend", k)
		}
		// Not a child of Lambda's X-Ray span, which no OTLP backend
		// receives: a root of its own (adopt_xray_parent is off by default).
		if span.Kind != ptrace.SpanKindServer || span.Status == ptrace.StatusCodeError ||
			span.Attributes["faas.coldstart"] != (k == 0) || span.Attributes["faas.trigger"] != "other" ||
			span.Resource["faas.name"] != "orders" ||
			span.Resource["cloud.provider"] != "aws" || span.Resource["service.name"] != "orders" ||
			span.TraceID.String() == "5759e988bd862e3fe1be46a994272793" || !span.ParentSpanID.IsEmpty() {
			t.Errorf("invocation %d: platform span %+v", k, *span)
		}
		if len(span.Links) != 1 || span.Links[0].TraceID.String() != "5759e988bd862e3fe1be46a994272793" || span.Links[0].SpanID.String() != "53995c3f42cd8ad8" {
			t.Errorf("invocation %d: links %+v, want one to the X-Ray context", k, span.Links)
		}
		traces = append(traces, span.TraceID)
	}
	e.sb.Shutdown()
	spans := e.sink.Spans()
	inits := spansNamed(spans, "init")
	if len(inits) != 1 {
		t.Fatalf("%d init spans, want exactly one per environment", len(inits))
	}
	first := spansNamed(spans, "orders")[0]
	if inits[0].ParentSpanID != first.SpanID || first.Attributes["faas.invocation_id"] != ids[0] {
		t.Errorf("the init span is not in the first invocation's trace: %+v", inits[0])
	}

	records := logRecords(e.sink)
	perInvocation := map[string]int{}
	for _, r := range records {
		if strings.HasPrefix(r.body, "line ") {
			id, _ := r.attrs["faas.invocation_id"].(string)
			perInvocation[id]++
			if !slices.Contains(traces, r.traceID) || r.spanID.IsEmpty() {
				t.Errorf("log record %q is not correlated with its invocation's span: %+v", r.body, r)
			}
		}
		if strings.HasPrefix(r.body, "lambdaotel") {
			t.Errorf("the extension's own line came back: %q", r.body)
		}
	}
	for _, id := range ids {
		if perInvocation[id] != 2 {
			t.Errorf("invocation %s: %d function log records, want 2 (all: %v)", id, perInvocation[id], perInvocation)
		}
	}
	names := metricNames(e.sink)
	for _, want := range []string{"faas.invocations", "faas.coldstarts", "faas.invoke_duration", "faas.init_duration", "faas.mem_usage"} {
		if names[want] == 0 {
			t.Errorf("metric %s did not arrive (got %v)", want, names)
		}
	}
}

// TestPlatformConnectedTrace runs a function with the OpenTelemetry SDK
// whose event carries a W3C traceparent: the backend gets one tree,
// upstream parent → platform span → function root → children.
func TestPlatformConnectedTrace(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOptions{protocol: "http/protobuf", config: platformConfig, sandbox: sandbox.Config{FunctionName: "orders"}})
	const upstreamTrace, upstreamSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	res := e.invoke(t, `{"spans":2,"traceparent":"00-`+upstreamTrace+`-`+upstreamSpan+`-01"}`)
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	spans := e.sink.Spans()
	platform := spansNamed(spans, "orders")
	handler := spansNamed(spans, "handler")
	if len(platform) != 1 || len(handler) != 1 {
		t.Fatalf("%d platform and %d handler spans", len(platform), len(handler))
	}
	p, h := platform[0], handler[0]
	if p.TraceID.String() != upstreamTrace || p.ParentSpanID.String() != upstreamSpan {
		t.Errorf("platform span in trace %s under %s, want the upstream %s under %s", p.TraceID, p.ParentSpanID, upstreamTrace, upstreamSpan)
	}
	if h.TraceID != p.TraceID || h.ParentSpanID != p.SpanID {
		t.Errorf("the function's root span is not a child of the platform span: %+v", h)
	}
	children := 0
	for _, s := range spans {
		if s.ParentSpanID == h.SpanID && strings.HasPrefix(s.Name, "child-") {
			children++
		}
	}
	if children != 2 {
		t.Errorf("%d children under the function's root span, want 2", children)
	}
}

// TestPlatformErrors checks that an error, a timeout and a crash each give
// an ERROR platform span with the error's type, even though the function
// reported nothing.
func TestPlatformErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, event, errorType string
	}{
		{"error", `{"action":"error"}`, "errorString"},
		{"timeout", `{"action":"sleep","sleepMs":5000}`, "Sandbox.Timedout"},
		{"crash", `{"action":"exit"}`, "Runtime.ExitError"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, envOptions{function: plainFunc, config: platformConfig,
				sandbox: sandbox.Config{FunctionName: "orders", Timeout: time.Second}})
			res := e.invoke(t, c.event)
			if res.Error == nil || res.Error.Type != c.errorType {
				t.Fatalf("result error %+v, want %s", res.Error, c.errorType)
			}
			e.invoke(t, `{}`)
			e.sb.Shutdown()
			var found bool
			for _, s := range spansNamed(e.sink.Spans(), "orders") {
				if s.Attributes["faas.invocation_id"] == res.RequestID {
					found = true
					if s.Status != ptrace.StatusCodeError || s.Attributes["error.type"] != c.errorType {
						t.Errorf("platform span status %v, error.type %v; want ERROR, %s", s.Status, s.Attributes["error.type"], c.errorType)
					}
				}
			}
			if !found {
				t.Errorf("no platform span for the failed invocation")
			}
		})
	}
}

// TestOwnLinesNotExported runs the extension with debug logging and a debug
// exporter next to the backend: what it writes comes back as extension log
// lines, and none of it may be exported.
func TestOwnLinesNotExported(t *testing.T) {
	t.Parallel()
	cfg := strings.ReplaceAll(platformConfig, "exporters: [otlphttp]", "exporters: [otlphttp, debug]") +
		"\n"
	cfg = strings.Replace(cfg, "exporters:\n  otlphttp:", "exporters:\n  debug:\n    verbosity: detailed\n  otlphttp:", 1)
	e := startEnv(t, envOptions{function: plainFunc, config: cfg, extEnv: map[string]string{"LAMBDAOTEL_LOG_LEVEL": "debug"}})
	for range 3 {
		if res := e.invoke(t, `{"action":"print","lines":1}`); res.Error != nil {
			t.Fatal(res.Error)
		}
	}
	e.sb.Shutdown()
	if !strings.Contains(e.logs.String(), "lambdaotel: debug") && !strings.Contains(e.logs.String(), "lambdaotel: ") {
		t.Fatalf("the extension wrote nothing:\n%s", e.logs.String())
	}
	fn := 0
	for _, r := range logRecords(e.sink) {
		if strings.Contains(r.body, "lambdaotel") || strings.HasPrefix(r.body, "debug") {
			t.Errorf("an own line came back as a log record: %q", r.body)
		}
		if strings.HasPrefix(r.body, "line 1") {
			fn++
		}
	}
	if fn != 3 {
		t.Errorf("%d function log records, want 3", fn)
	}
}
