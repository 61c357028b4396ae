'use strict';
// Test setup: the resources Terraform owns in production, created against moto. Called from
// `beforeAll`, so the jest helpers leave these calls out of the policy.

const { CreateTableCommand, ResourceInUseException, waitUntilTableExists } = require('@aws-sdk/client-dynamodb');
const { CreateBucketCommand } = require('@aws-sdk/client-s3');
const { CreateTopicCommand } = require('@aws-sdk/client-sns');
const { CreateQueueCommand } = require('@aws-sdk/client-sqs');
const { OrderService, clients } = require('../app/orders');

// Every run names its resources with a run id (E2E_RUN_ID, the same in every jest worker), as
// suites sharing a test account do; package.json's "leastpriv" maps them to production names.
const RUN = process.env.E2E_RUN_ID || require('node:crypto').randomBytes(3).toString('hex');
const NAMES = {
  bucket: `acme-orders-${RUN}`,
  table: `it-${RUN}-orders`,
  queue: `order-events-${RUN}`,
  topic: `order-placed-${RUN}`,
};

async function ignoreExisting(promise) {
  try {
    return await promise;
  } catch (err) {
    if (/AlreadyOwnedByYou|AlreadyExists|ResourceInUse/.test(err.name) || err instanceof ResourceInUseException) return undefined;
    throw err;
  }
}

async function setup() {
  const endpoint = process.env.MOTO_ENDPOINT;
  if (!endpoint) throw new Error('MOTO_ENDPOINT is not set');
  const c = clients({ endpoint });
  await ignoreExisting(
    c.s3.send(new CreateBucketCommand({ Bucket: NAMES.bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } })),
  );
  await ignoreExisting(
    c.dynamodb.send(
      new CreateTableCommand({
        TableName: NAMES.table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'id', AttributeType: 'S' },
          { AttributeName: 'customer', AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          { IndexName: 'by-customer', KeySchema: [{ AttributeName: 'customer', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } },
        ],
      }),
    ),
  );
  await waitUntilTableExists({ client: c.dynamodb, maxWaitTime: 30 }, { TableName: NAMES.table });
  const { QueueUrl } = await c.sqs.send(new CreateQueueCommand({ QueueName: NAMES.queue }));
  const { TopicArn } = await c.sns.send(new CreateTopicCommand({ Name: NAMES.topic }));
  const service = new OrderService({ clients: c, bucket: NAMES.bucket, table: NAMES.table, queueUrl: QueueUrl, topicArn: TopicArn });
  return { service, clients: c, names: NAMES, queueUrl: QueueUrl, topicArn: TopicArn };
}

module.exports = { setup, NAMES };
