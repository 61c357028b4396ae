'use strict';
// AWS SDK for JavaScript v3: a middleware that records every call a client makes.
//
// The middleware sits in the `initialize` step, around everything else: it copies the
// command's input as plain data (never reading payloads), lets the call run, and records the
// service, the operation, the input, the resolved region and endpoint and the outcome. The
// call's result or error goes back to the caller untouched; a failure to record is reported
// once on stderr and never thrown.

const MIDDLEWARE_NAME = 'leastprivRecorder';
const INSTRUMENTED = Symbol.for('leastpriv.instrumented');
const PATCHED = Symbol.for('leastpriv.patchedSend');

/**
 * Members holding message bodies and other payloads. They never name a resource, so they are
 * left out before anything is copied: at the top of the input, and in the objects of
 * top-level lists (`Entries[].MessageBody`, `PublishBatchRequestEntries[].Message`).
 */
const PAYLOAD_MEMBERS = new Set(['Body', 'Payload', 'MessageBody', 'Message', 'Detail']);

const MAX_DEPTH = 32;
const MAX_STRING = 65536;

function isPlainObject(value) {
  const proto = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

function copyValue(value, depth, dropPayload, payloadMembers) {
  switch (typeof value) {
    case 'string':
      return value.length <= MAX_STRING ? value : undefined;
    case 'number':
    case 'boolean':
      return value;
    case 'bigint':
      return String(value);
    case 'object': {
      if (value === null) return null;
      if (depth >= MAX_DEPTH) return undefined;
      if (Array.isArray(value)) {
        const out = new Array(value.length);
        for (let i = 0; i < value.length; i++) {
          const v = copyValue(value[i], depth + 1, depth === 1, payloadMembers);
          out[i] = v === undefined ? null : v;
        }
        return out;
      }
      // Uint8Array, Buffer, streams, Blob, Date, class instances: left out, unread.
      if (!isPlainObject(value)) return undefined;
      const out = {};
      for (const key of Object.keys(value)) {
        if (dropPayload && payloadMembers.has(key)) continue;
        const v = copyValue(value[key], depth + 1, false, payloadMembers);
        if (v !== undefined) out[key] = v;
      }
      return out;
    }
    default:
      // undefined, functions, symbols
      return undefined;
  }
}

/**
 * The command input as plain data: payload members, binary data, streams and class instances
 * left out without being read.
 * @param {unknown} input
 * @param {Set<string>} [payloadMembers]
 * @returns {Record<string, unknown>}
 */
function plainInput(input, payloadMembers = PAYLOAD_MEMBERS) {
  if (input === null || typeof input !== 'object' || !isPlainObject(input)) return {};
  return copyValue(input, 0, true, payloadMembers) || {};
}

let warned = false;
function warnOnce(err) {
  if (warned) return;
  warned = true;
  process.emitWarning(`leastpriv: could not record an AWS call: ${err && err.message}`, {
    code: 'LEASTPRIV_RECORD',
  });
}

async function resolveRegion(config) {
  try {
    const region = config && config.region;
    const value = typeof region === 'function' ? await region() : region;
    return typeof value === 'string' && value ? value : undefined;
  } catch {
    return undefined;
  }
}

function endpointOf(context) {
  const url = context && context.endpointV2 && context.endpointV2.url;
  if (!url) return undefined;
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return undefined;
  }
}

function evaluate(option) {
  return typeof option === 'function' ? option() : option;
}

function operationOf(context, args) {
  const name = (context && context.commandName) || '';
  if (name) return name.endsWith('Command') ? name.slice(0, -'Command'.length) : name;
  return undefined;
}

/**
 * Adds the recording middleware to an AWS SDK v3 client (idempotent: a second call replaces
 * the first). Returns the client.
 * @template C
 * @param {C} client
 * @param {import('./index').Recorder} recorder
 * @param {import('./aws-sdk').InstrumentOptions} [options]
 * @returns {C}
 */
function instrument(client, recorder, options = {}) {
  if (!client || !client.middlewareStack || typeof client.middlewareStack.add !== 'function') {
    throw new TypeError('leastpriv: instrument(client, recorder): not an AWS SDK v3 client');
  }
  if (!recorder || typeof recorder.record !== 'function') {
    throw new TypeError('leastpriv: instrument(client, recorder): not a Recorder');
  }
  const payloadMembers = options.payloadMembers
    ? new Set(options.payloadMembers)
    : PAYLOAD_MEMBERS;
  const config = client.config || {};
  const middleware = (next, context) => async (args) => {
    if (recorder.isPaused || evaluate(options.enabled) === false) return next(args);
    let params;
    let source;
    let principal;
    try {
      params = plainInput(args && args.input, payloadMembers);
      source = evaluate(options.source);
      principal = evaluate(options.principal);
    } catch (err) {
      warnOnce(err);
      return next(args);
    }
    let outcome = 'ok';
    let errorCode;
    try {
      return await next(args);
    } catch (err) {
      outcome = 'error';
      errorCode = (err && (err.name || err.Code || err.code)) || undefined;
      if (typeof errorCode !== 'string') errorCode = undefined;
      throw err;
    } finally {
      try {
        const service = config.serviceId || (context && context.clientName) || 'unknown';
        const operation = operationOf(context, args);
        if (operation) {
          const region = await resolveRegion(config);
          const endpoint = endpointOf(context);
          const p = typeof principal === 'string' ? principal : undefined;
          const s = typeof source === 'string' ? source : undefined;
          if (typeof recorder.recordJson === 'function') {
            // The fast path: positional arguments, the params as JSON text.
            recorder.recordJson(service, operation, JSON.stringify(params), region, undefined, undefined, endpoint, outcome, errorCode, p, s);
          } else {
            recorder.record({ service, operation, params, region, endpoint, outcome, errorCode, principal: p, source: s });
          }
        }
      } catch (err) {
        warnOnce(err);
      }
    }
  };
  client.middlewareStack.add(middleware, {
    step: 'initialize',
    name: MIDDLEWARE_NAME,
    override: true,
    tags: ['LEASTPRIV'],
  });
  try {
    Object.defineProperty(client, INSTRUMENTED, {
      value: recorder,
      configurable: true,
      enumerable: false,
      writable: true,
    });
  } catch {
    // a frozen client still works; it only cannot be marked.
  }
  return client;
}

/**
 * Records every client created from `Client` (the `@smithy/smithy-client` base class of all SDK
 * v3 clients): `Client.prototype.send` is wrapped once, and each client is instrumented on its
 * first `send`. `getState()` is asked on each send for the recorder and options in force
 * (`undefined` to leave the call alone).
 * @param {{prototype: {send: Function}}} Client
 * @param {() => ({recorder: import('./index').Recorder, options?: object} | undefined)} getState
 */
function patchClientClass(Client, getState) {
  const proto = Client && Client.prototype;
  if (!proto || typeof proto.send !== 'function') return false;
  if (proto.send[PATCHED]) {
    proto.send[PATCHED].getState = getState;
    return true;
  }
  const original = proto.send;
  const holder = { getState };
  function send(...args) {
    try {
      const state = holder.getState();
      if (state && state.recorder && this[INSTRUMENTED] !== state.recorder) {
        instrument(this, state.recorder, state.options);
      }
    } catch (err) {
      warnOnce(err);
    }
    return original.apply(this, args);
  }
  send[PATCHED] = holder;
  proto.send = send;
  return true;
}

module.exports = { instrument, plainInput, patchClientClass, PAYLOAD_MEMBERS, MIDDLEWARE_NAME };
