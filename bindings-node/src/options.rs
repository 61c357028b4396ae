//! Option objects of the JavaScript API and their conversion into the core's options.

use crate::error::usage;
use leastpriv::{Format, OutcomeFilter, ReadOptions as CoreReadOptions, S3Objects};
use napi::bindgen_prelude::{Either, Either3};
use napi_derive::napi;
use std::collections::HashMap;

/// Options of `new Recorder(...)`.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct RecorderOptions {
    /// Region of calls recorded without one, and of resources whose region is still unknown
    /// when a policy is built (`eu-west-1`).
    pub region: Option<String>,
    /// Account of calls recorded without one, and the default `account` of `policy()` and
    /// `permissions()` (`123456789012`).
    pub account: Option<String>,
    /// Partition (`aws`, `aws-cn`, ...) of calls recorded without one, and the default
    /// `partition` of `policy()` and `permissions()`. By default derived from the region.
    pub partition: Option<String>,
    /// Your own rules files, or directories of them (`*.json`, as in `spec/services/`): their
    /// operations replace the built-in rules of the same API and operation. One path or a list.
    #[napi(ts_type = "string | Array<string>")]
    pub rules: Option<Either<String, Vec<String>>>,
}

/// Options of `read()`, `readSync()` and `readBuffer()`.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The input format: `auto` (the default: detected from the content), `mulog-edn`,
    /// `mulog-json`, `jsonl` or `observed` (a serialized recorder).
    #[napi(ts_type = "'auto' | 'mulog-edn' | 'mulog-json' | 'jsonl' | 'observed'")]
    pub format: Option<String>,
    /// Skip malformed events (they are counted in `counts.malformed` and listed in
    /// `malformedAt`) instead of failing at the first one.
    pub lenient: Option<bool>,
    /// The μ/log event name to use (default `aws/request`); other events are skipped and counted.
    pub event_name: Option<String>,
    /// The μ/log event key holding the principal (`app-name`), for `groupBy`.
    pub principal_key: Option<String>,
    /// `readBuffer()` only: the name used for the input in errors and evidence (default `input`).
    pub label: Option<String>,
}

impl TryFrom<&ReadOptions> for CoreReadOptions {
    type Error = leastpriv::Error;
    fn try_from(o: &ReadOptions) -> Result<CoreReadOptions, leastpriv::Error> {
        let mut out = CoreReadOptions {
            lenient: o.lenient.unwrap_or(false),
            principal_key: o.principal_key.clone(),
            ..CoreReadOptions::default()
        };
        if let Some(f) = &o.format {
            out.format = f.parse::<Format>()?;
        }
        if let Some(e) = &o.event_name {
            out.event_name = e.clone();
        }
        Ok(out)
    }
}

/// Options of `policy()`, `permissions()` and `evidence()`.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct PolicyOptions {
    /// The policy name (Terraform block names). Default `leastpriv`.
    pub name: Option<String>,
    /// Region for resources whose region is unknown (default: the recorder's).
    pub region: Option<String>,
    /// Account for resources whose account is unknown (default: the recorder's).
    pub account: Option<String>,
    /// Partition for resources whose partition is unknown (default: the recorder's, else
    /// derived from the region).
    pub partition: Option<String>,
    /// Accounts to rewrite, `{"123456789012": "210987654321"}` (what the tests ran against →
    /// the target environment), or `"FROM=TO"` strings (one, or a list) as the CLI takes them.
    #[napi(ts_type = "Record<string, string> | Array<string> | string")]
    pub map_account: Option<Mapping>,
    /// Regions to rewrite, `{"us-east-1": "eu-west-1"}`, or `"FROM=TO"` strings.
    #[napi(ts_type = "Record<string, string> | Array<string> | string")]
    pub map_region: Option<Mapping>,
    /// `all` (the default): a call that failed still needed its permission; `ok`: only calls
    /// that succeeded count.
    #[napi(ts_type = "'ok' | 'all'")]
    pub outcome: Option<String>,
    /// Action globs to leave out (`sts:*`), case-insensitive.
    pub exclude: Option<Vec<String>>,
    /// S3 object keys: `exact` as used; `prefix` (the default) their common prefix per bucket
    /// and action; `bucket` for `bucket/*`.
    #[napi(ts_type = "'exact' | 'prefix' | 'bucket'")]
    pub s3_objects: Option<String>,
    /// One policy per principal (the `principal` of each call).
    pub group_by: Option<bool>,
    /// Size limit of one document, in non-whitespace characters (default 6144, IAM's limit
    /// for a managed policy).
    pub max_size: Option<u32>,
}

/// A `FROM → TO` mapping option: `"FROM=TO"`, a list of them, or `{FROM: TO}`.
pub type Mapping = Either3<String, Vec<String>, HashMap<String, String>>;

impl RecorderOptions {
    /// The `rules` paths, one or several.
    pub(crate) fn rule_paths(&self) -> Vec<String> {
        match &self.rules {
            None => Vec::new(),
            Some(Either::A(one)) => vec![one.clone()],
            Some(Either::B(many)) => many.clone(),
        }
    }
}

/// Builds the core's policy options from the JavaScript ones, with the recorder's defaults.
pub(crate) fn policy_options(
    o: Option<&PolicyOptions>,
    defaults: &RecorderOptions,
) -> Result<leastpriv::PolicyOptions, leastpriv::Error> {
    let empty = PolicyOptions::default();
    let o = o.unwrap_or(&empty);
    let mut out = leastpriv::PolicyOptions {
        region: o.region.clone().or_else(|| defaults.region.clone()),
        account: o.account.clone().or_else(|| defaults.account.clone()),
        partition: o.partition.clone().or_else(|| defaults.partition.clone()),
        exclude: o.exclude.clone().unwrap_or_default(),
        group_by: o.group_by.unwrap_or(false),
        ..leastpriv::PolicyOptions::default()
    };
    if let Some(name) = &o.name {
        if name.trim().is_empty() {
            return Err(usage("policy name must not be empty"));
        }
        out.name = name.clone();
    }
    let pairs = |m: &Option<Mapping>, what: &str| {
        let mut v: Vec<(String, String)> = Vec::new();
        let parse = |s: &str| {
            leastpriv::parse_mapping(s).map_err(|_| {
                usage(format!(
                    "{what}: `{s}`: expected FROM=TO (or an object {{FROM: TO}})"
                ))
            })
        };
        match m {
            None => {}
            Some(Either3::A(one)) => v.push(parse(one)?),
            Some(Either3::B(many)) => {
                for s in many {
                    v.push(parse(s)?);
                }
            }
            Some(Either3::C(map)) => {
                for (from, to) in map {
                    if from.trim().is_empty() || to.trim().is_empty() {
                        return Err(usage(format!("{what}: empty value in a FROM → TO mapping")));
                    }
                    v.push((from.trim().to_owned(), to.trim().to_owned()));
                }
            }
        }
        v.sort();
        Ok(v)
    };
    out.map_account = pairs(&o.map_account, "mapAccount")?;
    out.map_region = pairs(&o.map_region, "mapRegion")?;
    if let Some(x) = &o.outcome {
        out.outcome = x.parse::<OutcomeFilter>()?;
    }
    if let Some(x) = &o.s3_objects {
        out.s3_objects = x.parse::<S3Objects>()?;
    }
    if let Some(n) = o.max_size {
        if n < 100 {
            return Err(usage(format!("maxSize {n} is too small (at least 100)")));
        }
        out.max_size = n as usize;
    }
    Ok(out)
}
