package lambdaotel

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// SQS follows the SQS section of the AWS Lambda conventions
// (https://opentelemetry.io/docs/specs/semconv/faas/aws-lambda/#sqs): the
// invocation is a CONSUMER span "<queue> process" with a link per message,
// and each message processed with ProcessSQS is a CONSUMER span of its own,
// a child of the invocation's span linked to the message's upstream
// context.

// sqsAWSTraceHeader is the SQS system attribute that carries the X-Ray
// context of the message's producer.
const sqsAWSTraceHeader = "AWSTraceHeader"

// sqs: the batch span.
func (c *core) sqs(t *trigger, e *events.SQSEvent) {
	t.kind = trace.SpanKindConsumer
	t.add(semconv.FaaSTriggerPubSub, semconv.MessagingSystemAWSSQS,
		semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"),
		semconv.MessagingBatchMessageCount(len(e.Records)))
	queue, multiple := "", false
	for i := range e.Records {
		q := arnResource(e.Records[i].EventSourceARN)
		if i == 0 {
			queue = q
		} else if q != queue {
			multiple = true
		}
	}
	if multiple {
		t.name = "multiple_sources process"
	} else {
		t.name = sourceProcessName(queue)
		if queue != "" {
			t.add(semconv.MessagingDestinationName(queue))
		}
	}
	if len(e.Records) == 0 {
		return
	}
	prop := c.propagator()
	links := make([]trace.Link, 0, len(e.Records))
	ids := make([]attribute.KeyValue, len(e.Records))
	for i := range e.Records {
		m := &e.Records[i]
		sc, _ := sqsMessageContext(messageContext, prop, m)
		if !sc.IsValid() {
			continue
		}
		ids[i] = semconv.MessagingMessageID(m.MessageId)
		links = append(links, trace.Link{SpanContext: sc, Attributes: ids[i : i+1 : i+1]})
	}
	t.links = links
}

// sqsMessageContext returns the upstream context of a message: the W3C (or
// other propagators') context of its message attributes, else the X-Ray
// context of its AWSTraceHeader system attribute; and ctx with the
// message's baggage, if it has any.
func sqsMessageContext(ctx context.Context, prop propagation.TextMapPropagator, m *events.SQSMessage) (trace.SpanContext, context.Context) {
	var sc trace.SpanContext
	if len(m.MessageAttributes) > 0 {
		mctx := prop.Extract(ctx, sqsCarrier(m.MessageAttributes))
		if s := trace.SpanContextFromContext(mctx); s.IsValid() && s.IsRemote() {
			sc = s
		}
		if b := baggage.FromContext(mctx); b.Len() > 0 {
			ctx = baggage.ContextWithBaggage(ctx, b)
		}
	}
	if !sc.IsValid() {
		if h := m.Attributes[sqsAWSTraceHeader]; h != "" {
			sc = xrayContext(h)
		}
	}
	return sc, ctx
}

// xrayContext parses an X-Ray trace header.
func xrayContext(header string) trace.SpanContext {
	ctx := XRayPropagator{}.Extract(context.Background(), xrayCarrier(header))
	return trace.SpanContextFromContext(ctx)
}

// xrayCarrier is a carrier of one X-Ray trace header.
type xrayCarrier string

const xrayHeader = "X-Amzn-Trace-Id"

func (c xrayCarrier) Get(key string) string {
	if strings.EqualFold(key, xrayHeader) {
		return string(c)
	}
	return ""
}
func (xrayCarrier) Set(string, string) {}
func (xrayCarrier) Keys() []string     { return []string{xrayHeader} }

// sqsCarrier reads propagation fields from SQS message attributes.
type sqsCarrier map[string]events.SQSMessageAttribute

func (c sqsCarrier) Get(key string) string {
	a, ok := lookupFold(c, key, "")
	if !ok || a.StringValue == nil {
		return ""
	}
	return *a.StringValue
}
func (sqsCarrier) Set(string, string) {}
func (c sqsCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// snsCarrier reads propagation fields from SNS message attributes as
// Lambda delivers them: {"name": {"Type": "String", "Value": "..."}}.
type snsCarrier map[string]any

func (c snsCarrier) Get(key string) string {
	a, ok := lookupFold(c, key, "")
	if !ok {
		return ""
	}
	m, _ := a.(map[string]any)
	v, _ := m["Value"].(string)
	return v
}
func (snsCarrier) Set(string, string) {}
func (c snsCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// ProcessSQS calls process for each message of event, in order, each in a
// CONSUMER span "<queue> process" of its own: a child of the span in ctx
// (the invocation's), linked to the message's upstream context (its W3C
// message attributes, else its AWSTraceHeader), with the message's baggage
// in its context. It returns the partial batch response that lists the
// messages process failed (returned an error) for, so that SQS retries
// only those; the function's event source mapping must have
// ReportBatchItemFailures on.
//
// For a FIFO queue, the messages after the first failure are not processed
// and are reported as failed too, as SQS requires to keep their order.
// Messages not yet processed when ctx ends are reported as failed without
// being processed. A panic in process is recorded on the message's span
// and goes on.
func ProcessSQS(ctx context.Context, event events.SQSEvent, process func(context.Context, events.SQSMessage) error) events.SQSEventResponse {
	var resp events.SQSEventResponse
	rp := newRecordProcessor(ctx)
	for i := range event.Records {
		m := &event.Records[i]
		if rp.stop() {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		queue := arnResource(m.EventSourceARN)
		sc, mctx := sqsMessageContext(ctx, rp.prop, m)
		attrs := []attribute.KeyValue{
			semconv.FaaSTriggerPubSub, semconv.MessagingSystemAWSSQS,
			semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"),
			semconv.MessagingDestinationName(queue), semconv.MessagingMessageID(m.MessageId),
			semconv.MessagingMessageBodySize(len(m.Body)),
		}
		err := rp.run(mctx, sourceProcessName(queue), attrs, sc, func(ctx context.Context) error { return process(ctx, *m) })
		if err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			if strings.HasSuffix(m.EventSourceARN, ".fifo") {
				rp.failed = true
			}
		}
	}
	return resp
}

// ProcessKinesis calls process for each record of event, in order, each
// in a CONSUMER span "process <stream>" of its own, a child of the span in
// ctx. Lambda retries a stream batch from the lowest failed sequence
// number, so processing stops at the first failure (or when ctx ends) and
// the response reports that record; the event source mapping must have
// ReportBatchItemFailures on. A panic in process is recorded on the
// record's span and goes on.
func ProcessKinesis(ctx context.Context, event events.KinesisEvent, process func(context.Context, events.KinesisEventRecord) error) events.KinesisEventResponse {
	var resp events.KinesisEventResponse
	rp := newRecordProcessor(ctx)
	for i := range event.Records {
		r := &event.Records[i]
		if rp.stop() {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: r.Kinesis.SequenceNumber})
			break
		}
		stream := arnResource(r.EventSourceArn)
		attrs := []attribute.KeyValue{
			semconv.FaaSTriggerPubSub, messagingSystemKinesis,
			semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"),
			semconv.MessagingDestinationName(stream), semconv.AWSKinesisStreamName(stream),
			semconv.MessagingMessageID(r.EventID), semconv.MessagingMessageBodySize(len(r.Kinesis.Data)),
		}
		if shard, _, ok := strings.Cut(r.EventID, ":"); ok {
			attrs = append(attrs, semconv.MessagingDestinationPartitionID(shard))
		}
		err := rp.run(ctx, processName(stream), attrs, trace.SpanContext{}, func(ctx context.Context) error { return process(ctx, *r) })
		if err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: r.Kinesis.SequenceNumber})
			break
		}
	}
	return resp
}

// ProcessDynamoDB calls process for each record of a DynamoDB stream
// event, in order, each in a CONSUMER span "<table> process" of its own
// with the faas.document.* attributes of the change, a child of the span
// in ctx. As for Kinesis, processing stops at the first failure (or when
// ctx ends) and the response reports that record.
func ProcessDynamoDB(ctx context.Context, event events.DynamoDBEvent, process func(context.Context, events.DynamoDBEventRecord) error) events.DynamoDBEventResponse {
	var resp events.DynamoDBEventResponse
	rp := newRecordProcessor(ctx)
	for i := range event.Records {
		r := &event.Records[i]
		if rp.stop() {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
			break
		}
		table := dynamoDBTable(r.EventSourceArn)
		attrs := []attribute.KeyValue{semconv.FaaSTriggerDatasource, semconv.FaaSDocumentCollection(table)}
		if op := dynamoDBOperation(r.EventName); op != "" {
			attrs = append(attrs, semconv.FaaSDocumentOperationKey.String(op))
		}
		if t := r.Change.ApproximateCreationDateTime.Time; !t.IsZero() {
			attrs = append(attrs, semconv.FaaSDocumentTime(t.UTC().Format(time.RFC3339)))
		}
		if r.EventID != "" {
			attrs = append(attrs, semconv.MessagingMessageID(r.EventID))
		}
		err := rp.run(ctx, sourceProcessName(table), attrs, trace.SpanContext{}, func(ctx context.Context) error { return process(ctx, *r) })
		if err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
			break
		}
	}
	return resp
}

// recordProcessor runs the per-record functions.
type recordProcessor struct {
	ctx    context.Context
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	failed bool // stop processing (FIFO queue after a failure)
}

func newRecordProcessor(ctx context.Context) *recordProcessor {
	// The span in ctx is the invocation's: its provider makes the
	// records' spans too.
	tp := trace.SpanFromContext(ctx).TracerProvider()
	prop := propagatorFrom(ctx)
	return &recordProcessor{
		ctx:    ctx,
		tracer: tp.Tracer(ScopeName, trace.WithInstrumentationVersion(Version), trace.WithSchemaURL(schemaURL)),
		prop:   prop,
	}
}

// stop reports whether the remaining records are to be reported as failed
// without processing.
func (rp *recordProcessor) stop() bool {
	return rp.failed || rp.ctx.Err() != nil
}

// run runs f in a CONSUMER span named name, linked to link if valid.
func (rp *recordProcessor) run(ctx context.Context, name string, attrs []attribute.KeyValue, link trace.SpanContext, f func(context.Context) error) (err error) {
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...)}
	if link.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: link}))
	}
	ctx, span := rp.tracer.Start(ctx, name, opts...)
	defer func() {
		if v := recover(); v != nil {
			typ := errorTypeOf(v)
			msg := panicMessage(v)
			span.SetAttributes(semconv.ErrorTypeKey.String(typ))
			span.AddEvent(semconv.ExceptionEventName, trace.WithAttributes(
				semconv.ExceptionType(typ), semconv.ExceptionMessage(msg)))
			span.SetStatus(codes.Error, "panic: "+msg)
			span.End()
			panic(v)
		}
		if err != nil {
			span.SetAttributes(errorType(err))
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	return f(ctx)
}

// propagatorKey is the context key of the propagator of the invocation.
type propagatorKey struct{}

// propagatorFrom returns the propagator the invocation of ctx uses.
func propagatorFrom(ctx context.Context) propagation.TextMapPropagator {
	if p, ok := ctx.Value(propagatorKey{}).(propagation.TextMapPropagator); ok {
		return p
	}
	return otel.GetTextMapPropagator()
}

// InjectMessageAttributes calls set with the name and value of each
// propagation field of ctx (with the default propagators: traceparent,
// tracestate and baggage), for outgoing SQS or SNS message attributes of
// type String, so that the function that receives the message continues
// the trace:
//
//	attrs := map[string]types.MessageAttributeValue{}
//	lambdaotel.InjectMessageAttributes(ctx, func(name, value string) {
//		attrs[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(value)}
//	})
//
// It uses the propagator of the invocation (see WithPropagator), or the
// global one outside an invocation. SQS and SNS allow 10 message
// attributes per message.
func InjectMessageAttributes(ctx context.Context, set func(name, value string)) {
	propagatorFrom(ctx).Inject(ctx, setCarrier(set))
}

type setCarrier func(name, value string)

func (s setCarrier) Get(string) string      { return "" }
func (s setCarrier) Set(name, value string) { s(name, value) }
func (s setCarrier) Keys() []string         { return nil }

// AWSTraceHeader returns the span context of ctx as an X-Ray trace header
// ("Root=1-...;Parent=...;Sampled=1"), or "" if ctx has none: the value
// of the AWSTraceHeader message system attribute of an outgoing SQS
// message, which the semantic conventions make the receiving side link to
// whatever propagators it uses.
func AWSTraceHeader(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	sampled := "0"
	if sc.IsSampled() {
		sampled = "1"
	}
	tid := sc.TraceID().String()
	return fmt.Sprintf("Root=1-%s-%s;Parent=%s;Sampled=%s", tid[:8], tid[8:], sc.SpanID(), sampled)
}
