package lambdaotel

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// schemaURL is the version of the semantic conventions the spans follow:
// v1.44.0, whose attributes for them are those of v1.43.0, the newest the
// Go semconv package has (v1.44.0 renamed metrics only). When the
// conventions change, the conformance test (conformance_test.go) and the
// README's table of triggers say what the spans must become.
const schemaURL = "https://opentelemetry.io/schemas/1.44.0"

// kind is the trigger an event type stands for.
type kind uint8

const (
	kindRaw kind = iota // not an events type: chosen from the payload
	kindAPIGateway
	kindHTTPAPI
	kindALB
	kindFunctionURL
	kindSQS
	kindSNS
	kindS3
	kindEventBridge
	kindKinesis
	kindDynamoDB
	kindKafka
	kindActiveMQ
	kindRabbitMQ
	kindAuthToken     // API Gateway REST API TOKEN authorizer
	kindAuthRequest   // API Gateway REST API REQUEST authorizer
	kindAuthHTTPAPIv1 // API Gateway HTTP API authorizer, payload format 1.0
	kindAuthHTTPAPIv2 // API Gateway HTTP API authorizer, payload format 2.0
)

// kindOf is the trigger of the event type T (or *T).
func kindOf[T any]() kind {
	var p *T
	switch any(p).(type) {
	case *events.APIGatewayProxyRequest, **events.APIGatewayProxyRequest:
		return kindAPIGateway
	case *events.APIGatewayV2HTTPRequest, **events.APIGatewayV2HTTPRequest:
		return kindHTTPAPI
	case *events.ALBTargetGroupRequest, **events.ALBTargetGroupRequest:
		return kindALB
	case *events.LambdaFunctionURLRequest, **events.LambdaFunctionURLRequest:
		return kindFunctionURL
	case *events.SQSEvent, **events.SQSEvent:
		return kindSQS
	case *events.SNSEvent, **events.SNSEvent:
		return kindSNS
	case *events.S3Event, **events.S3Event:
		return kindS3
	case *events.EventBridgeEvent, **events.EventBridgeEvent:
		return kindEventBridge
	case *events.KinesisEvent, **events.KinesisEvent:
		return kindKinesis
	case *events.DynamoDBEvent, **events.DynamoDBEvent:
		return kindDynamoDB
	case *events.KafkaEvent, **events.KafkaEvent:
		return kindKafka
	case *events.ActiveMQEvent, **events.ActiveMQEvent:
		return kindActiveMQ
	case *events.RabbitMQEvent, **events.RabbitMQEvent:
		return kindRabbitMQ
	case *events.APIGatewayCustomAuthorizerRequest, **events.APIGatewayCustomAuthorizerRequest:
		return kindAuthToken
	case *events.APIGatewayCustomAuthorizerRequestTypeRequest, **events.APIGatewayCustomAuthorizerRequestTypeRequest:
		return kindAuthRequest
	case *events.APIGatewayV2CustomAuthorizerV1Request, **events.APIGatewayV2CustomAuthorizerV1Request:
		return kindAuthHTTPAPIv1
	case *events.APIGatewayV2CustomAuthorizerV2Request, **events.APIGatewayV2CustomAuthorizerV2Request:
		return kindAuthHTTPAPIv2
	}
	return kindRaw
}

func isRawMessage[T any]() bool {
	var p *T
	_, ok := any(p).(*json.RawMessage)
	return ok
}

// eventOf returns the event p (a *E or a **E) points to, or nil.
func eventOf[E any](p any) *E {
	switch v := p.(type) {
	case *E:
		return v
	case **E:
		return *v
	}
	return nil
}

// httpKind says which HTTP trigger an invocation has.
type httpKind uint8

const (
	notHTTP httpKind = iota
	httpV1           // API Gateway REST API (payload format 1.0)
	httpV2           // API Gateway HTTP API or function URL (payload format 2.0)
	httpALB          // Application Load Balancer
)

// trigger is what an invocation's event says about its span.
type trigger struct {
	kind trace.SpanKind
	// name is the span name; empty means the function's name.
	name string
	// carrier holds the event's propagation fields (HTTP headers, SNS
	// message attributes), or is nil.
	carrier propagation.TextMapCarrier
	links   []trace.Link
	attrs   []attribute.KeyValue
	http    httpKind
	// authorizer is set for API Gateway Lambda authorizers, whose
	// decision is read from the response.
	authorizer bool
	buf        [20]attribute.KeyValue
}

func newTrigger() *trigger {
	t := &trigger{kind: trace.SpanKindServer}
	t.attrs = t.buf[:0]
	return t
}

func (t *trigger) add(kv ...attribute.KeyValue) { t.attrs = append(t.attrs, kv...) }

func (t *trigger) other() { t.add(semconv.FaaSTriggerOther) }

// classify fills t from the event: p points to the decoded event (or is
// nil) and k is its kind; kindRaw events are recognised from the payload.
func (c *core) classify(t *trigger, k kind, p any, payload []byte) {
	if k == kindRaw {
		c.classifyPayload(t, payload)
		return
	}
	ok := false
	switch k {
	case kindAPIGateway:
		if e := eventOf[events.APIGatewayProxyRequest](p); e != nil {
			t.apiGateway(e)
			ok = true
		}
	case kindHTTPAPI:
		if e := eventOf[events.APIGatewayV2HTTPRequest](p); e != nil {
			t.httpAPI(e)
			ok = true
		}
	case kindALB:
		if e := eventOf[events.ALBTargetGroupRequest](p); e != nil {
			t.alb(e)
			ok = true
		}
	case kindFunctionURL:
		if e := eventOf[events.LambdaFunctionURLRequest](p); e != nil {
			t.functionURL(e)
			ok = true
		}
	case kindSQS:
		if e := eventOf[events.SQSEvent](p); e != nil {
			c.sqs(t, e)
			ok = true
		}
	case kindSNS:
		if e := eventOf[events.SNSEvent](p); e != nil {
			t.sns(e)
			ok = true
		}
	case kindS3:
		if e := eventOf[events.S3Event](p); e != nil {
			t.s3(e)
			ok = true
		}
	case kindEventBridge:
		if e := eventOf[events.EventBridgeEvent](p); e != nil {
			t.eventBridge(e)
			ok = true
		}
	case kindKinesis:
		if e := eventOf[events.KinesisEvent](p); e != nil {
			t.kinesis(e)
			ok = true
		}
	case kindDynamoDB:
		if e := eventOf[events.DynamoDBEvent](p); e != nil {
			t.dynamoDB(e)
			ok = true
		}
	case kindKafka:
		if e := eventOf[events.KafkaEvent](p); e != nil {
			c.kafka(t, kafkaFromEvent(e))
			ok = true
		}
	case kindActiveMQ:
		if e := eventOf[events.ActiveMQEvent](p); e != nil {
			c.activeMQ(t, activeMQFromEvent(e))
			ok = true
		}
	case kindRabbitMQ:
		if e := eventOf[events.RabbitMQEvent](p); e != nil {
			c.rabbitMQ(t, e)
			ok = true
		}
	case kindAuthToken:
		if e := eventOf[events.APIGatewayCustomAuthorizerRequest](p); e != nil {
			t.authToken(e)
			ok = true
		}
	case kindAuthRequest:
		if e := eventOf[events.APIGatewayCustomAuthorizerRequestTypeRequest](p); e != nil {
			t.authRequest(e)
			ok = true
		}
	case kindAuthHTTPAPIv1:
		if e := eventOf[events.APIGatewayV2CustomAuthorizerV1Request](p); e != nil {
			t.authHTTPAPIv1(e)
			ok = true
		}
	case kindAuthHTTPAPIv2:
		if e := eventOf[events.APIGatewayV2CustomAuthorizerV2Request](p); e != nil {
			t.authHTTPAPIv2(e)
			ok = true
		}
	}
	if !ok {
		t.other()
	}
}

// classifyPayload recognises the trigger of a payload that was not decoded
// into an events type from the structure of its top level: the fields
// each event type has (Records with their eventSource, requestContext with
// elb or http, detail-type with source, ...). Values the user controls
// (headers, query parameters, path parameters, bodies, EventBridge
// details, stream items) are never read for it, so data that looks like
// another trigger's event cannot mislead it. Every candidate whose fields
// are there is tried in turn; the first whose event decodes and checks
// out wins.
func (c *core) classifyPayload(t *trigger, payload []byte) {
	var top payloadShape
	if err := json.Unmarshal(payload, &top); err != nil {
		// A field of another type than the shape's is skipped, and the
		// others are read: only a payload that is not a JSON object is
		// no candidate's.
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			t.other()
			return
		}
	}
	for _, try := range payloadCandidates {
		if try(c, t, &top, payload) {
			return
		}
	}
	t.other()
}

// payloadShape is the top level of a payload: the fields that tell the
// event types apart, and no more (the rest is skipped, not copied).
type payloadShape struct {
	Records []struct {
		Lower string `json:"eventSource"`
		Upper string `json:"EventSource"` // SNS
	} `json:"Records"`
	RequestContext *struct {
		ELB        present `json:"elb"`
		HTTP       present `json:"http"`
		DomainName string  `json:"domainName"`
	} `json:"requestContext"`
	HTTPMethod   string  `json:"httpMethod"`
	Version      string  `json:"version"`
	Type         string  `json:"type"`
	MethodArn    present `json:"methodArn"`
	RouteArn     present `json:"routeArn"`
	DetailType   string  `json:"detail-type"`
	Source       string  `json:"source"`
	EventSource  string  `json:"eventSource"`
	KafkaRecords present `json:"records"`
	Messages     present `json:"messages"`
	RabbitMQ     present `json:"rmqMessagesByQueue"`
}

// present records that a field is there, without copying its value.
type present bool

// UnmarshalJSON implements json.Unmarshaler.
func (p *present) UnmarshalJSON(b []byte) error {
	*p = present(string(b) != "null")
	return nil
}

// payloadCandidates are the triggers classifyPayload tries, in order.
// Each returns false, without changing t, when the payload is not its
// event.
var payloadCandidates = []func(c *core, t *trigger, top *payloadShape, payload []byte) bool{
	(*core).tryRecords,
	(*core).tryAuthorizer,
	(*core).tryBroker,
	(*core).tryHTTP,
	(*core).tryEventBridge,
}

// tryRecords: the events whose top level is a Records array, told apart by
// the eventSource of their records (EventSource for SNS).
func (c *core) tryRecords(t *trigger, top *payloadShape, payload []byte) bool {
	if len(top.Records) == 0 {
		return false
	}
	switch first(top.Records[0].Lower, top.Records[0].Upper) {
	case "aws:sqs":
		var e events.SQSEvent
		if json.Unmarshal(payload, &e) == nil {
			c.sqs(t, &e)
			return true
		}
	case "aws:sns":
		var e events.SNSEvent
		if json.Unmarshal(payload, &e) == nil {
			t.sns(&e)
			return true
		}
	case "aws:s3":
		var e events.S3Event
		if json.Unmarshal(payload, &e) == nil {
			t.s3(&e)
			return true
		}
	case "aws:kinesis":
		var e events.KinesisEvent
		if json.Unmarshal(payload, &e) == nil {
			t.kinesis(&e)
			return true
		}
	case "aws:dynamodb":
		var e events.DynamoDBEvent
		if json.Unmarshal(payload, &e) == nil {
			t.dynamoDB(&e)
			return true
		}
	}
	return false
}

// tryHTTP: API Gateway REST APIs (and HTTP APIs with payload format 1.0),
// ALB, HTTP APIs and function URLs (payload format 2.0), all with a
// requestContext object.
func (c *core) tryHTTP(t *trigger, top *payloadShape, payload []byte) bool {
	rc := top.RequestContext
	if rc == nil {
		return false
	}
	if rc.ELB && top.HTTPMethod != "" {
		var e events.ALBTargetGroupRequest
		if json.Unmarshal(payload, &e) == nil && e.RequestContext.ELB.TargetGroupArn != "" {
			t.alb(&e)
			return true
		}
	}
	if top.HTTPMethod != "" {
		var e events.APIGatewayProxyRequest
		if json.Unmarshal(payload, &e) == nil {
			t.apiGateway(&e)
			return true
		}
	}
	if rc.HTTP && top.Version == "2.0" {
		// A function URL's domain is <url-id>.lambda-url.<region>.on.aws;
		// an HTTP API's is execute-api's or a custom domain.
		if strings.Contains(rc.DomainName, ".lambda-url.") {
			var e events.LambdaFunctionURLRequest
			if json.Unmarshal(payload, &e) == nil && e.RequestContext.HTTP.Method != "" {
				t.functionURL(&e)
				return true
			}
		}
		var e events.APIGatewayV2HTTPRequest
		if json.Unmarshal(payload, &e) == nil && e.RequestContext.HTTP.Method != "" {
			t.httpAPI(&e)
			return true
		}
	}
	return false
}

// tryEventBridge: an EventBridge event (detail-type, source and detail).
func (c *core) tryEventBridge(t *trigger, top *payloadShape, payload []byte) bool {
	if top.DetailType == "" || top.Source == "" {
		return false
	}
	var e events.EventBridgeEvent
	if json.Unmarshal(payload, &e) != nil {
		return false
	}
	t.eventBridge(&e)
	return true
}

// sns: a CONSUMER span "process <topic>" (the messaging conventions'
// name) whose parent is the context in the message attributes. SNS
// delivers one message per invocation.
func (t *trigger) sns(e *events.SNSEvent) {
	t.kind = trace.SpanKindConsumer
	t.add(semconv.FaaSTriggerPubSub, semconv.MessagingSystemAWSSNS,
		semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"))
	if len(e.Records) == 0 {
		t.name = processName("")
		return
	}
	m := &e.Records[0].SNS
	topic := arnResource(m.TopicArn)
	t.name = processName(topic)
	if topic != "" {
		t.add(semconv.MessagingDestinationName(topic))
	}
	if m.TopicArn != "" {
		t.add(semconv.AWSSNSTopicARN(m.TopicArn))
	}
	if m.MessageID != "" {
		t.add(semconv.MessagingMessageID(m.MessageID))
	}
	if len(e.Records) > 1 {
		t.add(semconv.MessagingBatchMessageCount(len(e.Records)))
	}
	t.carrier = snsCarrier(m.MessageAttributes)
}

// s3: faas.trigger datasource with the faas.document.* attributes of the
// first record.
func (t *trigger) s3(e *events.S3Event) {
	t.add(semconv.FaaSTriggerDatasource)
	if len(e.Records) == 0 {
		return
	}
	r := &e.Records[0]
	t.add(semconv.FaaSDocumentCollection(r.S3.Bucket.Name))
	if op := s3Operation(r.EventName); op != "" {
		t.add(semconv.FaaSDocumentOperationKey.String(op))
	}
	key := r.S3.Object.URLDecodedKey
	if key == "" {
		key = r.S3.Object.Key
	}
	if key != "" {
		t.add(semconv.FaaSDocumentName(key))
	}
	if !r.EventTime.IsZero() {
		t.add(semconv.FaaSDocumentTime(r.EventTime.UTC().Format(time.RFC3339)))
	}
}

// s3Operation maps an S3 event name ("ObjectCreated:Put", also spelled
// "s3:ObjectCreated:Put") to faas.document.operation: insert, edit or
// delete where one applies, else the event type in lower case
// ("replication" for the Replication:* events, which report on copies
// to another bucket, not a change of the object).
func s3Operation(name string) string {
	name = strings.TrimPrefix(name, "s3:")
	typ, _, _ := strings.Cut(name, ":")
	switch typ {
	case "":
		return ""
	case "ObjectCreated":
		return "insert"
	case "ObjectRemoved", "LifecycleExpiration", "ReducedRedundancyLostObject":
		return "delete"
	case "ObjectRestore":
		if name == "ObjectRestore:Delete" { // the restored copy expired
			return "delete"
		}
		return "edit"
	case "ObjectTagging", "ObjectAcl", "LifecycleTransition", "IntelligentTiering":
		return "edit"
	}
	return strings.ToLower(typ)
}

// Attribute names of our own for EventBridge events, which the semantic
// conventions have none for. They use EventBridge's own field names under
// the library's namespace, as the conventions' naming rules ask of names
// they do not define.
const (
	attrEventBridgeSource     = attribute.Key("lambdaotel.eventbridge.source")
	attrEventBridgeDetailType = attribute.Key("lambdaotel.eventbridge.detail_type")
	attrEventBridgeEventID    = attribute.Key("lambdaotel.eventbridge.event_id")
)

// eventBridge: faas.trigger timer for scheduled events (with faas.time),
// datasource for S3's events (with the faas.document.* attributes), pubsub
// for the others.
func (t *trigger) eventBridge(e *events.EventBridgeEvent) {
	switch {
	case e.Source == "aws.events" && e.DetailType == "Scheduled Event":
		t.add(semconv.FaaSTriggerTimer)
		if !e.Time.IsZero() {
			t.add(semconv.FaaSTime(e.Time.UTC().Format(time.RFC3339)))
		}
	case e.Source == "aws.s3" && t.s3Detail(e):
	default:
		t.add(semconv.FaaSTriggerPubSub)
	}
	t.add(attrEventBridgeSource.String(e.Source), attrEventBridgeDetailType.String(e.DetailType))
	if e.ID != "" {
		t.add(attrEventBridgeEventID.String(e.ID))
	}
}

// s3Detail adds the datasource attributes of an S3 event delivered by
// EventBridge ("Object Created", "Object Deleted", ...), and reports
// whether the event was one.
func (t *trigger) s3Detail(e *events.EventBridgeEvent) bool {
	var d struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key string `json:"key"`
		} `json:"object"`
	}
	if json.Unmarshal(e.Detail, &d) != nil || d.Bucket.Name == "" {
		return false
	}
	t.add(semconv.FaaSTriggerDatasource, semconv.FaaSDocumentCollection(d.Bucket.Name))
	switch {
	case e.DetailType == "Object Created":
		t.add(semconv.FaaSDocumentOperationInsert)
	case e.DetailType == "Object Deleted", e.DetailType == "Object Restore Expired":
		t.add(semconv.FaaSDocumentOperationDelete)
	case strings.HasPrefix(e.DetailType, "Object "):
		t.add(semconv.FaaSDocumentOperationEdit)
	default:
		t.add(semconv.FaaSDocumentOperationKey.String(strings.ToLower(e.DetailType)))
	}
	if d.Object.Key != "" {
		t.add(semconv.FaaSDocumentName(d.Object.Key))
	}
	if !e.Time.IsZero() {
		t.add(semconv.FaaSDocumentTime(e.Time.UTC().Format(time.RFC3339)))
	}
	return true
}

// messagingSystemKinesis is messaging.system for Kinesis, which the
// semantic conventions do not list; it is spelled as aws_sqs is.
var messagingSystemKinesis = semconv.MessagingSystemKey.String("aws_kinesis")

// kinesis: a CONSUMER span "process <stream>" for the batch.
func (t *trigger) kinesis(e *events.KinesisEvent) {
	t.kind = trace.SpanKindConsumer
	t.add(semconv.FaaSTriggerPubSub, messagingSystemKinesis,
		semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"),
		semconv.MessagingBatchMessageCount(len(e.Records)))
	stream, multiple := "", false
	for i := range e.Records {
		s := arnResource(e.Records[i].EventSourceArn)
		if i == 0 {
			stream = s
		} else if s != stream {
			multiple = true
			break
		}
	}
	if multiple {
		// The messaging conventions leave out a destination that is not
		// the same for every message.
		t.name = processName("")
		return
	}
	t.name = processName(stream)
	if stream != "" {
		t.add(semconv.MessagingDestinationName(stream), semconv.AWSKinesisStreamName(stream))
	}
}

// dynamoDB: faas.trigger datasource, the table as faas.document.collection
// and faas.document.operation, which the conventions require: the
// records' operation, or "multiple" when they have different ones.
func (t *trigger) dynamoDB(e *events.DynamoDBEvent) {
	t.add(semconv.FaaSTriggerDatasource)
	if len(e.Records) == 0 {
		return
	}
	if table := dynamoDBTable(e.Records[0].EventSourceArn); table != "" {
		t.add(semconv.FaaSDocumentCollection(table))
	}
	op := dynamoDBOperation(e.Records[0].EventName)
	for i := range e.Records {
		if e.Records[i].EventName != e.Records[0].EventName {
			op = "multiple"
			break
		}
	}
	if op != "" {
		t.add(semconv.FaaSDocumentOperationKey.String(op))
	}
}

func dynamoDBOperation(eventName string) string {
	switch eventName {
	case "INSERT":
		return "insert"
	case "MODIFY":
		return "edit"
	case "REMOVE":
		return "delete"
	}
	return strings.ToLower(eventName)
}

// dynamoDBTable is the table of a stream ARN
// (arn:aws:dynamodb:region:account:table/NAME/stream/LABEL).
func dynamoDBTable(arn string) string {
	_, rest, ok := strings.Cut(arnResourcePart(arn), "table/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// arnResourcePart is what follows the fifth colon of an ARN.
func arnResourcePart(arn string) string {
	s := arn
	for range 5 {
		i := strings.IndexByte(s, ':')
		if i < 0 {
			return ""
		}
		s = s[i+1:]
	}
	return s
}

// arnResource is the name at the end of an ARN (a queue, topic or
// stream): what follows the last colon or slash.
func arnResource(arn string) string {
	if arn == "" {
		return ""
	}
	return arn[strings.LastIndexAny(arn, ":/")+1:]
}

// processName is the name the messaging conventions give a span that
// processes messages of destination: "process <destination>", or
// "process" without one.
func processName(destination string) string {
	if destination == "" {
		return "process"
	}
	return "process " + destination
}

// sourceProcessName is "<event source> process", the name the AWS Lambda
// conventions' SQS section gives the spans of SQS batches and messages
// (and that DynamoDB stream records keep, having no conventions).
func sourceProcessName(source string) string {
	if source == "" {
		return "process"
	}
	return source + " process"
}

// panicMessage is the message of a panic value.
func panicMessage(v any) string {
	switch v := v.(type) {
	case error:
		return v.Error()
	case string:
		return v
	}
	return fmt.Sprint(v)
}
