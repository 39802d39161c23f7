package extension_test

import (
	"sort"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// metricsNamed returns the metrics of that name that reached the sink.
func metricsNamed(md []pmetric.Metrics, name string) []pmetric.Metric {
	var out []pmetric.Metric
	for _, m := range md {
		for _, rm := range m.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, x := range sm.Metrics().All() {
					if x.Name() == name {
						out = append(out, x)
					}
				}
			}
		}
	}
	return out
}

// TestFilterProcessor runs the filter processor in the sandbox, one
// processor in the three pipelines, with the three ways of writing
// conditions and with the include/exclude match form: a span and two log
// records of every invocation are dropped, and the function's counter
// (by its data points with conditions, so that the metric itself is
// dropped; by name with the match form); the rest arrives.
func TestFilterProcessor(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, options string }{
		{"conditions", `    error_mode: ignore
    trace_conditions:
      - 'span.name == "child-1"'
      - 'resource.attributes["service.name"] == "not-this-function"'
    metrics:
      datapoint:
        - 'metric.name == "fixture.invocations" and attributes["request_id"] != nil'
    log_conditions:
      - context: log
        conditions:
          - 'IsMatch(body, "^log [02]$") and severity_number == SEVERITY_NUMBER_INFO'`},
		{"include/exclude", `    spans:
      include:
        match_type: regexp
        span_names: ['^(handler|child-)']
      exclude:
        match_type: strict
        attributes:
          - key: index
            value: 1
    metrics:
      exclude:
        match_type: regexp
        metric_names: ['^fixture\.']
    logs:
      include:
        match_type: strict
        severity_number:
          min: INFO
      exclude:
        match_type: regexp
        bodies: ['^log [02]$']`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := withProcessor(t, "filter/noise", c.options, "traces", "metrics", "logs")
			e := startEnv(t, envOptions{protocol: "http/protobuf", config: cfg})
			for k := range 2 {
				if res := e.invoke(t, `{"spans":3,"logs":3}`); res.Error != nil {
					t.Fatalf("invocation %d: %v", k, res.Error)
				}
			}
			e.sb.Shutdown()
			var names []string
			for _, s := range e.sink.Spans() {
				names = append(names, s.Name)
			}
			sort.Strings(names)
			if got, want := strings.Join(names, ","), "child-0,child-0,child-2,child-2,handler,handler"; got != want {
				t.Errorf("spans at the backend: %s, want %s", got, want)
			}
			var bodies []string
			for _, lr := range logRecords(e.sink) {
				bodies = append(bodies, lr.body)
			}
			if got, want := strings.Join(bodies, ","), "log 1,log 1"; got != want {
				t.Errorf("log records at the backend: %s, want %s", got, want)
			}
			if ms := metricsNamed(e.sink.Metrics(), "fixture.invocations"); len(ms) != 0 {
				t.Errorf("fixture.invocations arrived %d times although it was filtered out", len(ms))
			}
			for _, md := range e.sink.Metrics() {
				if md.DataPointCount() == 0 {
					t.Errorf("an empty metrics request reached the backend: %d resources", md.ResourceMetrics().Len())
				}
			}
		})
	}
}

// TestTransformProcessor runs the transform processor in the sandbox with
// statements in the inferred and in the grouped form: spans renamed and
// marked, a resource attribute added, a log attribute deleted and a
// severity set where a clause holds, a data point attribute deleted and
// the metric described.
func TestTransformProcessor(t *testing.T) {
	t.Parallel()
	cfg := withProcessor(t, "transform/shape", `    trace_statements:
      - context: resource
        statements:
          - set(attributes["team"], "payments")
      - context: span
        conditions:
          - IsMatch(name, "^child-")
        statements:
          - replace_pattern(name, "^child-(\\d)$", "step $1")
          - delete_key(attributes, "index")
      - statements:
          - set(span.attributes["entry"], true) where span.name == "handler" and span.kind == SPAN_KIND_SERVER
    log_statements:
      - set(log.severity_text, "NOTICE") where log.body == "log 0"
      - delete_key(log.attributes, "faas.invocation_id")
    metric_statements:
      - set(metric.description, "invocations counted by the fixture") where metric.name == "fixture.invocations"
      - delete_key(datapoint.attributes, "request_id")`, "traces", "metrics", "logs")
	e := startEnv(t, envOptions{protocol: "http/protobuf", config: cfg})
	for k := range 2 {
		if res := e.invoke(t, `{"spans":2,"logs":2}`); res.Error != nil {
			t.Fatalf("invocation %d: %v", k, res.Error)
		}
	}
	e.sb.Shutdown()
	var names []string
	for _, s := range e.sink.Spans() {
		names = append(names, s.Name)
		if s.Resource["team"] != "payments" {
			t.Errorf("span %s: resource %v lacks team=payments", s.Name, s.Resource)
		}
		if _, ok := s.Attributes["index"]; ok {
			t.Errorf("span %s kept index: %v", s.Name, s.Attributes)
		}
		if entry, _ := s.Attributes["entry"].(bool); entry != (s.Name == "handler") {
			t.Errorf("span %s: entry=%v", s.Name, s.Attributes["entry"])
		}
	}
	sort.Strings(names)
	if got, want := strings.Join(names, ","), "handler,handler,step 0,step 0,step 1,step 1"; got != want {
		t.Errorf("spans at the backend: %s, want %s", got, want)
	}
	lrs := logRecords(e.sink)
	if len(lrs) != 4 {
		t.Fatalf("%d log records at the backend, want 4", len(lrs))
	}
	for _, lr := range lrs {
		if _, ok := lr.attrs["faas.invocation_id"]; ok {
			t.Errorf("log record %q kept faas.invocation_id", lr.body)
		}
		if want := map[bool]string{true: "NOTICE", false: ""}[lr.body == "log 0"]; lr.severityText != want {
			t.Errorf("log record %q: severity text %q, want %q", lr.body, lr.severityText, want)
		}
	}
	ms := metricsNamed(e.sink.Metrics(), "fixture.invocations")
	if len(ms) == 0 {
		t.Fatal("fixture.invocations did not arrive")
	}
	for _, m := range ms {
		if m.Description() != "invocations counted by the fixture" {
			t.Errorf("description %q", m.Description())
		}
		for _, dp := range m.Sum().DataPoints().All() {
			if _, ok := dp.Attributes().Get("request_id"); ok {
				t.Errorf("a data point kept request_id: %v", dp.Attributes().AsRaw())
			}
		}
	}
}
