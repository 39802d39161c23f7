package lambdaotel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// orderError is an error type of the tests' handlers.
type orderError struct{ id int }

func (e *orderError) Error() string { return fmt.Sprintf("order %d not found", e.id) }

// TestError checks that an error return makes the span ERROR with
// error.type and an exception event, and goes back to Lambda.
func TestError(t *testing.T) {
	t.Parallel()
	r := newRecorder(t)
	h := withName(Wrap(func(ctx context.Context, e map[string]int) (string, error) {
		return "", &orderError{e["id"]}
	}, r.opts()...), "orders")
	_, err := invoke(t, h, "req-1", []byte(`{"id":7}`))
	var oe *orderError
	if !errors.As(err, &oe) || oe.id != 7 {
		t.Fatalf("error %v, want the handler's", err)
	}
	s := r.one(t, "orders")
	if s.Status.Code != codes.Error || s.Status.Description != "order 7 not found" {
		t.Errorf("status %+v", s.Status)
	}
	checkAttrs(t, s.Name, s.Attributes, map[string]any{"error.type": "*lambdaotel.orderError"})
	if len(s.Events) != 1 || s.Events[0].Name != "exception" {
		t.Fatalf("events %+v, want one exception", s.Events)
	}
	checkAttrs(t, "exception", s.Events[0].Attributes, map[string]any{"exception.message": "order 7 not found"})
}

// TestBadEvent checks that an event that does not decode is an error
// recorded on the span.
func TestBadEvent(t *testing.T) {
	t.Parallel()
	r := newRecorder(t)
	called := false
	h := withName(Wrap(func(ctx context.Context, e events.SQSEvent) (any, error) { called = true; return nil, nil }, r.opts()...), "orders")
	if _, err := invoke(t, h, "req-1", []byte(`{"Records": 3}`)); err == nil || called {
		t.Fatalf("error %v, handler called %v: want a decoding error before the handler", err, called)
	}
	s := r.one(t, "orders")
	checkAttrs(t, s.Name, s.Attributes, map[string]any{"faas.trigger": "other", "error.type": "*json.UnmarshalTypeError"})
}

// TestPanic checks that a panic is recorded, the span ended and flushed,
// and the panic goes on to aws-lambda-go.
func TestPanic(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	// A batcher that only exports on flush: the span is there only if the
	// panic path flushed.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Hour)))
	defer tp.Shutdown(context.Background())
	r := &recorder{tp: tp, exp: exp}
	h := withName(Wrap(func(ctx context.Context, e json.RawMessage) (any, error) {
		var items []int
		_ = items[len(e)] // a runtime panic: index out of range
		return nil, nil
	}, r.opts()...), "orders")
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		invoke(t, h, "req-1", []byte(`{}`))
	}()
	if recovered == nil || !strings.Contains(fmt.Sprint(recovered), "index out of range") {
		t.Fatalf("recovered %v, want the handler's panic", recovered)
	}
	s := r.one(t, "orders")
	if s.Status.Code != codes.Error || !strings.HasPrefix(s.Status.Description, "panic: runtime error: index out of range") {
		t.Errorf("status %+v", s.Status)
	}
	checkAttrs(t, s.Name, s.Attributes, map[string]any{"error.type": "runtime.boundsError"})
	if len(s.Events) != 1 {
		t.Fatalf("events %+v", s.Events)
	}
	ev := attrs(s.Events[0].Attributes)
	if st, _ := ev["exception.stacktrace"].(string); !strings.Contains(st, "TestPanic") {
		t.Errorf("the stack trace does not show where the panic happened:\n%s", st)
	}

	// Through aws-lambda-go's own handler plumbing too.
	var recovered2 any
	func() {
		defer func() { recovered2 = recover() }()
		lambda.NewHandler(func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
			return h.Invoke(ctx, p)
		}).Invoke(invokeCtx(t, "req-2", time.Minute), []byte(`{}`))
	}()
	if recovered2 == nil {
		t.Errorf("the panic did not reach aws-lambda-go")
	}
}

// TestTimeout checks that a handler still running near its deadline has
// its span ended with a timeout error and flushed while it runs.
func TestTimeout(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Hour)))
	defer tp.Shutdown(context.Background())
	r := &recorder{tp: tp, exp: exp}
	release := make(chan struct{})
	h := withName(Wrap(func(ctx context.Context, e json.RawMessage) (any, error) {
		_, child := tp.Tracer("test").Start(ctx, "before the sleep")
		child.End()
		<-release // sleeps past the deadline
		return nil, nil
	}, r.opts(WithDeadlineMargin(200*time.Millisecond))...), "orders")
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Invoke(invokeCtx(t, "req-1", 400*time.Millisecond), []byte(`{}`))
	}()
	// The span arrives while the handler still runs.
	deadline := time.Now().Add(10 * time.Second)
	for len(r.named("orders")) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	<-done
	s := r.one(t, "orders")
	if s.Status.Code != codes.Error || !strings.Contains(s.Status.Description, "before the invocation's deadline") {
		t.Errorf("status %+v", s.Status)
	}
	checkAttrs(t, s.Name, s.Attributes, map[string]any{"error.type": "timeout"})
	if c := r.one(t, "before the sleep"); c.Parent.SpanID() != s.SpanContext.SpanID() {
		t.Errorf("the child span ended before the timeout was not flushed with it")
	}
	if d := s.EndTime.Sub(s.StartTime); d > 350*time.Millisecond {
		t.Errorf("the span lasted %v: it should end 200ms before the 400ms deadline", d)
	}
}

// flushRecorder is a tracer provider that records its flushes.
type flushRecorder struct {
	trace.TracerProvider
	mu        sync.Mutex
	deadlines []time.Duration // time left before the flush's deadline
	canceled  []bool
}

func (f *flushRecorder) ForceFlush(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, _ := ctx.Deadline()
	f.deadlines = append(f.deadlines, time.Until(d))
	f.canceled = append(f.canceled, ctx.Err() != nil)
	return nil
}

// TestFlushBudget checks the flush's budget: the flush timeout, or less
// near the deadline, and never the invocation's context.
func TestFlushBudget(t *testing.T) {
	t.Parallel()
	r := newRecorder(t)
	f := &flushRecorder{TracerProvider: r.tp}
	// Far from the deadline: the flush timeout.
	h := Wrap(func(ctx context.Context, e json.RawMessage) (any, error) { return nil, nil },
		append(r.opts(), WithTracerProvider(f), WithFlushTimeout(2*time.Second))...)
	if _, err := h.Invoke(invokeCtx(t, "req-1", time.Minute), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	// Near the deadline: what is left minus the safety margin.
	h = Wrap(func(ctx context.Context, e json.RawMessage) (any, error) { return nil, nil },
		append(r.opts(), WithTracerProvider(f), WithFlushTimeout(2*time.Second), WithDeadlineMargin(100*time.Millisecond))...)
	if _, err := h.Invoke(invokeCtx(t, "req-2", time.Second), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	// A handler that cancels its own context does not cancel the flush.
	h = Wrap(func(ctx context.Context, e json.RawMessage) (any, error) { return nil, nil },
		append(r.opts(), WithTracerProvider(f))...)
	ctx, cancel := context.WithCancel(invokeCtx(t, "req-3", time.Minute))
	cancel()
	if _, err := h.Invoke(ctx, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.deadlines) != 3 {
		t.Fatalf("%d flushes, want 3", len(f.deadlines))
	}
	if d := f.deadlines[0]; d < 1500*time.Millisecond || d > 2*time.Second {
		t.Errorf("flush budget %v, want the 2s flush timeout", d)
	}
	if d := f.deadlines[1]; d > 980*time.Millisecond || d < 500*time.Millisecond {
		t.Errorf("flush budget %v near a 1s deadline, want at most 1s minus 20ms", d)
	}
	if f.canceled[2] {
		t.Errorf("the flush used the invocation's canceled context")
	}
}

// TestColdStart checks faas.coldstart: true on the first invocation only,
// exactly once when the first invocations run at once, and never when the
// init ran ahead (provisioned concurrency).
func TestColdStart(t *testing.T) {
	// Not parallel: the cold start is the process's.
	r := newRecorder(t)
	h := withName(Wrap(func(ctx context.Context, e json.RawMessage) (any, error) {
		time.Sleep(5 * time.Millisecond)
		return nil, nil
	}, r.opts()...), "orders")
	resetColdStart()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			invoke(t, h, fmt.Sprintf("req-%d", i), []byte(`{}`))
		}()
	}
	wg.Wait()
	invoke(t, h, "req-last", []byte(`{}`))
	cold := 0
	for _, s := range r.named("orders") {
		if attrs(s.Attributes)["faas.coldstart"] == true {
			cold++
			if attrs(s.Attributes)["faas.invocation_id"] == "req-last" {
				t.Errorf("the last invocation is a cold start")
			}
		}
	}
	if cold != 1 {
		t.Errorf("%d cold starts among 9 invocations, want 1", cold)
	}

	resetColdStart()
	initAhead = isInitAhead("provisioned-concurrency")
	defer func() { initAhead = false }()
	invoke(t, h, "req-provisioned", []byte(`{}`))
	for _, s := range r.named("orders") {
		if attrs(s.Attributes)["faas.invocation_id"] == "req-provisioned" && attrs(s.Attributes)["faas.coldstart"] != false {
			t.Errorf("an invocation after a provisioned init is a cold start")
		}
	}
	if !isInitAhead("lambda-managed-instances") || isInitAhead("on-demand") || isInitAhead("snap-start") {
		t.Errorf("isInitAhead")
	}
}

// TestConcurrentInvocations runs invocations at once in one handler, as
// Lambda Managed Instances do, each waiting for the others to start: no
// span takes another invocation's attributes, parent or children.
func TestConcurrentInvocations(t *testing.T) {
	t.Parallel()
	r := newRecorder(t)
	const n = 8
	var started sync.WaitGroup
	started.Add(n)
	var inside atomic.Int32
	h := Wrap(func(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		lc, _ := lambdacontext.FromContext(ctx)
		inside.Add(1)
		started.Done()
		started.Wait() // every invocation is running now
		_, child := r.tp.Tracer("test").Start(ctx, "work "+lc.AwsRequestID)
		child.End()
		return events.APIGatewayV2HTTPResponse{StatusCode: 200 + len(e.RawPath)}, nil
	}, r.opts()...)
	base := sampleAs[events.APIGatewayV2HTTPRequest](t, "apigw-v2-request-no-authorizer.json")
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := base
			e.RawPath = "/" + strings.Repeat("x", i)
			e.Headers = maps(base.Headers)
			e.Headers["traceparent"] = traceparent(newSpanContext(t, fmt.Sprintf("%032x", i+1), fmt.Sprintf("%016x", i+1)))
			if _, err := invoke(t, h, fmt.Sprintf("req-%d", i), mustJSON(t, e)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if inside.Load() != n {
		t.Fatalf("%d invocations ran", inside.Load())
	}
	roots := r.named("GET")
	if len(roots) != n {
		t.Fatalf("%d invocation spans, want %d", len(roots), n)
	}
	for _, s := range roots {
		a := attrs(s.Attributes)
		var i int
		fmt.Sscanf(a["faas.invocation_id"].(string), "req-%d", &i)
		if a["url.path"] != "/"+strings.Repeat("x", i) || a["http.response.status_code"] != int64(201+i) {
			t.Errorf("invocation %d has url.path %v and status %v", i, a["url.path"], a["http.response.status_code"])
		}
		if s.SpanContext.TraceID().String() != fmt.Sprintf("%032x", i+1) || s.Parent.SpanID().String() != fmt.Sprintf("%016x", i+1) {
			t.Errorf("invocation %d is in trace %v under %v", i, s.SpanContext.TraceID(), s.Parent.SpanID())
		}
		if c := r.one(t, fmt.Sprintf("work req-%d", i)); c.Parent.SpanID() != s.SpanContext.SpanID() {
			t.Errorf("the child of invocation %d has another parent", i)
		}
	}
}

// TestResponseEncoding checks that responses are encoded as aws-lambda-go
// encodes them.
func TestResponseEncoding(t *testing.T) {
	t.Parallel()
	type resp struct {
		HTML  string `json:"html"`
		Big   int64  `json:"big"`
		Bytes []byte `json:"bytes"`
	}
	in := []byte(`{"html":"<b>&</b>","big":9007199254740993,"bytes":"AAE="}`)
	fn := func(ctx context.Context, e resp) (resp, error) { return e, nil }
	r := newRecorder(t)
	got, err := invoke(t, Wrap(fn, r.opts()...), "req-1", in)
	if err != nil {
		t.Fatal(err)
	}
	want, err := lambda.NewHandler(fn).Invoke(invokeCtx(t, "req-2", time.Minute), in)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("response %q, aws-lambda-go's %q", got, want)
	}
	if !strings.Contains(string(got), "9007199254740993") {
		t.Errorf("an int64 above 2^53 changed: %s", got)
	}
	// A json.RawMessage response goes as it is; a nil one is null.
	raw := Wrap(func(ctx context.Context, e json.RawMessage) (json.RawMessage, error) {
		if string(e) == "null" {
			return nil, nil
		}
		return e, nil
	}, r.opts()...)
	if got, _ := invoke(t, raw, "req-3", in); string(got) != string(in) {
		t.Errorf("raw response %s", got)
	}
	if got, _ := invoke(t, raw, "req-4", []byte("null")); string(got) != "null" {
		t.Errorf("nil raw response %q", got)
	}
	// A reader that is not JSON is read.
	rd := Wrap(func(ctx context.Context, e json.RawMessage) (*events.LambdaFunctionURLStreamingResponse, error) {
		return &events.LambdaFunctionURLStreamingResponse{StatusCode: 200, Body: strings.NewReader("hi")}, nil
	}, r.opts()...)
	if got, _ := invoke(t, rd, "req-5", in); !strings.HasSuffix(string(got), "hi") {
		t.Errorf("reader response %q", got)
	}
}
