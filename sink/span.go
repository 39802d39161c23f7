package sink

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Span is one received span with its resource and scope, in plain Go values
// that are easy to assert on. Attribute maps hold the values of
// pcommon.Value.AsRaw: string, int64, float64, bool, []byte, []any and
// map[string]any. Each Span has maps of its own.
type Span struct {
	Resource map[string]any // attributes of the resource, such as "service.name"
	Scope    string         // name of the instrumentation scope

	TraceID      pcommon.TraceID
	SpanID       pcommon.SpanID
	ParentSpanID pcommon.SpanID // empty (IsEmpty) for a root span
	Name         string
	Kind         ptrace.SpanKind
	Start, End   time.Time
	Attributes   map[string]any

	Status        ptrace.StatusCode
	StatusMessage string

	Events []Event
	Links  []Link
}

// Duration returns End - Start.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// Event is an event of a Span, such as an "exception".
type Event struct {
	Name       string
	Time       time.Time
	Attributes map[string]any
}

// Link is a link from a Span to another span.
type Link struct {
	TraceID    pcommon.TraceID
	SpanID     pcommon.SpanID
	Attributes map[string]any
}

// Spans returns every span received so far, request by request in the order
// the requests were accepted, and within a request in the order it held them.
func (s *Sink) Spans() []Span {
	return spansOf(s.Traces())
}

// spansOf flattens traces into Spans.
func spansOf(traces []ptrace.Traces) []Span {
	var out []Span
	for _, td := range traces {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					out = append(out, newSpan(rs.Resource().Attributes(), ss.Scope().Name(), sp))
				}
			}
		}
	}
	return out
}

func newSpan(resource pcommon.Map, scope string, sp ptrace.Span) Span {
	s := Span{
		Resource:      resource.AsRaw(),
		Scope:         scope,
		TraceID:       sp.TraceID(),
		SpanID:        sp.SpanID(),
		ParentSpanID:  sp.ParentSpanID(),
		Name:          sp.Name(),
		Kind:          sp.Kind(),
		Start:         sp.StartTimestamp().AsTime(),
		End:           sp.EndTimestamp().AsTime(),
		Attributes:    sp.Attributes().AsRaw(),
		Status:        sp.Status().Code(),
		StatusMessage: sp.Status().Message(),
	}
	for _, e := range sp.Events().All() {
		s.Events = append(s.Events, Event{Name: e.Name(), Time: e.Timestamp().AsTime(), Attributes: e.Attributes().AsRaw()})
	}
	for _, l := range sp.Links().All() {
		s.Links = append(s.Links, Link{TraceID: l.TraceID(), SpanID: l.SpanID(), Attributes: l.Attributes().AsRaw()})
	}
	return s
}
