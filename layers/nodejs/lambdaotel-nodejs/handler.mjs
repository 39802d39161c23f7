// handler.mjs is the handler the runtime loads in place of the function's:
// otel-handler points _HANDLER (and the runtime's handler argument) at
// <layer>/lambdaotel-nodejs/handler.handler and keeps the function's own in
// LAMBDAOTEL_HANDLER. This module loads the function's module the way the
// runtime would (CommonJS or ES module, in any subdirectory, bundled or
// not), finds the handler in it, and exports it wrapped in the invocation
// span. The function's module is never changed: its exports stay as they
// are (an esbuild bundle's read-only getters among them).
//
// What the function's module throws while it loads is thrown as it is, so
// the runtime reports the function's own error. If the instrumentation
// fails, the function's handler is exported as it is and one WARN line
// says what failed.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

const handlerString = process.env.LAMBDAOTEL_HANDLER || '';
const taskRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();

/** RuntimeError is an error the runtime would raise, by its name. */
class RuntimeError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

if (handlerString === '') {
  throw new RuntimeError('Runtime.HandlerNotFound', 'LAMBDAOTEL_HANDLER is not set: otel-handler sets it to the function\'s handler (AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-handler)');
}
if (handlerString.includes('..')) {
  throw new RuntimeError('Runtime.MalformedHandlerName', `'${handlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`);
}

// "src/handlers/app.handler": module root src/handlers, module app, handler name handler.
const base = path.basename(handlerString);
const dot = base.indexOf('.');
if (dot < 0) {
  throw new RuntimeError('Runtime.MalformedHandlerName', 'Bad handler');
}
const moduleRoot = handlerString.slice(0, handlerString.length - base.length);
const moduleName = base.slice(0, dot);
const handlerName = base.slice(dot + 1);

/** runtimeLine is the runtime's major version: nodejs24.x on loads every handler with import(). */
function runtimeLine() {
  const m = /^AWS_Lambda_nodejs(\d+)/.exec(process.env.AWS_EXECUTION_ENV || '');
  return m ? Number(m[1]) : Number(process.versions.node.split('.')[0]);
}

/** typeModule reports whether the package.json nearest to file says "type": "module". */
function typeModule(file) {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (path.basename(dir) === 'node_modules') return false;
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        return JSON.parse(readFileSync(pj, 'utf8')).type === 'module';
      } catch {
        return false;
      }
    }
    if (dir === path.dirname(dir)) return false;
  }
}

const importFile = async (file) => import(pathToFileURL(file).href);

/** loadModule loads the function's module as the runtime does. */
async function loadModule() {
  const file = path.resolve(taskRoot, moduleRoot, moduleName);
  if (runtimeLine() >= 24) {
    // aws-lambda-ric 4: import() of the first of these that exists.
    for (const ext of ['', '.js', '.mjs', '.cjs']) {
      if (existsSync(file + ext)) return importFile(file + ext);
    }
  } else {
    // aws-lambda-ric 3: require() unless the file is an ES module.
    if (existsSync(file)) return require(file);
    if (existsSync(`${file}.js`)) {
      return typeModule(`${file}.js`) ? importFile(`${file}.js`) : require(`${file}.js`);
    }
    if (existsSync(`${file}.mjs`)) return importFile(`${file}.mjs`);
    if (existsSync(`${file}.cjs`)) return require(`${file}.cjs`);
  }
  const resolved = require.resolve(moduleName, { paths: [taskRoot, path.join(taskRoot, moduleRoot)] });
  return require(resolved);
}

function findIn(obj) {
  return handlerName.split('.').reduce((nested, key) => (nested && (typeof nested === 'object' || typeof nested === 'function') ? nested[key] : undefined), obj);
}

const userModule = await loadModule(); // the function's own errors go to the runtime as they are
let userHandler = findIn(userModule);
if (userHandler === undefined && userModule !== null && typeof userModule === 'object' && 'default' in userModule) {
  userHandler = findIn(userModule.default);
}
if (userHandler === undefined || userHandler === null) {
  throw new RuntimeError('Runtime.HandlerNotFound', `${handlerString} is undefined or not exported`);
}
if (typeof userHandler !== 'function') {
  throw new RuntimeError('Runtime.HandlerNotFound', `${handlerString} is not a function`);
}

let wrapped = userHandler;
try {
  const init = require('./init.cjs');
  wrapped = init.wrapHandler(userHandler);
  // The end of init waits for the exporter's warm-up (bounded), which ran
  // while the function's module loaded: the first invocation's flush then
  // finds its connection open and its code run once.
  if (wrapped !== userHandler && typeof init.ready === 'function') await init.ready();
} catch (err) {
  try {
    require('./lib/log.cjs').warn(`the handler could not be instrumented, the function runs without OpenTelemetry: ${err && err.stack ? err.stack : err}`);
  } catch {
    // Stay silent rather than break the function.
  }
}

export const handler = wrapped;
