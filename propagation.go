package lambdaotel

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// NewPropagator returns the propagator a comma-separated list of names
// like OTEL_PROPAGATORS asks for: tracecontext, baggage, xray, xray-lambda
// or none. An empty list means "tracecontext,baggage", the OpenTelemetry
// default. Names it does not know are reported in the error, and the
// returned propagator has the others.
//
// xray-lambda is the propagator of the semantic conventions for AWS Lambda
// (https://opentelemetry.io/docs/specs/semconv/faas/aws-lambda/#xray-lambda-propagator-functionality):
// it extracts the X-Ray context of the carrier, and when the carrier has
// none and the context has no span yet, the X-Ray context of the
// invocation: the trace header aws-lambda-go puts in the invocation's
// context, or _X_AMZN_TRACE_ID when there is none. Use it in place of xray,
// and only when the traces go to AWS X-Ray, whose Lambda segments are the
// parents it gives.
func NewPropagator(names string) (propagation.TextMapPropagator, error) {
	if strings.TrimSpace(names) == "" {
		names = "tracecontext,baggage"
	}
	var props []propagation.TextMapPropagator
	var unknown []string
	seen := map[string]bool{}
	for _, n := range strings.Split(names, ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		switch n {
		case "tracecontext":
			props = append(props, propagation.TraceContext{})
		case "baggage":
			props = append(props, propagation.Baggage{})
		case "xray":
			props = append(props, XRayPropagator{})
		case "xray-lambda":
			props = append(props, XRayLambdaPropagator{})
		case "none":
		default:
			unknown = append(unknown, n)
		}
	}
	var err error
	if len(unknown) > 0 {
		err = fmt.Errorf("propagators %q: unsupported %s (supported: tracecontext, baggage, xray, xray-lambda, none)", names, strings.Join(unknown, ", "))
	}
	if seen["none"] {
		if len(props) > 0 {
			return propagation.NewCompositeTextMapPropagator(props...), fmt.Errorf("propagators %q: none with others; none is ignored", names)
		}
		return propagation.NewCompositeTextMapPropagator(), err
	}
	if seen["xray"] && seen["xray-lambda"] && err == nil {
		err = fmt.Errorf("propagators %q: xray-lambda replaces xray, and with both xray-lambda does not work", names)
	}
	if len(props) == 1 {
		return props[0], err
	}
	return propagation.NewCompositeTextMapPropagator(props...), err
}

// XRayLambdaPropagator is the xray-lambda propagator (see NewPropagator).
// It injects as the X-Ray propagator does.
type XRayLambdaPropagator struct{}

var _ propagation.TextMapPropagator = XRayLambdaPropagator{}

// lambdaTraceHeaderKey is the key aws-lambda-go stores the invocation's
// X-Ray trace header under in the handler's context.
const lambdaTraceHeaderKey = "x-amzn-trace-id"

// messageKey marks the context of message carriers (SQS messages), which
// never take the invocation's X-Ray context.
type messageKey struct{}

var messageContext = context.WithValue(context.Background(), messageKey{}, true)

// Extract implements propagation.TextMapPropagator.
func (XRayLambdaPropagator) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	xctx := XRayPropagator{}.Extract(ctx, carrier)
	if trace.SpanContextFromContext(ctx).IsValid() || ctx.Value(messageKey{}) != nil {
		return xctx
	}
	header, _ := ctx.Value(lambdaTraceHeaderKey).(string)
	if header == "" {
		header = os.Getenv("_X_AMZN_TRACE_ID")
	}
	if header == "" {
		return xctx
	}
	return contextWithXRay(xctx, header)
}

// Inject implements propagation.TextMapPropagator.
func (XRayLambdaPropagator) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	XRayPropagator{}.Inject(ctx, carrier)
}

// Fields implements propagation.TextMapPropagator.
func (XRayLambdaPropagator) Fields() []string { return XRayPropagator{}.Fields() }
