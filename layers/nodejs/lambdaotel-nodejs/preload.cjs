'use strict';
// preload.cjs is what otel-handler preloads (--require): it loads init.cjs,
// the bundle that starts OpenTelemetry, so that even a broken bundle (a
// damaged installation) cannot stop the runtime from starting. The function
// then runs without OpenTelemetry and the layer says why.
try {
  require('./init.cjs');
} catch (err) {
  try {
    require('./lib/log.cjs').error(`setup failed, the function runs without OpenTelemetry: ${err && err.stack ? err.stack : err}`);
  } catch {
    // Stay silent rather than break the function.
  }
}
