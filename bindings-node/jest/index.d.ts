/* Types of `leastpriv/jest`: the jest helpers. */
import type { PolicyOptions, Recorder } from '../leastpriv'
import type { Settings } from '../types'

/** Hooks whose calls are left out by default. */
export type Hook = 'beforeAll' | 'beforeEach' | 'afterEach' | 'afterAll'

/**
 * The options, as `globals.leastpriv` in the jest config: the test runner's settings, over the
 * project's configuration file (`leastpriv.toml`, `"leastpriv"` in `package.json`), under the
 * `LEASTPRIV_*` environment variables.
 */
export interface LeastprivJestOptions extends PolicyOptions {
  /** The configuration file (default: found from the working directory up); `none` for none. */
  config?: string
  /**
   * A declared policy to check against the calls (IAM JSON files): the global teardown fails
   * the run when a permission is missing (or a `failOn` kind occurs).
   */
  check?: string | string[] | { policy: string | string[]; failOn?: Array<'unused' | 'broad' | 'undecidable'> }
  /** Extra outputs: `variables` writes `variables.tf` beside a Terraform policy. */
  emit?: Array<'variables'>
  /** Where the policy is written (default `leastpriv-policy.json` in the root dir); `LEASTPRIV_OUT`. */
  out?: string
  /** `json` or `terraform` (default: from the extension of `out`, `.tf` → Terraform); `LEASTPRIV_FORMAT`. */
  format?: 'json' | 'terraform'
  /** Also write the merged result in the CLI's format (`leastpriv policy FILE`); `LEASTPRIV_STATE`. */
  state?: string
  /** Also write a JSON report: counts, permissions with evidence, diagnostics; `LEASTPRIV_REPORT`. */
  report?: string
  /** Record calls made in hooks too: `true`, or the hooks to record; `LEASTPRIV_INCLUDE_HOOKS`. */
  includeHooks?: boolean | Hook[]
  /** The principal of every call (for `groupBy`). */
  principal?: string
  /** Your own rules files or directories. */
  rules?: string | string[]
  /** No summary on stderr at the end. */
  quiet?: boolean
}

/** The run's settings as the core resolves them (`globals.leastpriv` as the runner's layer). */
export declare function settings(fromConfig: LeastprivJestOptions | undefined, rootDir: string): Settings
/** jest `globalSetup`: makes the directory of the partial results. */
export declare function globalSetup(globalConfig?: unknown, projectConfig?: unknown): Promise<void>
/** jest `globalTeardown`: merges the partial results and writes the policy, atomically. */
export declare function globalTeardown(globalConfig?: unknown, projectConfig?: unknown): Promise<void>
/** The recorder of the current test file (with the setup file), else `undefined`. */
export declare function recorder(): Recorder | undefined
/** Runs `fn` with recording paused and returns its result (a promise settles before resuming). */
export declare function paused<T>(fn: () => T): T
/**
 * Records the AWS SDK v3 clients of the current module registry: call it after a
 * `jest.resetModules()` inside a test, or inside a `jest.isolateModules()` callback, once the
 * code that makes the clients is required (a reset in a `beforeEach` / `beforeAll` hook needs
 * nothing). Returns how many client base classes are recorded (0 without the setup file).
 */
export declare function rebind(): number
/** The options from a config object and the environment. */
export declare function resolveOptions(fromConfig?: LeastprivJestOptions): LeastprivJestOptions
/** Writes a file atomically: a temporary file in the same directory, then a rename. */
export declare function writeAtomic(file: string, data: string | Uint8Array): void
/** The environment variable that names the directory of partial results. */
export declare const PARTS_ENV: string
