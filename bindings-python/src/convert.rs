//! Python objects ⇄ the core's JSON-like [`Value`].
//!
//! Request parameters are converted through the rules' [`Selection`] for the operation
//! ([`select`]): only the members the rules read — the ones that can name a resource — are
//! converted; payloads (an S3 `Body`, a `MessageBody`, a DynamoDB `Item`, a `SecretString`) are
//! never read, copied or converted, and a member only tested for presence becomes `true`.
//!
//! Where a value is converted, only `dict`, `list`, `tuple`, `str`, `int`, `float`, `bool` and
//! `None` are. Anything else — `bytes`, file objects, streams, `datetime`s, `Decimal`s — is never
//! read: a dict member holding one is left out, a list element becomes `null`. Nesting deeper
//! than [`MAX_DEPTH`] (or a cycle) is cut off the same way, so no input can exhaust the stack.

use leastpriv::{Selection, Value};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number};

/// How deep containers are followed; request parameters that name resources are shallow.
pub(crate) const MAX_DEPTH: u32 = 32;

/// Text of a Python `str`, with lone surrogates (which UTF-8 cannot hold) replaced.
pub(crate) fn text(s: &Bound<'_, PyString>) -> String {
    match s.to_str() {
        Ok(t) => t.to_owned(),
        Err(_) => s.to_string_lossy().into_owned(),
    }
}

/// Converts one object; `None` when it is not converted (see the module docs).
pub(crate) fn to_value(obj: &Bound<'_, PyAny>, depth: u32) -> Option<Value> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Some(Value::String(text(s)));
    }
    if obj.is_none() {
        return Some(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Some(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Some(Value::from(v));
        }
        if let Ok(v) = i.extract::<u64>() {
            return Some(Value::from(v));
        }
        // Larger than any JSON number we keep exactly: the engine reads numbers as text anyway.
        return i.str().ok().map(|s| Value::String(text(&s)));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Some(
            Number::from_f64(f.value())
                .map(Value::Number)
                .unwrap_or(Value::Null),
        );
    }
    if depth >= MAX_DEPTH {
        return None;
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return Some(dict_to_value(d, depth + 1));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return Some(Value::Array(
            l.iter()
                .map(|x| to_value(&x, depth + 1).unwrap_or(Value::Null))
                .collect(),
        ));
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return Some(Value::Array(
            t.iter()
                .map(|x| to_value(&x, depth + 1).unwrap_or(Value::Null))
                .collect(),
        ));
    }
    None
}

/// A dict as a JSON object: members with non-`str` keys or unconvertible values are left out.
pub(crate) fn dict_to_value(d: &Bound<'_, PyDict>, depth: u32) -> Value {
    let mut map = Map::with_capacity(d.len());
    for (k, v) in d.iter() {
        let Ok(key) = k.cast::<PyString>() else {
            continue;
        };
        if let Some(value) = to_value(&v, depth) {
            map.insert(text(key), value);
        }
    }
    Value::Object(map)
}

/// What `sels` (selections that all hold for the same value) read of `obj`, converted; `None`
/// when nothing convertible is read. Mirrors [`Selection::apply`] on Python objects.
pub(crate) fn select(sels: &[&Selection], obj: &Bound<'_, PyAny>, depth: u32) -> Option<Value> {
    if depth >= MAX_DEPTH {
        return None;
    }
    let list = obj.cast::<PyList>().ok();
    let tuple = obj.cast::<PyTuple>().ok();
    let is_list = list.is_some() || tuple.is_some();
    let is_none = obj.is_none();
    let mut set: Vec<&Selection> = sels.to_vec();
    if !is_list && !is_none {
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
        return to_value(obj, depth);
    }
    if is_none {
        return Some(Value::Null);
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let any_values = set.iter().any(|s| s.values().is_some());
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let Ok(key) = k.cast::<PyString>() else {
                continue;
            };
            let Ok(name) = key.to_str() else {
                continue;
            };
            let mut subs: Vec<&Selection> = set.iter().filter_map(|s| s.member(name)).collect();
            if any_values {
                subs.extend(set.iter().filter_map(|s| s.values()));
            }
            if subs.is_empty() {
                continue;
            }
            if let Some(value) = select(&subs, &v, depth + 1) {
                map.insert(name.to_owned(), value);
            }
        }
        return Some(Value::Object(map));
    }
    if is_list {
        let subs: Vec<&Selection> = set.iter().filter_map(|s| s.elements()).collect();
        if subs.is_empty() {
            // Nothing reads into it: an empty list is just as present and just as unreadable.
            return Some(Value::Array(Vec::new()));
        }
        let one = |x: Bound<'_, PyAny>| select(&subs, &x, depth + 1).unwrap_or(Value::Null);
        return Some(Value::Array(match (list, tuple) {
            (Some(l), _) => l.iter().map(one).collect(),
            (_, Some(t)) => t.iter().map(one).collect(),
            _ => Vec::new(),
        }));
    }
    // A scalar where a map was expected, or a value (even a payload object) only tested for
    // presence: present, and never read.
    Some(Value::Bool(true))
}

/// A JSON value as plain Python objects (`dict`, `list`, `str`, `int`, `float`, `bool`, `None`).
pub(crate) fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for i in items {
                list.append(to_py(py, i)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, x) in map {
                dict.set_item(k, to_py(py, x)?)?;
            }
            dict.into_any()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // These tests embed Python: they link against libpython because the crate does not enable
    // PyO3's `extension-module` feature.
    #[test]
    fn converts_plain_data_and_drops_payloads() {
        Python::initialize();
        Python::attach(|py| {
            let obj = py
                .eval(
                    c"{'Bucket': 'b', 'Body': b'payload', 'File': open, 'N': [1, 2.5, None, b'x', True],
                       'Big': 10**30, 1: 'int key', 'Nan': float('nan'), 'T': ('a',)}",
                    None,
                    None,
                )
                .unwrap();
            let v = to_value(&obj, 0).unwrap();
            assert_eq!(
                v,
                json!({"Bucket": "b", "N": [1, 2.5, null, null, true],
                       "Big": "1000000000000000000000000000000", "Nan": null, "T": ["a"]})
            );
        });
    }

    #[test]
    fn depth_is_bounded() {
        Python::initialize();
        Python::attach(|py| {
            let obj = py
                .eval(
                    c"(lambda d: (d.__setitem__('self', d), d)[1])({})",
                    None,
                    None,
                )
                .unwrap();
            let v = to_value(&obj, 0).unwrap();
            let mut depth = 0;
            let mut cur = &v;
            while let Some(next) = cur.get("self") {
                depth += 1;
                cur = next;
            }
            assert_eq!(depth, MAX_DEPTH as usize - 1);
            let back = to_py(py, &v).unwrap();
            assert!(back.cast::<PyDict>().is_ok());
        });
    }
}
