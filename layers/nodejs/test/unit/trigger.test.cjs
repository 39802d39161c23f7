'use strict';
// faas.trigger and url.full from the event's shape (lib/trigger.cjs).
const test = require('node:test');
const assert = require('node:assert/strict');
const { trigger, url } = require('../../lambdaotel-nodejs/lib/trigger.cjs');

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

test('url.full of HTTP events', () => {
  const cases = [
    ['API Gateway REST', {
      httpMethod: 'GET', path: '/orders/7', queryStringParameters: { q: 'a b', page: '2' },
      headers: { Host: 'api.example.com', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Port': '443' },
    }, 'https://api.example.com:443/orders/7?q=a%20b&page=2'],
    ['HTTP API, lower-case headers, rawPath', {
      version: '2.0', rawPath: '/p', rawQueryString: '', headers: { host: 'x.execute-api.us-east-1.amazonaws.com', 'x-forwarded-proto': 'https' },
    }, 'https://x.execute-api.us-east-1.amazonaws.com/p'],
    ['no query parameters (null)', {
      path: '/', queryStringParameters: null, headers: { host: 'h', 'x-forwarded-proto': 'http', 'x-forwarded-port': '80' },
    }, 'http://h:80/'],
    ['no X-Forwarded-Proto', { path: '/', headers: { host: 'h' } }, undefined],
    ['no Host', { path: '/', headers: { 'x-forwarded-proto': 'https' } }, undefined],
    ['no path', { headers: { host: 'h', 'x-forwarded-proto': 'https' } }, undefined],
    ['no headers', { path: '/' }, undefined],
    ['SQS', { Records: [{ eventSource: 'aws:sqs' }] }, undefined],
    ['null', null, undefined],
  ];
  for (const [name, event, want] of cases) {
    assert.equal(url(event), want, name);
  }
});
