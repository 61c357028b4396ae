'use strict';
// jest.resetModules() inside a test without rebind(): that test's calls are missed (warned
// about once), the registry is recorded from the next test on.
let client;
let list;

test('a client loaded after a reset inside the test, no rebind()', async () => {
  jest.resetModules();
  ({ s3: client, list } = require('./s3'));
  client = client();
  await list(client, 'unbound-1');
});

test('the same client in the next test', async () => {
  await list(client, 'unbound-2');
});
