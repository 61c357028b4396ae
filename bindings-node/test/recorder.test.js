'use strict';
// The Recorder API: record(), params conversion, pause, merge, serialize (shared with the CLI),
// policy() and its renderings, async read.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Recorder, Policy } = require('..');

const REPO = path.join(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'leastpriv-recorder-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const ctx = { region: 'eu-west-1', account: '123456789012' };

test('record(): service and operation in SDK v3 dialect, params as passed', () => {
  const r = new Recorder(ctx);
  assert.equal(r.record({ service: 'S3', operation: 'GetObjectCommand', params: { Bucket: 'b', Key: 'a/1.txt' } }), true);
  r.record({ service: 'DynamoDB', operation: 'Query', params: { TableName: 't', IndexName: 'i' } });
  r.record({ service: 'SQS', operation: 'SendMessage', params: { QueueUrl: 'http://127.0.0.1:5000/210987654321/q', MessageBody: 'x' } });
  assert.deepEqual(r.permissions(), [
    { action: 'dynamodb:Query', resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/t/index/i' },
    { action: 's3:GetObject', resource: 'arn:aws:s3:::b/a/1.txt' },
    { action: 'sqs:SendMessage', resource: 'arn:aws:sqs:eu-west-1:210987654321:q' },
  ]);
  assert.deepEqual(r.counts, { calls: 3, skipped: 0, malformed: 0 });
  assert.equal(r.size, 3);
});

test('record(): binary data and class instances are left out, unread', () => {
  const r = new Recorder(ctx);
  const trap = new (class Stream {
    get Bucket() {
      throw new Error('a stream was read');
    }
  })();
  r.record({ service: 's3', operation: 'PutObject', params: { Bucket: 'b', Key: 'k', Body: trap, Extra: new Uint8Array(4) } });
  assert.deepEqual(r.permissions(), [{ action: 's3:PutObject', resource: 'arn:aws:s3:::b/k' }]);
});

test('record(): paramsJson, outcome, errorCode, region/account override, principal, source', () => {
  const r = new Recorder(ctx);
  r.record({ service: 's3', operation: 'GetObject', paramsJson: '{"Bucket": "b", "Key": "k"}', errorCode: 'AccessDenied', source: 'test A' });
  r.record({ service: 'sqs', operation: 'ListQueues', region: 'us-east-1', account: '111122223333', principal: 'svc' });
  assert.deepEqual(r.permissions({ outcome: 'ok' }), [{ action: 'sqs:ListQueues', resource: '*' }]);
  const ev = r.evidence();
  assert.deepEqual(
    ev.map((e) => [e.action, e.ok, e.failed, e.first.source, e.principal]),
    [
      ['s3:GetObject', 0, 1, 'test A', null],
      ['sqs:ListQueues', 1, 0, '', 'svc'],
    ],
  );
  const p = r.policy();
  assert.ok(p.diagnostics.some((d) => d.kind === 'failed_only' && d.first.source === 'test A'));
  const grouped = r.policy({ groupBy: true });
  assert.deepEqual(grouped.policies.map((x) => x.name).sort(), ['leastpriv', 'svc']);
  // JSON keys are the principals themselves; calls without one go under "".
  assert.deepEqual(Object.keys(JSON.parse(grouped.toJson())).sort(), ['', 'svc']);
});

test('pause(), resume(), paused() with sync and async functions', async () => {
  const r = new Recorder(ctx);
  const call = { service: 's3', operation: 'ListBuckets' };
  r.pause();
  r.pause();
  assert.equal(r.record(call), false);
  r.resume();
  assert.equal(r.isPaused, true);
  r.resume();
  assert.equal(r.isPaused, false);
  r.resume(); // extra resumes are harmless
  assert.equal(r.paused(() => r.record(call)), false);
  assert.throws(() => r.paused(() => {
    throw new Error('boom');
  }), /boom/);
  assert.equal(r.isPaused, false);
  const v = await r.paused(async () => {
    await new Promise((res) => setTimeout(res, 5));
    return r.record(call);
  });
  assert.equal(v, false);
  assert.equal(r.isPaused, false);
  await assert.rejects(r.paused(async () => {
    throw new Error('async boom');
  }), /async boom/);
  assert.equal(r.isPaused, false);
  assert.equal(r.record(call), true);
  assert.equal(r.counts.calls, 1);
});

test('merge() and serialize()/deserialize(): commutative, deterministic', () => {
  const a = new Recorder(ctx);
  const b = new Recorder(ctx);
  a.record({ service: 's3', operation: 'GetObject', params: { Bucket: 'b', Key: 'x' }, source: 'z' });
  b.record({ service: 's3', operation: 'GetObject', params: { Bucket: 'b', Key: 'x' }, source: 'a' });
  b.record({ service: 'sqs', operation: 'ListQueues' });
  const ab = Recorder.deserialize(a.serialize());
  ab.merge(b);
  const ba = Recorder.deserialize(b.serialize());
  ba.merge(a);
  assert.deepEqual(ab.serialize(), ba.serialize());
  assert.equal(ab.counts.calls, 3);
  assert.equal(ab.evidence().find((e) => e.action === 's3:GetObject').first.source, 'a');
  assert.ok(Buffer.isBuffer(a.serialize()));
  assert.equal(Recorder.deserialize(a.serialize().toString('utf8')).counts.calls, 1);
});

test('policy(): toJson, documents, toTerraform(name), report', () => {
  const r = new Recorder(ctx);
  for (const key of ['reports/2024/a.csv', 'reports/2024/b.csv']) {
    r.record({ service: 'S3', operation: 'GetObject', params: { Bucket: 'acme', Key: key } });
  }
  const p = r.policy();
  assert.ok(p instanceof Policy);
  const doc = JSON.parse(p.toJson());
  assert.deepEqual(p.documents, [doc]);
  assert.deepEqual(doc.Statement[0].Resource, ['arn:aws:s3:::acme/reports/2024/*']);
  assert.deepEqual(r.policy({ s3Objects: 'exact' }).documents[0].Statement[0].Resource, [
    'arn:aws:s3:::acme/reports/2024/a.csv',
    'arn:aws:s3:::acme/reports/2024/b.csv',
  ]);
  const tf = p.toTerraform('orders_service');
  assert.match(tf, /data "aws_iam_policy_document" "orders_service" \{/);
  assert.match(new Recorder().policy().toTerraform(), /"leastpriv"/);
  assert.match(p.report(), /1 call\(s\) read|2 call\(s\) read/);
  const gaps = new Recorder();
  gaps.record({ service: 'sqs', operation: 'SendMessage', params: { QueueUrl: 'orders' } });
  const tf2 = gaps.policy().toTerraform(undefined, { providerMajor: 5 });
  assert.match(tf2, /data\.aws_region\.current\.name/);
  assert.match(tf2, /data "aws_caller_identity" "current"/);
  assert.doesNotMatch(gaps.policy().toTerraform(undefined, { dataSources: false }), /data "aws_region"/);
});

test('read() is asynchronous and merges only on success; readSync() reads the sample events', async () => {
  const sample = path.join(REPO, 'spec', 'examples', 'orders.edn');
  const a = new Recorder(ctx);
  const pending = a.read(sample);
  assert.ok(pending instanceof Promise);
  assert.equal(await pending, undefined);
  const b = new Recorder(ctx);
  b.readSync(sample);
  assert.ok(a.counts.calls > 0);
  assert.deepEqual(a.serialize(), b.serialize());
  assert.deepEqual(a.permissions(), b.permissions());
});

function cli() {
  const target = process.env.CARGO_TARGET_DIR || path.join(REPO, 'target');
  const bin = process.env.LEASTPRIV_CLI || path.join(target, 'debug', 'leastpriv');
  assert.ok(fs.existsSync(bin), `the CLI is not built at ${bin} (cargo build -p leastpriv --features cli, or set LEASTPRIV_CLI)`);
  return bin;
}

test('the serialized form is the CLI\'s: both ways, same policy', () => {
  const bin = cli();
  const r = new Recorder(ctx);
  r.record({ service: 'S3', operation: 'ListObjectsV2', params: { Bucket: 'acme' } });
  r.record({ service: 'DynamoDB', operation: 'GetItem', params: { TableName: 'orders' } });
  const state = path.join(tmp, 'node-state.json');
  fs.writeFileSync(state, r.serialize());
  const policy = spawnSync(bin, ['policy', state, '--region', ctx.region, '--account', ctx.account, '--quiet'], { encoding: 'utf8' });
  assert.equal(policy.status, 0, policy.stderr);
  assert.deepEqual(JSON.parse(policy.stdout), JSON.parse(r.policy().toJson()));
  const perms = spawnSync(bin, ['permissions', state, '--region', ctx.region, '--account', ctx.account], { encoding: 'utf8' });
  assert.equal(perms.status, 0, perms.stderr);
  assert.deepEqual(perms.stdout.trim().split('\n').map((l) => JSON.parse(l)), r.permissions());
  // And back: a state merged by the CLI reads into the binding.
  const merged = path.join(tmp, 'cli-state.json');
  const sample = path.join(REPO, 'spec', 'examples', 'orders.edn');
  const m = spawnSync(bin, ['merge', sample, state, '-o', merged], { encoding: 'utf8' });
  assert.equal(m.status, 0, m.stderr);
  const back = Recorder.deserialize(fs.readFileSync(merged), ctx);
  const expected = new Recorder(ctx);
  expected.readSync(sample);
  expected.merge(r);
  assert.deepEqual(back.permissions(), expected.permissions());
  const viaRead = new Recorder(ctx);
  viaRead.readSync(merged, { format: 'observed' });
  assert.deepEqual(viaRead.permissions(), expected.permissions());
});

test('record({params}) converts only what the rules read: a large legal batch loses no table', () => {
  const r = new Recorder({ region: 'eu-west-1', account: '123456789012' });
  // 25 items of 400-element lists in the first table, then a second table: far more values
  // than anything the rules read, which is only the table names.
  const items = Array.from({ length: 25 }, (_, i) => ({
    PutRequest: { Item: { id: { S: `${i}` }, tags: { L: Array.from({ length: 400 }, (_, j) => ({ S: `t${j}` })) } } },
  }));
  r.record({
    service: 'DynamoDB',
    operation: 'BatchWriteItem',
    params: { RequestItems: { orders: items, audit: [{ PutRequest: { Item: { id: { S: 'a' } } } }] } },
  });
  assert.deepEqual(
    r.permissions().map((p) => `${p.action} ${p.resource}`),
    [
      'dynamodb:BatchWriteItem arn:aws:dynamodb:eu-west-1:123456789012:table/audit',
      'dynamodb:BatchWriteItem arn:aws:dynamodb:eu-west-1:123456789012:table/orders',
    ],
  );
});

test('record({params}) never reads a member the rules do not read', () => {
  const r = new Recorder({ region: 'eu-west-1' });
  const params = { Bucket: 'b', Key: 'k' };
  Object.defineProperty(params, 'Body', {
    enumerable: true,
    get() {
      throw new Error('the payload was read');
    },
  });
  assert.equal(r.record({ service: 's3', operation: 'PutObject', params }), true);
  assert.deepEqual(r.permissions().map((p) => p.resource), ['arn:aws:s3:::b/k']);
});

test('record({params}): too many values to convert is a usage error, never a truncation', () => {
  const r = new Recorder({ region: 'eu-west-1' });
  // An operation without a curated rule reads its parameters whole.
  const wide = {};
  wide.a = wide;
  wide.b = wide;
  assert.throws(() => r.record({ service: 's3', operation: 'NoSuchOperation', params: wide }), (e) => e.code === 'usage' && e.field === 'params');
  assert.equal(r.counts.calls, 0);
});

test('resolveSettings: the configuration file under globals, the environment and the command line', (t) => {
  const { resolveSettings } = require('..');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leastpriv-settings-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, '.git'));
  fs.mkdirSync(path.join(dir, 'pkg', 'src'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'pkg', 'package.json'),
    JSON.stringify({
      name: 'x',
      leastpriv: {
        out: 'iam/policy.tf',
        name: 'from_file',
        rewrite: [{ match: 'orders-*', name: 'orders-<env>' }],
        env: { prod: { account: '210987654321' } },
      },
    }),
  );
  const s = resolveSettings(path.join(dir, 'pkg', 'src'), { env: 'prod', name: 'from_runner' });
  assert.equal(s.config, path.join(fs.realpathSync(dir), 'pkg', 'package.json'));
  assert.equal(s.out, path.join(fs.realpathSync(dir), 'pkg', 'iam', 'policy.tf'));
  assert.equal(s.out_format, 'terraform');
  assert.equal(s.policy.name, 'from_runner');
  assert.equal(s.policy.account, '210987654321');
  assert.equal(s.policy.env, 'prod');
  assert.equal(resolveSettings(path.join(dir, 'pkg'), {}, { name: 'from_cli' }).policy.name, 'from_cli');
  process.env.LEASTPRIV_NAME = 'from_env';
  t.after(() => delete process.env.LEASTPRIV_NAME);
  assert.equal(resolveSettings(path.join(dir, 'pkg'), { name: 'from_runner' }).policy.name, 'from_env');
  // Two configurations in one directory: an error naming both.
  fs.writeFileSync(path.join(dir, 'pkg', 'leastpriv.toml'), 'region = "eu-west-1"\n');
  assert.throws(
    () => resolveSettings(path.join(dir, 'pkg')),
    (e) => e.code === 'usage' && /leastpriv\.toml/.test(e.message) && /package\.json/.test(e.message),
  );
  // An environment the file does not define.
  fs.rmSync(path.join(dir, 'pkg', 'leastpriv.toml'));
  assert.throws(() => resolveSettings(path.join(dir, 'pkg'), { env: 'staging' }), (e) => e.code === 'usage' && e.field === 'env');
});

test('check(): findings of a declared policy, errors with code invalid_policy', (t) => {
  const r = new Recorder(ctx);
  r.record({ service: 's3', operation: 'GetObject', params: { Bucket: 'b', Key: 'k' } });
  r.record({ service: 'sqs', operation: 'SendMessage', params: { QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q', MessageBody: 'x' } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leastpriv-check-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'policy.json');
  fs.writeFileSync(
    file,
    JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Read', Effect: 'Allow', Action: 's3:Get*', Resource: 'arn:aws:s3:::b/*' }] }, null, 2),
  );
  const got = r.check(file);
  assert.equal(got.format, 'leastpriv-check');
  assert.deepEqual(got.counts, { missing: 1, unused: 0, broad: 2, undecidable: 0 });
  const missing = got.findings.find((f) => f.kind === 'missing');
  assert.equal(missing.action, 'sqs:SendMessage');
  const broad = got.findings.find((f) => f.kind === 'broad' && f.action);
  assert.deepEqual(broad.statement, { path: file, line: 4, sid: 'Read' });
  assert.deepEqual(broad.suggestion, { Action: ['s3:GetObject'] });
  fs.writeFileSync(file, '{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "bucket"}]}');
  assert.throws(() => r.check(file), (e) => e.code === 'invalid_policy' && e.field === 'Resource' && e.path === file);
  assert.throws(() => r.check(42), (e) => e.code === 'usage' && e.field === 'policy');
});

test('check(): a condition on s3:prefix is judged with each call\'s prefix', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leastpriv-check-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'policy.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::reports', Condition: { StringLike: { 's3:prefix': 'home/*' } } }],
    }),
  );
  const r = new Recorder(ctx);
  r.record({ service: 's3', operation: 'ListObjectsV2', params: { Bucket: 'reports', Prefix: 'home/alice/' } });
  assert.deepEqual(r.check(file).counts, { missing: 0, unused: 0, broad: 0, undecidable: 0 });
  r.record({ service: 's3', operation: 'ListObjectsV2', params: { Bucket: 'reports' } });
  const got = Recorder.deserialize(r.serialize()).check(file);
  assert.equal(got.counts.missing, 1);
  assert.match(got.findings.find((f) => f.kind === 'missing').message, /s3:prefix absent/);
});
