'use strict';
// The layer's log lines (lib/log.cjs): each distinct message once.
const test = require('node:test');
const assert = require('node:assert/strict');
const log = require('../../lambdaotel-nodejs/lib/log.cjs');

function capture(fn) {
  const lines = [];
  const write = process.stderr.write;
  process.stderr.write = (chunk) => {
    lines.push(String(chunk));
    return true;
  };
  try {
    fn();
  } finally {
    process.stderr.write = write;
  }
  return lines;
}

test('a message is written once, with the prefix and level', () => {
  log.reset();
  const lines = capture(() => {
    log.error('setup failed: x');
    log.error('setup failed: x');
    log.warn('setup failed: x');
    log.error('other\nline', 'key');
    log.error('same key, other text', 'key');
    log.debug('every time', false);
    log.debug('every time', false);
  });
  assert.deepEqual(lines, [
    'lambdaotel-nodejs: ERROR setup failed: x\n',
    'lambdaotel-nodejs: WARN setup failed: x\n',
    'lambdaotel-nodejs: ERROR other line\n',
    'lambdaotel-nodejs: DEBUG every time\n',
    'lambdaotel-nodejs: DEBUG every time\n',
  ]);
});

test('describe names the error and its code without the stack', () => {
  const err = new Error('connect ECONNREFUSED 127.0.0.1:4318');
  err.code = 'ECONNREFUSED';
  assert.equal(log.describe(err), 'Error: connect ECONNREFUSED 127.0.0.1:4318 (ECONNREFUSED)');
  assert.equal(log.describe('text'), 'text');
});
