'use strict';
const { setup } = require('./fixtures');

const { GetQueueAttributesCommand } = require('@aws-sdk/client-sqs');

let env;
beforeAll(async () => {
  env = await setup();
});

// A check made in a hook: left out of the policy (no sqs:GetQueueAttributes in it).
beforeEach(async () => {
  await env.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: env.queueUrl, AttributeNames: ['All'] }));
});

describe('orders', () => {
  test('places an order and reads it back', async () => {
    await env.service.placeOrder({ id: 'o-1001', customer: 'c-7', total: 30 });
    expect(await env.service.order('o-1001')).toEqual({ id: 'o-1001', customer: 'c-7', total: 30 });
  });

  test('places a second order', async () => {
    await env.service.placeOrder({ id: 'o-1002', customer: 'c-7', total: 12 });
    expect((await env.service.order('o-1002')).total).toBe(12);
  });
});
