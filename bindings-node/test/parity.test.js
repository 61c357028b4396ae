'use strict';
// Parity with the CLI: the same calls and options through the Node API give, byte for byte, what
// the `leastpriv` command line writes (the policy, the Terraform, the permission lines, the
// serialized state). The Python package has the same test (bindings-python/tests/test_parity.py).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { Recorder } = require('..');

const CALLS = path.join(__dirname, '..', '..', 'spec', 'examples', 'parity.jsonl');

function cli(...args) {
  const bin = process.env.LEASTPRIV_CLI || path.join(__dirname, '..', '..', 'target', 'debug', 'leastpriv');
  assert.ok(fs.existsSync(bin), `the CLI is not built at ${bin} (scripts/test-node.sh builds it)`);
  return execFileSync(bin, args);
}

// Each option set: the options object, the command line's flags for the permissions (the
// target), and its flags for the policy only.
const OPTION_SETS = [
  [{ region: 'eu-west-1', account: '123456789012' }, ['--region', 'eu-west-1', '--account', '123456789012'], []],
  [
    {
      region: 'eu-west-1',
      account: '210987654321',
      mapAccount: { '123456789012': '210987654321' },
      mapRegion: ['us-east-1=eu-west-1'],
      outcome: 'ok',
      exclude: ['sts:*'],
      s3Objects: 'exact',
      groupBy: true,
    },
    ['--region', 'eu-west-1', '--account', '210987654321', '--map-account', '123456789012=210987654321',
      '--map-region', 'us-east-1=eu-west-1', '--outcome', 'ok', '--exclude', 'sts:*'],
    ['--s3-objects', 'exact', '--group-by', 'principal'],
  ],
];

/** The calls of the file, each given to `record()` as a program would. */
function recorded() {
  const rec = new Recorder();
  for (const line of fs.readFileSync(CALLS, 'utf8').split('\n').filter(Boolean)) {
    const c = JSON.parse(line);
    rec.record({ ...c, errorCode: c.error_code, error_code: undefined });
  }
  return rec;
}

function read() {
  const rec = new Recorder();
  rec.readSync(CALLS);
  return rec;
}

for (const [feedName, feed] of [['record', recorded], ['read', read]]) {
  OPTION_SETS.forEach(([options, target, policyOnly], i) => {
    test(`${feedName}, option set ${i + 1}: policy, Terraform and permissions equal the CLI's`, () => {
      const rec = feed();
      const policy = rec.policy(options);
      const flags = [...target, ...policyOnly];
      assert.equal(policy.toJson(), cli('policy', '-q', CALLS, ...flags).toString('utf8'));
      assert.equal(policy.toTerraform(), cli('policy', '-q', '--format', 'terraform', CALLS, ...flags).toString('utf8'));
      const lines = rec.permissions(options).map((l) => `${JSON.stringify(l)}\n`).join('');
      assert.equal(lines, cli('permissions', CALLS, ...target).toString('utf8'));
    });
  });
}

test('the serialized state equals the CLI\'s', () => {
  const state = cli('merge', CALLS);
  assert.deepEqual(read().serialize(), state);
  // Recorded calls carry their `source` labels and no line, as the file's do.
  assert.deepEqual(recorded().serialize(), state);
});
