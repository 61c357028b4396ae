'use strict';
// The IAM evaluator's shared vectors (spec/vectors/evaluate/*.json), run through `evaluate()`
// as Rust and Python run them.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { evaluate } = require('..');

const DIR = path.join(__dirname, '..', '..', 'spec', 'vectors', 'evaluate');
const vectors = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .flatMap((f) => JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')));

test('enough evaluator vectors, named once each', () => {
  assert.ok(vectors.length >= 150, `${vectors.length} vectors`);
  assert.equal(new Set(vectors.map((v) => v.name)).size, vectors.length);
});

for (const v of vectors) {
  test(v.name, () => {
    if (v.error) {
      assert.throws(
        () => evaluate(v.policies, v.request),
        (err) => {
          assert.equal(err.code, v.error.kind, err.message);
          if (v.error.field) assert.equal(err.field, v.error.field, err.message);
          return true;
        },
      );
      return;
    }
    const got = evaluate(v.policies, v.request);
    assert.equal(got.decision, v.expect, JSON.stringify(got));
  });
}
