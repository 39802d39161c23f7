package lambdaotel

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"go.opentelemetry.io/otel/trace"
)

// docSample returns a sample of testdata/events.
func docSample(t testing.TB, name string) []byte {
	t.Helper()
	var c conformanceCase
	c.file, c.own = name, true
	return c.payload(t)
}

// TestAuthorizers: a Lambda authorizer's invocation is the FaaS server
// span named after the function, faas.trigger other, with no HTTP
// attributes, and the decision its response (or error) carries; a REQUEST
// authorizer's parent is the caller's context in the headers.
func TestAuthorizers(t *testing.T) {
	t.Parallel()
	deny := events.APIGatewayCustomAuthorizerResponse{PrincipalID: "user", PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
		Version: "2012-10-17", Statement: []events.IAMPolicyStatement{{Action: []string{"execute-api:Invoke"}, Effect: "Deny", Resource: []string{"*"}}}}}
	allow := deny
	allow.PolicyDocument.Statement = []events.IAMPolicyStatement{{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{"*"}}}
	cases := []struct {
		name     string
		payload  []byte
		typed    func(r *recorder, resp any, err error) lambda.Handler
		response any
		err      error
		decision any
		parent   string
	}{
		{
			name: "REST TOKEN allow", payload: sample(t, "apigw-custom-auth-request.json"),
			typed: func(r *recorder, resp any, err error) lambda.Handler {
				return Wrap(func(ctx context.Context, e events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
					return resp.(events.APIGatewayCustomAuthorizerResponse), err
				}, r.opts()...)
			},
			response: allow, decision: "allow",
		},
		{
			name: "REST TOKEN Unauthorized", payload: sample(t, "apigw-custom-auth-request.json"),
			typed: func(r *recorder, resp any, err error) lambda.Handler {
				return Wrap(func(ctx context.Context, e events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
					return events.APIGatewayCustomAuthorizerResponse{}, err
				}, r.opts()...)
			},
			err: errors.New("Unauthorized"), decision: "unauthorized",
		},
		{
			name: "REST REQUEST deny", payload: sample(t, "apigw-custom-auth-request-type-request.json"),
			typed: func(r *recorder, resp any, err error) lambda.Handler {
				return Wrap(func(ctx context.Context, e events.APIGatewayCustomAuthorizerRequestTypeRequest) (*events.APIGatewayCustomAuthorizerResponse, error) {
					v := resp.(events.APIGatewayCustomAuthorizerResponse)
					return &v, err
				}, r.opts()...)
			},
			response: deny, decision: "deny",
		},
		{
			name: "HTTP API 1.0 policy", payload: sample(t, "apigw-v2-custom-authorizer-v1-request.json"),
			typed: func(r *recorder, resp any, err error) lambda.Handler {
				return Wrap(func(ctx context.Context, e events.APIGatewayV2CustomAuthorizerV1Request) (events.APIGatewayCustomAuthorizerResponse, error) {
					return resp.(events.APIGatewayCustomAuthorizerResponse), err
				}, r.opts()...)
			},
			response: allow, decision: "allow",
		},
		{
			name: "HTTP API 2.0 simple false", payload: docSample(t, "http-api-authorizer-v2-header.json"),
			typed: func(r *recorder, resp any, err error) lambda.Handler {
				return Wrap(func(ctx context.Context, e events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
					return resp.(events.APIGatewayV2CustomAuthorizerSimpleResponse), err
				}, r.opts()...)
			},
			response: events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, decision: "deny",
			parent: "b7ad6b7169203331",
		},
		{
			name: "HTTP API 2.0 simple true", payload: sample(t, "apigw-v2-custom-authorizer-v2-request.json"),
			typed: func(r *recorder, resp any, err error) lambda.Handler {
				return Wrap(func(ctx context.Context, e events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
					return resp.(events.APIGatewayV2CustomAuthorizerSimpleResponse), err
				}, r.opts()...)
			},
			response: events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true}, decision: "allow",
		},
	}
	for _, c := range cases {
		check := func(t *testing.T, r *recorder) {
			s := r.one(t, "orders")
			if s.SpanKind != trace.SpanKindServer {
				t.Errorf("kind %v, want server", s.SpanKind)
			}
			checkAttrs(t, c.name, s.Attributes, map[string]any{"faas.trigger": "other", "lambdaotel.authorizer.decision": c.decision,
				"http.request.method": nil, "http.route": nil, "http.response.status_code": nil, "url.path": nil})
			if got := s.Parent.SpanID().String(); c.parent != "" && got != c.parent {
				t.Errorf("parent %s, want %s", got, c.parent)
			} else if c.parent == "" && s.Parent.IsValid() {
				t.Errorf("parent %s, want none", got)
			}
		}
		t.Run(c.name+"/typed", func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t)
			_, err := invoke(t, c.typed(r, c.response, c.err), "req-1", c.payload)
			if !errors.Is(err, c.err) {
				t.Fatal(err)
			}
			check(t, r)
		})
		t.Run(c.name+"/raw", func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t)
			h := WrapHandler(lambda.NewHandler(func(ctx context.Context, e json.RawMessage) (any, error) {
				if c.err != nil {
					return nil, c.err
				}
				return c.response, nil
			}), r.opts()...)
			if _, err := invoke(t, h, "req-1", c.payload); (err == nil) != (c.err == nil) {
				t.Fatal(err)
			}
			check(t, r)
		})
	}
}

// TestUserDataMarkers: user data that holds other triggers' marks (the
// cases of real requests that were misclassified) does not change the
// trigger, in raw handlers, and typed handlers keep their event type.
func TestUserDataMarkers(t *testing.T) {
	t.Parallel()
	restPath := sampleAs[events.APIGatewayProxyRequest](t, "apigw-request.json")
	restPath.PathParameters = map[string]string{"proxy": "Records"}
	restPath.Path = "/Records"
	restQuery := sampleAs[events.APIGatewayProxyRequest](t, "apigw-request.json")
	restQuery.QueryStringParameters = map[string]string{"lb": "elb"}
	restQuery.MultiValueQueryStringParameters = map[string][]string{"lb": {"elb"}}
	httpHeader := sampleAs[events.APIGatewayV2HTTPRequest](t, "apigw-v2-request-no-authorizer.json")
	httpHeader.Headers["x-kind"] = "Records"
	httpHeader.RouteKey, httpHeader.RequestContext.RouteKey = "GET /pets/{petId}", "GET /pets/{petId}"
	httpOrigin := httpHeader
	httpOrigin.Headers = map[string]string{"origin": "https://abcdefg.lambda-url.us-east-1.on.aws", "host": "api.example.com"}
	dynamo := sampleAs[events.DynamoDBEvent](t, "dynamodb-event.json")
	dynamo.Records[0].Change.NewImage["kind"] = events.NewStringAttribute("aws:sqs")
	dynamo.Records[0].Change.NewImage["Records"] = events.NewStringAttribute(`"aws:sqs"`)
	bridge := []byte(`{"version":"0","id":"6a7e8feb","detail-type":"Order Placed","source":"com.example.orders","account":"123456789012",
		"time":"2017-12-22T18:43:48Z","region":"us-west-1","resources":[],"detail":{"Records":[{"eventSource":"aws:sqs"}],"requestContext":{"elb":{}}}}`)
	cases := []struct {
		name, span, trigger string
		payload             []byte
	}{
		{"REST API path parameter Records", "POST /{proxy+}", "http", mustJSON(t, restPath)},
		{"REST API query lb=elb", "POST /{proxy+}", "http", mustJSON(t, restQuery)},
		{"HTTP API header value Records", "GET /pets/{petId}", "http", mustJSON(t, httpHeader)},
		{"HTTP API origin on lambda-url", "GET /pets/{petId}", "http", mustJSON(t, httpOrigin)},
		{"DynamoDB item aws:sqs", "orders", "datasource", mustJSON(t, dynamo)},
		{"EventBridge detail with Records", "orders", "pubsub", bridge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t)
			h := Wrap(func(ctx context.Context, e json.RawMessage) (any, error) { return nil, nil }, r.opts()...)
			if _, err := invoke(t, h, "req-1", c.payload); err != nil {
				t.Fatal(err)
			}
			checkAttrs(t, c.name, r.one(t, c.span).Attributes, map[string]any{"faas.trigger": c.trigger})
		})
	}
	// A typed handler's event type wins over the payload's shape: an SQS
	// handler given an API Gateway request is not an HTTP span.
	r := newRecorder(t)
	h := Wrap(func(ctx context.Context, e events.SQSEvent) (any, error) { return nil, nil }, r.opts()...)
	if _, err := invoke(t, h, "req-1", sample(t, "apigw-request.json")); err != nil {
		t.Fatal(err)
	}
	checkAttrs(t, "typed", r.one(t, "process").Attributes, map[string]any{"faas.trigger": "pubsub", "messaging.system": "aws_sqs", "http.request.method": nil})
}

// TestBrokerLinks: Kafka, ActiveMQ and RabbitMQ batches are CONSUMER spans
// with faas.trigger pubsub, their messaging.system and destination, and a
// link to the context each message carries.
func TestBrokerLinks(t *testing.T) {
	t.Parallel()
	const linked = "b7ad6b7169203331"
	cases := []struct {
		file, span, system string
		typed              func(r *recorder) lambda.Handler
	}{
		{"kafka-self-managed.json", "process mytopic", "kafka", nil},
		{"activemq-docs.json", "process testQueue", "activemq", nil},
		{"rabbitmq-traceparent.json", "process pizzaQueue", "rabbitmq", typedAs[events.RabbitMQEvent]},
	}
	for _, c := range cases {
		handlers := map[string]func(r *recorder) lambda.Handler{"raw": typedAs[json.RawMessage]}
		if c.typed != nil {
			handlers["typed"] = c.typed
		}
		for hn, wrap := range handlers {
			t.Run(c.file+"/"+hn, func(t *testing.T) {
				t.Parallel()
				r := newRecorder(t)
				if _, err := invoke(t, wrap(r), "req-1", docSample(t, c.file)); err != nil {
					t.Fatal(err)
				}
				s := r.one(t, c.span)
				if s.SpanKind != trace.SpanKindConsumer {
					t.Errorf("kind %v", s.SpanKind)
				}
				checkAttrs(t, c.span, s.Attributes, map[string]any{"faas.trigger": "pubsub", "messaging.system": c.system,
					"messaging.operation.type": "process"})
				if len(s.Links) != 1 || s.Links[0].SpanContext.SpanID().String() != linked {
					t.Errorf("links %+v, want one to %s", s.Links, linked)
				}
				if s.Parent.IsValid() {
					t.Errorf("parent %v, want none (the messages are links)", s.Parent)
				}
			})
		}
	}
	// A typed Kafka handler: aws-lambda-go's KafkaEvent (numeric
	// partitions) with a header carrying a traceparent.
	r := newRecorder(t)
	e := sampleAs[events.KafkaEvent](t, "kafka-event.json")
	rec := e.Records["AWSKafkaTopic-0"][0]
	rec.Headers = []map[string]events.JSONNumberBytes{{"traceparent": []byte("00-0af7651916cd43dd8448eb211c80319c-" + linked + "-01")}}
	e.Records["AWSKafkaTopic-0"][0] = rec
	if _, err := invoke(t, typedAs[events.KafkaEvent](r), "req-1", mustJSON(t, e)); err != nil {
		t.Fatal(err)
	}
	if s := r.one(t, "process AWSKafkaTopic"); len(s.Links) != 1 || s.Links[0].SpanContext.SpanID().String() != linked {
		t.Errorf("links %+v, want one to %s", s.Links, linked)
	}
}

// TestNamesAndValues: SNS and Kinesis spans are "process <destination>",
// an SNS event without records "process"; a method in another case keeps
// its original; S3 event names with the s3: prefix and Replication:*
// events map to faas.document.operation.
func TestNamesAndValues(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, payload []byte) *recorder {
		r := newRecorder(t)
		if _, err := invoke(t, typedAs[json.RawMessage](r), "req-1", payload); err != nil {
			t.Fatal(err)
		}
		return r
	}
	t.Run("SNS", func(t *testing.T) {
		t.Parallel()
		run(t, sample(t, "sns-event.json")).one(t, "process EXAMPLE")
	})
	t.Run("SNS without records", func(t *testing.T) {
		t.Parallel()
		r := newRecorder(t)
		if _, err := invoke(t, typedAs[events.SNSEvent](r), "req-1", []byte(`{"Records":[]}`)); err != nil {
			t.Fatal(err)
		}
		checkAttrs(t, "SNS", r.one(t, "process").Attributes, map[string]any{"messaging.system": "aws.sns"})
	})
	t.Run("Kinesis", func(t *testing.T) {
		t.Parallel()
		run(t, sample(t, "kinesis-event.json")).one(t, "process simple-stream")
	})
	t.Run("lowercase method", func(t *testing.T) {
		t.Parallel()
		e := sampleAs[events.APIGatewayV2HTTPRequest](t, "apigw-v2-request-no-authorizer.json")
		e.RequestContext.HTTP.Method = "get"
		s := run(t, mustJSON(t, e)).one(t, "GET")
		checkAttrs(t, "get", s.Attributes, map[string]any{"http.request.method": "GET", "http.request.method_original": "get"})
		e.RequestContext.HTTP.Method = "GET"
		s = run(t, mustJSON(t, e)).one(t, "GET")
		checkAttrs(t, "GET", s.Attributes, map[string]any{"http.request.method": "GET", "http.request.method_original": nil})
	})
	for in, want := range map[string]string{
		"ObjectCreated:Put": "insert", "s3:ObjectCreated:CompleteMultipartUpload": "insert", "s3:ObjectRemoved:Delete": "delete",
		"s3:Replication:OperationFailedReplication": "replication", "Replication:OperationReplicatedAfterThreshold": "replication",
		"s3:ObjectRestore:Completed": "edit", "s3:ObjectRestore:Delete": "delete", "s3:LifecycleTransition": "edit",
		"s3:IntelligentTiering": "edit", "s3:ObjectTagging:Put": "edit", "s3:ReducedRedundancyLostObject": "delete",
	} {
		if got := s3Operation(in); got != want {
			t.Errorf("s3Operation(%q) = %q, want %q", in, got, want)
		}
	}
	for env, want := range map[string]map[string]bool{"": nil, "GET, PURGE": {"GET": true, "PURGE": true}} {
		got := parseKnownMethods(env)
		if len(got) != len(want) {
			t.Errorf("parseKnownMethods(%q) = %v, want %v", env, got, want)
		}
	}
}

// TestFunctionURLStreaming: a streamed function URL response is recorded
// with its status code, and passed on as aws-lambda-go makes it (the
// content type is checked in TestStreamingPassThrough).
func TestFunctionURLStreaming(t *testing.T) {
	t.Parallel()
	respond := func() *events.LambdaFunctionURLStreamingResponse {
		return &events.LambdaFunctionURLStreamingResponse{StatusCode: 404, Headers: map[string]string{"Content-Type": "text/plain"},
			Body: strings.NewReader("not here")}
	}
	want, _ := io.ReadAll(respond())
	payload := docSample(t, "function-url-request.json")
	handlers := map[string]func(r *recorder) lambda.Handler{
		"typed": func(r *recorder) lambda.Handler {
			return Wrap(func(ctx context.Context, e events.LambdaFunctionURLRequest) (*events.LambdaFunctionURLStreamingResponse, error) {
				return respond(), nil
			}, r.opts()...)
		},
		"handler": func(r *recorder) lambda.Handler {
			return WrapHandler(lambda.NewHandler(func(ctx context.Context, e events.LambdaFunctionURLRequest) (*events.LambdaFunctionURLStreamingResponse, error) {
				return respond(), nil
			}), r.opts()...)
		},
	}
	for name, wrap := range handlers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t)
			out, err := invoke(t, wrap(r), "req-1", payload)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != string(want) {
				t.Errorf("response %q, want %q", out, want)
			}
			checkAttrs(t, name, r.one(t, "POST").Attributes, map[string]any{"http.response.status_code": 404})
		})
	}
	// A status code of 0 is sent as 200.
	r := newRecorder(t)
	h := Wrap(func(ctx context.Context, e events.LambdaFunctionURLRequest) (*events.LambdaFunctionURLStreamingResponse, error) {
		return &events.LambdaFunctionURLStreamingResponse{Body: strings.NewReader("ok")}, nil
	}, r.opts()...)
	if _, err := invoke(t, h, "req-1", payload); err != nil {
		t.Fatal(err)
	}
	checkAttrs(t, "0", r.one(t, "POST").Attributes, map[string]any{"http.response.status_code": 200})
}

// BenchmarkClassifyPayload measures the classification of raw payloads
// (the handler's event type is not an events type).
func BenchmarkClassifyPayload(b *testing.B) {
	c := newCore(newConfig(nil))
	for _, f := range []string{"apigw-request.json", "apigw-v2-request-no-authorizer.json", "sqs-event.json", "dynamodb-event.json", "cognito-event.json"} {
		payload := sample(b, f)
		b.Run(strings.TrimSuffix(f, ".json"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.classifyPayload(newTrigger(), payload)
			}
		})
	}
}

// TestProcessBrokers: ProcessKafka, ProcessActiveMQ and ProcessRabbitMQ run
// a function per message in a CONSUMER span "process <destination>" under
// the batch span, linked to the message's context, and stop at the first
// error, which they return.
func TestProcessBrokers(t *testing.T) {
	t.Parallel()
	const linked = "b7ad6b7169203331"
	tp := "00-0af7651916cd43dd8448eb211c80319c-" + linked + "-01"
	check := func(t *testing.T, r *recorder, span string, processed, want int) {
		t.Helper()
		if processed != want {
			t.Errorf("processed %d, want %d", processed, want)
		}
		spans := r.named(span)
		var batch trace.SpanID
		for _, s := range spans {
			if !s.Parent.IsValid() {
				batch = s.SpanContext.SpanID()
			}
		}
		links := 0
		n := 0
		for _, s := range spans {
			if !s.Parent.IsValid() {
				continue
			}
			n++
			if s.Parent.SpanID() != batch || s.SpanKind != trace.SpanKindConsumer {
				t.Errorf("message span parent %v kind %v, want the batch span, CONSUMER", s.Parent.SpanID(), s.SpanKind)
			}
			for _, l := range s.Links {
				if l.SpanContext.SpanID().String() == linked {
					links++
				}
			}
		}
		if n != want || links != 1 {
			t.Errorf("%d message spans with %d links, want %d with 1 link", n, links, want)
		}
	}
	t.Run("Kafka", func(t *testing.T) {
		t.Parallel()
		r := newRecorder(t)
		e := sampleAs[events.KafkaEvent](t, "kafka-event.json")
		rec := e.Records["AWSKafkaTopic-0"][0]
		rec.Headers = []map[string]events.JSONNumberBytes{{"traceparent": []byte(tp)}}
		second := rec
		second.Headers, second.Offset = nil, 1
		third := second
		third.Offset = 2
		e.Records["AWSKafkaTopic-0"] = []events.KafkaRecord{rec, second, third}
		processed := 0
		h := Wrap(func(ctx context.Context, e events.KafkaEvent) (any, error) {
			return nil, ProcessKafka(ctx, e, func(ctx context.Context, r events.KafkaRecord) error {
				if processed++; r.Offset == 1 {
					return errors.New("bad record")
				}
				return nil
			})
		}, r.opts()...)
		if _, err := invoke(t, h, "req-1", mustJSON(t, e)); err == nil || err.Error() != "bad record" {
			t.Fatalf("error %v, want the record's", err)
		}
		check(t, r, "process AWSKafkaTopic", processed, 2)
	})
	t.Run("ActiveMQ", func(t *testing.T) {
		t.Parallel()
		r := newRecorder(t)
		e := sampleAs[events.ActiveMQEvent](t, "activemq-event.json")
		m := e.Messages[0]
		m.Properties = map[string]string{"traceparent": tp}
		other := m
		other.Properties, other.MessageID = nil, "ID:2"
		e.Messages = []events.ActiveMQMessage{m, other}
		processed := 0
		h := Wrap(func(ctx context.Context, e events.ActiveMQEvent) (any, error) {
			return nil, ProcessActiveMQ(ctx, e, func(ctx context.Context, m events.ActiveMQMessage) error { processed++; return nil })
		}, r.opts()...)
		if _, err := invoke(t, h, "req-1", mustJSON(t, e)); err != nil {
			t.Fatal(err)
		}
		check(t, r, "process testQueue", processed, 2)
	})
	t.Run("RabbitMQ", func(t *testing.T) {
		t.Parallel()
		r := newRecorder(t)
		var e events.RabbitMQEvent
		if err := json.Unmarshal(docSample(t, "rabbitmq-traceparent.json"), &e); err != nil {
			t.Fatal(err)
		}
		m := e.MessagesByQueue["pizzaQueue::/"][0]
		other := m
		other.BasicProperties.Headers = nil
		e.MessagesByQueue["pizzaQueue::/"] = append(e.MessagesByQueue["pizzaQueue::/"], other)
		processed := 0
		h := Wrap(func(ctx context.Context, e events.RabbitMQEvent) (any, error) {
			return nil, ProcessRabbitMQ(ctx, e, func(ctx context.Context, m events.RabbitMQMessage) error { processed++; return nil })
		}, r.opts()...)
		if _, err := invoke(t, h, "req-1", mustJSON(t, e)); err != nil {
			t.Fatal(err)
		}
		check(t, r, "process pizzaQueue", processed, 2)
	})
}
