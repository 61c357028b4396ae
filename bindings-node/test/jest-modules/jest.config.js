'use strict';
// The jest configuration of test/jest-modules.test.js: fresh module registries
// (`jest.resetModules()`, `jest.isolateModules()`) and a client the test instruments itself,
// with canned HTTP responses (no network).
const path = require('node:path');

const pkg = path.join(__dirname, '..', '..');

module.exports = {
  rootDir: __dirname,
  testMatch: ['<rootDir>/tests/**/*.test.js'],
  testEnvironment: 'node',
  globalSetup: path.join(pkg, 'jest', 'global-setup.js'),
  globalTeardown: path.join(pkg, 'jest', 'global-teardown.js'),
  setupFilesAfterEnv: [path.join(pkg, 'jest', 'setup.js')],
  globals: { leastpriv: { out: 'policy.json', region: 'eu-west-1', account: '123456789012', quiet: true } },
  testTimeout: 30000,
};
