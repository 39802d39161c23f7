package lambdaotel

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	lognoop "go.opentelemetry.io/otel/log/noop"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// testARN is the invoked ARN of the tests' invocations (with an alias).
const testARN = "arn:aws:lambda:us-east-1:123456789012:function:orders:live"

// eventsTestdata is aws-lambda-go's directory of sample events.
var eventsTestdata = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	if err != nil {
		return "", err
	}
	return filepath.Join(strings.TrimSpace(string(out)), "events", "testdata"), nil
})

// sample returns one of aws-lambda-go's sample events.
func sample(t testing.TB, name string) []byte {
	t.Helper()
	dir, err := eventsTestdata()
	if err != nil {
		t.Fatalf("locating aws-lambda-go's sample events: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sampleAs decodes a sample event into E.
func sampleAs[E any](t testing.TB, name string) E {
	t.Helper()
	var e E
	if err := json.Unmarshal(sample(t, name), &e); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return e
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// recorder is a tracer provider that exports every ended span to memory.
type recorder struct {
	tp  *sdktrace.TracerProvider
	exp *tracetest.InMemoryExporter
}

func newRecorder(t testing.TB) *recorder {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return &recorder{tp: tp, exp: exp}
}

// opts are the options that make a wrapper use the recorder and the W3C
// propagators, independent of the global state.
func (r *recorder) opts(more ...Option) []Option {
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	return append([]Option{WithTracerProvider(r.tp), WithPropagator(prop),
		WithMeterProvider(metricnoop.NewMeterProvider()), WithLoggerProvider(lognoop.NewLoggerProvider())}, more...)
}

func (r *recorder) spans() tracetest.SpanStubs { return r.exp.GetSpans() }

// named returns the spans named name.
func (r *recorder) named(name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range r.spans() {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// one returns the only span named name.
func (r *recorder) one(t testing.TB, name string) tracetest.SpanStub {
	t.Helper()
	got := r.named(name)
	if len(got) != 1 {
		var names []string
		for _, s := range r.spans() {
			names = append(names, s.Name)
		}
		t.Fatalf("%d spans named %q; all spans: %q", len(got), name, names)
	}
	return got[0]
}

// invokeCtx is an invocation's context as aws-lambda-go makes it.
func invokeCtx(t testing.TB, requestID string, timeout time.Duration) context.Context {
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: requestID, InvokedFunctionArn: testARN})
	ctx, cancel := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancel)
	return ctx
}

func invoke(t testing.TB, h lambda.Handler, requestID string, payload []byte) ([]byte, error) {
	t.Helper()
	return h.Invoke(invokeCtx(t, requestID, 10*time.Second), payload)
}

// attrs returns the attributes as plain values.
func attrs(kvs []attribute.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		if kv.Value.Type() == attribute.MAP {
			m[string(kv.Key)] = attrs(kv.Value.AsMap())
			continue
		}
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

// checkAttrs checks that got has every attribute of want (nil: absent).
func checkAttrs(t testing.TB, what string, got []attribute.KeyValue, want map[string]any) {
	t.Helper()
	m := attrs(got)
	for k, w := range want {
		g, ok := m[k]
		switch {
		case w == nil && ok:
			t.Errorf("%s: attribute %s = %v, want none", what, k, g)
		case w != nil && !ok:
			t.Errorf("%s: no attribute %s (want %v); attributes: %v", what, k, w, m)
		case w != nil && !equalValue(g, w):
			t.Errorf("%s: attribute %s = %#v, want %#v", what, k, g, w)
		}
	}
}

func equalValue(got, want any) bool {
	switch w := want.(type) {
	case int:
		g, ok := got.(int64)
		return ok && g == int64(w)
	case []string:
		g, ok := got.([]string)
		return ok && strings.Join(g, "\x00") == strings.Join(w, "\x00")
	}
	return got == want
}

// remoteParent returns a context whose span is the remote span of a W3C
// traceparent.
func traceparent(sc trace.SpanContext) string {
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), c)
	return c["traceparent"]
}

// newSpanContext returns a sampled remote span context with the given ids.
func newSpanContext(t testing.TB, traceID, spanID string) trace.SpanContext {
	t.Helper()
	tid, err := trace.TraceIDFromHex(traceID)
	if err != nil {
		t.Fatal(err)
	}
	sid, err := trace.SpanIDFromHex(spanID)
	if err != nil {
		t.Fatal(err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true})
}

// baggageMember returns the value of a baggage member of ctx.
func baggageMember(ctx context.Context, key string) string {
	return baggage.FromContext(ctx).Member(key).Value()
}

// resetColdStart makes the next invocation a cold start again.
func resetColdStart() { coldDone.Store(false) }
