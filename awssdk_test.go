package lambdaotel

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// standIn is a loopback stand-in for SQS, SNS, DynamoDB, S3 and Lambda
// that answers as the services do and keeps what it received.
type standIn struct {
	t   testing.TB
	srv *httptest.Server
	mu  sync.Mutex
	got []received
	// throttle is how many DynamoDB requests to refuse with
	// ThrottlingException before answering.
	throttle int
}

// received is one request the stand-in received.
type received struct {
	target string // X-Amz-Target, or METHOD path
	header http.Header
	body   map[string]any
	raw    []byte
}

func newStandIn(t testing.TB) *standIn {
	s := &standIn{t: t}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	rec := received{target: r.Header.Get("X-Amz-Target"), header: r.Header.Clone(), raw: raw}
	if rec.target == "" {
		rec.target = r.Method + " " + r.URL.Path
		if strings.Contains(string(raw), "Action=PublishBatch") {
			rec.target = "SNS.PublishBatch"
		} else if strings.Contains(string(raw), "Action=Publish") {
			rec.target = "SNS.Publish"
		}
	}
	_ = json.Unmarshal(raw, &rec.body)
	s.mu.Lock()
	s.got = append(s.got, rec)
	throttle := s.throttle > 0 && strings.HasPrefix(rec.target, "DynamoDB")
	if throttle {
		s.throttle--
	}
	s.mu.Unlock()

	w.Header().Set("X-Amzn-RequestId", "req-"+fmt.Sprint(len(s.got)))
	switch {
	case throttle:
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(400)
		io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}`)
	case rec.target == "AmazonSQS.SendMessage":
		sum := md5.Sum([]byte(rec.body["MessageBody"].(string)))
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		fmt.Fprintf(w, `{"MessageId":"msg-1","MD5OfMessageBody":%q}`, hex.EncodeToString(sum[:]))
	case rec.target == "AmazonSQS.SendMessageBatch":
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		var ok []string
		for _, e := range rec.body["Entries"].([]any) {
			e := e.(map[string]any)
			sum := md5.Sum([]byte(e["MessageBody"].(string)))
			ok = append(ok, fmt.Sprintf(`{"Id":%q,"MessageId":"m-%s","MD5OfMessageBody":%q}`, e["Id"], e["Id"], hex.EncodeToString(sum[:])))
		}
		fmt.Fprintf(w, `{"Successful":[%s],"Failed":[]}`, strings.Join(ok, ","))
	case rec.target == "DynamoDB_20120810.GetItem":
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		io.WriteString(w, `{"Item":{"id":{"S":"1"}}}`)
	case rec.target == "DynamoDB_20120810.Query":
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		io.WriteString(w, `{"Count":1,"ScannedCount":3,"Items":[{"id":{"S":"1"}}]}`)
	case rec.target == "DynamoDB_20120810.DeleteTable":
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(400)
		io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}`)
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/bucket/"):
		w.Header().Set("X-Amz-Request-Id", "s3-req-1")
		w.Header().Set("X-Amz-Id-2", "ext-id-2")
		w.Header().Set("ETag", `"abc"`)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/bucket/"):
		w.Header().Set("X-Amz-Request-Id", "s3-req-2")
		w.Header().Set("X-Amz-Id-2", "ext-id-3")
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(404)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>missing</Key><RequestId>s3-req-2</RequestId></Error>`)
	case strings.HasSuffix(r.URL.Path, "/invocations"):
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		io.WriteString(w, `{"ok":true}`)
	case rec.target == "SNS.PublishBatch":
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<PublishBatchResponse xmlns="https://sns.amazonaws.com/doc/2010-03-31/"><PublishBatchResult><Successful><member><Id>a</Id><MessageId>sns-a</MessageId></member><member><Id>b</Id><MessageId>sns-b</MessageId></member></Successful><Failed/></PublishBatchResult><ResponseMetadata><RequestId>sns-req-2</RequestId></ResponseMetadata></PublishBatchResponse>`)
	case rec.target == "SNS.Publish":
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<PublishResponse xmlns="https://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>sns-msg-1</MessageId></PublishResult><ResponseMetadata><RequestId>sns-req-1</RequestId></ResponseMetadata></PublishResponse>`)
	default:
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"__type":"UnknownOperationException","message":"stand-in does not know %s"}`, rec.target)
	}
}

// last returns the last request with the target, or whose target starts
// with it if it is "METHOD /path".
func (s *standIn) last(t testing.TB, prefix string) received {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.got) - 1; i >= 0; i-- {
		if g := s.got[i].target; g == prefix || strings.Contains(prefix, " ") && strings.HasPrefix(g, prefix) {
			return s.got[i]
		}
	}
	t.Fatalf("the stand-in received no %s request", prefix)
	return received{}
}

// awsConfig is an SDK configuration that sends to the stand-in.
func (s *standIn) awsConfig() aws.Config {
	return aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(s.srv.URL),
		Retryer: func() aws.Retryer {
			return retry.AddWithMaxBackoffDelay(retry.NewStandard(), time.Millisecond)
		},
	}
}

// TestInstrumentAWS calls SQS, SNS, DynamoDB, S3 and Lambda with the real
// SDK against the loopback stand-in inside an invocation, and checks the
// spans, their attributes and parent, and what the stand-in received.
func TestInstrumentAWS(t *testing.T) {
	r := newRecorder(t)
	s := newStandIn(t)
	s.throttle = 1
	cfg := s.awsConfig()
	InstrumentAWS(&cfg, r.opts()...)

	const queueURL = "http://sqs.eu-west-1.localhost/123456789012/orders"
	userAttrs := map[string]sqstypes.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("order")}}
	var invocationSpan trace.SpanContext
	h := Wrap(func(ctx context.Context, _ json.RawMessage) (string, error) {
		invocationSpan = trace.SpanContextFromContext(ctx)
		sq := sqs.NewFromConfig(cfg)
		in := &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String("hello"), MessageAttributes: userAttrs}
		if _, err := sq.SendMessage(ctx, in); err != nil {
			return "", err
		}
		if len(in.MessageAttributes) != 1 || in.MessageSystemAttributes != nil {
			t.Errorf("the caller's input changed: %v %v", in.MessageAttributes, in.MessageSystemAttributes)
		}
		if _, err := sq.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: []sqstypes.SendMessageBatchRequestEntry{
			{Id: aws.String("a"), MessageBody: aws.String("one")}, {Id: aws.String("b"), MessageBody: aws.String("two")}}}); err != nil {
			return "", err
		}
		if _, err := sns.NewFromConfig(cfg).Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:eu-west-1:123456789012:events"), Message: aws.String("hi")}); err != nil {
			return "", err
		}
		if _, err := sns.NewFromConfig(cfg).PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: aws.String("arn:aws:sns:eu-west-1:123456789012:events"),
			PublishBatchRequestEntries: []snstypes.PublishBatchRequestEntry{{Id: aws.String("a"), Message: aws.String("one")}, {Id: aws.String("b"), Message: aws.String("two")}}}); err != nil {
			return "", err
		}
		ddb := dynamodb.NewFromConfig(cfg)
		if _, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("users"), ConsistentRead: aws.Bool(true),
			Key: map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "1"}}}); err != nil {
			return "", err
		}
		if _, err := ddb.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("users"), IndexName: aws.String("by-email"), Limit: aws.Int32(5),
			KeyConditionExpression: aws.String("id = :id"), ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":id": &ddbtypes.AttributeValueMemberS{Value: "1"}}}); err != nil {
			return "", err
		}
		if _, err := ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("gone")}); err == nil {
			return "", fmt.Errorf("DeleteTable of the stand-in did not fail")
		}
		s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String("a/b.txt"), Body: strings.NewReader("data")}); err != nil {
			return "", err
		}
		if _, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String("missing")}); err == nil {
			return "", fmt.Errorf("GetObject of a missing key did not fail")
		}
		if _, err := lambdasvc.NewFromConfig(cfg).Invoke(ctx, &lambdasvc.InvokeInput{
			FunctionName: aws.String("arn:aws:lambda:eu-west-1:123456789012:function:worker:live"), Payload: []byte(`{}`)}); err != nil {
			return "", err
		}
		return "done", nil
	}, r.opts()...)
	if _, err := invoke(t, h, "req-aws", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}

	spans := map[string]tracetest.SpanStub{}
	for _, sp := range r.spans() {
		spans[sp.Name] = sp
	}
	want := map[string]map[string]any{
		"SQS.SendMessage": {"rpc.system": "aws-api", "rpc.service": "SQS", "rpc.method": "SendMessage", "cloud.region": "eu-west-1",
			"aws.request_id": "req-1", "http.response.status_code": int64(200), "aws.sqs.queue.url": queueURL,
			"messaging.system": "aws_sqs", "messaging.destination.name": "orders", "messaging.operation.type": "send", "messaging.message.id": "msg-1"},
		"SQS.SendMessageBatch": {"rpc.method": "SendMessageBatch", "messaging.batch.message_count": int64(2), "messaging.destination.name": "orders"},
		"SNS.PublishBatch":     {"messaging.batch.message_count": int64(2), "messaging.destination.name": "events"},
		"SNS.Publish": {"rpc.service": "SNS", "aws.sns.topic.arn": "arn:aws:sns:eu-west-1:123456789012:events", "messaging.system": "aws_sns",
			"messaging.destination.name": "events", "messaging.message.id": "sns-msg-1"},
		"DynamoDB.GetItem": {"rpc.service": "DynamoDB", "rpc.method": "GetItem", "db.system.name": "aws.dynamodb",
			"aws.dynamodb.table_names": []string{"users"}, "aws.dynamodb.consistent_read": true, "http.request.resend_count": int64(1)},
		"DynamoDB.Query": {"aws.dynamodb.index_name": "by-email", "aws.dynamodb.limit": int64(5), "aws.dynamodb.count": int64(1),
			"aws.dynamodb.scanned_count": int64(3)},
		"DynamoDB.DeleteTable": {"error.type": "ResourceNotFoundException", "http.response.status_code": int64(400)},
		"S3.PutObject": {"rpc.service": "S3", "aws.s3.bucket": "bucket", "aws.s3.key": "a/b.txt", "aws.request_id": "s3-req-1",
			"aws.extended_request_id": "ext-id-2"},
		"S3.GetObject":  {"error.type": "NoSuchKey", "http.response.status_code": int64(404), "aws.s3.key": "missing"},
		"Lambda.Invoke": {"rpc.service": "Lambda", "faas.invoked_name": "worker", "faas.invoked_provider": "aws", "faas.invoked_region": "eu-west-1"},
	}
	for name, attrs := range want {
		sp, ok := spans[name]
		if !ok {
			t.Errorf("no span %s; spans: %v", name, spanNames(r.spans()))
			continue
		}
		if sp.SpanKind != trace.SpanKindClient {
			t.Errorf("%s kind %v, want client", name, sp.SpanKind)
		}
		if sp.Parent.SpanID() != invocationSpan.SpanID() || sp.SpanContext.TraceID() != invocationSpan.TraceID() {
			t.Errorf("%s parent %v, want the invocation span %v", name, sp.Parent.SpanID(), invocationSpan.SpanID())
		}
		checkAttrs(t, name, sp.Attributes, attrs)
	}
	for _, name := range []string{"DynamoDB.DeleteTable", "S3.GetObject"} {
		if sp := spans[name]; sp.Status.Code != codes.Error || len(sp.Events) == 0 || sp.Events[len(sp.Events)-1].Name != "exception" {
			t.Errorf("%s status %v events %v, want an error with an exception event", name, sp.Status, sp.Events)
		}
	}
	if ev := spans["DynamoDB.GetItem"].Events; len(ev) != 1 || ev[0].Name != "retry" {
		t.Errorf("DynamoDB.GetItem events %v, want one retry", ev)
	} else {
		checkAttrs(t, "retry event", ev[0].Attributes, map[string]any{"aws.attempt": int64(1), "error.type": "ThrottlingException"})
	}

	// What the stand-in received: the X-Ray header of each operation's span
	// on every request, the context in the messages and the client context.
	for name, prefix := range map[string]string{"SQS.SendMessage": "AmazonSQS.SendMessage", "DynamoDB.Query": "DynamoDB_20120810.Query", "SNS.Publish": "SNS.Publish",
		"S3.PutObject": "PUT /bucket/", "Lambda.Invoke": "POST /2015-03-31/functions/"} {
		got := s.last(t, prefix).header.Get("X-Amzn-Trace-Id")
		if want := xrayHeaderOf(spans[name].SpanContext, ""); got != want {
			t.Errorf("%s X-Amzn-Trace-Id %q, want %q", name, got, want)
		}
	}
	send := spans["SQS.SendMessage"].SpanContext
	msg := s.last(t, "AmazonSQS.SendMessage").body
	checkMessageAttr(t, msg["MessageSystemAttributes"], "AWSTraceHeader", xrayHeaderOf(send, ""))
	checkMessageAttr(t, msg["MessageAttributes"], "traceparent", traceparent(send))
	checkMessageAttr(t, msg["MessageAttributes"], "kind", "order")
	batch := s.last(t, "AmazonSQS.SendMessageBatch").body["Entries"].([]any)
	for _, e := range batch {
		checkMessageAttr(t, e.(map[string]any)["MessageAttributes"], "traceparent", traceparent(spans["SQS.SendMessageBatch"].SpanContext))
		checkMessageAttr(t, e.(map[string]any)["MessageSystemAttributes"], "AWSTraceHeader", xrayHeaderOf(spans["SQS.SendMessageBatch"].SpanContext, ""))
	}
	if pb := string(s.last(t, "SNS.PublishBatch").raw); strings.Count(pb, traceparent(spans["SNS.PublishBatch"].SpanContext)) != 2 {
		t.Errorf("SNS PublishBatch body has not the traceparent of SNS.PublishBatch in both entries: %s", pb)
	}
	pub := string(s.last(t, "SNS.Publish").raw)
	if !strings.Contains(pub, "Action=Publish") || !strings.Contains(pub, "traceparent") ||
		!strings.Contains(pub, traceparent(spans["SNS.Publish"].SpanContext)) {
		t.Errorf("SNS Publish body has no traceparent message attribute: %s", pub)
	}
	cc := s.last(t, "POST /2015-03-31/functions/").header.Get("X-Amz-Client-Context")
	raw, err := base64.StdEncoding.DecodeString(cc)
	var clientContext struct{ Custom map[string]string }
	if err == nil {
		err = json.Unmarshal(raw, &clientContext)
	}
	if err != nil || clientContext.Custom["traceparent"] != traceparent(spans["Lambda.Invoke"].SpanContext) {
		t.Errorf("Lambda Invoke client context %q (%s, %v), want traceparent of Lambda.Invoke", cc, raw, err)
	}
}

func spanNames(spans tracetest.SpanStubs) []string {
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	return names
}

// checkMessageAttr checks a String message attribute of an SQS JSON body.
func checkMessageAttr(t *testing.T, attrs any, name, want string) {
	t.Helper()
	m, _ := attrs.(map[string]any)
	a, _ := m[name].(map[string]any)
	if a["DataType"] != "String" || a["StringValue"] != want {
		t.Errorf("message attribute %s = %v, want String %q (all: %v)", name, a, want, attrs)
	}
}

// TestInstrumentAWSLineage checks that the X-Ray header of AWS calls keeps
// the Lineage of the invocation's header, which Lambda's recursive loop
// detection reads.
func TestInstrumentAWSLineage(t *testing.T) {
	r := newRecorder(t)
	s := newStandIn(t)
	cfg := s.awsConfig()
	InstrumentAWS(&cfg, r.opts()...)
	const invocationHeader = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=1:fe460cdd:0"
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-l", InvokedFunctionArn: testARN})
	ctx = context.WithValue(ctx, lambdaTraceHeaderKey, invocationHeader)
	h := Wrap(func(ctx context.Context, _ json.RawMessage) (string, error) {
		_, err := sqs.NewFromConfig(cfg).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String("http://q/1/q"), MessageBody: aws.String("x")})
		return "", err
	}, r.opts()...)
	if _, err := h.Invoke(ctx, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	got := s.last(t, "AmazonSQS.SendMessage")
	if v := got.header.Get("X-Amzn-Trace-Id"); !strings.HasSuffix(v, ";Lineage=1:fe460cdd:0") {
		t.Errorf("X-Amzn-Trace-Id %q has not the invocation's Lineage", v)
	}
	sys, _ := got.body["MessageSystemAttributes"].(map[string]any)
	if a, _ := sys["AWSTraceHeader"].(map[string]any); !strings.HasSuffix(fmt.Sprint(a["StringValue"]), ";Lineage=1:fe460cdd:0") {
		t.Errorf("AWSTraceHeader %v has not the invocation's Lineage", a)
	}
}

// TestInstrumentAWSFullMessage checks that a message with 10 attributes
// (the SQS limit) goes out as it was, with an event on the span saying
// that the context could not go with it.
func TestInstrumentAWSFullMessage(t *testing.T) {
	r := newRecorder(t)
	s := newStandIn(t)
	cfg := s.awsConfig()
	InstrumentAWS(&cfg, r.opts()...)
	attrs := map[string]sqstypes.MessageAttributeValue{}
	for i := range 10 {
		attrs[fmt.Sprint("a", i)] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String("v")}
	}
	h := Wrap(func(ctx context.Context, _ json.RawMessage) (string, error) {
		_, err := sqs.NewFromConfig(cfg).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String("http://q/1/q"), MessageBody: aws.String("x"), MessageAttributes: attrs})
		return "", err
	}, r.opts()...)
	if _, err := invoke(t, h, "req-full", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	got := s.last(t, "AmazonSQS.SendMessage").body
	if m := got["MessageAttributes"].(map[string]any); len(m) != 10 {
		t.Errorf("%d message attributes sent, want the caller's 10", len(m))
	}
	checkMessageAttr(t, got["MessageSystemAttributes"], "AWSTraceHeader", xrayHeaderOf(r.one(t, "SQS.SendMessage").SpanContext, ""))
	if ev := r.one(t, "SQS.SendMessage").Events; len(ev) != 1 || ev[0].Name != "trace context not in message attributes" {
		t.Errorf("events %v, want one saying the context is not in the message attributes", ev)
	}
}

// TestAWSRulesOtherServices checks the attributes of Kinesis, Step
// Functions and Lambda event source mapping inputs, by the field names of
// their SDK inputs (the service clients are not dependencies of this
// module).
func TestAWSRulesOtherServices(t *testing.T) {
	t.Parallel()
	type kinesisPutRecordInput struct {
		StreamName *string
		StreamARN  *string
		Data       []byte
	}
	type sfnStartExecutionInput struct {
		StateMachineArn *string
		Input           *string
	}
	type sfnGetActivityTaskInput struct{ ActivityArn *string }
	type lambdaGetEventSourceMappingInput struct{ UUID *string }
	cases := []struct {
		service, op string
		in          any
		want        map[string]any
	}{
		{"Kinesis", "PutRecord", &kinesisPutRecordInput{StreamName: aws.String("clicks")}, map[string]any{"aws.kinesis.stream_name": "clicks"}},
		{"Kinesis", "PutRecords", &kinesisPutRecordInput{StreamARN: aws.String("arn:aws:kinesis:eu-west-1:123456789012:stream/views")},
			map[string]any{"aws.kinesis.stream_name": "views"}},
		{"SFN", "StartExecution", &sfnStartExecutionInput{StateMachineArn: aws.String("arn:aws:states:eu-west-1:123456789012:stateMachine:flow")},
			map[string]any{"aws.step_functions.state_machine.arn": "arn:aws:states:eu-west-1:123456789012:stateMachine:flow"}},
		{"SFN", "GetActivityTask", &sfnGetActivityTaskInput{ActivityArn: aws.String("arn:aws:states:eu-west-1:123456789012:activity:act")},
			map[string]any{"aws.step_functions.activity.arn": "arn:aws:states:eu-west-1:123456789012:activity:act"}},
		{"Lambda", "GetEventSourceMapping", &lambdaGetEventSourceMappingInput{UUID: aws.String("14e0db71-5d35-4eb5-b481-8945cf9d10c2")},
			map[string]any{"aws.lambda.resource_mapping.id": "14e0db71-5d35-4eb5-b481-8945cf9d10c2"}},
	}
	for _, c := range cases {
		plan := planFor(c.service, c.op, reflect.TypeOf(c.in))
		checkAttrs(t, c.service+"."+c.op, plan.appendAttrs(nil, reflect.ValueOf(c.in)), c.want)
	}
}
