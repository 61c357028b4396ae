//! Python objects ⇄ the core's values. The core walks request parameters and options
//! ([`leastpriv::NativeValue`]); this says what a Python object is.
//!
//! `dict` is a map (members with `str` keys), `list`, `tuple`, `set` and `frozenset` are lists,
//! `str`, `int`, `float` and `bool` scalars, `None` null; anything else (`bytes`, files,
//! streams, `datetime`s, `Decimal`s) is never read.

use leastpriv::{NativeKind, NativeValue, Value};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple};

/// A Python object as the core reads it.
pub(crate) struct Obj<'py>(pub(crate) Bound<'py, PyAny>);

/// Text of a `str`, lone surrogates (which UTF-8 cannot hold) replaced.
pub(crate) fn text(s: &Bound<'_, PyString>) -> String {
    match s.to_str() {
        Ok(t) => t.to_owned(),
        Err(_) => s.to_string_lossy().into_owned(),
    }
}

impl NativeValue for Obj<'_> {
    fn kind(&self) -> NativeKind {
        let o = &self.0;
        if o.is_none() {
            NativeKind::Null
        } else if o.is_instance_of::<PyString>()
            || o.is_instance_of::<PyBool>()
            || o.is_instance_of::<PyInt>()
            || o.is_instance_of::<PyFloat>()
        {
            NativeKind::Scalar
        } else if o.is_instance_of::<PyDict>() {
            NativeKind::Map
        } else if o.is_instance_of::<PyList>()
            || o.is_instance_of::<PyTuple>()
            || o.is_instance_of::<PySet>()
            || o.is_instance_of::<PyFrozenSet>()
        {
            NativeKind::List
        } else {
            NativeKind::Opaque
        }
    }

    fn scalar(&self) -> Value {
        let o = &self.0;
        if let Ok(s) = o.cast::<PyString>() {
            return Value::String(text(s));
        }
        if let Ok(b) = o.cast::<PyBool>() {
            return Value::Bool(b.is_true());
        }
        if let Ok(i) = o.extract::<i64>() {
            return Value::from(i);
        }
        if let Ok(u) = o.extract::<u64>() {
            return Value::from(u);
        }
        if let Ok(f) = o.cast::<PyFloat>() {
            return serde_json::Number::from_f64(f.value()).map_or(Value::Null, Value::Number);
        }
        // An integer wider than 64 bits: its digits (the engine reads numbers as text).
        o.str().map_or(Value::Null, |s| Value::String(text(&s)))
    }

    fn elements(&self) -> Vec<Self> {
        match self.0.try_iter() {
            Ok(it) => it.filter_map(Result::ok).map(Obj).collect(),
            Err(_) => Vec::new(),
        }
    }

    fn member(&self, name: &str) -> Option<Self> {
        let d = self.0.cast::<PyDict>().ok()?;
        d.get_item(name).ok().flatten().map(Obj)
    }

    fn members(&self) -> Vec<(String, Self)> {
        let Ok(d) = self.0.cast::<PyDict>() else {
            return Vec::new();
        };
        d.iter()
            .filter_map(|(k, v)| Some((text(k.cast::<PyString>().ok()?), Obj(v))))
            .collect()
    }
}

/// A value of the core's JSON form as plain Python data (`dict`, `list`, `str`, `int`,
/// `float`, `bool`, `None`), through the `json` module: the same data every language gets.
pub(crate) fn to_py<'py>(
    py: Python<'py>,
    v: &impl serde::Serialize,
) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(v).unwrap_or_else(|_| "null".into());
    py.import("json")?.call_method1("loads", (text,))
}

/// Keyword options as the core's data form (a `None` is absent; an iterable other than a list,
/// a generator of `"FROM=TO"` say, is read as a list; an object the core cannot read is given
/// as an empty string, for the core to name the option).
pub(crate) fn options(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Value> {
    let mut map = serde_json::Map::new();
    for (k, v) in kwargs.into_iter().flat_map(|d| d.iter()) {
        if v.is_none() {
            continue;
        }
        let mut obj = Obj(v.clone());
        if obj.kind() == NativeKind::Opaque
            && let Ok(it) = v.try_iter()
        {
            obj = Obj(PyList::new(py, it.collect::<PyResult<Vec<_>>>()?)?.into_any());
        }
        let value = leastpriv::native_to_value(&obj)
            .map_err(crate::error::Error)?
            .unwrap_or(Value::String(String::new()));
        map.insert(k.str()?.to_string(), value);
    }
    Ok(Value::Object(map))
}
