package filterprocessor

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// BenchmarkFilterTraces measures dropping health checks from a batch of
// 100 spans (one in ten is a health check) with two conditions; each
// iteration first copies the batch, which "copy only" measures alone.
func BenchmarkFilterTraces(b *testing.B) {
	p, err := decodeOptions("    trace_conditions:\n      - 'span.attributes[\"http.route\"] == \"/health\"'\n      - 'IsMatch(span.name, \"^GET /(ready|live)\")'")
	if err != nil {
		b.Fatal(err)
	}
	batch := ptrace.NewTraces()
	ss := batch.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := range 100 {
		sp := ss.Spans().AppendEmpty()
		sp.SetName("GET /orders")
		sp.Attributes().PutStr("http.route", "/orders")
		if i%10 == 0 {
			sp.Attributes().PutStr("http.route", "/health")
		}
	}
	for _, filter := range []bool{false, true} {
		name := map[bool]string{false: "copy only", true: "copy and filter"}[filter]
		b.Run(name, func(b *testing.B) {
			td := ptrace.NewTraces()
			for b.Loop() {
				batch.CopyTo(td)
				if !filter {
					continue
				}
				if err := p.ProcessTraces(context.Background(), td); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/span")
		})
	}
}
