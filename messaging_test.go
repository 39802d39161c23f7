package lambdaotel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

const (
	upstreamTrace1 = "4bf92f3577b34da6a3ce929d0e0e4736"
	upstreamSpan1  = "00f067aa0ba902b7"
	upstreamTrace2 = "5759e988bd862e3fe1be46a994272793"
	upstreamSpan2  = "53995c3f42cd8ad8"
)

// sqsBatch returns aws-lambda-go's sample SQS message n times: message 0
// carries a W3C context in its message attributes, message 1 an X-Ray
// context in its AWSTraceHeader, the others nothing.
func sqsBatch(t testing.TB, n int) events.SQSEvent {
	t.Helper()
	one := sampleAs[events.SQSEvent](t, "sqs-event.json").Records[0]
	var e events.SQSEvent
	for i := range n {
		m := one
		m.MessageId = fmt.Sprintf("msg-%d", i)
		m.Body = fmt.Sprintf("body %d", i)
		m.Attributes = maps(one.Attributes)
		m.MessageAttributes = maps(one.MessageAttributes)
		switch i {
		case 0:
			tp := traceparent(newSpanContext(t, upstreamTrace1, upstreamSpan1))
			m.MessageAttributes["traceparent"] = events.SQSMessageAttribute{DataType: "String", StringValue: &tp}
			bag := "tenant=acme"
			m.MessageAttributes["baggage"] = events.SQSMessageAttribute{DataType: "String", StringValue: &bag}
		case 1:
			m.Attributes["AWSTraceHeader"] = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
		}
		e.Records = append(e.Records, m)
	}
	return e
}

func maps[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func linkIDs(links []sdktrace.Link) []string {
	var out []string
	for _, l := range links {
		out = append(out, l.SpanContext.TraceID().String()+"/"+l.SpanContext.SpanID().String())
	}
	return out
}

// TestSQSBatch checks the batch span and, through ProcessSQS, the message
// spans and the partial batch response.
func TestSQSBatch(t *testing.T) {
	t.Parallel()
	for _, shape := range []string{"typed", "raw"} {
		t.Run(shape, func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t)
			batch := sqsBatch(t, 4)
			var tenants []string
			process := func(ctx context.Context, m events.SQSMessage) error {
				tenants = append(tenants, baggageMember(ctx, "tenant"))
				if m.MessageId == "msg-2" {
					return errors.New("cannot process msg-2")
				}
				return nil
			}
			var h lambda.Handler
			if shape == "typed" {
				h = Wrap(func(ctx context.Context, e events.SQSEvent) (events.SQSEventResponse, error) {
					return ProcessSQS(ctx, e, process), nil
				}, r.opts()...)
			} else {
				h = WrapHandler(lambda.NewHandler(func(ctx context.Context, e events.SQSEvent) (events.SQSEventResponse, error) {
					return ProcessSQS(ctx, e, process), nil
				}), r.opts()...)
			}
			out, err := invoke(t, h, "req-1", mustJSON(t, batch))
			if err != nil {
				t.Fatal(err)
			}
			var resp events.SQSEventResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatal(err)
			}
			if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "msg-2" {
				t.Errorf("batch item failures %+v, want msg-2", resp.BatchItemFailures)
			}
			if !slices.Equal(tenants, []string{"acme", "", "", ""}) {
				t.Errorf("baggage per message %q, want acme for the first only", tenants)
			}

			spans := r.named("SQSQueue process")
			if len(spans) != 5 {
				t.Fatalf("%d spans named %q, want the batch and 4 messages", len(spans), "SQSQueue process")
			}
			var b tracetest.SpanStub
			for _, s := range spans {
				if !s.Parent.IsValid() {
					b = s
				}
			}
			if b.SpanKind != trace.SpanKindConsumer || b.Status.Code != codes.Unset {
				t.Errorf("batch span kind %v, status %v", b.SpanKind, b.Status)
			}
			checkAttrs(t, "batch", b.Attributes, map[string]any{
				"faas.trigger": "pubsub", "messaging.system": "aws_sqs", "messaging.operation.type": "process",
				"messaging.operation.name": "process", "messaging.destination.name": "SQSQueue",
				"messaging.batch.message_count": 4, "faas.invocation_id": "req-1", "cloud.account.id": "123456789012",
			})
			wantLinks := []string{upstreamTrace1 + "/" + upstreamSpan1, upstreamTrace2 + "/" + upstreamSpan2}
			if got := linkIDs(b.Links); !slices.Equal(got, wantLinks) {
				t.Errorf("batch links %q, want %q", got, wantLinks)
			}
			for i, l := range b.Links {
				checkAttrs(t, "link", l.Attributes, map[string]any{"messaging.message.id": fmt.Sprintf("msg-%d", i)})
			}
			for _, s := range spans {
				if s.SpanContext.SpanID() == b.SpanContext.SpanID() {
					continue
				}
				id := attrs(s.Attributes)["messaging.message.id"]
				if s.Parent.SpanID() != b.SpanContext.SpanID() || s.SpanKind != trace.SpanKindConsumer {
					t.Errorf("message %v: parent %v kind %v, want the batch span, consumer", id, s.Parent.SpanID(), s.SpanKind)
				}
				checkAttrs(t, fmt.Sprint(id), s.Attributes, map[string]any{
					"messaging.system": "aws_sqs", "messaging.destination.name": "SQSQueue",
					"messaging.operation.type": "process", "messaging.message.body.size": 6,
				})
				var want []string
				switch id {
				case "msg-0":
					want = wantLinks[:1]
				case "msg-1":
					want = wantLinks[1:]
				}
				if got := linkIDs(s.Links); !slices.Equal(got, want) {
					t.Errorf("message %v links %q, want %q", id, got, want)
				}
				failed := id == "msg-2"
				if (s.Status.Code == codes.Error) != failed {
					t.Errorf("message %v status %v", id, s.Status)
				}
				if failed {
					checkAttrs(t, "msg-2", s.Attributes, map[string]any{"error.type": "*errors.errorString"})
				}
			}
		})
	}
}

// TestSQSFIFOAndDeadline checks that a FIFO queue's messages after a
// failure, and messages left when the context ends, are reported as
// failed without being processed.
func TestSQSFIFOAndDeadline(t *testing.T) {
	t.Parallel()
	batch := sqsBatch(t, 4)
	for i := range batch.Records {
		batch.Records[i].EventSourceARN = "arn:aws:sqs:us-east-1:123456789012:orders.fifo"
	}
	var processed []string
	resp := ProcessSQS(context.Background(), batch, func(ctx context.Context, m events.SQSMessage) error {
		processed = append(processed, m.MessageId)
		if m.MessageId == "msg-1" {
			return errors.New("no")
		}
		return nil
	})
	if !slices.Equal(processed, []string{"msg-0", "msg-1"}) {
		t.Errorf("processed %q, want msg-0 and msg-1 only", processed)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if !slices.Equal(failed, []string{"msg-1", "msg-2", "msg-3"}) {
		t.Errorf("failures %q, want msg-1 to msg-3", failed)
	}

	ctx, cancel := context.WithCancel(context.Background())
	processed = nil
	resp = ProcessSQS(ctx, sqsBatch(t, 3), func(ctx context.Context, m events.SQSMessage) error {
		processed = append(processed, m.MessageId)
		cancel()
		return nil
	})
	if len(processed) != 1 || len(resp.BatchItemFailures) != 2 {
		t.Errorf("after the context ended: processed %q, failures %+v", processed, resp.BatchItemFailures)
	}
}

// TestSQSMultipleSources checks the batch span of messages from two queues.
func TestSQSMultipleSources(t *testing.T) {
	t.Parallel()
	r := newRecorder(t)
	batch := sqsBatch(t, 2)
	batch.Records[1].EventSourceARN = "arn:aws:sqs:us-west-2:123456789012:Other"
	h := Wrap(func(ctx context.Context, e events.SQSEvent) (any, error) { return nil, nil }, r.opts()...)
	if _, err := invoke(t, h, "req-1", mustJSON(t, batch)); err != nil {
		t.Fatal(err)
	}
	s := r.one(t, "multiple_sources process")
	checkAttrs(t, s.Name, s.Attributes, map[string]any{"messaging.destination.name": nil, "messaging.batch.message_count": 2})
}

// TestInjectExtract sends a message the way InjectMessageAttributes and
// AWSTraceHeader prepare it and receives it: the receiving batch span
// links to the sending span.
func TestInjectExtract(t *testing.T) {
	t.Parallel()
	r := newRecorder(t)
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	ctx, send := r.tp.Tracer("test").Start(context.WithValue(context.Background(), propagatorKey{}, prop), "send")
	msgAttrs := map[string]events.SQSMessageAttribute{}
	InjectMessageAttributes(ctx, func(name, value string) {
		msgAttrs[name] = events.SQSMessageAttribute{DataType: "String", StringValue: &value}
	})
	if _, ok := msgAttrs["traceparent"]; !ok {
		t.Fatalf("no traceparent injected: %v", msgAttrs)
	}
	header := AWSTraceHeader(ctx)
	send.End()
	want := send.SpanContext().TraceID().String() + "/" + send.SpanContext().SpanID().String()

	for name, m := range map[string]events.SQSMessage{
		"message attributes": {MessageId: "a", EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:1:q", MessageAttributes: msgAttrs},
		"AWSTraceHeader":     {MessageId: "b", EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:1:q", Attributes: map[string]string{"AWSTraceHeader": header}},
	} {
		h := Wrap(func(ctx context.Context, e events.SQSEvent) (any, error) { return nil, nil }, r.opts()...)
		if _, err := invoke(t, h, "req-"+name, mustJSON(t, events.SQSEvent{Records: []events.SQSMessage{m}})); err != nil {
			t.Fatal(err)
		}
		for _, s := range r.named("q process") {
			if attrs(s.Attributes)["faas.invocation_id"] == "req-"+name {
				if got := linkIDs(s.Links); !slices.Equal(got, []string{want}) {
					t.Errorf("%s: links %q, want %q", name, got, want)
				}
			}
		}
	}
	if AWSTraceHeader(context.Background()) != "" {
		t.Errorf("AWSTraceHeader without a span is not empty")
	}
}

// TestOtherTriggers checks SNS, S3, EventBridge, Kinesis, DynamoDB and
// unknown events, typed and raw.
func TestOtherTriggers(t *testing.T) {
	t.Parallel()
	snsEvent := sampleAs[events.SNSEvent](t, "sns-event.json")
	snsEvent.Records[0].SNS.TopicArn = "arn:aws:sns:us-east-1:123456789012:orders"
	snsEvent.Records[0].SNS.MessageAttributes["traceparent"] = map[string]any{
		"Type": "String", "Value": traceparent(newSpanContext(t, upstreamTrace1, upstreamSpan1))}
	scheduled := []byte(`{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events",
		"account":"123456789012","time":"2015-10-08T16:53:06Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/my-rule"],"detail":{}}`)
	custom := []byte(`{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Order Placed","source":"com.example.orders",
		"account":"123456789012","time":"2017-12-22T18:43:48Z","region":"us-west-1","resources":[],"detail":{"id":1}}`)

	cases := []struct {
		name    string
		payload []byte
		typed   func(r *recorder) lambda.Handler
		span    string
		kind    trace.SpanKind
		parent  string
		want    map[string]any
	}{
		{
			name: "SNS", payload: mustJSON(t, snsEvent),
			typed: func(r *recorder) lambda.Handler {
				return Wrap(func(ctx context.Context, e events.SNSEvent) (any, error) { return nil, nil }, r.opts()...)
			},
			span: "process orders", kind: trace.SpanKindConsumer, parent: upstreamSpan1,
			want: map[string]any{"faas.trigger": "pubsub", "messaging.system": "aws.sns", "messaging.destination.name": "orders",
				"messaging.operation.type": "process", "messaging.message.id": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
				"aws.sns.topic.arn": "arn:aws:sns:us-east-1:123456789012:orders"},
		},
		{
			name: "S3", payload: sample(t, "s3-event.json"),
			typed: func(r *recorder) lambda.Handler {
				return Wrap(func(ctx context.Context, e events.S3Event) (any, error) { return nil, nil }, r.opts()...)
			},
			span: "orders", kind: trace.SpanKindServer,
			want: map[string]any{"faas.trigger": "datasource", "faas.document.collection": "sourcebucket",
				"faas.document.operation": "insert", "faas.document.name": "Happy Face.jpg", "faas.document.time": "1970-01-01T00:00:00Z"},
		},
		{
			name: "scheduled event", payload: scheduled,
			typed: func(r *recorder) lambda.Handler {
				return Wrap(func(ctx context.Context, e events.EventBridgeEvent) (any, error) { return nil, nil }, r.opts()...)
			},
			span: "orders", kind: trace.SpanKindServer,
			want: map[string]any{"faas.trigger": "timer", "faas.time": "2015-10-08T16:53:06Z", "lambdaotel.eventbridge.detail_type": "Scheduled Event"},
		},
		{
			name: "EventBridge", payload: custom,
			typed: func(r *recorder) lambda.Handler {
				return Wrap(func(ctx context.Context, e *events.CloudWatchEvent) (any, error) { return nil, nil }, r.opts()...)
			},
			span: "orders", kind: trace.SpanKindServer,
			want: map[string]any{"faas.trigger": "pubsub", "faas.time": nil, "lambdaotel.eventbridge.source": "com.example.orders",
				"lambdaotel.eventbridge.detail_type": "Order Placed", "lambdaotel.eventbridge.event_id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718"},
		},
		{
			name: "Kinesis", payload: sample(t, "kinesis-event.json"),
			typed: func(r *recorder) lambda.Handler {
				return Wrap(func(ctx context.Context, e events.KinesisEvent) (any, error) { return nil, nil }, r.opts()...)
			},
			span: "process simple-stream", kind: trace.SpanKindConsumer,
			want: map[string]any{"faas.trigger": "pubsub", "messaging.destination.name": "simple-stream",
				"aws.kinesis.stream_name": "simple-stream", "messaging.batch.message_count": 2},
		},
		{
			name: "DynamoDB", payload: sample(t, "dynamodb-event.json"),
			typed: func(r *recorder) lambda.Handler {
				return Wrap(func(ctx context.Context, e events.DynamoDBEvent) (any, error) { return nil, nil }, r.opts()...)
			},
			span: "orders", kind: trace.SpanKindServer,
			want: map[string]any{"faas.trigger": "datasource", "faas.document.collection": "Example-Table"},
		},
		{
			name: "unknown event", payload: []byte(`{"orderId": 12345678901234567890}`),
			typed: func(r *recorder) lambda.Handler {
				return Wrap(func(ctx context.Context, e struct{ OrderID json.Number }) (any, error) { return nil, nil }, r.opts()...)
			},
			span: "orders", kind: trace.SpanKindServer,
			want: map[string]any{"faas.trigger": "other"},
		},
	}
	for _, c := range cases {
		check := func(t *testing.T, r *recorder) {
			s := r.one(t, c.span)
			if s.SpanKind != c.kind {
				t.Errorf("kind %v, want %v", s.SpanKind, c.kind)
			}
			if got := s.Parent.SpanID().String(); c.parent != "" && got != c.parent {
				t.Errorf("parent %s, want %s", got, c.parent)
			} else if c.parent == "" && s.Parent.IsValid() {
				t.Errorf("parent %s, want none", got)
			}
			checkAttrs(t, c.span, s.Attributes, map[string]any{"faas.invocation_id": "req-1", "cloud.account.id": "123456789012"})
			checkAttrs(t, c.span, s.Attributes, c.want)
		}
		t.Run(c.name+"/typed", func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t)
			if _, err := invoke(t, withName(c.typed(r), "orders"), "req-1", c.payload); err != nil {
				t.Fatal(err)
			}
			check(t, r)
		})
		t.Run(c.name+"/raw", func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t)
			h := withName(Wrap(func(ctx context.Context, e any) (any, error) { return nil, nil }, r.opts()...), "orders")
			if _, err := invoke(t, h, "req-1", c.payload); err != nil {
				t.Fatal(err)
			}
			check(t, r)
		})
	}
}

// withName sets the function name a wrapper names spans after (from
// AWS_LAMBDA_FUNCTION_NAME outside tests).
func withName(h lambda.Handler, name string) lambda.Handler {
	h.(interface{ coreOf() *core }).coreOf().fnName = name
	return h
}

// TestStreams checks ProcessKinesis and ProcessDynamoDB: a span per record
// under the batch span, stopping at the first failure.
func TestStreams(t *testing.T) {
	t.Parallel()
	t.Run("Kinesis", func(t *testing.T) {
		t.Parallel()
		r := newRecorder(t)
		e := sampleAs[events.KinesisEvent](t, "kinesis-event.json")
		e.Records = append(e.Records, e.Records...)
		var processed int
		h := Wrap(func(ctx context.Context, e events.KinesisEvent) (events.KinesisEventResponse, error) {
			return ProcessKinesis(ctx, e, func(ctx context.Context, rec events.KinesisEventRecord) error {
				processed++
				if processed == 2 {
					return errors.New("bad record")
				}
				return nil
			}), nil
		}, r.opts()...)
		out, err := invoke(t, h, "req-1", mustJSON(t, e))
		if err != nil {
			t.Fatal(err)
		}
		var resp events.KinesisEventResponse
		json.Unmarshal(out, &resp)
		if processed != 2 || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != e.Records[1].Kinesis.SequenceNumber {
			t.Errorf("processed %d, failures %+v; want 2 and the second record", processed, resp.BatchItemFailures)
		}
		spans := r.named("process simple-stream")
		if len(spans) != 3 {
			t.Fatalf("%d spans, want the batch and 2 records", len(spans))
		}
		var batch trace.SpanID
		for _, s := range spans {
			if !s.Parent.IsValid() {
				batch = s.SpanContext.SpanID()
			}
		}
		for _, s := range spans {
			if s.Parent.IsValid() {
				if s.Parent.SpanID() != batch || s.SpanKind != trace.SpanKindConsumer {
					t.Errorf("record span parent %v kind %v", s.Parent.SpanID(), s.SpanKind)
				}
				checkAttrs(t, "record", s.Attributes, map[string]any{"messaging.destination.partition.id": "shardId-000000000000",
					"aws.kinesis.stream_name": "simple-stream"})
			}
		}
	})
	t.Run("DynamoDB", func(t *testing.T) {
		t.Parallel()
		r := newRecorder(t)
		h := Wrap(func(ctx context.Context, e events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			return ProcessDynamoDB(ctx, e, func(ctx context.Context, rec events.DynamoDBEventRecord) error { return nil }), nil
		}, r.opts()...)
		out, err := invoke(t, h, "req-1", sample(t, "dynamodb-event.json"))
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != "{\"batchItemFailures\":null}" {
			t.Errorf("response %s", out)
		}
		recs := r.named("Example-Table process")
		if len(recs) != 2 {
			t.Fatalf("%d record spans, want 2", len(recs))
		}
		checkAttrs(t, "record", recs[0].Attributes, map[string]any{"faas.document.collection": "Example-Table", "faas.document.operation": "insert"})
	})
}
