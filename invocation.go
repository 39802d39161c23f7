package lambdaotel

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// core is what Wrap and WrapHandler share: the configuration, the tracer
// and what is known of the function.
type core struct {
	cfg    config
	tracer trace.Tracer
	// fnName names the spans of triggers without a name of their own.
	fnName string
	// version is AWS_LAMBDA_FUNCTION_VERSION, for cloud.resource_id.
	version string
	// arn caches the attributes derived from the last invoked ARN, which
	// is nearly always the same.
	arn atomic.Pointer[arnAttrs]
}

type arnAttrs struct {
	invoked string
	attrs   []attribute.KeyValue
}

func newCore(cfg config) *core {
	tp := cfg.tracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return &core{
		cfg:     cfg,
		tracer:  tp.Tracer(ScopeName, trace.WithInstrumentationVersion(Version), trace.WithSchemaURL(schemaURL)),
		fnName:  lambdacontext.FunctionName,
		version: os.Getenv("AWS_LAMBDA_FUNCTION_VERSION"),
	}
}

func (c *core) propagator() propagation.TextMapPropagator {
	if c.cfg.propagator != nil {
		return c.cfg.propagator
	}
	return otel.GetTextMapPropagator()
}

// invocation is one invocation's span and how it ends: when the handler
// returns or panics, or shortly before the deadline, whichever is first.
type invocation struct {
	c         *core
	requestID string
	span      trace.Span
	ended     atomic.Bool
	deadline  time.Time
	timer     *time.Timer
}

// start starts the invocation's span for the trigger t.
func (c *core) start(ctx context.Context, t *trigger) (context.Context, *invocation) {
	lc, _ := lambdacontext.FromContext(ctx)
	var carrier propagation.TextMapCarrier = noCarrier{}
	if t.carrier != nil {
		carrier = t.carrier
	} else if lc != nil && len(lc.ClientContext.Custom) > 0 {
		// A Lambda Invoke from an instrumented caller (InstrumentAWS)
		// carries the context in the client context's custom map.
		carrier = propagation.MapCarrier(lc.ClientContext.Custom)
	}
	// Extract even without a carrier: the xray-lambda propagator takes the
	// invocation's X-Ray context then.
	prop := c.propagator()
	if c.cfg.propagator != nil {
		// For ProcessSQS and InjectMessageAttributes.
		ctx = context.WithValue(ctx, propagatorKey{}, prop)
	}
	parent := prop.Extract(ctx, carrier)

	attrs := t.attrs
	name := t.name
	if lc != nil {
		attrs = append(attrs, semconv.FaaSInvocationID(lc.AwsRequestID))
		attrs = append(attrs, c.arnAttributes(lc.InvokedFunctionArn)...)
		if name == "" {
			name = c.functionName(lc.InvokedFunctionArn)
		}
	}
	if name == "" {
		name = c.functionName("")
	}
	attrs = append(attrs, semconv.FaaSColdstart(coldStart()))
	opts := []trace.SpanStartOption{trace.WithSpanKind(t.kind), trace.WithAttributes(attrs...)}
	if len(t.links) > 0 {
		opts = append(opts, trace.WithLinks(t.links...))
	}
	ctx, span := c.tracer.Start(parent, name, opts...)
	inv := &invocation{c: c, span: span}
	if lc != nil {
		inv.requestID = lc.AwsRequestID
	}
	if d, ok := ctx.Deadline(); ok {
		inv.deadline = d
		// With less than the margin left at the start (never so in Lambda,
		// whose timeouts are 1 s or more), there is no time to watch.
		if m := c.cfg.deadlineMargin; m > 0 {
			if wait := time.Until(d) - m; wait > 0 {
				inv.timer = time.AfterFunc(wait, inv.timeout)
			}
		}
	}
	return ctx, inv
}

// functionName is the name of spans of triggers without a name of their
// own: the function's name (AWS_LAMBDA_FUNCTION_NAME), as the semantic
// conventions ask.
func (c *core) functionName(invokedARN string) string {
	if c.fnName != "" {
		return c.fnName
	}
	if p := strings.Split(invokedARN, ":"); len(p) >= 7 && p[5] == "function" {
		return p[6]
	}
	return "lambda"
}

// arnAttributes returns aws.lambda.invoked_arn, cloud.account.id and
// cloud.resource_id for an invoked ARN.
func (c *core) arnAttributes(invoked string) []attribute.KeyValue {
	if invoked == "" {
		return nil
	}
	if a := c.arn.Load(); a != nil && a.invoked == invoked {
		return a.attrs
	}
	attrs := []attribute.KeyValue{semconv.AWSLambdaInvokedARN(invoked)}
	// arn:partition:lambda:region:account:function:name[:qualifier]
	if p := strings.Split(invoked, ":"); len(p) >= 7 && p[0] == "arn" && p[5] == "function" {
		attrs = append(attrs, semconv.CloudAccountID(p[4]))
		// cloud.resource_id is the function's ARN with the alias replaced
		// by the version that runs.
		id := strings.Join(p[:7], ":")
		if c.version != "" && c.version != "$LATEST" {
			id += ":" + c.version
		}
		attrs = append(attrs, semconv.CloudResourceID(id))
	}
	c.arn.Store(&arnAttrs{invoked: invoked, attrs: attrs})
	return attrs
}

// end ends the invocation's span after the handler returned err and, for
// HTTP triggers, the response's status code (0 if unknown), and flushes.
func (inv *invocation) end(err error, status int) {
	if inv.timer != nil {
		inv.timer.Stop()
	}
	if !inv.ended.CompareAndSwap(false, true) {
		// The timeout ended and flushed the span; send what the handler
		// ended since, if there is still time.
		inv.finish(true)
		return
	}
	span := inv.span
	if status > 0 {
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	}
	switch {
	case err != nil:
		span.SetAttributes(errorType(err))
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	case status >= 500:
		span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
		span.SetStatus(codes.Error, "")
	}
	span.End()
	inv.finish(false)
}

// errorType is error.type of an error the handler returned.
func errorType(err error) attribute.KeyValue {
	if e, ok := err.(messages.InvokeResponse_Error); ok && e.Type != "" {
		return semconv.ErrorTypeKey.String(e.Type)
	}
	return semconv.ErrorType(err)
}

// endPanic ends the span of a handler that panicked with v.
func (inv *invocation) endPanic(v any, stack []byte) {
	if inv.timer != nil {
		inv.timer.Stop()
	}
	if !inv.ended.CompareAndSwap(false, true) {
		inv.finish(true)
		return
	}
	typ := errorTypeOf(v)
	msg := panicMessage(v)
	inv.span.SetAttributes(semconv.ErrorTypeKey.String(typ))
	inv.span.AddEvent(semconv.ExceptionEventName, trace.WithAttributes(
		semconv.ExceptionType(typ),
		semconv.ExceptionMessage(msg),
		semconv.ExceptionStacktrace(string(stack)),
	))
	inv.span.SetStatus(codes.Error, "panic: "+msg)
	inv.span.End()
	inv.finish(false)
}

// finish flushes after the handler returned (quiet: without saying that
// no time was left) and tells the extension that the invocation's
// telemetry is complete.
func (inv *invocation) finish(quiet bool) {
	inv.c.flush(inv.deadline, quiet)
	if inv.c.cfg.flushTimeout <= 0 {
		return // not flushed: the batches leave later
	}
	deadline := inv.deadline
	if !deadline.IsZero() {
		deadline = deadline.Add(-inv.c.safetyMargin())
	}
	processEndSignal().send(inv.requestID, deadline)
}

// timeout ends the span of a handler that is still running shortly before
// the deadline, and flushes.
func (inv *invocation) timeout() {
	if !inv.ended.CompareAndSwap(false, true) {
		return
	}
	inv.span.SetAttributes(semconv.ErrorTypeKey.String("timeout"))
	inv.span.SetStatus(codes.Error, "the handler was still running "+inv.c.cfg.deadlineMargin.String()+" before the invocation's deadline")
	inv.span.End()
	inv.c.flush(inv.deadline, false)
}

// Cold starts. Lambda runs an on-demand environment's init when an
// invocation arrives, so the first invocation of the process is a cold
// start. With provisioned concurrency and on Lambda Managed Instances the
// init runs ahead of any invocation: no invocation waits for it, none is a
// cold start. SnapStart restores a snapshot when an invocation arrives:
// that first invocation is a cold start, as on demand.
var (
	initAhead = isInitAhead(os.Getenv("AWS_LAMBDA_INITIALIZATION_TYPE"))
	coldDone  atomic.Bool
)

func isInitAhead(initType string) bool {
	return initType == "provisioned-concurrency" || initType == "lambda-managed-instances"
}

// coldStart reports whether this is the environment's first invocation,
// exactly once even when invocations run at once.
func coldStart() bool {
	if coldDone.Load() {
		return false
	}
	return coldDone.CompareAndSwap(false, true) && !initAhead
}

// noCarrier is an empty carrier.
type noCarrier struct{}

func (noCarrier) Get(string) string  { return "" }
func (noCarrier) Set(string, string) {}
func (noCarrier) Keys() []string     { return nil }
