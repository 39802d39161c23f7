// esm.mjs is preloaded with --import by otel-handler when the handler is an
// ES module (or the runtime loads every handler with import()). It
// registers import-in-the-middle's loader hook with module.register, so that
// the instrumentations can wrap ES modules (the handler's exports among
// them), then starts OpenTelemetry (init.cjs). The hook wraps only the
// modules an instrumentation asked for: each Hook tells the loader its
// modules over a message channel, and the handler loads only after the
// loader has acknowledged them all. A failure is logged once and the
// function runs without OpenTelemetry (or with CommonJS modules only).
import { createRequire, register } from 'node:module';

const require = createRequire(import.meta.url);

/** How long the loader may take to acknowledge the hooked modules (ms). */
const ACK_TIMEOUT_MS = 2000;

function logError(what, err) {
  try {
    require('./lib/log.cjs').error(`${what}: ${err && err.stack ? err.stack : err}`);
  } catch {
    // Stay silent rather than break the function.
  }
}

let waitForAcks = null;
try {
  const { createAddHookMessageChannel } = require('import-in-the-middle');
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
  waitForAcks = waitForAllMessagesAcknowledged;
} catch (err) {
  logError('the ES module hook could not be registered, ES modules load uninstrumented', err);
}

require('./init.cjs'); // never throws

if (waitForAcks !== null) {
  try {
    let timer;
    const acked = await Promise.race([
      waitForAcks().then(() => true),
      new Promise((resolve) => { timer = setTimeout(resolve, ACK_TIMEOUT_MS, false); }),
    ]);
    clearTimeout(timer);
    if (!acked) {
      require('./lib/log.cjs').warn(`the ES module loader hook did not acknowledge the instrumented modules within ${ACK_TIMEOUT_MS} ms; ES modules may load uninstrumented`);
    }
  } catch (err) {
    logError('waiting for the ES module hook failed', err);
  }
}
