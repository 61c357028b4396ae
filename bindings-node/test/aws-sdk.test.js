'use strict';
// The SDK v3 middleware, against real SDK clients with a canned HTTP handler (no network).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Readable } = require('node:stream');
const { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } = require('@aws-sdk/client-s3');
const { SendMessageBatchCommand, SendMessageCommand, SQSClient } = require('@aws-sdk/client-sqs');
const { HttpResponse } = require('@smithy/core/protocols');
const { Client } = require('@smithy/smithy-client');
const { Recorder } = require('..');
const { instrument, plainInput, patchClientClass } = require('../aws-sdk');

// Never connected to: every client here answers through its own request handler below.
const ENDPOINT = 'http://127.0.0.1:9';

/** A request handler answering every request with `reply(request)`; counts requests. */
function handler(reply) {
  const h = {
    requests: [],
    handle: async (request) => {
      h.requests.push(request);
      const { status = 200, headers = {}, body = '' } = reply(request);
      return { response: new HttpResponse({ statusCode: status, headers, body: Readable.from([Buffer.from(body)]) }) };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
  };
  return h;
}

function s3(reply) {
  return new S3Client({
    region: 'eu-west-1',
    endpoint: ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    requestHandler: handler(reply),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** A stand-in recorder that keeps the calls it is given. */
function capture() {
  return {
    calls: [],
    isPaused: false,
    record(call) {
      this.calls.push(call);
      return true;
    },
  };
}

const LIST = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>acme</Name><Prefix>in/</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`;
const NO_SUCH_KEY = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>k</Key></Error>`;

test('a successful call: service, operation, input, region, endpoint; result untouched', async () => {
  const rec = capture();
  const client = instrument(s3(() => ({ body: LIST, headers: { 'content-type': 'application/xml' } })), rec);
  const out = await client.send(new ListObjectsV2Command({ Bucket: 'acme', Prefix: 'in/' }));
  assert.equal(out.Name, 'acme');
  assert.equal(out.$metadata.httpStatusCode, 200);
  assert.equal(rec.calls.length, 1);
  const c = rec.calls[0];
  assert.equal(c.service, 'S3');
  assert.equal(c.operation, 'ListObjectsV2');
  assert.deepEqual(c.params, { Bucket: 'acme', Prefix: 'in/' });
  assert.equal(c.region, 'eu-west-1');
  assert.match(c.endpoint, /^http:\/\/127\.0\.0\.1:9\//);
  assert.equal(c.outcome, 'ok');
  assert.equal(c.errorCode, undefined);
});

test('a failed call: the same error reaches the caller, recorded with its name', async () => {
  const rec = capture();
  const client = instrument(s3(() => ({ status: 404, body: NO_SUCH_KEY, headers: { 'content-type': 'application/xml' } })), rec);
  let thrownInside;
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        thrownInside = err;
        throw err;
      }
    },
    { step: 'deserialize', name: 'spy', priority: 'high' },
  );
  let caught;
  try {
    await client.send(new GetObjectCommand({ Bucket: 'acme', Key: 'k' }));
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, 'the call failed');
  assert.equal(caught.name, 'NoSuchKey');
  assert.equal(caught, thrownInside, 'the very error object, not a copy');
  assert.equal(rec.calls[0].outcome, 'error');
  assert.equal(rec.calls[0].errorCode, 'NoSuchKey');
});

test('payloads are never copied: bodies, streams, Uint8Arrays, message bodies', async () => {
  const rec = capture();
  const client = instrument(s3(() => ({})), rec);
  await client.send(new PutObjectCommand({ Bucket: 'acme', Key: 'a.bin', Body: new Uint8Array([1, 2, 3]), Metadata: { k: 'v' } }));
  await client.send(new PutObjectCommand({ Bucket: 'acme', Key: 'b.txt', Body: Readable.from(['x']), ContentLength: 1 }));
  await client.send(new PutObjectCommand({ Bucket: 'acme', Key: 'c.txt', Body: 'secret text' }));
  assert.deepEqual(
    rec.calls.map((c) => c.params),
    [
      { Bucket: 'acme', Key: 'a.bin', Metadata: { k: 'v' } },
      { Bucket: 'acme', Key: 'b.txt', ContentLength: 1 },
      { Bucket: 'acme', Key: 'c.txt' },
    ],
  );
  const sqsRec = capture();
  const sqs = instrument(
    new SQSClient({
      region: 'eu-west-1',
      endpoint: ENDPOINT,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      requestHandler: handler(() => ({ status: 500, body: '{}' })),
      maxAttempts: 1,
    }),
    sqsRec,
  );
  const url = 'http://127.0.0.1:9/123456789012/q';
  await assert.rejects(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'secret' })));
  await assert.rejects(
    sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: '1', MessageBody: 'secret' }] })),
  );
  assert.deepEqual(sqsRec.calls.map((c) => [c.service, c.operation, c.outcome, c.params]), [
    ['SQS', 'SendMessage', 'error', { QueueUrl: url }],
    ['SQS', 'SendMessageBatch', 'error', { QueueUrl: url, Entries: [{ Id: '1' }] }],
  ]);
});

test('plainInput(): only plain data, class instances never touched', () => {
  class Trap {
    get Bucket() {
      throw new Error('read');
    }
  }
  const input = {
    Bucket: 'b',
    Body: 'payload',
    Nested: { Body: 'kept below the top', Blob: new Trap(), When: new Date(), N: 1, B: true, Big: 1n },
    List: [{ Message: 'dropped' }, new Trap(), 'x', undefined],
    Fn() {},
  };
  assert.deepEqual(plainInput(input), {
    Bucket: 'b',
    Nested: { Body: 'kept below the top', N: 1, B: true, Big: '1' },
    List: [{}, null, 'x', null],
  });
  assert.deepEqual(plainInput(null), {});
  assert.deepEqual(plainInput(new Trap()), {});
});

test('with a real Recorder: the policy; paused() leaves calls out; instrumenting twice records once', async () => {
  const rec = new Recorder({ account: '123456789012' });
  const client = s3(() => ({ body: LIST, headers: { 'content-type': 'application/xml' } }));
  instrument(client, rec);
  instrument(client, rec);
  await rec.paused(() => client.send(new ListObjectsV2Command({ Bucket: 'setup-only' })));
  await client.send(new ListObjectsV2Command({ Bucket: 'acme' }));
  assert.equal(rec.counts.calls, 1);
  assert.deepEqual(rec.permissions(), [{ action: 's3:ListBucket', resource: 'arn:aws:s3:::acme' }]);
});

test('a recorder that throws never breaks the call', async () => {
  const warnings = [];
  process.on('warning', (w) => warnings.push(w));
  const client = instrument(s3(() => ({ body: LIST, headers: { 'content-type': 'application/xml' } })), {
    isPaused: false,
    record() {
      throw new Error('recorder broken');
    },
  });
  const out = await client.send(new ListObjectsV2Command({ Bucket: 'acme' }));
  assert.equal(out.Name, 'acme');
  await new Promise((r) => setImmediate(r));
  assert.ok(warnings.some((w) => /recorder broken/.test(w.message)));
});

test('instrument() refuses what is not a client or not a recorder', () => {
  assert.throws(() => instrument({}, new Recorder()), TypeError);
  assert.throws(() => instrument(s3(() => ({})), {}), TypeError);
});

test('patchClientClass(): every client of the base class is recorded on its first send', async () => {
  const rec = new Recorder();
  let state = { recorder: rec, options: { source: () => 'patched test' } };
  assert.equal(patchClientClass(Client, () => state), true);
  const client = s3(() => ({ body: LIST, headers: { 'content-type': 'application/xml' } }));
  await client.send(new ListObjectsV2Command({ Bucket: 'acme' }));
  assert.equal(rec.counts.calls, 1);
  assert.equal(rec.evidence()[0].first.source, 'patched test');
  state = undefined; // patched, but nothing to record into: calls pass through
  const other = s3(() => ({ body: LIST, headers: { 'content-type': 'application/xml' } }));
  await other.send(new ListObjectsV2Command({ Bucket: 'acme' }));
  assert.equal(rec.counts.calls, 1);
});

test('several recorders on one client: instrument() adds, patchClientClass() keeps the own recorder', async () => {
  const mine = new Recorder();
  const other = capture();
  const state = { recorder: new Recorder(), options: { source: 'patched' } };
  patchClientClass(Client, () => state);
  const client = instrument(s3(() => ({ body: LIST, headers: { 'content-type': 'application/xml' } })), mine, { source: 'mine' });
  await client.send(new ListObjectsV2Command({ Bucket: 'acme' }));
  instrument(client, other);
  instrument(client, mine, { source: 'mine again' }); // the same recorder: its options replaced
  await client.send(new ListObjectsV2Command({ Bucket: 'acme' }));
  assert.equal(mine.counts.calls, 2, 'the own recorder keeps receiving calls');
  assert.equal(state.recorder.counts.calls, 2, 'the patched class records into its recorder too');
  assert.equal(other.calls.length, 1);
  assert.deepEqual(mine.evidence()[0].first.source, 'mine');
  assert.equal(client.middlewareStack.identify().filter((m) => m.startsWith('leastprivRecorder')).length, 1, 'one middleware');
});
