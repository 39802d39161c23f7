package lambdaotel_test

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel"
	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/sandbox"
	"github.com/lambdaotel/lambdaotel/sink"
)

const ordersCmd = "github.com/lambdaotel/lambdaotel/examples/orders"

// awsStandIn stands in for SQS, DynamoDB and S3 on loopback, answering as
// they do and keeping what it received; Lambda Invoke requests go to the
// invoke endpoint of a sandbox, and /webhook answers 204.
type awsStandIn struct {
	mu   sync.Mutex
	reqs map[string]standInRequest // by X-Amz-Target, "METHOD /path" or "invoke"
}

type standInRequest struct {
	header http.Header
	body   []byte
}

func startAWSStandIn(t *testing.T, invoke http.Handler) (*awsStandIn, string) {
	s := &awsStandIn{reqs: map[string]standInRequest{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == sandbox.InvokePath {
			s.keep("invoke", r, nil)
			invoke.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		target := r.Header.Get("X-Amz-Target")
		if target == "" {
			target = r.Method + " " + r.URL.Path
		}
		s.keep(target, r, body)
		w.Header().Set("X-Amzn-RequestId", "stand-in-"+target)
		switch target {
		case "AmazonSQS.SendMessage":
			var in struct{ MessageBody string }
			_ = json.Unmarshal(body, &in)
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			io.WriteString(w, `{"MessageId":"m-1","MD5OfMessageBody":"`+md5Hex(in.MessageBody)+`"}`)
		case "DynamoDB_20120810.PutItem":
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			io.WriteString(w, `{}`)
		case "POST /webhook":
			w.WriteHeader(http.StatusNoContent)
		default:
			if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/receipts/") {
				w.Header().Set("X-Amz-Request-Id", "s3-put")
				w.Header().Set("ETag", `"e"`)
				return
			}
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"UnknownOperationException","message":"the stand-in does not serve `+target+`"}`)
		}
	}))
	t.Cleanup(srv.Close)
	lambdatest.Forward(t, srv.URL)
	return s, srv.URL
}

func (s *awsStandIn) keep(key string, r *http.Request, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs[key] = standInRequest{header: r.Header.Clone(), body: body}
}

func (s *awsStandIn) get(t *testing.T, key string) standInRequest {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.reqs[key]
	if !ok {
		t.Fatalf("the stand-in received no %s request", key)
	}
	return r
}

// TestAWSCallsAcrossFunctions runs examples/orders in the sandbox with the
// real AWS SDK pointed at loopback stand-ins (AWS_ENDPOINT_URL_*): its
// DynamoDB, S3, SQS, Lambda and HTTP calls are CLIENT spans under its
// invocation's span at the sink, each request carries the X-Ray header of
// its span; the function it invokes (a second sandbox, behind the Lambda
// endpoint) continues the trace under Lambda.Invoke; and the shipper
// (examples/sqs), triggered with the message the stand-in received, links
// its processing span to SQS.SendMessage.
func TestAWSCallsAcrossFunctions(t *testing.T) {
	t.Parallel()
	notify := startEnv(t, envOptions{config: otlpConfig, sandbox: sandbox.Config{FunctionName: "notify"}})
	aws, url := startAWSStandIn(t, notify.sb.InvokeHandler())
	lambdatest.Forward(t, url) // reachable from an environment with a network of its own
	const queueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/orders"
	orders := startEnv(t, envOptions{function: ordersCmd, config: otlpConfig, sandbox: sandbox.Config{FunctionName: "orders-api"},
		env: map[string]string{
			"AWS_ENDPOINT_URL_SQS": url, "AWS_ENDPOINT_URL_DYNAMODB": url, "AWS_ENDPOINT_URL_S3": url, "AWS_ENDPOINT_URL_LAMBDA": url,
			"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_EC2_METADATA_DISABLED": "true",
			"ORDERS_TABLE": "orders", "RECEIPTS_BUCKET": "receipts", "ORDERS_QUEUE_URL": queueURL,
			"NOTIFY_FUNCTION": "function", "WEBHOOK_URL": url + "/webhook",
		}})
	res := orders.invoke(t, sandbox.Request{Payload: []byte(`{"id":"o-1","items":2}`)})
	if res.Error != nil {
		t.Fatalf("orders: %+v", res.Error)
	}

	root := orders.root(t, res.RequestID)
	calls := map[string]sink.Span{}
	for _, c := range orders.childrenOf(root) {
		calls[c.Name] = c
		if c.Kind != ptrace.SpanKindClient {
			t.Errorf("%s kind %v, want client", c.Name, c.Kind)
		}
	}
	want := map[string]map[string]any{
		"DynamoDB.PutItem": {"rpc.system": "aws-api", "rpc.service": "DynamoDB", "rpc.method": "PutItem", "cloud.region": "us-east-1",
			"aws.dynamodb.table_names": []any{"orders"}, "aws.request_id": "stand-in-DynamoDB_20120810.PutItem", "http.response.status_code": int64(200)},
		"S3.PutObject": {"rpc.service": "S3", "aws.s3.bucket": "receipts", "aws.s3.key": "receipts/o-1.json", "aws.request_id": "s3-put"},
		"SQS.SendMessage": {"rpc.service": "SQS", "aws.sqs.queue.url": queueURL, "messaging.destination.name": "orders",
			"messaging.system": "aws_sqs", "messaging.message.id": "m-1"},
		"Lambda.Invoke": {"rpc.service": "Lambda", "faas.invoked_name": "function", "faas.invoked_provider": "aws", "http.response.status_code": int64(200)},
		"POST":          {"http.request.method": "POST", "http.response.status_code": int64(204)},
	}
	for name, attrs := range want {
		c, ok := calls[name]
		if !ok {
			t.Errorf("no %s span under the invocation's span", name)
			continue
		}
		for k, v := range attrs {
			if got := c.Attributes[k]; !sameValue(got, v) {
				t.Errorf("%s %s = %#v, want %#v", name, k, got, v)
			}
		}
	}
	if t.Failed() {
		return
	}

	// What the stand-in received: the X-Ray header of each call's span.
	for name, key := range map[string]string{"DynamoDB.PutItem": "DynamoDB_20120810.PutItem", "S3.PutObject": "PUT /receipts/receipts/o-1.json",
		"SQS.SendMessage": "AmazonSQS.SendMessage", "Lambda.Invoke": "invoke"} {
		h, err := lambdaotel.ParseXRayHeader(aws.get(t, key).header.Get("X-Amzn-Trace-Id"))
		if err != nil || h.TraceID.String() != root.TraceID.String() || h.ParentID.String() != calls[name].SpanID.String() || h.Sampled != "1" {
			t.Errorf("%s: X-Amzn-Trace-Id %+v (%v), want the span %s of trace %s", name, h, err, calls[name].SpanID, root.TraceID)
		}
	}
	post := calls["POST"]
	if got, want := aws.get(t, "POST /webhook").header.Get("Traceparent"), "00-"+root.TraceID.String()+"-"+post.SpanID.String()+"-01"; got != want {
		t.Errorf("webhook traceparent %q, want %q", got, want)
	}

	// The invoked function continues the trace under Lambda.Invoke.
	cc, _ := base64.StdEncoding.DecodeString(aws.get(t, "invoke").header.Get("X-Amz-Client-Context"))
	var notified sink.Span
	for _, s := range notify.sink.Spans() {
		if s.Scope == lambdaotel.ScopeName && s.Name == "notify" {
			notified = s
		}
	}
	if notified.TraceID != root.TraceID || notified.ParentSpanID != calls["Lambda.Invoke"].SpanID {
		t.Errorf("the invoked function's span is in trace %s under %s, want under Lambda.Invoke %s of %s (client context %s)",
			notified.TraceID, notified.ParentSpanID, calls["Lambda.Invoke"].SpanID, root.TraceID, cc)
	}

	// The message as SQS delivers it to the shipper: body, message
	// attributes and the AWSTraceHeader system attribute.
	var sent struct {
		MessageBody             string
		MessageAttributes       map[string]struct{ DataType, StringValue string }
		MessageSystemAttributes map[string]struct{ DataType, StringValue string }
	}
	if err := json.Unmarshal(aws.get(t, "AmazonSQS.SendMessage").body, &sent); err != nil {
		t.Fatal(err)
	}
	send := calls["SQS.SendMessage"]
	if tp := sent.MessageAttributes["traceparent"].StringValue; tp != "00-"+root.TraceID.String()+"-"+send.SpanID.String()+"-01" {
		t.Errorf("message attribute traceparent %q is not SQS.SendMessage's context", tp)
	}
	msg := events.SQSMessage{MessageId: "m-1", Body: sent.MessageBody, EventSource: "aws:sqs", AWSRegion: "us-east-1",
		EventSourceARN:    "arn:aws:sqs:us-east-1:123456789012:orders",
		Attributes:        map[string]string{"AWSTraceHeader": sent.MessageSystemAttributes["AWSTraceHeader"].StringValue},
		MessageAttributes: map[string]events.SQSMessageAttribute{}}
	for k, v := range sent.MessageAttributes {
		msg.MessageAttributes[k] = events.SQSMessageAttribute{DataType: v.DataType, StringValue: &v.StringValue}
	}
	batch, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{msg}})
	shipper := startEnv(t, envOptions{function: sqsCmd, config: otlpConfig, sandbox: sandbox.Config{FunctionName: "shipper"}})
	shipped := shipper.invoke(t, sandbox.Request{Payload: batch})
	if shipped.Error != nil {
		t.Fatalf("shipper: %+v", shipped.Error)
	}
	batchSpan := shipper.root(t, shipped.RequestID)
	wantLink := []string{root.TraceID.String() + "/" + send.SpanID.String()}
	if got := linkIDs(batchSpan.Links); !equalStrings(got, wantLink) {
		t.Errorf("shipper batch span links %q, want SQS.SendMessage %q", got, wantLink)
	}
	msgs := shipper.childrenOf(batchSpan)
	if len(msgs) != 1 || !equalStrings(linkIDs(msgs[0].Links), wantLink) {
		t.Errorf("shipper message spans %d, links %v; want one linked to SQS.SendMessage %q", len(msgs), msgs, wantLink)
	}
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}

// sameValue compares an attribute at the sink with a wanted value.
func sameValue(got, want any) bool {
	if w, ok := want.([]any); ok {
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if g[i] != w[i] {
				return false
			}
		}
		return true
	}
	return got == want
}
