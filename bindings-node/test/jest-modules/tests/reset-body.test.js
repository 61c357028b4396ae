'use strict';
// jest.resetModules() and jest.isolateModules() inside tests, with rebind().
test('a client loaded after a reset inside the test, then rebind()', async () => {
  jest.resetModules();
  const { s3, list } = require('./s3');
  const client = s3();
  require('../../../jest').rebind();
  await list(client, 'reset-in-body');
});

test('a client loaded inside isolateModules, rebind() inside the callback', async () => {
  let client;
  let list;
  jest.isolateModules(() => {
    const m = require('./s3');
    client = m.s3();
    list = m.list;
    require('../../../jest').rebind();
  });
  await list(client, 'isolated');
});

test('paused() of a copy of leastpriv/jest loaded after a reset still pauses', async () => {
  jest.resetModules();
  const { paused, rebind } = require('../../../jest');
  const { s3, list } = require('./s3');
  const client = s3();
  rebind();
  await paused(() => list(client, 'paused-after-reset'));
});
