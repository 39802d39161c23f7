'use strict';
// What the shape of an event tells the invocation span: faas.trigger, as
// the semantic conventions define it (http, pubsub, datasource, timer or
// other), and url.full of an HTTP event.
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

/**
 * url returns url.full of an API Gateway, ALB or Function URL event, from
 * its Host, X-Forwarded-Proto and X-Forwarded-Port headers, its path and
 * its query string parameters; undefined when the event lacks any of the
 * headers Host and X-Forwarded-Proto or a path.
 * @param {unknown} event
 * @returns {string | undefined}
 */
function url(event) {
  if (event === null || typeof event !== 'object') return undefined;
  const headers = event.headers;
  if (headers === null || typeof headers !== 'object') return undefined;
  const header = (name) => {
    const v = headers[name] !== undefined ? headers[name] : headers[name.charAt(0).toUpperCase() + name.slice(1).replace(/-(.)/g, (m, c) => '-' + c.toUpperCase())];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const host = header('host');
  const proto = header('x-forwarded-proto');
  const path = typeof event.path === 'string' && event.path !== '' ? event.path : (typeof event.rawPath === 'string' && event.rawPath !== '' ? event.rawPath : undefined);
  if (host === undefined || proto === undefined || path === undefined) return undefined;
  const port = header('x-forwarded-port');
  let out = `${proto}://${host}${port === undefined ? '' : ':' + port}${path}`;
  const query = event.queryStringParameters;
  if (query !== null && typeof query === 'object') {
    let sep = '?';
    for (const k of Object.keys(query)) {
      out += `${sep}${encodeURIComponent(k)}=${encodeURIComponent(query[k])}`;
      sep = '&';
    }
  }
  return out;
}

module.exports = { trigger, url };
