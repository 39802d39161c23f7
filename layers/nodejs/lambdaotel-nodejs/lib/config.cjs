'use strict';
// The layer's configuration, read from the standard OTEL_* variables (and
// the few LAMBDAOTEL_* ones of the layer) without loading any OpenTelemetry
// package, so that it can be tested on its own and a mistake is reported
// before anything starts.

/** The instrumentations the layer has, by their OTEL_NODE_*_INSTRUMENTATIONS name. */
const INSTRUMENTATIONS = ['aws-lambda', 'aws-sdk', 'http', 'undici'];

/** The propagators the layer has, by their OTEL_PROPAGATORS name. */
const PROPAGATORS = ['tracecontext', 'baggage', 'xray', 'xray-lambda'];

/** The levels OTEL_LOG_LEVEL accepts, lower case. */
const LOG_LEVELS = ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'];

/** How long, at most, the end of an invocation waits for the flush (ms). */
const DEFAULT_FLUSH_TIMEOUT_MS = 2000;
/**
 * How long before the invocation's deadline a handler still running has its
 * span ended as a timeout and flushed (LAMBDAOTEL_TIMEOUT_MARGIN), as the
 * Go library does (its DefaultDeadlineMargin).
 */
const DEFAULT_TIMEOUT_MARGIN_MS = 100;

/**
 * list parses a comma-separated list the way the SDK does: trimmed, lower
 * case, empty entries dropped.
 * @param {string | undefined} s
 * @returns {string[]}
 */
function list(s) {
  return (s || '').split(',').map((v) => v.trim().toLowerCase()).filter((v) => v !== '');
}

/**
 * read returns the layer's configuration from env. Mistakes do not throw:
 * they are in warnings, each a sentence a person can act on, and the
 * configuration falls back to what works.
 * @param {NodeJS.ProcessEnv} env
 */
function read(env) {
  const warnings = [];
  const cfg = {
    disabled: (env.OTEL_SDK_DISABLED || '').trim().toLowerCase() === 'true',
    logLevel: 'warn',
    instrumentations: instrumentations(env, warnings),
    propagators: propagators(env, warnings),
    traces: exporter(env, 'OTEL_TRACES_EXPORTER', 'otlp', warnings),
    metrics: exporter(env, 'OTEL_METRICS_EXPORTER', 'none', warnings),
    logs: exporter(env, 'OTEL_LOGS_EXPORTER', 'none', warnings),
    flushTimeoutMs: DEFAULT_FLUSH_TIMEOUT_MS,
    timeoutMarginMs: DEFAULT_TIMEOUT_MARGIN_MS,
    warnings,
  };
  const level = (env.OTEL_LOG_LEVEL || '').trim().toLowerCase();
  if (level !== '') {
    if (LOG_LEVELS.includes(level)) {
      cfg.logLevel = level;
    } else {
      warnings.push(`OTEL_LOG_LEVEL=${env.OTEL_LOG_LEVEL} is not one of ${LOG_LEVELS.join(', ')}; using warn`);
    }
  }
  const timeout = (env.LAMBDAOTEL_FLUSH_TIMEOUT || '').trim();
  if (timeout !== '') {
    const ms = Number(timeout);
    if (Number.isFinite(ms) && ms >= 0) {
      cfg.flushTimeoutMs = ms;
    } else {
      warnings.push(`LAMBDAOTEL_FLUSH_TIMEOUT=${timeout} is not a number of milliseconds; using ${DEFAULT_FLUSH_TIMEOUT_MS}`);
    }
  }
  const margin = (env.LAMBDAOTEL_TIMEOUT_MARGIN || '').trim();
  if (margin !== '') {
    const ms = Number(margin);
    if (Number.isFinite(ms) && ms >= 0) {
      cfg.timeoutMarginMs = ms;
    } else {
      warnings.push(`LAMBDAOTEL_TIMEOUT_MARGIN=${margin} is not a number of milliseconds; using ${DEFAULT_TIMEOUT_MARGIN_MS}`);
    }
  }
  const end = (env.LAMBDAOTEL_INVOCATION_END || '').trim();
  if (end !== '' && !['true', 'false', '1', '0'].includes(end.toLowerCase())) {
    warnings.push(`LAMBDAOTEL_INVOCATION_END=${end} is not true or false; the end of each invocation is signalled to the extension (true)`);
  }
  for (const signal of ['', 'TRACES_', 'METRICS_', 'LOGS_']) {
    const name = `OTEL_EXPORTER_OTLP_${signal}PROTOCOL`;
    const p = (env[name] || '').trim();
    if (p !== '' && p !== 'http/protobuf') {
      warnings.push(`${name}=${p} is not supported by the Node.js layer, which sends http/protobuf (to the lambdaotel extension on 127.0.0.1:4318 unless OTEL_EXPORTER_OTLP_ENDPOINT says otherwise)`);
    }
  }
  return cfg;
}

/**
 * instrumentations returns the names of the instrumentations to enable:
 * OTEL_NODE_ENABLED_INSTRUMENTATIONS (all when unset) less
 * OTEL_NODE_DISABLED_INSTRUMENTATIONS. Names may carry the package prefix
 * ("@opentelemetry/instrumentation-http").
 */
function instrumentations(env, warnings) {
  const names = (variable) => {
    const out = [];
    for (let n of list(env[variable])) {
      n = n.replace(/^@opentelemetry\/instrumentation-/, '');
      if (INSTRUMENTATIONS.includes(n)) {
        out.push(n);
      } else {
        warnings.push(`${variable}: unknown instrumentation "${n}" (the layer has ${INSTRUMENTATIONS.join(', ')})`);
      }
    }
    return out;
  };
  const enabled = env.OTEL_NODE_ENABLED_INSTRUMENTATIONS !== undefined && env.OTEL_NODE_ENABLED_INSTRUMENTATIONS.trim() !== ''
    ? names('OTEL_NODE_ENABLED_INSTRUMENTATIONS')
    : INSTRUMENTATIONS.slice();
  const disabled = names('OTEL_NODE_DISABLED_INSTRUMENTATIONS');
  const out = enabled.filter((n, i) => !disabled.includes(n) && enabled.indexOf(n) === i);
  if (!out.includes('aws-lambda')) {
    warnings.push('the aws-lambda instrumentation is off: there will be no invocation span, and nothing flushes telemetry before the invocation ends');
  }
  return out;
}

/**
 * propagators returns the propagator names of OTEL_PROPAGATORS (default
 * tracecontext,baggage); "none" alone means none.
 */
function propagators(env, warnings) {
  const given = list(env.OTEL_PROPAGATORS);
  if (given.length === 0) {
    return ['tracecontext', 'baggage'];
  }
  if (given.includes('none')) {
    return [];
  }
  const out = [];
  for (const p of given) {
    if (!PROPAGATORS.includes(p)) {
      warnings.push(`OTEL_PROPAGATORS: unknown propagator "${p}" (the layer has ${PROPAGATORS.join(', ')}, none)`);
    } else if (!out.includes(p)) {
      out.push(p);
    }
  }
  return out;
}

/**
 * exporter returns "otlp", "console" or "none" for one signal's
 * OTEL_*_EXPORTER variable.
 */
function exporter(env, variable, fallback, warnings) {
  const given = list(env[variable]);
  if (given.length === 0) {
    return fallback;
  }
  if (given.includes('none')) {
    return 'none';
  }
  for (const e of given) {
    if (e === 'otlp' || e === 'console') {
      return e;
    }
  }
  warnings.push(`${variable}=${env[variable]} is not supported (the layer has otlp, console, none); using ${fallback}`);
  return fallback;
}

module.exports = { read, list, INSTRUMENTATIONS, PROPAGATORS, DEFAULT_FLUSH_TIMEOUT_MS, DEFAULT_TIMEOUT_MARGIN_MS };
