'use strict';
// The example of the README's install section, as one file: record two calls, print the policy.
//
//   node quickstart.js

const assert = require('node:assert/strict');
const { Recorder } = require('leastpriv');

const rec = new Recorder({ region: 'eu-west-1', account: '123456789012' });
rec.record({ service: 'S3', operation: 'GetObject', params: { Bucket: 'reports', Key: '2024/q1.csv' } });
rec.record({ service: 'SQS', operation: 'SendMessage', params: { QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs', MessageBody: 'hi' } });
const policy = rec.policy();
process.stdout.write(policy.toJson());
const actions = JSON.parse(policy.toJson()).Statement.flatMap((s) => s.Action).sort();
assert.deepEqual(actions, ['s3:GetObject', 'sqs:SendMessage']);
