//! `Recorder`: a thin wrapper around [`Observed`] plus the rules and the default context.

use crate::convert::{select, text, to_py};
use crate::error::{Error, guard, usage};
use crate::options::{Target, s3_objects};
use crate::policy::Policy;
use leastpriv::{
    Call, Format, MANAGED_POLICY_LIMIT, Observed, Outcome, ReadOptions, Rules, RulesBuilder,
    Selection, Source, build_policies, permission_lines, read_path_into,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyString, PyTuple, PyType};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

// The signature of `policy` spells the default out (so Python sees it); keep it in step.
const _: () = assert!(MANAGED_POLICY_LIMIT == 6144);

/// Records AWS calls and reads event files; derives the permissions they need.
///
/// ``Recorder(region=None, account=None, partition=None, *, rules=None)``: the region, account
/// and partition fill what a call does not tell (when recording and when building a policy);
/// ``rules`` adds your own rules files (a path or a list of paths) over the built-in ones.
/// Safe to use from several threads.
// Frozen (no Python-level borrow flags): the state sits behind a mutex, so calls recorded from
// several threads, and a file read with the GIL released, never collide.
#[pyclass(module = "leastpriv._leastpriv", name = "Recorder", frozen)]
#[derive(Debug)]
pub(crate) struct Recorder {
    observed: Mutex<Observed>,
    rules: Arc<Rules>,
    /// The rules' selection per service and operation name as given (computed once).
    selections: Mutex<HashMap<String, HashMap<String, Arc<Selection>>>>,
    rule_paths: Vec<PathBuf>,
    region: Option<String>,
    account: Option<String>,
    partition: Option<String>,
}

impl Recorder {
    fn lock(&self) -> MutexGuard<'_, Observed> {
        // A panic while the lock was held is turned into an exception by `guard`; the state
        // itself stays consistent (every mutation is a whole `record` or `merge`).
        self.observed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the rules read of the parameters of `operation` of `service`.
    fn selection(&self, service: &str, operation: &str) -> Arc<Selection> {
        let mut cache = self.selections.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = cache.get(service).and_then(|ops| ops.get(operation)) {
            return Arc::clone(s);
        }
        let s = Arc::new(self.rules.selection(service, operation));
        cache
            .entry(service.to_owned())
            .or_default()
            .insert(operation.to_owned(), Arc::clone(&s));
        s
    }

    /// A snapshot of the state (so long work runs without holding the lock).
    fn snapshot(&self) -> Observed {
        self.lock().clone()
    }

    fn with_state(
        py: Python<'_>,
        observed: Observed,
        region: Option<String>,
        account: Option<String>,
        partition: Option<String>,
        rules: Option<&Bound<'_, PyAny>>,
    ) -> Result<Recorder, Error> {
        let rule_paths: Vec<PathBuf> = match rules.filter(|r| !r.is_none()) {
            None => Vec::new(),
            Some(r) => match r.extract::<PathBuf>() {
                Ok(p) => vec![p],
                Err(_) => r
                    .extract::<Vec<PathBuf>>()
                    .map_err(|_| usage("rules: expected a path or a list of paths"))?,
            },
        };
        let rules = if rule_paths.is_empty() {
            Rules::builtin()
        } else {
            let paths = rule_paths.clone();
            py.detach(|| {
                guard(|| {
                    let mut b = RulesBuilder::new();
                    for p in &paths {
                        b.add_path(p)?;
                    }
                    Ok(Arc::new(b.build()?))
                })
            })?
        };
        Ok(Recorder {
            observed: Mutex::new(observed),
            rules,
            selections: Mutex::new(HashMap::new()),
            rule_paths,
            region,
            account,
            partition,
        })
    }

    /// Fills what the caller did not give from the recorder's defaults.
    fn target<'a, 'py>(&self, t: Target<'a, 'py>) -> Target<'a, 'py> {
        Target {
            region: t.region.or_else(|| self.region.clone()),
            account: t.account.or_else(|| self.account.clone()),
            partition: t.partition.or_else(|| self.partition.clone()),
            ..t
        }
    }
}

fn bytes_of(data: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = data.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    Err(PyTypeError::new_err("expected bytes or bytearray"))
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
        rules: Option<&Bound<'_, PyAny>>,
    ) -> Result<Recorder, Error> {
        Recorder::with_state(py, Observed::new(), region, account, partition, rules)
    }

    /// Records one call: derives the permissions it needs and adds them.
    ///
    /// ``params`` is the request as passed to the SDK (a dict); only the members the rules read
    /// are converted. ``error_code`` implies ``outcome="error"``. ``source`` is the evidence label
    /// (a test id); ``principal`` groups permissions with ``policy(group_by=True)``.
    #[pyo3(signature = (
        service, operation, params=None, *, region=None, account=None, partition=None,
        outcome="ok", error_code=None, principal=None, endpoint=None, source=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        service: String,
        operation: String,
        params: Option<&Bound<'_, PyAny>>,
        region: Option<String>,
        account: Option<String>,
        partition: Option<String>,
        outcome: &str,
        error_code: Option<String>,
        principal: Option<String>,
        endpoint: Option<String>,
        source: Option<&Bound<'_, PyString>>,
    ) -> PyResult<()> {
        let params = match params {
            None => leastpriv::Value::Object(serde_json::Map::new()),
            Some(p) if p.is_none() => leastpriv::Value::Object(serde_json::Map::new()),
            Some(p) => match p.cast::<PyDict>() {
                Ok(_) => {
                    let sel = self.selection(&service, &operation);
                    select(&[&sel], p, 0)
                        .unwrap_or_else(|| leastpriv::Value::Object(serde_json::Map::new()))
                }
                Err(_) => {
                    return Err(PyTypeError::new_err(format!(
                        "params must be a dict or None, not {}",
                        p.get_type().name()?
                    )));
                }
            },
        };
        let outcome = match (outcome, error_code) {
            ("ok", None) => Outcome::Ok,
            ("ok" | "error", code @ Some(_)) | ("error", code @ None) => Outcome::Error { code },
            (other, _) => {
                return Err(
                    usage(format!("outcome `{other}`: expected \"ok\" or \"error\"")).into(),
                );
            }
        };
        let call = Call {
            service,
            operation,
            params,
            region: region.or_else(|| self.region.clone()),
            account: account.or_else(|| self.account.clone()),
            partition: partition.or_else(|| self.partition.clone()),
            endpoint,
            outcome,
            principal: principal.filter(|p| !p.is_empty()),
            source: match source {
                Some(s) => Source::label(text(s)),
                None => Source::default(),
            },
        };
        call.validate_arguments().map_err(Error::from)?;
        let rules = &self.rules;
        guard(|| {
            let derived = leastpriv::derive(rules, &call);
            self.lock().add(
                &derived,
                call.principal.as_deref(),
                call.outcome.is_ok(),
                &call.source,
            );
            Ok(())
        })?;
        Ok(())
    }

    /// Reads an event file (μ/log EDN, μ/log JSON, JSON lines, or a serialized state) with the
    /// GIL released. On an error nothing from this file is kept.
    #[pyo3(signature = (path, format="auto", lenient=false, *, event_name="aws/request", principal_key=None))]
    fn read(
        &self,
        py: Python<'_>,
        path: PathBuf,
        format: &str,
        lenient: bool,
        event_name: &str,
        principal_key: Option<String>,
    ) -> Result<(), Error> {
        let opts = ReadOptions {
            format: format.parse::<Format>()?,
            event_name: event_name.to_owned(),
            principal_key,
            lenient,
            ..ReadOptions::default()
        };
        let rules = Arc::clone(&self.rules);
        let path = path.to_string_lossy().into_owned();
        let seen = py.detach(|| {
            guard(|| {
                let mut seen = Observed::new();
                read_path_into(&rules, &mut seen, &path, &opts)?;
                Ok(seen)
            })
        })?;
        self.lock().merge(&seen);
        Ok(())
    }

    /// The raw (action, resource) pairs, as `leastpriv permissions` prints them.
    #[pyo3(signature = (
        *, region=None, account=None, partition=None, map_account=None, map_region=None,
        outcome="all", exclude=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn permissions<'py>(
        &self,
        py: Python<'py>,
        region: Option<String>,
        account: Option<String>,
        partition: Option<String>,
        map_account: Option<&Bound<'py, PyAny>>,
        map_region: Option<&Bound<'py, PyAny>>,
        outcome: &str,
        exclude: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let opts = self
            .target(Target {
                region,
                account,
                partition,
                map_account,
                map_region,
                outcome,
                exclude,
            })
            .to_options()?;
        let seen = self.snapshot();
        let lines = py.detach(|| guard(|| Ok(permission_lines(&seen, &opts))))?;
        let out = PyList::empty(py);
        for l in lines {
            let d = PyDict::new(py);
            d.set_item("action", l.action)?;
            d.set_item("resource", l.resource)?;
            if let Some(c) = &l.condition {
                let v = serde_json::to_value(c).unwrap_or_default();
                d.set_item("condition", to_py(py, &v)?)?;
            }
            out.append(d)?;
        }
        Ok(out)
    }

    /// Every permission with its counts and first evidence (the smallest source label and line
    /// that needed it: the pytest node id, the event file and line).
    #[pyo3(signature = (
        *, region=None, account=None, partition=None, map_account=None, map_region=None
    ))]
    fn evidence<'py>(
        &self,
        py: Python<'py>,
        region: Option<String>,
        account: Option<String>,
        partition: Option<String>,
        map_account: Option<&Bound<'py, PyAny>>,
        map_region: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let opts = self
            .target(Target {
                region,
                account,
                partition,
                map_account,
                map_region,
                outcome: "all",
                exclude: None,
            })
            .to_options()?;
        let seen = self.snapshot();
        let out = PyList::empty(py);
        for p in seen.permissions() {
            let (principal, stats) = (p.principal, &p.stats);
            let d = PyDict::new(py);
            d.set_item("action", p.action)?;
            d.set_item("resource", opts.resolve(&p.resource).to_iam())?;
            if let Some(c) = p.condition {
                let v = serde_json::to_value(c).unwrap_or_default();
                d.set_item("condition", to_py(py, &v)?)?;
            }
            d.set_item("principal", principal)?;
            d.set_item("ok", stats.ok)?;
            d.set_item("failed", stats.failed)?;
            d.set_item("source", &*stats.first.source)?;
            d.set_item("line", stats.first.line)?;
            out.append(d)?;
        }
        Ok(out)
    }

    /// Builds the policy (with the GIL released).
    #[pyo3(signature = (
        *, name="leastpriv", region=None, account=None, partition=None, map_account=None,
        map_region=None, outcome="all", exclude=None, s3_objects="prefix", group_by=false,
        max_size=6144
    ))]
    #[allow(clippy::too_many_arguments)]
    fn policy<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        region: Option<String>,
        account: Option<String>,
        partition: Option<String>,
        map_account: Option<&Bound<'py, PyAny>>,
        map_region: Option<&Bound<'py, PyAny>>,
        outcome: &str,
        exclude: Option<&Bound<'py, PyAny>>,
        s3_objects: &str,
        group_by: bool,
        max_size: usize,
    ) -> Result<Policy, Error> {
        if name.is_empty() {
            return Err(usage("name: must not be empty"));
        }
        let mut opts = self
            .target(Target {
                region,
                account,
                partition,
                map_account,
                map_region,
                outcome,
                exclude,
            })
            .to_options()?;
        opts.name = name.to_owned();
        opts.s3_objects = self::s3_objects(s3_objects)?;
        opts.group_by = group_by;
        opts.max_size = max_size;
        let seen = self.snapshot();
        let set = py.detach(|| guard(|| Ok(build_policies(&seen, &opts))))?;
        Ok(Policy::new(
            set,
            group_by,
            seen.counts(),
            seen.malformed_at().cloned().collect(),
        ))
    }

    /// Adds everything `other` recorded (commutative and associative).
    fn merge(&self, other: &Bound<'_, Recorder>) -> Result<(), Error> {
        let theirs = other.get().snapshot();
        guard(|| {
            self.lock().merge(&theirs);
            Ok(())
        })
    }

    /// The core's versioned serialized state (readable by the CLI and the Node package).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let bytes = self.lock().to_bytes();
        PyBytes::new(py, &bytes)
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
        rules: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Recorder> {
        let bytes = bytes_of(data)?;
        let observed = py.detach(|| guard(|| Ok(Observed::from_bytes(&bytes)?)))?;
        Ok(Recorder::with_state(
            py, observed, region, account, partition, rules,
        )?)
    }

    /// Event counts: calls recorded, events skipped (other event names), malformed events
    /// skipped in lenient mode.
    #[getter]
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.lock().counts();
        let d = PyDict::new(py);
        d.set_item("calls", c.calls)?;
        d.set_item("skipped", c.skipped)?;
        d.set_item("malformed", c.malformed)?;
        Ok(d)
    }

    /// Where malformed events were skipped: `(source, line)` pairs.
    #[getter]
    fn malformed_at(&self) -> Vec<(String, u64)> {
        self.lock()
            .malformed_at()
            .map(|e| (e.source.to_string(), e.line))
            .collect()
    }

    #[getter]
    fn region(&self) -> Option<String> {
        self.region.clone()
    }

    #[getter]
    fn account(&self) -> Option<String> {
        self.account.clone()
    }

    #[getter]
    fn partition(&self) -> Option<String> {
        self.partition.clone()
    }

    fn __len__(&self) -> usize {
        self.lock().len()
    }

    fn __repr__(&self) -> String {
        let seen = self.lock();
        format!(
            "<leastpriv.Recorder: {} permission(s) from {} call(s)>",
            seen.len(),
            seen.counts().calls
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let me = slf.get();
        let restore = py.import("leastpriv._leastpriv")?.getattr("_restore")?;
        let paths: Vec<String> = me
            .rule_paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let args = (
            me.to_bytes(py),
            me.region.clone(),
            me.account.clone(),
            me.partition.clone(),
            paths,
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
    let bytes = bytes_of(data)?;
    let observed = py.detach(|| guard(|| Ok(Observed::from_bytes(&bytes)?)))?;
    let rules = if rules.is_empty() {
        None
    } else {
        Some(rules.into_pyobject(py)?.into_any())
    };
    Ok(Recorder::with_state(
        py,
        observed,
        region,
        account,
        partition,
        rules.as_ref(),
    )?)
}
