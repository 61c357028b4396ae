//! JavaScript request parameters → the core's JSON value, without touching payloads.
//!
//! Only plain data is converted: strings, numbers, booleans, `null`, arrays, and *plain* objects
//! (whose prototype is `null` or a realm's `Object.prototype`, so objects from a jest sandbox
//! count too). Everything else — `Uint8Array`/`Buffer`/`ArrayBuffer`/`DataView`, streams,
//! `Blob`s, `Date`s, class instances, functions, symbols — is left out without being read: a
//! member holding one is dropped from its object (and becomes `null` in an array). Depth and
//! size are bounded, so a cyclic structure cannot hang or overflow the stack: more than
//! [`MAX_NODES`] values is an error (`usage`), never a silent truncation.
//!
//! Request parameters are converted through the rules' [`Selection`] for the operation
//! ([`select`]), as the Python package does: only the members the rules read — the ones that
//! can name a resource — are converted; payloads (an S3 `Body`, a DynamoDB `Item`) are never
//! read, and a member only tested for presence becomes `true`.

use leastpriv::Selection;
use napi::ValueType;
use napi::bindgen_prelude::{FromNapiValue, JsObjectValue, JsValue, Object, Unknown};
use serde_json::{Map, Number, Value};

/// Nesting deeper than this is left out.
const MAX_DEPTH: usize = 32;
/// At most this many values are visited per call; more is an error.
pub(crate) const MAX_NODES: usize = 1_000_000;

/// A conversion failure: a JavaScript error while reading, or too many values.
pub(crate) type Result<T> = std::result::Result<T, leastpriv::Error>;

fn napi_err(e: napi::Error) -> leastpriv::Error {
    crate::error::usage(format!("params: {}", e.reason)).with_field("params")
}

fn spend(budget: &mut usize) -> Result<()> {
    if *budget == 0 {
        return Err(crate::error::usage(format!(
            "params: more than {MAX_NODES} values to convert (a cyclic or very large structure)"
        ))
        .with_field("params"));
    }
    *budget -= 1;
    Ok(())
}

/// What `sel` reads of `value`, converted (see the module docs).
pub(crate) fn select_json(sel: &Selection, value: &Unknown<'_>) -> Result<Option<Value>> {
    let mut budget = MAX_NODES;
    select(&[sel], value, 0, &mut budget)
}

/// What `sels` (selections that all hold for the same value) read of `value`; mirrors
/// [`Selection::apply`] on JavaScript values.
fn select(
    sels: &[&Selection],
    value: &Unknown<'_>,
    depth: usize,
    budget: &mut usize,
) -> Result<Option<Value>> {
    if depth >= MAX_DEPTH {
        return Ok(None);
    }
    let ty = value.get_type().map_err(napi_err)?;
    let is_array = ty == ValueType::Object && value.is_array().map_err(napi_err)?;
    let is_null = ty == ValueType::Null;
    let mut set: Vec<&Selection> = sels.to_vec();
    if !is_array && !is_null {
        // `[]` on a value that is not a list walks the value itself.
        let mut i = 0;
        while i < set.len() {
            if let Some(e) = set[i].elements() {
                set.push(e);
            }
            i += 1;
        }
    }
    if set.iter().any(|s| s.is_whole()) {
        return convert(value, depth, budget);
    }
    spend(budget)?;
    match ty {
        ValueType::Null => return Ok(Some(Value::Null)),
        // Absent (`undefined`, a function, a symbol): left out, as a whole conversion does.
        ValueType::Undefined | ValueType::Function | ValueType::Symbol | ValueType::External => {
            return Ok(None);
        }
        _ => {}
    }
    if is_array {
        let subs: Vec<&Selection> = set.iter().filter_map(|s| s.elements()).collect();
        if subs.is_empty() {
            // Nothing reads into it: an empty list is just as present and just as unreadable.
            return Ok(Some(Value::Array(Vec::new())));
        }
        let arr = Object::from_unknown(*value).map_err(napi_err)?;
        let len = arr.get_array_length().map_err(napi_err)?;
        let mut out = Vec::with_capacity(len.min(1024) as usize);
        for i in 0..len {
            let item: Unknown = arr.get_element(i).map_err(napi_err)?;
            out.push(select(&subs, &item, depth + 1, budget)?.unwrap_or(Value::Null));
        }
        return Ok(Some(Value::Array(out)));
    }
    if ty == ValueType::Object {
        let obj = Object::from_unknown(*value).map_err(napi_err)?;
        if is_plain(&obj).map_err(napi_err)? {
            let any_values = set.iter().any(|s| s.values().is_some());
            let mut out = Map::new();
            for key in Object::keys(&obj).map_err(napi_err)? {
                let mut subs: Vec<&Selection> = set.iter().filter_map(|s| s.member(&key)).collect();
                if any_values {
                    subs.extend(set.iter().filter_map(|s| s.values()));
                }
                if subs.is_empty() {
                    continue;
                }
                let item: Unknown = obj.get_named_property(&key).map_err(napi_err)?;
                if let Some(v) = select(&subs, &item, depth + 1, budget)? {
                    out.insert(key, v);
                }
            }
            return Ok(Some(Value::Object(out)));
        }
    }
    // A scalar where a map was expected, or a value (even a payload object) only tested for
    // presence: present, and never read.
    Ok(Some(Value::Bool(true)))
}

fn is_plain(obj: &Object<'_>) -> napi::Result<bool> {
    let proto = obj.get_prototype()?;
    match proto.get_type()? {
        ValueType::Null => Ok(true),
        ValueType::Object => {
            let proto = Object::from_unknown(proto)?;
            Ok(proto.get_prototype()?.get_type()? == ValueType::Null)
        }
        _ => Ok(false),
    }
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        Value::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

fn convert(value: &Unknown<'_>, depth: usize, budget: &mut usize) -> Result<Option<Value>> {
    spend(budget)?;
    convert_inner(value, depth, budget).map_err(|e| match e {
        Inner::Napi(e) => napi_err(e),
        Inner::Core(e) => e,
    })
}

enum Inner {
    Napi(napi::Error),
    Core(leastpriv::Error),
}

impl From<napi::Error> for Inner {
    fn from(e: napi::Error) -> Inner {
        Inner::Napi(e)
    }
}

impl From<leastpriv::Error> for Inner {
    fn from(e: leastpriv::Error) -> Inner {
        Inner::Core(e)
    }
}

fn convert_inner(
    value: &Unknown<'_>,
    depth: usize,
    budget: &mut usize,
) -> std::result::Result<Option<Value>, Inner> {
    Ok(match value.get_type()? {
        ValueType::String => Some(Value::String(String::from_unknown(*value)?)),
        ValueType::Number => Some(number(f64::from_unknown(*value)?)),
        ValueType::Boolean => Some(Value::Bool(bool::from_unknown(*value)?)),
        ValueType::Null => Some(Value::Null),
        ValueType::BigInt => {
            let text = value.coerce_to_string()?.into_utf8()?.into_owned()?;
            Some(Value::String(text))
        }
        ValueType::Object if depth < MAX_DEPTH => {
            if value.is_array()? {
                let arr = Object::from_unknown(*value)?;
                let len = arr.get_array_length()?;
                let mut out = Vec::with_capacity(len.min(1024) as usize);
                for i in 0..len {
                    let item: Unknown = arr.get_element(i)?;
                    out.push(convert(&item, depth + 1, budget)?.unwrap_or(Value::Null));
                }
                Some(Value::Array(out))
            } else {
                let obj = Object::from_unknown(*value)?;
                if !is_plain(&obj)? {
                    return Ok(None);
                }
                let mut out = Map::new();
                for key in Object::keys(&obj)? {
                    let item: Unknown = obj.get_named_property(&key)?;
                    if let Some(v) = convert(&item, depth + 1, budget)? {
                        out.insert(key, v);
                    }
                }
                Some(Value::Object(out))
            }
        }
        // undefined, functions, symbols, externals, and anything too deep.
        _ => None,
    })
}
