'use strict';
// init.cjs starts OpenTelemetry in the runtime process before the handler
// loads. otel-handler preloads it with --require (CommonJS handlers), or
// esm.mjs loads it after registering the ES module hook (ES module
// handlers). Whatever goes wrong here is logged once and the function runs
// without OpenTelemetry: the layer never breaks the function.
try {
  require('./lib/sdk.cjs').start();
} catch (err) {
  try {
    require('./lib/log.cjs').error(`setup failed, the function runs without OpenTelemetry: ${err && err.stack ? err.stack : err}`);
  } catch {
    // Not even the logger loads: stay silent rather than break the function.
  }
}
