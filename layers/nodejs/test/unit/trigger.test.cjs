'use strict';
// faas.trigger from the event's shape (lib/trigger.cjs).
const test = require('node:test');
const assert = require('node:assert/strict');
const { trigger } = require('../../lambdaotel-nodejs/lib/trigger.cjs');

test('faas.trigger of Lambda events', () => {
  const cases = [
    ['API Gateway REST', { httpMethod: 'GET', path: '/', requestContext: { stage: 'prod' } }, 'http'],
    ['API Gateway HTTP API', { version: '2.0', requestContext: { http: { method: 'GET' } } }, 'http'],
    ['Function URL', { requestContext: { http: { method: 'POST' }, domainName: 'x.lambda-url.us-east-1.on.aws' } }, 'http'],
    ['ALB', { requestContext: { elb: { targetGroupArn: 'arn' } }, httpMethod: 'GET' }, 'http'],
    ['SQS', { Records: [{ eventSource: 'aws:sqs' }] }, 'pubsub'],
    ['SNS', { Records: [{ EventSource: 'aws:sns' }] }, 'pubsub'],
    ['Kinesis', { Records: [{ eventSource: 'aws:kinesis' }] }, 'pubsub'],
    ['S3', { Records: [{ eventSource: 'aws:s3' }] }, 'datasource'],
    ['DynamoDB', { Records: [{ eventSource: 'aws:dynamodb' }] }, 'datasource'],
    ['schedule', { source: 'aws.events', 'detail-type': 'Scheduled Event' }, 'timer'],
    ['EventBridge', { source: 'orders', 'detail-type': 'OrderPlaced', detail: {} }, 'pubsub'],
    ['other records', { Records: [{ eventSource: 'aws:codecommit' }] }, 'other'],
    ['direct invoke', { action: 'http' }, 'other'],
    ['null', null, 'other'],
    ['string', 'hello', 'other'],
    ['empty records', { Records: [] }, 'other'],
  ];
  for (const [name, event, want] of cases) {
    assert.equal(trigger(event), want, name);
  }
});
