'use strict';
// jest setup file (`setupFilesAfterEnv: ['leastpriv/jest/setup']`), run in each test file's
// sandbox before the tests:
//
// - makes a recorder for the test file and records every AWS SDK v3 client: the `send` of the
//   `@smithy/smithy-client` base class (as the project resolves it) instruments each client on
//   its first call;
// - names each call's evidence after the test that made it (`file › describe test`);
// - leaves out calls made in `beforeAll` / `beforeEach` / `afterEach` / `afterAll` hooks
//   (unless `includeHooks`), by pausing the recorder while a hook runs;
// - writes the test file's partial result to the directory made by the global setup.

const fs = require('node:fs');
const path = require('node:path');
const { Recorder } = require('..');
const { patchClientClass, isPatched } = require('../aws-sdk');
const helpers = require('./index');

const options = helpers.resolveOptions(globalThis.leastpriv);
// Rules files come from the settings (the configuration file, `globals.leastpriv`, the
// environment): calls are mapped as they are recorded.
const { rules } = helpers.settings(globalThis.leastpriv, options.rootDir || process.cwd());
const recorder = new Recorder({
  region: options.region,
  account: options.account,
  partition: options.partition,
  rules: rules.length ? rules : undefined,
});
helpers._setCurrent(recorder);

function testPath() {
  try {
    return expect.getState().testPath || '';
  } catch {
    return '';
  }
}

// The test making the call. Tests of `test.concurrent` run interleaved, and `currentTestName` is
// the one started last; jest (29.6.2 and later) names the test of the current asynchronous context
// through `currentConcurrentTestName`, which is asked first.
function testName() {
  let state;
  try {
    state = expect.getState();
  } catch {
    return undefined;
  }
  if (typeof state.currentConcurrentTestName === 'function') {
    try {
      const name = state.currentConcurrentTestName();
      if (typeof name === 'string' && name) return name;
    } catch {
      // not inside a test's context: fall through
    }
  }
  return state.currentTestName;
}

function source() {
  const name = testName();
  const file = testPath();
  const rel = file ? path.relative(process.cwd(), file).split(path.sep).join('/') : '';
  if (rel && name) return `${rel} › ${name}`;
  return rel || name || undefined;
}

const state = { recorder, options: { source, principal: options.principal } };

// Every copy of @smithy/smithy-client the project may load: the one this package resolves, the
// one the project's root resolves, and any nested under an @aws-sdk package.
function smithyClientPaths() {
  const found = new Set();
  const tryResolve = (from) => {
    // The base class lives in @smithy/smithy-client (newer releases re-export it from
    // @smithy/core/client); patching is idempotent per class.
    for (const spec of ['@smithy/smithy-client', '@smithy/core/client']) {
      try {
        found.add(require.resolve(spec, from ? { paths: [from] } : undefined));
      } catch {
        // not installed there
      }
    }
  };
  tryResolve(undefined);
  tryResolve(process.cwd());
  const rootDir = options.rootDir || process.cwd();
  tryResolve(rootDir);
  const scope = path.join(rootDir, 'node_modules', '@aws-sdk');
  let names = [];
  try {
    names = fs.readdirSync(scope);
  } catch {
    names = [];
  }
  for (const n of names) {
    const nested = path.join(scope, n, 'node_modules', '@smithy', 'smithy-client');
    if (fs.existsSync(nested)) tryResolve(path.join(scope, n));
  }
  return [...found];
}

// The SDK client classes of the current module registry. `jest.resetModules()` and
// `jest.isolateModules()` give the test file a fresh registry, where requiring an SDK client
// loads a new, unpatched copy of the base class; and each module's `jest` object is its own, so
// the setup file cannot wrap the test file's `jest.resetModules`. Instead the classes of the
// current registry are patched again: before each test, after each hook (so a
// `jest.resetModules()` in `beforeEach` / `beforeAll` is covered), after each test, and
// whenever `rebind()` of `leastpriv/jest` is called (after a `resetModules()` inside a test, or
// inside the `isolateModules()` callback). A class found loaded but unpatched (a client made
// after a reset inside a test) may have made calls that were not recorded: warned about once.
const paths = smithyClientPaths();
const getState = () => state;
let warnedMissed = false;

function isLoaded(p) {
  try {
    const cache = require.cache;
    return !!(cache && cache[p]);
  } catch {
    return false;
  }
}

function patchRegistry(warnIfMissed) {
  // Loaded already (by the application) and not patched: its clients were not recorded.
  let missed = false;
  for (const p of paths) {
    try {
      if (isLoaded(p) && !isPatched(require(p).Client)) missed = true;
    } catch {
      // an unusable copy: skip it
    }
  }
  let patched = 0;
  for (const p of paths) {
    try {
      if (patchClientClass(require(p).Client, getState)) patched++;
    } catch {
      // an unusable copy: skip it
    }
  }
  if (missed && warnIfMissed && !warnedMissed) {
    warnedMissed = true;
    process.emitWarning(
      'leastpriv: AWS SDK clients loaded after jest.resetModules() or inside jest.isolateModules() in a test ' +
        'were not recorded until now: reset modules in a beforeEach/beforeAll hook, or call rebind() of ' +
        "'leastpriv/jest' after requiring them",
      { code: 'LEASTPRIV_RESET_MODULES' },
    );
  }
  return patched;
}
helpers._setRebind(() => patchRegistry(false));

if (patchRegistry(false) === 0) {
  process.emitWarning('leastpriv: @smithy/smithy-client not found: no AWS SDK v3 client is recorded', {
    code: 'LEASTPRIV_NO_SDK',
  });
}

// Hooks: pause while they run.
function pausedHook(fn, flushAfter) {
  if (typeof fn !== 'function') return fn;
  const finish = () => {
    recorder.resume();
    patchRegistry(false);
    if (flushAfter) flush();
  };
  if (fn.length > 0) {
    // done-callback style: keep the arity so jest passes `done`.
    return function hookWithDone(done) {
      recorder.pause();
      let settled = false;
      const once = () => {
        if (!settled) {
          settled = true;
          finish();
        }
      };
      const wrapped = (...args) => {
        once();
        return done(...args);
      };
      wrapped.fail = (...args) => {
        once();
        return done.fail(...args);
      };
      try {
        return fn.call(this, wrapped);
      } catch (err) {
        once();
        throw err;
      }
    };
  }
  return function hook() {
    recorder.pause();
    let result;
    try {
      result = fn.call(this);
    } catch (err) {
      finish();
      throw err;
    }
    if (result && typeof result.then === 'function') {
      return Promise.resolve(result).finally(finish);
    }
    finish();
    return result;
  };
}

// A hook that runs recorded: the classes of the current registry are patched after it (a
// `jest.resetModules()` in it), and `afterAll` hooks flush the partial result.
function recordedHook(fn, flushAfter) {
  if (typeof fn !== 'function') return fn;
  const after = () => {
    patchRegistry(false);
    if (flushAfter) flush();
  };
  if (fn.length > 0) {
    return function hookWithDone(done) {
      const wrapped = (...args) => {
        after();
        return done(...args);
      };
      wrapped.fail = (...args) => {
        after();
        return done.fail(...args);
      };
      return fn.call(this, wrapped);
    };
  }
  return function hook() {
    const result = fn.call(this);
    if (result && typeof result.then === 'function') return Promise.resolve(result).finally(after);
    after();
    return result;
  };
}

const excluded = helpers.excludedHooks(options.includeHooks);
const originalAfterAll = globalThis.afterAll;
const originalBeforeEach = globalThis.beforeEach;
const originalAfterEach = globalThis.afterEach;
for (const hook of helpers.HOOKS) {
  const original = globalThis[hook];
  if (typeof original !== 'function') continue;
  const isAfterAll = hook === 'afterAll';
  const wrap = excluded.has(hook) ? (fn) => pausedHook(fn, isAfterAll) : (fn) => recordedHook(fn, isAfterAll);
  const replacement = function (fn, timeout) {
    return original.call(this, wrap(fn), timeout);
  };
  Object.defineProperty(replacement, 'name', { value: hook });
  globalThis[hook] = replacement;
}

// The partial result of this test file: one file, rewritten when more calls come in.
const dir = process.env[helpers.PARTS_ENV];
const partFile = dir
  ? path.join(dir, `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}${helpers.PART_SUFFIX}`)
  : undefined;
let flushedCalls = -1;
let warnedNoDir = false;

function flush() {
  const calls = recorder.counts.calls;
  if (calls === flushedCalls) return;
  if (!partFile) {
    if (!warnedNoDir && calls > 0) {
      warnedNoDir = true;
      process.emitWarning('leastpriv: the global setup did not run (globalSetup: "leastpriv/jest/global-setup"): nothing is written', {
        code: 'LEASTPRIV_NO_SETUP',
      });
    }
    return;
  }
  helpers.writeAtomic(partFile, recorder.serialize());
  flushedCalls = calls;
}

if (typeof originalAfterAll === 'function') originalAfterAll(flush);
// Registered first: before the test file's own hooks (beforeEach) and after them (afterEach).
if (typeof originalBeforeEach === 'function') originalBeforeEach(() => patchRegistry(false));
if (typeof originalAfterEach === 'function') originalAfterEach(() => patchRegistry(true));
