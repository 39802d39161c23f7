package lambdaotel

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

func TestNewPropagator(t *testing.T) {
	t.Parallel()
	cases := []struct {
		names  string
		fields string
		err    string
	}{
		{"", "traceparent,tracestate,baggage", ""},
		{"tracecontext", "traceparent,tracestate", ""},
		{" TraceContext , baggage,xray-lambda", "traceparent,tracestate,baggage,X-Amzn-Trace-Id", ""},
		{"xray", "X-Amzn-Trace-Id", ""},
		{"none", "", ""},
		{"tracecontext,b3,jaeger", "traceparent,tracestate", "unsupported b3, jaeger"},
		{"xray,xray-lambda", "X-Amzn-Trace-Id", "xray-lambda replaces xray"},
	}
	for _, c := range cases {
		p, err := NewPropagator(c.names)
		fields := slices.Sorted(slices.Values(p.Fields()))
		want := strings.Split(c.fields, ",")
		if c.fields == "" {
			want = nil
		}
		slices.Sort(want)
		if got := strings.Join(fields, ","); got != strings.Join(want, ",") {
			t.Errorf("NewPropagator(%q) fields %q, want %q", c.names, got, c.fields)
		}
		if (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("NewPropagator(%q) error %v, want %q", c.names, err, c.err)
		}
	}
}

// TestXRayLambda checks the xray-lambda rule of the semantic conventions:
// the invocation's trace header (in the context aws-lambda-go makes, else
// _X_AMZN_TRACE_ID) is the parent unless the event carries a context.
func TestXRayLambda(t *testing.T) {
	// Not parallel: it sets _X_AMZN_TRACE_ID.
	const (
		ctxHeader = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
		envHeader = "Root=1-6759e988-bd862e3fe1be46a994272793;Parent=63995c3f42cd8ad8;Sampled=1"
	)
	prop, err := NewPropagator("tracecontext,baggage,xray-lambda")
	if err != nil {
		t.Fatal(err)
	}
	w3c := newSpanContext(t, upstreamTrace1, upstreamSpan1)
	cases := []struct {
		name        string
		ctxHeader   string
		envHeader   string
		traceparent string
		wantParent  string
	}{
		{"context header", ctxHeader, envHeader, "", "53995c3f42cd8ad8"},
		{"environment only", "", envHeader, "", "63995c3f42cd8ad8"},
		{"W3C in the event wins", ctxHeader, envHeader, traceparent(w3c), upstreamSpan1},
		{"none", "", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("_X_AMZN_TRACE_ID", c.envHeader)
			r := newRecorder(t)
			h := Wrap(func(ctx context.Context, e events.APIGatewayV2HTTPRequest) (string, error) { return "", nil },
				append(r.opts(), WithPropagator(prop))...)
			e := sampleAs[events.APIGatewayV2HTTPRequest](t, "apigw-v2-request-no-authorizer.json")
			delete(e.Headers, "x-amzn-trace-id")
			if c.traceparent != "" {
				e.Headers["traceparent"] = c.traceparent
			}
			ctx := invokeCtx(t, "req-1", 1e10)
			if c.ctxHeader != "" {
				ctx = context.WithValue(ctx, lambdaTraceHeaderKey, c.ctxHeader)
			}
			if _, err := h.Invoke(ctx, mustJSON(t, e)); err != nil {
				t.Fatal(err)
			}
			s := r.one(t, "GET")
			got := ""
			if s.Parent.IsValid() {
				got = s.Parent.SpanID().String()
			}
			if got != c.wantParent {
				t.Errorf("parent %q, want %q", got, c.wantParent)
			}
		})
	}

	// An SQS batch's links come from the messages only, never from the
	// invocation's header, which is the batch span's parent.
	t.Setenv("_X_AMZN_TRACE_ID", envHeader)
	const sqsHeader = "Root=1-7759e988-bd862e3fe1be46a994272793;Parent=73995c3f42cd8ad8;Sampled=1"
	r := newRecorder(t)
	h := Wrap(func(ctx context.Context, e events.SQSEvent) (events.SQSEventResponse, error) {
		return ProcessSQS(ctx, e, func(context.Context, events.SQSMessage) error { return nil }), nil
	}, append(r.opts(), WithPropagator(prop))...)
	ctx := context.WithValue(invokeCtx(t, "req-1", 1e10), lambdaTraceHeaderKey, sqsHeader)
	if _, err := h.Invoke(ctx, mustJSON(t, sqsBatch(t, 3))); err != nil {
		t.Fatal(err)
	}
	spans := r.named("SQSQueue process")
	if len(spans) != 4 {
		t.Fatalf("%d spans", len(spans))
	}
	for _, s := range spans {
		for _, l := range s.Links {
			if id := l.SpanContext.SpanID().String(); id == "73995c3f42cd8ad8" || id == "63995c3f42cd8ad8" {
				t.Errorf("span %v links to the invocation's X-Ray context", attrs(s.Attributes)["messaging.message.id"])
			}
		}
		if attrs(s.Attributes)["messaging.batch.message_count"] != nil {
			if s.Parent.SpanID().String() != "73995c3f42cd8ad8" {
				t.Errorf("batch span parent %v, want the invocation's X-Ray context", s.Parent.SpanID())
			}
			if got := linkIDs(s.Links); len(got) != 2 {
				t.Errorf("batch links %q, want the two messages with a context", got)
			}
		}
	}
}

// TestCarriers checks the carriers of event fields.
func TestCarriers(t *testing.T) {
	t.Parallel()
	h := headerCarrier{one: map[string]string{"TraceParent": "a"}, multi: map[string][]string{"baggage": {"k=v", "k2=v2"}}}
	if h.Get("traceparent") != "a" || h.Get("baggage") != "k=v,k2=v2" || h.Get("tracestate") != "" {
		t.Errorf("header carrier: %q %q", h.Get("traceparent"), h.Get("baggage"))
	}
	if len(h.Keys()) != 2 {
		t.Errorf("keys %q", h.Keys())
	}
	var sns map[string]any
	json.Unmarshal([]byte(`{"traceparent":{"Type":"String","Value":"x"},"n":{"Type":"Number","Value":"1"},"bad":3}`), &sns)
	c := snsCarrier(sns)
	if c.Get("traceparent") != "x" || c.Get("bad") != "" || c.Get("missing") != "" {
		t.Errorf("sns carrier")
	}
	v := "y"
	q := sqsCarrier{"traceparent": {StringValue: &v, DataType: "String"}, "bin": {BinaryValue: []byte("z"), DataType: "Binary"}}
	if q.Get("traceparent") != "y" || q.Get("bin") != "" {
		t.Errorf("sqs carrier")
	}
	var _ propagation.TextMapCarrier = xrayCarrier("")
	if sc := xrayContext("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"); !sc.IsValid() || !sc.IsSampled() {
		t.Errorf("xray context %v", sc)
	}
	if sc := xrayContext("garbage"); sc.IsValid() {
		t.Errorf("xray context of garbage %v", sc)
	}
	_ = trace.SpanContext{}
}
