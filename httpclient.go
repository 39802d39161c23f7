package lambdaotel

import (
	"context"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
)

// HTTPClient returns an http.Client whose requests are CLIENT spans with
// the HTTP client attributes of the semantic conventions, children of the
// span in the request's context, with that context in the request headers:
//
//	var client = lambdaotel.HTTPClient()
//
//	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
//	resp, err := client.Do(req)
//
// It is [HTTPTransport] over http.DefaultTransport. The maintained
// OpenTelemetry instrumentation for net/http (otelhttp) makes the spans.
func HTTPClient(opts ...Option) *http.Client {
	return &http.Client{Transport: HTTPTransport(nil, opts...)}
}

// HTTPTransport wraps base (http.DefaultTransport if nil) so that each
// request is a CLIENT span and carries its context in the headers of the
// invocation's propagators (OTEL_PROPAGATORS: traceparent by default, and
// X-Amzn-Trace-Id with xray or xray-lambda) or of [WithPropagator].
// [WithTracerProvider] and [WithMeterProvider] replace the global providers.
func HTTPTransport(base http.RoundTripper, opts ...Option) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	c := newConfig(opts)
	var prop propagation.TextMapPropagator = invocationPropagator{}
	if c.propagator != nil {
		prop = c.propagator
	}
	hopts := []otelhttp.Option{otelhttp.WithPropagators(prop),
		// The semantic conventions' name of an HTTP client span: the method.
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method })}
	if c.tracerProvider != nil {
		hopts = append(hopts, otelhttp.WithTracerProvider(c.tracerProvider))
	}
	if c.meterProvider != nil {
		hopts = append(hopts, otelhttp.WithMeterProvider(c.meterProvider))
	}
	return otelhttp.NewTransport(base, hopts...)
}

// invocationPropagator injects with the propagator of the invocation of
// the context (see WithPropagator), else the global one, looked up at
// each request.
type invocationPropagator struct{}

func (invocationPropagator) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	propagatorFrom(ctx).Inject(ctx, carrier)
}

func (invocationPropagator) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	return propagatorFrom(ctx).Extract(ctx, carrier)
}

func (invocationPropagator) Fields() []string { return propagatorFrom(context.Background()).Fields() }
