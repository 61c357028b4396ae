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
    m.add_function(wrap_pyfunction!(resolve_settings, m)?)?;
    m.add_function(wrap_pyfunction!(render_variables, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(decode_http, m)?)?;
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

/// The settings of a run, as the CLI resolves them: the configuration file found from ``cwd``
/// (``leastpriv.toml``, ``[tool.leastpriv]`` in ``pyproject.toml``, ``"leastpriv"`` in
/// ``package.json``, up to the repository root), under ``runner`` (the test runner's settings),
/// the ``LEASTPRIV_*`` environment variables and ``cli`` (command-line options). Returns
/// ``read`` and ``policy`` (keyword arguments of ``Recorder.read`` / ``Recorder.policy``),
/// ``out``, ``out_format``, ``rules``, ``emit``, ``terraform_provider``, ``fail_on``, ``check``
/// and ``config`` (the file read).
#[pyfunction]
#[pyo3(signature = (cwd, runner=None, cli=None))]
fn resolve_settings<'py>(
    py: Python<'py>,
    cwd: std::path::PathBuf,
    runner: Option<&Bound<'py, PyAny>>,
    cli: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let layer =
        |o: Option<&Bound<'py, PyAny>>| -> PyResult<serde_json::Map<String, leastpriv::Value>> {
            let Some(o) = o else {
                return Ok(serde_json::Map::new());
            };
            match leastpriv::native_to_value(&native::Obj(o.clone())).map_err(error::Error)? {
                Some(leastpriv::Value::Object(m)) => Ok(m),
                None | Some(leastpriv::Value::Null) => Ok(serde_json::Map::new()),
                Some(_) => Err(pyo3::exceptions::PyTypeError::new_err(
                    "settings layers are dicts of option names to values",
                )),
            }
        };
    let layers = leastpriv::Layers {
        cli: layer(cli)?,
        env_vars: std::env::vars().collect(),
        runner: layer(runner)?,
    };
    let s =
        py.detach(|| error::guard(|| Ok(leastpriv::resolve_settings(&cwd, &layers)?.to_json())))?;
    native::to_py(py, &s)
}

/// A ``variables.tf`` declaring the ``var.*`` the rewrite rules of ``options`` (policy options,
/// as ``Recorder.policy`` takes them) reference; empty when they reference none.
#[pyfunction]
fn render_variables(options: &Bound<'_, PyAny>) -> PyResult<String> {
    let v = leastpriv::native_to_value(&native::Obj(options.clone()))
        .map_err(error::Error)?
        .unwrap_or_default();
    let o = leastpriv::PolicyOptions::from_json(&v).map_err(error::Error)?;
    Ok(leastpriv::render_variables(&o.rewrite))
}

/// Decodes a raw HTTP request an AWS SDK sent (its bytes as on the wire) into the call it made:
/// ``service`` (botocore's name), ``operation``, ``params``, ``region``, ``endpoint``,
/// ``signed`` and ``note`` (why the service chosen was one of several, when it was). Raises
/// ``ParseError`` for what is not an HTTP request, ``InvalidEventError`` for a request no
/// operation fits.
#[pyfunction]
fn decode_http<'py>(py: Python<'py>, raw: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let raw = raw.to_vec();
    let v = py.detach(|| error::guard(|| Ok(leastpriv::decode_http_json(&raw)?)))?;
    native::to_py(py, &v)
}

/// Evaluates a request against IAM policy documents (one principal's, unioned), as IAM would:
/// ``policies`` (a document or a list), ``request`` (``action``, ``resource``, ``context``:
/// condition keys to values, ``None`` for a key known to be absent). Returns ``decision``
/// (``allow``, ``implicit_deny``, ``explicit_deny``, ``undecidable``), ``statements``
/// (``[document, statement]`` behind it) and ``unknown`` (what the context did not tell).
#[pyfunction]
fn evaluate<'py>(
    py: Python<'py>,
    policies: &Bound<'py, PyAny>,
    request: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let value = |o: &Bound<'py, PyAny>| -> PyResult<leastpriv::Value> {
        Ok(leastpriv::native_to_value(&native::Obj(o.clone()))
            .map_err(error::Error)?
            .unwrap_or_default())
    };
    let (p, r) = (value(policies)?, value(request)?);
    let v = py.detach(|| error::guard(|| Ok(leastpriv::evaluate_json(&p, &r)?)))?;
    native::to_py(py, &v)
}
