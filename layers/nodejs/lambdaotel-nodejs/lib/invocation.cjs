'use strict';
// wrap returns the handler the runtime calls in place of the function's
// own: it starts the invocation span, calls the function's handler inside
// it, and ends the span exactly once, at whichever comes first:
//
//   - the handler's promise settles (async handlers),
//   - the handler calls back (callback handlers: (event, context, callback)),
//   - the handler calls context.succeed, context.fail or context.done,
//   - the handler throws,
//   - the invocation's deadline is less than the timeout margin away: the
//     span ends as a timeout (error.type "timeout", an exception event).
//
// An SQS batch also gets a process span under the invocation span
// (lib/sqs.cjs), which starts and ends with it.
//
// After the span ends, the telemetry is flushed to the extension, the
// extension is told that the invocation's telemetry is complete (the
// end-of-invocation signal, lib/endsignal.cjs, sent by the flush), and only
// then does the runtime get the result: what the invocation recorded is
// exported before Lambda can freeze the environment. After a timeout's
// flush, the handler's late answer flushes once more what it ended since,
// and signals the end. The handler the runtime sees has the arity of the
// function's (the runtime of nodejs24.x rejects callback handlers by their
// arity, and must keep doing so), and a streaming handler
// (awslambda.streamifyResponse) is returned as it is.

/** The instrumentation scope of the invocation spans. */
const SCOPE = 'lambdaotel-nodejs';

/** The function's first invocation in this process is a cold start, unless init ran ahead. */
let coldStartPending = !['provisioned-concurrency', 'lambda-managed-instances'].includes(process.env.AWS_LAMBDA_INITIALIZATION_TYPE || '');

/**
 * A first invocation that comes more than this long after the process
 * started found an environment Lambda had initialized ahead of time
 * (proactive initialization): not a cold start. Lambda's init phase is
 * limited to 10 s.
 */
const PROACTIVE_INIT_MS = 10000;

/** When the process started, in ms since the epoch. */
const processStart = Date.now() - Math.floor(1000 * process.uptime());

/**
 * wrap returns handler instrumented.
 * @param {Function} handler the function's handler
 * @param {object} deps
 * @param {typeof import('@opentelemetry/api')} deps.api
 * @param {import('@opentelemetry/api').Tracer} deps.tracer
 * @param {(deadline: number, requestId?: string, quiet?: boolean) => Promise<unknown>} deps.flush flushes, bounded by the deadline (ms since the epoch, 0: none), then signals the end of invocation requestId (if given); quiet: not at all when no time is left
 * @param {(event: unknown) => import('@opentelemetry/api').Context} deps.parent the parent context of an event's span
 * @param {(event: unknown) => string} deps.trigger faas.trigger of an event
 * @param {(event: unknown) => (string | undefined)} [deps.url] url.full of an HTTP event
 * @param {number} deps.timeoutMarginMs
 * @param {(err: unknown) => void} deps.report logs a failure of the instrumentation itself
 */
function wrap(handler, deps) {
  if (Object.getOwnPropertySymbols(handler).length > 0) {
    // awslambda.streamifyResponse marks the handler with symbols; its
    // arguments are (event, responseStream, context): left as it is.
    return handler;
  }
  const run = invocation(handler, deps);
  const wrapped = handler.length >= 3
    ? function (event, context, callback) { return run(this, event, context, callback); }
    : function (event, context) { return run(this, event, context, arguments[2]); };
  Object.defineProperty(wrapped, 'name', { value: handler.name });
  return wrapped;
}

function invocation(handler, deps) {
  const { api, tracer, flush, timeoutMarginMs, report } = deps;
  return function run(self, event, context, callback) {
    let span;
    let parent;
    let ctx;
    let deadline = 0;
    try {
      const left = context && typeof context.getRemainingTimeInMillis === 'function' ? Number(context.getRemainingTimeInMillis()) : NaN;
      if (Number.isFinite(left) && left > 0) deadline = Date.now() + left;
      parent = deps.parent(event);
      span = tracer.startSpan(spanName(context), { kind: api.SpanKind.SERVER, attributes: attributes(event, context, deps) }, parent);
      ctx = api.trace.setSpan(parent, span);
    } catch (err) {
      report(err);
      return handler.call(self, event, context, callback);
    }
    // An SQS batch also gets a process span, a child of the invocation span
    // that starts and ends with it (lib/sqs.cjs, loaded for SQS events only).
    let processSpan = null;
    if (isSQSEvent(event)) {
      try {
        processSpan = require('./sqs.cjs').startProcessSpan(api, tracer, ctx, event, span.startTime);
      } catch (err) {
        report(err);
      }
    }
    const requestId = context && typeof context.awsRequestId === 'string' ? context.awsRequestId : '';
    let ended = false;
    let timedOut = false;
    let lateFlushed = false;
    let timer;
    // end ends the span once and returns the flush's promise, or null when
    // it had ended already (the flush is under way or done). The first
    // answer after a timeout flushes again what ended since the timeout's
    // flush (which did not signal the end: the handler still ran).
    const end = (err, failed) => {
      if (ended) {
        if (!timedOut || lateFlushed) return null;
        lateFlushed = true;
        return flush(deadline, requestId, true);
      }
      ended = true;
      if (timer) clearTimeout(timer);
      try {
        if (failed) recordError(api, span, err);
        span.end();
        if (processSpan !== null) {
          if (failed) recordError(api, processSpan, err);
          processSpan.end(span.endTime); // the SDK's spans have their end time: the same instant
        }
      } catch (e) {
        report(e);
      }
      return flush(deadline, requestId);
    };
    if (deadline > 0 && timeoutMarginMs > 0) {
      const wait = deadline - Date.now() - timeoutMarginMs;
      if (wait > 0) {
        timer = setTimeout(() => {
          if (ended) return;
          ended = true;
          timedOut = true;
          try {
            const msg = `the handler was still running ${timeoutMarginMs} ms before the invocation's deadline`;
            for (const s of processSpan === null ? [span] : [span, processSpan]) {
              s.setAttribute('error.type', 'timeout');
              s.recordException({ name: 'Timeout', message: msg });
              s.setStatus({ code: api.SpanStatusCode.ERROR, message: msg });
              s.end(s === span ? undefined : span.endTime);
            }
          } catch (e) {
            report(e);
          }
          flush(deadline);
        }, wait);
        if (typeof timer.unref === 'function') timer.unref(); // never holds the event loop
      }
    }
    // after runs deliver once the flush of p (if any) is over.
    const after = (p, deliver) => (p === null ? deliver() : p.then(deliver, deliver));

    let cb = callback;
    if (typeof callback === 'function') {
      cb = function (err, result) {
        const args = arguments;
        after(end(err, err !== undefined && err !== null), () => callback.apply(undefined, args));
      };
    }
    if (context && typeof context === 'object') {
      for (const name of ['succeed', 'fail', 'done']) {
        const original = context[name];
        if (typeof original !== 'function') continue;
        context[name] = function (...args) {
          const failed = name === 'fail' || (name === 'done' && args[0] !== undefined && args[0] !== null);
          const err = name === 'succeed' ? undefined : args[0];
          after(end(err, failed), () => original.apply(context, args));
        };
      }
    }

    let ret;
    try {
      ret = api.context.with(ctx, handler, self, event, context, cb);
    } catch (err) {
      const p = end(err, true);
      return (p === null ? Promise.resolve() : p).then(() => { throw err; });
    }
    if (ret !== null && (typeof ret === 'object' || typeof ret === 'function') && typeof ret.then === 'function') {
      return Promise.resolve(ret).then(
        (result) => after(end(undefined, false), () => result),
        (err) => after(end(err, true), () => { throw err; }),
      );
    }
    if (typeof callback !== 'function' && !(context && typeof context.succeed === 'function')) {
      // A runtime without callbacks (nodejs24.x) takes a plain value as the
      // result, as it takes a promise's.
      return after(end(undefined, false), () => ret);
    }
    return ret; // the callback or context.succeed/fail/done ends the span
  };
}

/** spanName is the function's name (the semantic conventions' FaaS span name). */
function spanName(context) {
  return (context && context.functionName) || process.env.AWS_LAMBDA_FUNCTION_NAME || 'handler';
}

function attributes(event, context, deps) {
  const attrs = {};
  if (context && context.awsRequestId) attrs['faas.invocation_id'] = context.awsRequestId;
  const arn = context && context.invokedFunctionArn;
  if (typeof arn === 'string' && arn !== '') {
    attrs['cloud.resource_id'] = arn;
    const parts = arn.split(':');
    if (parts.length > 4 && parts[4] !== '') attrs['cloud.account.id'] = parts[4];
  }
  attrs['faas.coldstart'] = coldStartPending && Date.now() - processStart <= PROACTIVE_INIT_MS;
  coldStartPending = false;
  attrs['faas.trigger'] = deps.trigger(event);
  const url = deps.url ? deps.url(event) : undefined;
  if (url !== undefined) attrs['url.full'] = url;
  return attrs;
}

/** isSQSEvent is the cheap test of lib/sqs.cjs's isSQS, so that the module loads only for SQS. */
function isSQSEvent(event) {
  if (event === null || typeof event !== 'object' || !Array.isArray(event.Records)) return false;
  const first = event.Records[0];
  return first !== null && typeof first === 'object' && first.eventSource === 'aws:sqs';
}

/** recordError sets the error status, error.type and an exception event. */
function recordError(api, span, err) {
  if (err instanceof Error) {
    span.recordException(err);
    span.setAttribute('error.type', err.name || 'Error');
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: err.message });
    return;
  }
  const message = typeof err === 'string' ? err : safeString(err);
  span.recordException({ name: 'Error', message });
  span.setAttribute('error.type', '_OTHER');
  span.setStatus({ code: api.SpanStatusCode.ERROR, message });
}

function safeString(v) {
  try {
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  } catch {
    return String(v);
  }
}

module.exports = { wrap, SCOPE };
