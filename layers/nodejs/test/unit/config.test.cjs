'use strict';
// The layer's configuration from OTEL_* variables (lib/config.cjs).
const test = require('node:test');
const assert = require('node:assert/strict');
const config = require('../../lambdaotel-nodejs/lib/config.cjs');

test('defaults: every instrumentation, W3C propagation, traces only', () => {
  const cfg = config.read({});
  assert.deepEqual(cfg.instrumentations, ['aws-lambda', 'aws-sdk', 'http', 'undici']);
  assert.deepEqual(cfg.propagators, ['tracecontext', 'baggage']);
  assert.equal(cfg.traces, 'otlp');
  assert.equal(cfg.metrics, 'none');
  assert.equal(cfg.logs, 'none');
  assert.equal(cfg.logLevel, 'warn');
  assert.equal(cfg.flushTimeoutMs, config.DEFAULT_FLUSH_TIMEOUT_MS);
  assert.equal(cfg.disabled, false);
  assert.deepEqual(cfg.warnings, []);
});

test('OTEL_NODE_ENABLED_INSTRUMENTATIONS and OTEL_NODE_DISABLED_INSTRUMENTATIONS', () => {
  const cases = [
    [{ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'aws-lambda,http' }, ['aws-lambda', 'http']],
    [{ OTEL_NODE_ENABLED_INSTRUMENTATIONS: ' AWS-Lambda , @opentelemetry/instrumentation-undici ' }, ['aws-lambda', 'undici']],
    [{ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'aws-sdk,undici' }, ['aws-lambda', 'http']],
    [{ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'aws-lambda,http,http', OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http' }, ['aws-lambda']],
    [{ OTEL_NODE_ENABLED_INSTRUMENTATIONS: '' }, ['aws-lambda', 'aws-sdk', 'http', 'undici']],
  ];
  for (const [env, want] of cases) {
    const cfg = config.read(env);
    assert.deepEqual(cfg.instrumentations, want, JSON.stringify(env));
    assert.deepEqual(cfg.warnings, [], JSON.stringify(env));
  }
});

test('unknown instrumentations and a disabled aws-lambda are reported', () => {
  const cfg = config.read({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,express' });
  assert.deepEqual(cfg.instrumentations, ['http']);
  assert.equal(cfg.warnings.length, 2);
  assert.match(cfg.warnings[0], /unknown instrumentation "express"/);
  assert.match(cfg.warnings[1], /aws-lambda instrumentation is off/);
});

test('OTEL_PROPAGATORS', () => {
  assert.deepEqual(config.read({ OTEL_PROPAGATORS: 'xray' }).propagators, ['xray']);
  assert.deepEqual(config.read({ OTEL_PROPAGATORS: 'tracecontext, xray-lambda,tracecontext' }).propagators, ['tracecontext', 'xray-lambda']);
  assert.deepEqual(config.read({ OTEL_PROPAGATORS: 'none' }).propagators, []);
  const cfg = config.read({ OTEL_PROPAGATORS: 'b3,baggage' });
  assert.deepEqual(cfg.propagators, ['baggage']);
  assert.match(cfg.warnings[0], /unknown propagator "b3"/);
});

test('exporters per signal', () => {
  const cfg = config.read({ OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'otlp', OTEL_LOGS_EXPORTER: 'console' });
  assert.equal(cfg.traces, 'none');
  assert.equal(cfg.metrics, 'otlp');
  assert.equal(cfg.logs, 'console');
  const bad = config.read({ OTEL_TRACES_EXPORTER: 'zipkin' });
  assert.equal(bad.traces, 'otlp');
  assert.match(bad.warnings[0], /OTEL_TRACES_EXPORTER=zipkin is not supported/);
});

test('OTEL_SDK_DISABLED, OTEL_LOG_LEVEL, LAMBDAOTEL_FLUSH_TIMEOUT', () => {
  assert.equal(config.read({ OTEL_SDK_DISABLED: 'TRUE' }).disabled, true);
  assert.equal(config.read({ OTEL_SDK_DISABLED: 'false' }).disabled, false);
  assert.equal(config.read({ OTEL_LOG_LEVEL: 'DEBUG' }).logLevel, 'debug');
  const lvl = config.read({ OTEL_LOG_LEVEL: 'loud' });
  assert.equal(lvl.logLevel, 'warn');
  assert.match(lvl.warnings[0], /OTEL_LOG_LEVEL=loud/);
  assert.equal(config.read({ LAMBDAOTEL_FLUSH_TIMEOUT: '250' }).flushTimeoutMs, 250);
  const ft = config.read({ LAMBDAOTEL_FLUSH_TIMEOUT: '2s' });
  assert.equal(ft.flushTimeoutMs, config.DEFAULT_FLUSH_TIMEOUT_MS);
  assert.match(ft.warnings[0], /LAMBDAOTEL_FLUSH_TIMEOUT=2s/);
});

test('LAMBDAOTEL_INVOCATION_END: true or false, anything else a warning', () => {
  for (const v of ['', 'true', 'FALSE', '1', '0', ' false ']) {
    assert.deepEqual(config.read({ LAMBDAOTEL_INVOCATION_END: v }).warnings, [], v);
  }
  const cfg = config.read({ LAMBDAOTEL_INVOCATION_END: 'off' });
  assert.equal(cfg.warnings.length, 1);
  assert.match(cfg.warnings[0], /LAMBDAOTEL_INVOCATION_END=off is not true or false/);
});

test('only http/protobuf is sent', () => {
  assert.deepEqual(config.read({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }).warnings, []);
  const cfg = config.read({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' });
  assert.match(cfg.warnings[0], /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc is not supported/);
});
