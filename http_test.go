package lambdaotel

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// TestHTTPTriggers checks the span of each HTTP trigger, from aws-lambda-go's
// sample events, with a typed handler and with a raw one.
func TestHTTPTriggers(t *testing.T) {
	t.Parallel()
	common := map[string]any{
		"faas.trigger":           "http",
		"faas.invocation_id":     "req-1",
		"aws.lambda.invoked_arn": testARN,
		"cloud.account.id":       "123456789012",
	}
	cases := []struct {
		name     string
		sample   string
		edit     func(map[string]any) // changes to the sample
		typed    func(r *recorder) lambda.Handler
		response any // what the raw handler answers
		span     string
		want     map[string]any
		status   codes.Code
	}{
		{
			name:   "REST API",
			sample: "apigw-request.json",
			typed: func(r *recorder) lambda.Handler {
				return Wrap(func(ctx context.Context, e events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
					return events.APIGatewayProxyResponse{StatusCode: 201}, nil
				}, r.opts()...)
			},
			response: events.APIGatewayProxyResponse{StatusCode: 201},
			span:     "POST /{proxy+}",
			want: map[string]any{
				"http.request.method": "POST", "http.route": "/{proxy+}", "url.path": "/hello/world",
				"url.query": "name=me", "url.scheme": "https", "server.address": "gy415nuibc.execute-api.us-east-1.amazonaws.com",
				"server.port": 443, "user_agent.original": "PostmanRuntime/2.4.5", "client.address": "192.168.196.186",
				"network.protocol.version": "1.1", "http.response.status_code": 201, "error.type": nil,
			},
		},
		{
			name:   "REST API 5xx",
			sample: "apigw-request.json",
			typed: func(r *recorder) lambda.Handler {
				return Wrap(func(ctx context.Context, e *events.APIGatewayProxyRequest) (*events.APIGatewayProxyResponse, error) {
					return &events.APIGatewayProxyResponse{StatusCode: 503}, nil
				}, r.opts()...)
			},
			response: events.APIGatewayProxyResponse{StatusCode: 503},
			span:     "POST /{proxy+}",
			want:     map[string]any{"http.response.status_code": 503, "error.type": "503"},
			status:   codes.Error,
		},
		{
			name:   "HTTP API $default route",
			sample: "apigw-v2-request-no-authorizer.json",
			typed: func(r *recorder) lambda.Handler {
				return Wrap(func(ctx context.Context, e events.APIGatewayV2HTTPRequest) (string, error) {
					return "ok", nil // HTTP APIs answer 200 with it
				}, r.opts()...)
			},
			response: "ok",
			span:     "GET",
			want: map[string]any{
				"http.request.method": "GET", "http.route": nil, "url.path": "/", "url.query": nil, "url.scheme": "https",
				"server.address": "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com", "server.port": 443,
				"user_agent.original": "curl/7.58.0", "client.address": "1.2.3.4", "http.response.status_code": 200,
			},
		},
		{
			name:   "HTTP API route",
			sample: "apigw-v2-request-iam.json",
			edit: func(m map[string]any) {
				m["routeKey"] = "GET /pets/{id}"
				m["rawQueryString"] = "a=1&X-Amz-Signature=secret&b=2"
			},
			typed: func(r *recorder) lambda.Handler {
				return Wrap(func(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
					return events.APIGatewayV2HTTPResponse{StatusCode: 404}, nil
				}, r.opts()...)
			},
			response: events.APIGatewayV2HTTPResponse{StatusCode: 404},
			span:     "GET /pets/{id}",
			want: map[string]any{
				"http.route": "/pets/{id}", "http.response.status_code": 404, "error.type": nil,
				"url.query": "a=1&X-Amz-Signature=REDACTED&b=2",
			},
		},
		{
			name:   "ALB",
			sample: "alb-lambda-target-request-headers-only.json",
			typed: func(r *recorder) lambda.Handler {
				return Wrap(func(ctx context.Context, e events.ALBTargetGroupRequest) (events.ALBTargetGroupResponse, error) {
					return events.ALBTargetGroupResponse{StatusCode: 200}, nil
				}, r.opts()...)
			},
			response: events.ALBTargetGroupResponse{StatusCode: 200},
			span:     "GET",
			want: map[string]any{
				"http.request.method": "GET", "url.path": "/", "url.query": "key=hello", "url.scheme": "http",
				"server.address": "lambda-test-alb-1334523864.us-east-1.elb.amazonaws.com", "server.port": 80,
				"client.address": "25.12.198.67", "user_agent.original": "curl/7.54.0", "http.response.status_code": 200,
			},
		},
		{
			name:   "ALB multi-value headers",
			sample: "alb-lambda-target-request-multivalue-headers.json",
			typed: func(r *recorder) lambda.Handler {
				return Wrap(func(ctx context.Context, e events.ALBTargetGroupRequest) (events.ALBTargetGroupResponse, error) {
					return events.ALBTargetGroupResponse{StatusCode: 200}, nil
				}, r.opts()...)
			},
			response: events.ALBTargetGroupResponse{StatusCode: 200},
			span:     "GET",
			want:     map[string]any{"user_agent.original": "curl/7.54.0", "client.address": "72.21.198.67", "url.scheme": "http", "url.query": "key=hello"},
		},
		{
			name:   "function URL",
			sample: "lambda-urls-request.json",
			typed: func(r *recorder) lambda.Handler {
				return Wrap(func(ctx context.Context, e events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
					return events.LambdaFunctionURLResponse{StatusCode: 200}, nil
				}, r.opts()...)
			},
			response: events.LambdaFunctionURLResponse{StatusCode: 200},
			span:     "POST",
			want: map[string]any{
				"http.request.method": "POST", "url.path": "/my/path",
				"url.query":      "parameter1=value1&parameter1=value2&parameter2=value",
				"server.address": "<url-id>.lambda-url.us-west-2.on.aws", "client.address": "123.123.123.123",
				"user_agent.original": "agent", "network.protocol.version": "1.1", "http.response.status_code": 200,
			},
		},
	}
	for _, c := range cases {
		payload := sample(t, c.sample)
		if c.edit != nil {
			var m map[string]any
			if err := json.Unmarshal(payload, &m); err != nil {
				t.Fatal(err)
			}
			c.edit(m)
			payload = mustJSON(t, m)
		}
		check := func(t *testing.T, r *recorder) {
			s := r.one(t, c.span)
			if s.SpanKind != trace.SpanKindServer {
				t.Errorf("kind %v, want server", s.SpanKind)
			}
			if s.Status.Code != c.status {
				t.Errorf("status %v, want %v", s.Status, c.status)
			}
			if s.Parent.IsValid() {
				t.Errorf("parent %v, want none", s.Parent)
			}
			checkAttrs(t, c.span, s.Attributes, common)
			checkAttrs(t, c.span, s.Attributes, c.want)
		}
		t.Run(c.name+"/typed", func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t)
			if _, err := invoke(t, c.typed(r), "req-1", payload); err != nil {
				t.Fatal(err)
			}
			check(t, r)
		})
		t.Run(c.name+"/raw", func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t)
			out := mustJSON(t, c.response)
			h := Wrap(func(ctx context.Context, e json.RawMessage) (json.RawMessage, error) {
				if string(e) != string(payload) {
					t.Errorf("the raw handler got %d bytes, not the payload", len(e))
				}
				return out, nil
			}, r.opts()...)
			got, err := invoke(t, h, "req-1", payload)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(out) {
				t.Errorf("response %s, want %s", got, out)
			}
			check(t, r)
		})
	}
}

// TestHTTPParent checks that the span continues the W3C context of the
// request's headers, whatever their case, and keeps its baggage.
func TestHTTPParent(t *testing.T) {
	t.Parallel()
	parent := newSpanContext(t, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
	for _, key := range []string{"traceparent", "Traceparent", "TRACEPARENT"} {
		t.Run(key, func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t)
			e := sampleAs[events.APIGatewayProxyRequest](t, "apigw-request.json")
			e.Headers[key] = traceparent(parent)
			e.Headers["baggage"] = "tenant=acme"
			var gotTenant string
			var child trace.SpanContext
			h := Wrap(func(ctx context.Context, e events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
				gotTenant = baggageMember(ctx, "tenant")
				_, s := r.tp.Tracer("test").Start(ctx, "child")
				child = s.SpanContext()
				s.End()
				return events.APIGatewayProxyResponse{StatusCode: 200}, nil
			}, r.opts()...)
			if _, err := invoke(t, h, "req-1", mustJSON(t, e)); err != nil {
				t.Fatal(err)
			}
			s := r.one(t, "POST /{proxy+}")
			if s.Parent.SpanID() != parent.SpanID() || s.SpanContext.TraceID() != parent.TraceID() || !s.Parent.IsRemote() {
				t.Errorf("parent %v in trace %v, want remote %v in %v", s.Parent.SpanID(), s.SpanContext.TraceID(), parent.SpanID(), parent.TraceID())
			}
			if c := r.one(t, "child"); c.Parent.SpanID() != s.SpanContext.SpanID() || child.TraceID() != parent.TraceID() {
				t.Errorf("the handler's span is not a child of the invocation's span")
			}
			if gotTenant != "acme" {
				t.Errorf("baggage tenant = %q in the handler, want acme", gotTenant)
			}
		})
	}
}

// TestRedactQuery checks url.query's redaction of sensitive values.
func TestRedactQuery(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"":                           "",
		"a=1":                        "a=1",
		"sig=x":                      "sig=REDACTED",
		"a=1&X-Amz-Credential=c&b=2": "a=1&X-Amz-Credential=REDACTED&b=2",
		"signature=x&sig=y":          "signature=x&sig=REDACTED",
		"x-amz-signature=x":          "x-amz-signature=x", // case-sensitive, as the conventions say
	}
	for in, want := range cases {
		if got := redactQuery(in); got != want {
			t.Errorf("redactQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMethodAndProtocol(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"GET": "GET", "get": "GET", "PURGE": "_OTHER", "": "_OTHER"} {
		if got, _ := normalizeMethod(in); got != want {
			t.Errorf("normalizeMethod(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"HTTP/1.1": "1.1", "HTTP/2.0": "2", "HTTP/1.0": "1.0", "HTTP/3": "3", "": ""} {
		if got := protocolVersion(in); got != want {
			t.Errorf("protocolVersion(%q) = %q, want %q", in, got, want)
		}
	}
	// An unknown method keeps its original, and the span is named HTTP.
	r := newRecorder(t)
	e := sampleAs[events.APIGatewayProxyRequest](t, "apigw-request.json")
	e.HTTPMethod = "PURGE"
	h := Wrap(func(ctx context.Context, e events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}, r.opts()...)
	if _, err := invoke(t, h, "req-1", mustJSON(t, e)); err != nil {
		t.Fatal(err)
	}
	s := r.one(t, "HTTP /{proxy+}")
	checkAttrs(t, s.Name, s.Attributes, map[string]any{"http.request.method": "_OTHER", "http.request.method_original": "PURGE"})
}
