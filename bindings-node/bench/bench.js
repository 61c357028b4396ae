'use strict';
// Benchmark (not part of the tests): record() calls per second, and reading event files through
// the binding vs the CLI.
//
//   npm run build:release && cargo build --release -p leastpriv --features cli
//   node bench/bench.js                 # LEASTPRIV_BENCH_CALLS=300000 LEASTPRIV_BENCH_EVENTS=500000
//
// The CLI is target/release/leastpriv (LEASTPRIV_CLI overrides). Build both in release mode:
// a debug addon is several times slower.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Recorder } = require('..');
const { plainInput } = require('../aws-sdk');

const CALLS = Number(process.env.LEASTPRIV_BENCH_CALLS || 300000);
const EVENTS = Number(process.env.LEASTPRIV_BENCH_EVENTS || 500000);
const REPO = path.join(__dirname, '..', '..');
const CLI =
  process.env.LEASTPRIV_CLI || path.join(process.env.CARGO_TARGET_DIR || path.join(REPO, 'target'), 'release', 'leastpriv');

function pools() {
  const calls = [];
  for (let i = 0; i < 1000; i++) {
    switch (i % 4) {
      case 0:
        calls.push({ service: 'S3', operation: 'GetObject', params: { Bucket: `acme-${i % 8}`, Key: `invoices/2024/o-${i}.pdf` } });
        break;
      case 1:
        calls.push({ service: 'DynamoDB', operation: 'GetItem', params: { TableName: `orders-${i % 50}`, Key: { id: { S: `o-${i}` } } } });
        break;
      case 2:
        calls.push({
          service: 'SQS',
          operation: 'SendMessage',
          params: { QueueUrl: `https://sqs.eu-west-1.amazonaws.com/123456789012/q-${i % 20}`, MessageBody: 'hello' },
        });
        break;
      default:
        calls.push({
          service: 'DynamoDB',
          operation: 'Query',
          params: {
            TableName: `orders-${i % 50}`,
            IndexName: 'by-customer',
            KeyConditionExpression: 'customer = :c',
            ExpressionAttributeValues: { ':c': { S: `c-${i}` } },
          },
        });
    }
  }
  return calls;
}

function rate(label, n, fn) {
  fn(Math.min(n, 20000)); // warm up
  const cpu = process.cpuUsage();
  const t = process.hrtime.bigint();
  fn(n);
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  const used = process.cpuUsage(cpu);
  const c = (used.user + used.system) / 1e6;
  // Calls per CPU-second too: on a busy machine the wall clock also counts other processes.
  console.log(
    `${label.padEnd(58)} ${String(n).padStart(9)} calls ${s.toFixed(3).padStart(7)} s ${Math.round(n / s).toLocaleString('en-US').padStart(11)} calls/s ${Math.round(n / c).toLocaleString('en-US').padStart(11)} calls/CPU-s`,
  );
  return n / s;
}

function benchRecord() {
  const calls = pools();
  const ctx = { region: 'eu-west-1', account: '123456789012' };
  console.log(`\n== record(): ${CALLS} calls over ${calls.length} distinct requests`);
  rate('record({params}) (params converted natively)', CALLS, (n) => {
    const r = new Recorder(ctx);
    for (let i = 0; i < n; i++) r.record(calls[i % calls.length]);
  });
  rate('record({paramsJson: JSON.stringify(params)})', CALLS, (n) => {
    const r = new Recorder(ctx);
    for (let i = 0; i < n; i++) {
      const c = calls[i % calls.length];
      r.record({ service: c.service, operation: c.operation, paramsJson: JSON.stringify(c.params) });
    }
  });
  rate('recordJson(service, operation, JSON.stringify(params))', CALLS, (n) => {
    const r = new Recorder(ctx);
    for (let i = 0; i < n; i++) {
      const c = calls[i % calls.length];
      r.recordJson(c.service, c.operation, JSON.stringify(c.params));
    }
  });
  rate('middleware path: plainInput + recordJson(... 11 arguments)', CALLS, (n) => {
    const r = new Recorder(ctx);
    for (let i = 0; i < n; i++) {
      const c = calls[i % calls.length];
      r.recordJson(c.service, c.operation, JSON.stringify(plainInput(c.params)), 'eu-west-1', undefined, undefined,
        'http://127.0.0.1:5000/', 'ok', undefined, undefined, 'orders.test.js › places an order');
    }
  });
  rate('record({params: plainInput(input), ...}) (object form)', CALLS, (n) => {
    const r = new Recorder(ctx);
    for (let i = 0; i < n; i++) {
      const c = calls[i % calls.length];
      r.record({
        service: c.service,
        operation: c.operation,
        params: plainInput(c.params),
        region: 'eu-west-1',
        endpoint: 'http://127.0.0.1:5000/',
        outcome: 'ok',
        source: 'orders.test.js › places an order',
      });
    }
  });
}

function writeEvents(dir) {
  const calls = pools();
  const jsonl = path.join(dir, 'calls.jsonl');
  const edn = path.join(dir, 'events.edn');
  const a = fs.openSync(jsonl, 'w');
  const b = fs.openSync(edn, 'w');
  let bufA = '';
  let bufB = '';
  for (let i = 0; i < EVENTS; i++) {
    const c = calls[i % calls.length];
    bufA += `${JSON.stringify({ service: c.service.toLowerCase(), operation: c.operation, params: c.params, region: 'eu-west-1' })}\n`;
    const kv = (o) =>
      `{${Object.entries(o)
        .map(([k, v]) => `:${k} ${typeof v === 'object' ? kv(v) : JSON.stringify(v)}`)
        .join(', ')}}`;
    bufB += `{:mulog/event-name :aws/request, :mulog/timestamp ${1700000000000 + i}, :mulog/outcome :ok, :api :${c.service.toLowerCase()}, :operation :${c.operation}, :request ${kv(c.params)}}\n`;
    if (bufA.length > 1 << 20) {
      fs.writeSync(a, bufA);
      fs.writeSync(b, bufB);
      bufA = '';
      bufB = '';
    }
  }
  fs.writeSync(a, bufA);
  fs.writeSync(b, bufB);
  fs.closeSync(a);
  fs.closeSync(b);
  return [
    ['jsonl', jsonl],
    ['mulog-edn', edn],
  ];
}

async function benchRead() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leastpriv-node-bench-'));
  try {
    const files = writeEvents(dir);
    console.log(`\n== reading ${EVENTS} events per file: binding vs CLI (${CLI})`);
    const haveCli = fs.existsSync(CLI);
    if (!haveCli) console.log('   (CLI not built: cargo build --release -p leastpriv --features cli)');
    for (const [name, file] of files) {
      const mb = fs.statSync(file).size / 1e6;
      const time = (fn) => {
        const t = process.hrtime.bigint();
        fn();
        return Number(process.hrtime.bigint() - t) / 1e9;
      };
      const opts = { region: 'eu-west-1', account: '123456789012' };
      let lines = 0;
      const sync = time(() => {
        const r = new Recorder();
        r.readSync(file);
        lines = r.permissions(opts).length;
      });
      const t0 = process.hrtime.bigint();
      const r = new Recorder();
      await r.read(file);
      const asyncS = Number(process.hrtime.bigint() - t0) / 1e9;
      const row = (label, s) =>
        console.log(
          `${`${name} ${label}`.padEnd(34)} ${mb.toFixed(1).padStart(7)} MB ${s.toFixed(3).padStart(7)} s ${Math.round(EVENTS / s).toLocaleString('en-US').padStart(11)} events/s ${(mb / s).toFixed(1).padStart(7)} MB/s`,
        );
      row('readSync + permissions()', sync);
      row('read() (async)', asyncS);
      if (haveCli) {
        let out;
        const cli = time(() => {
          out = spawnSync(CLI, ['permissions', file, '--region', 'eu-west-1', '--account', '123456789012'], {
            encoding: 'utf8',
            maxBuffer: 1 << 28,
          });
        });
        if (out.status !== 0) throw new Error(out.stderr);
        const cliLines = out.stdout.trim().split('\n').length;
        row('CLI `leastpriv permissions`', cli);
        if (cliLines !== lines) throw new Error(`binding found ${lines} permissions, the CLI ${cliLines}`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

(async () => {
  benchRecord();
  await benchRead();
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
