'use strict';
const { PutItemCommand } = require('@aws-sdk/client-dynamodb');
const { SendMessageCommand } = require('@aws-sdk/client-sqs');
const { setup } = require('./fixtures');

let env;
beforeAll(async () => {
  env = await setup();
  await env.clients.sqs.send(new SendMessageCommand({ QueueUrl: env.queueUrl, MessageBody: JSON.stringify({ id: 'o-seed' }) }));
  await env.clients.dynamodb.send(
    new PutItemCommand({ TableName: env.names.table, Item: { id: { S: 'o-seed' }, customer: { S: 'c-9' }, total: { N: '1' } } }),
  );
});

test('drains the work queue', async () => {
  expect(await env.service.drainQueue()).toContain('o-seed');
});

test("lists a customer's orders through the index", async () => {
  expect(await env.service.ordersOf('c-9')).toEqual(['o-seed']);
});
