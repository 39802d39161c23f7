package lambdaotel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

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
	buf     [20]attribute.KeyValue
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
	}
	if !ok {
		t.other()
	}
}

// Marks of each trigger's payload, looked for before a payload is decoded
// as that trigger's event (and the event is checked after).
var (
	markRecords        = []byte(`"Records"`)
	markSQS            = []byte(`"aws:sqs"`)
	markSNS            = []byte(`"aws:sns"`)
	markS3             = []byte(`"aws:s3"`)
	markKinesis        = []byte(`"aws:kinesis"`)
	markDynamoDB       = []byte(`"aws:dynamodb"`)
	markRequestContext = []byte(`"requestContext"`)
	markELB            = []byte(`"elb"`)
	markHTTPMethod     = []byte(`"httpMethod"`)
	markLambdaURL      = []byte(`.lambda-url.`)
	markDetailType     = []byte(`"detail-type"`)
)

// classifyPayload recognises the trigger of a payload that was not decoded
// into an events type.
func (c *core) classifyPayload(t *trigger, payload []byte) {
	switch {
	case bytes.Contains(payload, markRecords):
		switch {
		case bytes.Contains(payload, markSQS):
			var e events.SQSEvent
			if json.Unmarshal(payload, &e) == nil && len(e.Records) > 0 && e.Records[0].EventSource == "aws:sqs" {
				c.sqs(t, &e)
				return
			}
		case bytes.Contains(payload, markSNS):
			var e events.SNSEvent
			if json.Unmarshal(payload, &e) == nil && len(e.Records) > 0 && e.Records[0].EventSource == "aws:sns" {
				t.sns(&e)
				return
			}
		case bytes.Contains(payload, markS3):
			var e events.S3Event
			if json.Unmarshal(payload, &e) == nil && len(e.Records) > 0 && e.Records[0].EventSource == "aws:s3" {
				t.s3(&e)
				return
			}
		case bytes.Contains(payload, markKinesis):
			var e events.KinesisEvent
			if json.Unmarshal(payload, &e) == nil && len(e.Records) > 0 && e.Records[0].EventSource == "aws:kinesis" {
				t.kinesis(&e)
				return
			}
		case bytes.Contains(payload, markDynamoDB):
			var e events.DynamoDBEvent
			if json.Unmarshal(payload, &e) == nil && len(e.Records) > 0 && e.Records[0].EventSource == "aws:dynamodb" {
				t.dynamoDB(&e)
				return
			}
		}
	case bytes.Contains(payload, markRequestContext):
		switch {
		case bytes.Contains(payload, markELB):
			var e events.ALBTargetGroupRequest
			if json.Unmarshal(payload, &e) == nil && e.HTTPMethod != "" && e.RequestContext.ELB.TargetGroupArn != "" {
				t.alb(&e)
				return
			}
		case bytes.Contains(payload, markHTTPMethod):
			var e events.APIGatewayProxyRequest
			if json.Unmarshal(payload, &e) == nil && e.HTTPMethod != "" {
				t.apiGateway(&e)
				return
			}
		case bytes.Contains(payload, markLambdaURL):
			var e events.LambdaFunctionURLRequest
			if json.Unmarshal(payload, &e) == nil && e.RequestContext.HTTP.Method != "" {
				t.functionURL(&e)
				return
			}
		default:
			var e events.APIGatewayV2HTTPRequest
			if json.Unmarshal(payload, &e) == nil && e.RequestContext.HTTP.Method != "" {
				t.httpAPI(&e)
				return
			}
		}
	case bytes.Contains(payload, markDetailType):
		var e events.EventBridgeEvent
		if json.Unmarshal(payload, &e) == nil && e.DetailType != "" && e.Source != "" {
			t.eventBridge(&e)
			return
		}
	}
	t.other()
}

// sns: a CONSUMER span "<topic> process" whose parent is the context in
// the message attributes. SNS delivers one message per invocation.
func (t *trigger) sns(e *events.SNSEvent) {
	t.kind = trace.SpanKindConsumer
	t.add(semconv.FaaSTriggerPubSub, semconv.MessagingSystemAWSSNS,
		semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"))
	if len(e.Records) == 0 {
		t.name = "sns process"
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

// s3Operation maps an S3 event name to faas.document.operation.
func s3Operation(name string) string {
	switch {
	case name == "":
		return ""
	case strings.HasPrefix(name, "ObjectCreated:"):
		return "insert"
	case strings.HasPrefix(name, "ObjectRemoved:"), strings.HasPrefix(name, "LifecycleExpiration:"):
		return "delete"
	case strings.HasPrefix(name, "ObjectRestore:"), strings.HasPrefix(name, "ObjectTagging:"),
		strings.HasPrefix(name, "ObjectAcl:"), strings.HasPrefix(name, "LifecycleTransition"),
		strings.HasPrefix(name, "IntelligentTiering"):
		return "edit"
	}
	return name
}

// Attribute names of our own for EventBridge events, which the semantic
// conventions have none for. They use EventBridge's own field names.
const (
	attrEventBridgeSource     = attribute.Key("aws.eventbridge.source")
	attrEventBridgeDetailType = attribute.Key("aws.eventbridge.detail_type")
	attrEventBridgeEventID    = attribute.Key("aws.eventbridge.event_id")
)

// eventBridge: faas.trigger timer for scheduled events (with faas.time),
// pubsub for the others.
func (t *trigger) eventBridge(e *events.EventBridgeEvent) {
	if e.Source == "aws.events" && e.DetailType == "Scheduled Event" {
		t.add(semconv.FaaSTriggerTimer)
		if !e.Time.IsZero() {
			t.add(semconv.FaaSTime(e.Time.UTC().Format(time.RFC3339)))
		}
	} else {
		t.add(semconv.FaaSTriggerPubSub)
	}
	t.add(attrEventBridgeSource.String(e.Source), attrEventBridgeDetailType.String(e.DetailType))
	if e.ID != "" {
		t.add(attrEventBridgeEventID.String(e.ID))
	}
}

// messagingSystemKinesis is messaging.system for Kinesis, which the
// semantic conventions do not list; it is spelled as aws_sqs is.
var messagingSystemKinesis = semconv.MessagingSystemKey.String("aws_kinesis")

// kinesis: a CONSUMER span "<stream> process" for the batch.
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
		t.name = "multiple_sources process"
		return
	}
	t.name = processName(stream)
	if stream != "" {
		t.add(semconv.MessagingDestinationName(stream), semconv.AWSKinesisStreamName(stream))
	}
}

// dynamoDB: faas.trigger datasource, the table as faas.document.collection
// and, when every record has the same, faas.document.operation.
func (t *trigger) dynamoDB(e *events.DynamoDBEvent) {
	t.add(semconv.FaaSTriggerDatasource)
	if len(e.Records) == 0 {
		return
	}
	if table := dynamoDBTable(e.Records[0].EventSourceArn); table != "" {
		t.add(semconv.FaaSDocumentCollection(table))
	}
	op := e.Records[0].EventName
	for i := range e.Records {
		if e.Records[i].EventName != op {
			op = ""
			break
		}
	}
	if op := dynamoDBOperation(op); op != "" {
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

// processName is the name of a span that processes messages of source.
func processName(source string) string {
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
