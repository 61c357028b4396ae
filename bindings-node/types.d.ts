/**
 * The shapes of the data `leastpriv` takes and returns: the core's JSON forms, the same in the
 * Python package. Options are checked by the core (an unknown option, or a value of the wrong
 * form, is an `Error` with `code` `usage` naming it in `field`); their names may be written in
 * camelCase (`eventName`) or as the core spells them (`event_name`).
 */

/** Options of `new Recorder(...)` and `Recorder.deserialize(...)`. */
export interface RecorderOptions {
  /** Region of calls recorded without one, and of resources whose region is unknown. */
  region?: string
  /** Account of calls recorded without one (12 digits). */
  account?: string
  /** Partition of calls recorded without one (by default derived from the region). */
  partition?: string
  /** Your own rules files, or directories of them, over the built-in ones. */
  rules?: string | Array<string>
}

/** Options of `read()`, `readSync()` and `readBuffer()`. */
export interface ReadOptions {
  /** `auto` (the default: detected from the content), `mulog-edn`, `mulog-json`, `jsonl`, `cloudtrail` or `observed`. */
  format?: 'auto' | 'mulog-edn' | 'edn' | 'mulog-json' | 'jsonl' | 'json-lines' | 'cloudtrail' | 'observed'
  /** Skip malformed events (counted in `counts.malformed`, listed in `malformedAt`). */
  lenient?: boolean
  /** The μ/log event name to use (default `aws/request`). */
  eventName?: string
  /** The μ/log event key holding the principal (`app-name`), for `groupBy`. */
  principalKey?: string
  /** The largest event read: bytes, or a size such as `16M` (the default). */
  maxEventSize?: number | string
  /** CloudTrail: keep only the records of principals matching these ARN globs (IAM wildcards). */
  principal?: string | string[]
  /** CloudTrail: `all` (the default), `only` read-only records (`readOnly: true`), or `skip` them. */
  readOnly?: 'all' | 'only' | 'skip'
  /** `readBuffer()` only: the name of the input in errors and evidence (default `input`). */
  label?: string
}

/** Options of `policy()`, `permissions()` and `evidence()`. */
export interface PolicyOptions {
  /** The policy name (Terraform block names): letters, digits, `-`, `_`. Default `leastpriv`. */
  name?: string
  /** Region for resources whose region is unknown (default: the recorder's). */
  region?: string
  /** Account for resources whose account is unknown (default: the recorder's). */
  account?: string
  /** Partition for resources whose partition is unknown. */
  partition?: string
  /** Accounts to rewrite: `{"123456789012": "210987654321"}`, or `"FROM=TO"` strings. */
  mapAccount?: Record<string, string> | Array<string> | string
  /** Regions to rewrite, as `mapAccount`. */
  mapRegion?: Record<string, string> | Array<string> | string
  /** `all` (the default: a call that failed still needed its permission) or `ok`. */
  outcome?: 'ok' | 'all'
  /** Action globs to leave out (`sts:*`). */
  exclude?: Array<string> | string
  /** S3 keys as used, their common prefix per bucket and action (the default), or `bucket/*`. */
  s3Objects?: 'exact' | 'prefix' | 'bucket'
  /** One policy per principal. */
  groupBy?: boolean
  /** The size limit per document, in characters (default 6144, IAM's managed-policy limit). */
  maxSize?: number
  /** Rewrite rules: test names to production names or Terraform references. */
  rewrite?: Array<RewriteRule>
  /** The environment the policy is for (`<env>` in rewrite templates). */
  env?: string
  /** The environment's values (`<NAME>` in rewrite templates). */
  values?: Record<string, string>
}

/** A rewrite rule (`[[rewrite]]` in `leastpriv.toml`). */
export interface RewriteRule {
  /** The glob a name must match, whole (`*` captures, `?` one character). */
  match: string
  /** The production name: letters, digits, `-_.+=,@`, `<N>` captures, `<env>`, `<NAME>` values. */
  name: string
  /** The IAM service prefix the resource must be of (`s3`). */
  service?: string
  /** The resource type of the ARN up to the name (`bucket`, `table`). */
  type?: string
  /** A Terraform reference that yields the name (`aws_s3_bucket.orders.bucket`). */
  terraform_name?: string
  /** A Terraform reference that yields the ARN up to the name (`aws_s3_bucket.orders.arn`). */
  terraform_arn?: string
}

/** What `resolveSettings()` returns: the configuration file under the runner's settings, the
 * `LEASTPRIV_*` environment variables and the command line. */
export interface Settings {
  /** Options of `Recorder.read()`. */
  read: Record<string, unknown>
  /** Options of `Recorder.policy()`. */
  policy: PolicyOptions & Record<string, unknown>
  /** Where the policy is written (absolute when it came from the configuration file). */
  out: string | null
  /** `json` or `terraform` (from the extension of `out` when not said). */
  out_format: 'json' | 'terraform' | null
  /** Rules files or directories. */
  rules: Array<string>
  /** Extra files: `variables` (a `variables.tf` beside a Terraform output). */
  emit: Array<string>
  /** The AWS provider's major version for Terraform. */
  terraform_provider: number | null
  /** Diagnostic kinds that fail the run. */
  fail_on: Array<string>
  /** The `check` table. */
  check: Record<string, unknown> | null
  /** The configuration file read, if any. */
  config: string | null
}

/** Options of `Policy.toTerraform()`. */
export interface TerraformRenderOptions {
  /** The AWS provider's major version (4 or later; 5 writes `data.aws_region.current.name`). */
  provider?: number
  /** Declare the `aws_partition`, `aws_region` and `aws_caller_identity` data sources (default true). */
  dataSources?: boolean
}

/** One AWS call, as `record()` takes it. */
export interface RecordCall {
  /** The service in any dialect: `S3`, `DynamoDB`, `S3Client`, `@aws-sdk/client-s3`, `s3`. */
  service: string
  /** The operation: `GetObject` (a trailing `Command` is accepted). */
  operation: string
  /** The request parameters as passed to the SDK; only plain data the rules read is looked at. */
  params?: Record<string, unknown>
  /** The parameters as JSON text, used when `params` is absent. */
  paramsJson?: string
  region?: string
  account?: string
  partition?: string
  /** The endpoint URL the client called. */
  endpoint?: string
  /** `ok` (the default) or `error`. */
  outcome?: 'ok' | 'error'
  /** The error code when the call failed: it makes the call failed whatever `outcome` says. */
  errorCode?: string
  /** Which application, service or role made the call (for `groupBy`). */
  principal?: string
  /** Where the call came from (a test name): the evidence of the permissions it needed. */
  source?: string
}

/** Where something was first seen: a source (file, test name) and a line (0 when none). */
export interface Evidence {
  source: string
  line: number
}

/** What a recorder has seen. */
export interface Counts {
  calls: number
  skipped: number
  malformed: number
}

export type Condition = Record<string, Record<string, string[]>>

/** One raw permission, as `leastpriv permissions` prints it. */
export interface PermissionLine {
  action: string
  resource: string
  condition?: Condition
}

/** One permission with how often it was needed and where first. */
export interface EvidenceLine extends PermissionLine {
  principal: string | null
  ok: number
  failed: number
  first: Evidence
}

/** A note about how calls were mapped, with how often and where first. */
export interface Diagnostic {
  kind:
    | 'unmapped_operation'
    | 'unknown_service'
    | 'wildcard'
    | 'broadened'
    | 'permissionless'
    | 'failed_only'
    | 'gap'
    | 'generated'
    | 'dependent'
    | 'oversize'
    | 'quota'
    | 'random_name'
    | 'stale_rewrite'
    | 'denied'
    | 'no_data_events'
  service: string
  operation: string
  message: string
  action?: string
  hint?: Record<string, string>
  count: number
  ok: number
  failed: number
  first: Evidence
}

export interface PolicyStatement {
  Sid: string
  Effect: 'Allow'
  Action: Array<string>
  Resource: Array<string>
  Condition?: Condition
}

export interface PolicyDocument {
  Version: '2012-10-17'
  Statement: Array<PolicyStatement>
}

/** A policy: one, or one per principal with `groupBy`. */
export interface NamedPolicy {
  name: string
  principal: string | null
  documents: Array<PolicyDocument>
}

/** `Policy.result`: the whole result, the same in every language. */
export interface PolicyResult {
  policies: Array<NamedPolicy>
  diagnostics: Array<Diagnostic>
  counts: Counts
  malformed_at: Array<Evidence>
  statements: number
  documents: number
}

/** A finding of `check()`. */
export interface CheckFinding {
  kind: 'missing' | 'unused' | 'broad' | 'undecidable'
  message: string
  action?: string
  resource?: string
  /** The declared statement involved: file, line, Sid. */
  statement?: { path: string; line: number | null; sid: string | null }
  /** The first call that needed the permission. */
  first?: { source: string; line: number }
  /** What the generator would write instead (`broad`). */
  suggestion?: { Action?: string[]; Resource?: string[] }
}

/** What `check()` returns (`spec/schema/check.schema.json`). */
export interface CheckResult {
  format: 'leastpriv-check'
  version: 1
  permissions: number
  counts: { missing: number; unused: number; broad: number; undecidable: number }
  findings: CheckFinding[]
  /** Needed permissions whose partition, region or account the calls did not tell. */
  gaps: number
  /** References of a Terraform policy that stayed unresolved (they match nothing). */
  unresolved: Array<{ path: string; line: number; reference: string }>
}
