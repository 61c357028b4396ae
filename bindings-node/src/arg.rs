//! Arguments converted from JavaScript with conversion failures as `usage` errors.
//!
//! napi's own conversion errors carry napi's status as their `code` (`StringExpected`,
//! `ObjectExpected`, ...); the API documents only the kinds of [`leastpriv::ErrorKind`], so the
//! methods take their arguments as `Unknown` values and convert them here: a wrong type anywhere
//! in an argument (an option, a member of `record()`'s call) is an error with `code` `usage`,
//! napi's message kept.

use crate::error::{to_js, usage};
use napi::Env;
use napi::bindgen_prelude::{FromNapiValue, Unknown};

/// `value` as a `T`; a failure is a core error of kind `usage`.
pub(crate) fn convert<T: FromNapiValue>(value: Unknown<'_>) -> Result<T, leastpriv::Error> {
    T::from_unknown(value).map_err(|e| usage(e.reason.clone()))
}

/// `value` as a `T`; a failure is thrown as a `usage` error.
pub(crate) fn arg<T: FromNapiValue>(env: &Env, value: Unknown<'_>) -> napi::Result<T> {
    convert(value).map_err(|e| to_js(env, &e))
}

/// An optional argument (`undefined` and `null` are `None`) as a `T`.
pub(crate) fn opt<T: FromNapiValue>(
    env: &Env,
    value: Option<Unknown<'_>>,
) -> napi::Result<Option<T>> {
    value.map(|v| arg(env, v)).transpose()
}
