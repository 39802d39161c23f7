package extension_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/sink"
)

// samplingConfig is the telemetryapi configuration with lambdaotel_sampling
// in the traces and logs pipelines: errors, timeouts and cold starts kept
// (the defaults), invocations slower than 500 ms, those with a span named
// child-6, and half of the rest by trace id; log records too.
var samplingConfig = func() string {
	cfg := strings.Replace(lambdatest.WithTelemetryAPI(defaultConfig), "processors:\n  batch:", `processors:
  lambdaotel_sampling:
    slower_than: 500ms
    span_conditions:
      - name == "child-6"
    percentage: 50
    logs: true
  batch:`, 1)
	cfg = strings.Replace(cfg, "processors: [batch, resource]", "processors: [batch, lambdaotel_sampling, resource]", 1)
	return strings.Replace(cfg, "    logs:\n      receivers: [otlp, telemetryapi]\n", "    logs:\n      receivers: [otlp, telemetryapi]\n      processors: [lambdaotel_sampling]\n", 1)
}()

// sampledTrace is a trace id whose randomness (its last 7 bytes) is the
// largest (kept at any percentage above 0) or 1 (dropped below 100).
func sampledTrace(k int, kept bool) string {
	r := uint64(1)
	if kept {
		r = 1<<56 - 1
	}
	return fmt.Sprintf("%016x%02x%014x", k+1, 0x42, r)
}

// TestLambdaotelSampling runs a mix of invocations through the sandbox
// with lambdaotel_sampling: a cold start, successes in and out of the
// percentage, a handler error, a slow one, one with a span that matches a
// condition and a timeout. Exactly the kept invocations reach the
// backend, with all their spans (the function's and the platform's) and
// log records; nothing of the dropped ones does, except their metrics;
// the shutdown line and the self-telemetry count each decision. With the
// periodic strategy, flushes come while invocations run: what is not
// decided yet is held across flushes, with the same outcome.
func TestLambdaotelSampling(t *testing.T) {
	t.Parallel()
	for _, strategy := range []string{"end", "periodic"} {
		t.Run(strategy, func(t *testing.T) {
			t.Parallel()
			testSampling(t, strings.Replace(samplingConfig, "strategy: end", "strategy: "+strategy+"\n    interval: 1ms", 1), strategy == "end")
		})
	}
}

// testSampling runs TestLambdaotelSampling's invocations with cfg; atEnd:
// the configuration flushes at the end of each invocation.
func testSampling(t *testing.T, cfg string, atEnd bool) {
	e := startEnv(t, envOptions{protocol: "http/protobuf", config: cfg})
	type invocation struct {
		name     string
		event    string
		keep     bool
		spans    int // the function's spans that reach the backend when kept
		failed   bool
		traceID  string
		id       string
		platform string // the platform span's trace, once found
	}
	invs := []*invocation{
		{name: "cold", event: `{"spans":2,"logs":1}`, keep: true, spans: 3},
		{name: "sampled in", event: `{"spans":2,"logs":1}`, keep: true, spans: 3},
		{name: "sampled out", event: `{"spans":2,"logs":1}`, spans: 3},
		{name: "handler error", event: `{"spans":2,"logs":1,"fail":true}`, keep: true, spans: 3, failed: true},
		{name: "slow", event: `{"spans":2,"logs":1,"sleepMs":900}`, keep: true, spans: 3},
		{name: "condition", event: `{"spans":7,"logs":1}`, keep: true, spans: 8},
		{name: "sampled out again", event: `{"spans":2,"logs":1}`, spans: 3},
		// The function never ends its spans: only the platform's arrive.
		{name: "timeout", event: `{"spans":2,"logs":1,"sleepMs":5000}`, keep: true, failed: true},
	}
	for k, inv := range invs {
		inv.traceID = sampledTrace(k, inv.name == "sampled in")
		ev := strings.Replace(inv.event, "{", fmt.Sprintf(`{"traceparent":"00-%s-00f067aa0ba902b7-01",`, inv.traceID), 1)
		res := e.invoke(t, ev)
		if (res.Error != nil) != inv.failed {
			t.Fatalf("invocation %q: error %v, want failed: %v", inv.name, res.Error, inv.failed)
		}
		inv.id = res.RequestID
	}
	e.sb.Shutdown()

	spans := e.sink.Spans()
	byTrace := map[string][]sink.Span{} // by trace id in hex
	for _, s := range spans {
		byTrace[s.TraceID.String()] = append(byTrace[s.TraceID.String()], s)
	}
	accounted := 0
	for _, inv := range invs {
		// The platform's invocation span names the request; its trace is
		// the function's (the timed-out function sent no span: its own).
		var platform *sink.Span
		for i, s := range spans {
			if s.Attributes["faas.invocation_id"] == inv.id && s.Name == "function" {
				platform = &spans[i]
			}
		}
		if !inv.keep {
			if platform != nil || len(byTrace[inv.traceID]) > 0 {
				t.Errorf("%s (dropped): %d spans of its trace at the backend, platform span %v", inv.name, len(byTrace[inv.traceID]), platform != nil)
			}
			continue
		}
		if platform == nil {
			t.Errorf("%s (kept): its platform span is not at the backend", inv.name)
			continue
		}
		trace := byTrace[platform.TraceID.String()]
		function, children := 0, map[string]int{}
		for _, s := range trace {
			switch {
			case s.Resource["service.name"] == "otelfunc":
				function++
			case s.ParentSpanID == platform.SpanID:
				children[s.Name]++
			}
		}
		if inv.spans > 0 && platform.TraceID.String() != inv.traceID {
			t.Errorf("%s: platform span in trace %s, want the function's %s", inv.name, platform.TraceID, inv.traceID)
		}
		if function != inv.spans {
			t.Errorf("%s (kept): %d of the function's spans at the backend, want %d", inv.name, function, inv.spans)
		}
		if !inv.failed && (children["responseLatency"] != 1 || children["responseDuration"] != 1) {
			t.Errorf("%s (kept): the platform span's children %v lack the runtime's", inv.name, children)
		}
		if inv.name == "cold" && children["init"] != 1 {
			t.Errorf("cold start: the platform span's children %v lack the init span", children)
		}
		accounted += len(trace)
	}
	if accounted != len(spans) {
		t.Errorf("%d spans at the backend, %d of them in the kept invocations' traces", len(spans), accounted)
	}

	// Log records: the kept invocations' only, the function's among them.
	sdkLogs := map[string]int{}
	for _, r := range logRecords(e.sink) {
		id, _ := r.attrs["faas.invocation_id"].(string)
		for _, inv := range invs {
			if !inv.keep && (id == inv.id || r.traceID.String() == inv.traceID) {
				t.Errorf("log record %q of the dropped invocation %s at the backend", r.body, inv.name)
			}
		}
		if r.body == "log 0" {
			sdkLogs[id]++
		}
	}
	for _, inv := range invs {
		if inv.name == "timeout" {
			continue // its SDK may or may not have exported before the function was stopped
		}
		if want := map[bool]int{true: 1}[inv.keep]; sdkLogs[inv.id] != want {
			t.Errorf("%s: %d of the function's log records at the backend, want %d", inv.name, sdkLogs[inv.id], want)
		}
	}

	// Metrics are never sampled: every invocation's data point is there.
	requests := map[string]bool{}
	decisions := map[string]int64{}
	for _, md := range e.sink.Metrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Type() != pmetric.MetricTypeSum {
						continue
					}
					for _, dp := range m.Sum().DataPoints().All() {
						if v, ok := dp.Attributes().Get("request_id"); ok {
							requests[v.Str()] = true
						}
						if m.Name() == "lambdaotel.sampling.invocations" {
							decisions[attr(dp.Attributes(), "decision")+"."+attr(dp.Attributes(), "reason")] = dp.IntValue()
						}
					}
				}
			}
		}
	}
	for _, inv := range invs {
		if !requests[inv.id] && inv.name != "timeout" {
			t.Errorf("%s: the function's data point is not at the backend: metrics are never sampled", inv.name)
		}
	}

	want := map[string]int64{"kept.timeout": 1, "kept.error": 1, "kept.cold_start": 1, "kept.slow": 1,
		"kept.condition": 1, "kept.percentage": 1, "kept.undecided": 0, "dropped.percentage": 2}
	line := regexp.MustCompile(`shut down reason=.*`).FindString(e.logs.String())
	if line == "" {
		t.Fatalf("no shutdown line in the logs")
	}
	for k, v := range want {
		if !strings.Contains(line, fmt.Sprintf(" lambdaotel_sampling.%s=%d", k, v)) {
			t.Errorf("the shutdown line lacks lambdaotel_sampling.%s=%d: %s", k, v, line)
		}
	}
	t.Logf("%s", line)
	// The dropped invocations' items: per invocation at least the
	// function's 3 spans and log record, and the platform span.
	m := regexp.MustCompile(` filtered=(\d+) .*filtered.lambdaotel_sampling=(\d+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("the shutdown line lacks filtered and filtered.lambdaotel_sampling: %s", line)
	}
	total, _ := strconv.Atoi(m[1])
	bySampler, _ := strconv.Atoi(m[2])
	if total != bySampler || total < 2*5 {
		t.Errorf("filtered=%d, filtered.lambdaotel_sampling=%d; want equal, at least 10", total, bySampler)
	}
	// Nothing is lost: what was accepted was exported or filtered.
	if n := regexp.MustCompile(`accepted=(\d+) exported=(\d+)`).FindStringSubmatch(line); n == nil || atoi(n[1]) != atoi(n[2])+total {
		t.Errorf("accepted and exported %v, filtered %d: want accepted = exported + filtered", n, total)
	}
	// The self-telemetry of the last flush is made before that flush
	// decides: flushing at the end of each invocation, it carries every
	// decision but the timeout's, decided in the flush at the shutdown
	// that follows the timeout; flushing periodically, the invocations
	// still running may be missing.
	for k, v := range want {
		if k == "kept.timeout" {
			v = 0
		}
		if got, ok := decisions[k]; !ok || got > v || atEnd && got != v {
			t.Errorf("self-telemetry lambdaotel.sampling.invocations{%s} = %d (present %v), want %d", k, got, ok, v)
		}
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// attr returns a string attribute, or "".
func attr(m pcommon.Map, k string) string {
	v, _ := m.Get(k)
	return v.AsString()
}

// TestLambdaotelSamplingWithoutPlatform uses lambdaotel_sampling with no
// telemetryapi receiver: the extension still follows the invocations
// through the Telemetry API, so that they are decided, and makes no
// platform telemetry.
func TestLambdaotelSamplingWithoutPlatform(t *testing.T) {
	t.Parallel()
	cfg := strings.Replace(defaultConfig, "processors:\n  batch:", "processors:\n  lambdaotel_sampling:\n    percentage: 0\n  batch:", 1)
	cfg = strings.Replace(cfg, "processors: [batch, resource]", "processors: [batch, lambdaotel_sampling, resource]", 1)
	e := startEnv(t, envOptions{protocol: "http/protobuf", config: cfg})
	var ids []string
	for _, ev := range []string{`{"spans":1}`, `{"spans":1}`, `{"spans":1,"fail":true}`} {
		ids = append(ids, e.invoke(t, ev).RequestID)
	}
	e.sb.Shutdown()
	got := map[string]int{}
	for _, s := range e.sink.Spans() {
		if s.Name == "handler" {
			got[s.Attributes["faas.invocation_id"].(string)]++
		}
		if s.Resource["service.name"] != "otelfunc" {
			t.Errorf("span %s of %v at the backend: no platform telemetry was asked for", s.Name, s.Resource)
		}
	}
	if got[ids[0]] != 1 || got[ids[1]] != 0 || got[ids[2]] != 1 || e.sink.SpanCount() != 4 {
		t.Errorf("root spans at the backend %v, %d spans; want the cold start's and the error's (2 each), not the second's (%v)", got, e.sink.SpanCount(), ids)
	}
	if !regexp.MustCompile(`shut down .* filtered=2 .*lambdaotel_sampling.kept.error=1 lambdaotel_sampling.kept.cold_start=1 .*lambdaotel_sampling.dropped.percentage=1\b`).MatchString(e.logs.String()) {
		t.Errorf("the shutdown line does not count the decisions and the dropped invocation's 2 spans")
	}
}
