'use strict';
// A client the test instruments with its own recorder: both that recorder and the jest setup's
// receive its calls.
const { Recorder } = require('../../..');
const { instrument } = require('../../../aws-sdk');
const { s3, list } = require('./s3');

test('own recorder under the jest setup', async () => {
  const mine = new Recorder({ region: 'eu-west-1' });
  const client = instrument(s3(), mine);
  await list(client, 'own-recorder');
  await list(client, 'own-recorder');
  expect(mine.counts.calls).toBe(2);
});
