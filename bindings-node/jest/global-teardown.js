'use strict';
// jest `globalTeardown`: `globalTeardown: 'leastpriv/jest/global-teardown'`.
module.exports = require('./index').globalTeardown;
