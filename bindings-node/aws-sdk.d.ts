/* Types of `leastpriv/aws-sdk`: the AWS SDK for JavaScript v3 middleware. */
import type { Recorder } from './index'

/** What `instrument()` needs of a recorder (a `Recorder`, or a stand-in with these members). */
export interface RecorderLike {
  record: Recorder['record']
  readonly isPaused: boolean
}

/** Options of `instrument()`. */
export interface InstrumentOptions {
  /** A label for the calls (a test name), or a function asked on each call: the evidence. */
  source?: string | (() => string | undefined)
  /** Which application, service or role makes the calls (for `groupBy`), or a function. */
  principal?: string | (() => string | undefined)
  /** `false` (or a function returning `false`) leaves calls out, like a paused recorder. */
  enabled?: boolean | (() => boolean)
  /**
   * Members left out of the input before it is copied, at its top and in the objects of its
   * top-level lists. Default: `Body`, `Payload`, `MessageBody`, `Message`, `Detail`.
   */
  payloadMembers?: Iterable<string>
}

/** An AWS SDK v3 client (anything with a middleware stack). */
export interface SdkClient {
  middlewareStack: { add: (...args: any[]) => void }
  config?: { serviceId?: string; region?: string | (() => Promise<string>) }
}

/**
 * Adds a middleware to an AWS SDK v3 client that records each call: the service
 * (`client.config.serviceId`), the operation (the command name without `Command`), the
 * command input as plain data, the resolved region and endpoint, and the outcome (success, or
 * the error's `name`). The call's result or error is passed on untouched; payloads (bodies,
 * streams, `Uint8Array`s, class instances) are never read or copied. A client can feed several
 * recorders: instrumenting it with another recorder adds that recorder (one middleware records
 * each call into all of them); instrumenting it again with the same recorder replaces that
 * recorder's options. Returns the client.
 */
export declare function instrument<C extends SdkClient>(client: C, recorder: RecorderLike, options?: InstrumentOptions): C

/**
 * The command input as plain data: strings, numbers, booleans, arrays and plain objects;
 * payload members, binary data, streams and class instances left out without being read.
 */
export declare function plainInput(input: unknown, payloadMembers?: Set<string>): Record<string, unknown>

/**
 * Wraps `send` of an SDK client base class (`Client` of `@smithy/smithy-client`) once, so that
 * every client of it is instrumented on its first call with the recorder `getState()` returns
 * (`undefined`: leave the call alone); recorders a client already feeds keep receiving its
 * calls. Returns `false` if `Client` has no `send`.
 */
export declare function patchClientClass(
  Client: { prototype: { send: (...args: any[]) => any } },
  getState: () => { recorder: RecorderLike; options?: InstrumentOptions } | undefined,
): boolean

/** Whether `patchClientClass()` has wrapped `send` of `Client`. */
export declare function isPatched(Client: { prototype: { send: (...args: any[]) => any } }): boolean

/** The members left out by default: `Body`, `Payload`, `MessageBody`, `Message`, `Detail`. */
export declare const PAYLOAD_MEMBERS: ReadonlySet<string>
/** The middleware's name in the client's middleware stack. */
export declare const MIDDLEWARE_NAME: string
