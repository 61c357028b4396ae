'use strict';
// jest `globalSetup`: `globalSetup: 'leastpriv/jest/global-setup'`.
module.exports = require('./index').globalSetup;
