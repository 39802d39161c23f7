package engine

import (
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
)

// TestSplitSpans checks that no request carries more than
// maxRequestSpans spans, and that every span keeps its resource and scope.
func TestSplitSpans(t *testing.T) {
	td := ptrace.NewTraces()
	for r, counts := range [][]int{{7000, 5000}, {8001}} {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprint("svc", r))
		for s, c := range counts {
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(fmt.Sprintf("scope%d.%d", r, s))
			for i := range c {
				ss.Spans().AppendEmpty().SetName(fmt.Sprintf("svc%d scope%d.%d %d", r, r, s, i))
			}
		}
	}
	ps := parts(pipeline.Traces, buffer.Batch{Traces: td})
	var sizes []int
	total := 0
	for _, p := range ps {
		n := p.td.SpanCount()
		sizes = append(sizes, n)
		total += n
		if n > maxRequestSpans {
			t.Errorf("a request of %d spans", n)
		}
		rss := p.td.ResourceSpans()
		for i := range rss.Len() {
			svc, _ := rss.At(i).Resource().Attributes().Get("service.name")
			sss := rss.At(i).ScopeSpans()
			for j := range sss.Len() {
				scope := sss.At(j).Scope().Name()
				spans := sss.At(j).Spans()
				for k := range spans.Len() {
					var r, r2, s, x int
					if _, err := fmt.Sscanf(spans.At(k).Name(), "svc%d scope%d.%d %d", &r, &r2, &s, &x); err != nil {
						t.Fatalf("span name %q: %v", spans.At(k).Name(), err)
					}
					if svc.Str() != fmt.Sprint("svc", r) || scope != fmt.Sprintf("scope%d.%d", r, s) {
						t.Fatalf("span %s is under %s/%s", spans.At(k).Name(), svc.Str(), scope)
					}
				}
			}
		}
	}
	if total != 20001 || len(ps) != 3 {
		t.Errorf("requests of %v spans; want 3 requests, 20001 spans in all", sizes)
	}
	small := ptrace.NewTraces()
	small.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	if got := splitSpans(small, maxRequestSpans); len(got) != 1 {
		t.Errorf("a small batch became %d requests", len(got))
	}
}
