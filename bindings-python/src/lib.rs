//! Python bindings for leastpriv: the extension module `leastpriv._leastpriv`.
//!
//! Thin wrappers around the core's types ([`leastpriv::Observed`] as `Recorder`,
//! [`leastpriv::PolicySet`] as `Policy`), one exception class per [`leastpriv::ErrorKind`], and
//! the GIL released while reading files and building policies. The Python package
//! (`python/leastpriv/`) adds the boto3 recorder and the pytest plugin on top.

mod convert;
mod error;
mod options;
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
    error::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

/// Every IAM action the built-in rules can emit, sorted.
/// Writes `data` to `path` as the CLI writes its outputs: a regular file through an
/// exclusively created temporary file and a rename (keeping an existing file's mode), through a
/// symbolic link to its target, and a device or FIFO directly, never replacing it.
#[pyfunction]
fn write_file(py: Python<'_>, path: std::path::PathBuf, data: Vec<u8>) -> Result<(), error::Error> {
    py.detach(|| leastpriv::write_files(&[(path, data)]))
        .map_err(error::Error::from)
}

#[pyfunction]
fn rule_actions() -> Vec<String> {
    leastpriv::Rules::builtin().actions()
}
