'use strict';
// An S3 client (loaded in the current module registry) answering every request with an empty
// object listing.
const { Readable } = require('node:stream');

const LIST = '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>';

function s3() {
  const { S3Client } = require('@aws-sdk/client-s3');
  const { HttpResponse } = require('@smithy/core/protocols');
  return new S3Client({
    region: 'eu-west-1',
    endpoint: 'http://127.0.0.1:9',
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      handle: async () => ({
        response: new HttpResponse({ statusCode: 200, headers: { 'content-type': 'application/xml' }, body: Readable.from([Buffer.from(LIST)]) }),
      }),
      updateHttpClientConfig() {},
      httpHandlerConfigs: () => ({}),
    },
  });
}

/** Lists `bucket` with a client and command of the current module registry. */
async function list(client, bucket) {
  const { ListObjectsV2Command } = require('@aws-sdk/client-s3');
  await client.send(new ListObjectsV2Command({ Bucket: bucket }));
}

module.exports = { s3, list };
