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
const { patchClientClass } = require('../aws-sdk');
const helpers = require('./index');

const options = helpers.resolveOptions(globalThis.leastpriv);
const recorder = new Recorder({
  region: options.region,
  account: options.account,
  partition: options.partition,
  rules: options.rules,
});
helpers._setCurrent(recorder);

function testPath() {
  try {
    return expect.getState().testPath || '';
  } catch {
    return '';
  }
}

function source() {
  let name;
  try {
    name = expect.getState().currentTestName;
  } catch {
    name = undefined;
  }
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

let patched = 0;
for (const p of smithyClientPaths()) {
  try {
    if (patchClientClass(require(p).Client, () => state)) patched++;
  } catch {
    // an unusable copy: skip it
  }
}
if (patched === 0) {
  process.emitWarning('leastpriv: @smithy/smithy-client not found: no AWS SDK v3 client is recorded', {
    code: 'LEASTPRIV_NO_SDK',
  });
}

// Hooks: pause while they run.
function pausedHook(fn, flushAfter) {
  if (typeof fn !== 'function') return fn;
  const finish = () => {
    recorder.resume();
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

function flushingHook(fn) {
  if (typeof fn !== 'function') return fn;
  if (fn.length > 0) {
    return function hookWithDone(done) {
      const wrapped = (...args) => {
        flush();
        return done(...args);
      };
      wrapped.fail = (...args) => {
        flush();
        return done.fail(...args);
      };
      return fn.call(this, wrapped);
    };
  }
  return function hook() {
    const result = fn.call(this);
    if (result && typeof result.then === 'function') return Promise.resolve(result).finally(flush);
    flush();
    return result;
  };
}

const excluded = helpers.excludedHooks(options.includeHooks);
const originalAfterAll = globalThis.afterAll;
for (const hook of helpers.HOOKS) {
  const original = globalThis[hook];
  if (typeof original !== 'function') continue;
  const isAfterAll = hook === 'afterAll';
  const wrap = excluded.has(hook) ? (fn) => pausedHook(fn, isAfterAll) : isAfterAll ? flushingHook : null;
  if (!wrap) continue;
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
