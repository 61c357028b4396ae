'use strict';
// The wire decoder's shared vectors (spec/vectors/wire/*.json: raw requests captured from real
// SDKs), run through `decodeHttp()` as Rust and Python run them: each decodes to the SDK call's
// service, operation and Region, and gives the same permissions as that call recorded.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { decodeHttp, Recorder } = require('..');

const DIR = path.join(__dirname, '..', '..', 'spec', 'vectors', 'wire');
const vectors = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .flatMap((f) => JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')));

const raw = (v) => {
  const head = Buffer.from(v.request, 'utf8');
  return v.body_base64 ? Buffer.concat([head, Buffer.from(v.body, 'base64')]) : head;
};

const permissions = (service, operation, params, region) => {
  const r = new Recorder();
  r.record({ service, operation, params, region });
  return r.permissions();
};

test('enough wire vectors, named once each', () => {
  assert.ok(vectors.length >= 50, `${vectors.length} vectors`);
  assert.equal(new Set(vectors.map((v) => v.name)).size, vectors.length);
});

for (const v of vectors) {
  test(v.name, () => {
    const got = decodeHttp(raw(v));
    const want = v.expect;
    assert.equal(got.signed, !v.name.endsWith('-unsigned'));
    assert.equal(got.operation, want.operation);
    assert.equal(got.region, want.region);
    let service = want.service;
    if (got.note) {
      assert.ok(service === got.service || got.note.includes(` ${service}`), got.note);
      service = got.service;
    } else {
      assert.equal(got.service, service);
    }
    assert.deepEqual(
      permissions(got.service, got.operation, got.params, got.region),
      permissions(service, want.operation, want.params, want.region),
    );
  });
}

test('what is not a request throws with code syntax', () => {
  assert.throws(() => decodeHttp(Buffer.from([0, 1, 32, 110])), (e) => e.code === 'syntax');
});
