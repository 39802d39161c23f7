package otlpreceiver

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
)

// MaxValueDepth is how deeply attribute values (and log bodies) may nest
// arrays and key-value lists: a scalar has depth 0, an array of scalars 1,
// an array of arrays 2. Deeper values are refused before they are decoded:
// decoders recurse once per level, so an unbounded depth overflows the
// stack, and backends refuse far less (protobuf decoders in C++, Java and
// Python stop at 100 nested messages, each level of a key-value list costs
// three).
const MaxValueDepth = 16

// maxJSONDepth bounds the nesting of a JSON request's objects and arrays:
// the deepest place OTLP/JSON puts an attribute (an exemplar's filtered
// attributes: 15 levels) plus four per level of a key-value list, the
// costlier kind of nesting.
const maxJSONDepth = 16 + 4*MaxValueDepth

// ErrTooDeep means a request nests values deeper than MaxValueDepth.
var ErrTooDeep = errors.New("attribute value nested too deeply")

// Inspection is what Inspect learned about a request without decoding it.
type Inspection struct {
	// Items counts the spans, data points or log records.
	Items int
}

// Inspect checks an OTLP export request of signal, in protobuf or (json)
// OTLP/JSON, before it is decoded, with memory that does not grow with the
// request: its wire structure, that attribute values nest at most
// MaxValueDepth levels (an error wrapping ErrTooDeep), that strings are
// UTF-8 as protobuf requires (a backend would refuse the whole request
// otherwise), and counts its items. Its errors say where in the request
// the fault is.
func Inspect(signal pipeline.Signal, body []byte, json bool) (Inspection, error) {
	if json {
		return inspectJSON(body)
	}
	root := tracesData
	switch signal {
	case pipeline.Metrics:
		root = metricsData
	case pipeline.Logs:
		root = logsData
	}
	in := inspector{}
	if err := in.message(root, body, 0); err != nil {
		return Inspection{}, err
	}
	return Inspection{Items: in.items}, nil
}

// kind is an OTLP protobuf message type, or how to check a field that is
// not a message.
type kind uint8

const (
	skip kind = iota // any value of any wire type
	str              // a string: must be UTF-8
	tracesData
	resourceSpans
	scopeSpans
	span
	spanEvent
	spanLink
	spanStatus
	resource
	scope
	keyValue
	anyValue
	arrayValue
	kvList
	metricsData
	resourceMetrics
	scopeMetrics
	metric
	numberPoints // Gauge and Sum: data points in field 1
	histogramPoints
	expHistogramPoints
	summaryPoints
	numberPoint
	histogramPoint
	expHistogramPoint
	summaryPoint
	exemplar
	logsData
	resourceLogs
	scopeLogs
	logRecord
)

// schema gives, per message, the kind of each field that holds a message
// or a string; other fields are skipped. Field numbers are those of
// opentelemetry-proto.
var schema = [...]map[protowire.Number]kind{
	tracesData:         {1: resourceSpans},
	resourceSpans:      {1: resource, 2: scopeSpans, 3: str},
	scopeSpans:         {1: scope, 2: span, 3: str},
	span:               {3: str, 5: str, 9: keyValue, 11: spanEvent, 13: spanLink, 15: spanStatus},
	spanEvent:          {2: str, 3: keyValue},
	spanLink:           {3: str, 4: keyValue},
	spanStatus:         {2: str},
	resource:           {1: keyValue},
	scope:              {1: str, 2: str, 3: keyValue},
	keyValue:           {1: str, 2: anyValue},
	anyValue:           {1: str, 5: arrayValue, 6: kvList},
	arrayValue:         {1: anyValue},
	kvList:             {1: keyValue},
	metricsData:        {1: resourceMetrics},
	resourceMetrics:    {1: resource, 2: scopeMetrics, 3: str},
	scopeMetrics:       {1: scope, 2: metric, 3: str},
	metric:             {1: str, 2: str, 3: str, 5: numberPoints, 7: numberPoints, 9: histogramPoints, 10: expHistogramPoints, 11: summaryPoints, 12: keyValue},
	numberPoints:       {1: numberPoint},
	histogramPoints:    {1: histogramPoint},
	expHistogramPoints: {1: expHistogramPoint},
	summaryPoints:      {1: summaryPoint},
	numberPoint:        {5: exemplar, 7: keyValue},
	histogramPoint:     {8: exemplar, 9: keyValue},
	expHistogramPoint:  {1: keyValue, 11: exemplar},
	summaryPoint:       {7: keyValue},
	exemplar:           {7: keyValue},
	logsData:           {1: resourceLogs},
	resourceLogs:       {1: resource, 2: scopeLogs, 3: str},
	scopeLogs:          {1: scope, 2: logRecord, 3: str},
	logRecord:          {3: str, 5: anyValue, 6: keyValue, 12: str},
}

// names names the messages in errors.
var names = [...]string{
	tracesData: "request", resourceSpans: "resource_spans", scopeSpans: "scope_spans", span: "span",
	spanEvent: "span event", spanLink: "span link", spanStatus: "span status", resource: "resource",
	scope: "scope", keyValue: "attribute", anyValue: "value", arrayValue: "array value", kvList: "kvlist value",
	metricsData: "request", resourceMetrics: "resource_metrics", scopeMetrics: "scope_metrics", metric: "metric",
	numberPoints: "gauge or sum", histogramPoints: "histogram", expHistogramPoints: "exponential histogram",
	summaryPoints: "summary", numberPoint: "data point", histogramPoint: "histogram data point",
	expHistogramPoint: "exponential histogram data point", summaryPoint: "summary data point", exemplar: "exemplar",
	logsData: "request", resourceLogs: "resource_logs", scopeLogs: "scope_logs", logRecord: "log record",
}

// isItem reports whether a message of kind k is one item of its signal.
func isItem(k kind) bool {
	switch k {
	case span, numberPoint, histogramPoint, expHistogramPoint, summaryPoint, logRecord:
		return true
	}
	return false
}

// inspector walks a protobuf request. The walk recurses once per message
// level; the schema has no cycle but through values, whose depth it
// bounds, so the recursion is bounded too.
type inspector struct {
	items int
}

// message checks b, a message of kind k, whose value nesting is depth.
func (in *inspector) message(k kind, b []byte, depth int) error {
	if k == arrayValue || k == kvList {
		depth++
		if depth > MaxValueDepth {
			return fmt.Errorf("%w: more than %d levels of arrays and key-value lists (the limit)", ErrTooDeep, MaxValueDepth)
		}
	}
	fields := schema[k]
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%s: malformed field tag: %v", names[k], protowire.ParseError(n))
		}
		b = b[n:]
		child := fields[num]
		if child == skip || typ != protowire.BytesType {
			if typ == protowire.StartGroupType || typ == protowire.EndGroupType {
				return fmt.Errorf("%s: field %d is a group, which OTLP does not use", names[k], num)
			}
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("%s: malformed field %d: %v", names[k], num, protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return fmt.Errorf("%s: malformed field %d: %v", names[k], num, protowire.ParseError(n))
		}
		b = b[n:]
		if child == str {
			if !utf8.Valid(v) {
				return fmt.Errorf("%s: field %d is a string that is not valid UTF-8", names[k], num)
			}
			continue
		}
		if isItem(child) {
			in.items++
		}
		if err := in.message(child, v, depth); err != nil {
			return err
		}
	}
	return nil
}

// inspectJSON checks an OTLP/JSON request with a scanner that keeps one
// frame per open object or array: the nesting (at most maxJSONDepth, and
// arrayValue/kvlistValue at most MaxValueDepth), the syntax of strings and
// the brackets, and counts the objects in spans, dataPoints and logRecords
// arrays. Values it does not need are checked by the decoder after it.
func inspectJSON(b []byte) (Inspection, error) {
	type frame struct {
		array bool
		value bool // opened by arrayValue or kvlistValue
		items bool // an array of items
	}
	var (
		stack    []frame
		depth    int    // values nesting
		key      []byte // the last object key seen, while its value is pending
		out      Inspection
		afterKey bool
	)
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case ' ', '\t', '\n', '\r', ',':
		case ':':
			afterKey = true
		case '"':
			j := i + 1
			for ; j < len(b); j++ {
				if b[j] == '\\' {
					j++
					continue
				}
				if b[j] == '"' {
					break
				}
			}
			if j >= len(b) {
				return Inspection{}, fmt.Errorf("unterminated string at offset %d", i)
			}
			s := b[i+1 : j]
			if !utf8.Valid(s) {
				return Inspection{}, fmt.Errorf("string at offset %d is not valid UTF-8", i)
			}
			inObject := len(stack) > 0 && !stack[len(stack)-1].array
			if inObject && !afterKey {
				key = s
			} else {
				key, afterKey = nil, false
			}
			i = j
		case '{', '[':
			if len(stack) >= maxJSONDepth {
				return Inspection{}, fmt.Errorf("%w: JSON nests more than %d levels; attribute values may nest at most %d levels of arrays and key-value lists (the limit)",
					ErrTooDeep, maxJSONDepth, MaxValueDepth)
			}
			f := frame{array: c == '['}
			if afterKey {
				switch string(key) {
				case "arrayValue", "array_value", "kvlistValue", "kvlist_value":
					f.value = !f.array
				case "spans", "dataPoints", "data_points", "logRecords", "log_records":
					f.items = f.array
				}
			}
			if !f.array && len(stack) > 0 && stack[len(stack)-1].items {
				out.Items++
			}
			if f.value {
				depth++
				if depth > MaxValueDepth {
					return Inspection{}, fmt.Errorf("%w: more than %d levels of arrays and key-value lists (the limit)", ErrTooDeep, MaxValueDepth)
				}
			}
			stack = append(stack, f)
			key, afterKey = nil, false
		case '}', ']':
			if len(stack) == 0 || stack[len(stack)-1].array != (c == ']') {
				return Inspection{}, fmt.Errorf("unbalanced %q at offset %d", c, i)
			}
			if stack[len(stack)-1].value {
				depth--
			}
			stack = stack[:len(stack)-1]
			key, afterKey = nil, false
		default:
			// A number, true, false or null: the decoder checks them.
			key, afterKey = nil, false
		}
	}
	if len(stack) > 0 {
		return Inspection{}, errors.New("the JSON ends inside an object or array")
	}
	return out, nil
}
