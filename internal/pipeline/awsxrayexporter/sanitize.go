package awsxrayexporter

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Limits are what X-Ray's OTLP endpoint accepts of each span and request
// (CloudWatch documentation, "OTLP Endpoints", endpoint limits and
// restrictions).
type Limits struct {
	// SpanBytes is the largest span (200 KB; "spans more than 200KB will
	// be rejected").
	SpanBytes int
	// Past and Future bound a span's start time around now (14 days in
	// the past, 2 hours in the future: "none of the spans in the batch
	// can be" outside them).
	Past, Future time.Duration
	// Gap is the most time between the start times of the spans of one
	// request (24 hours).
	Gap time.Duration
	// ValueBytes is what a string attribute value is cut to when a span
	// is too large (a lambdaotel choice: keeps the start of stack traces
	// and SQL statements, which are what make spans large).
	ValueBytes int
}

// DefaultLimits are the endpoint's documented limits. SpanBytes is 200 KB
// counted in thousands, the smaller reading.
var DefaultLimits = Limits{SpanBytes: 200_000, Past: 14 * 24 * time.Hour, Future: 2 * time.Hour, Gap: 24 * time.Hour, ValueBytes: 4096}

// Marks are what Sanitize adds to the data for X-Ray: the awsxray
// exporter's aws_log_groups, indexed_attributes and index_all_attributes.
type Marks struct {
	// LogGroups become aws.log.group.names of each resource that has
	// neither it nor aws.log.group.arns.
	LogGroups []string
	// Indexed are attribute keys that, on a span that has them with a
	// string, number or bool value, are listed in the span's
	// aws.xray.annotations, which X-Ray turns into annotations (indexed);
	// IndexAll lists every such attribute of every span.
	Indexed  []string
	IndexAll bool
}

// AnnotationsKey is the span attribute listing the keys of the attributes
// X-Ray makes annotations; the others become metadata.
const AnnotationsKey = "aws.xray.annotations"

// Reasons a span is taken out.
const (
	ReasonInvalidID = "invalid trace or span id (all zeros)"
	ReasonTooOld    = "start time more than 14 days ago"
	ReasonFuture    = "start time more than 2 hours ahead"
	ReasonTooLarge  = "larger than 200 KB even with its attribute values cut and its events and links dropped"
)

// Report says what Sanitize changed.
type Report struct {
	// Removed counts the spans taken out, by reason (the Reason constants).
	Removed map[string]int64
	// TruncatedValues counts string attribute values cut to
	// Limits.ValueBytes; DroppedEvents and DroppedLinks the events and
	// links removed (added to the span's dropped_events_count and
	// dropped_links_count, as OTLP records such losses).
	TruncatedValues, DroppedEvents, DroppedLinks int64
	// Requests is how many requests the spans were parted into by start
	// time (more than one when they span more than Limits.Gap).
	Requests int
}

// Dropped is the number of spans taken out.
func (r Report) Dropped() int64 {
	var n int64
	for _, c := range r.Removed {
		n += c
	}
	return n
}

// Fixed is the number of changes made to spans that were kept.
func (r Report) Fixed() int64 { return r.TruncatedValues + r.DroppedEvents + r.DroppedLinks }

// String lists the spans taken out by reason.
func (r Report) String() string {
	reasons := make([]string, 0, len(r.Removed))
	for k := range r.Removed {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	parts := make([]string, 0, len(reasons))
	for _, k := range reasons {
		parts = append(parts, fmt.Sprintf("%d: %s", r.Removed[k], k))
	}
	return strings.Join(parts, ", ")
}

// Sanitize prepares td for X-Ray's OTLP endpoint at time now. Resources
// without aws.log.group.names and aws.log.group.arns get logGroups as
// aws.log.group.names (the awsxray exporter's aws_log_groups). A span too
// large gets its long string values cut, then loses its events, then its
// links; spans that still cannot be sent (see the Reason constants) are
// taken out, and the rest is parted into requests whose start times lie
// within Limits.Gap. td itself is changed only in ways that keep every
// span (log groups, cut values, dropped events and links), so that when
// the export is tried again the spans taken out are counted again. The
// parts share no data with td when spans were taken out.
func Sanitize(td ptrace.Traces, m Marks, l Limits, now time.Time) ([]ptrace.Traces, Report) {
	logGroups := m.LogGroups
	rep := Report{Removed: map[string]int64{}}
	if td.SpanCount() == 0 {
		return nil, rep
	}
	oldest := pcommon.NewTimestampFromTime(now.Add(-l.Past))
	newest := pcommon.NewTimestampFromTime(now.Add(l.Future))
	remove := map[ptrace.Span]string{}
	var first, last pcommon.Timestamp
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		if len(logGroups) > 0 {
			attrs := rs.Resource().Attributes()
			_, hasNames := attrs.Get("aws.log.group.names")
			_, hasARNs := attrs.Get("aws.log.group.arns")
			if !hasNames && !hasARNs {
				s := attrs.PutEmptySlice("aws.log.group.names")
				for _, g := range logGroups {
					s.AppendEmpty().SetStr(g)
				}
			}
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				if m.IndexAll || len(m.Indexed) > 0 {
					annotate(sp.Attributes(), m)
				}
				reason := ""
				switch start := sp.StartTimestamp(); {
				case sp.TraceID().IsEmpty() || sp.SpanID().IsEmpty():
					reason = ReasonInvalidID
				case start < oldest:
					reason = ReasonTooOld
				case start > newest:
					reason = ReasonFuture
				case !fit(sp, l, &rep):
					reason = ReasonTooLarge
				default:
					if first == 0 || start < first {
						first = start
					}
					if start > last {
						last = start
					}
				}
				if reason != "" {
					remove[sp] = reason
					rep.Removed[reason]++
				}
			}
		}
	}
	if len(remove) == 0 && time.Duration(last-first) <= l.Gap {
		rep.Requests = 1
		return []ptrace.Traces{td}, rep
	}
	// Copy what is kept into one Traces per window of Gap from the
	// first start time.
	windows := map[int64]ptrace.Traces{}
	var order []int64
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			spans := ss.Spans()
			dst := map[int64]ptrace.SpanSlice{}
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				if _, gone := remove[sp]; gone {
					continue
				}
				w := int64(0)
				if l.Gap > 0 {
					w = int64(time.Duration(sp.StartTimestamp()-first) / l.Gap)
				}
				out, ok := dst[w]
				if !ok {
					part, seen := windows[w]
					if !seen {
						part = ptrace.NewTraces()
						windows[w] = part
						order = append(order, w)
					}
					nrs := part.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(nrs.Resource())
					nrs.SetSchemaUrl(rs.SchemaUrl())
					nss := nrs.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(nss.Scope())
					nss.SetSchemaUrl(ss.SchemaUrl())
					out = nss.Spans()
					dst[w] = out
				}
				sp.CopyTo(out.AppendEmpty())
			}
		}
	}
	sort.Slice(order, func(a, b int) bool { return order[a] < order[b] })
	parts := make([]ptrace.Traces, 0, len(order))
	for _, w := range order {
		parts = append(parts, windows[w])
	}
	rep.Requests = len(parts)
	return parts, rep
}

// annotate lists in attrs' aws.xray.annotations the keys m indexes that
// attrs has with a value X-Ray annotations allow, after those already
// listed.
func annotate(attrs pcommon.Map, m Marks) {
	var listed []string
	if v, ok := attrs.Get(AnnotationsKey); ok && v.Type() == pcommon.ValueTypeSlice {
		for i := 0; i < v.Slice().Len(); i++ {
			listed = append(listed, v.Slice().At(i).AsString())
		}
	}
	n := len(listed)
	add := func(k string, v pcommon.Value) {
		switch v.Type() {
		case pcommon.ValueTypeStr, pcommon.ValueTypeInt, pcommon.ValueTypeDouble, pcommon.ValueTypeBool:
		default:
			return
		}
		for _, x := range listed {
			if x == k {
				return
			}
		}
		listed = append(listed, k)
	}
	if m.IndexAll {
		attrs.Range(func(k string, v pcommon.Value) bool {
			if k != AnnotationsKey {
				add(k, v)
			}
			return true
		})
	} else {
		for _, k := range m.Indexed {
			if v, ok := attrs.Get(k); ok {
				add(k, v)
			}
		}
	}
	if len(listed) == n {
		return
	}
	s := attrs.PutEmptySlice(AnnotationsKey)
	for _, k := range listed {
		s.AppendEmpty().SetStr(k)
	}
}

// fit makes sp no larger than l.SpanBytes, cutting its string values,
// then dropping its events, then its links, and reports whether it fits.
func fit(sp ptrace.Span, l Limits, rep *Report) bool {
	if l.SpanBytes <= 0 || estimate(sp) <= l.SpanBytes || exactSize(sp) <= l.SpanBytes {
		return true
	}
	rep.TruncatedValues += cutValues(sp.Attributes(), l.ValueBytes)
	for i := 0; i < sp.Events().Len(); i++ {
		rep.TruncatedValues += cutValues(sp.Events().At(i).Attributes(), l.ValueBytes)
	}
	for i := 0; i < sp.Links().Len(); i++ {
		rep.TruncatedValues += cutValues(sp.Links().At(i).Attributes(), l.ValueBytes)
	}
	if exactSize(sp) <= l.SpanBytes {
		return true
	}
	if n := sp.Events().Len(); n > 0 {
		sp.SetDroppedEventsCount(sp.DroppedEventsCount() + uint32(n))
		sp.Events().RemoveIf(func(ptrace.SpanEvent) bool { return true })
		rep.DroppedEvents += int64(n)
		if exactSize(sp) <= l.SpanBytes {
			return true
		}
	}
	if n := sp.Links().Len(); n > 0 {
		sp.SetDroppedLinksCount(sp.DroppedLinksCount() + uint32(n))
		sp.Links().RemoveIf(func(ptrace.SpanLink) bool { return true })
		rep.DroppedLinks += int64(n)
	}
	return exactSize(sp) <= l.SpanBytes
}

// cutValues cuts the string values of m (and of the maps and slices in
// it) longer than n bytes to n bytes, on a UTF-8 boundary, and returns how
// many it cut.
func cutValues(m pcommon.Map, n int) int64 {
	var cut int64
	m.Range(func(_ string, v pcommon.Value) bool {
		cut += cutValue(v, n)
		return true
	})
	return cut
}

func cutValue(v pcommon.Value, n int) int64 {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		s := v.Str()
		if len(s) <= n {
			return 0
		}
		i := n
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		v.SetStr(s[:i])
		return 1
	case pcommon.ValueTypeBytes:
		if b := v.Bytes(); b.Len() > n {
			raw := append([]byte(nil), b.AsRaw()[:n]...)
			v.SetEmptyBytes().FromRaw(raw)
			return 1
		}
	case pcommon.ValueTypeMap:
		return cutValues(v.Map(), n)
	case pcommon.ValueTypeSlice:
		var cut int64
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			cut += cutValue(s.At(i), n)
		}
		return cut
	}
	return 0
}

// estimate is an upper bound of sp's size as protobuf: every attribute
// counted with a generous overhead. It is exact enough to skip measuring
// nearly every span.
func estimate(sp ptrace.Span) int {
	n := 128 + len(sp.Name()) + len(sp.TraceState().AsRaw()) + len(sp.Status().Message()) + mapSize(sp.Attributes())
	for i := 0; i < sp.Events().Len(); i++ {
		ev := sp.Events().At(i)
		n += 32 + len(ev.Name()) + mapSize(ev.Attributes())
	}
	for i := 0; i < sp.Links().Len(); i++ {
		lk := sp.Links().At(i)
		n += 64 + len(lk.TraceState().AsRaw()) + mapSize(lk.Attributes())
	}
	return n
}

func mapSize(m pcommon.Map) int {
	n := 0
	m.Range(func(k string, v pcommon.Value) bool {
		n += 16 + len(k) + valueSize(v)
		return true
	})
	return n
}

func valueSize(v pcommon.Value) int {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return 8 + len(v.Str())
	case pcommon.ValueTypeBytes:
		return 8 + v.Bytes().Len()
	case pcommon.ValueTypeMap:
		return 8 + mapSize(v.Map())
	case pcommon.ValueTypeSlice:
		n := 8
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			n += 8 + valueSize(s.At(i))
		}
		return n
	}
	return 16
}

var sizer = &ptrace.ProtoMarshaler{}

// exactSize is sp's size as protobuf, measured in a request of its own
// (the few bytes of the request's envelope included).
func exactSize(sp ptrace.Span) int {
	td := ptrace.NewTraces()
	sp.CopyTo(td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty())
	return sizer.TracesSize(td)
}
