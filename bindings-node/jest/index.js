'use strict';
// jest helpers: every AWS SDK v3 client created in any jest worker is recorded; each test file
// writes its partial result (the serialized recorder) to a temporary directory; the global
// teardown merges them and writes the policy, atomically.
//
//   globalSetup:        'leastpriv/jest/global-setup'
//   globalTeardown:     'leastpriv/jest/global-teardown'
//   setupFilesAfterEnv: ['leastpriv/jest/setup']
//   globals:            { leastpriv: { out: 'iam/policy.json', region: 'eu-west-1', ... } }
//
// Settings are resolved by the core as the CLI resolves them, highest first: the `LEASTPRIV_*`
// environment variables, `globals.leastpriv` (the test runner's settings), the project's
// configuration file (`leastpriv.toml`, or a `"leastpriv"` key in `package.json`, found from the
// working directory up to the repository root).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** The environment variable naming the directory of partial results (set by globalSetup). */
const PARTS_ENV = 'LEASTPRIV_JEST_PARTS';
const PART_SUFFIX = '.observed.json';
const HOOKS = ['beforeAll', 'beforeEach', 'afterEach', 'afterAll'];

/** The options: `globals.leastpriv` of the jest config, then environment variables. */
function resolveOptions(fromConfig) {
  const o = { ...(fromConfig && typeof fromConfig === 'object' ? fromConfig : {}) };
  const env = process.env;
  if (env.LEASTPRIV_OUT) o.out = env.LEASTPRIV_OUT;
  if (env.LEASTPRIV_FORMAT) o.format = env.LEASTPRIV_FORMAT;
  if (env.LEASTPRIV_REPORT) o.report = env.LEASTPRIV_REPORT;
  if (env.LEASTPRIV_STATE) o.state = env.LEASTPRIV_STATE;
  if (env.LEASTPRIV_REGION) o.region = env.LEASTPRIV_REGION;
  if (env.LEASTPRIV_ACCOUNT) o.account = env.LEASTPRIV_ACCOUNT;
  if (env.LEASTPRIV_INCLUDE_HOOKS) {
    const v = env.LEASTPRIV_INCLUDE_HOOKS;
    o.includeHooks = v === '1' || v === 'true' ? true : v === '0' || v === 'false' ? false : v.split(',');
  }
  return o;
}

/** Keys of `globals.leastpriv` that are the jest helpers' own (not settings of the core). */
const JEST_ONLY = ['report', 'state', 'includeHooks', 'quiet', 'principal', 'rootDir'];

/**
 * The run's settings (the core's `resolveSettings`): `globals.leastpriv` as the runner's layer
 * (its `format` is the output format; relative paths are relative to `rootDir`), over the
 * configuration file found from the working directory, under the environment variables.
 */
function settings(fromConfig, rootDir) {
  const { resolveSettings } = require('..');
  const runner = {};
  for (const [k, v] of Object.entries(fromConfig && typeof fromConfig === 'object' ? fromConfig : {})) {
    if (JEST_ONLY.includes(k) || v === undefined) continue;
    runner[k === 'format' ? 'out_format' : k] = v;
  }
  if (typeof runner.out === 'string') runner.out = path.resolve(rootDir, runner.out);
  if (typeof runner.config === 'string' && runner.config !== 'none') runner.config = path.resolve(rootDir, runner.config);
  // `check: 'iam/policy.json'` (or a list, or the configuration's `{ policy, fail_on }` table).
  if (runner.check !== undefined && runner.check !== null) {
    const c = typeof runner.check === 'string' || Array.isArray(runner.check) ? { policy: runner.check } : { ...runner.check };
    const abs = (p) => path.resolve(rootDir, p);
    if (typeof c.policy === 'string') c.policy = [abs(c.policy)];
    else if (Array.isArray(c.policy)) c.policy = c.policy.map(abs);
    if (c.failOn !== undefined) {
      c.fail_on = c.failOn;
      delete c.failOn;
    }
    runner.check = c;
  }
  return resolveSettings(process.cwd(), runner);
}

/** Which hooks are left out: by default all four (setup and cleanup belong to Terraform). */
function excludedHooks(includeHooks) {
  if (includeHooks === true) return new Set();
  const included = new Set(Array.isArray(includeHooks) ? includeHooks : []);
  return new Set(HOOKS.filter((h) => !included.has(h)));
}

/**
 * Writes `data` to `file` as the CLI writes its outputs (the core's `writeFile`): a regular file
 * through an exclusively created temporary file beside it and a rename, a symbolic link through
 * to its target, a device or FIFO directly, never replacing it.
 */
function writeAtomic(file, data) {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const { writeFile } = require('..');
  writeFile(path.resolve(file), Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8'));
}

/** jest `globalSetup`: makes the directory the workers write their partial results to. */
async function globalSetup(globalConfig, projectConfig) {
  const existing = process.env[PARTS_ENV];
  if (existing && fs.existsSync(existing)) return; // several projects: one directory
  process.env[PARTS_ENV] = fs.mkdtempSync(path.join(os.tmpdir(), 'leastpriv-jest-'));
}

/**
 * jest `globalTeardown`: merges the partial results and writes the policy to `out`
 * (`LEASTPRIV_OUT`, else `globals.leastpriv.out`, else `leastpriv-policy.json` in the root
 * directory), as Terraform when `format` is `terraform` or `out` ends in `.tf`.
 */
async function globalTeardown(globalConfig, projectConfig) {
  const dir = process.env[PARTS_ENV];
  if (!dir || !fs.existsSync(dir)) return; // already done (several projects)
  const { Recorder } = require('..');
  const fromConfig = projectConfig && projectConfig.globals && projectConfig.globals.leastpriv;
  const o = resolveOptions(fromConfig);
  const rootDir = (projectConfig && projectConfig.rootDir) || process.cwd();
  const s = settings(fromConfig, rootDir);
  const out = path.resolve(rootDir, s.out || 'leastpriv-policy.json');
  const format = s.out_format || (/\.tf$/i.test(out) ? 'terraform' : 'json');
  const all = new Recorder({ rules: s.rules.length ? s.rules : undefined });
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(PART_SUFFIX))
    .sort();
  const pids = new Set();
  for (const f of files) {
    all.merge(Recorder.deserialize(fs.readFileSync(path.join(dir, f))));
    pids.add(f.split('-')[0]);
  }
  const policy = all.policy(s.policy);
  const text = format === 'terraform' ? policy.toTerraform(null, { provider: s.terraform_provider || 6 }) : policy.toJson();
  writeAtomic(out, text);
  if (format === 'terraform' && s.emit.includes('variables')) {
    const { renderVariables } = require('..');
    writeAtomic(path.join(path.dirname(out), 'variables.tf'), renderVariables(s.policy));
  }
  if (o.state) writeAtomic(path.resolve(rootDir, o.state), all.serialize());
  if (o.report) {
    const report = {
      counts: all.counts,
      permissions: all.evidence(s.policy),
      diagnostics: policy.diagnostics,
    };
    writeAtomic(path.resolve(rootDir, o.report), `${JSON.stringify(report, null, 2)}\n`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  delete process.env[PARTS_ENV];
  const checkFailure = runCheck(all, s, o);
  if (o.quiet !== true) {
    const { calls } = all.counts;
    process.stderr.write(
      `leastpriv: ${calls} AWS call(s) recorded in ${files.length} test file(s) by ${pids.size} process(es); ` +
        `${all.size} permission(s) → ${path.relative(process.cwd(), out) || out}\n`,
    );
    for (const d of policy.diagnostics) {
      if (d.kind === 'gap') continue;
      process.stderr.write(`leastpriv: ${d.kind} ${d.service}:${d.operation}: ${d.message}\n`);
    }
  }
  if (checkFailure) throw checkFailure;
}

/**
 * `check`: the declared policy against the merged calls. Prints the findings; returns an Error
 * (thrown by the teardown, which fails the jest run) when a permission is missing or a
 * `fail_on` kind occurred.
 */
function runCheck(all, s, o) {
  const c = s.check || {};
  const paths = c.policy || []; // a list: resolveSettings normalises the check table
  if (paths.length === 0) return undefined;
  const result = all.check(paths, { ...s.policy, vars: c.vars || undefined });
  const lines = result.findings.map((f) => {
    const st = f.statement;
    const where = st ? `${st.path}${st.line ? `:${st.line}` : ''}: ` : '';
    return `leastpriv check: ${f.kind}: ${where}${f.message}`;
  });
  const n = result.counts;
  lines.push(
    `leastpriv check: ${result.permissions} permission(s) needed; ${n.missing} missing, ${n.unused} unused, ${n.broad} broad, ${n.undecidable} undecidable`,
  );
  if (o.quiet !== true || n.missing > 0) process.stderr.write(`${lines.join('\n')}\n`);
  const failOn = new Set(['missing', ...(Array.isArray(c.fail_on) ? c.fail_on : [])]);
  const failing = [...failOn].filter((k) => n[k] > 0);
  if (failing.length === 0) return undefined;
  const err = new Error(`leastpriv check failed: ${failing.map((k) => `${n[k]} ${k}`).join(', ')} (see above)`);
  err.code = 'check_failed';
  err.findings = result.findings;
  return err;
}

// The recorder of the current test file (set by the setup file), kept on the sandbox's global
// object so that a copy of this module loaded after `jest.resetModules()` (or inside
// `jest.isolateModules()`) sees it too.
const CURRENT = Symbol.for('leastpriv.jest.current');
const REBIND = Symbol.for('leastpriv.jest.rebind');

/** The recorder of the current test file, or `undefined` outside jest with the setup file. */
function recorder() {
  return globalThis[CURRENT];
}

/** Runs `fn` with recording paused (for setup code inside a test); returns its result. */
function paused(fn) {
  const current = recorder();
  return current ? current.paused(fn) : fn();
}

/**
 * Records the AWS SDK v3 clients of the current module registry: call it after a
 * `jest.resetModules()` inside a test, or inside a `jest.isolateModules()` callback, once the
 * code that makes the clients is required (a reset in a `beforeEach` / `beforeAll` hook needs
 * nothing). Returns how many client base classes are recorded (0 outside the setup file).
 */
function rebind() {
  const fn = globalThis[REBIND];
  return typeof fn === 'function' ? fn() : 0;
}

function hidden(key, value) {
  Object.defineProperty(globalThis, key, { value, configurable: true, enumerable: false, writable: true });
}

function setCurrent(r) {
  hidden(CURRENT, r);
}

function setRebind(fn) {
  hidden(REBIND, fn);
}

module.exports = {
  globalSetup,
  globalTeardown,
  recorder,
  paused,
  rebind,
  resolveOptions,
  settings,
  excludedHooks,
  writeAtomic,
  PARTS_ENV,
  PART_SUFFIX,
  HOOKS,
  _setCurrent: setCurrent,
  _setRebind: setRebind,
};
