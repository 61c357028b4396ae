//! Python bindings for leastpriv: the extension module `leastpriv._leastpriv`.
//!
//! Thin: `Recorder` is the core's [`leastpriv::Pipeline`], `Policy` its
//! [`leastpriv::PolicyResult`]; options, outcomes, checks, the walk of request parameters and
//! every result's shape are the core's. This crate converts Python objects and maps errors to
//! the exceptions of `leastpriv.errors`; the GIL is released while reading and building.

mod error;
mod native;
mod policy;
mod recorder;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _leastpriv(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<recorder::Recorder>()?;
    m.add_class::<policy::Policy>()?;
    m.add_function(wrap_pyfunction!(recorder::_restore, m)?)?;
    m.add_function(wrap_pyfunction!(rule_actions, m)?)?;
    m.add_function(wrap_pyfunction!(write_file, m)?)?;
    m.add_function(wrap_pyfunction!(split_options, m)?)?;
    // The exceptions live in `leastpriv.errors`; the module names them too.
    let errors = m.py().import("leastpriv.errors")?;
    for name in errors.getattr("__all__")?.extract::<Vec<String>>()? {
        m.add(name.as_str(), errors.getattr(name.as_str())?)?;
    }
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

/// Every IAM action the built-in rules can emit, sorted.
#[pyfunction]
fn rule_actions() -> Vec<String> {
    leastpriv::Rules::builtin().actions()
}

/// Writes `data` to `path` as the CLI writes its outputs: a regular file through an
/// exclusively created temporary file and a rename (keeping an existing file's mode), through a
/// symbolic link to its target, and a device or FIFO directly, never replacing it.
#[pyfunction]
fn write_file(py: Python<'_>, path: std::path::PathBuf, data: Vec<u8>) -> PyResult<()> {
    py.detach(|| error::guard(|| Ok(leastpriv::write_files(&[(path, data)])?)))
}

/// A run's options (flat, as a configuration file or a test vector writes them) as the keyword
/// arguments of ``Recorder.read`` and of ``Recorder.policy``: ``(read, policy)``, checked by
/// the core.
#[pyfunction]
fn split_options<'py>(
    py: Python<'py>,
    options: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let v = leastpriv::native_to_value(&native::Obj(options.clone()))
        .map_err(error::Error)?
        .unwrap_or_default();
    let (read, policy) = leastpriv::RunOptions::split_json(&v).map_err(error::Error)?;
    Ok((native::to_py(py, &read)?, native::to_py(py, &policy)?))
}
