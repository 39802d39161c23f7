'use strict';
// otel-handler's choice of preload: --require init.cjs for CommonJS
// handlers, --import esm.mjs for ES module handlers, found the way the
// runtime finds the handler's file. The runtime command here is env, which
// prints the environment the runtime would get.
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
const REQUIRE = `--require "${lib}/init.cjs"`;
const IMPORT = `--import "${lib}/esm.mjs"`;

/** taskRoot makes a task root with files {relative path: content}. */
function taskRoot(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otel-handler-test-'));
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

/** run runs the wrapper with env as the environment and returns what the runtime would get. */
function run(env, argv0 = wrapper, cwd = undefined) {
  const r = spawnSync(argv0, ['/usr/bin/env'], { env: { PATH: process.env.PATH, ...env }, cwd, encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 0, r.stderr);
  const out = {};
  for (const line of r.stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return { env: out, stderr: r.stderr };
}

const pkg = (type) => JSON.stringify({ name: 'fn', private: true, ...(type ? { type } : {}) });

test('the preload follows the handler file the runtime loads', () => {
  const cases = [
    ['.mjs', { 'index.mjs': '' }, 'index.handler', IMPORT],
    ['.js, "type": "module"', { 'package.json': pkg('module'), 'app.js': '' }, 'app.handler', IMPORT],
    ['.js, "type": "module" on other lines', { 'package.json': '{\n  "type"  :\n\t"module"\n}', 'app.js': '' }, 'app.handler', IMPORT],
    ['.js, no package.json', { 'index.js': '' }, 'index.handler', REQUIRE],
    ['.js, "type": "commonjs"', { 'package.json': pkg('commonjs'), 'index.js': '' }, 'index.handler', REQUIRE],
    ['.js, package.json without type', { 'package.json': pkg(), 'index.js': '' }, 'index.handler', REQUIRE],
    ['.cjs', { 'package.json': pkg('module'), 'handler.cjs': '' }, 'handler.handler', REQUIRE],
    ['subdirectory, "type": "module" above', { 'package.json': pkg('module'), 'src/app.js': '' }, 'src/app.handler', IMPORT],
    ['subdirectory .mjs', { 'a/b/app.mjs': '' }, 'a/b/app.handler', IMPORT],
    ['nearest package.json wins', { 'package.json': pkg('module'), 'src/package.json': pkg('commonjs'), 'src/app.js': '' }, 'src/app.handler', REQUIRE],
    ['.js before .mjs', { 'index.js': '', 'index.mjs': '' }, 'index.handler', REQUIRE],
    ['no extension', { 'index': '', 'index.mjs': '' }, 'index.handler', REQUIRE],
    ['nested handler name', { 'index.mjs': '' }, 'index.handlers.main', IMPORT],
    ['a package from node_modules', { 'node_modules/fn/index.js': '' }, 'fn.handler', REQUIRE],
    ['no type past node_modules', { 'package.json': pkg('module'), 'node_modules/pkg/app.js': '' }, 'node_modules/pkg/app.handler', REQUIRE],
  ];
  for (const [name, files, handler, want] of cases) {
    const root = taskRoot(files);
    const { env } = run({ LAMBDA_TASK_ROOT: root, _HANDLER: handler, AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x' });
    assert.equal(env.NODE_OPTIONS, want, name);
    fs.rmSync(root, { recursive: true });
  }
});

test('runtimes that import() every handler get the hook', () => {
  const root = taskRoot({ 'index.js': '' });
  for (const [runtime, want] of [['AWS_Lambda_nodejs18.x', REQUIRE], ['AWS_Lambda_nodejs22.x', REQUIRE], ['AWS_Lambda_nodejs24.x', IMPORT], ['AWS_Lambda_nodejs26.x', IMPORT], ['AWS_Lambda_nodejs.x', REQUIRE]]) {
    assert.equal(run({ LAMBDA_TASK_ROOT: root, _HANDLER: 'index.handler', AWS_EXECUTION_ENV: runtime }).env.NODE_OPTIONS, want, runtime);
  }
  fs.rmSync(root, { recursive: true });
});

test('LAMBDAOTEL_NODE_ESM_HOOK overrides the choice', () => {
  const root = taskRoot({ 'index.js': '', 'app.mjs': '' });
  assert.equal(run({ LAMBDA_TASK_ROOT: root, _HANDLER: 'index.handler', LAMBDAOTEL_NODE_ESM_HOOK: 'always' }).env.NODE_OPTIONS, IMPORT);
  assert.equal(run({ LAMBDA_TASK_ROOT: root, _HANDLER: 'app.handler', LAMBDAOTEL_NODE_ESM_HOOK: 'never' }).env.NODE_OPTIONS, REQUIRE);
  assert.equal(run({ LAMBDA_TASK_ROOT: root, _HANDLER: 'app.handler', LAMBDAOTEL_NODE_ESM_HOOK: 'auto' }).env.NODE_OPTIONS, IMPORT);
  fs.rmSync(root, { recursive: true });
});

test('the function\'s own NODE_OPTIONS are kept, after the preload', () => {
  const root = taskRoot({ 'index.js': '' });
  const { env } = run({ LAMBDA_TASK_ROOT: root, _HANDLER: 'index.handler', NODE_OPTIONS: '--enable-source-maps --max-old-space-size=100' });
  assert.equal(env.NODE_OPTIONS, `${REQUIRE} --enable-source-maps --max-old-space-size=100`);
  fs.rmSync(root, { recursive: true });
});

test('OTEL_SDK_DISABLED=true runs the runtime untouched', () => {
  const root = taskRoot({ 'index.mjs': '' });
  for (const v of ['true', 'TRUE', 'True']) {
    const { env } = run({ LAMBDA_TASK_ROOT: root, _HANDLER: 'index.handler', OTEL_SDK_DISABLED: v, NODE_OPTIONS: '--no-warnings' });
    assert.equal(env.NODE_OPTIONS, '--no-warnings', v);
  }
  assert.equal(run({ LAMBDA_TASK_ROOT: root, _HANDLER: 'index.handler', OTEL_SDK_DISABLED: 'false' }).env.NODE_OPTIONS, IMPORT);
  fs.rmSync(root, { recursive: true });
});

test('the layer is found next to the wrapper, whatever the path it is run by', () => {
  const root = taskRoot({ 'index.js': '' });
  const env = { LAMBDA_TASK_ROOT: root, _HANDLER: 'index.handler' };
  // Through sh with a relative path, from the layer's directory.
  const r = spawnSync('/bin/sh', ['./otel-handler', '/usr/bin/env'], { env: { PATH: process.env.PATH, ...env }, cwd: layer, encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^NODE_OPTIONS=${REQUIRE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  // A copy with no layer files next to it says so and runs the runtime anyway.
  const lonely = fs.mkdtempSync(path.join(os.tmpdir(), 'otel-handler-lonely-'));
  fs.copyFileSync(wrapper, path.join(lonely, 'otel-handler'));
  fs.chmodSync(path.join(lonely, 'otel-handler'), 0o755);
  const out = run({ ...env, NODE_OPTIONS: '--no-warnings' }, path.join(lonely, 'otel-handler'));
  assert.equal(out.env.NODE_OPTIONS, '--no-warnings');
  assert.match(out.stderr, /lambdaotel-nodejs: ERROR .*init\.cjs is missing; the function runs without OpenTelemetry/);
  fs.rmSync(lonely, { recursive: true });
  fs.rmSync(root, { recursive: true });
});
