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
