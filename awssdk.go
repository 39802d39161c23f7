package lambdaotel

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// InstrumentAWS traces the calls of every AWS SDK for Go v2 client made
// from cfg afterwards:
//
//	cfg, err := config.LoadDefaultConfig(ctx)
//	lambdaotel.InstrumentAWS(&cfg)
//	sqsClient := sqs.NewFromConfig(cfg)
//
// Each operation is one CLIENT span named Service.Operation (SQS.SendMessage,
// DynamoDB.GetItem) with the attributes of the semantic conventions for
// AWS SDK calls (https://opentelemetry.io/docs/specs/semconv/cloud-providers/aws-sdk/):
// rpc.system aws-api, rpc.service, rpc.method, cloud.region,
// aws.request_id, http.response.status_code, and those the conventions
// define for DynamoDB, S3, SQS, SNS, Lambda, Kinesis and Step Functions
// (aws.dynamodb.table_names, aws.s3.bucket, aws.sqs.queue.url,
// messaging.destination.name, faas.invoked_name, ...). Retries are one span
// with http.request.resend_count and a "retry" event per failed attempt;
// an error sets the status to ERROR with error.type the AWS error code
// (ThrottlingException, NoSuchKey) and an exception event.
//
// The span's context goes with the request where AWS carries it: the
// X-Amzn-Trace-Id header on every request (with the Lineage of the
// invocation's header, which Lambda's recursive loop detection needs);
// the AWSTraceHeader system attribute and the message attributes of the
// propagators (traceparent, ...) on SQS SendMessage and SendMessageBatch;
// the message attributes on SNS Publish and PublishBatch; and the custom
// client context on Lambda Invoke, which [Start] and [Wrap] read on the
// other side. The caller's input is never changed: the middleware sends a
// copy. When a message has no room left for the message attributes (SQS
// and SNS allow 10), the span gets an event that says so.
//
// Options: [WithTracerProvider] (default: the global one) and
// [WithPropagator] (default: the invocation's, else the global one) for
// message attributes and client context.
func InstrumentAWS(cfg *aws.Config, opts ...Option) {
	c := newConfig(opts)
	tp := c.tracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	m := &awsMiddleware{
		tracer:     tp.Tracer(ScopeName, trace.WithInstrumentationVersion(Version), trace.WithSchemaURL(semconv.SchemaURL)),
		propagator: c.propagator,
	}
	cfg.APIOptions = append(cfg.APIOptions, m.add)
}

// awsMiddleware is the instrumentation InstrumentAWS adds: one Initialize
// middleware (the span, attributes, message context) and one Build
// middleware (the X-Ray header).
type awsMiddleware struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
}

func (m *awsMiddleware) add(stack *middleware.Stack) error {
	if err := stack.Initialize.Add((*awsSpanMiddleware)(m), middleware.After); err != nil {
		return fmt.Errorf("lambdaotel: adding the AWS SDK span middleware: %w", err)
	}
	// Before the SDK's RecursionDetection, which then leaves the header as is.
	if err := stack.Build.Add((*awsHeaderMiddleware)(m), middleware.Before); err != nil {
		return fmt.Errorf("lambdaotel: adding the AWS SDK X-Ray header middleware: %w", err)
	}
	return nil
}

func (m *awsMiddleware) prop(ctx context.Context) propagation.TextMapPropagator {
	if m.propagator != nil {
		return m.propagator
	}
	return propagatorFrom(ctx)
}

type awsSpanMiddleware awsMiddleware

// ID implements middleware.InitializeMiddleware.
func (*awsSpanMiddleware) ID() string { return "lambdaotel.Span" }

var (
	clientKind       = trace.WithSpanKind(trace.SpanKindClient)
	rpcSystemAWS     = attribute.String("rpc.system", "aws-api")
	rpcServiceKey    = attribute.Key("rpc.service")
	resendCountKey   = attribute.Key("http.request.resend_count")
	awsAttemptKey    = attribute.Key("aws.attempt")
	invokedProvider  = semconv.FaaSInvokedProviderAWS
	dynamoDBSystem   = attribute.String("db.system.name", "aws.dynamodb")
	sqsSystem        = attribute.String("messaging.system", "aws_sqs")
	snsSystem        = attribute.String("messaging.system", "aws_sns")
	messagingSend    = attribute.String("messaging.operation.type", "send")
	messagingReceive = attribute.String("messaging.operation.type", "receive")
)

// HandleInitialize implements middleware.InitializeMiddleware.
func (m *awsSpanMiddleware) HandleInitialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	service := awsmiddleware.GetServiceID(ctx)
	op := awsmiddleware.GetOperationName(ctx)
	region := awsmiddleware.GetRegion(ctx)
	plan := planFor(service, op, reflect.TypeOf(in.Parameters))
	ctx, span := m.tracer.Start(ctx, plan.name, clientKind)
	defer span.End()
	if !span.IsRecording() {
		return next.HandleInitialize(ctx, in)
	}

	buf := attrBufs.Get().(*attrBuf)
	defer buf.put()
	attrs := append(buf.kvs[:0], rpcSystemAWS, rpcServiceKey.String(service), semconv.RPCMethod(op))
	if region != "" {
		attrs = append(attrs, semconv.CloudRegion(region))
	}
	attrs = appendServiceAttrs(attrs, service, op, region)
	if in.Parameters != nil {
		attrs = plan.appendAttrs(attrs, reflect.ValueOf(in.Parameters))
		if plan.inject != nil {
			if cp, ok := inputCopy(in.Parameters); ok {
				plan.inject(ctx, (*awsMiddleware)(m).prop(ctx), span, cp.Elem())
				in.Parameters = cp.Interface()
			}
		}
	}

	out, md, err := next.HandleInitialize(ctx, in)

	res, hasResponse := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response)
	if hasResponse && res != nil {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(res.StatusCode))
		if id := res.Header.Get("X-Amz-Id-2"); id != "" {
			attrs = append(attrs, semconv.AWSExtendedRequestID(id))
		}
	}
	if id, ok := awsmiddleware.GetRequestIDMetadata(md); ok && id != "" {
		attrs = append(attrs, semconv.AWSRequestID(id))
	}
	if results, ok := retry.GetAttemptResults(md); ok && len(results.Results) > 1 {
		attrs = append(attrs, resendCountKey.Int(len(results.Results)-1))
		for i, r := range results.Results {
			if r.Err != nil && r.Retried {
				span.AddEvent("retry", trace.WithAttributes(awsAttemptKey.Int(i+1), semconv.ErrorTypeKey.String(awsErrorType(r.Err)),
					semconv.ExceptionMessage(r.Err.Error())))
			}
		}
	}
	if err != nil {
		attrs = appendErrorAttrs(attrs, err, !hasResponse)
		span.SetStatus(codes.Error, err.Error())
		span.AddEvent(semconv.ExceptionEventName, trace.WithAttributes(
			semconv.ExceptionType(awsErrorType(err)), semconv.ExceptionMessage(err.Error())))
	} else if out.Result != nil {
		attrs = plan.appendOutputAttrs(attrs, reflect.ValueOf(out.Result))
	}
	span.SetAttributes(attrs...)
	buf.kvs = attrs
	return out, md, err
}

// attrBuf is the attribute slice of one call, reused: SetAttributes
// copies what it is given, so the slice is free again once it returned.
type attrBuf struct{ kvs []attribute.KeyValue }

var attrBufs = sync.Pool{New: func() any { return &attrBuf{kvs: make([]attribute.KeyValue, 0, 16)} }}

func (b *attrBuf) put() {
	if cap(b.kvs) > 64 {
		return
	}
	clear(b.kvs[:cap(b.kvs)])
	attrBufs.Put(b)
}

// appendErrorAttrs adds error.type (the AWS error code) and, when the
// metadata had none, the status code and request ID of the error.
func appendErrorAttrs(attrs []attribute.KeyValue, err error, noResponse bool) []attribute.KeyValue {
	attrs = append(attrs, semconv.ErrorTypeKey.String(awsErrorType(err)))
	var re *awshttp.ResponseError
	if noResponse && errors.As(err, &re) {
		if re.HTTPStatusCode() != 0 {
			attrs = append(attrs, semconv.HTTPResponseStatusCode(re.HTTPStatusCode()))
		}
		if re.RequestID != "" {
			attrs = append(attrs, semconv.AWSRequestID(re.RequestID))
		}
	}
	return attrs
}

// awsErrorType is the AWS error code of err (ThrottlingException,
// NoSuchKey), else the Go type the semantic conventions use.
func awsErrorType(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() != "" {
		return ae.ErrorCode()
	}
	var cancel *aws.RequestCanceledError
	if errors.As(err, &cancel) {
		return "RequestCanceled"
	}
	return semconv.ErrorType(err).Value.AsString()
}

// appendServiceAttrs adds the attributes that follow from the service
// alone.
func appendServiceAttrs(attrs []attribute.KeyValue, service, op, region string) []attribute.KeyValue {
	switch service {
	case "DynamoDB":
		attrs = append(attrs, dynamoDBSystem)
	case "SQS":
		attrs = append(attrs, sqsSystem)
		switch op {
		case "SendMessage", "SendMessageBatch":
			attrs = append(attrs, messagingSend)
		case "ReceiveMessage":
			attrs = append(attrs, messagingReceive)
		}
	case "SNS":
		attrs = append(attrs, snsSystem)
		if op == "Publish" || op == "PublishBatch" {
			attrs = append(attrs, messagingSend)
		}
	case "Lambda":
		attrs = append(attrs, invokedProvider)
		if region != "" {
			attrs = append(attrs, semconv.FaaSInvokedRegion(region))
		}
	}
	return attrs
}

type awsHeaderMiddleware awsMiddleware

// ID implements middleware.BuildMiddleware.
func (*awsHeaderMiddleware) ID() string { return "lambdaotel.XRayHeader" }

// HandleBuild implements middleware.BuildMiddleware: the X-Ray header of
// the operation's span, before the request is signed.
func (m *awsHeaderMiddleware) HandleBuild(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
	if req, ok := in.Request.(*smithyhttp.Request); ok {
		if h := xrayHeaderOf(trace.SpanContextFromContext(ctx), invocationLineage(ctx)); h != "" {
			req.Header.Set(xrayHeader, h)
		}
	}
	return next.HandleBuild(ctx, in)
}

// awsPlan is what the middleware reads from (and injects into) the input
// and output of one operation, found once per input type.
type awsPlan struct {
	name   string // Service.Operation
	in     []fieldRule
	out    map[reflect.Type][]fieldRule
	outMu  sync.RWMutex
	rules  []attrRule
	inject func(ctx context.Context, prop propagation.TextMapPropagator, span trace.Span, s reflect.Value)
}

// attrRule maps a field of an input or output to an attribute.
type attrRule struct {
	field string
	key   attribute.Key
	conv  func(v reflect.Value) (attribute.Value, bool)
}

// fieldRule is an attrRule found in a type.
type fieldRule struct {
	index int
	attrRule
}

// awsPlans holds the plan of each operation, by its service, name and
// input type.
var awsPlans sync.Map // awsPlanKey -> *awsPlan

type awsPlanKey struct {
	service, op string
	input       reflect.Type
}

func planFor(service, op string, t reflect.Type) *awsPlan {
	key := awsPlanKey{service, op, t}
	if p, ok := awsPlans.Load(key); ok {
		return p.(*awsPlan)
	}
	p := &awsPlan{name: service + "." + op, rules: awsRules[service], out: map[reflect.Type][]fieldRule{}}
	if t != nil {
		p.in = findFields(t, p.rules)
	}
	p.inject = awsInjector(service, op)
	v, _ := awsPlans.LoadOrStore(key, p)
	return v.(*awsPlan)
}

func findFields(t reflect.Type, rules []attrRule) []fieldRule {
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	st := t.Elem()
	var found []fieldRule
	for _, r := range rules {
		if f, ok := st.FieldByName(r.field); ok && len(f.Index) == 1 {
			found = append(found, fieldRule{index: f.Index[0], attrRule: r})
		}
	}
	return found
}

func (p *awsPlan) appendAttrs(attrs []attribute.KeyValue, v reflect.Value) []attribute.KeyValue {
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return attrs
	}
	s := v.Elem()
	for _, f := range p.in {
		if a, ok := f.conv(s.Field(f.index)); ok {
			attrs = append(attrs, attribute.KeyValue{Key: f.key, Value: a})
		}
	}
	return attrs
}

func (p *awsPlan) appendOutputAttrs(attrs []attribute.KeyValue, v reflect.Value) []attribute.KeyValue {
	if v.Kind() != reflect.Pointer || v.IsNil() || len(p.rules) == 0 {
		return attrs
	}
	t := v.Type()
	p.outMu.RLock()
	fields, ok := p.out[t]
	p.outMu.RUnlock()
	if !ok {
		fields = findFields(t, p.rules)
		p.outMu.Lock()
		p.out[t] = fields
		p.outMu.Unlock()
	}
	s := v.Elem()
	for _, f := range fields {
		if a, ok := f.conv(s.Field(f.index)); ok {
			attrs = append(attrs, attribute.KeyValue{Key: f.key, Value: a})
		}
	}
	return attrs
}

// Converters from field values to attribute values.

func attrStr(v reflect.Value) (attribute.Value, bool) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return attribute.Value{}, false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.String || v.Len() == 0 {
		return attribute.Value{}, false
	}
	return attribute.StringValue(v.String()), true
}

func attrStrAfter(seps string) func(reflect.Value) (attribute.Value, bool) {
	return func(v reflect.Value) (attribute.Value, bool) {
		a, ok := attrStr(v)
		if !ok {
			return a, false
		}
		s := a.AsString()
		if i := strings.LastIndexAny(s, seps); i >= 0 {
			s = s[i+1:]
		}
		return attribute.StringValue(s), s != ""
	}
}

func attrStrList(v reflect.Value) (attribute.Value, bool) {
	a, ok := attrStr(v)
	if !ok {
		return a, false
	}
	return attribute.StringSliceValue([]string{a.AsString()}), true
}

func attrBool(v reflect.Value) (attribute.Value, bool) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return attribute.Value{}, false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Bool {
		return attribute.Value{}, false
	}
	return attribute.BoolValue(v.Bool()), true
}

func attrInt(v reflect.Value) (attribute.Value, bool) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return attribute.Value{}, false
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int32, reflect.Int64:
		return attribute.Int64Value(v.Int()), true
	}
	return attribute.Value{}, false
}

func attrLen(v reflect.Value) (attribute.Value, bool) {
	if v.Kind() != reflect.Slice || v.IsNil() {
		return attribute.Value{}, false
	}
	return attribute.IntValue(v.Len()), true
}

func attrStrings(v reflect.Value) (attribute.Value, bool) {
	if v.Kind() != reflect.Slice || v.Len() == 0 || v.Type().Elem().Kind() != reflect.String {
		return attribute.Value{}, false
	}
	s := make([]string, v.Len())
	for i := range s {
		s[i] = v.Index(i).String()
	}
	return attribute.StringSliceValue(s), true
}

func attrMapKeys(v reflect.Value) (attribute.Value, bool) {
	if v.Kind() != reflect.Map || v.Len() == 0 || v.Type().Key().Kind() != reflect.String {
		return attribute.Value{}, false
	}
	keys := make([]string, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		keys = append(keys, it.Key().String())
	}
	slices.Sort(keys)
	return attribute.StringSliceValue(keys), true
}

// awsRules are the per-service attributes of the semantic conventions
// (DynamoDB: https://opentelemetry.io/docs/specs/semconv/database/dynamodb/,
// S3: https://opentelemetry.io/docs/specs/semconv/object-stores/s3/, and
// the aws.* registry), by field of the operations' inputs and outputs.
var awsRules = map[string][]attrRule{
	"DynamoDB": {
		{"TableName", semconv.AWSDynamoDBTableNamesKey, attrStrList},
		{"RequestItems", semconv.AWSDynamoDBTableNamesKey, attrMapKeys},
		{"ConsistentRead", semconv.AWSDynamoDBConsistentReadKey, attrBool},
		{"Limit", semconv.AWSDynamoDBLimitKey, attrInt},
		{"IndexName", semconv.AWSDynamoDBIndexNameKey, attrStr},
		{"ProjectionExpression", semconv.AWSDynamoDBProjectionKey, attrStr},
		{"Select", semconv.AWSDynamoDBSelectKey, attrStr},
		{"ScanIndexForward", semconv.AWSDynamoDBScanForwardKey, attrBool},
		{"Segment", semconv.AWSDynamoDBSegmentKey, attrInt},
		{"TotalSegments", semconv.AWSDynamoDBTotalSegmentsKey, attrInt},
		{"AttributesToGet", semconv.AWSDynamoDBAttributesToGetKey, attrStrings},
		{"ExclusiveStartTableName", semconv.AWSDynamoDBExclusiveStartTableKey, attrStr},
		{"Count", semconv.AWSDynamoDBCountKey, attrInt},
		{"ScannedCount", semconv.AWSDynamoDBScannedCountKey, attrInt},
		{"TableNames", semconv.AWSDynamoDBTableCountKey, attrLen},
	},
	"S3": {
		{"Bucket", semconv.AWSS3BucketKey, attrStr},
		{"Key", semconv.AWSS3KeyKey, attrStr},
		{"CopySource", semconv.AWSS3CopySourceKey, attrStr},
		{"UploadId", semconv.AWSS3UploadIDKey, attrStr},
		{"PartNumber", semconv.AWSS3PartNumberKey, attrInt},
	},
	"SQS": {
		{"QueueUrl", semconv.AWSSQSQueueURLKey, attrStr},
		{"QueueUrl", semconv.MessagingDestinationNameKey, attrStrAfter("/")},
		{"Entries", semconv.MessagingBatchMessageCountKey, attrLen},
		{"MessageId", semconv.MessagingMessageIDKey, attrStr},
	},
	"SNS": {
		{"TopicArn", semconv.AWSSNSTopicARNKey, attrStr},
		{"TopicArn", semconv.MessagingDestinationNameKey, attrStrAfter(":")},
		{"TargetArn", semconv.MessagingDestinationNameKey, attrStrAfter(":/")},
		{"PublishBatchRequestEntries", semconv.MessagingBatchMessageCountKey, attrLen},
		{"MessageId", semconv.MessagingMessageIDKey, attrStr},
	},
	"Lambda": {
		{"FunctionName", semconv.FaaSInvokedNameKey, attrLambdaName},
		{"UUID", semconv.AWSLambdaResourceMappingIDKey, attrStr},
	},
	"Kinesis": {
		{"StreamName", semconv.AWSKinesisStreamNameKey, attrStr},
		{"StreamARN", semconv.AWSKinesisStreamNameKey, attrStrAfter("/")},
	},
	"SFN": {
		{"StateMachineArn", semconv.AWSStepFunctionsStateMachineARNKey, attrStr},
		{"ActivityArn", semconv.AWSStepFunctionsActivityARNKey, attrStr},
	},
}

// attrLambdaName is the function name of a FunctionName parameter, which may
// be a name, a partial ARN or an ARN, with a version or alias.
func attrLambdaName(v reflect.Value) (attribute.Value, bool) {
	a, ok := attrStr(v)
	if !ok {
		return a, false
	}
	s := a.AsString()
	if p := strings.Split(s, ":"); len(p) >= 7 && p[5] == "function" {
		s = p[6]
	} else if len(p) >= 3 && p[1] == "function" {
		s = p[2]
	} else if len(p) == 2 {
		s = p[0]
	}
	return attribute.StringValue(s), true
}

// awsInjector returns how the context goes into (a copy of) the input
// struct s of an operation that carries it, or nil.
func awsInjector(service, op string) func(context.Context, propagation.TextMapPropagator, trace.Span, reflect.Value) {
	sqs := service == "SQS"
	switch service + "." + op {
	case "SQS.SendMessage", "SNS.Publish":
		return func(ctx context.Context, prop propagation.TextMapPropagator, span trace.Span, s reflect.Value) {
			injectMessage(ctx, prop, span, s, sqs, 10)
		}
	case "SQS.SendMessageBatch", "SNS.PublishBatch":
		entries := "Entries"
		if !sqs {
			entries = "PublishBatchRequestEntries"
		}
		return func(ctx context.Context, prop propagation.TextMapPropagator, span trace.Span, s reflect.Value) {
			injectEntries(s.FieldByName(entries), ctx, prop, span, sqs)
		}
	case "Lambda.Invoke":
		return func(ctx context.Context, prop propagation.TextMapPropagator, span trace.Span, s reflect.Value) {
			injectClientContext(ctx, prop, span, s.FieldByName("ClientContext"))
		}
	}
	return nil
}

// inputCopy returns a copy of the struct *params, addressable, so that
// the caller's input stays as it was; ok is false if params is not a
// pointer to a struct.
func inputCopy(params any) (cp reflect.Value, ok bool) {
	v := reflect.ValueOf(params)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	cp = reflect.New(v.Elem().Type())
	cp.Elem().Set(v.Elem())
	return cp, true
}

func injectEntries(entries reflect.Value, ctx context.Context, prop propagation.TextMapPropagator, span trace.Span, sqs bool) {
	if !entries.IsValid() || entries.Kind() != reflect.Slice || entries.Len() == 0 {
		return
	}
	cp := reflect.MakeSlice(entries.Type(), entries.Len(), entries.Len())
	reflect.Copy(cp, entries)
	for i := 0; i < cp.Len(); i++ {
		injectMessage(ctx, prop, span, cp.Index(i), sqs, 10)
	}
	entries.Set(cp)
}

const awsTraceHeaderAttr = "AWSTraceHeader"

// knownKeys are the map keys the middleware sets, made reflect values
// once: a string made a reflect.Value is an allocation each time.
var knownKeys = map[string]reflect.Value{}

func init() {
	for _, k := range []string{awsTraceHeaderAttr, "traceparent", "tracestate", "baggage", xrayHeader} {
		knownKeys[k] = reflect.ValueOf(k)
	}
}

func keyValue(k string) reflect.Value {
	if v, ok := knownKeys[k]; ok {
		return v
	}
	return reflect.ValueOf(k)
}

// fieldCarrier collects up to 4 propagation fields that the message
// attributes attrs do not have yet.
type fieldCarrier struct {
	attrs  reflect.Value
	fields [4][2]string
	n      int
}

func (c *fieldCarrier) Get(string) string { return "" }
func (c *fieldCarrier) Keys() []string    { return nil }
func (c *fieldCarrier) Set(k, v string) {
	if c.n < len(c.fields) && !c.attrs.MapIndex(keyValue(k)).IsValid() {
		c.fields[c.n] = [2]string{k, v}
		c.n++
	}
}

// injectMessage puts the propagation fields of ctx into the
// MessageAttributes of the message struct s (if there is room for all of
// them: limit attributes a message) and, for SQS, the X-Ray header into
// its AWSTraceHeader system attribute. Attributes the caller set win.
func injectMessage(ctx context.Context, prop propagation.TextMapPropagator, span trace.Span, s reflect.Value, sqs bool, limit int) {
	if sqs {
		if h := xrayHeaderOf(trace.SpanContextFromContext(ctx), invocationLineage(ctx)); h != "" {
			setStringAttr(fieldNamed(s, "MessageSystemAttributes"), awsTraceHeaderAttr, h)
		}
	}
	attrs := fieldNamed(s, "MessageAttributes")
	if !attrs.IsValid() || attrs.Kind() != reflect.Map {
		return
	}
	c := &fieldCarrier{attrs: attrs}
	prop.Inject(ctx, c)
	n := c.n
	if n == 0 {
		return
	}
	if attrs.Len()+n > limit {
		span.AddEvent("trace context not in message attributes", trace.WithAttributes(
			attribute.Int("messaging.message.attributes.count", attrs.Len()),
			attribute.Int("messaging.message.attributes.limit", limit)))
		return
	}
	m := reflect.MakeMapWithSize(attrs.Type(), attrs.Len()+n)
	for it := attrs.MapRange(); it.Next(); {
		m.SetMapIndex(it.Key(), it.Value())
	}
	for _, f := range c.fields[:n] {
		m.SetMapIndex(keyValue(f[0]), stringAttrValue(attrs.Type().Elem(), f[1]))
	}
	attrs.Set(m)
}

// setStringAttr sets name to a String attribute of value in the map
// field attrs (a copy of it), unless the map has name.
func setStringAttr(attrs reflect.Value, name, value string) {
	if !attrs.IsValid() || attrs.Kind() != reflect.Map {
		return
	}
	key := keyValue(name)
	if attrs.MapIndex(key).IsValid() {
		return
	}
	m := reflect.MakeMapWithSize(attrs.Type(), attrs.Len()+1)
	for it := attrs.MapRange(); it.Next(); {
		m.SetMapIndex(it.Key(), it.Value())
	}
	m.SetMapIndex(key, stringAttrValue(attrs.Type().Elem(), value))
	attrs.Set(m)
}

// stringDataType is the DataType of the attributes the middleware adds,
// one *string for all of them (the SDK only reads it).
var stringDataType = reflect.ValueOf(aws.String("String"))

// stringAttrValue makes a message attribute value of type t (the SDK's
// MessageAttributeValue or MessageSystemAttributeValue of SQS or SNS)
// with DataType String.
func stringAttrValue(t reflect.Type, value string) reflect.Value {
	v := reflect.New(t).Elem()
	if f := fieldNamed(v, "DataType"); f.IsValid() {
		f.Set(stringDataType)
	}
	if f := fieldNamed(v, "StringValue"); f.IsValid() {
		f.Set(reflect.ValueOf(&value))
	}
	return v
}

// fieldIndexes holds the index of each field of a struct type by name,
// found once: reflect's FieldByName searches the fields on every call.
var fieldIndexes sync.Map // reflect.Type -> map[string]int

// fieldNamed is s.FieldByName(name) for a struct s, with the indexes of
// its type's fields found once; the zero Value if s has no such field.
func fieldNamed(s reflect.Value, name string) reflect.Value {
	t := s.Type()
	m, ok := fieldIndexes.Load(t)
	if !ok {
		idx := make(map[string]int, t.NumField())
		for i := range t.NumField() {
			idx[t.Field(i).Name] = i
		}
		m, _ = fieldIndexes.LoadOrStore(t, idx)
	}
	i, ok := m.(map[string]int)[name]
	if !ok {
		return reflect.Value{}
	}
	return s.Field(i)
}

// maxClientContext is the largest client context Lambda accepts, in
// bytes of base64.
const maxClientContext = 3583

// injectClientContext puts the propagation fields of ctx into the custom
// map of the base64 JSON client context of a Lambda Invoke (field f, a
// *string), which the invoked function's Start or Wrap extracts.
func injectClientContext(ctx context.Context, prop propagation.TextMapPropagator, span trace.Span, f reflect.Value) {
	if !f.IsValid() || f.Type() != reflect.TypeFor[*string]() {
		return
	}
	cc := map[string]any{}
	if !f.IsNil() && *f.Interface().(*string) != "" {
		old := *f.Interface().(*string)
		raw, err := base64.StdEncoding.DecodeString(old)
		if err == nil {
			err = json.Unmarshal(raw, &cc)
		}
		if err != nil {
			span.AddEvent("trace context not in client context", trace.WithAttributes(
				attribute.String("exception.message", fmt.Sprintf("client context %.40q is not base64 JSON: %v", old, err))))
			return
		}
	}
	custom, _ := cc["custom"].(map[string]any)
	if custom == nil {
		custom = map[string]any{}
	}
	added := false
	prop.Inject(ctx, setCarrier(func(k, v string) {
		if _, ok := custom[k]; !ok {
			custom[k] = v
			added = true
		}
	}))
	if !added {
		return
	}
	cc["custom"] = custom
	raw, err := json.Marshal(cc)
	if err != nil {
		return
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	if len(enc) > maxClientContext {
		span.AddEvent("trace context not in client context", trace.WithAttributes(
			attribute.String("exception.message", fmt.Sprintf("client context would be %d bytes, over Lambda's %d", len(enc), maxClientContext))))
		return
	}
	f.Set(reflect.ValueOf(&enc))
}
