'use strict';
// The parts of the SQS process span (lib/sqs.cjs) that read the event: the
// queue's ARN, the X-Ray trace header of AWSTraceHeader and the message
// attributes. The span itself, its links and its place in the trace are
// checked at the sink by TestTriggers.
const test = require('node:test');
const assert = require('node:assert/strict');
const { isSQS, parseQueueARN, parseXRay, messageAttributeGetter } = require('../../lambdaotel-nodejs/lib/sqs.cjs');

// The two things parseXRay takes from @opentelemetry/api (not installed
// next to the layer's sources), with the API's definitions.
const api = {
  TraceFlags: { NONE: 0, SAMPLED: 1 },
  isSpanContextValid: (sc) => /^[0-9a-f]{32}$/.test(sc.traceId) && !/^0+$/.test(sc.traceId) &&
    /^[0-9a-f]{16}$/.test(sc.spanId) && !/^0+$/.test(sc.spanId),
};

test('isSQS recognises the SQS event and nothing else', () => {
  const cases = [
    ['SQS', { Records: [{ eventSource: 'aws:sqs' }] }, true],
    ['SNS', { Records: [{ EventSource: 'aws:sns' }] }, false],
    ['empty records', { Records: [] }, false],
    ['null record', { Records: [null] }, false],
    ['no records', { action: 'x' }, false],
    ['null', null, false],
    ['string', 'aws:sqs', false],
  ];
  for (const [name, event, want] of cases) {
    assert.equal(isSQS(event), want, name);
  }
});

test('parseQueueARN', () => {
  assert.deepEqual(parseQueueARN('arn:aws:sqs:eu-west-1:123456789012:orders.fifo'), { region: 'eu-west-1', account: '123456789012', name: 'orders.fifo' });
  for (const bad of [undefined, '', 'orders', 'arn:aws:sqs:eu-west-1:123456789012', 'arn:aws:sqs::123456789012:q', 42]) {
    assert.equal(parseQueueARN(bad), null, String(bad));
  }
});

test('parseXRay reads Root, Parent and Sampled', () => {
  const cases = [
    ['sampled', 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
      { traceId: '5759e988bd862e3fe1be46a994272793', spanId: '53995c3f42cd8ad8', traceFlags: 1, isRemote: true }],
    ['not sampled, spaces, other keys', 'Root=1-5759e988-bd862e3fe1be46a994272793; Lineage=a87bd80c:1; Parent=53995c3f42cd8ad8; Sampled=0',
      { traceId: '5759e988bd862e3fe1be46a994272793', spanId: '53995c3f42cd8ad8', traceFlags: 0, isRemote: true }],
    ['no Sampled', 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8',
      { traceId: '5759e988bd862e3fe1be46a994272793', spanId: '53995c3f42cd8ad8', traceFlags: 0, isRemote: true }],
    ['no Parent', 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1', null],
    ['bad Root version', 'Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8', null],
    ['short Root', 'Root=1-5759e988-bd862e3f;Parent=53995c3f42cd8ad8', null],
    ['zero Parent', 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0000000000000000', null],
    ['empty', '', null],
  ];
  for (const [name, header, want] of cases) {
    assert.deepEqual(parseXRay(api, header), want, name);
  }
});

test('messageAttributeGetter reads stringValue, whatever the case of the name', () => {
  const carrier = {
    traceparent: { stringValue: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', dataType: 'String' },
    Tracestate: { stringValue: 'k=v', dataType: 'String' },
    sdk: { value: 'from the SDK', dataType: 'String' },
    binary: { binaryValue: 'AAE=', dataType: 'Binary' },
  };
  assert.equal(messageAttributeGetter.get(carrier, 'traceparent'), '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  assert.equal(messageAttributeGetter.get(carrier, 'tracestate'), 'k=v');
  assert.equal(messageAttributeGetter.get(carrier, 'sdk'), 'from the SDK');
  assert.equal(messageAttributeGetter.get(carrier, 'binary'), undefined);
  assert.equal(messageAttributeGetter.get(carrier, 'baggage'), undefined);
  assert.deepEqual(messageAttributeGetter.keys(carrier), ['traceparent', 'Tracestate', 'sdk', 'binary']);
});
