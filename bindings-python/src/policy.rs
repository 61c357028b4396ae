//! `Policy`: the core's [`PolicyResult`], handed out in its JSON form.

use crate::error::Error;
use crate::native::to_py;
use leastpriv::{PolicyResult, TerraformOptions, Value};
use pyo3::prelude::*;

/// The policy built from a recorder: one or more IAM documents, plus diagnostics.
#[pyclass(module = "leastpriv._leastpriv", name = "Policy", frozen)]
#[derive(Debug)]
pub(crate) struct Policy(pub(crate) PolicyResult);

#[pymethods]
impl Policy {
    /// The IAM JSON: one document; a JSON array when it was split; with ``group_by``, an
    /// object from principal to document (or array).
    fn to_json(&self) -> Result<String, Error> {
        Ok(self.0.to_json()?)
    }

    /// The policy as Terraform ``aws_iam_policy_document`` data sources. ``name`` renames the
    /// document blocks (not with ``group_by``, where they are named after the principals).
    #[pyo3(signature = (name=None, *, provider=6, data_sources=true))]
    fn to_terraform(
        &self,
        name: Option<&str>,
        provider: u32,
        data_sources: bool,
    ) -> Result<String, Error> {
        let opts = TerraformOptions {
            provider_major: provider,
            data_sources,
        };
        Ok(self.0.to_terraform(name, &opts)?)
    }

    /// The whole result as plain data, the same in every language: ``policies`` (``name``,
    /// ``principal``, IAM ``documents``), ``diagnostics``, ``counts``, ``malformed_at``,
    /// ``statements``, ``documents``.
    #[getter]
    fn result<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0.to_value())
    }

    /// Every document (a policy larger than IAM's limit is split), as dicts.
    #[getter]
    fn documents<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = self.0.to_value();
        let docs: Vec<&Value> = v["policies"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|p| p["documents"].as_array().into_iter().flatten())
            .collect();
        to_py(py, &docs)
    }

    /// The documents per policy name (the principal with ``group_by``).
    #[getter]
    fn documents_by_name<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = self.0.to_value();
        let by: std::collections::BTreeMap<&str, &Value> = v["policies"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| (p["name"].as_str().unwrap_or_default(), &p["documents"]))
            .collect();
        to_py(py, &by)
    }

    /// The diagnostics, in the core's shape (``kind``, ``service``, ``operation``,
    /// ``message``, ``count``, ``ok``, ``failed``, ``first``; ``action`` and ``hint`` when
    /// there are).
    #[getter]
    fn diagnostics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0.to_value()["diagnostics"])
    }

    /// Number of statements over all documents.
    #[getter]
    fn statement_count(&self) -> usize {
        self.0.statement_count()
    }

    /// The human-readable report (counts, then the diagnostics).
    fn report(&self) -> String {
        self.0.report_text()
    }

    fn __repr__(&self) -> String {
        let docs: usize = self.0.set.policies.iter().map(|p| p.documents.len()).sum();
        format!(
            "<leastpriv.Policy: {} statement(s) in {docs} document(s), {} diagnostic(s)>",
            self.0.statement_count(),
            self.0.set.diagnostics.len()
        )
    }
}
