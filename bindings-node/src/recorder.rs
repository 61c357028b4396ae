//! `Recorder`: the permissions seen so far (a core `Observed`), fed by `record()` and by files.

use crate::arg::{arg, opt};
use crate::error::{panicked, to_js, usage};
use crate::options::{PolicyOptions, ReadOptions, RecorderOptions, policy_options};
use crate::policy::Policy;
use crate::value::select_json;
use leastpriv::{Call, Observed, Outcome, Rules, RulesBuilder, Selection, Source};
use napi::bindgen_prelude::{
    AsyncTask, Buffer, Either, FromNapiValue, Function, PromiseRaw, Uint8Array, Unknown,
};
use napi::{Env, JsValue, Task};
use napi_derive::napi;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// One AWS call, as `record()` takes it.
#[napi(object, object_to_js = false)]
#[allow(missing_debug_implementations)] // `Unknown` has no `Debug`
pub struct RecordCall<'a> {
    /// The service in any dialect: the SDK v3 `serviceId` (`S3`, `DynamoDB`, `SFN`), a client
    /// class or package name (`S3Client`, `@aws-sdk/client-s3`), an IAM prefix (`s3`).
    pub service: String,
    /// The operation: `GetObject` (a trailing `Command` is accepted: `GetObjectCommand`).
    pub operation: String,
    /// The request parameters as passed to the SDK (`{Bucket, Key}`). Only plain data is read:
    /// `Uint8Array`s, `Buffer`s, streams, `Blob`s and other class instances are left out
    /// without being read.
    #[napi(ts_type = "Record<string, unknown>")]
    pub params: Option<Unknown<'a>>,
    /// The parameters as JSON text: used when `params` is absent (handy when you already have
    /// the JSON).
    pub params_json: Option<String>,
    /// The region the client called (default: the recorder's).
    pub region: Option<String>,
    /// The account the client called as (default: the recorder's).
    pub account: Option<String>,
    /// The partition (default: the recorder's, else derived from the region).
    pub partition: Option<String>,
    /// The endpoint URL the client called (`http://127.0.0.1:5000`).
    pub endpoint: Option<String>,
    /// `ok` (the default) or `error`.
    #[napi(ts_type = "'ok' | 'error'")]
    pub outcome: Option<String>,
    /// The error code or name when the call failed (`AccessDenied`, `NoSuchKey`); implies
    /// `outcome: 'error'` when `outcome` is not given.
    pub error_code: Option<String>,
    /// Which application, service or role made the call (for `groupBy`).
    pub principal: Option<String>,
    /// Where the call came from (a test name): the evidence of the permissions it needed.
    pub source: Option<String>,
}

/// Counts of what a recorder has seen.
#[napi(object)]
#[derive(Debug)]
pub struct Counts {
    /// Calls recorded or read.
    pub calls: f64,
    /// μ/log events skipped because their event name did not match.
    pub skipped: f64,
    /// Malformed events skipped by `lenient` reading.
    pub malformed: f64,
}

/// A place in the input: a file (or label) and a 1-based line (0 when none).
#[napi(object)]
#[derive(Debug)]
pub struct Location {
    /// The file name or label (empty when unknown).
    pub source: String,
    /// The 1-based line, or 0.
    pub line: f64,
}

/// One raw permission, as `leastpriv permissions` prints it.
#[napi(object)]
#[derive(Debug)]
pub struct PermissionLine {
    /// The IAM action, `s3:GetObject`.
    pub action: String,
    /// The resource ARN (`*` in fields still unknown).
    pub resource: String,
    /// The IAM condition block, when the permission is needed only under one.
    #[napi(ts_type = "Record<string, Record<string, string[]>>")]
    pub condition: Option<serde_json::Value>,
}

/// One permission with how often it was needed and where first.
#[napi(object)]
#[derive(Debug)]
pub struct PermissionEvidence {
    /// The IAM action.
    pub action: String,
    /// The resource ARN, after the options (`*` in fields still unknown).
    pub resource: String,
    /// The condition block, if any.
    #[napi(ts_type = "Record<string, Record<string, string[]>>")]
    pub condition: Option<serde_json::Value>,
    /// The principal of the calls, if any.
    pub principal: Option<String>,
    /// Calls that needed it and succeeded.
    pub ok: f64,
    /// Calls that needed it and failed.
    pub failed: f64,
    /// The first evidence: the smallest source (file or test name) and line that needed it.
    pub first: Location,
}

#[derive(Debug)]
struct Shared {
    observed: Mutex<Observed>,
    paused: AtomicU32,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Observed> {
        // A panic while holding the lock cannot leave `Observed` half-updated in a way that
        // matters more than losing the recorder: keep going with what is there.
        self.observed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Records AWS calls and reads event files; builds the least-privilege policy they need.
///
/// ```ts
/// import { Recorder } from 'leastpriv';
/// const rec = new Recorder({ region: 'eu-west-1', account: '123456789012' });
/// rec.record({ service: 'S3', operation: 'GetObject', params: { Bucket: 'b', Key: 'k' } });
/// console.log(rec.policy().toJson());
/// ```
#[napi]
#[derive(Debug)]
pub struct Recorder {
    shared: Arc<Shared>,
    rules: Arc<Rules>,
    defaults: RecorderOptions,
    /// The rules' selection per service and operation name as given (computed once).
    selections: Mutex<HashMap<(String, String), Arc<Selection>>>,
}

impl Recorder {
    fn with(defaults: RecorderOptions, rules: Arc<Rules>, observed: Observed) -> Recorder {
        Recorder {
            shared: Arc::new(Shared {
                observed: Mutex::new(observed),
                paused: AtomicU32::new(0),
            }),
            rules,
            defaults,
            selections: Mutex::new(HashMap::new()),
        }
    }

    /// What the rules read of the parameters of `operation` of `service`.
    fn selection(&self, service: &str, operation: &str) -> Arc<Selection> {
        let mut cache = self.selections.lock().unwrap_or_else(|p| p.into_inner());
        let key = (service.to_owned(), operation.to_owned());
        if let Some(s) = cache.get(&key) {
            return Arc::clone(s);
        }
        let s = Arc::new(self.rules.selection(service, operation));
        cache.insert(key, Arc::clone(&s));
        s
    }

    fn call_from(&self, c: &RecordCall<'_>) -> Result<Call, leastpriv::Error> {
        let params = match (&c.params, &c.params_json) {
            (Some(p), _) => {
                let sel = self.selection(&c.service, &c.operation);
                select_json(&sel, p)?.unwrap_or_default()
            }
            (None, Some(text)) => parse_params(text)?,
            (None, None) => serde_json::Value::Null,
        };
        self.build_call(
            &c.service,
            &c.operation,
            params,
            Context {
                region: c.region.as_deref(),
                account: c.account.as_deref(),
                partition: c.partition.as_deref(),
                endpoint: c.endpoint.as_deref(),
                outcome: c.outcome.as_deref(),
                error_code: c.error_code.as_deref(),
                principal: c.principal.as_deref(),
                source: c.source.as_deref(),
            },
        )
    }

    fn build_call(
        &self,
        service: &str,
        operation: &str,
        params: serde_json::Value,
        c: Context<'_>,
    ) -> Result<Call, leastpriv::Error> {
        let params = match params {
            serde_json::Value::Null => serde_json::Value::Object(Default::default()),
            v @ serde_json::Value::Object(_) => v,
            _ => return Err(usage("params must be an object").with_field("params")),
        };
        if service.trim().is_empty() {
            return Err(usage("service must not be empty").with_field("service"));
        }
        if operation.trim().is_empty() {
            return Err(usage("operation must not be empty").with_field("operation"));
        }
        let code = || c.error_code.map(str::to_owned);
        let outcome = match c.outcome {
            None if c.error_code.is_some() => Outcome::Error { code: code() },
            None | Some("ok") => Outcome::Ok,
            Some("error") => Outcome::Error { code: code() },
            Some(other) => {
                return Err(
                    usage(format!("outcome `{other}`: expected ok or error")).with_field("outcome")
                );
            }
        };
        let or_default =
            |v: Option<&str>, d: &Option<String>| v.map(str::to_owned).or_else(|| d.clone());
        let call = Call {
            service: service.to_owned(),
            operation: operation.to_owned(),
            params,
            region: or_default(c.region, &self.defaults.region),
            account: or_default(c.account, &self.defaults.account),
            partition: or_default(c.partition, &self.defaults.partition),
            endpoint: c.endpoint.map(str::to_owned),
            outcome,
            principal: c.principal.filter(|p| !p.is_empty()).map(str::to_owned),
            source: c.source.map(Source::label).unwrap_or_default(),
        };
        call.validate_arguments()?;
        Ok(call)
    }
}

/// The optional parts of a call, borrowed from either form of `record`.
struct Context<'a> {
    region: Option<&'a str>,
    account: Option<&'a str>,
    partition: Option<&'a str>,
    endpoint: Option<&'a str>,
    outcome: Option<&'a str>,
    error_code: Option<&'a str>,
    principal: Option<&'a str>,
    source: Option<&'a str>,
}

fn parse_params(text: &str) -> Result<serde_json::Value, leastpriv::Error> {
    serde_json::from_str(text)
        .map_err(|_| usage("paramsJson is not valid JSON").with_field("paramsJson"))
}

fn rules_for(opts: &RecorderOptions) -> Result<Arc<Rules>, leastpriv::Error> {
    let paths = opts.rule_paths();
    if paths.is_empty() {
        return Ok(Rules::builtin());
    }
    let mut b = RulesBuilder::new();
    for p in &paths {
        b.add_path(p)?;
    }
    Ok(Arc::new(b.build()?))
}

fn guarded<T>(what: &str, f: impl FnOnce() -> napi::Result<T>) -> napi::Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(panicked(what)))
}

#[napi]
impl Recorder {
    /// A new, empty recorder. `region`, `account` and `partition` fill in calls recorded
    /// without them, and are the defaults of `policy()` and `permissions()`. Throws an error
    /// with `code` `rules`, `not_found` or `io` when a `rules` file cannot be loaded.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        #[napi(ts_arg_type = "RecorderOptions | undefined | null")] options: Option<Unknown<'_>>,
    ) -> napi::Result<Recorder> {
        guarded("new Recorder", || {
            let defaults: RecorderOptions = opt(&env, options)?.unwrap_or_default();
            let rules = rules_for(&defaults).map_err(|e| to_js(&env, &e))?;
            Ok(Recorder::with(defaults, rules, Observed::new()))
        })
    }

    /// Records one call: derives the permissions it needs and adds them. Returns `false`
    /// (and records nothing) while the recorder is paused. Throws an error with `code`
    /// `usage` when the call is malformed (empty `service` or `operation`, a bad `outcome`).
    #[napi]
    pub fn record(
        &self,
        env: Env,
        #[napi(ts_arg_type = "RecordCall")] call: Unknown<'_>,
    ) -> napi::Result<bool> {
        guarded("record", || {
            if self.shared.paused.load(Ordering::Relaxed) > 0 {
                return Ok(false);
            }
            let call: RecordCall<'_> = arg(&env, call)?;
            let call = self.call_from(&call).map_err(|e| to_js(&env, &e))?;
            let derived = leastpriv::derive(&self.rules, &call);
            self.shared.lock().add(
                &derived,
                call.principal.as_deref(),
                call.outcome.is_ok(),
                &call.source,
            );
            Ok(true)
        })
    }

    /// The fast form of `record()`, for instrumentation code: positional arguments and the
    /// parameters as JSON text (`JSON.stringify` of plain data). Same result and errors as
    /// `record({service, operation, paramsJson, region, account, partition, endpoint, outcome,
    /// errorCode, principal, source})`.
    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn record_json(
        &self,
        env: Env,
        #[napi(ts_arg_type = "string")] service: Unknown<'_>,
        #[napi(ts_arg_type = "string")] operation: Unknown<'_>,
        #[napi(ts_arg_type = "string | undefined | null")] params_json: Option<Unknown<'_>>,
        #[napi(ts_arg_type = "string | undefined | null")] region: Option<Unknown<'_>>,
        #[napi(ts_arg_type = "string | undefined | null")] account: Option<Unknown<'_>>,
        #[napi(ts_arg_type = "string | undefined | null")] partition: Option<Unknown<'_>>,
        #[napi(ts_arg_type = "string | undefined | null")] endpoint: Option<Unknown<'_>>,
        #[napi(ts_arg_type = "'ok' | 'error' | undefined | null")] outcome: Option<Unknown<'_>>,
        #[napi(ts_arg_type = "string | undefined | null")] error_code: Option<Unknown<'_>>,
        #[napi(ts_arg_type = "string | undefined | null")] principal: Option<Unknown<'_>>,
        #[napi(ts_arg_type = "string | undefined | null")] source: Option<Unknown<'_>>,
    ) -> napi::Result<bool> {
        let (service, operation): (String, String) = (arg(&env, service)?, arg(&env, operation)?);
        let un = |a: Option<Unknown<'_>>| opt::<String>(&env, a);
        let (params_json, region, account, partition) =
            (un(params_json)?, un(region)?, un(account)?, un(partition)?);
        let (endpoint, outcome, error_code, principal, source) = (
            un(endpoint)?,
            un(outcome)?,
            un(error_code)?,
            un(principal)?,
            un(source)?,
        );
        guarded("recordJson", || {
            if self.shared.paused.load(Ordering::Relaxed) > 0 {
                return Ok(false);
            }
            let params = match &params_json {
                Some(text) => parse_params(text),
                None => Ok(serde_json::Value::Null),
            };
            let call = params
                .and_then(|params| {
                    self.build_call(
                        &service,
                        &operation,
                        params,
                        Context {
                            region: region.as_deref(),
                            account: account.as_deref(),
                            partition: partition.as_deref(),
                            endpoint: endpoint.as_deref(),
                            outcome: outcome.as_deref(),
                            error_code: error_code.as_deref(),
                            principal: principal.as_deref(),
                            source: source.as_deref(),
                        },
                    )
                })
                .map_err(|e| to_js(&env, &e))?;
            let derived = leastpriv::derive(&self.rules, &call);
            self.shared.lock().add(
                &derived,
                call.principal.as_deref(),
                call.outcome.is_ok(),
                &call.source,
            );
            Ok(true)
        })
    }

    /// Reads an event file (μ/log EDN, μ/log JSON, JSON lines, or a serialized recorder) into
    /// this recorder, off the main thread. A file that fails to read changes nothing: the
    /// promise rejects with an error whose `code` is `not_found`, `io`, `encoding`, `syntax`,
    /// `invalid_event`, `unknown_format` or `serialization`, with `path`, `line` and `column`.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn read(
        &self,
        #[napi(ts_arg_type = "string")] path: Unknown<'_>,
        #[napi(ts_arg_type = "ReadOptions | undefined | null")] options: Option<Unknown<'_>>,
    ) -> AsyncTask<ReadTask> {
        // A bad option rejects the promise too, rather than throwing synchronously.
        let path = crate::arg::convert::<String>(path);
        let options = options.map(crate::arg::convert::<ReadOptions>).transpose();
        let (path, opts) = match (path, options) {
            (Ok(path), Ok(o)) => (
                path,
                leastpriv::ReadOptions::try_from(&o.unwrap_or_default()),
            ),
            (Err(e), _) | (_, Err(e)) => (String::new(), Err(e)),
        };
        AsyncTask::new(ReadTask {
            rules: Arc::clone(&self.rules),
            shared: Arc::clone(&self.shared),
            path,
            opts,
        })
    }

    /// `read()`, blocking: reads an event file into this recorder. Throws as `read()` rejects.
    #[napi]
    pub fn read_sync(
        &self,
        env: Env,
        #[napi(ts_arg_type = "string")] path: Unknown<'_>,
        #[napi(ts_arg_type = "ReadOptions | undefined | null")] options: Option<Unknown<'_>>,
    ) -> napi::Result<()> {
        guarded("readSync", || {
            let path: String = arg(&env, path)?;
            let options: Option<ReadOptions> = opt(&env, options)?;
            let opts = leastpriv::ReadOptions::try_from(&options.unwrap_or_default())
                .map_err(|e| to_js(&env, &e))?;
            let mut seen = Observed::new();
            leastpriv::read_path_into(&self.rules, &mut seen, &path, &opts)
                .map_err(|e| to_js(&env, &e))?;
            self.shared.lock().merge(&seen);
            Ok(())
        })
    }

    /// Reads events from memory (the content of a file) into this recorder; `options.label`
    /// names the input in errors and evidence (default `input`). Throws as `read()` rejects.
    #[napi]
    pub fn read_buffer(
        &self,
        env: Env,
        #[napi(ts_arg_type = "string | Uint8Array")] data: Unknown<'_>,
        #[napi(ts_arg_type = "ReadOptions | undefined | null")] options: Option<Unknown<'_>>,
    ) -> napi::Result<()> {
        guarded("readBuffer", || {
            let data: Either<String, Uint8Array> = arg(&env, data)?;
            let options: ReadOptions = opt(&env, options)?.unwrap_or_default();
            let opts = leastpriv::ReadOptions::try_from(&options).map_err(|e| to_js(&env, &e))?;
            let label = options.label.as_deref().unwrap_or("input");
            let bytes: &[u8] = match &data {
                Either::A(s) => s.as_bytes(),
                Either::B(b) => b,
            };
            let mut seen = Observed::new();
            leastpriv::read_into(&self.rules, &mut seen, bytes, label, &opts)
                .map_err(|e| to_js(&env, &e))?;
            self.shared.lock().merge(&seen);
            Ok(())
        })
    }

    /// The raw, ungeneralised (action, resource) pairs, sorted and unique, as
    /// `leastpriv permissions` prints them (`*` in fields still unknown).
    #[napi]
    pub fn permissions(
        &self,
        env: Env,
        #[napi(ts_arg_type = "PolicyOptions | undefined | null")] options: Option<Unknown<'_>>,
    ) -> napi::Result<Vec<PermissionLine>> {
        guarded("permissions", || {
            let options: Option<PolicyOptions> = opt(&env, options)?;
            let opts =
                policy_options(options.as_ref(), &self.defaults).map_err(|e| to_js(&env, &e))?;
            let seen = self.shared.lock();
            Ok(leastpriv::permission_lines(&seen, &opts)
                .into_iter()
                .map(|l| PermissionLine {
                    action: l.action,
                    resource: l.resource,
                    condition: l.condition.and_then(|c| serde_json::to_value(c).ok()),
                })
                .collect())
        })
    }

    /// Every permission with its counts and first evidence (the smallest source and line
    /// that needed it: with the jest helpers, the test's name), sorted; resources after the
    /// options, ungeneralised. `outcome` and `exclude` filter as in `permissions()`.
    #[napi]
    pub fn evidence(
        &self,
        env: Env,
        #[napi(ts_arg_type = "PolicyOptions | undefined | null")] options: Option<Unknown<'_>>,
    ) -> napi::Result<Vec<PermissionEvidence>> {
        guarded("evidence", || {
            let options: Option<PolicyOptions> = opt(&env, options)?;
            let opts =
                policy_options(options.as_ref(), &self.defaults).map_err(|e| to_js(&env, &e))?;
            let lines: std::collections::BTreeSet<(String, String)> =
                leastpriv::permission_lines(&self.shared.lock(), &opts)
                    .into_iter()
                    .map(|l| (l.action, l.resource))
                    .collect();
            let seen = self.shared.lock();
            Ok(seen
                .permissions()
                .filter_map(|p| {
                    let stats = &p.stats;
                    let resource = opts.resolve(&p.resource).to_iam();
                    if !lines.contains(&(p.action.to_owned(), resource.clone())) {
                        return None;
                    }
                    Some(PermissionEvidence {
                        action: p.action.to_owned(),
                        resource,
                        condition: p.condition.and_then(|c| serde_json::to_value(c).ok()),
                        principal: p.principal.map(str::to_owned),
                        ok: stats.ok as f64,
                        failed: stats.failed as f64,
                        first: Location {
                            source: stats.first.source.to_string(),
                            line: stats.first.line as f64,
                        },
                    })
                })
                .collect())
        })
    }

    /// Builds the policy: statements grouped by resources, stable Sids, S3 keys generalised,
    /// split into documents that fit IAM's size limit. Throws an error with `code` `usage` for
    /// a bad option value.
    #[napi]
    pub fn policy(
        &self,
        env: Env,
        #[napi(ts_arg_type = "PolicyOptions | undefined | null")] options: Option<Unknown<'_>>,
    ) -> napi::Result<Policy> {
        guarded("policy", || {
            let options: Option<PolicyOptions> = opt(&env, options)?;
            let opts =
                policy_options(options.as_ref(), &self.defaults).map_err(|e| to_js(&env, &e))?;
            let seen = self.shared.lock();
            let set = leastpriv::build_policies(&seen, &opts);
            Ok(Policy::new(
                set,
                opts.group_by,
                seen.counts(),
                seen.malformed_at().cloned().collect(),
            ))
        })
    }

    /// Adds everything `other` has seen (merging is commutative and associative).
    #[napi]
    pub fn merge(&self, other: &Recorder) -> napi::Result<()> {
        guarded("merge", || {
            if Arc::ptr_eq(&self.shared, &other.shared) {
                let mut seen = self.shared.lock();
                let copy = seen.clone();
                seen.merge(&copy);
            } else {
                let theirs = other.shared.lock().clone();
                self.shared.lock().merge(&theirs);
            }
            Ok(())
        })
    }

    /// The versioned serialized form shared with the CLI (`leastpriv policy state.json`, input
    /// format `observed`) and the Python package. Deterministic: equal sets give equal bytes.
    #[napi]
    pub fn serialize(&self) -> napi::Result<Buffer> {
        guarded("serialize", || Ok(self.shared.lock().to_bytes().into()))
    }

    /// A recorder from `serialize()`'s output (from any binding or `leastpriv merge`). Throws
    /// an error with `code` `serialization` when the data is not such a state.
    #[napi(factory)]
    pub fn deserialize(
        env: Env,
        #[napi(ts_arg_type = "Uint8Array | string")] data: Unknown<'_>,
        #[napi(ts_arg_type = "RecorderOptions | undefined | null")] options: Option<Unknown<'_>>,
    ) -> napi::Result<Recorder> {
        guarded("deserialize", || {
            let data: Either<Uint8Array, String> = arg(&env, data)?;
            let options: Option<RecorderOptions> = opt(&env, options)?;
            let bytes: &[u8] = match &data {
                Either::A(b) => b,
                Either::B(s) => s.as_bytes(),
            };
            let observed = Observed::from_bytes(bytes).map_err(|e| to_js(&env, &e))?;
            let defaults = options.unwrap_or_default();
            let rules = rules_for(&defaults).map_err(|e| to_js(&env, &e))?;
            Ok(Recorder::with(defaults, rules, observed))
        })
    }

    /// What has been seen: calls, skipped events, malformed events.
    #[napi(getter)]
    pub fn counts(&self) -> Counts {
        let c = self.shared.lock().counts();
        Counts {
            calls: c.calls as f64,
            skipped: c.skipped as f64,
            malformed: c.malformed as f64,
        }
    }

    /// Where malformed events were skipped by `lenient` reading (the first 100).
    #[napi(getter)]
    pub fn malformed_at(&self) -> Vec<Location> {
        self.shared
            .lock()
            .malformed_at()
            .map(|e| Location {
                source: e.source.to_string(),
                line: e.line as f64,
            })
            .collect()
    }

    /// Number of distinct (principal, permission) pairs seen.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        u32::try_from(self.shared.lock().len()).unwrap_or(u32::MAX)
    }

    /// Stops recording: `record()` ignores calls until as many `resume()` calls as `pause()`
    /// calls were made. Use it around setup code (creating buckets and tables that Terraform
    /// owns in production).
    #[napi]
    pub fn pause(&self) {
        self.shared.paused.fetch_add(1, Ordering::Relaxed);
    }

    /// Undoes one `pause()`.
    #[napi]
    pub fn resume(&self) {
        let _ = self
            .shared
            .paused
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// `true` while paused.
    #[napi(getter)]
    pub fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::Relaxed) > 0
    }

    /// Runs `fn` paused and returns its result; when `fn` returns a promise, recording
    /// resumes when it settles. The pause is process-wide, not per async context: calls made
    /// meanwhile by other code are left out too.
    #[napi(
        ts_generic_types = "T",
        ts_args_type = "fn: () => T",
        ts_return_type = "T"
    )]
    pub fn paused<'env>(
        &self,
        env: &'env Env,
        f: Function<'env, (), Unknown<'env>>,
    ) -> napi::Result<Unknown<'env>> {
        self.pause();
        let result = match f.call(()) {
            Ok(v) => v,
            Err(e) => {
                self.resume();
                return Err(e);
            }
        };
        if result.is_promise().unwrap_or(false) {
            let shared = Arc::clone(&self.shared);
            let resume = move |_env: Env| {
                let _ = shared
                    .paused
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
                Ok(())
            };
            let mut promise = PromiseRaw::<Unknown>::from_unknown(result)?;
            match promise.finally(resume) {
                Ok(p) => Ok(Unknown::from_unknown(p.to_unknown())?),
                Err(e) => {
                    self.resume();
                    Err(e)
                }
            }
        } else {
            self.resume();
            let _ = env;
            Ok(result)
        }
    }
}

/// The work of `Recorder.read()`, run on the libuv thread pool.
#[derive(Debug)]
pub struct ReadTask {
    rules: Arc<Rules>,
    shared: Arc<Shared>,
    path: String,
    opts: Result<leastpriv::ReadOptions, leastpriv::Error>,
}

impl Task for ReadTask {
    type Output = Result<(), leastpriv::Error>;
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<Self::Output> {
        catch_unwind(AssertUnwindSafe(|| {
            let opts = self.opts.clone()?;
            let mut seen = Observed::new();
            leastpriv::read_path_into(&self.rules, &mut seen, &self.path, &opts)?;
            self.shared.lock().merge(&seen);
            Ok(())
        }))
        .map_err(|_| panicked("read"))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<()> {
        output.map_err(|e| to_js(&env, &e))
    }
}
