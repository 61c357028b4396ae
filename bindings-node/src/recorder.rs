//! `Recorder`: the core's [`Pipeline`] behind a mutex, with a recorder's default context and a
//! pause counter.

use crate::error::{panicked, to_js};
use crate::native::{Js, arg, options};
use crate::policy::Policy;
use leastpriv::{
    Call, CallParts, Error, ErrorKind, NativeValue, Observed, Pipeline, PolicyOptions,
    PolicyResult, ReadOptions, Rules, Value, evidence_lines, permission_lines,
};
use napi::bindgen_prelude::{
    AsyncTask, Buffer, Either, FromNapiValue, Function, PromiseRaw, Uint8Array, Unknown,
};
use napi::{Env, JsValue, Task};
use napi_derive::napi;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug)]
struct Shared {
    pipeline: Mutex<Pipeline>,
    paused: AtomicU32,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pipeline> {
        // Every mutation is a whole record, read or merge: a poisoned lock's state is whole.
        self.pipeline.lock().unwrap_or_else(|p| p.into_inner())
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
    /// The recorder's region, account and partition, filling what calls and options leave out.
    context: [Option<String>; 3],
}

const CONTEXT: [&str; 3] = ["region", "account", "partition"];

fn guarded<T>(env: &Env, what: &str, f: impl FnOnce() -> Result<T, Error>) -> napi::Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(|e| to_js(env, &e)),
        Err(_) => Err(panicked(what)),
    }
}

impl Recorder {
    fn make(opts: Option<Unknown<'_>>, observed: Observed) -> Result<Recorder, Error> {
        let o = options(opts)?;
        let paths: Vec<String> = match &o["rules"] {
            Value::Null => Vec::new(),
            Value::String(p) => vec![p.clone()],
            Value::Array(ps) if ps.iter().all(Value::is_string) => ps
                .iter()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect(),
            _ => {
                return Err(Error::new(
                    ErrorKind::Usage,
                    "`rules` must be a path or a list of paths",
                )
                .with_field("rules"));
            }
        };
        let context = CONTEXT.map(|k| o[k].as_str().map(str::to_owned));
        // The context is checked as policy options are.
        let check: serde_json::Map<String, Value> = CONTEXT
            .iter()
            .filter(|k| !o[**k].is_null())
            .map(|k| ((*k).to_owned(), o[*k].clone()))
            .collect();
        PolicyOptions::from_json(&Value::Object(check))?;
        let rules = Rules::from_paths(&paths)?;
        let pipeline =
            Pipeline::with_observed(Arc::clone(&rules), ReadOptions::default(), observed);
        Ok(Recorder {
            shared: Arc::new(Shared {
                pipeline: Mutex::new(pipeline),
                paused: AtomicU32::new(0),
            }),
            rules,
            context,
        })
    }

    /// Policy options from an options object, the recorder's context filling what it leaves
    /// out.
    fn policy_options(&self, opts: Option<Unknown<'_>>) -> Result<PolicyOptions, Error> {
        self.policy_options_value(options(opts)?)
    }

    /// Policy options from data, the recorder's context filling what they leave out.
    fn policy_options_value(&self, mut o: Value) -> Result<PolicyOptions, Error> {
        if let Value::Object(m) = &mut o {
            for (k, v) in CONTEXT.iter().zip(&self.context) {
                if m.get(*k).is_none_or(Value::is_null)
                    && let Some(v) = v
                {
                    m.insert((*k).to_owned(), Value::from(v.as_str()));
                }
            }
        }
        PolicyOptions::from_json(&o)
    }

    fn add(&self, parts: &CallParts<'_>, params: Value) -> Result<bool, Error> {
        if self.shared.paused.load(Ordering::Relaxed) > 0 {
            return Ok(false);
        }
        let [region, account, partition] = &self.context;
        let defaults = CallParts {
            region: region.as_deref(),
            account: account.as_deref(),
            partition: partition.as_deref(),
            ..CallParts::default()
        };
        let call = Call::from_parts(parts, params, &defaults)?;
        self.shared.lock().record(&call);
        Ok(true)
    }

    fn read_into(&self, bytes: &[u8], label: &str, opts: ReadOptions) -> Result<(), Error> {
        let mut p = Pipeline::new(Arc::clone(&self.rules), opts);
        p.read(bytes, label)?;
        self.shared.lock().observed_mut().merge(p.observed());
        Ok(())
    }
}

/// The optional parts of a call, in the order of `recordJson()`'s arguments.
const PARTS: [&str; 8] = [
    "region",
    "account",
    "partition",
    "endpoint",
    "outcome",
    "errorCode",
    "principal",
    "source",
];

fn parts<'a>(service: &'a str, operation: &'a str, p: &'a [Option<String>; 8]) -> CallParts<'a> {
    let get = |i: usize| p[i].as_deref();
    CallParts {
        service,
        operation,
        region: get(0),
        account: get(1),
        partition: get(2),
        endpoint: get(3),
        outcome: get(4),
        error_code: get(5),
        principal: get(6),
        source: get(7),
    }
}

fn usage(message: &str, field: &str) -> Error {
    Error::new(ErrorKind::Usage, message).with_field(field)
}

/// Read options from an options object; `label` (for `readBuffer()`) apart.
fn read_options(opts: Option<Unknown<'_>>) -> Result<(ReadOptions, String), Error> {
    let mut o = options(opts)?;
    let label = match o.as_object_mut().and_then(|m| m.remove("label")) {
        None | Some(Value::Null) => "input".to_owned(),
        Some(Value::String(l)) => l,
        Some(_) => return Err(usage("`label` must be a string", "label")),
    };
    Ok((ReadOptions::from_json(&o)?, label))
}

#[napi]
impl Recorder {
    /// A new, empty recorder. `region`, `account` and `partition` fill in calls recorded
    /// without them, and are the defaults of `policy()` and `permissions()`; `rules` adds your
    /// own rules files. Throws an error with `code` `usage`, `rules`, `not_found` or `io`.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        #[napi(ts_arg_type = "import('./types').RecorderOptions | undefined | null")]
        options: Option<Unknown<'_>>,
    ) -> napi::Result<Recorder> {
        guarded(&env, "new Recorder", || {
            Recorder::make(options, Observed::new())
        })
    }

    /// Records one call: derives the permissions it needs and adds them. Returns `false`
    /// (and records nothing) while the recorder is paused. Only the members of `params` that
    /// the rules read are looked at. An `errorCode` makes the call failed whatever `outcome`
    /// says. Throws an error with `code` `usage` for a malformed call.
    #[napi]
    pub fn record(
        &self,
        env: Env,
        #[napi(ts_arg_type = "import('./types').RecordCall")] call: Option<Unknown<'_>>,
    ) -> napi::Result<bool> {
        guarded(&env, "record", || {
            let Some(c) = call
                .map(Js)
                .filter(|c| c.kind() == leastpriv::NativeKind::Map)
            else {
                return Err(usage(
                    "`call` must be an object with service and operation",
                    "call",
                ));
            };
            let text = |n: &str| c.text(n);
            let service = text("service")?.unwrap_or_default();
            let operation = text("operation")?.unwrap_or_default();
            let params = match c.member("params").filter(|p| !p.absent()) {
                Some(p) if p.kind() == leastpriv::NativeKind::Map => self
                    .rules
                    .selection(&service, &operation)
                    .select(&p)?
                    .unwrap_or(Value::Null),
                Some(_) => return Err(usage("`params` must be a plain object", "params")),
                None => match text("paramsJson")? {
                    Some(json) => parse_params(&json)?,
                    None => Value::Null,
                },
            };
            let mut fields: [Option<String>; 8] = Default::default();
            for (f, name) in fields.iter_mut().zip(PARTS) {
                *f = text(name)?;
            }
            self.add(&parts(&service, &operation, &fields), params)
        })
    }

    /// The fast form of `record()`, for instrumentation code: positional arguments and the
    /// parameters as JSON text. Same result and errors as `record({service, operation,
    /// paramsJson, region, account, partition, endpoint, outcome, errorCode, principal,
    /// source})`.
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
        guarded(&env, "recordJson", || {
            let text = |v: Option<Unknown<'_>>, name: &str| match v {
                Some(v) => arg::<Option<String>>(v, name),
                None => Ok(None),
            };
            let service: String = arg(service, "service")?;
            let operation: String = arg(operation, "operation")?;
            let params_json = text(params_json, "paramsJson")?;
            let fields = [
                text(region, "region")?,
                text(account, "account")?,
                text(partition, "partition")?,
                text(endpoint, "endpoint")?,
                text(outcome, "outcome")?,
                text(error_code, "errorCode")?,
                text(principal, "principal")?,
                text(source, "source")?,
            ];
            let params = match &params_json {
                Some(json) => {
                    let v = parse_params(json)?;
                    match v {
                        Value::Object(_) => self.rules.selection(&service, &operation).apply(&v),
                        other => other,
                    }
                }
                None => Value::Null,
            };

            self.add(&parts(&service, &operation, &fields), params)
        })
    }

    /// Reads an event file (μ/log EDN, μ/log JSON, JSON lines, or a serialized recorder) into
    /// this recorder, off the main thread. A file that fails to read changes nothing: the
    /// promise rejects with an error whose `code` is the core's error kind, with `path`,
    /// `line`, `column` and `field` where known.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn read(
        &self,
        #[napi(ts_arg_type = "string")] path: Unknown<'_>,
        #[napi(ts_arg_type = "import('./types').ReadOptions | undefined | null")] options: Option<
            Unknown<'_>,
        >,
    ) -> AsyncTask<ReadTask> {
        AsyncTask::new(ReadTask {
            rules: Arc::clone(&self.rules),
            shared: Arc::clone(&self.shared),
            // A bad argument rejects the promise too, rather than throwing synchronously.
            path: arg(path, "path"),
            opts: read_options(options).map(|(o, _)| o),
        })
    }

    /// `read()`, blocking. Throws as `read()` rejects.
    #[napi]
    pub fn read_sync(
        &self,
        env: Env,
        #[napi(ts_arg_type = "string")] path: Unknown<'_>,
        #[napi(ts_arg_type = "import('./types').ReadOptions | undefined | null")] options: Option<
            Unknown<'_>,
        >,
    ) -> napi::Result<()> {
        guarded(&env, "readSync", || {
            let path: String = arg(path, "path")?;
            let (opts, _) = read_options(options)?;
            let mut p = Pipeline::new(Arc::clone(&self.rules), opts);
            p.read_path(&path)?;
            self.shared.lock().observed_mut().merge(p.observed());
            Ok(())
        })
    }

    /// Reads events from memory (the content of a file); `options.label` names the input in
    /// errors and evidence (default `input`). Throws as `read()` rejects.
    #[napi]
    pub fn read_buffer(
        &self,
        env: Env,
        #[napi(ts_arg_type = "string | Uint8Array")] data: Unknown<'_>,
        #[napi(ts_arg_type = "import('./types').ReadOptions | undefined | null")] options: Option<
            Unknown<'_>,
        >,
    ) -> napi::Result<()> {
        guarded(&env, "readBuffer", || {
            let data: Either<String, Uint8Array> = arg(data, "data")?;
            let (opts, label) = read_options(options)?;
            let bytes: &[u8] = match &data {
                Either::A(s) => s.as_bytes(),
                Either::B(b) => b,
            };
            self.read_into(bytes, &label, opts)
        })
    }

    /// The raw, ungeneralised (action, resource) pairs, sorted and unique, as
    /// `leastpriv permissions` prints them (`*` in fields still unknown).
    #[napi(ts_return_type = "Array<import('./types').PermissionLine>")]
    pub fn permissions(
        &self,
        env: Env,
        #[napi(ts_arg_type = "import('./types').PolicyOptions | undefined | null")] options: Option<
            Unknown<'_>,
        >,
    ) -> napi::Result<Value> {
        guarded(&env, "permissions", || {
            let opts = self.policy_options(options)?;
            let lines = permission_lines(self.shared.lock().observed(), &opts);
            Ok(serde_json::to_value(lines).unwrap_or_default())
        })
    }

    /// Every permission with its counts and `first` evidence (the smallest source and line
    /// that needed it: with the jest helpers, the test's name), sorted.
    #[napi(ts_return_type = "Array<import('./types').EvidenceLine>")]
    pub fn evidence(
        &self,
        env: Env,
        #[napi(ts_arg_type = "import('./types').PolicyOptions | undefined | null")] options: Option<
            Unknown<'_>,
        >,
    ) -> napi::Result<Value> {
        guarded(&env, "evidence", || {
            let opts = self.policy_options(options)?;
            let lines = evidence_lines(self.shared.lock().observed(), &opts);
            Ok(serde_json::to_value(lines).unwrap_or_default())
        })
    }

    /// Checks a declared policy (IAM JSON or Terraform `.tf` files: a path or a list of paths)
    /// against what was recorded, with the policy options (the same mappings and rewrite rules
    /// as `policy()`) and `vars` resolving a Terraform policy's references.
    /// Returns the findings in the core's form (`format`, `version`, `permissions`, `counts` of
    /// `missing`/`unused`/`broad`/`undecidable`, `findings`); a malformed policy throws an
    /// `Error` with `code` `invalid_policy` and its place.
    #[napi(ts_return_type = "import('./types').CheckResult")]
    pub fn check(
        &self,
        env: Env,
        #[napi(ts_arg_type = "string | string[]")] policy: Unknown<'_>,
        #[napi(
            ts_arg_type = "(import('./types').PolicyOptions & { vars?: Record<string, string> }) | undefined | null"
        )]
        options: Option<Unknown<'_>>,
    ) -> napi::Result<Value> {
        guarded(&env, "check", || {
            let paths: Vec<String> = match leastpriv::native_to_value(&Js(policy))? {
                Some(Value::String(s)) => vec![s],
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        Error::new(
                            leastpriv::ErrorKind::Usage,
                            "`policy` must be a path or a list of paths",
                        )
                        .with_field("policy")
                    })?,
                _ => {
                    return Err(Error::new(
                        leastpriv::ErrorKind::Usage,
                        "`policy` must be a path or a list of paths",
                    )
                    .with_field("policy"));
                }
            };
            // `vars` resolves a Terraform policy's references; the rest are policy options.
            let mut o = crate::native::options(options)?;
            let mut vars = std::collections::BTreeMap::new();
            if let Some(Value::Object(m)) = o.as_object_mut().and_then(|m| m.remove("vars")) {
                for (k, v) in m {
                    match v {
                        Value::String(s) => {
                            vars.insert(k, s);
                        }
                        _ => {
                            return Err(Error::new(
                                leastpriv::ErrorKind::Usage,
                                "`vars` maps names to strings",
                            )
                            .with_field("vars"));
                        }
                    }
                }
            }
            let opts = self.policy_options_value(o)?;
            leastpriv::check_paths(&paths, self.shared.lock().observed(), &opts, &vars)
        })
    }

    /// Builds the policy: statements grouped by resources, stable Sids, S3 keys generalised,
    /// split into documents that fit IAM's size limit. Throws an error with `code` `usage` for
    /// a bad option.
    #[napi]
    pub fn policy(
        &self,
        env: Env,
        #[napi(ts_arg_type = "import('./types').PolicyOptions | undefined | null")] options: Option<
            Unknown<'_>,
        >,
    ) -> napi::Result<Policy> {
        guarded(&env, "policy", || {
            let opts = self.policy_options(options)?;
            Ok(Policy(PolicyResult::build(
                self.shared.lock().observed(),
                &opts,
            )?))
        })
    }

    /// Adds everything `other` has seen (merging is commutative and associative).
    #[napi]
    pub fn merge(&self, env: Env, other: &Recorder) -> napi::Result<()> {
        guarded(&env, "merge", || {
            let theirs = other.shared.lock().observed().clone();
            self.shared.lock().observed_mut().merge(&theirs);
            Ok(())
        })
    }

    /// The versioned serialized form shared with the CLI (`leastpriv policy state.json`, input
    /// format `observed`) and the Python package. Deterministic: equal sets give equal bytes.
    #[napi]
    pub fn serialize(&self) -> Buffer {
        self.shared.lock().observed().to_bytes().into()
    }

    /// A recorder from `serialize()`'s output (from any binding or `leastpriv merge`). Throws
    /// an error with `code` `serialization` when the data is not such a state.
    #[napi(factory)]
    pub fn deserialize(
        env: Env,
        #[napi(ts_arg_type = "Uint8Array | string")] data: Unknown<'_>,
        #[napi(ts_arg_type = "import('./types').RecorderOptions | undefined | null")]
        options: Option<Unknown<'_>>,
    ) -> napi::Result<Recorder> {
        guarded(&env, "deserialize", || {
            let data: Either<Uint8Array, String> = arg(data, "data")?;
            let bytes: &[u8] = match &data {
                Either::A(b) => b,
                Either::B(s) => s.as_bytes(),
            };
            Recorder::make(options, Observed::from_bytes(bytes)?)
        })
    }

    /// What has been seen: `calls`, `skipped` events, `malformed` events.
    #[napi(getter, ts_return_type = "import('./types').Counts")]
    pub fn counts(&self) -> Value {
        serde_json::to_value(self.shared.lock().observed().counts()).unwrap_or_default()
    }

    /// Where malformed events were skipped by `lenient` reading (the first 100).
    #[napi(getter, ts_return_type = "Array<import('./types').Evidence>")]
    pub fn malformed_at(&self) -> Value {
        let at: Vec<_> = self
            .shared
            .lock()
            .observed()
            .malformed_at()
            .cloned()
            .collect();
        serde_json::to_value(at).unwrap_or_default()
    }

    /// Number of distinct (principal, permission) pairs seen.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        u32::try_from(self.shared.lock().observed().len()).unwrap_or(u32::MAX)
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
        resume(&self.shared);
    }

    /// `true` while paused.
    #[napi(getter)]
    pub fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::Relaxed) > 0
    }

    /// Runs `fn` paused and returns its result; when `fn` returns a promise, recording
    /// resumes when it settles. The pause is process-wide, not per async context.
    #[napi(
        ts_generic_types = "T",
        ts_args_type = "fn: () => T",
        ts_return_type = "T"
    )]
    pub fn paused<'env>(
        &self,
        f: Function<'env, (), Unknown<'env>>,
    ) -> napi::Result<Unknown<'env>> {
        self.pause();
        let result = f.call(()).inspect_err(|_| self.resume())?;
        if !result.is_promise().unwrap_or(false) {
            self.resume();
            return Ok(result);
        }
        let shared = Arc::clone(&self.shared);
        let mut promise = PromiseRaw::<Unknown>::from_unknown(result)?;
        let settled = promise.finally(move |_env: Env| {
            resume(&shared);
            Ok(())
        });
        match settled {
            Ok(p) => Unknown::from_unknown(p.to_unknown()),
            Err(e) => {
                self.resume();
                Err(e)
            }
        }
    }
}

fn resume(shared: &Shared) {
    let _ = shared
        .paused
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
}

fn parse_params(text: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|_| usage("`paramsJson` is not valid JSON", "paramsJson"))
}

/// The work of `Recorder.read()`, run on the libuv thread pool.
#[derive(Debug)]
pub struct ReadTask {
    rules: Arc<Rules>,
    shared: Arc<Shared>,
    path: Result<String, Error>,
    opts: Result<ReadOptions, Error>,
}

impl Task for ReadTask {
    type Output = Result<(), Error>;
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<Self::Output> {
        catch_unwind(AssertUnwindSafe(|| {
            let path = self.path.clone()?;
            let mut p = Pipeline::new(Arc::clone(&self.rules), self.opts.clone()?);
            p.read_path(&path)?;
            self.shared.lock().observed_mut().merge(p.observed());
            Ok(())
        }))
        .map_err(|_| panicked("read"))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<()> {
        output.map_err(|e| to_js(&env, &e))
    }
}
