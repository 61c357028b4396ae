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
