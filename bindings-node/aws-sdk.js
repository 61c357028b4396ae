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
 * The recorders of a middleware stack, each with its options: `[{recorder, options,
 * payloadMembers}]`. Kept on the stack itself (clients that share a stack, such as a
 * `DynamoDBDocumentClient` and its `DynamoDBClient`, share the list), under a global symbol so
 * that every copy of this module (a jest sandbox after `resetModules()`) sees the same list.
 */
const RECORDERS = Symbol.for('leastpriv.recorders');

function recordersOf(client) {
  const stack = client && client.middlewareStack;
  const list = stack && stack[RECORDERS];
  return Array.isArray(list) ? list : undefined;
}

/** Whether `recorder` already receives the calls of `client`. */
function isInstrumented(client, recorder) {
  const list = recordersOf(client);
  return !!list && list.some((e) => e.recorder === recorder);
}

function recordInto(recorder, call) {
  if (typeof recorder.recordJson === 'function') {
    // The fast path: positional arguments, the params as JSON text.
    recorder.recordJson(call.service, call.operation, JSON.stringify(call.params), call.region, undefined, undefined, call.endpoint, call.outcome, call.errorCode, call.principal, call.source);
  } else {
    recorder.record(call);
  }
}

function makeMiddleware(list, config) {
  return (next, context) => async (args) => {
    // The recorders that take this call, as of its start.
    const active = [];
    const copies = new Map(); // one copy of the input per list of payload members
    for (const entry of list) {
      try {
        if (entry.recorder.isPaused || evaluate(entry.options.enabled) === false) continue;
        let params = copies.get(entry.payloadMembers);
        if (params === undefined) {
          params = plainInput(args && args.input, entry.payloadMembers);
          copies.set(entry.payloadMembers, params);
        }
        const source = evaluate(entry.options.source);
        const principal = evaluate(entry.options.principal);
        active.push({
          recorder: entry.recorder,
          params,
          source: typeof source === 'string' ? source : undefined,
          principal: typeof principal === 'string' ? principal : undefined,
        });
      } catch (err) {
        warnOnce(err);
      }
    }
    if (active.length === 0) return next(args);
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
          for (const a of active) {
            try {
              recordInto(a.recorder, {
                service,
                operation,
                params: a.params,
                region,
                endpoint,
                outcome,
                errorCode,
                principal: a.principal,
                source: a.source,
              });
            } catch (err) {
              warnOnce(err);
            }
          }
        }
      } catch (err) {
        warnOnce(err);
      }
    }
  };
}

/**
 * Adds the recording middleware to an AWS SDK v3 client. A client can feed several recorders
 * (one middleware records each call into all of them): instrumenting it with another recorder
 * adds that recorder; instrumenting it again with the same recorder replaces that recorder's
 * options. Returns the client.
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
  const opts = options || {};
  const entry = {
    recorder,
    options: opts,
    payloadMembers: opts.payloadMembers ? new Set(opts.payloadMembers) : PAYLOAD_MEMBERS,
  };
  const stack = client.middlewareStack;
  let list = recordersOf(client);
  if (!list) {
    list = [];
    try {
      Object.defineProperty(stack, RECORDERS, {
        value: list,
        configurable: true,
        enumerable: false,
        writable: true,
      });
    } catch {
      // a frozen stack: this middleware records into this recorder only.
    }
  }
  const at = list.findIndex((e) => e.recorder === recorder);
  if (at >= 0) list[at] = entry;
  else list.push(entry);
  // (Re-)added under one name: the one middleware feeds every recorder of the list.
  stack.add(makeMiddleware(list, client.config || {}), {
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
 * (`undefined` to leave the call alone). Recorders the client already feeds (your own
 * `instrument(client, myRecorder)`) keep receiving its calls.
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
      if (state && state.recorder && !isInstrumented(this, state.recorder)) {
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

/** Whether `patchClientClass` has wrapped `send` of `Client`. */
function isPatched(Client) {
  const proto = Client && Client.prototype;
  return !!(proto && typeof proto.send === 'function' && proto.send[PATCHED]);
}

module.exports = { instrument, plainInput, patchClientClass, isPatched, PAYLOAD_MEMBERS, MIDDLEWARE_NAME };
