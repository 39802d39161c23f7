package engine

import "go.opentelemetry.io/collector/pdata/ptrace"

// maxRequestSpans bounds the spans of one export request: X-Ray's OTLP
// endpoint refuses a request of more than 10,000 spans as a whole, which
// small spans reach well within maxRequestBytes. Other backends only get
// one more request per 10,000 spans.
const maxRequestSpans = 10000

// splitSpans cuts td into requests of at most max spans, each keeping its
// spans' resource and scope. td is returned as it is when it is small
// enough; otherwise the spans are copied.
func splitSpans(td ptrace.Traces, max int) []ptrace.Traces {
	if max <= 0 || td.SpanCount() <= max {
		return []ptrace.Traces{td}
	}
	var out []ptrace.Traces
	cur, n := ptrace.NewTraces(), 0
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		var dstRS ptrace.ResourceSpans
		hasRS := false
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			var dstSS ptrace.ScopeSpans
			hasSS := false
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				if n == max {
					out = append(out, cur)
					cur, n = ptrace.NewTraces(), 0
					hasRS, hasSS = false, false
				}
				if !hasRS {
					dstRS = cur.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(dstRS.Resource())
					dstRS.SetSchemaUrl(rs.SchemaUrl())
					hasRS = true
				}
				if !hasSS {
					dstSS = dstRS.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(dstSS.Scope())
					dstSS.SetSchemaUrl(ss.SchemaUrl())
					hasSS = true
				}
				spans.At(k).CopyTo(dstSS.Spans().AppendEmpty())
				n++
			}
		}
	}
	if n > 0 {
		out = append(out, cur)
	}
	return out
}
