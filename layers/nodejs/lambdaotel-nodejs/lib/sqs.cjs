'use strict';
// The process span of an SQS batch: a CONSUMER span named "process <queue>",
// a child of the invocation span, with the messaging attributes of the
// semantic conventions and one link per message that carries a trace
// context: a message attribute the configured propagators read (traceparent,
// what OpenTelemetry senders inject), or else its AWSTraceHeader system
// attribute (X-Ray format, set by SQS when the sender is traced with X-Ray),
// the precedence of the Go library's SQS spans.
// https://opentelemetry.io/docs/specs/semconv/messaging/messaging-spans/
// https://opentelemetry.io/docs/specs/semconv/faas/aws-lambda/
//
// invocation.cjs loads this module only for an SQS event.

/**
 * isSQS reports whether event is an SQS batch (what the Lambda SQS event
 * source mapping delivers).
 * @param {unknown} event
 */
function isSQS(event) {
  return event !== null && typeof event === 'object' && Array.isArray(event.Records) &&
    event.Records.length > 0 && event.Records[0] !== null && typeof event.Records[0] === 'object' &&
    event.Records[0].eventSource === 'aws:sqs';
}

/**
 * startProcessSpan starts the process span of an SQS event under ctx (the
 * invocation span's context).
 * @param {typeof import('@opentelemetry/api')} api
 * @param {import('@opentelemetry/api').Tracer} tracer
 * @param {import('@opentelemetry/api').Context} ctx
 * @param {{Records: object[]}} event
 * @param {import('@opentelemetry/api').TimeInput} [startTime] the invocation span's (the SDK's spans have it)
 */
function startProcessSpan(api, tracer, ctx, event, startTime) {
  const records = event.Records;
  const queue = parseQueueARN(records[0].eventSourceARN);
  const name = queue ? queue.name : 'unknown';
  const attributes = {
    'faas.trigger': 'pubsub',
    'messaging.system': 'aws_sqs',
    'messaging.operation.name': 'process',
    'messaging.operation.type': 'process',
    'messaging.destination.name': name,
  };
  if (records.length > 1) attributes['messaging.batch.message_count'] = records.length;
  if (queue) {
    attributes['server.address'] = `sqs.${queue.region}.amazonaws.com`;
    attributes['aws.sqs.queue.url'] = `https://sqs.${queue.region}.amazonaws.com/${queue.account}/${queue.name}`;
  }
  return tracer.startSpan(`process ${name}`, { kind: api.SpanKind.CONSUMER, attributes, links: links(api, records), startTime }, ctx);
}

/**
 * parseQueueARN returns the parts of arn:aws:sqs:REGION:ACCOUNT:NAME, or
 * null when arn is not of that form.
 * @param {unknown} arn
 */
function parseQueueARN(arn) {
  if (typeof arn !== 'string') return null;
  const parts = arn.split(':');
  if (parts.length < 6 || parts[3] === '' || parts[4] === '' || parts[5] === '') return null;
  return { region: parts[3], account: parts[4], name: parts.slice(5).join(':') };
}

/**
 * links returns one link per message with a trace context, each with the
 * message's messaging.message.id.
 */
function links(api, records) {
  const out = [];
  let fields = null;
  for (const record of records) {
    if (record === null || typeof record !== 'object') continue;
    let sc = null;
    const attrs = record.messageAttributes;
    if (attrs !== null && typeof attrs === 'object') {
      if (fields === null) fields = api.propagation.fields();
      // Only a message that carries a propagator's field: a propagator may
      // fall back on something other than the carrier (xray-lambda reads
      // _X_AMZN_TRACE_ID), which would link every message to the function.
      if (Object.keys(attrs).some((k) => fields.includes(k) || fields.includes(k.toLowerCase()))) {
        const got = api.trace.getSpanContext(api.propagation.extract(api.ROOT_CONTEXT, attrs, messageAttributeGetter));
        if (got && api.isSpanContextValid(got)) sc = got;
      }
    }
    const header = record.attributes && record.attributes.AWSTraceHeader;
    if (sc === null && typeof header === 'string') sc = parseXRay(api, header);
    if (sc === null) continue;
    const link = { context: sc };
    if (typeof record.messageId === 'string') link.attributes = { 'messaging.message.id': record.messageId };
    out.push(link);
  }
  return out;
}

/** messageAttributeGetter reads SQS message attributes ({stringValue, dataType}). */
const messageAttributeGetter = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    let a = carrier[key];
    if (a === undefined) {
      const lower = key.toLowerCase();
      const k = Object.keys(carrier).find((name) => name.toLowerCase() === lower);
      a = k === undefined ? undefined : carrier[k];
    }
    if (a === null || typeof a !== 'object') return undefined;
    const v = a.stringValue !== undefined ? a.stringValue : a.value; // the event's spelling, or the SDK's
    return typeof v === 'string' ? v : undefined;
  },
};

const XRAY_ROOT = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/;
const XRAY_PARENT = /^[0-9a-f]{16}$/;

/**
 * parseXRay returns the remote span context of an X-Ray trace header
 * ("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"),
 * or null when it has no valid root and parent.
 */
function parseXRay(api, header) {
  let traceId = '';
  let spanId = '';
  let sampled = false;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim().toLowerCase();
    if (key === 'Root') {
      const m = XRAY_ROOT.exec(value);
      if (m) traceId = m[1] + m[2];
    } else if (key === 'Parent') {
      if (XRAY_PARENT.test(value)) spanId = value;
    } else if (key === 'Sampled') {
      sampled = value === '1';
    }
  }
  const sc = { traceId, spanId, traceFlags: sampled ? api.TraceFlags.SAMPLED : api.TraceFlags.NONE, isRemote: true };
  return api.isSpanContextValid(sc) ? sc : null;
}

module.exports = { isSQS, startProcessSpan, parseQueueARN, parseXRay, messageAttributeGetter };
