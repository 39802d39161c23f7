'use strict';
// start sets up the OpenTelemetry SDK for a Lambda function: a tracer
// provider exporting OTLP/HTTP protobuf to the lambdaotel extension on
// localhost, the propagators of OTEL_PROPAGATORS, optional metrics and logs,
// and the instrumentations (http, fetch/undici, the AWS SDK). wrapHandler
// wraps the function's handler in the invocation span (invocation.cjs),
// which flushes every provider through flush below before the invocation
// returns, waiting at most LAMBDAOTEL_FLUSH_TIMEOUT and never past the
// invocation's deadline, then tells the extension that the invocation's
// telemetry is complete (lib/endsignal.cjs). On SIGTERM (Lambda's
// shutdown) the providers are flushed and shut down.

const config = require('./config.cjs');
const log = require('./log.cjs');
const { trigger, url } = require('./trigger.cjs');

const DISTRO_NAME = 'lambdaotel-nodejs';
const DISTRO_VERSION = require('../package.json').version;

/** The extension's OTLP/HTTP receiver, the default endpoint. */
const DEFAULT_ENDPOINT = 'http://127.0.0.1:4318';

/** What start set up; null until it ran. */
let state = null;

/**
 * start sets up the SDK once; later calls return what the first made.
 * It throws only on a bug or a broken installation; the caller logs that
 * and lets the function run without OpenTelemetry.
 * @param {NodeJS.ProcessEnv} [env]
 */
function start(env = process.env) {
  if (state !== null) {
    return state;
  }
  const cfg = config.read(env);
  for (const w of cfg.warnings) {
    log.warn(w);
  }
  if (cfg.disabled) {
    state = { disabled: true, cfg };
    return state;
  }

  const api = require('@opentelemetry/api');
  const core = require('@opentelemetry/core');
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.diag.setLogger(diagLogger(), { logLevel: api.DiagLogLevel[cfg.logLevel.toUpperCase()], suppressOverrideMessage: true });
  core.setGlobalErrorHandler((err) => reportError(err));

  const resource = buildResource(env);
  const traceSDK = require('@opentelemetry/sdk-trace');
  const { TracerProvider, BatchSpanProcessor, ConsoleSpanExporter } = traceSDK;
  const spanProcessors = [];
  // Exports to warm up before the first invocation (see warmUp).
  const warm = [];
  if (cfg.traces !== 'none') {
    let exporter;
    if (cfg.traces === 'otlp') {
      const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
      const options = endpoint(env, 'traces');
      exporter = new OTLPTraceExporter(options);
      if (options.httpAgentOptions) {
        warm.push((done) => {
          try {
            serializeSpan(traceSDK, resource, api);
          } catch (err) {
            api.diag.debug(`the warm-up span failed: ${log.describe(err)}`);
          }
          exporter.export([], done);
        });
      }
    } else {
      exporter = new ConsoleSpanExporter();
    }
    spanProcessors.push(new BatchSpanProcessor({ exporter, ...batchOptions(env) }));
  }
  // The SDK 3 packages no longer read the OTEL_TRACES_SAMPLER, OTEL_BSP_*
  // and limit variables themselves: the layer does.
  const tracerProvider = new TracerProvider({ resource, spanProcessors, sampler: sampler(env, traceSDK), ...limits(env) });
  api.trace.setGlobalTracerProvider(tracerProvider);
  api.propagation.setGlobalPropagator(buildPropagator(cfg.propagators, core, api));

  let meterProvider = null;
  if (cfg.metrics !== 'none') {
    const { MeterProvider, PeriodicExportingMetricReader, ConsoleMetricExporter } = require('@opentelemetry/sdk-metrics');
    let exporter;
    if (cfg.metrics === 'otlp') {
      const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-proto');
      const options = endpoint(env, 'metrics');
      exporter = new OTLPMetricExporter(options);
      // The resource without a metric: a request with no data point.
      if (options.httpAgentOptions) warm.push((done) => exporter.export({ resource, scopeMetrics: [] }, done));
    } else {
      exporter = new ConsoleMetricExporter();
    }
    // The interval matters little: every invocation ends with a flush.
    meterProvider = new MeterProvider({ resource, readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60000 })] });
    api.metrics.setGlobalMeterProvider(meterProvider);
  }

  let loggerProvider = null;
  if (cfg.logs !== 'none') {
    const { LoggerProvider, BatchLogRecordProcessor, ConsoleLogRecordExporter } = require('@opentelemetry/sdk-logs');
    let exporter;
    if (cfg.logs === 'otlp') {
      const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-proto');
      const options = endpoint(env, 'logs');
      exporter = new OTLPLogExporter(options);
      if (options.httpAgentOptions) warm.push((done) => exporter.export([], done));
    } else {
      exporter = new ConsoleLogRecordExporter();
    }
    loggerProvider = new LoggerProvider({ resource, processors: [new BatchLogRecordProcessor({ exporter })] });
    api.logs.setGlobalLoggerProvider(loggerProvider);
  }

  // The end of each invocation waits for this flush, bounded by the flush
  // timeout and by the invocation's deadline (ms since the epoch; 0: none).
  // Once the flush is over (done or timed out), the end of the invocation
  // requestId is signalled to the extension (lib/endsignal.cjs), which then
  // need not wait for the Telemetry API to learn it; not when no flush was
  // done (LAMBDAOTEL_FLUSH_TIMEOUT=0, or no time left). A quiet flush
  // (the handler's late answer after a timeout's flush) is not done, and
  // not said, when no time is left.
  const endSignal = require('./endsignal.cjs').create(env, {
    suppress: (fn) => api.context.with(core.suppressTracing(api.context.active()), fn),
    debug: (msg) => api.diag.debug(msg),
    agent: (origin) => exporterAgents.get(origin),
  });
  const flush = (deadline = 0, requestId = '', quiet = false) => {
    if (quiet && (cfg.flushTimeoutMs <= 0 || (deadline > 0 && deadline - Date.now() - FLUSH_MARGIN_MS <= 0))) {
      return Promise.resolve(false);
    }
    const pending = [tracerProvider.forceFlush()];
    if (meterProvider) pending.push(meterProvider.forceFlush());
    if (loggerProvider) pending.push(loggerProvider.forceFlush());
    const all = Promise.all(pending).then(() => true, (err) => {
      reportError(err);
      return true;
    });
    let budget = cfg.flushTimeoutMs;
    if (deadline > 0) {
      budget = Math.min(budget, deadline - Date.now() - FLUSH_MARGIN_MS);
    }
    const signal = budget > 0 && typeof requestId === 'string' && requestId !== '';
    budget = Math.max(0, budget);
    return new Promise((resolve) => {
      let done = false;
      const finish = (ok) => {
        if (!done) {
          done = true;
          clearTimeout(timer);
          extension.waiters.delete(onRefused);
          if (signal) {
            endSignal.send(requestId, deadline > 0 ? deadline - FLUSH_MARGIN_MS : 0).then(() => resolve(ok));
          } else {
            resolve(ok);
          }
        }
      };
      const onRefused = () => finish(false);
      const timer = setTimeout(() => {
        if (!extension.refused) {
          log.warn(`the flush at the end of an invocation took more than ${budget} ms; the invocation ended without waiting for it`, 'flush-timeout');
        }
        finish(false);
      }, budget);
      if (typeof timer.unref === 'function') timer.unref();
      if (extension.refused) {
        finish(false); // nothing listens: the exporter retries in the background
      } else {
        extension.waiters.add(onRefused);
      }
      all.then(finish);
    });
  };
  const meterFacade = meterProvider ? { getMeter: (name, version, options) => meterProvider.getMeter(name, version, options) } : undefined;
  const instrumentations = buildInstrumentations(cfg.instrumentations, env);
  const { registerInstrumentations } = require('@opentelemetry/instrumentation');
  registerInstrumentations({ tracerProvider, meterProvider: meterFacade, instrumentations });
  if (cfg.instrumentations.includes('aws-sdk')) {
    // The AWS SDK instrumentation (a sixth of the layer's start-up) is
    // loaded only when the function loads the AWS SDK, before the SDK's
    // modules load, so that it still patches them; or when a bundle built
    // with the layer's esbuild plugin hands it one of the SDK's modules.
    let aws = null;
    const awsInstrumentation = () => {
      if (aws === null) {
        const { AwsInstrumentation } = require('@opentelemetry/instrumentation-aws-sdk');
        // One span per AWS call, not one more for its HTTP request.
        aws = new AwsInstrumentation({ suppressInternalInstrumentation: true });
        registerInstrumentations({ tracerProvider, meterProvider: meterFacade, instrumentations: [aws] });
        instrumentations.push(aws);
      }
      return aws;
    };
    whenModuleLoads((specifier) => specifier.startsWith('@aws-sdk/') || specifier.startsWith('@smithy/'), awsInstrumentation);
    globalThis[BUNDLED_MODULE] = (name, version, file, exports) => patchBundled(awsInstrumentation, name, version, file, exports);
  }
  onShutdown(() => Promise.all([tracerProvider, meterProvider, loggerProvider].filter(Boolean).map((p) => p.shutdown())));

  const warmed = warm.length > 0 ? warmUp(warm, api, core) : null;
  state = { disabled: false, cfg, resource, tracerProvider, meterProvider, loggerProvider, instrumentations, flush, api, warmed };
  return state;
}

/** The time the flush at the end of an invocation leaves before its deadline (ms): the runtime still sends the result. */
const FLUSH_MARGIN_MS = 50;

/** How long, at most, the end of init waits for the warm-up exports (ms), once it waits. */
const WARM_UP_TIMEOUT_MS = 500;

/**
 * warmUp does during init what the first invocation's flush would
 * otherwise do lazily: each of exports (an empty export to the extension's
 * receiver on loopback, which keeps nothing of it) loads the exporter's
 * HTTP transport and agent, opens the keep-alive connection that the
 * first flush then reuses, and runs the request, response and
 * serialization code once. The exports run with tracing suppressed (no
 * span of their own). The returned promise settles when all are done, or
 * when a connection is refused (no extension listens: it is noted as at
 * any export, and no invocation waits for a flush); it never rejects.
 */
function warmUp(exports, api, core) {
  return Promise.all(exports.map((exp) => new Promise((resolve) => {
    // A refused connection ends the wait: the exporter would retry for seconds.
    const done = () => {
      extension.waiters.delete(done);
      resolve();
    };
    if (extension.refused) {
      done();
      return;
    }
    extension.waiters.add(done);
    try {
      api.context.with(core.suppressTracing(api.context.active()), () => exp(done));
    } catch (err) {
      api.diag.debug(`the warm-up export failed: ${log.describe(err)}`);
      done();
    }
  })));
}

/**
 * ready returns a promise that settles when start's warm-up is over, or
 * WARM_UP_TIMEOUT_MS after the call; it never rejects. The warm-up runs
 * while the runtime loads the function's module (during init, the
 * process is busy loading), so the bound counts from the wait.
 */
function ready() {
  if (state === null || !state.warmed) return Promise.resolve();
  let timer;
  const bound = new Promise((resolve) => {
    timer = setTimeout(() => {
      state.api.diag.debug(`the warm-up export took more than ${WARM_UP_TIMEOUT_MS} ms more; init goes on without waiting for it`);
      resolve();
    }, WARM_UP_TIMEOUT_MS);
    if (typeof timer.unref === 'function') timer.unref();
  });
  return Promise.race([state.warmed, bound]).then(() => clearTimeout(timer));
}

/**
 * serializeSpan runs the span code the first invocation runs (start with
 * attributes, the propagators' extract and inject, end) and the OTLP protobuf
 * encoding of the span and of the resource, on a span of a tracer
 * provider of its own that has no span processor: the span is never
 * exported, and its encoding is thrown away.
 */
function serializeSpan(traceSDK, resource, api) {
  const provider = new traceSDK.TracerProvider({ resource, sampler: new traceSDK.AlwaysOnSampler() });
  const parent = api.propagation.extract(api.ROOT_CONTEXT, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, headerGetter);
  const span = provider.getTracer('lambdaotel-nodejs-warm-up').startSpan('warm-up', {
    kind: api.SpanKind.SERVER,
    attributes: { 'faas.trigger': 'other', 'faas.coldstart': true, 'faas.max_memory': 1 },
  }, parent);
  span.setAttribute('url.full', 'http://127.0.0.1/');
  span.setStatus({ code: api.SpanStatusCode.OK });
  api.propagation.inject(api.trace.setSpan(parent, span), {});
  span.end();
  require('@opentelemetry/otlp-transformer').ProtobufTraceSerializer.serializeRequest([span]);
}

/**
 * wrapHandler returns the function's handler wrapped in the invocation
 * span, or the handler itself when the SDK is off (OTEL_SDK_DISABLED, the
 * aws-lambda instrumentation disabled, or a failed start).
 * @param {Function} handler
 */
function wrapHandler(handler) {
  if (state === null || state.disabled || !state.cfg.instrumentations.includes('aws-lambda')) {
    return handler;
  }
  const { api, cfg, flush } = state;
  const { wrap, SCOPE } = require('./invocation.cjs');
  return wrap(handler, {
    api,
    tracer: api.trace.getTracer(SCOPE, DISTRO_VERSION),
    flush,
    timeoutMarginMs: cfg.timeoutMarginMs,
    trigger,
    url,
    // The parent comes from the event's headers alone (API Gateway, ALB,
    // Function URL), never from the active context: for a callback handler
    // that is still the previous invocation's.
    parent: (event) => {
      const headers = event && typeof event === 'object' && event.headers && typeof event.headers === 'object' ? event.headers : {};
      return api.propagation.extract(api.ROOT_CONTEXT, headers, headerGetter);
    },
    report: (err) => log.warn(`the invocation span failed: ${log.describe(err)}`, 'invocation-span'),
  });
}

/** The shutdown deadline: Lambda gives the runtime and extensions 2000 ms in all; the runtime takes less. */
const SHUTDOWN_TIMEOUT_MS = 500;

/**
 * onShutdown runs shutdown (bounded by SHUTDOWN_TIMEOUT_MS) when the
 * runtime gets SIGTERM, then lets the signal do what it would have done:
 * the process exits, unless the function listens for SIGTERM itself.
 */
function onShutdown(shutdown) {
  const listener = () => {
    let timer;
    const bounded = Promise.race([
      Promise.resolve().then(shutdown).catch((err) => reportError(err)),
      new Promise((resolve) => { timer = setTimeout(resolve, SHUTDOWN_TIMEOUT_MS); }),
    ]);
    bounded.then(() => {
      clearTimeout(timer);
      if (process.listenerCount('SIGTERM') === 0) {
        process.exit(128 + 15);
      }
    });
  };
  process.once('SIGTERM', listener);
}

/**
 * endpoint returns the exporter options for a signal. Without the
 * OTEL_EXPORTER_OTLP_*ENDPOINT variables, the URL is the extension's
 * receiver on 127.0.0.1 (rather than "localhost", which may resolve to ::1
 * first, where the extension does not listen). When the URL is plain HTTP
 * on the loopback interface (the extension, wherever its port), the
 * exporter's connections are watched: a refused connection means that no
 * extension runs.
 */
function endpoint(env, signal) {
  const specific = (env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`] || '').trim();
  const general = (env.OTEL_EXPORTER_OTLP_ENDPOINT || '').trim();
  const options = {};
  let url;
  if (specific !== '') {
    url = specific;
  } else if (general !== '') {
    url = `${general.replace(/\/+$/, '')}/v1/${signal}`;
  } else {
    url = `${DEFAULT_ENDPOINT}/v1/${signal}`;
    options.url = url;
  }
  if (isLoopbackHTTP(url)) {
    options.httpAgentOptions = watchingAgentFactory(new URL(url).origin);
  }
  return options;
}

/** isLoopbackHTTP reports whether url is http:// on the loopback interface. */
function isLoopbackHTTP(url) {
  try {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    return u.protocol === 'http:' && (host === 'localhost' || host === '::1' || /^127\./.test(host));
  } catch {
    return false;
  }
}

/**
 * extension tracks whether the extension's receiver (the default
 * endpoint) refuses connections: then no extension runs, and the end of an
 * invocation does not wait for a flush that can only fail (the exporter
 * would retry for seconds).
 */
const extension = { refused: false, waiters: new Set() };

function noteRefused(err, origin) {
  extension.refused = true;
  reportError(err, origin);
  for (const w of extension.waiters) w();
  extension.waiters.clear();
}

/**
 * exporterAgents are the agents watchingAgentFactory made, by origin (the
 * first of each): the end-of-invocation signal to the same origin goes
 * through the connection the flush just used (opened by init's warm-up),
 * rather than a new one.
 */
const exporterAgents = new Map();

/**
 * watchingAgentFactory returns the exporter's HTTP agent factory for a
 * loopback endpoint: the exporter's default agent (keep-alive), whose
 * connections tell whether the extension listens at origin.
 */
function watchingAgentFactory(origin) {
  return async () => {
    const http = require('http');
    const agent = new http.Agent({ keepAlive: true });
    if (!exporterAgents.has(origin)) exporterAgents.set(origin, agent);
    const createConnection = agent.createConnection;
    agent.createConnection = function (...args) {
      const socket = createConnection.apply(this, args);
      socket.once('connect', () => {
        extension.refused = false;
      });
      socket.once('error', (err) => {
        if (err && err.code === 'ECONNREFUSED') {
          noteRefused(err, origin);
        }
      });
      return socket;
    };
    return agent;
  };
}

/** buildResource: the SDK's defaults, the Lambda function, then OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. */
function buildResource(env) {
  const { defaultResource, resourceFromAttributes, detectResources, envDetector } = require('@opentelemetry/resources');
  const base = { 'telemetry.distro.name': DISTRO_NAME, 'telemetry.distro.version': DISTRO_VERSION };
  if (env.AWS_LAMBDA_FUNCTION_NAME) {
    base['service.name'] = env.AWS_LAMBDA_FUNCTION_NAME;
  }
  return defaultResource()
    .merge(resourceFromAttributes(base))
    .merge(resourceFromAttributes(lambdaAttributes(env)))
    .merge(detectResources({ detectors: [envDetector] }));
}

/**
 * lambdaAttributes are the Lambda function's resource attributes, from the
 * runtime's variables (what @opentelemetry/resource-detector-aws's Lambda
 * detector finds, without loading its EC2, ECS, EKS and Beanstalk detectors).
 */
function lambdaAttributes(env) {
  if (!(env.AWS_EXECUTION_ENV || '').startsWith('AWS_Lambda_')) return {};
  const attrs = {
    'cloud.provider': 'aws',
    'cloud.platform': 'aws_lambda',
    'cloud.region': env.AWS_REGION,
    'faas.name': env.AWS_LAMBDA_FUNCTION_NAME,
    'faas.version': env.AWS_LAMBDA_FUNCTION_VERSION,
    'faas.max_memory': parseInt(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, 10) * 1024 * 1024,
  };
  if (env.AWS_LAMBDA_LOG_GROUP_NAME) attrs['aws.log.group.names'] = [env.AWS_LAMBDA_LOG_GROUP_NAME];
  if (env.AWS_LAMBDA_LOG_STREAM_NAME) attrs['faas.instance'] = env.AWS_LAMBDA_LOG_STREAM_NAME;
  for (const k of Object.keys(attrs)) {
    if (attrs[k] === undefined || Number.isNaN(attrs[k])) delete attrs[k];
  }
  return attrs;
}

/** buildPropagator returns the composite of the named propagators. */
function buildPropagator(names, core, api) {
  const propagators = names.map((name) => {
    switch (name) {
      case 'tracecontext':
        return new core.W3CTraceContextPropagator();
      case 'baggage':
        return new core.W3CBaggagePropagator();
      case 'xray':
        return new (require('@opentelemetry/propagator-aws-xray').AWSXRayPropagator)();
      case 'xray-lambda':
        return xrayLambdaPropagator(api);
      default:
        throw new Error(`unknown propagator ${name}`); // config.read lets only known names through
    }
  });
  return new core.CompositePropagator({ propagators });
}

/** The global function through which bundled modules reach the layer (esbuild-plugin.cjs). */
const BUNDLED_MODULE = Symbol.for('lambdaotel.bundled-module');

/**
 * patchBundled patches a module of a bundle (name, version, its file in the
 * package or '' for the package's main module, its exports) the way the
 * instrumentation patches it when it is require()d, and returns the
 * exports to use, or undefined to keep them. A failure is a warning: the
 * module stays as it is.
 */
function patchBundled(instrumentation, name, version, file, exports) {
  try {
    const inst = instrumentation();
    for (const def of inst.getModuleDefinitions()) {
      if (def.name !== name) continue;
      if (file === '') {
        if (typeof def.patch === 'function') return def.patch(exports, version);
        continue;
      }
      for (const f of def.files || []) {
        if (f.name === `${name}/${file}` && typeof f.patch === 'function') return f.patch(exports, version);
      }
    }
  } catch (err) {
    log.warn(`the bundled module ${name}@${version} ${file} could not be instrumented: ${log.describe(err)}`, `bundled:${name}`);
  }
  return undefined;
}

/**
 * whenModuleLoads calls load, once, when the process first resolves a
 * module specifier that matches, before the module loads. It watches with
 * an in-thread resolve hook (module.registerHooks, Node.js 22.15 and
 * later), which sees require() and import alike, and removes the hook once
 * load ran. Without registerHooks, load runs at once.
 */
function whenModuleLoads(matches, load) {
  const run = () => {
    try {
      load();
    } catch (err) {
      log.warn(`an instrumentation failed to load, its module runs uninstrumented: ${log.describe(err)}`);
    }
  };
  const mod = require('module');
  if (typeof mod.registerHooks !== 'function') {
    run();
    return;
  }
  let hooks = null;
  let done = false;
  hooks = mod.registerHooks({
    resolve(specifier, context, nextResolve) {
      if (!done && matches(specifier)) {
        done = true;
        run();
        // Removed after this resolution: a hook must not deregister itself while it runs.
        setImmediate(() => hooks.deregister());
      }
      return nextResolve(specifier, context);
    },
  });
}

/** intVar reads a non-negative integer variable; undefined when unset or bad (said once). */
function intVar(env, name) {
  const raw = (env[name] || '').trim();
  if (raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    log.warn(`${name}=${raw} is not a non-negative integer; using the SDK's default`);
    return undefined;
  }
  return n;
}

/** batchOptions are the span processor's OTEL_BSP_* settings. */
function batchOptions(env) {
  const out = {};
  for (const [name, key] of [['OTEL_BSP_SCHEDULE_DELAY', 'scheduledDelayMillis'], ['OTEL_BSP_EXPORT_TIMEOUT', 'exportTimeoutMillis'],
    ['OTEL_BSP_MAX_QUEUE_SIZE', 'maxQueueSize'], ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'maxExportBatchSize']]) {
    const v = intVar(env, name);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** limits are the OTEL_ATTRIBUTE_* and OTEL_SPAN_* limits. */
function limits(env) {
  const general = {};
  const span = {};
  for (const [name, obj, key] of [
    ['OTEL_ATTRIBUTE_COUNT_LIMIT', general, 'attributeCountLimit'], ['OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', general, 'attributeValueLengthLimit'],
    ['OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', span, 'attributeCountLimit'], ['OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', span, 'attributeValueLengthLimit'],
    ['OTEL_SPAN_EVENT_COUNT_LIMIT', span, 'eventCountLimit'], ['OTEL_SPAN_LINK_COUNT_LIMIT', span, 'linkCountLimit'],
    ['OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT', span, 'attributePerEventCountLimit'], ['OTEL_LINK_ATTRIBUTE_COUNT_LIMIT', span, 'attributePerLinkCountLimit']]) {
    const v = intVar(env, name);
    if (v !== undefined) obj[key] = v;
  }
  const out = {};
  if (Object.keys(general).length > 0) out.generalLimits = general;
  if (Object.keys(span).length > 0) out.spanLimits = span;
  return out;
}

/** sampler is the sampler of OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (default parentbased_always_on). */
function sampler(env, sdk) {
  const name = (env.OTEL_TRACES_SAMPLER || '').trim().toLowerCase() || 'parentbased_always_on';
  const rawArg = (env.OTEL_TRACES_SAMPLER_ARG || '').trim();
  let ratio = 1;
  if (rawArg !== '') {
    const r = Number(rawArg);
    if (Number.isFinite(r) && r >= 0 && r <= 1) {
      ratio = r;
    } else if (name.endsWith('traceidratio')) {
      log.warn(`OTEL_TRACES_SAMPLER_ARG=${rawArg} is not a ratio between 0 and 1; using 1`);
    }
  }
  switch (name) {
    case 'always_on': return new sdk.AlwaysOnSampler();
    case 'always_off': return new sdk.AlwaysOffSampler();
    case 'traceidratio': return new sdk.TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on': return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() });
    case 'parentbased_always_off': return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() });
    case 'parentbased_traceidratio': return new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(ratio) });
    default:
      log.warn(`OTEL_TRACES_SAMPLER value "${env.OTEL_TRACES_SAMPLER}" invalid, defaulting to parentbased_always_on`);
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() });
  }
}

/**
 * xrayLambdaPropagator is the X-Ray propagator that, when the carrier has
 * no X-Ray header, takes the parent from the Lambda runtime's
 * _X_AMZN_TRACE_ID (what @opentelemetry/propagator-aws-xray-lambda does; its
 * releases stop at @opentelemetry/api 1.9).
 */
function xrayLambdaPropagator(api) {
  const { AWSXRayPropagator } = require('@opentelemetry/propagator-aws-xray');
  const xray = new AWSXRayPropagator();
  return {
    inject: (ctx, carrier, setter) => xray.inject(ctx, carrier, setter),
    fields: () => xray.fields(),
    extract: (ctx, carrier, getter) => {
      const fromCarrier = xray.extract(ctx, carrier, getter);
      const sc = api.trace.getSpanContext(fromCarrier);
      if (sc && api.isSpanContextValid(sc)) return fromCarrier;
      const header = process.env._X_AMZN_TRACE_ID;
      if (!header) return fromCarrier;
      return xray.extract(ctx, { 'x-amzn-trace-id': header }, api.defaultTextMapGetter);
    },
  };
}

/** buildInstrumentations makes the named instrumentations. */
function buildInstrumentations(names, env) {
  const out = [];
  const runtimeAPI = (env.AWS_LAMBDA_RUNTIME_API || '').trim();
  // Requests of a runtime client to the Runtime API are the runtime's
  // business, not the function's: never trace them.
  const isRuntimeAPI = (host, port) => runtimeAPI !== '' && `${host}:${port}` === runtimeAPI;
  for (const name of names) {
    switch (name) {
      case 'aws-lambda':
        break; // the invocation span: wrapHandler
      case 'aws-sdk':
        // Loaded when the function loads the AWS SDK (whenModuleLoads).
        break;
      case 'http': {
        const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
        out.push(new HttpInstrumentation({
          ignoreOutgoingRequestHook: (req) => {
            const host = req.hostname || (req.host || '').replace(/:\d+$/, '');
            const port = req.port || (/:(\d+)$/.exec(req.host || '') || [])[1] || 80;
            return isRuntimeAPI(host, port);
          },
        }));
        break;
      }
      case 'undici': {
        const { UndiciInstrumentation } = require('@opentelemetry/instrumentation-undici');
        out.push(new UndiciInstrumentation({
          ignoreRequestHook: (req) => {
            try {
              const u = new URL(req.origin);
              return isRuntimeAPI(u.hostname, u.port || (u.protocol === 'https:' ? 443 : 80));
            } catch {
              return false;
            }
          },
        }));
        break;
      }
      default:
        throw new Error(`unknown instrumentation ${name}`); // config.read lets only known names through
    }
  }
  return out;
}

/** headerGetter reads an event's headers (a plain object). */
const headerGetter = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = carrier[key];
    if (v !== undefined) return v;
    // API Gateway keeps the case the client sent.
    const lower = key.toLowerCase();
    for (const k of Object.keys(carrier)) {
      if (k.toLowerCase() === lower) return carrier[k];
    }
    return undefined;
  },
};

/**
 * reportError logs an SDK or export error once per kind, with a hint when
 * nothing listens where the SDK sends (origin, when known).
 */
function reportError(err, origin) {
  const code = err && (err.code || (err.cause && err.cause.code));
  let msg = log.describe(err);
  if (code === 'ECONNREFUSED') {
    msg += `: nothing listens at ${origin || 'the OTLP endpoint'}; add the lambdaotel extension layer to the function, or set OTEL_EXPORTER_OTLP_ENDPOINT`;
  }
  log.error(`export failed: ${msg}`, `export:${code || msg.slice(0, 80)}`);
}

/** diagLogger writes the SDK's diagnostics as the layer's log lines. */
function diagLogger() {
  const fmt = (args) => args.map((a) => (a instanceof Error ? log.describe(a) : typeof a === 'object' ? safeJSON(a) : String(a))).join(' ');
  const at = (level, once) => (msg, ...args) => {
    // The Lambda handler is a file, not a package: the SDK's attempt to read
    // its package.json version is expected to fail.
    if (typeof msg === 'string' && msg.startsWith('Failed extracting version')) {
      return;
    }
    const line = args.length > 0 ? `${msg} ${fmt(args)}` : String(msg);
    log[level](line, once ? undefined : false);
  };
  return {
    error: at('error', true),
    warn: at('warn', true),
    info: at('info', true),
    debug: at('debug', false),
    verbose: at('debug', false),
  };
}

function safeJSON(v) {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

module.exports = { start, wrapHandler, ready, DEFAULT_ENDPOINT };
