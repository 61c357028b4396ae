//! JavaScript request parameters → the core's JSON value, without touching payloads.
//!
//! Only plain data is converted: strings, numbers, booleans, `null`, arrays, and *plain* objects
//! (whose prototype is `null` or a realm's `Object.prototype`, so objects from a jest sandbox
//! count too). Everything else — `Uint8Array`/`Buffer`/`ArrayBuffer`/`DataView`, streams,
//! `Blob`s, `Date`s, class instances, functions, symbols — is left out without being read: a
//! member holding one is dropped from its object (and becomes `null` in an array). Depth and
//! size are bounded, so a cyclic structure cannot hang or overflow the stack.

use napi::bindgen_prelude::{FromNapiValue, JsObjectValue, JsValue, Object, Unknown};
use napi::{Result, ValueType};
use serde_json::{Map, Number, Value};

/// Nesting deeper than this is left out.
const MAX_DEPTH: usize = 32;
/// At most this many values are converted per call; the rest is left out.
const MAX_NODES: usize = 20_000;

/// Converts `value`; `None` means "leave it out".
pub(crate) fn to_json(value: &Unknown<'_>) -> Result<Option<Value>> {
    let mut budget = MAX_NODES;
    convert(value, 0, &mut budget)
}

fn is_plain(obj: &Object<'_>) -> Result<bool> {
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
    if *budget == 0 {
        return Ok(None);
    }
    *budget -= 1;
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
                    if *budget == 0 {
                        break;
                    }
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
                    if *budget == 0 {
                        break;
                    }
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
