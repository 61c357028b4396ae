//! The Node.js binding of leastpriv: the npm package `leastpriv`.
//!
//! Thin newtype wrappers around the core (`leastpriv`): a [`Recorder`](recorder::Recorder) wraps
//! an `Observed` set and the rules, a [`Policy`](policy::Policy) wraps a `PolicySet`. Every core
//! error becomes a JavaScript `Error` whose `code` is the error kind's name (`syntax`,
//! `not_found`, ...) with `path`, `line`, `column` and `field` where known ([`error`]).
//!
//! The SDK v3 middleware (`aws-sdk.js`) and the jest helpers (`jest/`) are plain JavaScript on
//! top of this.

mod arg;
mod error;
mod options;
mod policy;
mod recorder;
mod value;

pub use policy::Policy;
pub use recorder::Recorder;

use napi::Env;
use napi::bindgen_prelude::Buffer;
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
