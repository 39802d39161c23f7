package lambdaotel

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Kafka (Amazon MSK and self-managed) and Amazon MQ (ActiveMQ and
// RabbitMQ) event source mappings invoke the function with a batch of
// messages, as SQS does. The invocation is a CONSUMER span
// "process <destination>" (the messaging conventions' name; "process" when
// the batch has messages of several destinations) with faas.trigger
// pubsub, the messaging.system of the broker
// (https://opentelemetry.io/docs/specs/semconv/messaging/), the batch's
// size, and one link per message that carries a W3C context (Kafka record
// headers, ActiveMQ message properties, RabbitMQ message headers).

// kafkaBatch is what a Kafka event says about its records.
type kafkaBatch struct {
	servers string // bootstrapServers
	records []kafkaRecord
}

type kafkaRecord struct {
	topic     string
	partition string
	offset    string
	headers   propagation.MapCarrier // nil without headers
}

// kafkaFromEvent reads an events.KafkaEvent, its partitions in order.
func kafkaFromEvent(e *events.KafkaEvent) *kafkaBatch {
	b := &kafkaBatch{servers: e.BootstrapServers}
	for _, k := range sortedKeys(e.Records) {
		for i := range e.Records[k] {
			r := &e.Records[k][i]
			rec := kafkaRecord{topic: r.Topic, partition: strconv.FormatInt(r.Partition, 10), offset: strconv.FormatInt(r.Offset, 10)}
			for _, h := range r.Headers {
				for name, v := range h {
					if rec.headers == nil {
						rec.headers = propagation.MapCarrier{}
					}
					rec.headers[strings.ToLower(name)] = string(v)
				}
			}
			b.records = append(b.records, rec)
		}
	}
	return b
}

// kafkaPayload is a Kafka event as decoded from a payload: leniently,
// since self-managed Kafka's events may spell partitions as strings and
// header values as base64 strings.
type kafkaPayload struct {
	BootstrapServers string `json:"bootstrapServers"`
	Records          map[string][]struct {
		Topic     string                       `json:"topic"`
		Partition json.Number                  `json:"partition"`
		Offset    json.Number                  `json:"offset"`
		Headers   []map[string]json.RawMessage `json:"headers"`
	} `json:"records"`
}

func (p *kafkaPayload) batch() *kafkaBatch {
	b := &kafkaBatch{servers: p.BootstrapServers}
	for _, k := range sortedKeys(p.Records) {
		for _, r := range p.Records[k] {
			rec := kafkaRecord{topic: r.Topic, partition: r.Partition.String(), offset: r.Offset.String()}
			for _, h := range r.Headers {
				for name, v := range h {
					if rec.headers == nil {
						rec.headers = propagation.MapCarrier{}
					}
					rec.headers[strings.ToLower(name)] = headerBytes(v)
				}
			}
			b.records = append(b.records, rec)
		}
	}
	return b
}

// headerBytes decodes a Kafka header value of an event: an array of
// (signed) bytes, or a base64 string.
func headerBytes(raw json.RawMessage) string {
	var ints []int
	if json.Unmarshal(raw, &ints) == nil {
		b := make([]byte, len(ints))
		for i, n := range ints {
			b[i] = byte(n)
		}
		return string(b)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			return string(b)
		}
		return s
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// kafka: the batch span of a Kafka event.
func (c *core) kafka(t *trigger, b *kafkaBatch) {
	t.kind = trace.SpanKindConsumer
	t.add(semconv.FaaSTriggerPubSub, semconv.MessagingSystemKafka,
		semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"),
		semconv.MessagingBatchMessageCount(len(b.records)))
	topic, partition := "", ""
	for i, r := range b.records {
		if i == 0 {
			topic, partition = r.topic, r.partition
			continue
		}
		if r.topic != topic {
			topic, partition = "", ""
			break
		}
		if r.partition != partition {
			partition = ""
		}
	}
	t.name = processName(topic)
	if topic != "" {
		t.add(semconv.MessagingDestinationName(topic))
		if partition != "" {
			t.add(semconv.MessagingDestinationPartitionID(partition))
		}
	}
	if len(b.records) == 1 {
		if off, err := strconv.Atoi(b.records[0].offset); err == nil {
			t.add(semconv.MessagingKafkaOffset(off))
		}
	}
	if server, _, _ := strings.Cut(b.servers, ","); server != "" {
		if host, port, err := net.SplitHostPort(server); err == nil {
			t.add(semconv.ServerAddress(host))
			if p, err := strconv.Atoi(port); err == nil {
				t.add(semconv.ServerPort(p))
			}
		} else {
			t.add(semconv.ServerAddress(server))
		}
	}
	prop := c.propagator()
	for _, r := range b.records {
		if r.headers != nil {
			t.link(prop, r.headers, attribute.KeyValue{})
		}
	}
}

// link adds a link to the context carrier carries, if it has one.
func (t *trigger) link(prop propagation.TextMapPropagator, carrier propagation.TextMapCarrier, id attribute.KeyValue) {
	sc := trace.SpanContextFromContext(prop.Extract(messageContext, carrier))
	if !sc.IsValid() || !sc.IsRemote() {
		return
	}
	l := trace.Link{SpanContext: sc}
	if id.Valid() {
		l.Attributes = []attribute.KeyValue{id}
	}
	t.links = append(t.links, l)
}

// activeMQMessage is what an ActiveMQ message says about its span.
type activeMQMessage struct {
	id, correlation, queue string
	properties             propagation.MapCarrier
}

// activeMQFromEvent reads an events.ActiveMQEvent.
func activeMQFromEvent(e *events.ActiveMQEvent) []activeMQMessage {
	ms := make([]activeMQMessage, len(e.Messages))
	for i := range e.Messages {
		m := &e.Messages[i]
		ms[i] = activeMQMessage{id: m.MessageID, correlation: m.CorrelationID, queue: m.Destination.PhysicalName, properties: m.Properties}
	}
	return ms
}

// activeMQPayload is an ActiveMQ event as decoded from a payload:
// leniently, since Lambda's events may have strings and nulls where
// events.ActiveMQMessage has numbers (expiration, type, replyTo).
type activeMQPayload struct {
	Messages []struct {
		MessageID     string `json:"messageID"`
		CorrelationID string `json:"correlationID"`
		Destination   struct {
			PhysicalName string `json:"physicalName"`
		} `json:"destination"`
		Properties map[string]any `json:"properties"`
	} `json:"messages"`
}

func (p *activeMQPayload) messages() []activeMQMessage {
	ms := make([]activeMQMessage, len(p.Messages))
	for i, m := range p.Messages {
		ms[i] = activeMQMessage{id: m.MessageID, correlation: m.CorrelationID, queue: m.Destination.PhysicalName}
		for k, v := range m.Properties {
			if s, ok := v.(string); ok {
				if ms[i].properties == nil {
					ms[i].properties = propagation.MapCarrier{}
				}
				ms[i].properties[k] = s
			}
		}
	}
	return ms
}

// activeMQ: the batch span of an Amazon MQ for ActiveMQ event.
func (c *core) activeMQ(t *trigger, ms []activeMQMessage) {
	t.kind = trace.SpanKindConsumer
	t.add(semconv.FaaSTriggerPubSub, semconv.MessagingSystemActiveMQ,
		semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"),
		semconv.MessagingBatchMessageCount(len(ms)))
	queue := ""
	for i := range ms {
		if i == 0 {
			queue = ms[i].queue
		} else if ms[i].queue != queue {
			queue = ""
			break
		}
	}
	t.name = processName(queue)
	if queue != "" {
		t.add(semconv.MessagingDestinationName(queue))
	}
	if len(ms) == 1 {
		if ms[0].id != "" {
			t.add(semconv.MessagingMessageID(ms[0].id))
		}
		if ms[0].correlation != "" {
			t.add(semconv.MessagingMessageConversationID(ms[0].correlation))
		}
	}
	prop := c.propagator()
	for i := range ms {
		if len(ms[i].properties) > 0 {
			t.link(prop, ms[i].properties, semconv.MessagingMessageID(ms[i].id))
		}
	}
}

// rabbitMQ: the batch span of an Amazon MQ for RabbitMQ event, whose
// messages are grouped by "<queue>::<virtual host>".
func (c *core) rabbitMQ(t *trigger, e *events.RabbitMQEvent) {
	t.kind = trace.SpanKindConsumer
	n := 0
	queue, multiple := "", false
	keys := sortedKeys(e.MessagesByQueue)
	for i, k := range keys {
		n += len(e.MessagesByQueue[k])
		q, _, _ := strings.Cut(k, "::")
		if i == 0 {
			queue = q
		} else if q != queue {
			multiple = true
		}
	}
	if multiple {
		queue = ""
	}
	t.add(semconv.FaaSTriggerPubSub, semconv.MessagingSystemRabbitMQ,
		semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"),
		semconv.MessagingBatchMessageCount(n))
	t.name = processName(queue)
	if queue != "" {
		t.add(semconv.MessagingDestinationName(queue))
	}
	prop := c.propagator()
	for _, k := range keys {
		for i := range e.MessagesByQueue[k] {
			p := &e.MessagesByQueue[k][i].BasicProperties
			if n == 1 {
				if p.MessageID != nil && *p.MessageID != "" {
					t.add(semconv.MessagingMessageID(*p.MessageID))
				}
				if p.CorrelationID != nil && *p.CorrelationID != "" {
					t.add(semconv.MessagingMessageConversationID(*p.CorrelationID))
				}
			}
			if len(p.Headers) > 0 {
				var id attribute.KeyValue
				if p.MessageID != nil {
					id = semconv.MessagingMessageID(*p.MessageID)
				}
				t.link(prop, rabbitCarrier(p.Headers), id)
			}
		}
	}
}

// rabbitCarrier reads propagation fields from RabbitMQ message headers as
// Lambda delivers them: strings, or {"bytes": [...]}.
type rabbitCarrier map[string]any

func (c rabbitCarrier) Get(key string) string {
	v, ok := lookupFold(c, key, "")
	if !ok {
		return ""
	}
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		ints, _ := v["bytes"].([]any)
		b := make([]byte, 0, len(ints))
		for _, n := range ints {
			f, _ := n.(float64)
			b = append(b, byte(int(f)))
		}
		return string(b)
	}
	return ""
}
func (rabbitCarrier) Set(string, string) {}
func (c rabbitCarrier) Keys() []string   { return sortedKeys(c) }

// tryBroker: the Kafka and Amazon MQ events, told apart by their
// eventSource and the field that holds their messages.
func (c *core) tryBroker(t *trigger, top *payloadShape, payload []byte) bool {
	switch top.EventSource {
	case "aws:kafka", "SelfManagedKafka", "aws:SelfManagedKafka":
		if !top.KafkaRecords {
			return false
		}
		var e kafkaPayload
		if json.Unmarshal(payload, &e) == nil {
			c.kafka(t, e.batch())
			return true
		}
	case "aws:mq", "aws:amq":
		if !top.Messages {
			return false
		}
		var e activeMQPayload
		if json.Unmarshal(payload, &e) == nil {
			c.activeMQ(t, e.messages())
			return true
		}
	case "aws:rmq":
		if !top.RabbitMQ {
			return false
		}
		var e events.RabbitMQEvent
		if json.Unmarshal(payload, &e) == nil {
			c.rabbitMQ(t, &e)
			return true
		}
	}
	return false
}

// ProcessKafka calls process for each record of event, in order
// (partitions in the order of their names), each in a CONSUMER span
// "process <topic>" of its own: a child of the span in ctx (the
// invocation's), linked to the context the record's headers carry, with
// the record's topic, partition and offset. A Kafka event source mapping
// retries the whole batch when the function fails, so processing stops at
// the first error, which ProcessKafka returns (return it from the handler
// to have the batch retried); it also stops, with ctx's error, when ctx
// ends. A panic in process is recorded on the record's span and goes on.
func ProcessKafka(ctx context.Context, event events.KafkaEvent, process func(context.Context, events.KafkaRecord) error) error {
	rp := newRecordProcessor(ctx)
	for _, k := range sortedKeys(event.Records) {
		for i := range event.Records[k] {
			r := &event.Records[k][i]
			if rp.stop() {
				return ctx.Err()
			}
			attrs := []attribute.KeyValue{
				semconv.FaaSTriggerPubSub, semconv.MessagingSystemKafka,
				semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"),
				semconv.MessagingDestinationName(r.Topic),
				semconv.MessagingDestinationPartitionID(strconv.FormatInt(r.Partition, 10)),
				semconv.MessagingKafkaOffset(int(r.Offset)),
			}
			var link trace.SpanContext
			if len(r.Headers) > 0 {
				c := propagation.MapCarrier{}
				for _, h := range r.Headers {
					for name, v := range h {
						c[strings.ToLower(name)] = string(v)
					}
				}
				link = messageLink(rp.prop, c)
			}
			if err := rp.run(ctx, processName(r.Topic), attrs, link, func(ctx context.Context) error { return process(ctx, *r) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// ProcessActiveMQ calls process for each message of an Amazon MQ for
// ActiveMQ event, in order, each in a CONSUMER span "process <queue>" of
// its own, a child of the span in ctx, linked to the context the message's
// properties carry. As for Kafka, processing stops at the first error (or
// when ctx ends), which it returns: Lambda redelivers the batch when the
// function fails.
func ProcessActiveMQ(ctx context.Context, event events.ActiveMQEvent, process func(context.Context, events.ActiveMQMessage) error) error {
	rp := newRecordProcessor(ctx)
	for i := range event.Messages {
		m := &event.Messages[i]
		if rp.stop() {
			return ctx.Err()
		}
		attrs := []attribute.KeyValue{
			semconv.FaaSTriggerPubSub, semconv.MessagingSystemActiveMQ,
			semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"),
			semconv.MessagingDestinationName(m.Destination.PhysicalName), semconv.MessagingMessageID(m.MessageID),
		}
		if m.CorrelationID != "" {
			attrs = append(attrs, semconv.MessagingMessageConversationID(m.CorrelationID))
		}
		var link trace.SpanContext
		if len(m.Properties) > 0 {
			link = messageLink(rp.prop, propagation.MapCarrier(m.Properties))
		}
		if err := rp.run(ctx, processName(m.Destination.PhysicalName), attrs, link, func(ctx context.Context) error { return process(ctx, *m) }); err != nil {
			return err
		}
	}
	return nil
}

// ProcessRabbitMQ calls process for each message of an Amazon MQ for
// RabbitMQ event, queue by queue in the order of their names, each in a
// CONSUMER span "process <queue>" of its own, a child of the span in ctx,
// linked to the context the message's headers carry. As for Kafka,
// processing stops at the first error (or when ctx ends), which it
// returns.
func ProcessRabbitMQ(ctx context.Context, event events.RabbitMQEvent, process func(context.Context, events.RabbitMQMessage) error) error {
	rp := newRecordProcessor(ctx)
	for _, k := range sortedKeys(event.MessagesByQueue) {
		queue, _, _ := strings.Cut(k, "::")
		for i := range event.MessagesByQueue[k] {
			m := &event.MessagesByQueue[k][i]
			if rp.stop() {
				return ctx.Err()
			}
			attrs := []attribute.KeyValue{
				semconv.FaaSTriggerPubSub, semconv.MessagingSystemRabbitMQ,
				semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"),
				semconv.MessagingDestinationName(queue),
			}
			if id := m.BasicProperties.MessageID; id != nil && *id != "" {
				attrs = append(attrs, semconv.MessagingMessageID(*id))
			}
			var link trace.SpanContext
			if len(m.BasicProperties.Headers) > 0 {
				link = messageLink(rp.prop, rabbitCarrier(m.BasicProperties.Headers))
			}
			if err := rp.run(ctx, processName(queue), attrs, link, func(ctx context.Context) error { return process(ctx, *m) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// messageLink is the context a message's carrier carries, or an invalid
// one.
func messageLink(prop propagation.TextMapPropagator, carrier propagation.TextMapCarrier) trace.SpanContext {
	sc := trace.SpanContextFromContext(prop.Extract(messageContext, carrier))
	if !sc.IsRemote() {
		return trace.SpanContext{}
	}
	return sc
}
