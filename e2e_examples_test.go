package lambdaotel_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/sandbox"
	"github.com/lambdaotel/lambdaotel/sink"
)

const (
	upstreamTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	upstreamSpan  = "00f067aa0ba902b7"
	upstreamW3C   = "00-" + upstreamTrace + "-" + upstreamSpan + "-01"
)

// petRequest is API Gateway's event for GET /pets/{id}.
func petRequest(id string, traceparent string) []byte {
	e := events.APIGatewayProxyRequest{
		Resource:       "/pets/{petId}",
		Path:           "/pets/" + id,
		HTTPMethod:     "GET",
		Headers:        map[string]string{"Host": "abc123.execute-api.us-east-1.amazonaws.com", "User-Agent": "curl/8.5.0", "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"},
		PathParameters: map[string]string{"petId": id},
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID: "123456789012", Stage: "prod", Protocol: "HTTP/1.1", HTTPMethod: "GET",
			ResourcePath: "/pets/{petId}", DomainName: "abc123.execute-api.us-east-1.amazonaws.com",
			Identity: events.APIGatewayRequestIdentity{SourceIP: "203.0.113.7", UserAgent: "curl/8.5.0"},
		},
	}
	if traceparent != "" {
		e.Headers["traceparent"] = traceparent
	}
	b, _ := json.Marshal(e)
	return b
}

// TestExampleAPIGateway runs examples/apigateway: each request is a SERVER
// span "GET /pets/{petId}" with the HTTP attributes and the response's
// status, continuing the caller's W3C context, with the store lookup as a
// child and the function's log records in the same trace; with the
// telemetryapi receiver, the span hangs under the invocation's platform
// span.
func TestExampleAPIGateway(t *testing.T) {
	t.Parallel()
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, envOptions{function: apiGatewayCmd, config: c.config, sandbox: sandbox.Config{FunctionName: "pets"}})
			cases := []struct {
				id, traceparent string
				status          int64
			}{
				{"7", upstreamW3C, 200},
				{"42", "", 404},
			}
			for k, rc := range cases {
				res := e.invoke(t, sandbox.Request{Payload: petRequest(rc.id, rc.traceparent)})
				if res.Error != nil {
					t.Fatalf("request %s: %v", rc.id, res.Error)
				}
				var resp events.APIGatewayProxyResponse
				if err := json.Unmarshal(res.Payload, &resp); err != nil || int64(resp.StatusCode) != rc.status {
					t.Fatalf("response %s (%v), want status %d", res.Payload, err, rc.status)
				}
				// Already at the sink: flushed before the response, exported
				// by the extension before the freeze.
				root := e.root(t, res.RequestID)
				if root.Name != "GET /pets/{petId}" || root.Kind != ptrace.SpanKindServer || root.Status == ptrace.StatusCodeError {
					t.Errorf("root span %q kind %v status %v", root.Name, root.Kind, root.Status)
				}
				want := map[string]any{
					"faas.trigger": "http", "faas.coldstart": k == 0, "http.request.method": "GET",
					"http.route": "/pets/{petId}", "url.path": "/pets/" + rc.id, "url.scheme": "https",
					"server.address": "abc123.execute-api.us-east-1.amazonaws.com", "server.port": int64(443),
					"client.address": "203.0.113.7", "user_agent.original": "curl/8.5.0",
					"http.response.status_code": rc.status, "cloud.account.id": "123456789012",
					"aws.lambda.invoked_arn": "arn:aws:lambda:us-east-1:123456789012:function:pets",
				}
				for key, w := range want {
					if got := root.Attributes[key]; got != w {
						t.Errorf("request %s: %s = %#v, want %#v", rc.id, key, got, w)
					}
				}
				for key, w := range map[string]any{"service.name": "pets", "faas.name": "pets", "cloud.provider": "aws",
					"cloud.platform": "aws_lambda", "cloud.region": "us-east-1", "faas.max_memory": int64(128 << 20)} {
					if got := root.Resource[key]; got != w {
						t.Errorf("resource %s = %#v, want %#v", key, got, w)
					}
				}
				wantTrace, wantParent := "", ""
				if rc.traceparent != "" {
					wantTrace, wantParent = upstreamTrace, upstreamSpan
				}
				e.checkParent(t, c.platform, root, wantTrace, wantParent)

				kids := e.childrenOf(root)
				if len(kids) != 1 || kids[0].Name != "load pet" || (kids[0].Status == ptrace.StatusCodeError) != (rc.status == 404) {
					t.Errorf("children of the root span: %+v, want load pet", kids)
				}
				var logged []string
				for _, r := range e.logRecords() {
					if r.attrs["faas.invocation_id"] == res.RequestID {
						logged = append(logged, r.body)
						if r.traceID != root.TraceID.String() || r.spanID != root.SpanID.String() {
							t.Errorf("log record %q in %s/%s, want the root span %s/%s", r.body, r.traceID, r.spanID, root.TraceID, root.SpanID)
						}
					}
				}
				if wantLog := map[int64]string{200: "pet found", 404: "pet not found"}[rc.status]; !slices.Equal(logged, []string{wantLog}) {
					t.Errorf("log records %q, want %q", logged, wantLog)
				}
				if n := e.metricPoints("pets.lookups"); n < k+1 {
					t.Errorf("%d pets.lookups points at the sink after %d invocations", n, k+1)
				}
			}
		})
	}
}

// sqsEvent is a batch of three orders to the queue "orders": the first
// carries a W3C context in its message attributes, the second an X-Ray
// context in AWSTraceHeader, the third has no items and fails.
func sqsEvent() []byte {
	w3c := upstreamW3C
	msg := func(id, body string) events.SQSMessage {
		return events.SQSMessage{
			MessageId: id, Body: body, EventSource: "aws:sqs", AWSRegion: "us-east-1",
			EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:orders",
			Attributes:     map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
		}
	}
	m1 := msg("m-1", `{"id":"o-1","items":2}`)
	m1.MessageAttributes = map[string]events.SQSMessageAttribute{"traceparent": {DataType: "String", StringValue: &w3c}}
	m2 := msg("m-2", `{"id":"o-2","items":1}`)
	m2.Attributes["AWSTraceHeader"] = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	m3 := msg("m-3", `{"id":"o-3","items":0}`)
	b, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{m1, m2, m3}})
	return b
}

// TestExampleSQS runs examples/sqs: a batch is a CONSUMER span
// "orders process" linked to the messages' contexts, each message a
// CONSUMER span under it linked to its own context, the failed message an
// error and the only batch item failure.
func TestExampleSQS(t *testing.T) {
	t.Parallel()
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, envOptions{function: sqsCmd, config: c.config, sandbox: sandbox.Config{FunctionName: "shipper"}})
			res := e.invoke(t, sandbox.Request{Payload: sqsEvent()})
			if res.Error != nil {
				t.Fatal(res.Error)
			}
			var resp events.SQSEventResponse
			if err := json.Unmarshal(res.Payload, &resp); err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m-3" {
				t.Fatalf("response %s, want m-3 as the only failure", res.Payload)
			}
			batch := e.root(t, res.RequestID)
			if batch.Name != "orders process" || batch.Kind != ptrace.SpanKindConsumer {
				t.Errorf("batch span %q kind %v", batch.Name, batch.Kind)
			}
			for key, w := range map[string]any{"faas.trigger": "pubsub", "messaging.system": "aws_sqs",
				"messaging.operation.type": "process", "messaging.destination.name": "orders",
				"messaging.batch.message_count": int64(3), "faas.coldstart": true} {
				if got := batch.Attributes[key]; got != w {
					t.Errorf("batch %s = %#v, want %#v", key, got, w)
				}
			}
			links := linkIDs(batch.Links)
			wantLinks := []string{upstreamTrace + "/" + upstreamSpan, "5759e988bd862e3fe1be46a994272793/53995c3f42cd8ad8"}
			if !slices.Equal(links, wantLinks) {
				t.Errorf("batch links %q, want %q", links, wantLinks)
			}
			e.checkParent(t, c.platform, batch, "", "")

			msgs := e.childrenOf(batch)
			if len(msgs) != 3 {
				t.Fatalf("%d spans under the batch span, want 3 messages", len(msgs))
			}
			for _, m := range msgs {
				id := m.Attributes["messaging.message.id"]
				if m.Name != "orders process" || m.Kind != ptrace.SpanKindConsumer {
					t.Errorf("message %v span %q kind %v", id, m.Name, m.Kind)
				}
				wantLinks := map[any][]string{"m-1": wantLinks[:1], "m-2": wantLinks[1:], "m-3": nil}[id]
				if got := linkIDs(m.Links); !slices.Equal(got, wantLinks) {
					t.Errorf("message %v links %q, want %q", id, got, wantLinks)
				}
				failed := id == "m-3"
				if (m.Status == ptrace.StatusCodeError) != failed || failed && !strings.Contains(m.StatusMessage, "no items") {
					t.Errorf("message %v status %v %q", id, m.Status, m.StatusMessage)
				}
				reserve := e.childrenOf(m)
				if (len(reserve) == 1 && reserve[0].Name == "reserve stock") == failed {
					t.Errorf("message %v: children %d", id, len(reserve))
				}
			}
		})
	}
}

func linkIDs(links []sink.Link) []string {
	var out []string
	for _, l := range links {
		out = append(out, l.TraceID.String()+"/"+l.SpanID.String())
	}
	return out
}
