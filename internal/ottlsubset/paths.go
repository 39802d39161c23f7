package ottlsubset

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// segment is one field of a path with its [keys].
type segment struct {
	name string
	pos  int
	keys []pathKey
}

type pathKey struct {
	str   string
	num   int64
	isInt bool
	pos   int
}

// pathRef is a resolved path: how to read it and, if it can be set, how
// to write it. m is non-nil when the path is a whole attribute map.
type pathRef struct {
	text string
	get  func(*Item) any
	geti func(*Item) int64 // non-nil when the path is always an int64
	set  func(*Item, any) error
	m    func(*Item) pcommon.Map
}

type pathError struct {
	pos int
	msg string
}

// field describes one path of a context: a leaf (get/set) or an attribute
// map (m), possibly with sub-fields (sub).
type field struct {
	get  func(*Item) any
	geti func(*Item) int64 // set instead of get for paths that are always an int64
	set  func(*Item, any) error
	m    func(*Item) pcommon.Map
	sub  map[string]field
}

func strGet(f func(*Item) string) func(*Item) any { return func(it *Item) any { return f(it) } }
func intGet(f func(*Item) int64) func(*Item) any  { return func(it *Item) any { return f(it) } }

func strSet(f func(*Item, string)) func(*Item, any) error {
	return func(it *Item, v any) error {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("expected string but got %T", v)
		}
		f(it, s)
		return nil
	}
}

func intSet(f func(*Item, int64)) func(*Item, any) error {
	return func(it *Item, v any) error {
		i, ok := v.(int64)
		if !ok {
			return fmt.Errorf("expected int64 but got %T", v)
		}
		f(it, i)
		return nil
	}
}

func hexID(b []byte) string { return hex.EncodeToString(b) }

func resourceFields() map[string]field {
	return map[string]field{
		"attributes": {m: func(it *Item) pcommon.Map { return it.Resource.Attributes() }},
		"dropped_attributes_count": {geti: (func(it *Item) int64 {
			return int64(it.Resource.DroppedAttributesCount())
		})},
	}
}

func scopeFields() map[string]field {
	return map[string]field{
		"name": {get: strGet(func(it *Item) string { return it.Scope.Name() }),
			set: strSet(func(it *Item, s string) { it.Scope.SetName(s) })},
		"version": {get: strGet(func(it *Item) string { return it.Scope.Version() }),
			set: strSet(func(it *Item, s string) { it.Scope.SetVersion(s) })},
		"attributes": {m: func(it *Item) pcommon.Map { return it.Scope.Attributes() }},
		"dropped_attributes_count": {geti: (func(it *Item) int64 {
			return int64(it.Scope.DroppedAttributesCount())
		})},
	}
}

func spanFields() map[string]field {
	sp := func(it *Item) ptrace.Span { return it.Span }
	return map[string]field{
		"trace_id": {sub: map[string]field{"string": {get: strGet(func(it *Item) string {
			id := sp(it).TraceID()
			return hexID(id[:])
		})}}},
		"span_id": {sub: map[string]field{"string": {get: strGet(func(it *Item) string {
			id := sp(it).SpanID()
			return hexID(id[:])
		})}}},
		"parent_span_id": {sub: map[string]field{"string": {get: strGet(func(it *Item) string {
			id := sp(it).ParentSpanID()
			return hexID(id[:])
		})}}},
		"trace_state": {get: strGet(func(it *Item) string { return sp(it).TraceState().AsRaw() }),
			set: strSet(func(it *Item, s string) { sp(it).TraceState().FromRaw(s) })},
		"name": {get: strGet(func(it *Item) string { return sp(it).Name() }),
			set: strSet(func(it *Item, s string) { sp(it).SetName(s) })},
		"kind": {geti: (func(it *Item) int64 { return int64(sp(it).Kind()) }),
			set: intSet(func(it *Item, i int64) { sp(it).SetKind(ptrace.SpanKind(i)) }),
			sub: map[string]field{"string": {get: strGet(func(it *Item) string { return sp(it).Kind().String() })}}},
		"start_time_unix_nano": {geti: (func(it *Item) int64 { return sp(it).StartTimestamp().AsTime().UnixNano() })},
		"end_time_unix_nano":   {geti: (func(it *Item) int64 { return sp(it).EndTimestamp().AsTime().UnixNano() })},
		"attributes":           {m: func(it *Item) pcommon.Map { return sp(it).Attributes() }},
		"dropped_attributes_count": {geti: (func(it *Item) int64 {
			return int64(sp(it).DroppedAttributesCount())
		})},
		"dropped_events_count": {geti: (func(it *Item) int64 { return int64(sp(it).DroppedEventsCount()) })},
		"dropped_links_count":  {geti: (func(it *Item) int64 { return int64(sp(it).DroppedLinksCount()) })},
		"status": {sub: map[string]field{
			"code": {geti: (func(it *Item) int64 { return int64(sp(it).Status().Code()) }),
				set: intSet(func(it *Item, i int64) { sp(it).Status().SetCode(ptrace.StatusCode(i)) })},
			"message": {get: strGet(func(it *Item) string { return sp(it).Status().Message() }),
				set: strSet(func(it *Item, s string) { sp(it).Status().SetMessage(s) })},
		}},
	}
}

func spanEventFields() map[string]field {
	return map[string]field{
		"name": {get: strGet(func(it *Item) string { return it.SpanEvent.Name() }),
			set: strSet(func(it *Item, s string) { it.SpanEvent.SetName(s) })},
		"time_unix_nano": {geti: (func(it *Item) int64 { return it.SpanEvent.Timestamp().AsTime().UnixNano() })},
		"attributes":     {m: func(it *Item) pcommon.Map { return it.SpanEvent.Attributes() }},
		"dropped_attributes_count": {geti: (func(it *Item) int64 {
			return int64(it.SpanEvent.DroppedAttributesCount())
		})},
	}
}

func metricFields() map[string]field {
	return map[string]field{
		"name": {get: strGet(func(it *Item) string { return it.Metric.Name() }),
			set: strSet(func(it *Item, s string) { it.Metric.SetName(s) })},
		"description": {get: strGet(func(it *Item) string { return it.Metric.Description() }),
			set: strSet(func(it *Item, s string) { it.Metric.SetDescription(s) })},
		"unit": {get: strGet(func(it *Item) string { return it.Metric.Unit() }),
			set: strSet(func(it *Item, s string) { it.Metric.SetUnit(s) })},
		"type": {geti: (func(it *Item) int64 { return int64(it.Metric.Type()) })},
	}
}

// dpAttributes returns the attributes of any kind of data point.
func dpAttributes(it *Item) pcommon.Map {
	switch dp := it.DataPoint.(type) {
	case pmetric.NumberDataPoint:
		return dp.Attributes()
	case pmetric.HistogramDataPoint:
		return dp.Attributes()
	case pmetric.ExponentialHistogramDataPoint:
		return dp.Attributes()
	case pmetric.SummaryDataPoint:
		return dp.Attributes()
	}
	panic(fmt.Sprintf("ottlsubset: Item.DataPoint holds %T, not a pmetric data point", it.DataPoint))
}

func dataPointFields() map[string]field {
	return map[string]field{
		"attributes": {m: dpAttributes},
		"value_int": {get: func(it *Item) any {
			if dp, ok := it.DataPoint.(pmetric.NumberDataPoint); ok {
				return dp.IntValue()
			}
			return nil
		}},
		"value_double": {get: func(it *Item) any {
			if dp, ok := it.DataPoint.(pmetric.NumberDataPoint); ok {
				return dp.DoubleValue()
			}
			return nil
		}},
	}
}

func logFields() map[string]field {
	return map[string]field{
		"body": {get: func(it *Item) any { return rawValue(it.Log.Body()) },
			set: func(it *Item, v any) error { return setValue(it.Log.Body(), v) },
			sub: map[string]field{"string": {get: strGet(func(it *Item) string { return it.Log.Body().AsString() })}}},
		"severity_number": {geti: (func(it *Item) int64 { return int64(it.Log.SeverityNumber()) })},
		"severity_text": {get: strGet(func(it *Item) string { return it.Log.SeverityText() }),
			set: strSet(func(it *Item, s string) { it.Log.SetSeverityText(s) })},
		"attributes": {m: func(it *Item) pcommon.Map { return it.Log.Attributes() }},
		"trace_id": {sub: map[string]field{"string": {get: strGet(func(it *Item) string {
			id := it.Log.TraceID()
			return hexID(id[:])
		})}}},
		"span_id": {sub: map[string]field{"string": {get: strGet(func(it *Item) string {
			id := it.Log.SpanID()
			return hexID(id[:])
		})}}},
		"time_unix_nano":          {geti: (func(it *Item) int64 { return it.Log.Timestamp().AsTime().UnixNano() })},
		"observed_time_unix_nano": {geti: (func(it *Item) int64 { return it.Log.ObservedTimestamp().AsTime().UnixNano() })},
		"dropped_attributes_count": {geti: (func(it *Item) int64 {
			return int64(it.Log.DroppedAttributesCount())
		})},
	}
}

// contextFields returns the fields of ctx itself, and the names of the
// higher contexts reachable from it with their fields.
func contextFields(ctx Context) (own map[string]field, higher map[string]map[string]field) {
	higher = map[string]map[string]field{"resource": resourceFields()}
	if ctx != Resource {
		higher["instrumentation_scope"] = scopeFields()
		higher["scope"] = higher["instrumentation_scope"]
	}
	switch ctx {
	case Span:
		own = spanFields()
	case SpanEvent:
		own = spanEventFields()
		higher["span"] = spanFields()
	case Metric:
		own = metricFields()
	case DataPoint:
		own = dataPointFields()
		higher["metric"] = metricFields()
	case Log:
		own = logFields()
	case Resource:
		own = resourceFields()
		delete(higher, "resource")
	case Scope:
		own = scopeFields()
		delete(higher, "scope")
		delete(higher, "instrumentation_scope")
	}
	return own, higher
}

func fieldNames(m map[string]field, prefix string) []string {
	var out []string
	for k, f := range m {
		switch {
		case f.m != nil:
			out = append(out, prefix+k, prefix+k+`["key"]`)
		case f.sub != nil:
			if f.get != nil || f.geti != nil {
				out = append(out, prefix+k)
			}
			out = append(out, fieldNames(f.sub, prefix+k+".")...)
		default:
			out = append(out, prefix+k)
		}
	}
	sort.Strings(out)
	return out
}

// supportedPaths lists the paths of ctx for error messages.
func supportedPaths(ctx Context) string {
	own, higher := contextFields(ctx)
	names := fieldNames(own, "")
	var hs []string
	for h := range higher {
		hs = append(hs, h)
	}
	sort.Strings(hs)
	for _, h := range hs {
		names = append(names, fieldNames(higher[h], h+".")...)
	}
	return strings.Join(names, ", ")
}

// resolvePath resolves the segments of a path in ctx. A leading segment
// naming ctx itself (span.name in the span context) is OTTL's explicit
// context prefix and is dropped.
func resolvePath(ctx Context, segs []segment) (*pathRef, *pathError) {
	own, higher := contextFields(ctx)
	fields := own
	if len(segs) > 1 && len(segs[0].keys) == 0 {
		if segs[0].name == string(ctx) {
			segs = segs[1:]
		} else if h, ok := higher[segs[0].name]; ok {
			fields = h
			segs = segs[1:]
		}
	}
	unknown := func(s segment) *pathError {
		return &pathError{pos: s.pos, msg: fmt.Sprintf("unsupported path field %q in the %s context; supported paths: %s", s.name, ctx, supportedPaths(ctx))}
	}
	for i, s := range segs {
		f, ok := fields[s.name]
		if !ok {
			return nil, unknown(s)
		}
		last := i == len(segs)-1
		if f.m != nil {
			if !last {
				return nil, unknown(segs[i+1])
			}
			return mapPath(f.m, s)
		}
		if len(s.keys) > 0 {
			return nil, &pathError{pos: s.keys[0].pos, msg: fmt.Sprintf("path field %q cannot be indexed", s.name)}
		}
		if last {
			if f.geti != nil {
				return &pathRef{get: intGet(f.geti), geti: f.geti, set: f.set}, nil
			}
			if f.get == nil {
				return nil, &pathError{pos: s.pos, msg: fmt.Sprintf("path %q is not supported by itself; supported paths: %s", s.name, supportedPaths(ctx))}
			}
			return &pathRef{get: f.get, set: f.set}, nil
		}
		if f.sub == nil {
			return nil, unknown(segs[i+1])
		}
		fields = f.sub
	}
	return nil, &pathError{msg: "empty path"}
}

// mapPath is an attribute map, whole or indexed by one string key.
func mapPath(m func(*Item) pcommon.Map, s segment) (*pathRef, *pathError) {
	switch len(s.keys) {
	case 0:
		return &pathRef{m: m, get: func(it *Item) any { return m(it) }}, nil
	case 1:
		if s.keys[0].isInt {
			return nil, &pathError{pos: s.keys[0].pos, msg: fmt.Sprintf("%s can be indexed only by a string key", s.name)}
		}
		key := s.keys[0].str
		return &pathRef{
			get: func(it *Item) any {
				v, ok := m(it).Get(key)
				if !ok {
					return nil
				}
				return rawValue(v)
			},
			set: func(it *Item, val any) error {
				mm := m(it)
				v, ok := mm.Get(key)
				if !ok {
					v = mm.PutEmpty(key)
				}
				return setValue(v, val)
			},
		}, nil
	}
	return nil, &pathError{pos: s.keys[1].pos, msg: fmt.Sprintf("nested indexing of %s is not supported", s.name)}
}

// enums per context, with OTTL's symbol names and values.
var (
	spanEnums = map[string]int64{
		"SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2,
		"SPAN_KIND_CLIENT": 3, "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5,
		"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2,
	}
	logEnums    = severityEnums()
	metricEnums = map[string]int64{
		"AGGREGATION_TEMPORALITY_UNSPECIFIED": 0, "AGGREGATION_TEMPORALITY_DELTA": 1,
		"AGGREGATION_TEMPORALITY_CUMULATIVE": 2,
		"METRIC_DATA_TYPE_NONE":              0, "METRIC_DATA_TYPE_GAUGE": 1, "METRIC_DATA_TYPE_SUM": 2,
		"METRIC_DATA_TYPE_HISTOGRAM": 3, "METRIC_DATA_TYPE_EXPONENTIAL_HISTOGRAM": 4,
		"METRIC_DATA_TYPE_SUMMARY": 5,
	}
)

func severityEnums() map[string]int64 {
	m := map[string]int64{"SEVERITY_NUMBER_UNSPECIFIED": 0}
	for i, level := range []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"} {
		for j := range 4 {
			name := "SEVERITY_NUMBER_" + level
			if j > 0 {
				name += fmt.Sprint(j + 1)
			}
			m[name] = int64(i*4 + j + 1)
		}
	}
	return m
}

func enumsOf(ctx Context) map[string]int64 {
	switch ctx {
	case Span, SpanEvent:
		return spanEnums
	case Log:
		return logEnums
	case Metric, DataPoint:
		return metricEnums
	}
	return nil
}

func enumValue(ctx Context, name string) (int64, bool) {
	v, ok := enumsOf(ctx)[name]
	return v, ok
}

func enumNames(ctx Context) string {
	var names []string
	for n := range enumsOf(ctx) {
		names = append(names, n)
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
