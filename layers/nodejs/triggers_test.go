package nodejs_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/sink"
)

// Trace contexts the test's SQS messages carry: one in the AWSTraceHeader
// system attribute (X-Ray format), one in a traceparent message attribute
// (which wins when a message has both).
const (
	sqsXRayTrace  = "5759e988bd862e3fe1be46a994272793"
	sqsXRaySpan   = "53995c3f42cd8ad8"
	sqsW3CTrace   = "0af7651916cd43dd8448eb211c80319c"
	sqsW3CSpan    = "b7ad6b7169203331"
	sqsQueueARN   = "arn:aws:sqs:us-east-1:123456789012:orders-queue"
	sqsQueueURL   = "https://sqs.us-east-1.amazonaws.com/123456789012/orders-queue"
	apiTraceID    = "4bf92f3577b34da6a3ce929d0e0e4736"
	apiParentSpan = "00f067aa0ba902b7"
)

// sqsRecord is one message of an SQS event, as the Lambda event source
// mapping delivers it.
func sqsRecord(id string, xray string, traceparent string) map[string]any {
	attrs := map[string]any{
		"ApproximateReceiveCount":          "1",
		"SentTimestamp":                    "1764870000000",
		"SenderId":                         "AIDAIENQZJOLO23YVJ4VO",
		"ApproximateFirstReceiveTimestamp": "1764870000010",
	}
	if xray != "" {
		attrs["AWSTraceHeader"] = xray
	}
	msgAttrs := map[string]any{
		"tenant": map[string]any{"stringValue": "acme", "stringListValues": []any{}, "binaryListValues": []any{}, "dataType": "String"},
	}
	if traceparent != "" {
		msgAttrs["traceparent"] = map[string]any{"stringValue": traceparent, "stringListValues": []any{}, "binaryListValues": []any{}, "dataType": "String"}
	}
	return map[string]any{
		"messageId":         id,
		"receiptHandle":     "AQEB" + id,
		"body":              `{"order":7}`,
		"attributes":        attrs,
		"messageAttributes": msgAttrs,
		"md5OfBody":         "e4e68fb7bd0e697a0ae8f1bb342846b3",
		"eventSource":       "aws:sqs",
		"eventSourceARN":    sqsQueueARN,
		"awsRegion":         "us-east-1",
	}
}

func eventJSON(t *testing.T, v map[string]any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTriggers invokes a function with the events of Lambda's triggers and
// checks, at the sink, what the layer records of each, as the previous
// layer (the upstream aws-lambda instrumentation) did:
//
//   - an SQS batch: the invocation span (faas.trigger pubsub, a root) has a
//     child CONSUMER span "process <queue>" with the messaging attributes
//     and one link per message that carries a trace context (its
//     AWSTraceHeader, or a traceparent message attribute), each with the
//     message's id; the function's own spans stay children of the
//     invocation span; a failed batch marks both spans as errors;
//   - an API Gateway request: faas.trigger http, url.full from the
//     request, and the parent from the request's traceparent header;
//   - a direct invocation: neither process span nor url.full.
func TestTriggers(t *testing.T) {
	t.Parallel()
	batch := map[string]any{"Records": []any{
		sqsRecord("m-1", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", ""),
		sqsRecord("m-2", "", "00-"+sqsW3CTrace+"-"+sqsW3CSpan+"-01"),
		sqsRecord("m-3", "", ""),
		sqsRecord("m-7", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", "00-"+sqsW3CTrace+"-"+sqsW3CSpan+"-01"),
	}}
	failing := map[string]any{"action": "fail", "Records": []any{sqsRecord("m-4", "", "00-"+sqsW3CTrace+"-"+sqsW3CSpan+"-01")}}
	apiGateway := map[string]any{
		"resource": "/orders/{id}", "path": "/orders/7", "httpMethod": "GET",
		"headers": map[string]any{
			"Host": "api.example.com", "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443",
			"traceparent": "00-" + apiTraceID + "-" + apiParentSpan + "-01",
		},
		"queryStringParameters": map[string]any{"q": "a b"},
		"requestContext":        map[string]any{"stage": "prod", "httpMethod": "GET", "requestId": "r-1"},
		"body":                  nil, "isBase64Encoded": false,
	}
	forMajors(t, func(t *testing.T, major int) {
		const name = "consumer"
		e := startEnv(t, envOptions{major: major, fixture: "mjs", handler: "index.handler", functionName: name})

		// An SQS batch of four messages, three of them with a trace context.
		res := e.invoke(t, eventJSON(t, batch))
		if res.Error != nil {
			t.Fatalf("SQS batch: %v", res.Error)
		}
		spans := e.sink.Spans()
		inv := oneInvocationSpan(t, spans, res.RequestID)
		if inv.Attributes["faas.trigger"] != "pubsub" || !inv.ParentSpanID.IsEmpty() || inv.Kind != ptrace.SpanKindServer {
			t.Errorf("SQS invocation span: faas.trigger %v, parent %v, kind %v: want pubsub, a root, server", inv.Attributes["faas.trigger"], inv.ParentSpanID, inv.Kind)
		}
		proc := processSpan(t, spans, inv)
		if proc != nil {
			wantAttrs := map[string]any{
				"faas.trigger":                  "pubsub",
				"messaging.system":              "aws_sqs",
				"messaging.operation.name":      "process",
				"messaging.operation.type":      "process",
				"messaging.destination.name":    "orders-queue",
				"messaging.batch.message_count": int64(4),
				"server.address":                "sqs.us-east-1.amazonaws.com",
				"aws.sqs.queue.url":             sqsQueueURL,
			}
			for k, v := range wantAttrs {
				if proc.Attributes[k] != v {
					t.Errorf("process span attribute %s = %#v, want %#v (all: %v)", k, proc.Attributes[k], v, proc.Attributes)
				}
			}
			if proc.Status == ptrace.StatusCodeError {
				t.Errorf("process span of a successful batch has an error status %q", proc.StatusMessage)
			}
			if proc.Start.Before(inv.Start) || proc.End.After(inv.End) {
				t.Errorf("process span %v–%v is not within the invocation span %v–%v", proc.Start, proc.End, inv.Start, inv.End)
			}
			checkLinks(t, proc.Links, []wantLink{{sqsXRayTrace, sqsXRaySpan, "m-1"}, {sqsW3CTrace, sqsW3CSpan, "m-2"}, {sqsW3CTrace, sqsW3CSpan, "m-7"}})
		}
		// The function's HTTP call is the invocation span's child, not the process span's.
		checkClientSpan(t, e, spans, inv, res.RequestID, "@opentelemetry/instrumentation-http")
		if proc != nil && len(children(spans, *proc)) != 0 {
			t.Errorf("the process span has children: %+v", children(spans, *proc))
		}

		// A batch of one whose handler throws: both spans are errors.
		res = e.invoke(t, eventJSON(t, failing))
		if res.Error == nil {
			t.Fatalf("failing SQS batch: no error")
		}
		spans = e.sink.Spans()
		inv = oneInvocationSpan(t, spans, res.RequestID)
		msg := "boom " + res.RequestID
		checkError(t, inv, msg)
		if proc := processSpan(t, spans, inv); proc != nil {
			checkError(t, *proc, msg)
			if _, ok := proc.Attributes["messaging.batch.message_count"]; ok {
				t.Errorf("process span of a single message has messaging.batch.message_count %v", proc.Attributes["messaging.batch.message_count"])
			}
			checkLinks(t, proc.Links, []wantLink{{sqsW3CTrace, sqsW3CSpan, "m-4"}})
		}

		// An API Gateway request: url.full, faas.trigger http, the caller's trace.
		res = e.invoke(t, eventJSON(t, apiGateway))
		if res.Error != nil {
			t.Fatalf("API Gateway request: %v", res.Error)
		}
		spans = e.sink.Spans()
		inv = oneInvocationSpan(t, spans, res.RequestID)
		if inv.Attributes["faas.trigger"] != "http" || inv.Attributes["url.full"] != "https://api.example.com:443/orders/7?q=a%20b" {
			t.Errorf("API Gateway invocation span: faas.trigger %v, url.full %v: want http, https://api.example.com:443/orders/7?q=a%%20b", inv.Attributes["faas.trigger"], inv.Attributes["url.full"])
		}
		if inv.TraceID.String() != apiTraceID || inv.ParentSpanID.String() != apiParentSpan {
			t.Errorf("API Gateway invocation span: trace %s parent %s, want the request's %s %s", inv.TraceID, inv.ParentSpanID, apiTraceID, apiParentSpan)
		}
		for _, s := range children(spans, inv) {
			if s.Kind == ptrace.SpanKindConsumer {
				t.Errorf("API Gateway request: a consumer span %q under the invocation span", s.Name)
			}
		}

		// A direct invocation: no url.full, no process span.
		res = e.invoke(t, `{"action":"http"}`)
		if res.Error != nil {
			t.Fatal(res.Error)
		}
		spans = e.sink.Spans()
		inv = oneInvocationSpan(t, spans, res.RequestID)
		if _, ok := inv.Attributes["url.full"]; ok || inv.Attributes["faas.trigger"] != "other" {
			t.Errorf("direct invocation span: attributes %v, want faas.trigger other and no url.full", inv.Attributes)
		}
		if kids := children(spans, inv); len(kids) != 1 || kids[0].Kind != ptrace.SpanKindClient {
			t.Errorf("direct invocation: children %+v, want the HTTP client span alone", kids)
		}
		if strings.Contains(e.logs.String(), "lambdaotel-nodejs: ") {
			t.Errorf("the layer logged:\n%s", e.logs.String())
		}
	})
}

func oneInvocationSpan(t *testing.T, spans []sink.Span, requestID string) sink.Span {
	t.Helper()
	invs := invocationSpans(spans, requestID)
	if len(invs) != 1 {
		t.Fatalf("request %s: %d invocation spans at the sink, want 1 (%d spans there)", requestID, len(invs), len(spans))
	}
	return invs[0]
}

// processSpan returns the one consumer span under inv, named for the test's queue.
func processSpan(t *testing.T, spans []sink.Span, inv sink.Span) *sink.Span {
	t.Helper()
	var found []sink.Span
	for _, s := range children(spans, inv) {
		if s.Kind == ptrace.SpanKindConsumer {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Errorf("%d consumer spans under the invocation span, want the process span alone (children: %+v)", len(found), children(spans, inv))
		return nil
	}
	p := found[0]
	if p.Name != "process orders-queue" || p.Scope != lambdaScope {
		t.Errorf("process span %q (scope %q), want %q (scope %q)", p.Name, p.Scope, "process orders-queue", lambdaScope)
	}
	return &p
}

type wantLink struct{ trace, span, messageID string }

func checkLinks(t *testing.T, got []sink.Link, want []wantLink) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("process span has %d links, want %d: %+v", len(got), len(want), got)
		return
	}
	for i, w := range want {
		l := got[i]
		if l.TraceID.String() != w.trace || l.SpanID.String() != w.span || l.Attributes["messaging.message.id"] != w.messageID {
			t.Errorf("link %d: trace %s span %s attributes %v, want trace %s span %s messaging.message.id %s", i, l.TraceID, l.SpanID, l.Attributes, w.trace, w.span, w.messageID)
		}
	}
}

// TestSQSTimeout times out while an SQS batch is processed: the process
// span ends with the invocation span, as a timeout too, and both reach the
// sink before the runtime is stopped.
func TestSQSTimeout(t *testing.T) {
	t.Parallel()
	hang := map[string]any{"action": "hang", "Records": []any{
		sqsRecord("m-5", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", ""),
		sqsRecord("m-6", "", ""),
	}}
	forMajors(t, func(t *testing.T, major int) {
		e := startEnv(t, envOptions{major: major, fixture: "mjs", handler: "index.handler", timeout: time.Second})
		res := e.invoke(t, eventJSON(t, hang))
		if res.Error == nil || res.Error.Type != "Sandbox.Timedout" {
			t.Fatalf("invocation: %v %s, want Sandbox.Timedout", res.Error, res.Payload)
		}
		spans := e.sink.Spans()
		inv := oneInvocationSpan(t, spans, res.RequestID)
		proc := processSpan(t, spans, inv)
		for _, s := range []*sink.Span{&inv, proc} {
			if s == nil {
				continue
			}
			if s.Status != ptrace.StatusCodeError || s.Attributes["error.type"] != "timeout" {
				t.Errorf("timed-out span %q: status %v %q, error.type %v: want a timeout", s.Name, s.Status, s.StatusMessage, s.Attributes["error.type"])
			}
		}
		if proc != nil {
			if !proc.End.Equal(inv.End) {
				t.Errorf("process span ends at %v, the invocation span at %v: want the same instant", proc.End, inv.End)
			}
			checkLinks(t, proc.Links, []wantLink{{sqsXRayTrace, sqsXRaySpan, "m-5"}})
		}
	})
}
