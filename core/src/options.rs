//! Options as data: what the bindings' keyword arguments and objects, a configuration file and
//! the shared test vectors say, read and checked here once, with one message per mistake in
//! every language. Every mistake is an [`ErrorKind::Usage`] error naming the option
//! ([`Error::field`]); messages quote option names, never their values.

use crate::call::{check_account, check_partition, check_region};
use crate::error::{Error, ErrorKind, Result};
use crate::policy::{MANAGED_POLICY_LIMIT, OutcomeFilter, PolicyOptions, S3Objects};
use crate::read::{Format, MAX_EVENT_BYTES, ReadOptions};
use serde_json::{Map, Value};

/// The smallest and largest document size limit accepted.
pub const MAX_SIZE_BOUNDS: (usize, usize) = (200, 1 << 20);
/// The smallest and largest per-event size limit accepted.
pub const MAX_EVENT_SIZE_BOUNDS: (usize, usize) = (64, 1 << 30);

fn usage(field: &str, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Usage, message).with_field(field)
}

/// Reads the members of an options object, each once; what is left over is an unknown option.
struct Reader<'a> {
    map: &'a Map<String, Value>,
    used: Vec<&'a str>,
}

impl<'a> Reader<'a> {
    fn new(v: &'a Value) -> Result<Reader<'a>> {
        match v {
            Value::Object(map) => Ok(Reader {
                map,
                used: Vec::new(),
            }),
            _ => Err(Error::new(
                ErrorKind::Usage,
                "options must be an object (a map of option names to values)",
            )),
        }
    }

    /// The value of `name`, `None` when absent or null.
    fn get(&mut self, name: &'a str) -> Option<&'a Value> {
        self.used.push(name);
        self.map.get(name).filter(|v| !v.is_null())
    }

    fn string(&mut self, name: &'a str) -> Result<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(usage(name, format!("`{name}` must be a string"))),
        }
    }

    fn nonempty(&mut self, name: &'a str) -> Result<Option<String>> {
        match self.string(name)? {
            Some(s) if s.trim().is_empty() => Err(usage(name, format!("`{name}` is empty"))),
            other => Ok(other),
        }
    }

    fn boolean(&mut self, name: &'a str) -> Result<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(usage(name, format!("`{name}` must be true or false"))),
        }
    }

    /// A size: a whole number of bytes (or characters), or a string with a K, M or G suffix.
    fn size(&mut self, name: &'a str, bounds: (usize, usize)) -> Result<Option<usize>> {
        let n = match self.get(name) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
            Some(Value::String(s)) => parse_size(s),
            Some(_) => None,
        };
        match n {
            Some(n) if (bounds.0..=bounds.1).contains(&n) => Ok(Some(n)),
            _ => Err(usage(
                name,
                format!(
                    "`{name}` must be a whole number from {} to {} (or a size such as `16M`)",
                    bounds.0, bounds.1
                ),
            )),
        }
    }

    /// A list of strings, or one string.
    fn strings(&mut self, name: &'a str) -> Result<Vec<String>> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(usage(name, format!("`{name}` must be a list of strings"))),
                })
                .collect(),
            Some(_) => Err(usage(name, format!("`{name}` must be a list of strings"))),
        }
    }

    /// Mappings: `{"FROM": "TO"}`, a list of `"FROM=TO"`, or one such string.
    fn mappings(&mut self, name: &'a str) -> Result<Vec<(String, String)>> {
        let bad = || {
            usage(
                name,
                format!("`{name}` must map FROM to TO: {{\"FROM\": \"TO\"}} or [\"FROM=TO\"]"),
            )
        };
        let pair = |s: &str| match s.split_once('=') {
            Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
                Ok((a.trim().to_owned(), b.trim().to_owned()))
            }
            _ => Err(bad()),
        };
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    Value::String(to) => Ok((k.clone(), to.clone())),
                    _ => Err(bad()),
                })
                .collect(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => pair(s),
                    _ => Err(bad()),
                })
                .collect(),
            Some(Value::String(s)) => Ok(vec![pair(s)?]),
            Some(_) => Err(bad()),
        }
    }

    /// A table of names to strings (an environment's `values`).
    fn values(&mut self, name: &'a str) -> Result<std::collections::BTreeMap<String, String>> {
        match self.get(name) {
            None => Ok(Default::default()),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(usage(name, format!("`{name}` must map names to strings"))),
                })
                .collect(),
            Some(_) => Err(usage(name, format!("`{name}` must map names to strings"))),
        }
    }

    /// Fails on a member no option has.
    fn finish(self) -> Result<()> {
        let mut unknown: Vec<&String> = self
            .map
            .keys()
            .filter(|k| !self.used.contains(&k.as_str()))
            .collect();
        unknown.sort();
        match unknown.first() {
            None => Ok(()),
            Some(k) => {
                let shown = crate::render::printable(k).into_owned();
                Err(usage(k, format!("unknown option `{shown}`")))
            }
        }
    }
}

/// `123`, `64K`, `16M`, `1G` (binary units).
pub(crate) fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (digits, shift) = match s.char_indices().last() {
        Some((i, 'K' | 'k')) => (&s[..i], 10),
        Some((i, 'M' | 'm')) => (&s[..i], 20),
        Some((i, 'G' | 'g')) => (&s[..i], 30),
        _ => (s, 0),
    };
    let n: usize = digits.trim().parse().ok()?;
    n.checked_shl(shift).filter(|v| *v >> shift == n)
}

impl PolicyOptions {
    /// Checks what the options say, as every entry point does: region, account and partition of
    /// their forms, mappings between accounts and between regions, a name that can name files
    /// and Terraform blocks (letters, digits, `-`, `_`, not starting with `of-`), a size limit
    /// within [`MAX_SIZE_BOUNDS`].
    ///
    /// ```
    /// let mut o = leastpriv::PolicyOptions::default();
    /// o.account = Some("12345".into());
    /// let e = o.validate().unwrap_err();
    /// assert_eq!((e.kind(), e.field()), (leastpriv::ErrorKind::Usage, Some("account")));
    /// ```
    pub fn validate(&self) -> Result<()> {
        let as_usage = |field: &str, r: Result<()>| {
            r.map_err(|e| Error::new(ErrorKind::Usage, e.message()).with_field(field))
        };
        if let Some(r) = &self.region {
            as_usage("region", check_region(r))?;
        }
        if let Some(a) = &self.account {
            as_usage("account", check_account(a))?;
        }
        if let Some(p) = &self.partition {
            as_usage("partition", check_partition(p))?;
        }
        for (from, to) in &self.map_account {
            if check_account(from).is_err() || check_account(to).is_err() {
                return Err(usage(
                    "map_account",
                    "`map_account` maps 12-digit account ids (FROM=TO)",
                ));
            }
        }
        for (from, to) in &self.map_region {
            if check_region(from).is_err() || check_region(to).is_err() {
                return Err(usage("map_region", "`map_region` maps regions (FROM=TO)"));
            }
        }
        check_policy_name(&self.name)?;
        if let Some(e) = &self.env
            && (e.is_empty()
                || e.len() > 64
                || !e
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            return Err(usage(
                "env",
                "`env` names an environment: letters, digits, `-` and `_` (at most 64)",
            ));
        }
        for (k, v) in &self.values {
            if !k
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                || k.is_empty()
                || v.is_empty()
                || v.len() > 255
                || !v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.+=,@".contains(c))
            {
                return Err(usage(
                    "values",
                    "`values` maps names (letters, digits, `_`, `-`) to names (letters, digits and `-_.+=,@`, at most 255)",
                ));
            }
        }
        if !(MAX_SIZE_BOUNDS.0..=MAX_SIZE_BOUNDS.1).contains(&self.max_size) {
            return Err(usage(
                "max_size",
                format!(
                    "`max_size` must be a whole number from {} to {}",
                    MAX_SIZE_BOUNDS.0, MAX_SIZE_BOUNDS.1
                ),
            ));
        }
        Ok(())
    }

    /// Policy options from data: `name`, `region`, `account`, `partition`, `map_account`,
    /// `map_region` (`{"FROM": "TO"}` or `["FROM=TO"]`), `outcome` (`ok`/`all`), `exclude`
    /// (action globs), `s3_objects` (`exact`/`prefix`/`bucket`), `group_by` (true: one policy
    /// per principal), `max_size`; absent or null means the default. Checked
    /// ([`PolicyOptions::validate`]); an unknown option is an error.
    ///
    /// ```
    /// let o = leastpriv::PolicyOptions::from_json(&serde_json::json!(
    ///     {"region": "eu-west-1", "map_account": {"123456789012": "210987654321"}})).unwrap();
    /// assert_eq!(o.map_account, vec![("123456789012".into(), "210987654321".into())]);
    /// assert!(leastpriv::PolicyOptions::from_json(&serde_json::json!({"regoin": "x"})).is_err());
    /// ```
    pub fn from_json(v: &Value) -> Result<PolicyOptions> {
        let mut r = Reader::new(v)?;
        let o = policy_from(&mut r, true)?;
        r.finish()?;
        Ok(o)
    }
}

/// The policy options of `r`; `group_by` is read as true/false when `group_by_flag`.
fn policy_from<'a>(r: &mut Reader<'a>, group_by_flag: bool) -> Result<PolicyOptions> {
    let d = PolicyOptions::default();
    let o = PolicyOptions {
        name: r.nonempty("name")?.unwrap_or(d.name),
        region: r.string("region")?.filter(|s| !s.is_empty()),
        account: r.string("account")?.filter(|s| !s.is_empty()),
        partition: r.string("partition")?.filter(|s| !s.is_empty()),
        map_account: r.mappings("map_account")?,
        map_region: r.mappings("map_region")?,
        outcome: match r.string("outcome")?.as_deref() {
            None => d.outcome,
            Some("ok") => OutcomeFilter::Ok,
            Some("all") => OutcomeFilter::All,
            Some(_) => return Err(usage("outcome", "`outcome` must be `ok` or `all`")),
        },
        exclude: r.strings("exclude")?,
        s3_objects: match r.string("s3_objects")?.as_deref() {
            None => d.s3_objects,
            Some("exact") => S3Objects::Exact,
            Some("prefix") => S3Objects::Prefix,
            Some("bucket") => S3Objects::Bucket,
            Some(_) => {
                return Err(usage(
                    "s3_objects",
                    "`s3_objects` must be `exact`, `prefix` or `bucket`",
                ));
            }
        },
        group_by: group_by_flag && r.boolean("group_by")?.unwrap_or(false),
        max_size: r
            .size("max_size", MAX_SIZE_BOUNDS)?
            .unwrap_or(MANAGED_POLICY_LIMIT),
        rewrite: crate::rewrite::rules_from_json(r.get("rewrite"))?,
        env: r.nonempty("env")?,
        values: r.values("values")?,
        target: crate::rewrite::Target::Json,
    };
    o.validate()?;
    Ok(o)
}

/// Checks a policy name: letters, digits, `-` and `_`, not starting with `of-` (which names
/// the files of principals).
pub fn check_policy_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 128
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        || name.starts_with("of-")
    {
        return Err(usage(
            "name",
            "`name` must be letters, digits, `-` and `_` (at most 128, not starting with `of-`)",
        ));
    }
    Ok(())
}

impl ReadOptions {
    /// Read options from data: `format` (`auto`, `mulog-edn`, `mulog-json`, `jsonl`,
    /// `cloudtrail`, `observed`), `event_name`, `principal_key`, `lenient`, `max_event_size`
    /// (bytes, or `16M`), `principal` (CloudTrail: ARN globs of the principals to keep),
    /// `read_only` (CloudTrail: `all`, `only` read-only records, or `skip` them);
    /// absent or null means the default. An unknown option is an error.
    ///
    /// ```
    /// let o = leastpriv::ReadOptions::from_json(&serde_json::json!({"lenient": true, "max_event_size": "1M"})).unwrap();
    /// assert!(o.lenient);
    /// assert_eq!(o.max_event_bytes, 1 << 20);
    /// ```
    pub fn from_json(v: &Value) -> Result<ReadOptions> {
        let mut r = Reader::new(v)?;
        let o = read_from(&mut r)?;
        r.finish()?;
        Ok(o)
    }
}

fn read_from<'a>(r: &mut Reader<'a>) -> Result<ReadOptions> {
    let d = ReadOptions::default();
    Ok(ReadOptions {
        format: match r.string("format")? {
            None => Format::Auto,
            // As the format's own parser says it: an unknown format, naming the option.
            Some(f) => f.parse::<Format>().map_err(|e| e.with_field("format"))?,
        },
        event_name: r.nonempty("event_name")?.unwrap_or(d.event_name),
        principal_key: r.nonempty("principal_key")?,
        lenient: r.boolean("lenient")?.unwrap_or(false),
        max_event_bytes: r
            .size("max_event_size", MAX_EVENT_SIZE_BOUNDS)?
            .unwrap_or(MAX_EVENT_BYTES),
        principals: r.strings("principal")?,
        read_only: match r.string("read_only")?.as_deref() {
            None | Some("all") => None,
            Some("only") => Some(true),
            Some("skip") => Some(false),
            Some(_) => {
                return Err(usage(
                    "read_only",
                    "`read_only` must be `all`, `only` (read-only records) or `skip` (the others)",
                ));
            }
        },
        ..d
    })
}

/// The options of a whole run in one flat object, as a configuration file and the shared test
/// vectors write them: the read options and the policy options side by side, with `group_by`
/// naming the key that holds the principal (`principal` for the Call format's field, or a μ/log
/// key such as `app-name`), as `--group-by` does.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// How events are read.
    pub read: ReadOptions,
    /// How the policy is built.
    pub policy: PolicyOptions,
}

impl RunOptions {
    /// Both sets of options from one object (see [`ReadOptions::from_json`] and
    /// [`PolicyOptions::from_json`]; `group_by` is a key here, and `principal_key` is not
    /// taken).
    ///
    /// ```
    /// let o = leastpriv::RunOptions::from_json(&serde_json::json!(
    ///     {"region": "eu-west-1", "lenient": true, "group_by": "app-name"})).unwrap();
    /// assert!(o.read.lenient && o.policy.group_by);
    /// assert_eq!(o.read.principal_key.as_deref(), Some("app-name"));
    /// ```
    pub fn from_json(v: &Value) -> Result<RunOptions> {
        let mut r = Reader::new(v)?;
        let group_by = r.nonempty("group_by")?;
        let mut read = read_from(&mut r)?;
        // `principal_key` is `group_by` here: read it as used so that it is not unknown, but
        // a run names its principal once.
        if r.map.contains_key("principal_key") {
            return Err(usage(
                "principal_key",
                "`principal_key` is not a run option: `group_by` names the key",
            ));
        }
        read.principal_key = group_by.clone().filter(|k| k != "principal");
        // `group_by` was read above, as a key.
        let mut policy = policy_from(&mut r, false)?;
        policy.group_by = group_by.is_some();
        r.finish()?;
        Ok(RunOptions { read, policy })
    }
}

impl ReadOptions {
    /// The options as data, in the form [`ReadOptions::from_json`] reads (the defaults
    /// included): what a binding hands its own language.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "format": self.format.name(),
            "event_name": self.event_name,
            "principal_key": self.principal_key,
            "lenient": self.lenient,
            "max_event_size": self.max_event_bytes,
            "principal": self.principals,
            "read_only": match self.read_only {
                None => "all",
                Some(true) => "only",
                Some(false) => "skip",
            },
        })
    }
}

impl PolicyOptions {
    /// The options as data, in the form [`PolicyOptions::from_json`] reads.
    pub fn to_json(&self) -> Value {
        let map = |m: &[(String, String)]| {
            m.iter()
                .map(|(a, b)| format!("{a}={b}"))
                .collect::<Vec<_>>()
        };
        serde_json::json!({
            "name": self.name,
            "region": self.region,
            "account": self.account,
            "partition": self.partition,
            "map_account": map(&self.map_account),
            "map_region": map(&self.map_region),
            "outcome": match self.outcome { OutcomeFilter::Ok => "ok", OutcomeFilter::All => "all" },
            "exclude": self.exclude,
            "s3_objects": match self.s3_objects {
                S3Objects::Exact => "exact",
                S3Objects::Prefix => "prefix",
                S3Objects::Bucket => "bucket",
            },
            "group_by": self.group_by,
            "max_size": self.max_size,
            "rewrite": self.rewrite.iter().map(crate::rewrite::RewriteRule::to_json).collect::<Vec<_>>(),
            "env": self.env,
            "values": self.values,
        })
    }
}

impl RunOptions {
    /// The read options and the policy options of a run, each as data (see
    /// [`RunOptions::from_json`]): what a binding's runner passes to its reading and to its
    /// policy building, with no mapping of its own.
    ///
    /// ```
    /// let (read, policy) = leastpriv::RunOptions::split_json(&serde_json::json!(
    ///     {"lenient": true, "account": "123456789012"})).unwrap();
    /// assert_eq!(read["lenient"], true);
    /// assert_eq!(policy["account"], "123456789012");
    /// assert_eq!(leastpriv::PolicyOptions::from_json(&policy).unwrap().account.as_deref(), Some("123456789012"));
    /// ```
    pub fn split_json(v: &Value) -> Result<(Value, Value)> {
        let o = RunOptions::from_json(v)?;
        Ok((o.read.to_json(), o.policy.to_json()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn options_round_trip_through_their_data_form() {
        for v in [
            json!({}),
            json!({"region": "eu-west-1", "account": "123456789012", "map_account": {"123456789012": "210987654321"},
                   "map_region": ["us-east-1=eu-west-1"], "outcome": "ok", "exclude": "sts:*", "s3_objects": "exact",
                   "group_by": true, "max_size": 2048, "name": "app_policy", "partition": "aws-cn"}),
        ] {
            let o = PolicyOptions::from_json(&v).unwrap();
            let again = PolicyOptions::from_json(&o.to_json()).unwrap();
            assert_eq!(again.to_json(), o.to_json());
        }
        let r = ReadOptions::from_json(&json!({"format": "edn", "event_name": ":a/b", "principal_key": "app", "lenient": true, "max_event_size": 4096})).unwrap();
        assert_eq!(
            ReadOptions::from_json(&r.to_json()).unwrap().to_json(),
            r.to_json()
        );
    }

    #[test]
    fn mistakes_name_their_option_and_not_their_value() {
        for (v, field) in [
            (json!({"account": "secret-ish"}), "account"),
            (json!({"max_size": "1e99"}), "max_size"),
            (json!({"map_account": {"123456789012": 5}}), "map_account"),
            (json!({"nope\u{1b}": 1}), "nope\u{1b}"),
        ] {
            let e = PolicyOptions::from_json(&v).unwrap_err();
            assert_eq!(
                (e.kind(), e.field()),
                (ErrorKind::Usage, Some(field)),
                "{v}"
            );
            assert!(
                !e.message().contains("secret-ish") && !e.message().contains('\u{1b}'),
                "{e}"
            );
        }
        assert!(PolicyOptions::from_json(&json!("region")).is_err());
        let e = RunOptions::from_json(&json!({"principal_key": "x"})).unwrap_err();
        assert_eq!(e.field(), Some("principal_key"));
    }
}
