package lambdaotel

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TestXRayHeaderRoundTrip parses the header examples of the AWS
// documentation and writes them back.
func TestXRayHeaderRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		doc, header, want        string // want: String() when it differs from header
		traceID, parent, sampled string
		lineage, self            string
		valid                    bool
	}{
		// X-Ray developer guide, "Tracing header".
		{doc: "X-Ray, root and sampling decision", header: "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
			traceID: "5759e988bd862e3fe1be46a994272793", sampled: "1"},
		{doc: "X-Ray, with parent", header: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
			traceID: "5759e988bd862e3fe1be46a994272793", parent: "53995c3f42cd8ad8", sampled: "1", valid: true},
		{doc: "X-Ray, with Lineage (Lambda recursive loop detection)",
			header:  "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1|68fd508a:5|c512fbe3:2",
			traceID: "5759e988bd862e3fe1be46a994272793", parent: "53995c3f42cd8ad8", sampled: "1", lineage: "a87bd80c:1|68fd508a:5|c512fbe3:2", valid: true},
		{doc: "SQS AWSTraceHeader as Lambda delivers it", header: "Root=1-b5a9daed-357f662c2c285cf280b61d38;Parent=6654c0335342e1d2;Sampled=1;Lineage=1:fe460cdd:0",
			traceID: "b5a9daed357f662c2c285cf280b61d38", parent: "6654c0335342e1d2", sampled: "1", lineage: "1:fe460cdd:0", valid: true},
		{doc: "X-Ray, sampling decision requested", header: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?",
			traceID: "5759e988bd862e3fe1be46a994272793", parent: "53995c3f42cd8ad8", sampled: "?", valid: true},
		// Elastic Load Balancing, "Request tracing for your Application Load Balancer".
		{doc: "ALB, new request", header: "Root=1-67891233-abcdef012345678912345678", traceID: "67891233abcdef012345678912345678"},
		{doc: "ALB, Self added", header: "Self=1-67891234-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678",
			want: "Root=1-67891233-abcdef012345678912345678", traceID: "67891233abcdef012345678912345678", self: "1-67891234-12456789abcdef012345678"},
		{doc: "ALB, application fields kept", header: "Self=1-67891234-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678;CalledFrom=app",
			want: "Root=1-67891233-abcdef012345678912345678;CalledFrom=app", traceID: "67891233abcdef012345678912345678", self: "1-67891234-12456789abcdef012345678"},
	}
	for _, c := range cases {
		h, err := ParseXRayHeader(c.header)
		if err != nil {
			t.Errorf("%s: %v", c.doc, err)
			continue
		}
		parent := ""
		if h.ParentID.IsValid() {
			parent = h.ParentID.String()
		}
		if h.TraceID.String() != c.traceID || parent != c.parent || h.Sampled != c.sampled || h.Lineage != c.lineage || h.Self != c.self {
			t.Errorf("%s: parsed %+v", c.doc, h)
		}
		want := c.want
		if want == "" {
			want = c.header
		}
		if got := h.String(); got != want {
			t.Errorf("%s: String() %q, want %q", c.doc, got, want)
		}
		if sc := h.SpanContext(); sc.IsValid() != c.valid || sc.IsSampled() != (c.sampled == "1") {
			t.Errorf("%s: span context %v valid %v sampled %v", c.doc, sc, sc.IsValid(), sc.IsSampled())
		}
	}
}

func TestParseXRayHeaderErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ header, err string }{
		{"Root=2-5759e988-bd862e3fe1be46a994272793", `Root: "2-5759e988-bd862e3fe1be46a994272793" is not 1-<8 hex digits>-<24 hex digits>`},
		{"Root=1-5759e988-bd862e3fe1be46a99427279z", "unique part"},
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f", `Parent "53995c3f" is not 16 hex digits`},
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=yes", `Sampled "yes" is not 1, 0 or ?`},
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=<script>", `Lineage "<script>"`},
		{"garbage", `field "garbage" has no '='`},
	}
	for _, c := range cases {
		_, err := ParseXRayHeader(c.header)
		if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), c.header) {
			t.Errorf("ParseXRayHeader(%q) error %v, want one naming the input and %q", c.header, err, c.err)
		}
	}
}

// TestXRayPropagator extracts headers and injects them again, Lineage
// included; a header that does not parse leaves the context as it was.
func TestXRayPropagator(t *testing.T) {
	t.Parallel()
	p := XRayPropagator{}
	for _, in := range []string{
		"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
		"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
		"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1|68fd508a:5|c512fbe3:2",
		" root=1-5759E988-BD862E3FE1BE46A994272793 ; parent=53995C3F42CD8AD8 ; sampled=1 ",
	} {
		ctx := p.Extract(context.Background(), propagation.HeaderCarrier{"X-Amzn-Trace-Id": {in}})
		out := propagation.HeaderCarrier{}
		p.Inject(ctx, out)
		want, _ := ParseXRayHeader(in)
		if got := out.Get("X-Amzn-Trace-Id"); got != want.String() {
			t.Errorf("extract and inject %q: %q, want %q", in, got, want.String())
		}
	}
	for _, bad := range []string{"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=xyz;Sampled=1", "Root=1-5759e988-bd862e3fe1be46a994272793", ""} {
		ctx := p.Extract(context.Background(), propagation.HeaderCarrier{"X-Amzn-Trace-Id": {bad}})
		if trace.SpanContextFromContext(ctx).IsValid() {
			t.Errorf("extract %q: a span context", bad)
		}
		out := propagation.HeaderCarrier{}
		p.Inject(ctx, out)
		if len(out) != 0 {
			t.Errorf("inject after %q: %v", bad, out)
		}
	}
}

// TestXRayIDGenerator checks that trace IDs begin with the time in epoch
// seconds, as X-Ray's do, and are otherwise random.
func TestXRayIDGenerator(t *testing.T) {
	t.Parallel()
	g := XRayIDGenerator{}
	before := uint32(time.Now().Unix())
	seen := map[trace.TraceID]bool{}
	for range 1000 {
		tid, sid := g.NewIDs(context.Background())
		after := uint32(time.Now().Unix())
		if ts := binary.BigEndian.Uint32(tid[:4]); ts < before || ts > after {
			t.Fatalf("trace ID %s: time part %d not in [%d, %d]", tid, ts, before, after)
		}
		if !tid.IsValid() || !sid.IsValid() || seen[tid] {
			t.Fatalf("trace ID %s span ID %s: invalid or repeated", tid, sid)
		}
		seen[tid] = true
		h := xrayHeaderOf(trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}), "")
		if back, err := ParseXRayHeader(h); err != nil || back.TraceID != tid {
			t.Fatalf("X-Ray header %q of trace ID %s: %v", h, tid, err)
		}
	}
}

// TestSetupXRayIDs checks that LAMBDAOTEL_XRAY_IDS=true gives Setup's
// tracer provider X-Ray trace IDs, and that a bad value is reported.
func TestSetupXRayIDs(t *testing.T) {
	// Not parallel: it sets the environment and the global providers.
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })
	t.Setenv("OTEL_METRICS_EXPORTER", "none")
	t.Setenv("OTEL_LOGS_EXPORTER", "none")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")

	t.Setenv("LAMBDAOTEL_XRAY_IDS", "yes please")
	shutdown, err := Setup(context.Background())
	if err == nil || !strings.Contains(err.Error(), `LAMBDAOTEL_XRAY_IDS="yes please"`) {
		t.Errorf("Setup with a bad LAMBDAOTEL_XRAY_IDS: error %v", err)
	}
	shutdown(context.Background())

	t.Setenv("LAMBDAOTEL_XRAY_IDS", "true")
	shutdown, err = Setup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(context.Background())
	before := uint32(time.Now().Unix())
	_, span := otel.Tracer("test").Start(context.Background(), "x")
	span.End()
	tid := span.SpanContext().TraceID()
	if ts := binary.BigEndian.Uint32(tid[:4]); ts < before || ts > uint32(time.Now().Unix()) {
		t.Errorf("trace ID %s does not begin with the time", tid)
	}
}

// TestAnnotate checks that Annotate lists the keys X-Ray is to index in
// aws.xray.annotations, call after call, once each.
func TestAnnotate(t *testing.T) {
	t.Parallel()
	r := newRecorder(t)
	ctx, span := r.tp.Tracer("test").Start(context.Background(), "work")
	Annotate(ctx, attribute.String("order_id", "o-1"), attribute.Int("items", 2))
	span.SetAttributes(attribute.String("note", "metadata"))
	Annotate(ctx, attribute.String("order_id", "o-2"), attribute.Bool("express", true))
	span.End()
	checkAttrs(t, "span", r.one(t, "work").Attributes, map[string]any{"order_id": "o-2", "items": int64(2), "express": true,
		"note": "metadata", "aws.xray.annotations": []string{"order_id", "items", "express"}})
	Annotate(context.Background(), attribute.String("ignored", "x")) // no span: nothing to do
}
