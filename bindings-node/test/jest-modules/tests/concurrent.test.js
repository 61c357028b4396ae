'use strict';
// Tests of `test.concurrent` run interleaved: `first` starts, waits until `second` has started
// (so jest's current test is `second`), then makes its call; each call's evidence must name the
// test that made it.
const { s3, list } = require('./s3');

let secondStarted;
const started = new Promise((resolve) => {
  secondStarted = resolve;
});
let firstCalled;
const called = new Promise((resolve) => {
  firstCalled = resolve;
});

describe('concurrent', () => {
  test.concurrent('first', async () => {
    await started;
    await list(s3(), 'concurrent-first');
    firstCalled();
  });
  test.concurrent('second', async () => {
    secondStarted();
    await called;
    await list(s3(), 'concurrent-second');
  });
});
