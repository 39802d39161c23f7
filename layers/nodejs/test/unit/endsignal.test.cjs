'use strict';
// The end-of-invocation signal (lib/endsignal.cjs): where it goes under the
// OTEL_* variables, the request it sends, and when it turns itself off,
// against a local HTTP server.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const net = require('node:net');
const endsignal = require('../../lambdaotel-nodejs/lib/endsignal.cjs');

test('origin: the OTLP/HTTP endpoint\'s, when it is plain HTTP on loopback with a port', () => {
  const cases = [
    ['default endpoint', {}, 'http://127.0.0.1:4318'],
    ['endpoint on loopback', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:5318' }, 'http://127.0.0.1:5318'],
    ['trailing slash and path', { OTEL_EXPORTER_OTLP_ENDPOINT: ' http://127.0.0.1:5318/ ' }, 'http://127.0.0.1:5318'],
    ['localhost', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318' }, 'http://localhost:4318'],
    ['127.0.0.0/8', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.3.2.1:4318' }, 'http://127.3.2.1:4318'],
    ['IPv6 loopback', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://[::1]:4318' }, 'http://[::1]:4318'],
    ['explicit port 80', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:80' }, 'http://127.0.0.1:80'],
    ['traces endpoint wins', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:1', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://localhost:4318/v1/traces' }, 'http://localhost:4318'],
    ['gRPC: the default HTTP endpoint', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4317' }, 'http://127.0.0.1:4318'],
    ['gRPC for traces only', { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://localhost:4317' }, 'http://127.0.0.1:4318'],
    ['traces protocol wins over the general one', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:5318' }, 'http://localhost:5318'],
    ['remote backend', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.example.com:4318' }, ''],
    ['a name that starts like loopback', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1.example.com:4318' }, ''],
    ['TLS', { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://localhost:4318' }, ''],
    ['no port', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost' }, ''],
    ['not a URL', { OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' }, ''],
    ['turned off: false', { LAMBDAOTEL_INVOCATION_END: 'false' }, ''],
    ['turned off: FALSE', { LAMBDAOTEL_INVOCATION_END: ' FALSE ' }, ''],
    ['turned off: 0', { LAMBDAOTEL_INVOCATION_END: '0' }, ''],
    ['on: true', { LAMBDAOTEL_INVOCATION_END: 'true' }, 'http://127.0.0.1:4318'],
    ['Managed Instances', { AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances' }, ''],
    ['on demand', { AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' }, 'http://127.0.0.1:4318'],
  ];
  for (const [name, env, want] of cases) {
    assert.equal(endsignal.origin(env), want, name);
  }
});

/**
 * server starts a local HTTP server that answers every request with
 * status (0: never answers) and records method and path.
 */
async function server(t, status) {
  const seen = [];
  const srv = http.createServer((req, res) => {
    seen.push({ method: req.method, path: req.url, port: req.socket.remotePort });
    req.resume();
    if (status !== 0) {
      res.writeHead(status);
      res.end();
    }
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => {
    srv.closeAllConnections();
    srv.close(resolve);
  }));
  return { seen, url: `http://127.0.0.1:${srv.address().port}` };
}

/** refusedURL is the URL of a loopback port where nothing listens. */
async function refusedURL() {
  const ln = net.createServer();
  await new Promise((resolve) => ln.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${ln.address().port}`;
  await new Promise((resolve) => ln.close(resolve));
  return url;
}

test('send: the path, and when the signal turns itself off', async (t) => {
  const cases = [
    // name, answer (0: never; -1: nothing listens), signals received of three, off after
    ['the extension: 204', 204, 3, false],
    ['another collector: 404', 404, 1, true],
    ['another answer: 200', 200, 1, true],
    ['a timeout does not turn it off', 0, 3, false],
    ['nothing listens: refused', -1, 0, true],
  ];
  for (const [name, status, wantSeen, wantOff] of cases) {
    await t.test(name, async (t) => {
      const srv = status === -1 ? { seen: [], url: await refusedURL() } : await server(t, status);
      const said = [];
      const signal = endsignal.create({ OTEL_EXPORTER_OTLP_ENDPOINT: srv.url }, { debug: (m) => said.push(m) });
      assert.equal(signal.origin, srv.url);
      for (let i = 0; i < 3; i++) {
        const began = Date.now();
        await signal.send(`req/${i}`, Date.now() + 2000);
        assert.ok(Date.now() - began < 1000, `${name}: send ${i} took ${Date.now() - began} ms`);
      }
      assert.equal(srv.seen.length, wantSeen, `${name}: ${JSON.stringify(srv.seen)}`);
      srv.seen.forEach((r, i) => {
        assert.equal(r.method, 'POST');
        assert.equal(r.path, `/lambdaotel/v1/invocations/req%2F${i}/end`);
      });
      if (status === 204 && srv.seen.length > 1) {
        assert.ok(srv.seen.every((r) => r.port === srv.seen[0].port), `${name}: the signals did not reuse one connection: ${JSON.stringify(srv.seen)}`);
      }
      assert.equal(signal.isOff(), wantOff, name);
      assert.equal(said.length, wantOff ? 1 : 0, `${name}: ${said}`);
    });
  }
});

test('send: bounded by the deadline, and nothing without time or a request id', async (t) => {
  const srv = await server(t, 0); // never answers
  const signal = endsignal.create({ OTEL_EXPORTER_OTLP_ENDPOINT: srv.url });
  let began = Date.now();
  await signal.send('r1', Date.now() + 20);
  const took = Date.now() - began;
  assert.ok(took < endsignal.SIGNAL_TIMEOUT_MS, `send waited ${took} ms, past its deadline 20 ms away`);
  await signal.send('r2', Date.now() - 1);
  await signal.send('', 0);
  await signal.send(undefined, 0);
  began = Date.now();
  await signal.send('r3', 0); // no deadline: the signal's own timeout
  assert.ok(Date.now() - began >= endsignal.SIGNAL_TIMEOUT_MS - 5, 'send returned before its timeout without an answer');
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(srv.seen.map((r) => r.path), ['/lambdaotel/v1/invocations/r1/end', '/lambdaotel/v1/invocations/r3/end']);
  assert.equal(signal.isOff(), false);
});

test('send: nothing when turned off by the environment, and tracing suppressed while it sends', async (t) => {
  const srv = await server(t, 204);
  const off = endsignal.create({ OTEL_EXPORTER_OTLP_ENDPOINT: srv.url, LAMBDAOTEL_INVOCATION_END: 'false' });
  assert.equal(off.origin, '');
  assert.equal(off.isOff(), true);
  await off.send('r1', 0);
  let suppressed = 0;
  const on = endsignal.create({ OTEL_EXPORTER_OTLP_ENDPOINT: srv.url }, { suppress: (fn) => { suppressed++; fn(); } });
  await on.send('r2', 0);
  assert.equal(suppressed, 1, 'the request was not made through suppress');
  assert.deepEqual(srv.seen.map((r) => r.path), ['/lambdaotel/v1/invocations/r2/end']);
});

test('send: does not keep the process alive', { timeout: 10000 }, async (t) => {
  // A child process sends one signal to a server that keeps the connection
  // open (keep-alive) and then has nothing else to do: it must exit.
  const srv = await server(t, 204);
  const { spawn } = require('node:child_process');
  const path = require('node:path');
  const lib = path.join(__dirname, '..', '..', 'lambdaotel-nodejs', 'lib', 'endsignal.cjs');
  const code = `require(${JSON.stringify(lib)}).create({ OTEL_EXPORTER_OTLP_ENDPOINT: ${JSON.stringify(srv.url)} }).send('r1', 0).then(() => process.stdout.write('sent'))`;
  const child = spawn(process.execPath, ['-e', code]);
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const exited = await new Promise((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(false); }, 5000);
    child.on('exit', () => { clearTimeout(timer); resolve(true); });
  });
  assert.ok(exited, 'the process did not exit after the signal: something holds the event loop');
  assert.equal(out, 'sent');
  assert.equal(srv.seen.length, 1);
});

test('send: localhost and the IPv6 loopback', async (t) => {
  // Nothing listens at localhost:<port>: refused (on every address
  // localhost resolves to), turned off.
  const refused = new URL(await refusedURL());
  const byName = endsignal.create({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://localhost:${refused.port}` });
  assert.equal(byName.origin, `http://localhost:${refused.port}`);
  await byName.send('r1', 0);
  assert.equal(byName.isOff(), true, 'a refused connection to localhost did not turn the signal off');

  const seen = [];
  const srv = http.createServer((req, res) => {
    seen.push(req.url);
    req.resume();
    res.writeHead(204);
    res.end();
  });
  const listening = await new Promise((resolve) => {
    srv.once('error', () => resolve(false));
    srv.listen(0, '::1', () => resolve(true));
  });
  if (!listening) {
    t.skip('no IPv6 loopback on this machine');
    return;
  }
  t.after(() => new Promise((resolve) => {
    srv.closeAllConnections();
    srv.close(resolve);
  }));
  const v6 = endsignal.create({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://[::1]:${srv.address().port}` });
  await v6.send('r2', 0);
  assert.deepEqual(seen, ['/lambdaotel/v1/invocations/r2/end']);
  assert.equal(v6.isOff(), false);
});
