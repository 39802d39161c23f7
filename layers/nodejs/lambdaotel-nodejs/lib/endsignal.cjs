'use strict';
// The end-of-invocation signal: after the flush that ends an invocation,
// the layer tells the lambdaotel extension that the function sends nothing
// more for it,
//
//   POST <origin>/lambdaotel/v1/invocations/<awsRequestId>/end   (empty body)
//
// which the extension answers 204 No Content. Without platform telemetry
// the extension then exports and asks Lambda for the next event at once,
// instead of waiting for the Telemetry API's platform.runtimeDone (25 ms or
// more after the response). The Go library sends the same signal.
//
// <origin> is that of the OTLP/HTTP traces endpoint, and only when it is
// plain HTTP on loopback with a port (the extension). An answer other than
// 204 (another collector says 404) or a refused connection (nothing
// listens) turns the signal off for the rest of the process; a timeout does
// not. It is not sent on Lambda Managed Instances, where the extension
// follows no single invocation, nor with LAMBDAOTEL_INVOCATION_END=false.

/** The path prefix of the signal: POST /lambdaotel/v1/invocations/{requestId}/end. */
const INVOCATION_END_PATH = '/lambdaotel/v1/invocations/';

/** How long the signal's round trip to the extension on loopback may take, at most (ms). */
const SIGNAL_TIMEOUT_MS = 100;

/**
 * The origin when no endpoint variable says otherwise: the layer's default
 * endpoint (the extension's OTLP/HTTP receiver on 127.0.0.1, rather than
 * "localhost", which may resolve to ::1 first, where it does not listen).
 */
const DEFAULT_ORIGIN = 'http://127.0.0.1:4318';

/**
 * origin returns the origin (http://host:port) the signal goes to under
 * env, or '' when it is not sent: turned off (LAMBDAOTEL_INVOCATION_END
 * false or 0), Lambda Managed Instances, or an OTLP endpoint that is not
 * plain HTTP on loopback with a port. The endpoint is
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT,
 * else the default; when the traces protocol is grpc, the default (the
 * extension's OTLP/HTTP receiver).
 * @param {NodeJS.ProcessEnv} env
 * @returns {string}
 */
function origin(env) {
  const setting = (env.LAMBDAOTEL_INVOCATION_END || '').trim();
  if (setting.toLowerCase() === 'false' || setting === '0') return '';
  if ((env.AWS_LAMBDA_INITIALIZATION_TYPE || '').trim() === 'lambda-managed-instances') return '';
  let endpoint = DEFAULT_ORIGIN;
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || '').trim() || (env.OTEL_EXPORTER_OTLP_PROTOCOL || '').trim();
  if (protocol !== 'grpc') {
    for (const name of ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT']) {
      const v = (env[name] || '').trim();
      if (v !== '') {
        endpoint = v;
        break;
      }
    }
  }
  let u;
  try {
    u = new URL(endpoint);
  } catch {
    return '';
  }
  // The URL parser drops a port that is the scheme's default (:80): the
  // endpoint's text says whether it had one.
  const port = u.port !== '' ? u.port : explicitPort(endpoint);
  if (u.protocol !== 'http:' || port === '' || !isLoopback(u.hostname)) return '';
  return `http://${u.hostname}:${port}`;
}

/** explicitPort returns the port written in url's authority, or ''. */
function explicitPort(url) {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*):(\d+)(?:[/?#]|$)/i.exec(url);
  return m ? String(Number(m[1])) : '';
}

/** isLoopback reports whether a URL's hostname is on the loopback interface: localhost, 127.0.0.0/8 or ::1. */
function isLoopback(hostname) {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === '::1') return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return true;
  return /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(host); // IPv4-mapped 127.0.0.0/8
}

/**
 * create returns the signal of env: send(requestId, notAfter) posts it and
 * returns a promise that settles (never rejects) when it is answered, has
 * failed or has timed out: within SIGNAL_TIMEOUT_MS and, when notAfter (ms
 * since the epoch) is not 0, before notAfter; when no time is left it is
 * not sent.
 * @param {NodeJS.ProcessEnv} env
 * @param {object} [deps]
 * @param {(fn: () => void) => void} [deps.suppress] runs fn with tracing suppressed (the signal is no span of the function's)
 * @param {(msg: string) => void} [deps.debug] says why the signal was turned off
 * @param {(origin: string) => (import('http').Agent | undefined)} [deps.agent] the keep-alive agent of an
 *   exporter to the same origin, whose connection the signal reuses; else the signal has one of its own
 */
function create(env, deps = {}) {
  const suppress = deps.suppress || ((fn) => fn());
  const debug = deps.debug || (() => {});
  const base = origin(env);
  let off = base === '';
  let http = null;
  let agent = null;

  const turnOff = (why) => {
    off = true;
    debug(`the end-of-invocation signal to ${base} is not sent again: ${why}`);
  };

  const send = (requestId, notAfter = 0) => {
    if (off || typeof requestId !== 'string' || requestId === '') return Promise.resolve();
    let timeout = SIGNAL_TIMEOUT_MS;
    if (notAfter > 0) timeout = Math.min(timeout, notAfter - Date.now());
    if (timeout <= 0) return Promise.resolve();
    if (agent === null) {
      http = require('http');
      // A keep-alive connection to the extension on loopback: the
      // exporter's, which the flush has just used, or one of its own. An
      // idle socket of a keep-alive agent does not hold the event loop.
      agent = (deps.agent && deps.agent(base)) || new http.Agent({ keepAlive: true, maxSockets: 1 });
    }
    return new Promise((resolve) => {
      let settled = false;
      let timer = null;
      const done = () => {
        if (settled) return;
        settled = true;
        if (timer !== null) clearTimeout(timer);
        resolve();
      };
      try {
        suppress(() => {
          const req = http.request(`${base}${INVOCATION_END_PATH}${encodeURIComponent(requestId)}/end`, {
            method: 'POST',
            agent,
            headers: { 'content-length': '0' },
          }, (res) => {
            if (res.statusCode !== 204) {
              turnOff(`it was answered ${res.statusCode}, not 204 (not the lambdaotel extension)`);
            }
            res.on('end', done);
            res.on('error', done);
            res.resume();
          });
          req.on('error', (err) => {
            if (!settled && isRefused(err)) {
              turnOff('the connection was refused (nothing listens there)');
            }
            done();
          });
          timer = setTimeout(() => {
            done();
            req.destroy();
          }, timeout);
          if (typeof timer.unref === 'function') timer.unref(); // never holds the event loop
          req.end();
        });
      } catch (err) {
        turnOff(`it could not be sent: ${err && err.message}`);
        done();
      }
    });
  };

  return {
    /** The origin the signal goes to; '' when it is never sent. */
    origin: base,
    send,
    /** isOff reports whether the signal is no longer sent. */
    isOff: () => off,
  };
}

/** isRefused reports whether err is a refused connection (ECONNREFUSED, also inside an AggregateError). */
function isRefused(err) {
  if (!err) return false;
  if (err.code === 'ECONNREFUSED') return true;
  return Array.isArray(err.errors) && err.errors.length > 0 && err.errors.every((e) => e && e.code === 'ECONNREFUSED');
}

module.exports = { create, origin, INVOCATION_END_PATH, SIGNAL_TIMEOUT_MS, DEFAULT_ORIGIN };
