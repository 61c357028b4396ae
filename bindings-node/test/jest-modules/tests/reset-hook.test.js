'use strict';
// jest.resetModules() in a beforeEach hook: every test loads a fresh SDK.
beforeEach(() => {
  jest.resetModules();
});

test('a client loaded after a reset in beforeEach', async () => {
  const { s3, list } = require('./s3');
  await list(s3(), 'reset-in-hook-1');
});

test('and again in the next test', async () => {
  const { s3, list } = require('./s3');
  await list(s3(), 'reset-in-hook-2');
});
