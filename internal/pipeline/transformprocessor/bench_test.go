package transformprocessor

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// BenchmarkTransformTraces measures three statements of the upstream
// example (keep_keys, replace_pattern with a where clause, truncate_all)
// on a batch of 100 spans with five attributes each; each iteration first
// copies the batch, which "copy only" measures alone.
func BenchmarkTransformTraces(b *testing.B) {
	p, err := decodeOptions("    trace_statements:\n" +
		"      - keep_keys(span.attributes, [\"http.route\", \"process.command_line\", \"db.statement\"])\n" +
		"      - replace_pattern(span.attributes[\"process.command_line\"], \"password=[^\\\\s]*\", \"password=***\") where span.kind == SPAN_KIND_SERVER\n" +
		"      - truncate_all(span.attributes, 64)")
	if err != nil {
		b.Fatal(err)
	}
	batch := ptrace.NewTraces()
	ss := batch.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for range 100 {
		sp := ss.Spans().AppendEmpty()
		sp.SetName("GET /orders")
		sp.SetKind(ptrace.SpanKindServer)
		a := sp.Attributes()
		a.PutStr("http.route", "/orders")
		a.PutStr("process.command_line", "app --password=hunter2 --verbose")
		a.PutStr("db.statement", "SELECT * FROM orders WHERE customer_id = 12345 AND status = 'open' ORDER BY created_at")
		a.PutStr("user.id", "u-1")
		a.PutInt("http.response.status_code", 200)
	}
	for _, run := range []bool{false, true} {
		name := map[bool]string{false: "copy only", true: "copy and transform"}[run]
		b.Run(name, func(b *testing.B) {
			td := ptrace.NewTraces()
			for b.Loop() {
				batch.CopyTo(td)
				if !run {
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
