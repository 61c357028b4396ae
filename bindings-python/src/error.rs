//! The exception hierarchy: `LeastprivError` and one subclass per [`ErrorKind`], all mapped in
//! one place ([`From<Error> for PyErr`](Error)).
//!
//! The classes are made when the module is first imported, with `type(name, bases, dict)`, so
//! that a kind can mix in the builtin it naturally is (`FileNotFoundError`, `ValueError`, ...),
//! which `create_exception!` (single base) cannot express.

use leastpriv::ErrorKind;
use pyo3::exceptions::{PyException, PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// The module the classes say they live in (they are re-exported by `leastpriv`).
const MODULE: &str = "leastpriv._leastpriv";

/// `(kind, class name, builtin mixed in, docstring)`, in [`ErrorKind::ALL`] order.
const CLASSES: [(ErrorKind, &str, Mixin, &str); 9] = [
    (
        ErrorKind::Io,
        "IoError",
        Mixin::OsError,
        "A file could not be opened, read or written (also an ``OSError``).",
    ),
    (
        ErrorKind::NotFound,
        "NotFoundError",
        Mixin::FileNotFound,
        "A file that does not exist was named (also a ``FileNotFoundError``).",
    ),
    (
        ErrorKind::Encoding,
        "EncodingError",
        Mixin::Value,
        "The bytes are not valid UTF-8 (also a ``ValueError``).",
    ),
    (
        ErrorKind::Syntax,
        "ParseError",
        Mixin::Value,
        "The text is not well-formed EDN or JSON (kind ``syntax``; also a ``ValueError``).",
    ),
    (
        ErrorKind::InvalidEvent,
        "InvalidEventError",
        Mixin::Value,
        "The event is well-formed but not a usable AWS request event (also a ``ValueError``).",
    ),
    (
        ErrorKind::UnknownFormat,
        "UnknownFormatError",
        Mixin::Value,
        "The input format could not be detected, or an unknown format was named (also a ``ValueError``).",
    ),
    (
        ErrorKind::Rules,
        "RulesError",
        Mixin::Value,
        "A rules file is malformed (also a ``ValueError``).",
    ),
    (
        ErrorKind::Serialization,
        "SerializationError",
        Mixin::Value,
        "A serialized state is malformed or of an unsupported version (also a ``ValueError``).",
    ),
    (
        ErrorKind::Usage,
        "UsageError",
        Mixin::Value,
        "An option value is malformed (also a ``ValueError``).",
    ),
];

#[derive(Clone, Copy)]
enum Mixin {
    OsError,
    FileNotFound,
    Value,
}

struct Classes {
    base: Py<PyType>,
    kinds: Vec<(ErrorKind, Py<PyType>)>,
}

static CLASSES_CELL: PyOnceLock<Classes> = PyOnceLock::new();

fn make_class<'py>(
    py: Python<'py>,
    name: &str,
    bases: Bound<'py, PyTuple>,
    doc: &str,
    kind: Option<&str>,
) -> PyResult<Bound<'py, PyType>> {
    let dict = PyDict::new(py);
    dict.set_item("__module__", MODULE)?;
    dict.set_item("__qualname__", name)?;
    dict.set_item("__doc__", doc)?;
    if let Some(k) = kind {
        dict.set_item("kind", k)?;
    }
    Ok(py
        .get_type::<PyType>()
        .call1((name, bases, dict))?
        .cast_into::<PyType>()?)
}

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES_CELL.get_or_try_init(py, || {
        let base = make_class(
            py,
            "LeastprivError",
            PyTuple::new(py, [py.get_type::<PyException>()])?,
            "Base class of every leastpriv error. ``kind`` names the error kind; ``path``, \
             ``line``, ``column`` and ``field`` say where, when known (else ``None``).",
            None,
        )?;
        for attr in ["path", "line", "column", "field"] {
            base.setattr(attr, py.None())?;
        }
        base.setattr("kind", "error")?;
        base.setattr("message", "")?;
        let mut kinds = Vec::with_capacity(CLASSES.len());
        for (kind, name, mixin, doc) in CLASSES {
            let builtin = match mixin {
                Mixin::OsError => py.get_type::<PyOSError>(),
                Mixin::FileNotFound => py.get_type::<PyFileNotFoundError>(),
                Mixin::Value => py.get_type::<PyValueError>(),
            };
            let bases = PyTuple::new(py, [base.clone(), builtin])?;
            let cls = make_class(py, name, bases, doc, Some(kind.name()))?;
            kinds.push((kind, cls.unbind()));
        }
        Ok(Classes {
            base: base.unbind(),
            kinds,
        })
    })
}

/// Adds the exception classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let c = classes(py)?;
    m.add("LeastprivError", c.base.bind(py))?;
    for (kind, cls) in &c.kinds {
        let name = CLASSES
            .iter()
            .find(|(k, ..)| k == kind)
            .map(|(_, n, ..)| *n)
            .unwrap_or("LeastprivError");
        m.add(name, cls.bind(py))?;
    }
    let kinds: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
    m.add("ERROR_KINDS", PyTuple::new(py, kinds)?)?;
    Ok(())
}

/// A core error on its way to Python (the orphan rule forbids `From<leastpriv::Error> for
/// PyErr` directly, so entry points return `Result<T, Error>`).
#[derive(Debug)]
pub(crate) enum Error {
    /// An error of the core, with its kind and position.
    Core(leastpriv::Error),
    /// A bug (a panic caught at the boundary): raised as the base `LeastprivError`.
    Internal(String),
}

impl From<leastpriv::Error> for Error {
    fn from(e: leastpriv::Error) -> Error {
        Error::Core(e)
    }
}

/// A usage error raised by the binding itself (a bad option value).
pub(crate) fn usage(message: impl Into<String>) -> Error {
    Error::Core(leastpriv::Error::new(ErrorKind::Usage, message))
}

fn build_internal(py: Python<'_>, message: &str) -> PyResult<PyErr> {
    let c = classes(py)?;
    let exc = c.base.bind(py).call1((message,))?;
    exc.setattr("kind", "internal")?;
    exc.setattr("message", message)?;
    Ok(PyErr::from_value(exc))
}

fn build(py: Python<'_>, e: &leastpriv::Error) -> PyResult<PyErr> {
    let c = classes(py)?;
    let cls = c
        .kinds
        .iter()
        .find(|(k, _)| *k == e.kind())
        .map(|(_, cls)| cls.bind(py))
        // A kind added to the core later still gets the base class, never a bare Exception.
        .unwrap_or_else(|| c.base.bind(py));
    let exc = cls.call1((e.to_string(),))?;
    exc.setattr("kind", e.kind().name())?;
    exc.setattr("message", e.message())?;
    exc.setattr("path", e.path())?;
    exc.setattr("line", e.line())?;
    exc.setattr("column", e.column())?;
    exc.setattr("field", e.field())?;
    Ok(PyErr::from_value(exc))
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        Python::attach(|py| {
            match &e {
                Error::Core(e) => build(py, e),
                Error::Internal(m) => build_internal(py, m),
            }
            .unwrap_or_else(|err| err)
        })
    }
}

/// Runs `f`, turning a panic into a `LeastprivError` instead of letting PyO3 raise its
/// `PanicException` (a `BaseException`, which `except Exception` would not catch).
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(Error::Internal(format!(
                "internal error (please report it): {what}"
            )))
        }
    }
}
