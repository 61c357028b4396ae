//! Policy options from Python keyword arguments.

use crate::convert::text;
use crate::error::{Error, usage};
use leastpriv::{OutcomeFilter, PolicyOptions, S3Objects, parse_mapping};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

/// `{"FROM": "TO"}`, an iterable of `"FROM=TO"` strings, or one such string.
pub(crate) fn mappings(
    what: &str,
    obj: Option<&Bound<'_, PyAny>>,
) -> Result<Vec<(String, String)>, Error> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    if let Ok(d) = obj.cast::<PyDict>() {
        for (k, v) in d.iter() {
            match (k.cast::<PyString>(), v.cast::<PyString>()) {
                (Ok(k), Ok(v)) => {
                    let (k, v) = (text(k), text(v));
                    out.push(parse_mapping(&format!("{k}={v}"))?);
                }
                _ => return Err(usage(format!("{what}: keys and values must be strings"))),
            }
        }
        return Ok(out);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        out.push(parse_mapping(&text(s))?);
        return Ok(out);
    }
    let iter = obj.try_iter().map_err(|_| {
        usage(format!(
            "{what}: expected a dict or a list of \"FROM=TO\" strings"
        ))
    })?;
    for item in iter {
        let item = item.map_err(|_| usage(format!("{what}: could not iterate")))?;
        match item.cast::<PyString>() {
            Ok(s) => out.push(parse_mapping(&text(s))?),
            Err(_) => return Err(usage(format!("{what}: expected \"FROM=TO\" strings"))),
        }
    }
    Ok(out)
}

/// A string list from an iterable of strings, or one string.
pub(crate) fn strings(what: &str, obj: Option<&Bound<'_, PyAny>>) -> Result<Vec<String>, Error> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(vec![text(s)]);
    }
    let iter = obj
        .try_iter()
        .map_err(|_| usage(format!("{what}: expected a list of strings")))?;
    let mut out = Vec::new();
    for item in iter {
        let item = item.map_err(|_| usage(format!("{what}: could not iterate")))?;
        match item.cast::<PyString>() {
            Ok(s) => out.push(text(s)),
            Err(_) => return Err(usage(format!("{what}: expected strings"))),
        }
    }
    Ok(out)
}

/// The target options shared by `permissions()` and `policy()`.
#[derive(Debug, Default)]
pub(crate) struct Target<'a, 'py> {
    pub(crate) region: Option<String>,
    pub(crate) account: Option<String>,
    pub(crate) partition: Option<String>,
    pub(crate) map_account: Option<&'a Bound<'py, PyAny>>,
    pub(crate) map_region: Option<&'a Bound<'py, PyAny>>,
    pub(crate) outcome: &'a str,
    pub(crate) exclude: Option<&'a Bound<'py, PyAny>>,
}

impl Target<'_, '_> {
    pub(crate) fn to_options(&self) -> Result<PolicyOptions, Error> {
        if let Some(a) = &self.account
            && !(a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(usage(format!(
                "account `{a}`: expected a 12-digit account id"
            )));
        }
        Ok(PolicyOptions {
            region: self.region.clone(),
            account: self.account.clone(),
            partition: self.partition.clone(),
            map_account: mappings("map_account", self.map_account)?,
            map_region: mappings("map_region", self.map_region)?,
            outcome: self.outcome.parse::<OutcomeFilter>()?,
            exclude: strings("exclude", self.exclude)?,
            ..PolicyOptions::default()
        })
    }
}

/// `s3_objects="exact" | "prefix" | "bucket"`.
pub(crate) fn s3_objects(s: &str) -> Result<S3Objects, Error> {
    Ok(s.parse::<S3Objects>()?)
}
