package extension_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/extension"
)

// withProcessor puts processor id (declared with its options, indented
// as under processors:) in the given pipelines of defaultConfig, before
// the resource processor in the traces pipeline.
func withProcessor(t *testing.T, id, options string, signals ...string) string {
	t.Helper()
	cfg := strings.Replace(defaultConfig, "processors:\n  batch:", "processors:\n  "+id+":\n"+options+"\n  batch:", 1)
	for _, s := range signals {
		switch s {
		case "traces":
			cfg = strings.Replace(cfg, "processors: [batch, resource]", "processors: [batch, "+id+", resource]", 1)
		default:
			cfg = strings.Replace(cfg, "    "+s+":\n      receivers: [otlp]\n", "    "+s+":\n      receivers: [otlp]\n      processors: ["+id+"]\n", 1)
		}
	}
	if strings.Count(cfg, id) != 1+len(signals) {
		t.Fatalf("the configuration was not made:\n%s", cfg)
	}
	return cfg
}

// TestAttributesProcessorActions runs the attributes processor with
// include/exclude and the actions besides delete in the sandbox: the
// function's child spans (included by service, the handler span excluded
// by name) get a constant, a SHA-256 of an attribute, groups extracted
// from another and a conversion; the handler span arrives unchanged.
func TestAttributesProcessorActions(t *testing.T) {
	t.Parallel()
	cfg := withProcessor(t, "attributes/e2e", `    include:
      match_type: strict
      services: [otelfunc]
    exclude:
      match_type: regexp
      span_names: ['^handler$']
    actions:
      - {key: tier, value: gold, action: upsert}
      - {key: item_hash, from_attribute: fixture.item, action: insert}
      - {key: item_hash, action: hash}
      - {key: fixture.item, pattern: '^(?P<request>[^/]+)/child-(?P<child>[0-9]+)$', action: extract}
      - {key: child, action: convert, converted_type: int}`, "traces")
	e := startEnv(t, envOptions{protocol: "http/protobuf", config: cfg})
	const children = 3
	res := e.invoke(t, fmt.Sprintf(`{"spans":%d}`, children))
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	e.sb.Shutdown()
	spans := e.sink.Spans()
	if len(spans) != children+1 {
		t.Fatalf("%d spans at the backend, want %d", len(spans), children+1)
	}
	for _, s := range spans {
		item, _ := s.Attributes["fixture.item"].(string)
		if s.Name == "handler" {
			if _, ok := s.Attributes["tier"]; ok {
				t.Errorf("the excluded handler span was changed: %v", s.Attributes)
			}
			continue
		}
		sum := sha256.Sum256([]byte(item))
		req, child, _ := strings.Cut(item, "/child-")
		want := map[string]any{"tier": "gold", "item_hash": hex.EncodeToString(sum[:]), "request": req, "child": s.Attributes["index"]}
		for k, v := range want {
			if s.Attributes[k] != v {
				t.Errorf("span %s: %s = %v (%T), want %v (%T); child %s", s.Name, k, s.Attributes[k], s.Attributes[k], v, v, child)
			}
		}
	}
}

// TestSpanProcessor renames the function's child spans from an
// attribute, extracts the request id back into an attribute, and marks
// them as errors; the handler span (not included) stays as it was.
func TestSpanProcessor(t *testing.T) {
	t.Parallel()
	cfg := withProcessor(t, "span/rename", `    include:
      match_type: regexp
      span_names: ['^child-']
    name:
      from_attributes: [fixture.item, index]
      separator: '#'
      to_attributes:
        rules: ['^(?P<request_id>[^/]+)/']
    status:
      code: Error
      description: renamed`, "traces")
	e := startEnv(t, envOptions{protocol: "grpc", config: cfg})
	res := e.invoke(t, `{"spans":2}`)
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	e.sb.Shutdown()
	spans := e.sink.Spans()
	if len(spans) != 3 {
		t.Fatalf("%d spans at the backend, want 3", len(spans))
	}
	names := map[string]bool{}
	for _, s := range spans {
		names[s.Name] = true
		if s.Name == "handler" {
			if s.Status == ptrace.StatusCodeError {
				t.Error("the handler span, not included, got the status")
			}
			continue
		}
		item := s.Attributes["fixture.item"].(string)
		req, _, _ := strings.Cut(item, "/")
		if s.Attributes["request_id"] != req || s.Status != ptrace.StatusCodeError || s.StatusMessage != "renamed" {
			t.Errorf("span %s: request_id %v (want %s), status %v %q", s.Name, s.Attributes["request_id"], req, s.Status, s.StatusMessage)
		}
		if want := "{request_id}/" + strings.TrimPrefix(item, req+"/") + "#" + fmt.Sprint(s.Attributes["index"]); s.Name != want {
			t.Errorf("span named %q, want %q", s.Name, want)
		}
	}
	if !names["handler"] {
		t.Errorf("no handler span among %v", names)
	}
}

// TestRedactionProcessor: in all three pipelines only the allowed keys
// leave the function (the invocation id and the metric's request id do
// not), the request id inside fixture.item is masked, and the spans say
// what was redacted.
func TestRedactionProcessor(t *testing.T) {
	t.Parallel()
	cfg := withProcessor(t, "redaction", `    allowed_keys: [service.name, fixture.item, index]
    blocked_values: ['^[0-9a-f-]{36}']
    summary: debug`, "traces", "metrics", "logs")
	e := startEnv(t, envOptions{protocol: "http/protobuf", config: cfg})
	res := e.invoke(t, `{"spans":2,"logs":2}`)
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	e.sb.Shutdown()
	spans := e.sink.Spans()
	if len(spans) != 3 {
		t.Fatalf("%d spans at the backend, want 3", len(spans))
	}
	for _, s := range spans {
		if _, ok := s.Attributes["faas.invocation_id"]; ok {
			t.Errorf("span %s kept faas.invocation_id", s.Name)
		}
		item, _ := s.Attributes["fixture.item"].(string)
		if !strings.HasPrefix(item, "****/") {
			t.Errorf("span %s: fixture.item %q, want the request id masked", s.Name, item)
		}
		if s.Attributes["redaction.masked.keys"] != "fixture.item" {
			t.Errorf("span %s: summary %v", s.Name, s.Attributes)
		}
		if s.Name == "handler" && s.Attributes["redaction.redacted.keys"] != "faas.invocation_id" {
			t.Errorf("handler span: redaction.redacted.keys %v, want faas.invocation_id", s.Attributes["redaction.redacted.keys"])
		}
		if s.Resource["service.name"] != "otelfunc" || s.Resource["telemetry.sdk.language"] != nil || s.Resource["deployment.environment.name"] != "test" {
			t.Errorf("span %s: resource %v: want service.name kept, the SDK's attributes removed, the resource processor's (after redaction) there", s.Name, s.Resource)
		}
	}
	records := 0
	for _, ld := range e.sink.Logs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					records++
					if _, ok := lr.Attributes().Get("faas.invocation_id"); ok {
						t.Errorf("log record %q kept faas.invocation_id", lr.Body().AsString())
					}
				}
			}
		}
	}
	if records != 2 {
		t.Errorf("%d log records at the backend, want 2", records)
	}
	points := 0
	for _, md := range e.sink.Metrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() != "fixture.invocations" {
						continue
					}
					for _, dp := range m.Sum().DataPoints().All() {
						points++
						if _, ok := dp.Attributes().Get("request_id"); ok {
							t.Errorf("data point kept request_id: %v", dp.Attributes().AsRaw())
						}
					}
				}
			}
		}
	}
	if points == 0 {
		t.Error("no fixture.invocations data points at the backend")
	}
}

// TestProbabilisticSampler sends invocations that continue known traces
// (W3C traceparent) through a 50% hash_seed sampler on spans and log
// records: exactly the traces whose FNV-1a hash (seed 0) has its low 14
// bits below 8192 arrive, each with all its spans and log records and
// the tracestate upstream writes. The hashes were computed from the
// collector's documented algorithm by a separate program (see the
// processor's TestUpstreamDecisions).
func TestProbabilisticSampler(t *testing.T) {
	t.Parallel()
	cfg := withProcessor(t, "probabilistic_sampler", "    sampling_percentage: 50", "traces", "logs")
	traces := []struct {
		id   string
		keep bool
		rv   string
	}{
		{"55a98dbc277d42eeef9a29a80aaf1441", true, "9d8470eb3dd89e"}, // low 14 bits of the hash: 6302
		{"dc5bb855c213137ddc7b17c9d0e3363a", true, "ef0d9fa2f1443c"}, // 1084
		{"aab9587b6686dbf2250a63feeb0d82a3", false, ""},              // 15341
		{"151fcd0234de95d19e406112f3a738cd", true, "9f154e7e8b583a"}, // 6202
		{"96731ac4f4c76ee58d1be9ff07c0dd2e", true, "f77c8175554220"}, // 544
		{"3f609b48e1876037642ce776644af2b0", true, "c26b3a26ba0f65"}, // 3941
		{"fb717cec32f1d90adc709a694621c18f", false, ""},              // 14983
		{"8cbffde029e167203b2a2ca979e903f5", true, "ec1e0dbc4fc4f8"}, // 1272
	}
	e := startEnv(t, envOptions{protocol: "http/protobuf", config: cfg})
	const children, logs = 2, 2
	for _, tr := range traces {
		ev := fmt.Sprintf(`{"spans":%d,"logs":%d,"traceparent":"00-%s-00f067aa0ba902b7-01"}`, children, logs, tr.id)
		if res := e.invoke(t, ev); res.Error != nil {
			t.Fatalf("trace %s: %v", tr.id, res.Error)
		}
	}
	e.sb.Shutdown()
	spansOf, tracestates := map[string]int{}, map[string]string{}
	for _, td := range e.sink.Traces() {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					id := s.TraceID().String()
					spansOf[id]++
					tracestates[id] = s.TraceState().AsRaw()
				}
			}
		}
	}
	logsOf := map[string]int{}
	for _, ld := range e.sink.Logs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					logsOf[lr.TraceID().String()]++
				}
			}
		}
	}
	kept := 0
	for _, tr := range traces {
		wantSpans, wantLogs := 0, 0
		if tr.keep {
			wantSpans, wantLogs = children+1, logs
			kept++
		}
		if spansOf[tr.id] != wantSpans || logsOf[tr.id] != wantLogs {
			t.Errorf("trace %s: %d spans, %d log records at the backend; want %d, %d", tr.id, spansOf[tr.id], logsOf[tr.id], wantSpans, wantLogs)
		}
		if want := "ot=rv:" + tr.rv + ";th:8"; tr.keep && tracestates[tr.id] != want {
			t.Errorf("trace %s: tracestate %q, want %q", tr.id, tracestates[tr.id], want)
		}
	}
	if len(spansOf) != kept {
		t.Errorf("spans of %d traces at the backend, want %d: %v", len(spansOf), kept, spansOf)
	}
}

// TestUpstreamProcessorsConfigCheck: `config check` accepts the four
// processors and describes them, and refuses an include block that a
// pipeline's signal cannot match on, naming the processor, the pipeline's
// signal and the property, as upstream refuses it.
func TestUpstreamProcessorsConfigCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := strings.NewReplacer("%GRPC_PORT%", "4317", "%HTTP_PORT%", "4318", "%SINK_HTTP%", "127.0.0.1:1").Replace(defaultConfig)
	cases := []struct {
		name, config, want string
		ok                 bool
	}{
		{"all four", strings.NewReplacer("processors:\n  batch:", `processors:
  attributes: {actions: [{key: a, value: 1, action: upsert}]}
  span: {name: {from_attributes: [a]}}
  redaction: {allow_all_keys: true, blocked_values: ['x']}
  probabilistic_sampler: {sampling_percentage: 10, mode: proportional}
  batch:`, "processors: [batch, resource]", "processors: [batch, attributes, span, redaction, probabilistic_sampler, resource]").Replace(base),
			"span: name from a", true},
		{"span names in a metrics pipeline", strings.NewReplacer("processors:\n  batch:", `processors:
  attributes/x:
    include: {match_type: strict, span_names: [a]}
    actions: [{key: a, action: delete}]
  batch:`, "    metrics:\n      receivers: [otlp]\n", "    metrics:\n      receivers: [otlp]\n      processors: [attributes/x]\n").Replace(base),
			"pipeline metrics: processor attributes/x in a metrics pipeline: include: span_names cannot match metrics; for metrics use metric_names, resources", false},
		{"the span processor in a logs pipeline", strings.NewReplacer("processors:\n  batch:", "processors:\n  span: {status: {code: Ok}}\n  batch:", "    logs:\n      receivers: [otlp]\n", "    logs:\n      receivers: [otlp]\n      processors: [span]\n").Replace(base),
			"processor span does not process logs; it processes: traces", false},
	}
	for i, c := range cases {
		path := fmt.Sprintf("%s/config%d.yaml", dir, i)
		if err := os.WriteFile(path, []byte(c.config), 0o600); err != nil {
			t.Fatal(err)
		}
		summary, err := extension.CheckConfig(path, func(string) string { return "" })
		switch {
		case c.ok && (err != nil || !strings.Contains(summary, c.want)):
			t.Errorf("%s: error %v, summary\n%s\nwant it to contain %q", c.name, err, summary, c.want)
		case !c.ok && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
}
