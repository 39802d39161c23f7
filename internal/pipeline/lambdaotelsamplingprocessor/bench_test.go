package lambdaotelsamplingprocessor

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// BenchmarkInvocation measures deciding one invocation of 100 spans (a
// root naming it, 99 descendants, up to 10 deep) at the flush after its
// end, as the end strategy flushes. The sub-benchmark "build" makes the
// spans only: the processor's cost is the difference.
func BenchmarkInvocation(b *testing.B) {
	b.Run("build", func(b *testing.B) { benchInvocation(b, false) })
	b.Run("build+decide", func(b *testing.B) { benchInvocation(b, true) })
}

func benchInvocation(b *testing.B, decide bool) {
	pr, err := New(&Config{Errors: true, Timeouts: true, ColdStarts: true, Percentage: 10})
	if err != nil {
		b.Fatal(err)
	}
	p := pr.(*Processor)
	ctx := processor.WithFlush(context.Background(), "traces", false)
	n := 0
	for b.Loop() {
		n++
		id := fmt.Sprintf("req-%d", n)
		var tid pcommon.TraceID
		tid[0], tid[1], tid[15] = byte(n>>8), byte(n), byte(n*7)
		td := ptrace.NewTraces()
		spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
		for i := range 100 {
			sp := spans.AppendEmpty()
			sp.SetTraceID(tid)
			sp.SetSpanID(pcommon.SpanID{byte(i + 1)})
			if i == 0 {
				sp.Attributes().PutStr("faas.invocation_id", id)
			} else {
				sp.SetParentSpanID(pcommon.SpanID{byte(max(1, i-9))})
			}
			sp.SetName("work")
		}
		if !decide {
			continue
		}
		p.EndInvocation(processor.Invocation{RequestID: id, TraceID: tid, Status: processor.StatusSuccess})
		if err := p.ProcessTraces(ctx, td); err != nil {
			b.Fatal(err)
		}
	}
}
