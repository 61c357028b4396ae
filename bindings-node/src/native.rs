//! JavaScript values ⇄ the core's values. The core walks request parameters and options
//! ([`leastpriv::NativeValue`]); this says what a JavaScript value is.
//!
//! Strings, numbers, booleans and bigints are scalars, `null` is null, arrays are lists, and
//! *plain* objects (whose prototype is `null` or a realm's `Object.prototype`, so objects from a
//! jest sandbox count too) are maps of their own enumerable keys. Everything else —
//! `undefined`, `Uint8Array`/`Buffer`/`ArrayBuffer`, streams, `Blob`s, `Date`s, class
//! instances, functions, symbols — is never read: a member holding one is left out, a list
//! element becomes `null`.

use leastpriv::{NativeKind, NativeValue, Value};
use napi::ValueType;
use napi::bindgen_prelude::{FromNapiValue, JsObjectValue, JsValue, Object, Unknown};

/// A JavaScript value as the core reads it.
#[derive(Clone, Copy)]
pub(crate) struct Js<'a>(pub(crate) Unknown<'a>);

fn is_plain(obj: &Object<'_>) -> napi::Result<bool> {
    let proto = obj.get_prototype()?;
    Ok(match proto.get_type()? {
        ValueType::Null => true,
        ValueType::Object => {
            Object::from_unknown(proto)?.get_prototype()?.get_type()? == ValueType::Null
        }
        _ => false,
    })
}

impl<'a> Js<'a> {
    fn object(&self) -> Option<Object<'a>> {
        Object::from_unknown(self.0).ok()
    }

    /// `undefined` or `null`.
    pub(crate) fn absent(&self) -> bool {
        matches!(
            self.0.get_type(),
            Ok(ValueType::Undefined | ValueType::Null)
        )
    }

    /// A string member of an object (`undefined` and `null` are absent); `Err` names a member
    /// of another type.
    pub(crate) fn text(&self, name: &str) -> Result<Option<String>, leastpriv::Error> {
        match self.member(name) {
            None => Ok(None),
            Some(v) if matches!(v.0.get_type(), Ok(ValueType::Undefined | ValueType::Null)) => {
                Ok(None)
            }
            Some(v) => String::from_unknown(v.0).map(Some).map_err(|_| {
                leastpriv::Error::new(
                    leastpriv::ErrorKind::Usage,
                    format!("`{name}` must be a string"),
                )
                .with_field(name)
            }),
        }
    }
}

impl NativeValue for Js<'_> {
    fn kind(&self) -> NativeKind {
        match self.0.get_type() {
            Ok(ValueType::String | ValueType::Number | ValueType::Boolean | ValueType::BigInt) => {
                NativeKind::Scalar
            }
            Ok(ValueType::Null) => NativeKind::Null,
            Ok(ValueType::Object) if self.0.is_array().unwrap_or(false) => NativeKind::List,
            Ok(ValueType::Object)
                if self.object().is_some_and(|o| is_plain(&o).unwrap_or(false)) =>
            {
                NativeKind::Map
            }
            _ => NativeKind::Opaque,
        }
    }

    fn scalar(&self) -> Value {
        let v = self.0;
        match v.get_type() {
            Ok(ValueType::String) => String::from_unknown(v).map_or(Value::Null, Value::String),
            Ok(ValueType::Boolean) => bool::from_unknown(v).map_or(Value::Null, Value::Bool),
            Ok(ValueType::Number) => match f64::from_unknown(v) {
                Ok(n) if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 => {
                    Value::from(n as i64)
                }
                Ok(n) => serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
                Err(_) => Value::Null,
            },
            // A bigint: its digits (the engine reads numbers as text).
            _ => v
                .coerce_to_string()
                .and_then(|s| s.into_utf8()?.into_owned())
                .map_or(Value::Null, Value::String),
        }
    }

    fn elements(&self) -> Vec<Self> {
        let Some(arr) = self.object() else {
            return Vec::new();
        };
        let len = arr.get_array_length().unwrap_or(0);
        (0..len)
            .filter_map(|i| arr.get_element::<Unknown>(i).ok())
            .map(Js)
            .collect()
    }

    fn member(&self, name: &str) -> Option<Self> {
        let obj = self.object()?;
        if !obj.has_own_property(name).unwrap_or(false) {
            return None;
        }
        obj.get_named_property::<Unknown>(name).ok().map(Js)
    }

    fn members(&self) -> Vec<(String, Self)> {
        let Some(obj) = self.object() else {
            return Vec::new();
        };
        Object::keys(&obj)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|k| {
                obj.get_named_property::<Unknown>(&k)
                    .ok()
                    .map(|v| (k, Js(v)))
            })
            .collect()
    }
}

/// An argument as a `T`; a value of the wrong type is a usage error naming the argument (not
/// a napi status).
pub(crate) fn arg<T: FromNapiValue>(v: Unknown<'_>, name: &str) -> Result<T, leastpriv::Error> {
    T::from_unknown(v).map_err(|_| {
        leastpriv::Error::new(
            leastpriv::ErrorKind::Usage,
            format!("`{name}` has the wrong type"),
        )
        .with_field(name)
    })
}

/// `eventName` → `event_name`: the core's names for the options an object gives.
fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// An options object as the core's data form (keys in the core's spelling; `undefined`
/// members absent); `null` or `undefined` are no options.
pub(crate) fn options(value: Option<Unknown<'_>>) -> Result<Value, leastpriv::Error> {
    let v = match value.map(Js) {
        None => return Ok(Value::Object(Default::default())),
        Some(v) if matches!(v.0.get_type(), Ok(ValueType::Undefined | ValueType::Null)) => {
            return Ok(Value::Object(Default::default()));
        }
        Some(v) => leastpriv::native_to_value(&v)?.unwrap_or(Value::Null),
    };
    Ok(match v {
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (snake(&k), v)).collect()),
        other => other,
    })
}
