package sink_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/sink"
)

// spanSpec describes a span for printTestTraces.
type spanSpec struct {
	trace, id, parent byte // IDs are these bytes repeated
	name              string
	kind              ptrace.SpanKind
	start, dur        time.Duration // from t0
	status            ptrace.StatusCode
	message           string
	attrs             map[string]any
	events, links     int
}

func id8(b byte) pcommon.SpanID {
	if b == 0 {
		return pcommon.SpanID{}
	}
	return pcommon.SpanID(bytes.Repeat([]byte{b}, 8))
}

// tracesOf returns traces with one resource of service holding specs.
func tracesOf(service string, specs ...spanSpec) ptrace.Traces {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	ss := rs.ScopeSpans().AppendEmpty()
	for _, sp := range specs {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(pcommon.TraceID(bytes.Repeat([]byte{sp.trace}, 16)))
		s.SetSpanID(id8(sp.id))
		s.SetParentSpanID(id8(sp.parent))
		s.SetName(sp.name)
		s.SetKind(sp.kind)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(t0.Add(sp.start)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(sp.start + sp.dur)))
		s.Status().SetCode(sp.status)
		s.Status().SetMessage(sp.message)
		if err := s.Attributes().FromRaw(sp.attrs); err != nil {
			panic(err)
		}
		for range sp.events {
			s.Events().AppendEmpty().SetName("exception")
		}
		for i := range sp.links {
			s.Links().AppendEmpty().SetSpanID(id8(byte(0xe0 + i)))
		}
	}
	return td
}

func TestPrintTraces(t *testing.T) {
	ms := time.Millisecond
	traces := []ptrace.Traces{
		tracesOf("orders",
			spanSpec{trace: 0xaa, id: 1, name: "GET /orders", kind: ptrace.SpanKindServer, dur: 12500 * time.Microsecond,
				status: ptrace.StatusCodeOk, attrs: map[string]any{"faas.invocation_id": "req-1", "http.request.method": "GET", "other": "hidden"}},
			spanSpec{trace: 0xaa, id: 3, parent: 1, name: "cache get", kind: ptrace.SpanKindInternal, start: ms, dur: 250 * time.Microsecond},
			spanSpec{trace: 0xaa, id: 2, parent: 1, name: "SELECT orders", kind: ptrace.SpanKindClient, start: ms, dur: 3 * ms,
				status: ptrace.StatusCodeError, message: "connection refused", attrs: map[string]any{"db.system": "postgresql"}, events: 1},
			spanSpec{trace: 0xaa, id: 5, parent: 0x11, name: "retry", kind: ptrace.SpanKindInternal, start: 20 * ms, dur: ms},
			spanSpec{trace: 0xbb, id: 6, name: "init", kind: ptrace.SpanKindInternal, start: -time.Second, dur: 250 * ms,
				attrs: map[string]any{"faas.coldstart": true}},
		),
		// A later request with a span of another service in the first trace.
		tracesOf("payments",
			spanSpec{trace: 0xaa, id: 4, parent: 1, name: "charge", kind: ptrace.SpanKindServer, start: 5 * ms, dur: 2 * ms,
				attrs: map[string]any{"note": "two words"}, links: 2},
			spanSpec{trace: 0xcc, id: 7, parent: 8, name: "x", kind: ptrace.SpanKindProducer, start: 30 * ms, dur: ms},
			spanSpec{trace: 0xcc, id: 8, parent: 7, name: "y", kind: ptrace.SpanKindConsumer, start: 31 * ms, dur: ms,
				attrs: map[string]any{"messaging.system": "aws sqs"}},
			spanSpec{trace: 0xcc, id: 9, parent: 7, name: "z", kind: ptrace.SpanKindUnspecified, start: 32 * ms, dur: ms},
		),
	}
	want := `trace bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb (1 span)
  init [internal] 250.000 ms unset service.name=orders faas.coldstart=true

trace aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa (5 spans)
  GET /orders [server] 12.500 ms ok service.name=orders faas.invocation_id=req-1 http.request.method=GET
    SELECT orders [client] 3.000 ms error "connection refused" db.system=postgresql events=1
    cache get [internal] 0.250 ms unset
    charge [server] 2.000 ms unset service.name=payments links=2
  retry [internal] 1.000 ms unset service.name=orders (parent 1111111111111111 not received)

trace cccccccccccccccccccccccccccccccc (3 spans)
  x [producer] 1.000 ms unset service.name=payments (parent 0808080808080808 is in a cycle)
    y [consumer] 1.000 ms unset messaging.system="aws sqs"
    z [unspecified] 1.000 ms unset
`
	// The order of the requests, and of the spans in them, does not matter.
	reversed := []ptrace.Traces{traces[1], traces[0]}
	for _, in := range [][]ptrace.Traces{traces, reversed} {
		var buf bytes.Buffer
		if err := sink.PrintTraces(&buf, in); err != nil {
			t.Fatal(err)
		}
		if got := buf.String(); got != want {
			t.Errorf("PrintTraces printed\n%s\nwant\n%s", got, want)
		}
	}

	var buf bytes.Buffer
	if err := sink.PrintTraces(&buf, nil); err != nil || buf.Len() != 0 {
		t.Errorf("PrintTraces of nothing printed %q, %v", buf.String(), err)
	}
	if err := sink.PrintTraces(failingWriter{}, traces); err == nil {
		t.Error("PrintTraces to a failing writer returned no error")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
