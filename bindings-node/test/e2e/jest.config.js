'use strict';
// The jest configuration of the end-to-end test: as a user would write it, with paths into this
// package instead of `leastpriv/jest/...` (there, use the package name).
const path = require('node:path');

const pkg = path.join(__dirname, '..', '..');

module.exports = {
  rootDir: __dirname,
  testMatch: ['<rootDir>/tests/**/*.test.js'],
  testEnvironment: 'node',
  globalSetup: path.join(pkg, 'jest', 'global-setup.js'),
  globalTeardown: path.join(pkg, 'jest', 'global-teardown.js'),
  setupFilesAfterEnv: [path.join(pkg, 'jest', 'setup.js')],
  globals: {
    // The runner's settings, over package.json's "leastpriv" (the project's configuration).
    leastpriv: {
      out: 'policy.json', // LEASTPRIV_OUT wins
      env: 'prod',
    },
  },
  testTimeout: 30000,
};
