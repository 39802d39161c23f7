package engine

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
)

// TestPartsBytes checks that parts, the one place where a batch is cut
// into requests (the exporters do not cut again), keeps every request of
// each signal within maxRequestBytes and loses nothing.
func TestPartsBytes(t *testing.T) {
	big := strings.Repeat("x", 1000)
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	md := pmetric.NewMetrics()
	gauge := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints()
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	const n = 9000 // about 9 MB of each signal
	for range n {
		spans.AppendEmpty().SetName(big)
		gauge.AppendEmpty().Attributes().PutStr("k", big)
		records.AppendEmpty().Body().SetStr(big)
	}
	cases := []struct {
		signal pipeline.Signal
		batch  buffer.Batch
		size   func(part) int
	}{
		{pipeline.Traces, buffer.Batch{Traces: td}, func(p part) int { return (&ptrace.ProtoMarshaler{}).TracesSize(p.td) }},
		{pipeline.Metrics, buffer.Batch{Metrics: md}, func(p part) int { return (&pmetric.ProtoMarshaler{}).MetricsSize(p.md) }},
		{pipeline.Logs, buffer.Batch{Logs: ld}, func(p part) int { return (&plog.ProtoMarshaler{}).LogsSize(p.ld) }},
	}
	for _, c := range cases {
		t.Run(string(c.signal), func(t *testing.T) {
			ps := parts(c.signal, c.batch)
			if len(ps) < 2 {
				t.Fatalf("%d requests, want several", len(ps))
			}
			var total int64
			for _, p := range ps {
				if s := c.size(p); s > maxRequestBytes {
					t.Errorf("a request of %d bytes, over %d", s, maxRequestBytes)
				}
				total += p.items()
			}
			if total != n {
				t.Errorf("%d items in the requests, want %d", total, n)
			}
		})
	}
}
