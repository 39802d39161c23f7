package telemetryapireceiver

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/telemetryapi"
)

// t0 is the environment's start in every scenario; times are given in
// milliseconds after it.
var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func at(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }

// stamp is a time as the Telemetry API writes it (UTC, milliseconds).
func stamp(ms float64) string { return at(ms).Format("2006-01-02T15:04:05.000Z") }

// ev is one Telemetry API event, decoded from the JSON Lambda delivers.
func ev(t testing.TB, ms float64, typ, record string) telemetryapi.Event {
	t.Helper()
	raw := fmt.Sprintf(`{"time":%q,"type":%q,"record":%s}`, stamp(ms), typ, record)
	var e telemetryapi.Event
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		t.Fatalf("event %s: %v", raw, err)
	}
	return e
}

// line is a text log line event (function or extension).
func line(t testing.TB, ms float64, typ, text string) telemetryapi.Event {
	t.Helper()
	b, _ := json.Marshal(text)
	return ev(t, ms, typ, string(b))
}

// Records shaped as the sandbox (sandbox/sandbox.go) and the AWS schema
// reference write them.

func initStartRec(initType, phase string) string {
	return fmt.Sprintf(`{"initializationType":%q,"phase":%q,"runtimeVersion":"provided:al2023.v100","runtimeVersionArn":"arn:aws:lambda:eu-west-1::runtime:abc",`+
		`"functionName":"orders","functionVersion":"$LATEST","instanceId":"2024/05/01/orders[$LATEST]8f7e6d5c4b3a29180716253443526170","instanceMaxMemory":134217728}`, initType, phase)
}

func initDoneRec(phase, status, errorType string) string {
	if errorType != "" {
		return fmt.Sprintf(`{"initializationType":"on-demand","phase":%q,"status":%q,"errorType":%q}`, phase, status, errorType)
	}
	return fmt.Sprintf(`{"initializationType":"on-demand","phase":%q,"status":%q}`, phase, status)
}

func initReportRec(durationMs float64) string {
	return fmt.Sprintf(`{"initializationType":"on-demand","phase":"init","status":"success","metrics":{"durationMs":%g}}`, durationMs)
}

func startRec(id, xray string) string {
	if xray == "" {
		return fmt.Sprintf(`{"requestId":%q,"version":"$LATEST"}`, id)
	}
	return fmt.Sprintf(`{"requestId":%q,"version":"$LATEST","tracing":{"spanId":"54565fb41ac79632","type":"X-Amzn-Trace-Id","value":%q}}`, id, xray)
}

// runtimeDoneRec is platform.runtimeDone; startMs > 0 adds the
// responseLatency and responseDuration spans of a runtime that answered.
func runtimeDoneRec(id, status, errorType string, durationMs float64, startMs float64) string {
	s := fmt.Sprintf(`{"requestId":%q,"status":%q,"metrics":{"durationMs":%g,"producedBytes":12}`, id, status, durationMs)
	if errorType != "" {
		s += fmt.Sprintf(`,"errorType":%q`, errorType)
	}
	if startMs > 0 {
		s += fmt.Sprintf(`,"spans":[{"name":"responseLatency","start":%q,"durationMs":%g},{"name":"responseDuration","start":%q,"durationMs":1.0}]`,
			stamp(startMs), durationMs-1, stamp(startMs+durationMs-1))
	}
	return s + `}`
}

func reportRec(id, status string, durationMs, billedMs, maxMemMB, initMs float64) string {
	m := fmt.Sprintf(`"durationMs":%g,"billedDurationMs":%g,"memorySizeMB":128,"maxMemoryUsedMB":%g`, durationMs, billedMs, maxMemMB)
	if initMs > 0 {
		m += fmt.Sprintf(`,"initDurationMs":%g`, initMs)
	}
	return fmt.Sprintf(`{"requestId":%q,"status":%q,"metrics":{%s}}`, id, status, m)
}

// newTestReceiver returns a receiver with every signal on, for function
// "orders", whose clock the test sets.
func newTestReceiver(mod func(*Config)) (*Receiver, *time.Time) {
	cfg := Config{
		Spans: true, Metrics: true, Logs: true,
		SelfLogPrefix: DefaultSelfLogPrefix,
		Version:       "1.2.3",
		Resource: ResourceInfo{FunctionName: "orders", FunctionVersion: "$LATEST", Region: "eu-west-1",
			AccountID: "123456789012", MemoryMB: 128},
	}
	if mod != nil {
		mod(&cfg)
	}
	r := New(cfg)
	clock := t0
	r.now = func() time.Time { return clock }
	r.started, r.lastCollect = t0, t0
	return r, &clock
}

func traceID(s string) pcommon.TraceID {
	var id pcommon.TraceID
	if _, err := hex.Decode(id[:], []byte(s)); err != nil || len(s) != 32 {
		panic("bad trace id " + s)
	}
	return id
}

func spanID(s string) pcommon.SpanID {
	var id pcommon.SpanID
	if _, err := hex.Decode(id[:], []byte(s)); err != nil || len(s) != 16 {
		panic("bad span id " + s)
	}
	return id
}

// functionTraces is what a function's SDK sends: a root span for the
// request (attribute key attr) under the upstream parent, and a child.
func functionTraces(attr, requestID string, trace pcommon.TraceID, upstream, root pcommon.SpanID, startMs, endMs float64) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "orders")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	sp := spans.AppendEmpty()
	sp.SetName("handler")
	sp.SetKind(ptrace.SpanKindServer)
	sp.SetTraceID(trace)
	sp.SetSpanID(root)
	sp.SetParentSpanID(upstream)
	sp.SetFlags(0x301)
	sp.SetStartTimestamp(ts(at(startMs)))
	sp.SetEndTimestamp(ts(at(endMs)))
	sp.Attributes().PutStr(attr, requestID)
	child := spans.AppendEmpty()
	child.SetName("db")
	child.SetTraceID(trace)
	child.SetSpanID(spanID("c0c0c0c0c0c0c0c0"))
	child.SetParentSpanID(root)
	child.SetStartTimestamp(ts(at(startMs + 1)))
	child.SetEndTimestamp(ts(at(endMs - 1)))
	return td
}

func allSpans(td ptrace.Traces) []ptrace.Span {
	var out []ptrace.Span
	forEachSpan(td, func(sp ptrace.Span) { out = append(out, sp) })
	return out
}

func spansNamed(td ptrace.Traces, name string) []ptrace.Span {
	var out []ptrace.Span
	for _, sp := range allSpans(td) {
		if sp.Name() == name {
			out = append(out, sp)
		}
	}
	return out
}

func oneSpan(t *testing.T, td ptrace.Traces, name string) ptrace.Span {
	t.Helper()
	s := spansNamed(td, name)
	if len(s) != 1 {
		t.Fatalf("%d spans named %q, want 1; spans: %v", len(s), name, spanNames(td))
	}
	return s[0]
}

func spanNames(td ptrace.Traces) []string {
	var out []string
	for _, sp := range allSpans(td) {
		out = append(out, sp.Name())
	}
	sort.Strings(out)
	return out
}

func attrs(m pcommon.Map) map[string]any { return m.AsRaw() }

func metricsByName(md pmetric.Metrics) map[string]pmetric.Metric {
	out := map[string]pmetric.Metric{}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				out[ms.At(k).Name()] = ms.At(k)
			}
		}
	}
	return out
}

func allLogs(ld plog.Logs) []plog.LogRecord {
	var out []plog.LogRecord
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				out = append(out, lrs.At(k))
			}
		}
	}
	return out
}

func logWithBody(t *testing.T, ld plog.Logs, body string) plog.LogRecord {
	t.Helper()
	for _, lr := range allLogs(ld) {
		if lr.Body().AsString() == body {
			return lr
		}
	}
	var bodies []string
	for _, lr := range allLogs(ld) {
		bodies = append(bodies, lr.Body().AsString())
	}
	t.Fatalf("no log record %q; have %q", body, bodies)
	return plog.LogRecord{}
}

// sumValue is the value of a Sum metric's data point with the given
// error.type ("" for none).
func sumValue(t *testing.T, m pmetric.Metric, errorType string) int64 {
	t.Helper()
	dps := m.Sum().DataPoints()
	for i := 0; i < dps.Len(); i++ {
		got := ""
		if v, ok := dps.At(i).Attributes().Get(attrErrorType); ok {
			got = v.Str()
		}
		if got == errorType {
			return dps.At(i).IntValue()
		}
	}
	t.Fatalf("%s has no data point with error.type=%q", m.Name(), errorType)
	return 0
}

// str is a string attribute, "" when absent.
func str(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok {
		return v.AsString()
	}
	return ""
}

// boolAttr is a bool attribute, false when absent.
func boolAttr(m pcommon.Map, k string) bool {
	v, ok := m.Get(k)
	return ok && v.Type() == pcommon.ValueTypeBool && v.Bool()
}
