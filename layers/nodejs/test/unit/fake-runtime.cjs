'use strict';
// fake-runtime.cjs stands in for the runtime interface client in the unit
// tests: it loads the handler of _HANDLER from LAMBDA_TASK_ROOT (require,
// or import() for .mjs), invokes it with each event of EVENTS (a JSON list)
// and a Lambda-like context and callback, and prints one JSON line per
// invocation when it has ended, then exits (or, with FAKE_RUNTIME_STAY,
// waits for a signal; with FAKE_RUNTIME_RETURN, returns and lets the
// process end when nothing holds its event loop).
const fs = require('node:fs');
const path = require('node:path');

async function main() {
  const handlerSetting = process.env._HANDLER;
  const base = path.basename(handlerSetting);
  const [module, fn] = base.split('.');
  const file = path.resolve(process.env.LAMBDA_TASK_ROOT, handlerSetting.slice(0, handlerSetting.length - base.length), module);
  const ext = ['.js', '.mjs', '.cjs'].find((e) => fs.existsSync(file + e));
  const mod = ext === '.mjs' ? await import(file + ext) : require(file + ext);
  const events = JSON.parse(process.env.EVENTS || '[{}]');
  for (let i = 0; i < events.length; i++) {
    const context = {
      awsRequestId: `request-${i}`,
      functionName: 'unit',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:unit',
      getRemainingTimeInMillis: () => 3000,
    };
    const started = Date.now();
    let line;
    try {
      const result = await new Promise((resolve, reject) => {
        const r = mod[fn](events[i], context, (err, res) => (err ? reject(err) : resolve(res)));
        if (r && typeof r.then === 'function') r.then(resolve, reject);
      });
      line = { invocation: i, result, ms: Date.now() - started };
    } catch (err) {
      line = { invocation: i, error: String(err && err.message), ms: Date.now() - started };
    }
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
  // A runtime never ends by itself; this one ends when its events are done,
  // without waiting for the exporter's retries, unless FAKE_RUNTIME_STAY
  // asks it to wait for a signal, as a runtime waits for its next event.
  if (process.env.FAKE_RUNTIME_STAY) {
    setInterval(() => {}, 60000);
    return;
  }
  if (process.env.FAKE_RUNTIME_RETURN) return;
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`fake-runtime: ${err && err.stack}\n`);
  process.exit(1);
});
