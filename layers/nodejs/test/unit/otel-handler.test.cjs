'use strict';
// otel-handler: the preload it adds, and the handler it points the runtime
// at (the layer's, with the function's own in LAMBDAOTEL_HANDLER). The
// runtime command here is env, which prints the environment and the
// arguments the runtime would get.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

// The layer under test: the one built (LAMBDAOTEL_NODE_LAYER) or the sources.
const layer = process.env.LAMBDAOTEL_NODE_LAYER || path.resolve(__dirname, '../..');
const wrapper = path.join(layer, 'otel-handler');
const lib = path.join(layer, 'lambdaotel-nodejs');
const REQUIRE = `--require "${lib}/preload.cjs"`;
const LAYER_HANDLER = `${lib}/handler.handler`;

/** run runs the wrapper with env and the runtime's arguments; it returns what the runtime would get. */
function run(env, args = [], argv0 = wrapper, cwd = undefined) {
  const r = spawnSync(argv0, ['/bin/sh', '-c', 'env; echo "ARGS=$*"', 'sh', ...args], { env: { PATH: process.env.PATH, ...env }, cwd, encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 0, r.stderr);
  const out = {};
  for (const line of r.stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return { env: out, stderr: r.stderr };
}

test('the runtime loads the layer\'s handler, which finds the function\'s in LAMBDAOTEL_HANDLER', () => {
  for (const handler of ['index.handler', 'src/handlers/app.handler', 'app.nested.handler']) {
    const { env } = run({ _HANDLER: handler }, ['/var/runtime/index.mjs', handler]);
    assert.equal(env._HANDLER, LAYER_HANDLER);
    assert.equal(env.LAMBDAOTEL_HANDLER, handler);
    assert.equal(env.NODE_OPTIONS, REQUIRE);
    // aws-lambda-ric 3 takes the handler from its arguments.
    assert.equal(env.ARGS, `/var/runtime/index.mjs ${LAYER_HANDLER}`);
  }
});

test('the function\'s own NODE_OPTIONS are kept, after the preload', () => {
  const { env } = run({ _HANDLER: 'index.handler', NODE_OPTIONS: '--enable-source-maps --max-old-space-size=100' });
  assert.equal(env.NODE_OPTIONS, `${REQUIRE} --enable-source-maps --max-old-space-size=100`);
});

test('OTEL_SDK_DISABLED=true and runtimes before nodejs22.x run the runtime untouched', () => {
  for (const v of ['true', 'TRUE', 'True']) {
    const { env } = run({ _HANDLER: 'index.handler', OTEL_SDK_DISABLED: v, NODE_OPTIONS: '--no-warnings' }, ['index.handler']);
    assert.equal(env.NODE_OPTIONS, '--no-warnings', v);
    assert.equal(env._HANDLER, 'index.handler');
    assert.equal(env.ARGS, 'index.handler');
  }
  assert.equal(run({ _HANDLER: 'index.handler', OTEL_SDK_DISABLED: 'false' }).env.NODE_OPTIONS, REQUIRE);
  const old = run({ _HANDLER: 'index.handler', AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x' }, ['index.handler']);
  assert.equal(old.env._HANDLER, 'index.handler');
  assert.equal(old.env.NODE_OPTIONS, undefined);
  assert.match(old.stderr, /lambdaotel-nodejs: WARN nodejs20\.x is not supported/);
  for (const rt of ['nodejs22.x', 'nodejs24.x', 'nodejs26.x']) {
    assert.equal(run({ _HANDLER: 'index.handler', AWS_EXECUTION_ENV: `AWS_Lambda_${rt}` }).env._HANDLER, LAYER_HANDLER, rt);
  }
});

test('the layer is found next to the wrapper, whatever the path it is run by', () => {
  const env = { _HANDLER: 'index.handler' };
  // Through sh with a relative path, from the layer's directory.
  const r = spawnSync('/bin/sh', ['./otel-handler', '/usr/bin/env'], { env: { PATH: process.env.PATH, ...env }, cwd: layer, encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^NODE_OPTIONS=${REQUIRE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  // A copy with no layer files next to it says so and runs the runtime anyway.
  const lonely = fs.mkdtempSync(path.join(os.tmpdir(), 'otel-handler-lonely-'));
  fs.copyFileSync(wrapper, path.join(lonely, 'otel-handler'));
  fs.chmodSync(path.join(lonely, 'otel-handler'), 0o755);
  const out = run({ ...env, NODE_OPTIONS: '--no-warnings' }, [], path.join(lonely, 'otel-handler'));
  assert.equal(out.env.NODE_OPTIONS, '--no-warnings');
  assert.equal(out.env._HANDLER, 'index.handler');
  assert.match(out.stderr, /lambdaotel-nodejs: ERROR .*preload\.cjs is missing; the function runs without OpenTelemetry/);
  fs.rmSync(lonely, { recursive: true });
});
