//! `Recorder`: the core's [`Pipeline`] behind a mutex, with a recorder's default context.

use crate::error::{Error, guard};
use crate::native::{Obj, options, text, to_py};
use crate::policy::Policy;
use leastpriv::{
    Call, CallParts, Observed, Pipeline, PolicyOptions, PolicyResult, ReadOptions, Rules,
    evidence_lines, permission_lines,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple, PyType};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// Records AWS calls and reads event files; derives the permissions they need.
///
/// ``Recorder(region=None, account=None, partition=None, *, rules=None)``: the region, account
/// and partition fill what a call does not tell (when recording and when building a policy);
/// ``rules`` adds your own rules files (a path or a list of paths) over the built-in ones.
/// Safe to use from several threads.
#[pyclass(module = "leastpriv._leastpriv", name = "Recorder", frozen)]
#[derive(Debug)]
pub(crate) struct Recorder {
    pipeline: Mutex<Pipeline>,
    rules: Arc<Rules>,
    rule_paths: Vec<PathBuf>,
    #[pyo3(get)]
    region: Option<String>,
    #[pyo3(get)]
    account: Option<String>,
    #[pyo3(get)]
    partition: Option<String>,
}

type Opt<'a, 'py> = Option<&'a Bound<'py, PyAny>>;
type Kwargs<'a, 'py> = Option<&'a Bound<'py, PyDict>>;

impl Recorder {
    fn lock(&self) -> MutexGuard<'_, Pipeline> {
        // Every mutation is a whole record, read or merge: a poisoned lock's state is whole.
        self.pipeline.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn snapshot(&self) -> Observed {
        self.lock().observed().clone()
    }

    fn make(
        py: Python<'_>,
        observed: Observed,
        region: Option<String>,
        account: Option<String>,
        partition: Option<String>,
        rules: Opt<'_, '_>,
    ) -> PyResult<Recorder> {
        let rule_paths: Vec<PathBuf> = match rules.filter(|r| !r.is_none()) {
            None => Vec::new(),
            Some(r) => r
                .extract::<PathBuf>()
                .map(|p| vec![p])
                .or_else(|_| r.extract::<Vec<PathBuf>>())
                .map_err(|_| {
                    Error(
                        leastpriv::Error::new(
                            leastpriv::ErrorKind::Usage,
                            "`rules` must be a path or a list of paths",
                        )
                        .with_field("rules"),
                    )
                })?,
        };
        let paths = rule_paths.clone();
        let rules = py.detach(|| guard(|| Ok(Rules::from_paths(&paths)?)))?;
        let pipeline =
            Pipeline::with_observed(Arc::clone(&rules), ReadOptions::default(), observed);
        Ok(Recorder {
            pipeline: Mutex::new(pipeline),
            rules,
            rule_paths,
            region,
            account,
            partition,
        })
    }

    /// Policy options from keywords, the recorder's context filling what they leave out.
    fn policy_options(&self, py: Python<'_>, kwargs: Kwargs<'_, '_>) -> PyResult<PolicyOptions> {
        let mut v = options(py, kwargs)?;
        for (k, d) in [
            ("region", &self.region),
            ("account", &self.account),
            ("partition", &self.partition),
        ] {
            if v.get(k).is_none_or(leastpriv::Value::is_null)
                && let Some(d) = d
            {
                v[k] = leastpriv::Value::from(d.as_str());
            }
        }
        Ok(PolicyOptions::from_json(&v).map_err(Error)?)
    }
}

fn bytes_of(data: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    data.extract::<Vec<u8>>()
        .map_err(|_| pyo3::exceptions::PyTypeError::new_err("expected bytes or bytearray"))
}

#[pymethods]
impl Recorder {
    #[new]
    #[pyo3(signature = (region=None, account=None, partition=None, *, rules=None))]
    fn new(
        py: Python<'_>,
        region: Option<String>,
        account: Option<String>,
        partition: Option<String>,
        rules: Opt<'_, '_>,
    ) -> PyResult<Recorder> {
        Recorder::make(py, Observed::new(), region, account, partition, rules)
    }

    /// Records one call: derives the permissions it needs and adds them.
    ///
    /// ``params`` is the request as passed to the SDK (a dict); only the members the rules read
    /// are looked at. An ``error_code`` makes the call failed whatever ``outcome`` says.
    /// ``source`` is the evidence label (a test id); ``principal`` groups permissions with
    /// ``policy(group_by=True)``.
    #[pyo3(signature = (
        service, operation, params=None, *, region=None, account=None, partition=None,
        outcome=None, error_code=None, principal=None, endpoint=None, source=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        service: &str,
        operation: &str,
        params: Opt<'_, '_>,
        region: Option<&str>,
        account: Option<&str>,
        partition: Option<&str>,
        outcome: Option<&str>,
        error_code: Option<&str>,
        principal: Option<&str>,
        endpoint: Option<&str>,
        source: Option<&Bound<'_, PyString>>,
    ) -> PyResult<()> {
        let params = match params.filter(|p| !p.is_none()) {
            None => leastpriv::Value::Null,
            Some(p) if p.is_instance_of::<pyo3::types::PyDict>() => self
                .rules
                .selection(service, operation)
                .select(&Obj(p.clone()))
                .map_err(Error)?
                .unwrap_or(leastpriv::Value::Null),
            Some(p) => {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "params must be a dict or None, not {}",
                    p.get_type().name()?
                )));
            }
        };
        let source = source.map(text);
        let parts = CallParts {
            service,
            operation,
            region,
            account,
            partition,
            endpoint,
            outcome,
            error_code,
            principal,
            source: source.as_deref(),
        };
        let defaults = CallParts {
            region: self.region.as_deref(),
            account: self.account.as_deref(),
            partition: self.partition.as_deref(),
            ..CallParts::default()
        };
        let call = Call::from_parts(&parts, params, &defaults).map_err(Error)?;
        guard(|| {
            self.lock().record(&call);
            Ok(())
        })
    }

    /// Reads an event file (μ/log EDN, μ/log JSON, JSON lines, or a serialized state) with the
    /// GIL released; the read options (``format``, ``lenient``, ``event_name``,
    /// ``principal_key``, ``max_event_size``) as keywords. On an error nothing from this file
    /// is kept.
    #[pyo3(signature = (path, **options))]
    fn read(
        &self,
        py: Python<'_>,
        path: PathBuf,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let opts = ReadOptions::from_json(&self::options(py, options)?).map_err(Error)?;
        let rules = Arc::clone(&self.rules);
        let path = path.to_string_lossy().into_owned();
        let seen = py.detach(|| {
            guard(|| {
                let mut p = Pipeline::new(rules, opts);
                p.read_path(&path)?;
                Ok(p.into_observed())
            })
        })?;
        guard(|| {
            self.lock().observed_mut().merge(&seen);
            Ok(())
        })
    }

    /// The raw (action, resource) pairs, as `leastpriv permissions` prints them; the policy
    /// options as keywords.
    #[pyo3(signature = (**options))]
    fn permissions<'py>(
        &self,
        py: Python<'py>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let opts = self.policy_options(py, options)?;
        let seen = self.snapshot();
        let lines = py.detach(|| guard(|| Ok(permission_lines(&seen, &opts))))?;
        to_py(py, &lines)
    }

    /// Every permission with its counts and first evidence (the smallest source label and line
    /// that needed it: the pytest node id, the event file and line), in the core's shape; the
    /// policy options as keywords.
    #[pyo3(signature = (**options))]
    fn evidence<'py>(
        &self,
        py: Python<'py>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let opts = self.policy_options(py, options)?;
        let seen = self.snapshot();
        let lines = py.detach(|| guard(|| Ok(evidence_lines(&seen, &opts))))?;
        to_py(py, &lines)
    }

    /// Checks a declared policy (IAM JSON files: a path or a list of paths) against what was
    /// recorded, with the policy options as keywords (the same mappings and rewrite rules as
    /// ``policy``); Terraform files (``.tf``) too, ``vars`` resolving their references
    /// (``{"orders_table": "orders"}`` for ``var.orders_table``, or whole reference texts). Returns the findings in the core's form (``format``, ``version``,
    /// ``permissions``, ``counts`` of ``missing``/``unused``/``broad``/``undecidable``,
    /// ``findings``); a malformed policy raises ``InvalidPolicyError`` with its place.
    #[pyo3(signature = (policy, *, vars=None, **options))]
    fn check<'py>(
        &self,
        py: Python<'py>,
        policy: &Bound<'py, PyAny>,
        vars: Option<std::collections::BTreeMap<String, String>>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let paths: Vec<PathBuf> = policy
            .extract::<PathBuf>()
            .map(|p| vec![p])
            .or_else(|_| policy.extract::<Vec<PathBuf>>())
            .map_err(|_| {
                Error(
                    leastpriv::Error::new(
                        leastpriv::ErrorKind::Usage,
                        "`policy` must be a path or a list of paths",
                    )
                    .with_field("policy"),
                )
            })?;
        let opts = self.policy_options(py, options)?;
        let seen = self.snapshot();
        let vars = vars.unwrap_or_default();
        let v = py.detach(|| guard(|| Ok(leastpriv::check_paths(&paths, &seen, &opts, &vars)?)))?;
        to_py(py, &v)
    }

    /// Builds the policy (with the GIL released); the policy options (``name``, ``region``,
    /// ``account``, ``partition``, ``map_account``, ``map_region``, ``outcome``, ``exclude``,
    /// ``s3_objects``, ``group_by``, ``max_size``) as keywords.
    #[pyo3(signature = (**options))]
    fn policy(&self, py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Policy> {
        let opts = self.policy_options(py, options)?;
        let seen = self.snapshot();
        let result = py.detach(|| guard(|| Ok(PolicyResult::build(&seen, &opts)?)))?;
        Ok(Policy(result))
    }

    /// Adds everything `other` recorded (commutative and associative).
    fn merge(&self, other: &Bound<'_, Recorder>) -> PyResult<()> {
        let theirs = other.get().snapshot();
        guard(|| {
            self.lock().observed_mut().merge(&theirs);
            Ok(())
        })
    }

    /// The core's versioned serialized state (readable by the CLI and the Node package).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.lock().observed().to_bytes())
    }

    /// A recorder holding a serialized state.
    #[classmethod]
    #[pyo3(signature = (data, *, region=None, account=None, partition=None, rules=None))]
    fn from_bytes(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        region: Option<String>,
        account: Option<String>,
        partition: Option<String>,
        rules: Opt<'_, '_>,
    ) -> PyResult<Recorder> {
        let bytes = bytes_of(data)?;
        let observed = py.detach(|| guard(|| Ok(Observed::from_bytes(&bytes)?)))?;
        Recorder::make(py, observed, region, account, partition, rules)
    }

    /// Event counts: ``calls`` recorded, events ``skipped`` (other event names), ``malformed``
    /// events skipped in lenient mode.
    #[getter]
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = self.lock().observed().counts();
        to_py(py, &c)
    }

    /// Where malformed events were skipped: ``{"source", "line"}`` each (the first 100).
    #[getter]
    fn malformed_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let at: Vec<_> = self.lock().observed().malformed_at().cloned().collect();
        to_py(py, &at)
    }

    fn __len__(&self) -> usize {
        self.lock().observed().len()
    }

    fn __repr__(&self) -> String {
        let p = self.lock();
        format!(
            "<leastpriv.Recorder: {} permission(s) from {} call(s)>",
            p.observed().len(),
            p.observed().counts().calls
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let me = slf.get();
        let restore = py.import("leastpriv._leastpriv")?.getattr("_restore")?;
        let args = (
            me.to_bytes(py),
            me.region.clone(),
            me.account.clone(),
            me.partition.clone(),
            me.rule_paths.clone(),
        );
        PyTuple::new(py, [restore, args.into_pyobject(py)?.into_any()])
    }
}

/// Unpickles a [`Recorder`] (see `Recorder.__reduce__`).
#[pyfunction]
pub(crate) fn _restore(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    region: Option<String>,
    account: Option<String>,
    partition: Option<String>,
    rules: Vec<PathBuf>,
) -> PyResult<Recorder> {
    let rules = rules.into_pyobject(py)?.into_any();
    let cls = py.get_type::<Recorder>();
    Recorder::from_bytes(&cls, py, data, region, account, partition, Some(&rules))
}
