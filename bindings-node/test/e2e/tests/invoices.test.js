'use strict';
const { DeleteObjectCommand, PutObjectCommand } = require('@aws-sdk/client-s3');
const { paused } = require('../../../jest');
const { setup } = require('./fixtures');

let env;
beforeAll(async () => {
  env = await setup();
});

// Fixtures written in a hook: left out of the policy (the application never writes them).
beforeEach(async () => {
  await env.clients.s3.send(
    new PutObjectCommand({
      Bucket: env.names.bucket,
      Key: 'invoices/fixture-1.json',
      Body: JSON.stringify({ id: 'fixture-1', total: 5 }),
    }),
  );
});

test('reads an invoice', async () => {
  expect(await env.service.invoice('fixture-1')).toEqual({ id: 'fixture-1', total: 5 });
});

test('lists invoices', async () => {
  expect(await env.service.invoiceIds()).toContain('fixture-1');
});

test('a missing invoice fails with NoSuchKey, and still needs s3:GetObject', async () => {
  await expect(env.service.invoice('missing')).rejects.toMatchObject({ name: 'NoSuchKey' });
});

test('setup code inside a test can be left out with paused()', async () => {
  await paused(() =>
    env.clients.s3.send(new DeleteObjectCommand({ Bucket: env.names.bucket, Key: 'invoices/fixture-1.json' })),
  );
});
