'use strict';
// A small order service on the AWS SDK for JavaScript v3: DynamoDB for orders, S3 for invoices
// (path-style, as against moto), SQS for the work queue, SNS for notifications.

const { DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } = require('@aws-sdk/client-dynamodb');
const { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } = require('@aws-sdk/client-s3');
const { PublishCommand, SNSClient } = require('@aws-sdk/client-sns');
const { DeleteMessageCommand, ReceiveMessageCommand, SQSClient, SendMessageCommand } = require('@aws-sdk/client-sqs');

function clients({ endpoint, region = 'eu-west-1' }) {
  const common = {
    region,
    endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  return {
    s3: new S3Client({ ...common, forcePathStyle: true }),
    dynamodb: new DynamoDBClient(common),
    sqs: new SQSClient(common),
    sns: new SNSClient(common),
  };
}

class OrderService {
  constructor({ clients: c, bucket, table, queueUrl, topicArn }) {
    Object.assign(this, { c, bucket, table, queueUrl, topicArn });
  }

  async placeOrder(order) {
    await this.c.dynamodb.send(
      new PutItemCommand({
        TableName: this.table,
        Item: { id: { S: order.id }, customer: { S: order.customer }, total: { N: String(order.total) } },
        ConditionExpression: 'attribute_not_exists(id)',
      }),
    );
    await this.c.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: `invoices/${order.id}.json`,
        Body: Buffer.from(JSON.stringify(order)),
        ContentType: 'application/json',
      }),
    );
    await this.c.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify({ id: order.id }) }));
    await this.c.sns.send(new PublishCommand({ TopicArn: this.topicArn, Subject: 'order placed', Message: order.id }));
  }

  async order(id) {
    const { Item } = await this.c.dynamodb.send(new GetItemCommand({ TableName: this.table, Key: { id: { S: id } } }));
    return Item && { id: Item.id.S, customer: Item.customer.S, total: Number(Item.total.N) };
  }

  async ordersOf(customer) {
    const { Items = [] } = await this.c.dynamodb.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'by-customer',
        KeyConditionExpression: 'customer = :c',
        ExpressionAttributeValues: { ':c': { S: customer } },
      }),
    );
    return Items.map((i) => i.id.S).sort();
  }

  async invoice(id) {
    const res = await this.c.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: `invoices/${id}.json` }));
    return JSON.parse(await res.Body.transformToString());
  }

  async invoiceIds() {
    const { Contents = [] } = await this.c.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: 'invoices/' }));
    return Contents.map((o) => o.Key.slice('invoices/'.length, -'.json'.length)).sort();
  }

  /** Receives what is waiting on the queue and deletes it; returns the order ids. */
  async drainQueue() {
    const { Messages = [] } = await this.c.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    for (const m of Messages) {
      await this.c.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: m.ReceiptHandle }));
    }
    return Messages.map((m) => JSON.parse(m.Body).id);
  }
}

module.exports = { OrderService, clients };
