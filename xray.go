package lambdaotel

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// XRayHeader is the value of the X-Amzn-Trace-Id header as AWS documents
// it (https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader):
//
//	Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1|68fd508a:5|c512fbe3:2
//
// Root is the trace ID (version 1, 8 hex digits of epoch seconds, 24 hex
// digits), Parent the 16-hex-digit ID of the calling segment or span,
// Sampled the sampling decision ("1", "0", or "?" when the receiver is to
// decide), Lineage the loop counters Lambda's recursion detection reads
// and writes (kept as AWS sends it), and Self the ID an Application Load
// Balancer adds for itself. Other fields are kept in order in Extra.
type XRayHeader struct {
	TraceID  trace.TraceID
	ParentID trace.SpanID
	Sampled  string
	Lineage  string
	Self     string
	Extra    []string
}

// ParseXRayHeader parses an X-Amzn-Trace-Id value. Field names are case
// insensitive and may have spaces around them. It fails, naming the field
// and the input, on a Root or Parent that is not as AWS documents it, a
// Sampled other than 1, 0 or ?, and a malformed Lineage; a header without
// Root or without Parent parses (an Application Load Balancer sends Root
// alone), but has no valid span context.
func ParseXRayHeader(s string) (XRayHeader, error) {
	var h XRayHeader
	rest := s
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, ";")
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, value, ok := strings.Cut(part, "=")
		if !ok {
			return XRayHeader{}, fmt.Errorf("X-Ray trace header %q: field %q has no '='", s, part)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case strings.EqualFold(key, "Root"):
			id, err := parseXRayTraceID(value)
			if err != nil {
				return XRayHeader{}, fmt.Errorf("X-Ray trace header %q: Root: %w", s, err)
			}
			h.TraceID = id
		case strings.EqualFold(key, "Parent"):
			id, err := trace.SpanIDFromHex(strings.ToLower(value))
			if err != nil || len(value) != 16 {
				return XRayHeader{}, fmt.Errorf("X-Ray trace header %q: Parent %q is not 16 hex digits", s, value)
			}
			h.ParentID = id
		case strings.EqualFold(key, "Sampled"):
			if value != "1" && value != "0" && value != "?" {
				return XRayHeader{}, fmt.Errorf("X-Ray trace header %q: Sampled %q is not 1, 0 or ?", s, value)
			}
			h.Sampled = value
		case strings.EqualFold(key, "Lineage"):
			if !validLineage(value) {
				return XRayHeader{}, fmt.Errorf("X-Ray trace header %q: Lineage %q is not a list of hex digits, counters, ':' and '|'", s, value)
			}
			h.Lineage = value
		case strings.EqualFold(key, "Self"):
			h.Self = value
		default:
			h.Extra = append(h.Extra, key+"="+value)
		}
	}
	return h, nil
}

// parseXRayTraceID parses "1-5759e988-bd862e3fe1be46a994272793".
func parseXRayTraceID(v string) (trace.TraceID, error) {
	if len(v) != 35 || v[0] != '1' || v[1] != '-' || v[10] != '-' {
		return trace.TraceID{}, fmt.Errorf("%q is not 1-<8 hex digits>-<24 hex digits>", v)
	}
	var id trace.TraceID
	if _, err := hex.Decode(id[:4], []byte(v[2:10])); err != nil {
		return trace.TraceID{}, fmt.Errorf("%q: epoch part: %w", v, err)
	}
	if _, err := hex.Decode(id[4:], []byte(v[11:])); err != nil {
		return trace.TraceID{}, fmt.Errorf("%q: unique part: %w", v, err)
	}
	return id, nil
}

// validLineage accepts the Lineage forms AWS sends
// ("a87bd80c:1|68fd508a:5", "1:fe460cdd:0"): hex digits, ':' and '|',
// at most 200 bytes.
func validLineage(v string) bool {
	if v == "" || len(v) > 200 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '|') {
			return false
		}
	}
	return true
}

// SpanContext returns the remote span context of h: valid when h has a
// Root and a Parent; sampled when Sampled is 1.
func (h XRayHeader) SpanContext() trace.SpanContext {
	var flags trace.TraceFlags
	if h.Sampled == "1" {
		flags = trace.FlagsSampled
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: h.TraceID, SpanID: h.ParentID, TraceFlags: flags, Remote: true})
}

// String formats h as an X-Amzn-Trace-Id value: Root, Parent, Sampled,
// Lineage, then the other fields; Self is left out, since each load
// balancer adds its own.
func (h XRayHeader) String() string {
	var b strings.Builder
	b.Grow(80 + len(h.Lineage))
	if h.TraceID.IsValid() {
		b.WriteString("Root=")
		writeXRayTraceID(&b, h.TraceID)
	}
	if h.ParentID.IsValid() {
		sep(&b)
		b.WriteString("Parent=")
		var buf [16]byte
		hex.Encode(buf[:], h.ParentID[:])
		b.Write(buf[:])
	}
	if h.Sampled != "" {
		sep(&b)
		b.WriteString("Sampled=")
		b.WriteString(h.Sampled)
	}
	if h.Lineage != "" {
		sep(&b)
		b.WriteString("Lineage=")
		b.WriteString(h.Lineage)
	}
	for _, e := range h.Extra {
		sep(&b)
		b.WriteString(e)
	}
	return b.String()
}

func sep(b *strings.Builder) {
	if b.Len() > 0 {
		b.WriteByte(';')
	}
}

func writeXRayTraceID(b *strings.Builder, id trace.TraceID) {
	var buf [35]byte
	buf[0], buf[1], buf[10] = '1', '-', '-'
	hex.Encode(buf[2:10], id[:4])
	hex.Encode(buf[11:], id[4:])
	b.Write(buf[:])
}

// xrayHeaderOf returns the X-Ray header of the span context sc with
// lineage, or "" if sc is not valid.
func xrayHeaderOf(sc trace.SpanContext, lineage string) string {
	if !sc.IsValid() {
		return ""
	}
	var b strings.Builder
	b.Grow(len("Root=;Parent=;Sampled=1") + 35 + 16 + len(";Lineage=") + len(lineage))
	b.WriteString("Root=")
	writeXRayTraceID(&b, sc.TraceID())
	b.WriteString(";Parent=")
	var buf [16]byte
	sid := sc.SpanID()
	hex.Encode(buf[:], sid[:])
	b.Write(buf[:])
	if sc.IsSampled() {
		b.WriteString(";Sampled=1")
	} else {
		b.WriteString(";Sampled=0")
	}
	if lineage != "" {
		b.WriteString(";Lineage=")
		b.WriteString(lineage)
	}
	return b.String()
}

// xrayLineageKey is the context key of the Lineage of an extracted X-Ray
// header, which Inject puts back in outgoing headers so that Lambda's
// recursive loop detection keeps working through instrumented calls.
type xrayLineageKey struct{}

// XRayPropagator propagates the X-Ray trace header, X-Amzn-Trace-Id. It
// is the xray propagator of OTEL_PROPAGATORS.
//
// Extract takes the span context of Root, Parent and Sampled (Sampled=?
// makes an unsampled context: OpenTelemetry has no deferred decision)
// and keeps Lineage in the context; a header that does not parse is
// ignored, as the propagation API asks. Inject writes Root, Parent,
// Sampled and the Lineage of the context.
type XRayPropagator struct{}

var _ propagation.TextMapPropagator = XRayPropagator{}

// Inject implements propagation.TextMapPropagator.
func (XRayPropagator) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	lineage, _ := ctx.Value(xrayLineageKey{}).(string)
	if h := xrayHeaderOf(trace.SpanContextFromContext(ctx), lineage); h != "" {
		carrier.Set(xrayHeader, h)
	}
}

// Extract implements propagation.TextMapPropagator.
func (XRayPropagator) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	v := carrier.Get(xrayHeader)
	if v == "" {
		return ctx
	}
	return contextWithXRay(ctx, v)
}

// contextWithXRay returns ctx with the remote span context and the
// lineage of the X-Ray header v; ctx if v does not parse.
func contextWithXRay(ctx context.Context, v string) context.Context {
	h, err := ParseXRayHeader(v)
	if err != nil {
		return ctx
	}
	if h.Lineage != "" {
		ctx = context.WithValue(ctx, xrayLineageKey{}, h.Lineage)
	}
	if sc := h.SpanContext(); sc.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
	}
	return ctx
}

// Fields implements propagation.TextMapPropagator.
func (XRayPropagator) Fields() []string { return []string{xrayHeader} }

// invocationLineage returns the Lineage of the invocation's X-Ray header
// (the one aws-lambda-go puts in the context, else _X_AMZN_TRACE_ID) when
// ctx has none of its own.
func invocationLineage(ctx context.Context) string {
	if l, ok := ctx.Value(xrayLineageKey{}).(string); ok {
		return l
	}
	header, _ := ctx.Value(lambdaTraceHeaderKey).(string)
	if header == "" {
		header = os.Getenv("_X_AMZN_TRACE_ID")
	}
	i := strings.Index(header, "Lineage=")
	if i < 0 {
		return ""
	}
	l, _, _ := strings.Cut(header[i+len("Lineage="):], ";")
	if !validLineage(l) {
		return ""
	}
	return l
}

// XRayIDGenerator makes trace IDs that AWS X-Ray accepts on all its APIs:
// the first 4 bytes are the start time in epoch seconds, the other 12
// random, as in the Root of the X-Ray header. Span IDs are random. Use it
// with sdktrace.WithIDGenerator, or set LAMBDAOTEL_XRAY_IDS=true for the
// providers of Start and Setup, when traces go to X-Ray (its OTLP endpoint
// takes any trace ID, but trace IDs whose first 4 bytes are not a time
// within the last 30 days are treated as W3C IDs by the X-Ray APIs).
type XRayIDGenerator struct{}

var _ sdktrace.IDGenerator = XRayIDGenerator{}

// NewIDs implements sdktrace.IDGenerator.
func (g XRayIDGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	var tid trace.TraceID
	binary.BigEndian.PutUint32(tid[:4], uint32(time.Now().Unix()))
	binary.BigEndian.PutUint32(tid[4:8], rand.Uint32())
	binary.BigEndian.PutUint64(tid[8:], rand.Uint64())
	return tid, g.NewSpanID(ctx, tid)
}

// NewSpanID implements sdktrace.IDGenerator.
func (XRayIDGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		binary.BigEndian.PutUint64(sid[:], rand.Uint64())
	}
	return sid
}

// xrayAnnotationsKey is the span attribute that lists the keys of the
// attributes X-Ray indexes as annotations; the others become metadata.
const xrayAnnotationsKey = attribute.Key("aws.xray.annotations")

// Annotate sets kvs on the span of ctx and marks them as X-Ray
// annotations, the equivalent of the X-Ray SDK's AddAnnotation: X-Ray
// (its OTLP endpoint and the collector's awsxray exporter) makes every
// span attribute metadata, except those whose keys the span lists in
// aws.xray.annotations, which become annotations, indexed for filter
// expressions. Use keys of letters, digits and underscores, and string,
// number or bool values, as X-Ray annotations allow; a trace keeps at
// most 50 annotations. Other backends see plain attributes.
func Annotate(ctx context.Context, kvs ...attribute.KeyValue) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() || len(kvs) == 0 {
		return
	}
	var keys []string
	if ro, ok := span.(sdktrace.ReadOnlySpan); ok {
		for _, kv := range ro.Attributes() {
			if kv.Key == xrayAnnotationsKey {
				keys = append(keys, kv.Value.AsStringSlice()...)
			}
		}
	}
	for _, kv := range kvs {
		if !slices.Contains(keys, string(kv.Key)) {
			keys = append(keys, string(kv.Key))
		}
	}
	span.SetAttributes(append(kvs, xrayAnnotationsKey.StringSlice(keys))...)
}
