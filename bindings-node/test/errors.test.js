'use strict';
// Every error kind the binding can raise: a JavaScript Error whose `code` is the core's
// ErrorKind name, with `path` / `line` / `column` / `field` where known; and no panic or crash
// on hostile input.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Recorder } = require('..');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'leastpriv-errors-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function file(name, content) {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, content);
  return p;
}

function expectError(fn, want) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected an error with code ${want.code}`);
  assert.ok(err instanceof Error, 'an Error');
  for (const [k, v] of Object.entries(want)) assert.equal(err[k], v, `${k} (${err.message})`);
  return err;
}

async function expectRejection(promise, want) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected a rejection with code ${want.code}`);
  assert.ok(err instanceof Error, 'an Error');
  for (const [k, v] of Object.entries(want)) assert.equal(err[k], v, `${k} (${err.message})`);
  return err;
}

test('not_found: a missing file, sync and async, with its path', async () => {
  const missing = path.join(tmp, 'missing.edn');
  const err = expectError(() => new Recorder().readSync(missing), { code: 'not_found', path: missing });
  assert.match(err.message, /missing\.edn/);
  await expectRejection(new Recorder().read(missing), { code: 'not_found', path: missing });
});

test('io: a directory is not a file', async () => {
  expectError(() => new Recorder().readSync(tmp), { code: 'io', path: tmp });
  await expectRejection(new Recorder().read(tmp), { code: 'io', path: tmp });
});

test('encoding: bytes that are not UTF-8, with the line', () => {
  const p = file('latin1.jsonl', Buffer.from('{"service": "s3", "operation": "ListBuckets"}\n{"service": "s\xe9"}\n', 'latin1'));
  expectError(() => new Recorder().readSync(p, { format: 'jsonl' }), { code: 'encoding', path: p, line: 2 });
});

test('syntax: malformed EDN with path, line and column; sync, async and in memory', async () => {
  const text = '{:mulog/event-name :aws/request, :api :s3, :operation :ListBuckets, :request {}}\n{:mulog/event-name :aws/request, :api :s3 :request {]}\n';
  const p = file('bad.edn', text);
  const err = expectError(() => new Recorder().readSync(p), { code: 'syntax', path: p, line: 2 });
  assert.equal(typeof err.column, 'number');
  assert.match(err.message, /bad\.edn:2:/);
  await expectRejection(new Recorder().read(p), { code: 'syntax', path: p, line: 2, column: err.column });
  expectError(() => new Recorder().readBuffer(text, { label: 'events.edn' }), { code: 'syntax', path: 'events.edn', line: 2 });
});

test('invalid_event: a JSON-lines event with a field of the wrong type names the field', () => {
  expectError(() => new Recorder().readBuffer('{"service": "s3", "operation": 7}\n', { format: 'jsonl' }), {
    code: 'invalid_event',
    line: 1,
    field: 'operation',
  });
});

test('unknown_format: a format name that does not exist, or content that is no format', async () => {
  expectError(() => new Recorder().readBuffer('{}', { format: 'xml' }), { code: 'unknown_format' });
  expectError(() => new Recorder().readBuffer('hello world\n'), { code: 'unknown_format' });
  await expectRejection(new Recorder().read(file('x.jsonl', ''), { format: 'yaml' }), { code: 'unknown_format' });
});

test('rules: a malformed rules file, with its path', () => {
  const p = file('rules.json', '{"service": "s3", "operations": {"GetObject": {"grants": [{"resource": "*"}]}}}');
  expectError(() => new Recorder({ rules: [p] }), { code: 'rules', path: p });
  expectError(() => new Recorder({ rules: [path.join(tmp, 'nope.json')] }), { code: 'not_found' });
});

test('serialization: data that is not a serialized recorder, or of another version', () => {
  expectError(() => Recorder.deserialize('{}'), { code: 'serialization' });
  expectError(() => Recorder.deserialize(Buffer.from('not json')), { code: 'serialization' });
  expectError(
    () => Recorder.deserialize('{"format": "leastpriv-observed", "version": 999, "counts": {}, "permissions": [], "diagnostics": []}'),
    { code: 'serialization' },
  );
  const p = file('state.json', '{"format": "leastpriv-observed", "version": 1, "counts": 3}');
  expectError(() => new Recorder().readSync(p), { code: 'serialization', path: p });
});

test('usage: bad option values and malformed calls', () => {
  const r = new Recorder();
  expectError(() => r.policy({ s3Objects: 'everything' }), { code: 'usage' });
  expectError(() => r.permissions({ outcome: 'maybe' }), { code: 'usage' });
  expectError(() => r.policy({ mapAccount: { '123456789012': '' } }), { code: 'usage' });
  expectError(() => r.record({ service: '', operation: 'GetObject' }), { code: 'usage', field: 'service' });
  expectError(() => r.record({ service: 's3', operation: 'GetObject', outcome: 'meh' }), { code: 'usage', field: 'outcome' });
  expectError(() => r.record({ service: 's3', operation: 'GetObject', paramsJson: '{' }), { code: 'usage', field: 'paramsJson' });
  expectError(() => r.record({ service: 's3', operation: 'GetObject', paramsJson: '[1]' }), { code: 'usage', field: 'params' });
  assert.equal(r.counts.calls, 0, 'nothing recorded by failed calls');
});

test('a failed read changes nothing', () => {
  const r = new Recorder();
  assert.throws(() =>
    r.readBuffer('{"service": "s3", "operation": "ListBuckets"}\n{"service": "s3", "operation": 1}\n', { format: 'jsonl' }),
  );
  assert.equal(r.counts.calls, 0);
  r.readBuffer('{"service": "s3", "operation": "ListBuckets"}\n{"service": "s3", "operation": 1}\n', {
    format: 'jsonl',
    lenient: true,
    label: 'calls.jsonl',
  });
  assert.deepEqual(r.counts, { calls: 1, skipped: 0, malformed: 1 });
  assert.deepEqual(r.malformedAt, [{ source: 'calls.jsonl', line: 2 }]);
});

test('wrong argument types are errors with code usage, not napi statuses', () => {
  const r = new Recorder();
  expectError(() => r.record(), { code: 'usage' });
  expectError(() => r.record(5), { code: 'usage' });
  expectError(() => r.record({ service: 's3' }), { code: 'usage' });
  expectError(() => r.record({ service: 5, operation: 'GetObject' }), { code: 'usage' });
  expectError(() => r.recordJson(5, 'GetObject'), { code: 'usage' });
  expectError(() => r.recordJson('s3', 'GetObject', {}), { code: 'usage' });
  expectError(() => r.readSync(42), { code: 'usage' });
  expectError(() => r.readSync('x.jsonl', { lenient: 'yes' }), { code: 'usage' });
  expectError(() => r.readBuffer(42), { code: 'usage' });
  expectError(() => Recorder.deserialize(42), { code: 'usage' });
  expectError(() => new Recorder({ region: 5 }), { code: 'usage' });
  expectError(() => new Recorder({ rules: 5 }), { code: 'usage' });
  expectError(() => r.policy({ exclude: 5 }), { code: 'usage' });
  expectError(() => r.permissions({ groupBy: 'yes' }), { code: 'usage' });
  expectError(() => r.evidence({ maxSize: 'big' }), { code: 'usage' });
  expectError(() => r.policy().toTerraform(5), { code: 'usage' });
  expectError(() => r.policy().toTerraform('n', { providerMajor: 'five' }), { code: 'usage' });
});

test('wrong argument types reject read() with code usage', async () => {
  await expectRejection(new Recorder().read(42), { code: 'usage' });
  await expectRejection(new Recorder().read('x.jsonl', { format: 7 }), { code: 'usage' });
});

test('mapAccount / mapRegion: an object, "FROM=TO" strings, or a usage error', () => {
  const r = new Recorder({ region: 'us-east-1', account: '123456789012' });
  r.record({ service: 'sqs', operation: 'GetQueueAttributes', params: { QueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/q' } });
  const resources = (o) => r.permissions(o).map((p) => p.resource);
  const want = ['arn:aws:sqs:eu-west-1:210987654321:q'];
  assert.deepEqual(resources({ mapAccount: { '123456789012': '210987654321' }, mapRegion: { 'us-east-1': 'eu-west-1' } }), want);
  assert.deepEqual(resources({ mapAccount: ['123456789012=210987654321'], mapRegion: ['us-east-1=eu-west-1'] }), want);
  assert.deepEqual(resources({ mapAccount: '123456789012=210987654321', mapRegion: 'us-east-1=eu-west-1' }), want);
  expectError(() => r.policy({ mapAccount: ['123456789012'] }), { code: 'usage' });
  expectError(() => r.policy({ mapRegion: ['=eu-west-1'] }), { code: 'usage' });
  expectError(() => r.policy({ mapAccount: [5] }), { code: 'usage' });
});

test('rules: one path as a string, as in Python', () => {
  const p = file('one-rule.json', JSON.stringify({ service: 's3', operations: { GetObject: { grants: [{ action: 's3:GetObject', resource: '*' }] } } }));
  const r = new Recorder({ rules: p });
  r.record({ service: 's3', operation: 'GetObject', params: { Bucket: 'b', Key: 'k' } });
  assert.deepEqual(r.permissions(), [{ action: 's3:GetObject', resource: '*' }]);
  expectError(() => new Recorder({ rules: path.join(tmp, 'nope.json') }), { code: 'not_found' });
});

test('hostile params: cycles, deep nesting, huge arrays, exotic values', () => {
  const r = new Recorder({ region: 'eu-west-1' });
  const cyclic = { Bucket: 'b', Key: 'k' };
  cyclic.self = cyclic;
  cyclic.list = [cyclic, cyclic];
  assert.equal(r.record({ service: 's3', operation: 'GetObject', params: cyclic }), true);
  let deep = { Bucket: 'b', Key: 'deep' };
  for (let i = 0; i < 10000; i++) deep = { nested: deep, Bucket: 'b', Key: 'deep' };
  assert.equal(r.record({ service: 's3', operation: 'GetObject', params: deep }), true);
  const big = { Bucket: 'b', Key: 'big', Items: new Array(100000).fill({ a: 1 }) };
  assert.equal(r.record({ service: 's3', operation: 'GetObject', params: big }), true);
  const exotic = {
    Bucket: 'b',
    Key: 'exotic',
    sym: Symbol('x'),
    fn() {},
    date: new Date(),
    map: new Map([[1, 2]]),
    big: 2n ** 70n,
    nan: NaN,
    inf: Infinity,
    undef: undefined,
    buf: Buffer.alloc(10),
    ab: new ArrayBuffer(8),
    view: new DataView(new ArrayBuffer(8)),
    nullProto: Object.create(null),
    promise: Promise.resolve(1),
    err: new Error('x'),
  };
  assert.equal(r.record({ service: 's3', operation: 'GetObject', params: exotic }), true);
  const keys = r.permissions().map((p) => p.resource);
  assert.deepEqual(keys, ['arn:aws:s3:::b/big', 'arn:aws:s3:::b/deep', 'arn:aws:s3:::b/exotic', 'arn:aws:s3:::b/k']);
});
