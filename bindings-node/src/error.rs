//! Core errors as JavaScript errors: `code` is [`leastpriv::ErrorKind::name`], plus `path`,
//! `line`, `column` and `field` where the core knows them.

use napi::bindgen_prelude::{FromNapiValue, JsObjectValue, JsValue, Object};
use napi::{Env, JsError, Status};

/// A JavaScript `Error` for a core error. The returned `napi::Error` holds a reference to the
/// error object, so napi throws (or rejects with) that very object, properties included.
pub(crate) fn to_js(env: &Env, err: &leastpriv::Error) -> napi::Error {
    let plain = || napi::Error::new(Status::GenericFailure, err.to_string());
    let base = napi::Error::new(err.kind().name(), err.to_string());
    let value = JsError::from(base).into_unknown(*env);
    let Ok(mut obj) = Object::from_unknown(value) else {
        return plain();
    };
    let mut ok = true;
    if let Some(path) = err.path() {
        ok &= obj.set_named_property("path", path).is_ok();
    }
    if let Some(line) = err.line() {
        ok &= obj.set_named_property("line", line as f64).is_ok();
    }
    if let Some(column) = err.column() {
        ok &= obj.set_named_property("column", column as f64).is_ok();
    }
    if let Some(field) = err.field() {
        ok &= obj.set_named_property("field", field).is_ok();
    }
    if !ok {
        return plain();
    }
    napi::Error::from(obj.to_unknown())
}

/// A panic caught at the boundary, as an error rather than an abort.
pub(crate) fn panicked(what: &str) -> napi::Error {
    napi::Error::new(
        Status::GenericFailure,
        format!("leastpriv: internal error in {what} (a bug: please report it)"),
    )
}
