'use strict';
// The jest helpers with fresh module registries (`jest.resetModules()`, `jest.isolateModules()`)
// and with a client the test instruments with its own recorder: jest on test/jest-modules, two
// workers, canned HTTP responses.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const DIR = path.join(__dirname, 'jest-modules');
const JEST = require.resolve('jest/bin/jest');

test('jest: clients of fresh module registries are recorded; an own recorder keeps its calls', (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'leastpriv-jest-modules-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const out = path.join(tmp, 'policy.json');
  const report = path.join(tmp, 'report.json');
  const run = spawnSync(
    process.execPath,
    [JEST, '--config', path.join(DIR, 'jest.config.js'), '--maxWorkers=2', '--ci', '--cacheDirectory', path.join(tmp, 'cache')],
    {
      cwd: DIR,
      encoding: 'utf8',
      timeout: 240000,
      env: { ...process.env, LEASTPRIV_OUT: out, LEASTPRIV_REPORT: report, AWS_EC2_METADATA_DISABLED: 'true' },
    },
  );
  const log = `--- jest stdout\n${run.stdout}\n--- jest stderr\n${run.stderr}`;
  assert.equal(run.status, 0, `jest failed\n${log}`);
  assert.match(run.stderr, /Tests:\s+10 passed, 10 total/, log);
  const { permissions } = JSON.parse(fs.readFileSync(report, 'utf8'));
  const listed = permissions
    .filter((p) => p.action === 's3:ListBucket')
    .map((p) => p.resource)
    .sort();
  assert.deepEqual(
    listed,
    ['concurrent-first', 'concurrent-second', 'isolated', 'own-recorder', 'reset-in-body', 'reset-in-hook-1', 'reset-in-hook-2', 'unbound-2'].map((b) => `arn:aws:s3:::${b}`),
    log,
  );
  assert.match(run.stderr, /LEASTPRIV_RESET_MODULES|were not recorded until now/, `a missed registry is warned about\n${log}`);
  const own = permissions.find((p) => p.resource === 'arn:aws:s3:::own-recorder');
  assert.equal(own.ok, 2, 'the setup recorder got both calls of the own-recorder client');
  assert.equal(own.first.source, 'tests/own.test.js › own recorder under the jest setup');
  for (const which of ['first', 'second']) {
    const p = permissions.find((q) => q.resource === `arn:aws:s3:::concurrent-${which}`);
    assert.equal(p.first.source, `tests/concurrent.test.js › concurrent ${which}`, 'a concurrent test names its own calls');
  }
});
