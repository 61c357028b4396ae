'use strict';
// `leastpriv record` between SDK v3 clients and moto_server: clients with nothing but an
// endpoint are recorded off the wire, and the permissions equal those the SDK v3 middleware
// records for the very same calls.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { CreateBucketCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } = require('@aws-sdk/client-s3');
const { CreateQueueCommand, SendMessageCommand, SQSClient } = require('@aws-sdk/client-sqs');
const { CreateTableCommand, PutItemCommand, DynamoDBClient } = require('@aws-sdk/client-dynamodb');
const { Recorder } = require('..');
const { instrument } = require('../aws-sdk');
const { startMoto } = require('./moto');

const ACCOUNT = '123456789012';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function startEndpoint(upstream, dir) {
  const cli = process.env.LEASTPRIV_CLI;
  if (!cli) throw new Error('LEASTPRIV_CLI is not set (scripts/test-node.sh sets it)');
  const port = await freePort();
  const calls = path.join(dir, 'calls.jsonl');
  const child = spawn(cli, ['record', '--listen', `127.0.0.1:${port}`, '--upstream', upstream, '-o', calls, '--config', 'none'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const deadline = Date.now() + 30000;
  while (!stderr.includes('listening on')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`leastpriv record did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = () =>
    new Promise((resolve) => {
      child.on('exit', (code) => resolve({ code, stderr }));
      child.kill('SIGTERM');
    });
  return { url: `http://127.0.0.1:${port}`, calls, stop };
}

test('SDK v3 clients pointed at the endpoint are recorded as the middleware records them', async (t) => {
  const moto = await startMoto();
  t.after(() => moto.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leastpriv-record-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const endpoint = await startEndpoint(moto.endpoint, dir);
  const middleware = new Recorder({ account: ACCOUNT });
  const config = {
    region: 'eu-west-1',
    endpoint: endpoint.url,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  const s3 = new S3Client({ ...config, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  const sqs = new SQSClient(config);
  const ddb = new DynamoDBClient(config);
  for (const c of [s3, sqs, ddb]) instrument(c, middleware);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'orders', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    await s3.send(new PutObjectCommand({ Bucket: 'orders', Key: 'invoices/1.pdf', Body: 'pdf' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'orders', Key: 'invoices/1.pdf' }));
    await got.Body.transformToString();
    await s3.send(new ListObjectsV2Command({ Bucket: 'orders', Prefix: 'invoices/' }));
    await s3.send(new DeleteObjectsCommand({ Bucket: 'orders', Delete: { Objects: [{ Key: 'invoices/1.pdf' }, { Key: 'tmp/x' }] } }));
    const q = await sqs.send(new CreateQueueCommand({ QueueName: 'jobs' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: q.QueueUrl, MessageBody: 'hi' }));
    await ddb.send(
      new CreateTableCommand({
        TableName: 'orders',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await ddb.send(new PutItemCommand({ TableName: 'orders', Item: { pk: { S: 'o-1' } } }));
  } finally {
    for (const c of [s3, sqs, ddb]) c.destroy();
  }
  const { code, stderr } = await endpoint.stop();
  assert.equal(code, 0, stderr);
  assert.match(stderr, /0 request\(s\) not decoded/);
  const wire = new Recorder({ account: ACCOUNT });
  wire.readSync(endpoint.calls);
  const want = middleware.permissions();
  assert.ok(want.length >= 8, JSON.stringify(want));
  assert.deepEqual(wire.permissions(), want);
});
