'use strict';
// faas.trigger from the shape of the event, as the semantic conventions
// define it: http, pubsub, datasource, timer or other.
// https://opentelemetry.io/docs/specs/semconv/faas/faas-spans/

/**
 * trigger returns the faas.trigger value for a Lambda event.
 * @param {unknown} event
 * @returns {'http' | 'pubsub' | 'datasource' | 'timer' | 'other'}
 */
function trigger(event) {
  if (event === null || typeof event !== 'object') {
    return 'other';
  }
  const rc = event.requestContext;
  // API Gateway REST (httpMethod), HTTP API and Function URLs (requestContext.http), ALB (requestContext.elb).
  if (typeof event.httpMethod === 'string' || (rc && typeof rc === 'object' && (rc.http || rc.elb || rc.httpMethod))) {
    return 'http';
  }
  const records = Array.isArray(event.Records) ? event.Records : null;
  if (records && records.length > 0 && records[0] && typeof records[0] === 'object') {
    const source = records[0].eventSource || records[0].EventSource || '';
    switch (source) {
      case 'aws:sqs':
      case 'aws:sns':
      case 'aws:kinesis':
      case 'aws:kafka':
      case 'aws:mq':
        return 'pubsub';
      case 'aws:s3':
      case 'aws:dynamodb':
        return 'datasource';
      default:
        return 'other';
    }
  }
  if (event.source === 'aws.events' || event.source === 'aws.scheduler') {
    if (event['detail-type'] === 'Scheduled Event') {
      return 'timer';
    }
    return 'pubsub';
  }
  if (typeof event['detail-type'] === 'string' && typeof event.source === 'string') {
    return 'pubsub'; // an EventBridge event
  }
  return 'other';
}

module.exports = { trigger };
