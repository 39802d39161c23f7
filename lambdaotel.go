package lambdaotel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime/debug"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Version is the version of this library, reported as the instrumentation
// scope's version.
const Version = "0.1.0-dev"

// ScopeName is the instrumentation scope of the spans and log records this
// library makes.
const ScopeName = "github.com/lambdaotel/lambdaotel"

// Defaults of the options.
const (
	// DefaultFlushTimeout is the longest a flush after an invocation may
	// take (see WithFlushTimeout).
	DefaultFlushTimeout = time.Second
	// DefaultDeadlineMargin is how long before the invocation's deadline a
	// handler that is still running has its span ended with a timeout error
	// and flushed (see WithDeadlineMargin).
	DefaultDeadlineMargin = 100 * time.Millisecond
)

// An Option configures Start, Wrap and WrapHandler.
type Option func(*config)

type config struct {
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	loggerProvider log.LoggerProvider
	propagator     propagation.TextMapPropagator
	flushTimeout   time.Duration
	deadlineMargin time.Duration
	lambdaOptions  []lambda.Option
}

// WithTracerProvider makes the spans with tp instead of the global tracer
// provider, and flushes tp after each invocation if it has a
// ForceFlush(context.Context) error method.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracerProvider = tp }
}

// WithMeterProvider flushes mp instead of the global meter provider after
// each invocation (if it has a ForceFlush(context.Context) error method).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.meterProvider = mp }
}

// WithLoggerProvider flushes lp instead of the global logger provider after
// each invocation (if it has a ForceFlush(context.Context) error method).
func WithLoggerProvider(lp log.LoggerProvider) Option {
	return func(c *config) { c.loggerProvider = lp }
}

// WithPropagator extracts the parent context of invocations (and message
// contexts) with p instead of the global propagator, which Start sets from
// OTEL_PROPAGATORS.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.propagator = p }
}

// WithFlushTimeout limits how long the flush after each invocation may take
// (default DefaultFlushTimeout). The flush is also limited by the
// invocation's deadline: it ends a safety margin (a fifth of the deadline
// margin) before it. A zero or negative d turns the flush off, for
// functions whose providers export synchronously.
func WithFlushTimeout(d time.Duration) Option {
	return func(c *config) { c.flushTimeout = d }
}

// WithDeadlineMargin sets how long before the invocation's deadline a
// handler that has not returned has its span ended with status ERROR and
// error.type "timeout", and flushed (default DefaultDeadlineMargin): Lambda
// stops the function at the deadline, and the span would be lost. A zero
// or negative d turns this off.
func WithDeadlineMargin(d time.Duration) Option {
	return func(c *config) { c.deadlineMargin = d }
}

// WithLambdaOptions passes options to lambda.StartWithOptions (Start and
// StartHandler only). The JSON options of aws-lambda-go do not apply to
// handlers given to Start, which decode and encode JSON themselves.
func WithLambdaOptions(opts ...lambda.Option) Option {
	return func(c *config) { c.lambdaOptions = append(c.lambdaOptions, opts...) }
}

func newConfig(opts []Option) config {
	c := config{flushTimeout: DefaultFlushTimeout, deadlineMargin: DefaultDeadlineMargin}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// Start sets up OpenTelemetry from the environment (see Setup), wraps
// handler (see Wrap) and runs it with lambda.StartWithOptions. On SIGTERM,
// which Lambda sends before it shuts the environment down, it shuts the
// providers down. What could not be set up is written to stderr, and the
// function runs regardless: instrumentation never stops a function from
// serving. Start does not return.
func Start[TIn, TOut any](handler func(context.Context, TIn) (TOut, error), opts ...Option) {
	shutdown := setupForStart()
	cfg := newConfig(opts)
	lopts := append(cfg.lambdaOptions, lambda.WithEnableSIGTERM(shutdown))
	if isReader[TOut]() {
		// A function aws-lambda-go calls, so that a streamed response
		// reaches it unread (see Wrap) and the options apply.
		lambda.StartWithOptions(newTyped(handler, opts).invokeReader, lopts...)
		return
	}
	lambda.StartWithOptions(Wrap(handler, opts...), lopts...)
}

// StartHandler is Start for a lambda.Handler (see WrapHandler). Every
// other handler shape aws-lambda-go accepts can be started this way:
//
//	lambdaotel.StartHandler(lambda.NewHandler(handler))
func StartHandler(handler lambda.Handler, opts ...Option) {
	shutdown := setupForStart()
	cfg := newConfig(opts)
	lambda.StartWithOptions(WrapHandler(handler, opts...), append(cfg.lambdaOptions, lambda.WithEnableSIGTERM(shutdown))...)
}

// setupForStart runs Setup and returns what to run on SIGTERM.
func setupForStart() func() {
	shutdown, err := Setup(context.Background())
	if err != nil {
		logf("setup: %v", err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			logf("shutdown: %v", err)
		}
	}
}

// shutdownTimeout bounds the shutdown on SIGTERM: with extensions, Lambda
// gives the runtime 300 ms (500 ms with internal extensions only) between
// SIGTERM and SIGKILL.
const shutdownTimeout = 250 * time.Millisecond

// Wrap returns a lambda.Handler that runs handler in a span per invocation
// (see the package documentation) and flushes the telemetry before it
// returns the response. It decodes the event into TIn and encodes the
// response as aws-lambda-go does (encoding/json, no HTML escaping, a TOut
// that cannot be encoded but is an io.Reader is read as is), without
// reflection on the handler. A json.RawMessage event is the payload itself.
// The trigger is chosen from TIn when it is an event type of
// github.com/aws/aws-lambda-go/events (or a pointer to one), else from the
// payload's shape.
//
// Wrap uses the global providers and propagator unless options say
// otherwise; it may be called before they are set.
//
// A handler whose response type is an io.Reader, such as a function URL's
// *events.LambdaFunctionURLStreamingResponse, has a response that
// aws-lambda-go would send as is (it does not encode as JSON) passed to
// aws-lambda-go unread, with its content type: the returned handler is
// then one of lambda.NewHandler, which lambda.Start runs as it is.
func Wrap[TIn, TOut any](handler func(context.Context, TIn) (TOut, error), opts ...Option) lambda.Handler {
	h := newTyped(handler, opts)
	if isReader[TOut]() {
		return lambda.NewHandler(h.invokeReader)
	}
	return h
}

// newTyped returns the typed handler of handler.
func newTyped[TIn, TOut any](handler func(context.Context, TIn) (TOut, error), opts []Option) *typedHandler[TIn, TOut] {
	return &typedHandler[TIn, TOut]{
		c:      newCore(newConfig(opts)),
		fn:     handler,
		in:     kindOf[TIn](),
		rawIn:  isRawMessage[TIn](),
		rawOut: isRawMessage[TOut](),
		// Checked at each invocation only where it may be true.
		readerOut: mayBeReader[TOut](),
		resp:      responseKindOf[TOut](),
	}
}

// WrapHandler returns a lambda.Handler that runs handler in a span per
// invocation, as Wrap does. The trigger is chosen from the payload's shape,
// and for HTTP triggers the status code is read from the response.
func WrapHandler(handler lambda.Handler, opts ...Option) lambda.Handler {
	return &rawHandler{c: newCore(newConfig(opts)), h: handler}
}

type typedHandler[TIn, TOut any] struct {
	c             *core
	fn            func(context.Context, TIn) (TOut, error)
	in            kind
	rawIn, rawOut bool
	readerOut     bool
	resp          responseKind
}

// Invoke implements lambda.Handler.
func (h *typedHandler[TIn, TOut]) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, _, err := h.run(ctx, payload, false)
	return out, err
}

// invokeReader is the function lambda.NewHandler calls for handlers whose
// response type is an io.Reader: a response sent as is is returned unread;
// a JSON one as aws-lambda-go sends JSON.
func (h *typedHandler[TIn, TOut]) invokeReader(ctx context.Context, payload json.RawMessage) (io.Reader, error) {
	out, r, err := h.run(ctx, payload, true)
	if err != nil {
		return nil, err
	}
	if r != nil {
		return r, nil
	}
	return jsonResponse{bytes.NewReader(out)}, nil
}

// jsonResponse is an encoded JSON response, which aws-lambda-go sends as
// is (it cannot be encoded again) with the content type it gives JSON.
type jsonResponse struct{ *bytes.Reader }

// ContentType is the content type aws-lambda-go sends the response with.
func (jsonResponse) ContentType() string { return "application/json" }

// MarshalJSON fails, so that aws-lambda-go sends the response as is.
func (jsonResponse) MarshalJSON() ([]byte, error) {
	return nil, errors.New("an encoded response")
}

// run runs an invocation. With asReader, a response sent as is (an
// io.Reader that does not encode as JSON) is returned as r, unread;
// otherwise it is read into out.
func (h *typedHandler[TIn, TOut]) run(ctx context.Context, payload []byte, asReader bool) (out []byte, r io.Reader, err error) {
	var in TIn
	if h.rawIn {
		// The payload's buffer is reused by aws-lambda-go after the
		// invocation: the handler gets a copy it may keep.
		*any(&in).(*json.RawMessage) = append(json.RawMessage(nil), payload...)
	} else {
		err = json.Unmarshal(payload, &in)
	}
	t := newTrigger()
	if err == nil {
		h.c.classify(t, h.in, any(&in), payload)
	} else {
		t.other()
	}
	ctx, inv := h.c.start(ctx, t)
	defer inv.recover()
	if err != nil {
		inv.end(err, 0)
		return nil, nil, err
	}
	res, err := h.fn(ctx, in)
	if err != nil {
		inv.authorizerError(t, err)
		inv.end(err, 0)
		return nil, nil, err
	}
	out, r, err = h.encode(&res, asReader)
	status := 0
	if t.http != 0 && err == nil {
		status = h.statusOf(t, &res, out)
	}
	if t.authorizer && err == nil {
		inv.authorizerDecision(out)
	}
	inv.end(err, status)
	return out, r, err
}

// encode encodes the response as aws-lambda-go does: JSON without HTML
// escaping nor trailing newline; an io.Reader that cannot be encoded, or
// that encodes as {}, is read instead (with asReader, returned unread).
func (h *typedHandler[TIn, TOut]) encode(res *TOut, asReader bool) ([]byte, io.Reader, error) {
	if h.rawOut {
		if raw := *any(res).(*json.RawMessage); len(raw) > 0 {
			return raw, nil, nil
		}
		return []byte("null"), nil, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(res)
	if h.readerOut {
		if r, ok := any(*res).(io.Reader); ok && (err != nil || bytes.HasPrefix(buf.Bytes(), []byte("{}"))) {
			if asReader {
				return nil, r, nil
			}
			if c, ok := r.(io.Closer); ok {
				defer c.Close()
			}
			out, err := io.ReadAll(r)
			return out, nil, err
		}
	}
	if err != nil {
		return nil, nil, err
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil, nil
}

func (h *typedHandler[TIn, TOut]) statusOf(t *trigger, res *TOut, out []byte) int {
	if code, ok := statusFromResponse(h.resp, any(res)); ok {
		return code
	}
	return statusFromPayload(t, out)
}

// isReader reports whether T is an io.Reader.
func isReader[T any]() bool {
	return reflect.TypeFor[T]().Implements(reflect.TypeFor[io.Reader]())
}

// mayBeReader reports whether a T value may be an io.Reader.
func mayBeReader[T any]() bool {
	t := reflect.TypeFor[T]()
	return t.Kind() == reflect.Interface || t.Implements(reflect.TypeFor[io.Reader]())
}

type rawHandler struct {
	c *core
	h lambda.Handler
}

// Invoke implements lambda.Handler.
func (h *rawHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	t := newTrigger()
	h.c.classify(t, kindRaw, nil, payload)
	ctx, inv := h.c.start(ctx, t)
	defer inv.recover()
	out, err := h.h.Invoke(ctx, payload)
	status := 0
	if t.http != 0 && err == nil {
		status = statusFromPayload(t, out)
	}
	if t.authorizer {
		if err == nil {
			inv.authorizerDecision(out)
		} else {
			inv.authorizerError(t, err)
		}
	}
	inv.end(err, status)
	return out, err
}

// authorizerDecision records the decision of an authorizer's response.
func (inv *invocation) authorizerDecision(out []byte) {
	if kv, ok := authorizerDecision(out); ok {
		inv.span.SetAttributes(kv)
	}
}

// authorizerError records the decision of an authorizer that returned err.
func (inv *invocation) authorizerError(t *trigger, err error) {
	if !t.authorizer {
		return
	}
	if kv, ok := authorizerErrorDecision(err); ok {
		inv.span.SetAttributes(kv)
	}
}

// recover, deferred by the handlers, records a panic of the handler on
// the invocation's span, ends and flushes it, and panics again so that
// aws-lambda-go reports it.
func (inv *invocation) recover() {
	if v := recover(); v != nil {
		inv.endPanic(v, debug.Stack())
		panic(v)
	}
}

// errorTypeOf is error.type of a panic value.
func errorTypeOf(v any) string {
	if err, ok := v.(error); ok {
		return semconv.ErrorType(err).Value.AsString()
	}
	return fmt.Sprintf("%T", v)
}

// flusher is what the SDK providers implement.
type flusher interface {
	ForceFlush(context.Context) error
}

// providers returns the providers to flush.
func (c *core) flushers() [3]flusher {
	var out [3]flusher
	var tp any = c.cfg.tracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	var mp any = c.cfg.meterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	var lp any = c.cfg.loggerProvider
	if lp == nil {
		lp = otel.GetLoggerProvider()
	}
	out[0], _ = tp.(flusher)
	out[1], _ = mp.(flusher)
	out[2], _ = lp.(flusher)
	return out
}

var signalNames = [3]string{"traces", "metrics", "logs"}

// flush force-flushes the providers within the flush budget: the smaller
// of the flush timeout and the time left before deadline (if any) minus a
// safety margin. Without time left, it says so unless quiet.
func (c *core) flush(deadline time.Time, quiet bool) {
	budget := c.cfg.flushTimeout
	if budget <= 0 {
		return
	}
	if !deadline.IsZero() {
		if left := time.Until(deadline) - c.safetyMargin(); left < budget {
			budget = left
		}
	}
	if budget <= 0 {
		if !quiet {
			logf("no time left before the deadline to flush the invocation's telemetry")
		}
		return
	}
	fs := c.flushers()
	n := 0
	for _, f := range fs {
		if f != nil {
			n++
		}
	}
	if n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	if n == 1 {
		for i, f := range fs {
			if f != nil {
				report(i, f.ForceFlush(ctx))
			}
		}
		return
	}
	// Several signals: flush them at once, so that one slow export does
	// not use up the others' budget.
	done := make(chan struct{}, len(fs))
	for i, f := range fs {
		if f == nil {
			continue
		}
		go func() {
			report(i, f.ForceFlush(ctx))
			done <- struct{}{}
		}()
	}
	for range n {
		<-done
	}
}

func report(signal int, err error) {
	if err != nil {
		logf("flush %s: %v", signalNames[signal], err)
	}
}

// safetyMargin is kept free before the deadline when flushing: the
// runtime still has to send the response.
func (c *core) safetyMargin() time.Duration {
	if c.cfg.deadlineMargin > 0 {
		return c.cfg.deadlineMargin / 5
	}
	return DefaultDeadlineMargin / 5
}

// logf writes a line about the library's own trouble to stderr, which
// Lambda sends to the function's log.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "lambdaotel: "+format+"\n", args...)
}

func (h *typedHandler[TIn, TOut]) coreOf() *core { return h.c }
func (h *rawHandler) coreOf() *core              { return h.c }
