package extension_test

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// TestAttributesProcessor runs the attributes processor's delete action in
// the sandbox, one processor in the three pipelines: by key on spans and
// log records, by pattern on data points; the other attributes arrive.
func TestAttributesProcessor(t *testing.T) {
	t.Parallel()
	cfg := strings.Replace(defaultConfig, "processors:\n  batch:", `processors:
  attributes/scrub:
    actions:
      - key: fixture.item
        action: delete
      - key: faas.invocation_id
        action: delete
      - pattern: ^request_
        action: delete
  batch:`, 1)
	cfg = strings.Replace(cfg, "processors: [batch, resource]", "processors: [batch, attributes/scrub, resource]", 1)
	cfg = strings.Replace(cfg, "    metrics:\n      receivers: [otlp]\n", "    metrics:\n      receivers: [otlp]\n      processors: [attributes/scrub]\n", 1)
	cfg = strings.Replace(cfg, "    logs:\n      receivers: [otlp]\n", "    logs:\n      receivers: [otlp]\n      processors: [attributes/scrub]\n", 1)
	if strings.Count(cfg, "attributes/scrub") != 4 {
		t.Fatalf("the configuration was not made:\n%s", cfg)
	}
	e := startEnv(t, envOptions{protocol: "http/protobuf", config: cfg})
	const children, logs = 3, 2
	for k := range 2 {
		if res := e.invoke(t, `{"spans":3,"logs":2}`); res.Error != nil {
			t.Fatalf("invocation %d: %v", k, res.Error)
		}
	}
	e.sb.Shutdown()
	spans := e.sink.Spans()
	if len(spans) != 2*(children+1) {
		t.Fatalf("%d spans at the backend, want %d", len(spans), 2*(children+1))
	}
	for _, s := range spans {
		if _, ok := s.Attributes["fixture.item"]; ok {
			t.Errorf("span %s kept fixture.item: %v", s.Name, s.Attributes)
		}
		if _, ok := s.Attributes["faas.invocation_id"]; ok {
			t.Errorf("span %s kept faas.invocation_id: %v", s.Name, s.Attributes)
		}
		if _, ok := s.Attributes["index"]; strings.HasPrefix(s.Name, "child-") && !ok {
			t.Errorf("span %s lost the attribute index, which is not deleted: %v", s.Name, s.Attributes)
		}
		if s.Resource["deployment.environment.name"] != "test" {
			t.Errorf("span %s: resource %v lacks the resource processor's attribute", s.Name, s.Resource)
		}
	}
	if got := e.sink.LogRecordCount(); got != 2*logs {
		t.Fatalf("%d log records at the backend, want %d", got, 2*logs)
	}
	for _, ld := range e.sink.Logs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					if _, ok := lr.Attributes().Get("faas.invocation_id"); ok {
						t.Errorf("log record %q kept faas.invocation_id", lr.Body().AsString())
					}
				}
			}
		}
	}
	counted := 0
	for _, md := range e.sink.Metrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Type() != pmetric.MetricTypeSum {
						continue
					}
					for _, dp := range m.Sum().DataPoints().All() {
						if _, ok := dp.Attributes().Get("request_id"); ok {
							t.Errorf("data point of %s kept request_id: %v", m.Name(), dp.Attributes().AsRaw())
						}
						counted++
					}
				}
			}
		}
	}
	if counted == 0 {
		t.Error("no sum data points at the backend")
	}
}
