package lambdaotel

// The conformance suite: real event samples through typed and raw
// handlers, each span checked against the semantic conventions v1.44.0
// (name, kind, faas.trigger, the required and recommended attributes of
// its trigger), and mutated samples whose user data holds other triggers'
// markers, which must not change what the span is.
//
// The samples are aws-lambda-go's events/testdata, read from the module
// cache of the version go.mod pins (not copied here), and the samples in
// testdata/events, written from the AWS documentation for the triggers
// aws-lambda-go has none of.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// conformanceCase is a sample and the span the conventions ask of it.
type conformanceCase struct {
	file string // a file of aws-lambda-go's events/testdata, or of testdata/events if own
	own  bool
	// typed is the wrapper of a handler of the sample's event type; nil:
	// the sample has none the library knows, and the typed run uses a
	// map.
	typed   func(*recorder) lambda.Handler
	span    string
	kind    trace.SpanKind
	trigger string
	// want are attribute values the span must have (nil: must not have).
	want map[string]any
	// links is the number of links the span must have.
	links int
	// badJSON: the sample is not JSON; the span records the error.
	badJSON bool
	// absent are required or recommended attributes the sample cannot
	// give (a placeholder ARN), with the reason.
	absent map[string]string
	// mutate puts other triggers' markers into the sample's user data;
	// nil: no mutated variant.
	mutate func(m map[string]any)
}

func typedAs[E any](r *recorder) lambda.Handler {
	return Wrap(func(ctx context.Context, e E) (any, error) { return nil, nil }, r.opts()...)
}

// conformanceCases are the samples whose span is not the default (a
// SERVER span named after the function with faas.trigger other).
var conformanceCases = []conformanceCase{
	// HTTP: SERVER spans "METHOD route" with the HTTP server attributes.
	{file: "apigw-request.json", typed: typedAs[events.APIGatewayProxyRequest], span: "POST /{proxy+}", kind: trace.SpanKindServer, trigger: "http",
		want: map[string]any{"http.route": "/{proxy+}", "url.path": "/hello/world", "url.scheme": "https", "server.address": "gy415nuibc.execute-api.us-east-1.amazonaws.com"}, mutate: mutateHTTP},
	{file: "apigw-restapi-openapi-request.json", typed: typedAs[events.APIGatewayProxyRequest], span: "POST /{proxy+}", kind: trace.SpanKindServer, trigger: "http",
		want: map[string]any{"http.route": "/{proxy+}"}, mutate: mutateHTTP},
	{file: "apigw-websocket-request.json", typed: typedAs[events.APIGatewayProxyRequest], span: "POST /{proxy+}", kind: trace.SpanKindServer, trigger: "http",
		want: map[string]any{"http.route": "/{proxy+}"}, mutate: mutateHTTP},
	{file: "apigw-v2-request-iam.json", typed: typedAs[events.APIGatewayV2HTTPRequest], span: "GET", kind: trace.SpanKindServer, trigger: "http",
		want: map[string]any{"http.route": nil, "url.path": "/my/path", "http.response.status_code": 200}, mutate: mutateHTTP},
	{file: "apigw-v2-request-jwt-authorizer.json", typed: typedAs[events.APIGatewayV2HTTPRequest], span: "GET", kind: trace.SpanKindServer, trigger: "http",
		want: map[string]any{"http.response.status_code": 200}, mutate: mutateHTTP},
	{file: "apigw-v2-request-lambda-authorizer.json", typed: typedAs[events.APIGatewayV2HTTPRequest], span: "GET", kind: trace.SpanKindServer, trigger: "http",
		want: map[string]any{"http.response.status_code": 200}, mutate: mutateHTTP},
	{file: "apigw-v2-request-no-authorizer.json", typed: typedAs[events.APIGatewayV2HTTPRequest], span: "GET", kind: trace.SpanKindServer, trigger: "http",
		want: map[string]any{"http.response.status_code": 200}, mutate: mutateHTTP},
	{file: "alb-lambda-target-request-headers-only.json", typed: typedAs[events.ALBTargetGroupRequest], span: "GET", kind: trace.SpanKindServer, trigger: "http",
		want: map[string]any{"url.path": "/", "http.route": nil, "server.address": "lambda-test-alb-1334523864.us-east-1.elb.amazonaws.com"}, mutate: mutateHTTP},
	{file: "alb-lambda-target-request-multivalue-headers.json", typed: typedAs[events.ALBTargetGroupRequest], span: "GET", kind: trace.SpanKindServer, trigger: "http",
		want: map[string]any{"url.path": "/"}, mutate: mutateHTTP},
	{file: "lambda-urls-request.json", typed: typedAs[events.LambdaFunctionURLRequest], span: "POST", kind: trace.SpanKindServer, trigger: "http",
		want: map[string]any{"url.path": "/my/path", "http.response.status_code": 200}, mutate: mutateHTTP},
	{file: "function-url-request.json", own: true, typed: typedAs[events.LambdaFunctionURLRequest], span: "POST", kind: trace.SpanKindServer, trigger: "http",
		want: map[string]any{"server.address": "abcdefghijklmnopqrstuvwxyz0123456.lambda-url.us-west-2.on.aws"}, mutate: mutateHTTP},

	// Authorizers: the FaaS server span, named after the function, with
	// faas.trigger other and the authorizer's attributes.
	{file: "apigw-custom-auth-request.json", typed: typedAs[events.APIGatewayCustomAuthorizerRequest], span: "orders", kind: trace.SpanKindServer, trigger: "other",
		want: map[string]any{"lambdaotel.authorizer.type": "TOKEN", "lambdaotel.authorizer.resource_arn": "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/GET/",
			"http.request.method": nil, "http.response.status_code": nil}, mutate: mutateAuthorizer},
	{file: "apigw-custom-auth-request-type-request.json", typed: typedAs[events.APIGatewayCustomAuthorizerRequestTypeRequest], span: "orders", kind: trace.SpanKindServer, trigger: "other",
		want: map[string]any{"lambdaotel.authorizer.type": "REQUEST", "lambdaotel.authorizer.payload_format_version": nil, "http.request.method": nil}, mutate: mutateAuthorizer},
	{file: "apigw-v2-custom-authorizer-v1-request.json", typed: typedAs[events.APIGatewayV2CustomAuthorizerV1Request], span: "orders", kind: trace.SpanKindServer, trigger: "other",
		want: map[string]any{"lambdaotel.authorizer.type": "REQUEST", "lambdaotel.authorizer.payload_format_version": "1.0", "http.request.method": nil}, mutate: mutateAuthorizer},
	{file: "apigw-v2-custom-authorizer-v2-request.json", typed: typedAs[events.APIGatewayV2CustomAuthorizerV2Request], span: "orders", kind: trace.SpanKindServer, trigger: "other",
		want: map[string]any{"lambdaotel.authorizer.type": "REQUEST", "lambdaotel.authorizer.payload_format_version": "2.0",
			"lambdaotel.authorizer.resource_arn": "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request", "http.response.status_code": nil}, mutate: mutateAuthorizer},
	{file: "http-api-authorizer-v2-header.json", own: true, typed: typedAs[events.APIGatewayV2CustomAuthorizerV2Request], span: "orders", kind: trace.SpanKindServer, trigger: "other",
		want: map[string]any{"lambdaotel.authorizer.type": "REQUEST", "http.route": nil}, mutate: mutateAuthorizer},

	// Messaging: CONSUMER spans with the messaging attributes.
	{file: "sqs-event.json", typed: typedAs[events.SQSEvent], span: "SQSQueue process", kind: trace.SpanKindConsumer, trigger: "pubsub",
		want: map[string]any{"messaging.system": "aws_sqs", "messaging.destination.name": "SQSQueue", "messaging.batch.message_count": 1}, mutate: mutateSQS},
	{file: "sns-event.json", typed: typedAs[events.SNSEvent], span: "process EXAMPLE", kind: trace.SpanKindConsumer, trigger: "pubsub",
		want: map[string]any{"messaging.system": "aws.sns", "messaging.destination.name": "EXAMPLE", "aws.sns.topic.arn": "arn:aws:sns:EXAMPLE"}, mutate: mutateSNS},
	{file: "cloudwatch-alarm-sns-payload-single-metric.json", typed: typedAs[events.SNSEvent], span: "process EXAMPLE", kind: trace.SpanKindConsumer, trigger: "pubsub",
		want: map[string]any{"messaging.system": "aws.sns"}, mutate: mutateSNS},
	{file: "cloudwatch-alarm-sns-payload-multiple-metrics.json", typed: typedAs[events.SNSEvent], span: "process EXAMPLE", kind: trace.SpanKindConsumer, trigger: "pubsub",
		want: map[string]any{"messaging.system": "aws.sns"}, mutate: mutateSNS},
	{file: "kinesis-event.json", typed: typedAs[events.KinesisEvent], span: "process simple-stream", kind: trace.SpanKindConsumer, trigger: "pubsub",
		want: map[string]any{"messaging.system": "aws_kinesis", "messaging.destination.name": "simple-stream", "aws.kinesis.stream_name": "simple-stream", "messaging.batch.message_count": 2}, mutate: mutateKinesis},
	{file: "kinesis-time-window-event.json", typed: typedAs[events.KinesisEvent], span: "process lambda-stream", kind: trace.SpanKindConsumer, trigger: "pubsub",
		want: map[string]any{"messaging.destination.name": "lambda-stream"}, mutate: mutateKinesis},
	{file: "kafka-event.json", typed: typedAs[events.KafkaEvent], span: "process AWSKafkaTopic", kind: trace.SpanKindConsumer, trigger: "pubsub",
		want: map[string]any{"messaging.system": "kafka", "messaging.destination.name": "AWSKafkaTopic", "messaging.destination.partition.id": "0",
			"messaging.batch.message_count": 1, "messaging.kafka.offset": 0, "server.address": "b-2.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com", "server.port": 9092}, mutate: mutateKafka},
	{file: "kafka-self-managed.json", own: true, span: "process mytopic", kind: trace.SpanKindConsumer, trigger: "pubsub", links: 1,
		want: map[string]any{"messaging.system": "kafka", "messaging.destination.name": "mytopic", "messaging.destination.partition.id": "0", "messaging.kafka.offset": 15}, mutate: mutateKafka},
	{file: "msk-two-topics.json", own: true, typed: typedAs[events.KafkaEvent], span: "process", kind: trace.SpanKindConsumer, trigger: "pubsub",
		want: map[string]any{"messaging.system": "kafka", "messaging.destination.name": nil, "messaging.batch.message_count": 2, "messaging.kafka.offset": nil}, mutate: mutateKafka},
	{file: "activemq-event.json", typed: typedAs[events.ActiveMQEvent], span: "process testQueue", kind: trace.SpanKindConsumer, trigger: "pubsub",
		want: map[string]any{"messaging.system": "activemq", "messaging.destination.name": "testQueue", "messaging.batch.message_count": 1,
			"messaging.message.id": "ID:b-0f5b7522-2b41-4f85-a615-735a4e6d96b5-2.mq.us-west-2.amazonaws.com-34859-1598944546501-4:12:1:1:3"}, mutate: mutateMQ},
	{file: "activemq-docs.json", own: true, span: "process testQueue", kind: trace.SpanKindConsumer, trigger: "pubsub", links: 1,
		want: map[string]any{"messaging.system": "activemq", "messaging.batch.message_count": 2, "messaging.message.id": nil}, mutate: mutateMQ},
	{file: "rabbitmq-event.json", typed: typedAs[events.RabbitMQEvent], span: "process test", kind: trace.SpanKindConsumer, trigger: "pubsub",
		want: map[string]any{"messaging.system": "rabbitmq", "messaging.destination.name": "test", "messaging.batch.message_count": 1}, mutate: mutateMQ},
	{file: "rabbitmq-traceparent.json", own: true, typed: typedAs[events.RabbitMQEvent], span: "process pizzaQueue", kind: trace.SpanKindConsumer, trigger: "pubsub", links: 1,
		want: map[string]any{"messaging.system": "rabbitmq", "messaging.message.id": "msg-1"}, mutate: mutateMQ},

	// Data sources: SERVER spans with faas.document.*.
	{file: "s3-event.json", typed: typedAs[events.S3Event], span: "orders", kind: trace.SpanKindServer, trigger: "datasource",
		want: map[string]any{"faas.document.collection": "sourcebucket", "faas.document.operation": "insert", "faas.document.name": "Happy Face.jpg"}, mutate: mutateS3},
	{file: "s3-event-with-decoded.json", typed: typedAs[events.S3Event], span: "orders", kind: trace.SpanKindServer, trigger: "datasource",
		want: map[string]any{"faas.document.operation": "insert"}, mutate: mutateS3},
	{file: "s3-glacier-event.json", typed: typedAs[events.S3Event], span: "orders", kind: trace.SpanKindServer, trigger: "datasource",
		want: map[string]any{"faas.document.operation": "edit"}, mutate: mutateS3},
	{file: "s3-restore-event.json", typed: typedAs[events.S3Event], span: "orders", kind: trace.SpanKindServer, trigger: "datasource",
		want: map[string]any{"faas.document.operation": "edit"}, mutate: mutateS3},
	{file: "s3-intelligenttier-event.json", typed: typedAs[events.S3Event], span: "orders", kind: trace.SpanKindServer, trigger: "datasource",
		want: map[string]any{"faas.document.operation": "edit"}, mutate: mutateS3},
	{file: "s3-lifecycle-event.json", typed: typedAs[events.S3Event], span: "orders", kind: trace.SpanKindServer, trigger: "datasource",
		want: map[string]any{"faas.document.operation": "edit"}, mutate: mutateS3},
	{file: "s3-replication-event.json", typed: typedAs[events.S3Event], span: "orders", kind: trace.SpanKindServer, trigger: "datasource",
		want: map[string]any{"faas.document.operation": "replication", "faas.document.collection": "amzn-s3-demo-bucket1"}, mutate: mutateS3},
	{file: "dynamodb-event.json", typed: typedAs[events.DynamoDBEvent], span: "orders", kind: trace.SpanKindServer, trigger: "datasource",
		want: map[string]any{"faas.document.collection": "Example-Table", "faas.document.operation": "insert"}, mutate: mutateDynamoDB},
	{file: "dynamodb-time-window-event.json", typed: typedAs[events.DynamoDBEvent], span: "orders", kind: trace.SpanKindServer, trigger: "datasource",
		want: map[string]any{"faas.document.operation": "multiple"}, absent: map[string]string{"faas.document.collection": "the sample's eventSourceARN is the placeholder stream-ARN"},
		mutate: mutateDynamoDB},
	{file: "eventbridge-s3-object-created.json", own: true, typed: typedAs[events.EventBridgeEvent], span: "orders", kind: trace.SpanKindServer, trigger: "datasource",
		want: map[string]any{"faas.document.collection": "amzn-s3-demo-bucket1", "faas.document.operation": "insert", "faas.document.name": "example-key",
			"faas.document.time": "2021-11-12T00:00:00Z", "lambdaotel.eventbridge.source": "aws.s3"}, mutate: mutateEventBridge},
	{file: "eventbridge-s3-object-deleted.json", own: true, typed: typedAs[events.EventBridgeEvent], span: "orders", kind: trace.SpanKindServer, trigger: "datasource",
		want: map[string]any{"faas.document.operation": "delete"}, mutate: mutateEventBridge},

	// EventBridge: timer for schedules, pubsub for the others.
	{file: "eventbridge-scheduled.json", own: true, typed: typedAs[events.EventBridgeEvent], span: "orders", kind: trace.SpanKindServer, trigger: "timer",
		want: map[string]any{"faas.time": "2015-10-08T16:53:06Z", "lambdaotel.eventbridge.detail_type": "Scheduled Event"}, mutate: mutateEventBridge},

	// Not JSON: the span records the decoding error.
	{file: "dynamodb-event-malformed.2.json", span: "orders", kind: trace.SpanKindServer, trigger: "other", badJSON: true},
}

// eventBridgeSamples are aws-lambda-go's samples of EventBridge events of
// other services: faas.trigger pubsub with the event's source.
var eventBridgeSamples = []string{
	"autoscaling-event-launch-successful.json", "autoscaling-event-launch-unsuccessful.json", "autoscaling-event-lifecycle-action.json",
	"autoscaling-event-terminate-action.json", "autoscaling-event-terminate-successful.json", "autoscaling-event-terminate-unsuccessful.json",
	"codebuild-phase-change.json", "codebuild-state-change.json", "codedeploy-deployment-event.json", "codedeploy-instance-event.json",
	"codepipeline-action-execution-stage-change-event.json", "codepipeline-execution-stage-change-event.json",
	"codepipeline-execution-state-change-event.json", "ecr-image-push-event.json", "ecr-image-scan-event.json",
	"ecs-container-instance-state-change.json",
}

// allConformanceCases are the cases of every sample: those above, the
// EventBridge ones, and every other file of aws-lambda-go's testdata
// with the default span.
func allConformanceCases(t *testing.T) []conformanceCase {
	cases := slices.Clone(conformanceCases)
	for _, f := range eventBridgeSamples {
		cases = append(cases, conformanceCase{file: f, typed: typedAs[events.EventBridgeEvent], span: "orders", kind: trace.SpanKindServer, trigger: "pubsub",
			mutate: mutateEventBridge})
	}
	known := map[string]bool{}
	for _, c := range cases {
		if !c.own {
			known[c.file] = true
		}
	}
	dir, err := eventsTestdata()
	if err != nil {
		t.Fatalf("locating aws-lambda-go's sample events: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events in %s: %v", dir, err)
	}
	for _, f := range files {
		if name := filepath.Base(f); !known[name] {
			cases = append(cases, conformanceCase{file: name, span: "orders", kind: trace.SpanKindServer, trigger: "other"})
		}
	}
	return cases
}

// TestConformance runs every sample through a typed handler (of its
// events type, or a map), a json.RawMessage handler and WrapHandler, and
// every mutated sample through the same, and checks each span against the
// conventions. It logs the counts.
func TestConformance(t *testing.T) {
	t.Parallel()
	var samples, tried, right, mutated int
	for _, c := range allConformanceCases(t) {
		payload := c.payload(t)
		samples++
		variants := []struct {
			name    string
			payload []byte
		}{{"", payload}}
		if c.mutate != nil {
			var m map[string]any
			if err := json.Unmarshal(payload, &m); err != nil {
				t.Fatalf("%s: %v", c.file, err)
			}
			c.mutate(m)
			variants = append(variants, struct {
				name    string
				payload []byte
			}{"/mutated", mustJSON(t, m)})
			mutated++
		}
		for _, v := range variants {
			for _, h := range conformanceHandlers(c) {
				tried++
				ok := t.Run(c.file+v.name+"/"+h.name, func(t *testing.T) {
					r := newRecorder(t)
					_, err := invoke(t, h.wrap(r), "req-1", v.payload)
					// A json.RawMessage handler decodes nothing.
					badJSON := c.badJSON && h.name != "raw"
					if (err != nil) != badJSON {
						t.Fatalf("error %v", err)
					}
					spans := r.spans()
					if len(spans) != 1 {
						t.Fatalf("%d spans, want 1", len(spans))
					}
					for _, p := range c.check(spans[0], v.name != "", badJSON) {
						t.Error(p)
					}
				})
				if ok {
					right++
				}
			}
		}
	}
	t.Logf("conformance: %d samples (%d with a mutated variant), %d runs, %d right, %d wrong", samples, mutated, tried, right, tried-right)
	if os.Getenv("LAMBDAOTEL_CONFORMANCE_COUNTS") != "" {
		fmt.Printf("conformance: %d samples (%d with a mutated variant), %d runs, %d right, %d wrong\n", samples, mutated, tried, right, tried-right)
	}
}

type conformanceHandler struct {
	name string
	wrap func(*recorder) lambda.Handler
}

// conformanceHandlers are the handlers a sample goes through.
func conformanceHandlers(c conformanceCase) []conformanceHandler {
	typed := c.typed
	if typed == nil {
		typed = typedAs[map[string]any]
	}
	hs := []conformanceHandler{
		{"raw", typedAs[json.RawMessage]},
		{"handler", func(r *recorder) lambda.Handler {
			return WrapHandler(lambda.NewHandler(func(ctx context.Context, e json.RawMessage) (any, error) { return nil, nil }), r.opts()...)
		}},
	}
	if !c.badJSON {
		hs = append(hs, conformanceHandler{"typed", typed})
	}
	return hs
}

func (c conformanceCase) payload(t testing.TB) []byte {
	if c.own {
		b, err := os.ReadFile(filepath.Join("testdata", "events", c.file))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return sample(t, c.file)
}

// stableAttrs are the attributes a mutation of user data must not change.
var stableAttrs = map[string]bool{
	"faas.trigger": true, "messaging.system": true, "messaging.destination.name": true, "http.route": true,
	"http.request.method": true, "faas.document.collection": true, "faas.document.operation": true,
	"lambdaotel.authorizer.type": true, "lambdaotel.authorizer.payload_format_version": true,
}

// check returns what in span s is not what the case and the conventions
// ask for; for a mutated sample, only what a mutation must not change.
func (c conformanceCase) check(s tracetest.SpanStub, mutated, badJSON bool) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	m := attrs(s.Attributes)
	if s.Name != c.span {
		bad("span name %q, want %q", s.Name, c.span)
	}
	if s.SpanKind != c.kind {
		bad("span kind %v, want %v", s.SpanKind, c.kind)
	}
	if m["faas.trigger"] != c.trigger {
		bad("faas.trigger %v, want %s", m["faas.trigger"], c.trigger)
	}
	for k, w := range c.want {
		if mutated && !stableAttrs[k] {
			continue
		}
		g, ok := m[k]
		switch {
		case w == nil && ok:
			bad("attribute %s = %v, want none", k, g)
		case w != nil && !ok:
			bad("no attribute %s (want %v)", k, w)
		case w != nil && !equalValue(g, w):
			bad("attribute %s = %#v, want %#v", k, g, w)
		}
	}
	if !mutated && len(s.Links) != c.links {
		bad("%d links, want %d", len(s.Links), c.links)
	}
	need := func(keys ...string) {
		for _, k := range keys {
			if _, ok := m[k]; !ok && c.absent[k] == "" {
				bad("no attribute %s, which the conventions require or recommend here", k)
			}
		}
	}
	// Every invocation (FaaS server span, AWS Lambda).
	need("faas.trigger", "faas.invocation_id", "faas.coldstart", "cloud.account.id", "cloud.resource_id", "aws.lambda.invoked_arn")
	switch {
	case m["faas.trigger"] == "http":
		need("http.request.method", "url.path", "url.scheme", "server.address", "user_agent.original")
		method, _ := m["http.request.method"].(string)
		if method == "_OTHER" {
			method = "HTTP"
		}
		want := method
		if route, ok := m["http.route"].(string); ok {
			want += " " + route
		}
		if s.Name != want {
			bad("HTTP span name %q, want %q (method and route)", s.Name, want)
		}
	case m["messaging.system"] != nil:
		need("messaging.operation.name", "messaging.operation.type")
		if m["messaging.operation.type"] != "process" || s.SpanKind != trace.SpanKindConsumer {
			bad("a messaging span with operation %v kind %v, want process CONSUMER", m["messaging.operation.type"], s.SpanKind)
		}
		if m["messaging.system"] != "aws.sns" {
			need("messaging.batch.message_count")
		}
		dest, _ := m["messaging.destination.name"].(string)
		want := "process"
		switch {
		case m["messaging.system"] == "aws_sqs" && dest != "":
			want = dest + " process"
		case m["messaging.system"] == "aws_sqs":
			want = "multiple_sources process"
		case dest != "":
			want = "process " + dest
		}
		if s.Name != want {
			bad("messaging span name %q, want %q", s.Name, want)
		}
	case m["faas.trigger"] == "datasource":
		need("faas.document.collection", "faas.document.operation")
	case m["faas.trigger"] == "timer":
		need("faas.time")
	case m["faas.trigger"] == "pubsub":
		need("lambdaotel.eventbridge.source", "lambdaotel.eventbridge.detail_type")
	case m["lambdaotel.authorizer.type"] != nil:
		need("lambdaotel.authorizer.resource_arn")
		for k := range m {
			if strings.HasPrefix(k, "http.") || strings.HasPrefix(k, "url.") {
				bad("an authorizer span with the HTTP attribute %s", k)
			}
		}
	}
	if badJSON && len(s.Events) == 0 {
		bad("no exception event for a payload that is not JSON")
	}
	return problems
}

// marker is user data that holds the markers of every trigger: the fields
// that tell events apart, and the strings that a search of the payload
// would find.
const marker = `{"Records":[{"eventSource":"aws:sqs","EventSource":"aws:sns","eventName":"ObjectCreated:Put"}],` +
	`"requestContext":{"elb":{"targetGroupArn":"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/1"},"http":{"method":"GET"},` +
	`"domainName":"x.lambda-url.us-east-1.on.aws"},"httpMethod":"GET","version":"2.0","routeKey":"GET /x","detail-type":"Scheduled Event",` +
	`"source":"aws.events","type":"TOKEN","methodArn":"arn:aws:execute-api:us-east-1:123456789012:x/*/GET/","routeArn":"arn",` +
	`"eventSource":"aws:kafka","records":{"t-0":[]},"messages":[],"rmqMessagesByQueue":{}}` +
	` lb=elb .lambda-url. "aws:sqs" "aws:sns" "aws:s3" "aws:kinesis" "aws:dynamodb" "aws:mq" "aws:rmq"`

// markerObject is the JSON object at the start of marker.
func markerObject() map[string]any {
	var m map[string]any
	if err := json.NewDecoder(strings.NewReader(marker)).Decode(&m); err != nil {
		panic(err)
	}
	return m
}

// obj returns m[key] as an object, making it if it is not one.
func obj(m map[string]any, key string) map[string]any {
	o, ok := m[key].(map[string]any)
	if !ok {
		o = map[string]any{}
		m[key] = o
	}
	return o
}

// each calls f with each object of the array m[key].
func each(m map[string]any, key string, f func(map[string]any)) {
	a, _ := m[key].([]any)
	for _, v := range a {
		if o, ok := v.(map[string]any); ok {
			f(o)
		}
	}
}

func mutateHeaders(m map[string]any) {
	h := obj(m, "headers")
	h["X-Marker"] = marker
	h["Records"] = "aws:sqs"
	h["origin"] = "https://x.lambda-url.us-east-1.on.aws"
	if mv, ok := m["multiValueHeaders"].(map[string]any); ok {
		mv["X-Marker"] = []any{marker}
		mv["Records"] = []any{"aws:sqs"}
		mv["origin"] = []any{"https://x.lambda-url.us-east-1.on.aws"}
	}
}

// mutateHTTP: markers in the headers, query, path parameters, stage
// variables and body of an HTTP request.
func mutateHTTP(m map[string]any) {
	mutateHeaders(m)
	q := obj(m, "queryStringParameters")
	q["lb"] = "elb"
	q["Records"] = "aws:sqs"
	if mv, ok := m["multiValueQueryStringParameters"].(map[string]any); ok {
		mv["lb"] = []any{"elb"}
	}
	if raw, ok := m["rawQueryString"].(string); ok {
		m["rawQueryString"] = strings.TrimPrefix(raw+"&lb=elb&Records=aws:sqs", "&")
	}
	obj(m, "pathParameters")["Records"] = "aws:sqs"
	obj(m, "stageVariables")["detail-type"] = "Scheduled Event"
	m["body"] = marker
}

// mutateAuthorizer: markers in the token, headers and query.
func mutateAuthorizer(m map[string]any) {
	if _, ok := m["authorizationToken"]; ok && m["type"] == "TOKEN" {
		m["authorizationToken"] = marker
		return
	}
	mutateHeaders(m)
	obj(m, "queryStringParameters")["lb"] = "elb"
	obj(m, "pathParameters")["Records"] = "aws:sqs"
}

func mutateSQS(m map[string]any) {
	each(m, "Records", func(r map[string]any) {
		r["body"] = marker
		obj(r, "messageAttributes")["requestContext"] = map[string]any{"stringValue": marker, "dataType": "String"}
	})
}

func mutateSNS(m map[string]any) {
	each(m, "Records", func(r map[string]any) {
		s := obj(r, "Sns")
		s["Message"] = marker
		s["Subject"] = "Records"
		obj(s, "MessageAttributes")["requestContext"] = map[string]any{"Type": "String", "Value": marker}
	})
}

func mutateS3(m map[string]any) {
	each(m, "Records", func(r map[string]any) {
		obj(r, "userIdentity")["principalId"] = marker
		obj(obj(r, "s3"), "object")["key"] = "Records/aws:sqs/requestContext.json"
	})
}

func mutateDynamoDB(m map[string]any) {
	each(m, "Records", func(r map[string]any) {
		d := obj(r, "dynamodb")
		obj(d, "NewImage")["Records"] = map[string]any{"S": "aws:sqs"}
		obj(d, "NewImage")["requestContext"] = map[string]any{"S": marker}
	})
}

func mutateKinesis(m map[string]any) {
	each(m, "Records", func(r map[string]any) {
		k := obj(r, "kinesis")
		k["partitionKey"] = marker
		k["data"] = base64.StdEncoding.EncodeToString([]byte(marker))
	})
}

func mutateEventBridge(m map[string]any) {
	d := obj(m, "detail")
	for k, v := range markerObject() {
		if _, ok := d[k]; !ok {
			d[k] = v
		}
	}
}

func mutateKafka(m map[string]any) {
	for _, rs := range obj(m, "records") {
		recs, _ := rs.([]any)
		for _, v := range recs {
			if r, ok := v.(map[string]any); ok {
				r["value"] = base64.StdEncoding.EncodeToString([]byte(marker))
				r["key"] = base64.StdEncoding.EncodeToString([]byte("Records"))
			}
		}
	}
}

func mutateMQ(m map[string]any) {
	each(m, "messages", func(r map[string]any) {
		r["data"] = base64.StdEncoding.EncodeToString([]byte(marker))
		obj(r, "properties")["Records"] = "aws:sqs"
	})
	for _, ms := range obj(m, "rmqMessagesByQueue") {
		msgs, _ := ms.([]any)
		for _, v := range msgs {
			if r, ok := v.(map[string]any); ok {
				r["data"] = base64.StdEncoding.EncodeToString([]byte(marker))
				obj(obj(r, "basicProperties"), "headers")["Records"] = "aws:sqs"
			}
		}
	}
}
