'use strict';
// init.cjs starts OpenTelemetry in the runtime process before the handler
// loads: otel-handler preloads it with --require, and handler.mjs (the
// handler the runtime loads in place of the function's) takes wrapHandler
// from it. Whatever goes wrong here is logged once and the function runs
// without OpenTelemetry: the layer never breaks the function.
let sdk = null;
try {
  sdk = require('./lib/sdk.cjs');
  sdk.start();
} catch (err) {
  sdk = null;
  try {
    require('./lib/log.cjs').error(`setup failed, the function runs without OpenTelemetry: ${err && err.stack ? err.stack : err}`);
  } catch {
    // Not even the logger loads: stay silent rather than break the function.
  }
}

/**
 * wrapHandler returns the function's handler wrapped in the invocation
 * span, or as it is when OpenTelemetry is off or did not start.
 * @param {Function} handler
 */
exports.wrapHandler = (handler) => (sdk === null ? handler : sdk.wrapHandler(handler));

/**
 * ready settles when the warm-up that start began is over: handler.mjs
 * waits for it at the end of init, so that the first invocation finds the
 * exporter's connection to the extension open. It never rejects.
 */
exports.ready = () => (sdk === null ? Promise.resolve() : sdk.ready());
