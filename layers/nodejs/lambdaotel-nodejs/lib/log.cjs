'use strict';
// The layer's own log lines: "lambdaotel-nodejs: LEVEL message" on stderr,
// which Lambda puts in the function's log. Each distinct message is written
// once per environment: a setup failure or an unreachable extension is said
// once, not at every invocation.

const PREFIX = 'lambdaotel-nodejs: ';
const seen = new Set();

/**
 * write writes one line, at most once per distinct key (by default the
 * level and message); a key of false writes it every time.
 */
function write(level, message, key = level + message) {
  if (key !== false) {
    if (seen.has(key)) {
      return false;
    }
    seen.add(key);
  }
  try {
    process.stderr.write(`${PREFIX}${level} ${String(message).replace(/\n/g, ' ')}\n`);
  } catch {
    // Nothing to do: the layer never breaks the function over a log line.
  }
  return true;
}

/** describe returns an error's message with its code, without the stack. */
function describe(err) {
  if (err instanceof Error) {
    const code = err.code ? ` (${err.code})` : '';
    return `${err.name}: ${err.message}${code}`;
  }
  return String(err);
}

module.exports = {
  PREFIX,
  error: (msg, key) => write('ERROR', msg, key),
  warn: (msg, key) => write('WARN', msg, key),
  info: (msg, key) => write('INFO', msg, key),
  debug: (msg, key) => write('DEBUG', msg, key),
  describe,
  /** reset forgets what was written (tests). */
  reset: () => seen.clear(),
};
