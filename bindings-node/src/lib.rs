//! The Node.js binding of leastpriv: the npm package `leastpriv`.
//!
//! Thin: a [`Recorder`](recorder::Recorder) is the core's `Pipeline`, a
//! [`Policy`](policy::Policy) its `PolicyResult`; options, outcomes, checks, the walk of
//! request parameters and every result's shape are the core's (the shapes are typed in
//! `types.d.ts`). This crate converts JavaScript values ([`native`]) and maps errors: every core
//! error becomes an `Error` whose `code` is the error kind's name (`syntax`, `not_found`, ...),
//! with `path`, `line`, `column` and `field` where known ([`error`]).
//!
//! The SDK v3 middleware (`aws-sdk.js`) and the jest helpers (`jest/`) are plain JavaScript on
//! top of this.

mod error;
mod native;
mod policy;
mod recorder;

pub use policy::Policy;
pub use recorder::Recorder;

use napi::Env;
use napi::bindgen_prelude::{Buffer, Unknown};
use napi_derive::napi;

/// Writes `data` to `path` as the CLI writes its outputs: a regular file through an exclusively
/// created temporary file beside it and a rename (keeping an existing file's mode), a symbolic
/// link through to its target, and a device, FIFO or `/dev/stdout` directly, never replacing
/// it. Throws an `Error` whose `code` is the error kind (`io`, `not_found`).
#[napi(catch_unwind)]
pub fn write_file(env: Env, path: String, data: Buffer) -> napi::Result<()> {
    leastpriv::write_files(&[(std::path::PathBuf::from(path), data.to_vec())])
        .map_err(|e| error::to_js(&env, &e))
}

/// A run's options (flat, as a configuration file or a test vector writes them), split and
/// checked by the core into the options of `read()` and of `policy()`.
#[napi(
    catch_unwind,
    ts_return_type = "{ read: import('./types').ReadOptions, policy: import('./types').PolicyOptions }"
)]
pub fn split_options(
    env: Env,
    #[napi(ts_arg_type = "Record<string, unknown>")] options: Unknown<'_>,
) -> napi::Result<serde_json::Value> {
    let v = native::options(Some(options)).map_err(|e| error::to_js(&env, &e))?;
    let (read, policy) =
        leastpriv::RunOptions::split_json(&v).map_err(|e| error::to_js(&env, &e))?;
    Ok(serde_json::json!({ "read": read, "policy": policy }))
}

/// The settings of a run, as the CLI resolves them: the configuration file found from `cwd`
/// (`leastpriv.toml`, `[tool.leastpriv]` in `pyproject.toml`, `"leastpriv"` in `package.json`,
/// up to the repository root), under `runner` (the test runner's settings, such as jest's
/// `globals.leastpriv`), the `LEASTPRIV_*` environment variables and `cli`. Returns `read` and
/// `policy` (options of `Recorder.read` / `Recorder.policy`), `out`, `out_format`, `rules`,
/// `emit`, `terraform_provider`, `fail_on`, `check` and `config` (the file read).
#[napi(
    catch_unwind,
    ts_args_type = "cwd: string, runner?: Record<string, unknown> | null, cli?: Record<string, unknown> | null",
    ts_return_type = "import('./types').Settings"
)]
pub fn resolve_settings(
    env: Env,
    cwd: String,
    runner: Option<Unknown<'_>>,
    cli: Option<Unknown<'_>>,
) -> napi::Result<serde_json::Value> {
    let js = |e: leastpriv::Error| error::to_js(&env, &e);
    let layer = |v: Option<Unknown<'_>>| -> Result<serde_json::Map<String, serde_json::Value>, leastpriv::Error> {
        match native::options(v)? {
            serde_json::Value::Object(m) => Ok(m),
            _ => Ok(serde_json::Map::new()),
        }
    };
    let layers = leastpriv::Layers {
        cli: layer(cli).map_err(js)?,
        env_vars: std::env::vars().collect(),
        runner: layer(runner).map_err(js)?,
    };
    let s = leastpriv::resolve_settings(std::path::Path::new(&cwd), &layers).map_err(js)?;
    Ok(s.to_json())
}

/// A `variables.tf` declaring the `var.*` the rewrite rules of `options` (policy options, as
/// `Recorder.policy()` takes them) reference; empty when they reference none.
#[napi(
    catch_unwind,
    ts_args_type = "options: import('./types').PolicyOptions"
)]
pub fn render_variables(env: Env, options: Unknown<'_>) -> napi::Result<String> {
    let v = native::options(Some(options)).map_err(|e| error::to_js(&env, &e))?;
    let o = leastpriv::PolicyOptions::from_json(&v).map_err(|e| error::to_js(&env, &e))?;
    Ok(leastpriv::render_variables(&o.rewrite))
}

/// Decodes a raw HTTP request an AWS SDK sent (its bytes as on the wire) into the call it made:
/// `service` (botocore's name), `operation`, `params`, `region`, `endpoint`, `signed` and `note`
/// (why the service chosen was one of several, when it was). Throws an `Error` with `code`
/// `syntax` for what is not an HTTP request, `invalid_event` for a request no operation fits.
#[napi(
    catch_unwind,
    ts_return_type = "{ service: string, operation: string, params: Record<string, unknown>, region: string | null, endpoint: string | null, signed: boolean, note: string | null }"
)]
pub fn decode_http(
    env: Env,
    raw: napi::bindgen_prelude::Buffer,
) -> napi::Result<serde_json::Value> {
    leastpriv::decode_http_json(&raw).map_err(|e| error::to_js(&env, &e))
}

/// Evaluates a request against IAM policy documents (one principal's, unioned), as IAM would:
/// `policies` (a document or a list), `request` (`action`, `resource`, `context`: condition keys
/// to values, `null` for a key known to be absent). Returns `decision` (`allow`,
/// `implicit_deny`, `explicit_deny`, `undecidable`), `statements` (`[document, statement]`
/// behind it) and `unknown` (what the context did not tell). Throws an `Error` with `code`
/// `invalid_policy` for a malformed policy.
#[napi(
    catch_unwind,
    ts_args_type = "policies: unknown, request: { action: string, resource: string, context?: Record<string, string | string[] | null> }",
    ts_return_type = "{ decision: 'allow' | 'implicit_deny' | 'explicit_deny' | 'undecidable', statements: Array<[number, number]>, unknown: string[] }"
)]
pub fn evaluate(
    env: Env,
    policies: Unknown<'_>,
    request: Unknown<'_>,
) -> napi::Result<serde_json::Value> {
    let js = |e: leastpriv::Error| error::to_js(&env, &e);
    let value = |v: Unknown<'_>| -> Result<serde_json::Value, leastpriv::Error> {
        Ok(leastpriv::native_to_value(&native::Js(v))?.unwrap_or_default())
    };
    let p = value(policies).map_err(js)?;
    let r = value(request).map_err(js)?;
    leastpriv::evaluate_json(&p, &r).map_err(js)
}
