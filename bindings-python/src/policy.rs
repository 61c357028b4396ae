//! `Policy`: a thin wrapper around the core's [`PolicySet`].

use crate::convert::to_py;
use crate::error::{Error, usage};
use leastpriv::{
    Counts, Evidence, PolicySet, TerraformOptions, render_document_json, render_json,
    render_report_json, render_report_text, render_terraform,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// The policy built from a recorder: one or more IAM documents, plus diagnostics.
#[pyclass(module = "leastpriv._leastpriv", name = "Policy", frozen)]
#[derive(Debug)]
pub(crate) struct Policy {
    set: PolicySet,
    group_by: bool,
    counts: Counts,
    malformed_at: Vec<Evidence>,
}

impl Policy {
    pub(crate) fn new(
        set: PolicySet,
        group_by: bool,
        counts: Counts,
        malformed_at: Vec<Evidence>,
    ) -> Policy {
        Policy {
            set,
            group_by,
            counts,
            malformed_at,
        }
    }
}

impl From<&Policy> for PolicySet {
    fn from(p: &Policy) -> PolicySet {
        p.set.clone()
    }
}

fn document_value(doc: &leastpriv::Document) -> serde_json::Value {
    serde_json::from_str(&render_document_json(doc)).unwrap_or_default()
}

#[pymethods]
impl Policy {
    /// The IAM JSON: one document; a JSON array when it was split; with ``group_by``, an
    /// object from principal to document (or array).
    fn to_json(&self) -> String {
        render_json(&self.set, self.group_by)
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
        if provider < 4 {
            return Err(usage(format!(
                "provider {provider}: expected the AWS provider's major version (4 or later)"
            )));
        }
        let opts = TerraformOptions {
            provider_major: provider,
            data_sources,
        };
        match name {
            Some("") => Err(usage("name: must not be empty")),
            Some(n) if !self.group_by => {
                let mut set = PolicySet::from(self);
                for p in &mut set.policies {
                    n.clone_into(&mut p.name);
                }
                Ok(render_terraform(&set, &opts))
            }
            _ => Ok(render_terraform(&self.set, &opts)),
        }
    }

    /// Every document (a policy larger than IAM's limit is split), as dicts.
    #[getter]
    fn documents<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for p in &self.set.policies {
            for d in &p.documents {
                out.append(to_py(py, &document_value(d))?)?;
            }
        }
        Ok(out)
    }

    /// The documents per policy name (the principal with ``group_by``).
    #[getter]
    fn documents_by_name<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for p in &self.set.policies {
            let docs = PyList::empty(py);
            for d in &p.documents {
                docs.append(to_py(py, &document_value(d))?)?;
            }
            out.set_item(&p.name, docs)?;
        }
        Ok(out)
    }

    /// The diagnostics: ``kind``, ``service``, ``operation``, ``message``, ``count`` and the
    /// ``first`` evidence (``source``, ``line``).
    #[getter]
    fn diagnostics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v: serde_json::Value = serde_json::from_str(&render_report_json(
            &self.set,
            &self.counts,
            &self.malformed_at,
        ))
        .unwrap_or_default();
        to_py(py, &v["diagnostics"])
    }

    /// Number of statements over all documents.
    #[getter]
    fn statement_count(&self) -> usize {
        self.set.statements().count()
    }

    /// The human-readable report (counts, then each diagnostic with its first evidence).
    fn report(&self) -> String {
        render_report_text(&self.set, &self.counts, &self.malformed_at)
    }

    fn __repr__(&self) -> String {
        let docs: usize = self.set.policies.iter().map(|p| p.documents.len()).sum();
        format!(
            "<leastpriv.Policy: {} statement(s) in {docs} document(s), {} diagnostic(s)>",
            self.set.statements().count(),
            self.set.diagnostics.len()
        )
    }
}
