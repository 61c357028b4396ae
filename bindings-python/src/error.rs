//! Core errors raised as the exceptions of `leastpriv.errors` (one class per kind, with
//! `kind`, `message`, `path`, `line`, `column` and `field`), and panics caught at the boundary.

use pyo3::prelude::*;

/// A core error on its way to Python (the orphan rule forbids `From<leastpriv::Error> for
/// PyErr` directly, so entry points return `Result<T, Error>`).
#[derive(Debug)]
pub(crate) struct Error(pub(crate) leastpriv::Error);

impl From<leastpriv::Error> for Error {
    fn from(e: leastpriv::Error) -> Error {
        Error(e)
    }
}

fn build(py: Python<'_>, e: &leastpriv::Error) -> PyResult<PyErr> {
    let errors = py.import("leastpriv.errors")?;
    let cls = errors
        .getattr("BY_KIND")?
        .get_item(e.kind().name())
        // A kind added to the core later still gets the base class.
        .or_else(|_| errors.getattr("LeastprivError"))?;
    let exc = cls.call1((e.to_string(),))?;
    exc.setattr("message", e.message())?;
    exc.setattr("path", e.path())?;
    exc.setattr("line", e.line())?;
    exc.setattr("column", e.column())?;
    exc.setattr("field", e.field())?;
    Ok(PyErr::from_value(exc))
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        Python::attach(|py| build(py, &e.0).unwrap_or_else(|err| err))
    }
}

/// Runs `f`, turning a panic into a `LeastprivError` (kind `internal`) instead of PyO3's
/// `PanicException`, a `BaseException` that `except Exception` would not catch.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, Error>) -> PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(PyErr::from),
        Err(_) => Python::attach(|py| {
            let base = py.import("leastpriv.errors")?.getattr("LeastprivError")?;
            let exc = base.call1(("internal error (please report it)",))?;
            exc.setattr("kind", "internal")?;
            Err(PyErr::from_value(exc))
        }),
    }
}
