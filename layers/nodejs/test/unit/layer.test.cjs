'use strict';
// The built layer in a Node.js process, with a fake runtime and a fake OTLP
// receiver, set up as otel-handler sets it up (--require preload.cjs, the
// runtime loading the layer's handler.mjs): the invocation's spans are
// exported before the invocation ends, for CommonJS and ES module handlers,
// and the end of each invocation is signalled after its export; nothing
// listening does not hold invocations; a broken installation leaves
// the function working; SIGTERM flushes what is left.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const layer = process.env.LAMBDAOTEL_NODE_LAYER;
const skip = layer ? false : 'LAMBDAOTEL_NODE_LAYER is not set: build the layer (layers/nodejs/build.sh DIR) and set it to DIR';
const lib = layer ? path.join(layer, 'lambdaotel-nodejs') : '';
const fakeRuntime = path.join(__dirname, 'fake-runtime.cjs');

/**
 * receiver is a fake OTLP/HTTP receiver that records each request as it
 * arrives; the end-of-invocation signals, which it answers 204 as the
 * extension does, apart, each with the number of OTLP requests before it.
 */
async function receiver(t) {
  const requests = [];
  const signals = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.url.startsWith('/lambdaotel/v1/invocations/')) {
        signals.push({ method: req.method, path: req.url, after: requests.length, bodyLength: Buffer.concat(chunks).length, port: req.socket.remotePort });
        res.writeHead(204);
        res.end();
        return;
      }
      requests.push({ path: req.url, type: req.headers['content-type'], body: Buffer.concat(chunks), at: requests.length, port: req.socket.remotePort });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => new Promise((r) => {
    server.closeAllConnections();
    server.close(r);
  });
  // Closed at the end of the test whatever happens, so that a failure does
  // not keep the test process alive.
  t.after(close);
  return { requests, signals, url: `http://127.0.0.1:${server.address().port}`, close };
}

/**
 * invoke runs the fake runtime with the layer's preload and returns each
 * invocation's line, with the number of OTLP requests the receiver had when
 * the line arrived.
 */
function invoke({ files, handler, events, env = {}, rec, layerLib = lib, onLine }) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'layer-test-'));
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
  const child = spawn(process.execPath, [fakeRuntime], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NODE_OPTIONS: `--require "${layerLib}/preload.cjs"`,
      LAMBDA_TASK_ROOT: root,
      _HANDLER: `${layerLib}/handler.handler`,
      LAMBDAOTEL_HANDLER: handler,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_LAMBDA_FUNCTION_NAME: 'unit',
      AWS_REGION: 'us-east-1',
      EVENTS: JSON.stringify(events),
      OTEL_EXPORTER_OTLP_ENDPOINT: rec ? rec.url : 'http://127.0.0.1:9',
      ...env,
    },
  });
  const lines = [];
  let stderr = '';
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push({ ...JSON.parse(buf.slice(0, i)), requestsSeen: rec ? rec.requests.length : 0, signalsSeen: rec ? rec.signals.length : 0 });
      if (onLine) onLine(lines[lines.length - 1], child);
      buf = buf.slice(i + 1);
    }
  });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`fake runtime timed out; stderr:\n${stderr}`)); }, 20000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      fs.rmSync(root, { recursive: true });
      resolve({ code, lines, stderr });
    });
  });
}

const cjsHandler = `
const http = require('node:http');
exports.handler = async (event, context) => {
  if (event.fail) throw new Error('boom ' + context.awsRequestId);
  return { ok: context.awsRequestId };
};
exports.callback = (event, context, callback) => {
  setTimeout(() => callback(null, { ok: context.awsRequestId }), 20);
};
`;
const esmHandler = `
export const handler = async (event, context) => {
  if (event.fail) throw new Error('boom ' + context.awsRequestId);
  return { ok: context.awsRequestId };
};
`;

/**
 * checkWarmUp checks the init's warm-up: one empty trace export, the first
 * request the receiver got, made without a span of its own, whose
 * connection the first invocation's export reuses. The reuse is checked
 * when the layer's debug lines are on (OTEL_LOG_LEVEL=debug) and none says
 * that init stopped waiting for the warm-up (on a loaded machine it can).
 */
function checkWarmUp(rec, result) {
  const warm = rec.requests[0];
  assert.ok(warm, `no OTLP request at all\n${result.stderr}`);
  assert.equal(warm.path, '/v1/traces');
  assert.equal(warm.body.length, 0, 'the first trace export is not the empty warm-up export');
  assert.equal(rec.requests.filter((r) => r.body.length === 0).length, 1, 'more than one empty export');
  const first = rec.requests[1];
  assert.ok(first, `no export after the warm-up\n${result.stderr}`);
  if (/lambdaotel-nodejs: DEBUG/.test(result.stderr) && !/the warm-up export took more than/.test(result.stderr)) {
    assert.equal(first.port, warm.port, 'the first invocation\'s export did not reuse the warm-up\'s connection');
  }
  for (const r of rec.requests) {
    assert.ok(!r.body.includes('v1/traces') && !r.body.includes('warm-up'), 'an export holds a span of the warm-up');
  }
}

/**
 * checkExportedBeforeEnd checks that each invocation's spans were received
 * before it ended, and its end-of-invocation signal after them, before it
 * ended; the signal is not traced.
 */
function checkExportedBeforeEnd(rec, result, n) {
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.lines.length, n, result.stderr);
  checkWarmUp(rec, result);
  result.lines.forEach((line, i) => {
    // Request 0 is init's warm-up.
    assert.ok(line.requestsSeen >= i + 2, `invocation ${i} ended with ${line.requestsSeen} OTLP requests received, want its own among them\n${result.stderr}`);
    const req = rec.requests[i + 1];
    assert.equal(req.path, '/v1/traces');
    assert.equal(req.type, 'application/x-protobuf');
    // The protobuf holds the strings as they are.
    assert.ok(req.body.includes(`request-${i}`), `request ${i} does not hold faas.invocation_id request-${i}`);
    assert.ok(req.body.includes('faas.invocation_id') && req.body.includes('faas.coldstart'), `request ${i} lacks the invocation span's attributes`);
    const signal = rec.signals[i];
    assert.ok(signal && line.signalsSeen >= i + 1, `invocation ${i} ended before its end was signalled (${JSON.stringify(rec.signals)})\n${result.stderr}`);
    assert.equal(signal.method, 'POST');
    assert.equal(signal.path, `/lambdaotel/v1/invocations/request-${i}/end`);
    assert.equal(signal.bodyLength, 0);
    assert.ok(signal.after >= i + 2, `the end of invocation ${i} was signalled before its spans were exported`);
    assert.equal(signal.port, req.port, `the end of invocation ${i} was not signalled on the connection of its export`);
  });
  assert.equal(rec.signals.length, n, `${rec.signals.length} signals for ${n} invocations`);
  for (const r of rec.requests) {
    assert.ok(!r.body.includes('/lambdaotel/v1/invocations/'), 'the end-of-invocation signal was traced');
  }
  assert.doesNotMatch(result.stderr, /lambdaotel-nodejs: (ERROR|WARN)/);
}

test('CommonJS handler, async and callback: spans exported before each invocation ends', { skip }, async (t) => {
  for (const handler of ['index.handler', 'index.callback']) {
    const rec = await receiver(t);
    const result = await invoke({ files: { 'index.js': cjsHandler }, handler, events: [{}, {}, { fail: true }], rec, env: { OTEL_LOG_LEVEL: 'debug' } });
    checkExportedBeforeEnd(rec, result, 3);
    if (handler === 'index.handler') {
      assert.equal(result.lines[2].error, 'boom request-2');
      assert.ok(rec.requests[3].body.includes('boom request-2'), 'the exception is not in the exported span');
    } else {
      assert.ok(result.lines[0].ms >= 15, 'the callback handler ended before calling back');
    }
  }
});

test('ES module handler: spans exported before each invocation ends', { skip }, async (t) => {
  const rec = await receiver(t);
  const result = await invoke({ files: { 'index.mjs': esmHandler }, handler: 'index.handler', events: [{}, { fail: true }], rec, env: { OTEL_LOG_LEVEL: 'debug' } });
  checkExportedBeforeEnd(rec, result, 2);
  assert.equal(result.lines[1].error, 'boom request-1');
});

test('SIGTERM: what ended after the last flush is exported, then the process exits', { skip }, async (t) => {
  const rec = await receiver(t);
  // The handler answers, then makes one more HTTP call: its span ends after
  // the invocation's flush, and only the shutdown can send it.
  const handler = `
const http = require('node:http');
exports.handler = async () => {
  setTimeout(() => http.get(process.env.OTEL_EXPORTER_OTLP_ENDPOINT + '/late', (res) => res.resume()), 10);
  return 'ok';
};
`;
  let late = 0;
  const result = await invoke({
    files: { 'index.js': handler },
    handler: 'index.handler',
    events: [{}],
    rec,
    env: { FAKE_RUNTIME_STAY: '1' },
    onLine: (line, child) => {
      late = rec.requests.length;
      const poll = setInterval(() => {
        if (rec.requests.some((r) => r.path === '/late')) {
          clearInterval(poll);
          setTimeout(() => child.kill('SIGTERM'), 50); // the span has ended by now
        }
      }, 5);
    },
  });
  assert.equal(result.code, 143, result.stderr);
  const after = rec.requests.slice(late).filter((r) => r.path === '/v1/traces');
  assert.equal(after.length, 1, `${after.length} trace exports after the invocation, want the shutdown's\n${result.stderr}`);
  assert.ok(after[0].body.includes('/late'), 'the late HTTP span is not in the shutdown\'s export');
});

test('nothing listening: invocations do not wait, the layer says so once', { skip }, async (t) => {
  const result = await invoke({ files: { 'index.js': cjsHandler }, handler: 'index.handler', events: [{}, {}, {}], env: { OTEL_LOG_LEVEL: 'debug' } });
  // The refused warm-up ends init's wait for it (the exporter retries for seconds).
  assert.doesNotMatch(result.stderr, /the warm-up export took more than/);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.lines.length, 3);
  for (const line of result.lines) {
    assert.ok(line.ms < 900, `an invocation took ${line.ms} ms: it waited for the exporter's retries`);
  }
  const said = result.stderr.match(/nothing listens at http:\/\/127\.0\.0\.1:9/g) || [];
  assert.equal(said.length, 1, result.stderr);
});

test('a broken installation: the function works, the failure is logged once', { skip }, async (t) => {
  const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'layer-broken-'));
  fs.cpSync(lib, path.join(broken, 'lambdaotel-nodejs'), { recursive: true });
  fs.writeFileSync(path.join(broken, 'lambdaotel-nodejs', 'init.cjs'), "throw new Error('broken on purpose')\n");
  for (const files of [{ 'index.js': cjsHandler }, { 'index.mjs': esmHandler }]) {
    const rec = await receiver(t);
    const result = await invoke({ files, handler: 'index.handler', events: [{}, {}], rec, layerLib: path.join(broken, 'lambdaotel-nodejs') });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.lines.map((l) => l.result), [{ ok: 'request-0' }, { ok: 'request-1' }], result.stderr);
    const errors = result.stderr.match(/lambdaotel-nodejs: ERROR/g) || [];
    assert.ok(errors.length >= 1 && errors.length <= 2, `${errors.length} error lines (one per preload at most):\n${result.stderr}`);
  }
  fs.rmSync(broken, { recursive: true });
});

test('configuration mistakes are warnings, not failures', { skip }, async (t) => {
  const rec = await receiver(t);
  const result = await invoke({
    files: { 'index.js': cjsHandler },
    handler: 'index.handler',
    events: [{}],
    rec,
    env: { OTEL_PROPAGATORS: 'b3', OTEL_TRACES_SAMPLER: 'sometimes', OTEL_LOG_LEVEL: 'loud' },
  });
  checkExportedBeforeEnd(rec, { ...result, stderr: '' }, 1);
  assert.match(result.stderr, /unknown propagator "b3"/);
  assert.match(result.stderr, /OTEL_LOG_LEVEL=loud/);
  assert.match(result.stderr, /OTEL_TRACES_SAMPLER value "sometimes" invalid/);
});

test('metrics and logs, when enabled, are flushed before each invocation ends too', { skip }, async (t) => {
  const rec = await receiver(t);
  const handler = `
const http = require('node:http');
exports.handler = async (event, context) => {
  // The SDK's logger provider, as @opentelemetry/api 1.10 finds it.
  globalThis[Symbol.for('opentelemetry.js.api.1')].logs.getLogger('unit').emit({ body: 'hello from ' + context.awsRequestId });
  await new Promise((resolve, reject) => http.get(process.env.OTEL_EXPORTER_OTLP_ENDPOINT + '/ping', (res) => { res.resume(); res.on('end', resolve); }).on('error', reject));
  return 'ok';
};
`;
  const result = await invoke({
    files: { 'index.js': handler },
    handler: 'index.handler',
    events: [{}, {}],
    rec,
    env: { OTEL_METRICS_EXPORTER: 'otlp', OTEL_LOGS_EXPORTER: 'otlp' },
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.lines.length, 2, result.stderr);
  for (const [i, line] of result.lines.entries()) {
    const seen = rec.requests.slice(0, line.requestsSeen);
    for (const p of ['/v1/traces', '/v1/metrics', '/v1/logs']) {
      assert.ok(seen.some((r) => r.path === p), `invocation ${i} ended before its ${p} were exported (${seen.map((r) => r.path)})`);
    }
    assert.ok(seen.some((r) => r.path === '/v1/traces' && r.body.includes(`request-${i}`)), `invocation ${i}: its span was not exported before it ended`);
    assert.ok(seen.some((r) => r.path === '/v1/logs' && r.body.includes(`hello from request-${i}`)), `invocation ${i}: its log record was not exported before it ended`);
    assert.ok(seen.some((r) => r.path === '/v1/metrics' && r.body.includes('http.client.request.duration')), `invocation ${i}: no HTTP client metric`);
  }
  // init's warm-up: one export without an item per signal, the first of each.
  for (const p of ['/v1/traces', '/v1/metrics', '/v1/logs']) {
    const first = rec.requests.find((r) => r.path === p);
    assert.ok(first, `no export to ${p}`);
    if (p === '/v1/metrics') {
      // The resource and no metric.
      assert.ok(first.body.includes('service.name') && !first.body.includes('http.client'), 'the first metrics export is not the warm-up');
    } else {
      assert.equal(first.body.length, 0, `the first export to ${p} is not the empty warm-up`);
      assert.equal(rec.requests.filter((r) => r.path === p && r.body.length === 0).length, 1, `more than one empty export to ${p}`);
    }
  }
  assert.doesNotMatch(result.stderr, /lambdaotel-nodejs: (ERROR|WARN)/);
});

test('the end-of-invocation signal: not sent when turned off or when no flush is done', { skip }, async (t) => {
  for (const env of [{ LAMBDAOTEL_INVOCATION_END: 'false' }, { LAMBDAOTEL_FLUSH_TIMEOUT: '0' }]) {
    const rec = await receiver(t);
    const result = await invoke({ files: { 'index.js': cjsHandler }, handler: 'index.handler', events: [{}, {}], rec, env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.lines.length, 2, result.stderr);
    assert.deepEqual(rec.signals, [], `signalled with ${JSON.stringify(env)}`);
  }
});

test('the end-of-invocation signal: turned off by an answer other than 204', { skip }, async (t) => {
  // An OpenTelemetry Collector on the endpoint: it answers 404 to the
  // signal's path, which is not sent again; the exports go on.
  const requests = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests.push(req.url);
      res.writeHead(req.url.startsWith('/v1/') ? 200 : 404);
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((r) => {
    server.closeAllConnections();
    server.close(r);
  }));
  const url = `http://127.0.0.1:${server.address().port}`;
  const result = await invoke({ files: { 'index.js': cjsHandler }, handler: 'index.handler', events: [{}, {}, {}], env: { OTEL_EXPORTER_OTLP_ENDPOINT: url } });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.lines.length, 3, result.stderr);
  assert.equal(requests.filter((p) => p.startsWith('/lambdaotel/')).length, 1, `signals: ${requests}`);
  assert.equal(requests.filter((p) => p === '/v1/traces').length, 4, `exports: ${requests}`); // the warm-up's and one per invocation
  assert.doesNotMatch(result.stderr, /lambdaotel-nodejs: (ERROR|WARN)/);
});

test('a late answer after a timeout: flushed again, then the end is signalled', { skip }, async (t) => {
  // The fake runtime's deadline is 3000 ms away: with a margin of 2800 ms
  // the span ends as a timeout after 200 ms and is flushed, without the
  // signal (the handler still runs); the handler then calls out and
  // answers, and that call's span is flushed before the end is signalled.
  const rec = await receiver(t);
  const handler = `
const http = require('node:http');
exports.handler = async () => {
  await new Promise((resolve) => setTimeout(resolve, 400));
  await new Promise((resolve, reject) => http.get(process.env.OTEL_EXPORTER_OTLP_ENDPOINT + '/late-call', (res) => { res.resume(); res.on('end', resolve); }).on('error', reject));
  return 'late';
};
`;
  // The late call goes to the receiver, which records it as a request.
  let signalsAtLateCall = -1;
  const result = await invoke({
    files: { 'index.js': handler },
    handler: 'index.handler',
    events: [{}],
    rec,
    env: { LAMBDAOTEL_TIMEOUT_MARGIN: '2800' },
    onLine: () => {
      const i = rec.requests.findIndex((r) => r.path === '/late-call');
      signalsAtLateCall = rec.signals.filter((s) => s.after <= i).length;
    },
  });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.lines.map((l) => l.result), ['late'], result.stderr);
  const traces = rec.requests.filter((r) => r.path === '/v1/traces');
  assert.equal(traces.length, 3, `${traces.length} trace exports, want the warm-up's, the timeout's and the late answer's\n${result.stderr}`);
  assert.ok(traces[1].body.includes('timeout'), 'the timeout\'s export lacks the timed-out invocation span');
  assert.ok(traces[2].body.includes('/late-call'), 'the late answer\'s export lacks the span of the call made after the timeout');
  assert.equal(signalsAtLateCall, 0, 'the end was signalled at the timeout, while the handler still ran');
  assert.equal(rec.signals.length, 1, JSON.stringify(rec.signals));
  assert.equal(rec.signals[0].path, '/lambdaotel/v1/invocations/request-0/end');
  assert.equal(rec.signals[0].after, rec.requests.indexOf(traces[2]) + 1, 'the end was not signalled right after the late answer\'s export');
  assert.equal(result.lines[0].signalsSeen, 1, 'the invocation ended before its end was signalled');
});

test('the layer holds no event loop: after its invocations the process ends by itself', { skip }, async (t) => {
  // The receiver keeps its keep-alive connections open; the exports' and
  // the signals' idle connections, the layer's timers and hooks must not
  // keep the process alive once the runtime has nothing left to do.
  const rec = await receiver(t);
  const began = Date.now();
  const result = await invoke({ files: { 'index.js': cjsHandler }, handler: 'index.handler', events: [{}, {}], rec, env: { FAKE_RUNTIME_RETURN: '1' } });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.lines.length, 2, result.stderr);
  assert.equal(rec.signals.length, 2, JSON.stringify(rec.signals));
  assert.ok(Date.now() - began < 10000, `the process took ${Date.now() - began} ms to end`);
});
