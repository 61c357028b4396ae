'use strict';
// Runs every vector of spec/vectors/*.json (see spec/README.md) as the Rust runner
// (tests/vectors.rs) does: one test per vector, the options split and checked by the core
// (`splitOptions`) and passed as they come, the input read through `readBuffer()`. Vectors whose
// input is a list of calls run a second time through `record()`.

const { test, describe } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Recorder, splitOptions } = require('..');

/** Vectors known to fail, with the reason. A listed vector that passes fails the run. */
const EXPECTED_FAILURES = new Map([]);

const VECTORS = path.join(__dirname, '..', '..', 'spec', 'vectors');

function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function checkError(v, err) {
  const want = v.error;
  if (!want) throw new Error(`unexpected error: ${err && err.message}`);
  if (!err) throw new Error(`expected an error ${JSON.stringify(want)}, got success`);
  assert.ok(err instanceof Error, 'a JavaScript Error');
  if (want.kind) assert.equal(err.code, want.kind, `error kind (${err.message})`);
  for (const key of ['line', 'column']) {
    if (typeof want[key] === 'number') assert.equal(err[key], want[key], `error ${key} (${err.message})`);
  }
  if (typeof want.field === 'string') assert.equal(err.field, want.field, `error field (${err.message})`);
}

/** Feeds the vector's input to a new recorder; returns [recorder, error, policy options]. */
function feed(v, via) {
  let read;
  let policy;
  try {
    // The options as the core reads them, in every language: no mapping here.
    ({ read, policy } = splitOptions(v.options || {}));
  } catch (err) {
    return [undefined, err, undefined];
  }
  const rec = new Recorder();
  const input = v.input;
  if (!input) throw new Error('vector without input');
  try {
    if (Array.isArray(input.calls)) {
      if (via === 'record') {
        for (const c of input.calls) {
          rec.record({
            service: c.service,
            operation: c.operation,
            params: c.params === null ? undefined : c.params,
            region: c.region,
            account: c.account,
            partition: c.partition,
            endpoint: c.endpoint,
            outcome: c.outcome,
            errorCode: c.error_code,
            principal: c.principal,
            source: c.source,
          });
        }
      } else {
        const text = input.calls.map((c) => `${JSON.stringify(c)}\n`).join('');
        rec.readBuffer(text, { ...read, format: 'jsonl', label: 'input' });
      }
    } else {
      if (typeof input.text !== 'string') throw new Error('input needs calls or text');
      rec.readBuffer(input.text, { ...read, format: input.format || 'auto', label: 'input' });
    }
    // Building the policy is where rewrite rules fail.
    if (v.error) rec.policy(policy);
  } catch (err) {
    return [rec, err, policy];
  }
  return [rec, undefined, policy];
}

function run(v, via) {
  const [rec, err, opts] = feed(v, via);
  if (v.error) return checkError(v, err);
  if (err) throw new Error(`reading failed: ${err.message}`);
  const expect = v.expect;
  if (!expect) throw new Error('vector without expect or error');
  let checked = 0;
  if (expect.permissions !== undefined) {
    checked++;
    assert.ok(Array.isArray(expect.permissions), 'expect.permissions must be an array');
    const got = new Set(
      rec.permissions(opts).map((l) => {
        const line = { action: l.action, resource: l.resource };
        if (l.condition !== undefined && l.condition !== null) line.condition = l.condition;
        return canonical(line);
      }),
    );
    const want = new Set(expect.permissions.map(canonical));
    const missing = [...want].filter((x) => !got.has(x));
    const extra = [...got].filter((x) => !want.has(x));
    assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, 'permissions differ');
  }
  const policy = rec.policy(opts);
  if (expect.diagnostics !== undefined) {
    checked++;
    const want = expect.diagnostics
      .map((d) => (typeof d === 'string' ? d : d && d.kind))
      .filter((d) => typeof d === 'string');
    const got = new Set(policy.diagnostics.map((d) => d.kind));
    const missing = want.filter((k) => !got.has(k));
    assert.deepEqual(missing, [], `diagnostics missing; got ${[...got].join(', ')}`);
  }
  if (expect.policy_resources !== undefined) {
    checked++;
    const got = new Map();
    for (const doc of policy.documents) {
      for (const st of doc.Statement) {
        for (const a of st.Action) {
          if (!got.has(a)) got.set(a, new Set());
          for (const r of st.Resource) got.get(a).add(r);
        }
      }
    }
    for (const [action, resources] of Object.entries(expect.policy_resources)) {
      const want = [...new Set(resources)].sort();
      const have = [...(got.get(action) || [])].sort();
      assert.deepEqual(have, want, `resources of ${action}`);
    }
  }
  if (expect.policy !== undefined) {
    checked++;
    assert.deepEqual(JSON.parse(policy.toJson()), expect.policy, 'policy differs');
  }
  const counts = rec.counts;
  for (const key of ['skipped', 'malformed', 'calls']) {
    if (expect[key] !== undefined) {
      checked++;
      assert.equal(counts[key], expect[key], key);
    }
  }
  if (checked === 0) throw new Error('vector expects nothing');
}

const files = fs
  .readdirSync(VECTORS)
  .filter((f) => f.endsWith('.json'))
  .sort();

test('the vectors directory holds vectors', () => {
  assert.ok(files.length > 0, `no vector files in ${VECTORS}`);
});

const names = new Set();
for (const file of files) {
  const stem = path.basename(file, '.json');
  let vectors;
  try {
    vectors = JSON.parse(fs.readFileSync(path.join(VECTORS, file), 'utf8'));
  } catch (err) {
    test(`load ${file}`, () => {
      throw err;
    });
    continue;
  }
  describe(stem, () => {
    for (const v of vectors) {
      const name = (v && v.name) || 'unnamed';
      const unique = !names.has(name);
      names.add(name);
      const reason = EXPECTED_FAILURES.get(name);
      const vias = Array.isArray(v && v.input && v.input.calls) && !v.error ? ['read', 'record'] : ['read'];
      for (const via of vias) {
        test(via === 'read' ? name : `${name} (record)`, () => {
          if (!unique) throw new Error('duplicate vector name');
          let failure;
          try {
            run(v, via);
          } catch (err) {
            failure = err;
          }
          if (reason === undefined && failure) throw failure;
          if (reason !== undefined && !failure) {
            throw new Error(`listed as an expected failure (${reason}) but passes: remove it from the list`);
          }
        });
      }
    }
  });
}
