//! An IAM evaluator for identity-based policies: does a set of policy documents (one
//! principal's, unioned) allow an action on a resource, given what the recorded call tells of the
//! request context?
//!
//! As the IAM User Guide's evaluation logic has it for one account and no boundaries: an explicit
//! `Deny` wins; otherwise a matching `Allow` allows; otherwise the request is implicitly denied.
//! `Action`/`NotAction` compare case-insensitively with `*` and `?`; `Resource`/`NotResource`
//! case-sensitively, a wildcard staying within an ARN segment unless it ends the segment
//! ([`crate::glob::resource_matches`]); `${*}`, `${?}`, `${$}` are literal characters.
//!
//! What the call does not tell is never guessed: a condition key or policy variable the context
//! does not know makes its statement *undecidable*, and a decision that depends on one is
//! [`Decision::Undecidable`]. A context value of `None` means the key is known to be absent.

use crate::error::{Error, ErrorKind, Result};
use serde_json::Value;
use std::collections::BTreeMap;

/// What IAM would decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Decision {
    /// A matching `Allow` and no matching `Deny`.
    Allow,
    /// No statement allows it.
    ImplicitDeny,
    /// A matching `Deny`.
    ExplicitDeny,
    /// The answer depends on a condition key or variable the context does not know.
    Undecidable,
}

impl Decision {
    /// `allow`, `implicit_deny`, `explicit_deny`, `undecidable`.
    pub fn name(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::ImplicitDeny => "implicit_deny",
            Decision::ExplicitDeny => "explicit_deny",
            Decision::Undecidable => "undecidable",
        }
    }
}

/// Three-valued truth: what is known, and what is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    True,
    False,
    Unknown,
}

impl Tri {
    fn of(b: bool) -> Tri {
        if b { Tri::True } else { Tri::False }
    }
    fn and(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::Unknown, _) | (_, Tri::Unknown) => Tri::Unknown,
            _ => Tri::True,
        }
    }
    fn or(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::Unknown, _) | (_, Tri::Unknown) => Tri::Unknown,
            _ => Tri::False,
        }
    }
    fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

/// The request context: condition keys (compared case-insensitively) to their values; `None`
/// for a key known to be absent. A key not in the map is unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    keys: BTreeMap<String, Option<Vec<String>>>,
}

impl Context {
    /// An empty context (every key unknown).
    pub fn new() -> Context {
        Context::default()
    }

    /// Sets `key` to `values` (`None`: known to be absent).
    pub fn set(&mut self, key: &str, values: Option<Vec<String>>) -> &mut Context {
        self.keys.insert(key.to_ascii_lowercase(), values);
        self
    }

    /// The values of `key`: `None` when unknown, `Some(None)` when known absent.
    fn get(&self, key: &str) -> Option<&Option<Vec<String>>> {
        self.keys.get(&key.to_ascii_lowercase())
    }

    /// A context from data: `{"aws:username": "alice", "aws:TagKeys": ["a", "b"], "k": null}`
    /// (numbers and booleans as their text).
    pub fn from_json(v: &Value) -> Result<Context> {
        let mut c = Context::new();
        let Some(m) = v.as_object() else {
            if v.is_null() {
                return Ok(c);
            }
            return Err(
                Error::new(ErrorKind::Usage, "a context maps condition keys to values")
                    .with_field("context"),
            );
        };
        for (k, v) in m {
            let values = match v {
                Value::Null => None,
                Value::Array(items) => Some(
                    items
                        .iter()
                        .map(scalar)
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| bad_context(k))?,
                ),
                other => Some(vec![scalar(other).ok_or_else(|| bad_context(k))?]),
            };
            c.set(k, values);
        }
        Ok(c)
    }
}

fn bad_context(_key: &str) -> Error {
    Error::new(
        ErrorKind::Usage,
        "a context value is a string, a number, a boolean, a list of them, or null",
    )
    .with_field("context")
}

pub(crate) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Where a statement came from, for findings: the file and line, when known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// The file.
    pub path: Option<String>,
    /// The line (1-based).
    pub line: Option<u64>,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `Allow`.
    Allow,
    /// `Deny`.
    Deny,
}

/// One condition: operator, key and the values any of which may match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The operator as written (`StringLike`, `ForAnyValue:StringEquals`, `ArnLikeIfExists`).
    pub operator: String,
    /// The condition key.
    pub key: String,
    /// The values.
    pub values: Vec<String>,
    op: Op,
    set: SetOp,
    if_exists: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Single,
    ForAll,
    ForAny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    StringEquals(bool, bool), // negated, ignore case
    StringLike(bool),
    Numeric(Cmp, bool),
    Date(Cmp, bool),
    Bool,
    Binary,
    Ip(bool),
    Arn(bool),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

fn parse_operator(text: &str) -> Option<(Op, SetOp, bool)> {
    let (set, rest) = if let Some(r) = text.strip_prefix("ForAllValues:") {
        (SetOp::ForAll, r)
    } else if let Some(r) = text.strip_prefix("ForAnyValue:") {
        (SetOp::ForAny, r)
    } else {
        (SetOp::Single, text)
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(b) if b != "Null" => (b, true),
        _ => (rest, false),
    };
    let op = match base {
        "StringEquals" => Op::StringEquals(false, false),
        "StringNotEquals" => Op::StringEquals(true, false),
        "StringEqualsIgnoreCase" => Op::StringEquals(false, true),
        "StringNotEqualsIgnoreCase" => Op::StringEquals(true, true),
        "StringLike" => Op::StringLike(false),
        "StringNotLike" => Op::StringLike(true),
        "NumericEquals" => Op::Numeric(Cmp::Eq, false),
        "NumericNotEquals" => Op::Numeric(Cmp::Eq, true),
        "NumericLessThan" => Op::Numeric(Cmp::Lt, false),
        "NumericLessThanEquals" => Op::Numeric(Cmp::Le, false),
        "NumericGreaterThan" => Op::Numeric(Cmp::Gt, false),
        "NumericGreaterThanEquals" => Op::Numeric(Cmp::Ge, false),
        "DateEquals" => Op::Date(Cmp::Eq, false),
        "DateNotEquals" => Op::Date(Cmp::Eq, true),
        "DateLessThan" => Op::Date(Cmp::Lt, false),
        "DateLessThanEquals" => Op::Date(Cmp::Le, false),
        "DateGreaterThan" => Op::Date(Cmp::Gt, false),
        "DateGreaterThanEquals" => Op::Date(Cmp::Ge, false),
        "Bool" => Op::Bool,
        "BinaryEquals" => Op::Binary,
        "IpAddress" => Op::Ip(false),
        "NotIpAddress" => Op::Ip(true),
        "ArnEquals" | "ArnLike" => Op::Arn(false),
        "ArnNotEquals" | "ArnNotLike" => Op::Arn(true),
        "Null" if set == SetOp::Single && !if_exists => Op::Null,
        _ => return None,
    };
    Some((op, set, if_exists))
}

impl Op {
    fn negated(self) -> bool {
        matches!(
            self,
            Op::StringEquals(true, _)
                | Op::StringLike(true)
                | Op::Numeric(_, true)
                | Op::Date(_, true)
                | Op::Ip(true)
                | Op::Arn(true)
        )
    }

    /// Whether the request value `r` matches the policy value `p` (the positive form of the
    /// operator); `None` when the values are not of the operator's type (no match).
    fn positive(self, r: &str, p: &str) -> bool {
        // `p` is IAM text: its escapes are literal characters.
        let lit = || unescape(p);
        match self {
            Op::StringEquals(_, false) => r == lit(),
            Op::StringEquals(_, true) => r.to_lowercase() == lit().to_lowercase(),
            Op::StringLike(_) => string_like(p, r),
            Op::Numeric(c, _) => match (r.trim().parse::<f64>(), lit().trim().parse::<f64>()) {
                (Ok(a), Ok(b)) => compare(c, a, b),
                _ => false,
            },
            Op::Date(c, _) => match (parse_date(r), parse_date(&lit())) {
                (Some(a), Some(b)) => compare(c, a, b),
                _ => false,
            },
            Op::Bool => r.eq_ignore_ascii_case(&lit()),
            Op::Binary => r == lit(),
            Op::Ip(_) => ip_in(r, &lit()),
            Op::Arn(_) => arn_like(p, r),
            Op::Null => false,
        }
    }
}

fn compare(c: Cmp, a: f64, b: f64) -> bool {
    match c {
        Cmp::Eq => a == b,
        Cmp::Lt => a < b,
        Cmp::Le => a <= b,
        Cmp::Gt => a > b,
        Cmp::Ge => a >= b,
    }
}

/// A pattern's characters: `None` for the wildcards `*` / `?` (as `Some('*')`...) — the IAM
/// escapes `${*}`, `${?}`, `${$}` are literal characters.
fn pattern_chars(pattern: &str) -> Vec<(char, bool)> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        if let Some(r) = rest.strip_prefix("${*}") {
            out.push(('*', true));
            rest = r;
        } else if let Some(r) = rest.strip_prefix("${?}") {
            out.push(('?', true));
            rest = r;
        } else if let Some(r) = rest.strip_prefix("${$}") {
            out.push(('$', true));
            rest = r;
        } else {
            out.push((c, false));
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// `*` any run, `?` one character, across everything (StringLike); IAM escapes are literal.
fn string_like(pattern: &str, text: &str) -> bool {
    let p = pattern_chars(pattern);
    let t: Vec<char> = text.chars().collect();
    let mut cur = vec![false; t.len() + 1];
    cur[0] = true;
    for (c, literal) in &p {
        let mut next = vec![false; t.len() + 1];
        match (c, literal) {
            ('*', false) => {
                for j in 0..=t.len() {
                    next[j] = cur[j] || (j > 0 && next[j - 1]);
                }
            }
            ('?', false) => {
                next[1..=t.len()].copy_from_slice(&cur[..t.len()]);
            }
            (c, _) => {
                for j in 0..t.len() {
                    next[j + 1] = cur[j] && t[j] == *c;
                }
            }
        }
        cur = next;
    }
    cur[t.len()]
}

/// ArnLike: the six colon-separated parts compared one by one, each a StringLike pattern (the
/// last part takes the rest, colons included).
fn arn_like(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    if p.len() != 6 || a.len() != 6 {
        return pattern == "*" || (p.len() == a.len() && string_like(pattern, arn));
    }
    p.iter().zip(&a).all(|(p, a)| string_like(p, a))
}

/// Seconds since the epoch of an ISO 8601 date-time (`2024-01-02`, `2024-01-02T03:04:05Z`,
/// `...+01:00`, fractions) or of an epoch number.
fn parse_date(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<f64>() {
        return Some(n);
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        s.get(r)
            .filter(|t| t.bytes().all(|c| c.is_ascii_digit()))?
            .parse()
            .ok()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = 0f64;
    let mut rest = &s[10..];
    if let Some(r) = rest.strip_prefix('T').or_else(|| rest.strip_prefix('t')) {
        let rb = r.as_bytes();
        if rb.len() < 5 || rb[2] != b':' {
            return None;
        }
        let hh: i64 = r.get(0..2)?.parse().ok()?;
        let mm: i64 = r.get(3..5)?.parse().ok()?;
        let mut i = 5;
        let mut ss = 0f64;
        if rb.get(5) == Some(&b':') {
            let mut j = 6;
            while j < rb.len() && (rb[j].is_ascii_digit() || rb[j] == b'.') {
                j += 1;
            }
            ss = r.get(6..j)?.parse().ok()?;
            i = j;
        }
        secs = (hh * 3600 + mm * 60) as f64 + ss;
        rest = &r[i..];
        match rest {
            "" | "Z" | "z" => {}
            tz => {
                let sign = match tz.as_bytes().first() {
                    Some(b'+') => -1.0,
                    Some(b'-') => 1.0,
                    _ => return None,
                };
                let t = &tz[1..];
                let (th, tm) = t
                    .split_once(':')
                    .unwrap_or((t.get(0..2)?, t.get(2..).unwrap_or("0")));
                let off: f64 = th.parse::<f64>().ok()? * 3600.0 + tm.parse::<f64>().ok()? * 60.0;
                secs += sign * off;
            }
        }
    } else if !rest.is_empty() {
        return None;
    }
    // Days from the civil date (proleptic Gregorian).
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days as f64 * 86_400.0 + secs)
}

/// Whether the address `ip` is in the CIDR block (or is the address) `block`.
fn ip_in(ip: &str, block: &str) -> bool {
    use std::net::IpAddr;
    let (net, bits) = match block.split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (block, None),
    };
    let (Ok(ip), Ok(net)) = (ip.trim().parse::<IpAddr>(), net.trim().parse::<IpAddr>()) else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = bits.unwrap_or(32);
            if bits > 32 {
                return false;
            }
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = bits.unwrap_or(128);
            if bits > 128 {
                return false;
            }
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// A statement, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The Sid, if any.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// The action patterns, and whether they are `NotAction`.
    pub actions: (Vec<String>, bool),
    /// The resource patterns, and whether they are `NotResource`.
    pub resources: (Vec<String>, bool),
    /// The conditions (all must hold).
    pub conditions: Vec<Condition>,
    /// Policy variables are replaced (the document's `Version` is `2012-10-17`); otherwise
    /// `${...}` is literal text.
    pub variables: bool,
    /// Where it was written.
    pub place: Place,
}

fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidPolicy, message).with_field(field)
}

fn strings_of(v: &Value, field: &str) -> Result<Vec<String>> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| {
                i.as_str().map(str::to_owned).ok_or_else(|| {
                    invalid(
                        field,
                        format!("`{field}` must be a string or a list of strings"),
                    )
                })
            })
            .collect(),
        _ => Err(invalid(
            field,
            format!("`{field}` must be a string or a non-empty list of strings"),
        )),
    }
}

fn check_resource(r: &str) -> Result<()> {
    if r == "*" || (r.starts_with("arn:") && r.split(':').count() >= 6) {
        return Ok(());
    }
    Err(invalid(
        "Resource",
        "a resource must be `*` or an ARN (`arn:partition:service:region:account:resource`)",
    ))
}

impl Statement {
    /// A statement from its JSON form. Identity policies have no `Principal`.
    pub fn from_json(v: &Value, place: Place) -> Result<Statement> {
        let Value::Object(m) = v else {
            return Err(invalid("Statement", "a statement must be an object"));
        };
        for k in m.keys() {
            if ![
                "Sid",
                "Effect",
                "Action",
                "NotAction",
                "Resource",
                "NotResource",
                "Condition",
            ]
            .contains(&k.as_str())
            {
                let shown = crate::render::printable(k).into_owned();
                return Err(invalid(
                    k,
                    if k == "Principal" || k == "NotPrincipal" {
                        format!("`{shown}` has no place in an identity-based policy")
                    } else {
                        format!("unknown statement element `{shown}`")
                    },
                ));
            }
        }
        let effect = match m.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            _ => return Err(invalid("Effect", "`Effect` must be `Allow` or `Deny`")),
        };
        let actions = match (m.get("Action"), m.get("NotAction")) {
            (Some(a), None) => (strings_of(a, "Action")?, false),
            (None, Some(a)) => (strings_of(a, "NotAction")?, true),
            _ => {
                return Err(invalid(
                    "Action",
                    "a statement has one of `Action` and `NotAction`",
                ));
            }
        };
        let resources = match (m.get("Resource"), m.get("NotResource")) {
            (Some(r), None) => (strings_of(r, "Resource")?, false),
            (None, Some(r)) => (strings_of(r, "NotResource")?, true),
            _ => {
                return Err(invalid(
                    "Resource",
                    "a statement has one of `Resource` and `NotResource`",
                ));
            }
        };
        for r in &resources.0 {
            check_resource(r)?;
        }
        let mut conditions = Vec::new();
        match m.get("Condition") {
            None => {}
            Some(Value::Object(ops)) => {
                for (operator, keys) in ops {
                    let Some((op, set, if_exists)) = parse_operator(operator) else {
                        return Err(invalid(
                            "Condition",
                            format!(
                                "unknown condition operator `{}`",
                                crate::render::printable(operator)
                            ),
                        ));
                    };
                    let Value::Object(keys) = keys else {
                        return Err(invalid(
                            "Condition",
                            "a condition operator maps keys to values",
                        ));
                    };
                    for (key, values) in keys {
                        let values = match values {
                            Value::Array(items) => {
                                items.iter().map(scalar).collect::<Option<Vec<_>>>()
                            }
                            other => scalar(other).map(|s| vec![s]),
                        }
                        .ok_or_else(|| {
                            invalid(
                                "Condition",
                                "condition values are strings, numbers or booleans",
                            )
                        })?;
                        conditions.push(Condition {
                            operator: operator.clone(),
                            key: key.clone(),
                            values,
                            op,
                            set,
                            if_exists,
                        });
                    }
                }
            }
            Some(_) => return Err(invalid("Condition", "`Condition` must be an object")),
        }
        Ok(Statement {
            variables: true,
            sid: m.get("Sid").and_then(Value::as_str).map(str::to_owned),
            effect,
            actions,
            resources,
            conditions,
            place,
        })
    }
}

/// The statements of a policy document (`Version` `2012-10-17` or `2008-10-17` if given; a
/// `Statement` object or list).
///
/// ```
/// let doc = serde_json::json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}});
/// let sts = leastpriv::parse_policy_document(&doc, leastpriv::Place::default()).unwrap();
/// assert_eq!(sts.len(), 1);
/// let bad = serde_json::json!({"Statement": [{"Effect": "allow", "Action": "s3:*", "Resource": "*"}]});
/// assert_eq!(leastpriv::parse_policy_document(&bad, Default::default()).unwrap_err().field(), Some("Effect"));
/// ```
pub fn parse_policy_document(v: &Value, place: Place) -> Result<Vec<Statement>> {
    let Value::Object(m) = v else {
        return Err(invalid("Statement", "a policy document is an object"));
    };
    let variables = match m.get("Version") {
        None => false,
        Some(Value::String(s)) if s == "2012-10-17" => true,
        Some(Value::String(s)) if s == "2008-10-17" => false,
        Some(_) => {
            return Err(invalid(
                "Version",
                "`Version` must be `2012-10-17` (or `2008-10-17`)",
            ));
        }
    };
    for k in m.keys() {
        if !["Version", "Id", "Statement"].contains(&k.as_str()) {
            return Err(invalid(
                k,
                format!("unknown policy element `{}`", crate::render::printable(k)),
            ));
        }
    }
    let with_version = |mut s: Statement| {
        s.variables = variables;
        s
    };
    match m.get("Statement") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|s| Statement::from_json(s, place.clone()).map(with_version))
            .collect(),
        Some(s @ Value::Object(_)) => Ok(vec![with_version(Statement::from_json(s, place)?)]),
        _ => Err(invalid(
            "Statement",
            "a policy document needs `Statement` (an object or a list)",
        )),
    }
}

/// A request to evaluate: an action on a resource (a plain ARN, or `*`), in a context.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `service:Action`.
    pub action: &'a str,
    /// The resource ARN, as plain text (no IAM escapes) — or, with `resource_is_pattern`, as
    /// IAM text whose wildcards must be covered whole (`arn:aws:kms:eu-west-1:1:key/*`).
    pub resource: &'a str,
    /// `resource` is IAM text (escapes, wildcards), as the engine writes resources.
    pub resource_is_pattern: bool,
    /// What the call tells of the request context.
    pub context: &'a Context,
}

/// The result of an evaluation: the decision, and the statements that decided it (indices into
/// the statements given) — the matching `Deny`s for `explicit_deny`, the matching `Allow`s for
/// `allow`, those that could match for `undecidable`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The decision.
    pub decision: Decision,
    /// The statements behind it.
    pub statements: Vec<usize>,
    /// For `undecidable`: the condition keys or variables the context did not tell.
    pub unknown: Vec<String>,
}

/// Replaces the policy variables of `text`; literal escapes stay IAM text. `Unknown` when a
/// variable's key is not known; `False` when it is known absent and has no default.
fn substitute(
    text: &str,
    ctx: &Context,
    unknown: &mut Vec<String>,
    variables: bool,
) -> (Tri, String) {
    if !variables || !text.contains("${") {
        return (Tri::True, text.to_owned());
    }
    let mut out = String::new();
    let mut rest = text;
    let mut state = Tri::True;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[i..]);
            rest = "";
            break;
        };
        let inner = &after[..end];
        rest = &after[end + 1..];
        if matches!(inner, "*" | "?" | "$") {
            out.push_str("${");
            out.push_str(inner);
            out.push('}');
            continue;
        }
        let (key, default) = match inner.split_once(',') {
            Some((k, d)) => {
                let d = d.trim();
                let d = d
                    .strip_prefix('\'')
                    .and_then(|d| d.strip_suffix('\''))
                    .unwrap_or(d);
                (k.trim(), Some(d))
            }
            None => (inner.trim(), None),
        };
        let value = match ctx.get(key) {
            None => {
                unknown.push(key.to_owned());
                state = state.and(Tri::Unknown);
                continue;
            }
            Some(Some(v)) if v.len() == 1 => Some(v[0].as_str()),
            Some(Some(_)) => None,
            Some(None) => default,
        };
        match value {
            Some(v) => crate::arn::escape_iam(v, &mut out),
            None => state = state.and(Tri::False),
        }
    }
    out.push_str(rest);
    (state, out)
}

/// Un-escapes IAM text (`${*}` → `*`) for comparisons of condition values.
pub(crate) fn unescape(text: &str) -> String {
    text.replace("${*}", "*")
        .replace("${?}", "?")
        .replace("${$}", "$")
}

fn condition_holds(
    c: &Condition,
    ctx: &Context,
    unknown: &mut Vec<String>,
    variables: bool,
) -> Tri {
    let Some(present) = ctx.get(&c.key) else {
        unknown.push(c.key.clone());
        return Tri::Unknown;
    };
    // Policy values, with their variables replaced.
    let mut values = Vec::new();
    let mut vstate = Tri::True;
    for v in &c.values {
        let (s, text) = substitute(v, ctx, unknown, variables);
        match s {
            Tri::True => values.push(text),
            other => vstate = vstate.and(other),
        }
    }
    if vstate == Tri::Unknown && values.is_empty() {
        return Tri::Unknown;
    }
    let result = match present {
        None => Tri::of(match c.op {
            Op::Null => c.values.iter().any(|v| v.eq_ignore_ascii_case("true")),
            _ if c.if_exists => true,
            _ => match c.set {
                SetOp::ForAll => true,
                SetOp::ForAny => false,
                SetOp::Single => c.op.negated(),
            },
        }),
        Some(req) => {
            if c.op == Op::Null {
                Tri::of(c.values.iter().any(|v| v.eq_ignore_ascii_case("false")))
            } else {
                // One request value against the policy values, as the operator means it.
                let one = |r: &str| -> bool {
                    let any = values.iter().any(|p| c.op.positive(r, p));
                    if c.op.negated() { !any } else { any }
                };
                Tri::of(match c.set {
                    SetOp::ForAll => req.iter().all(|r| one(r)),
                    SetOp::ForAny => req.iter().any(|r| one(r)),
                    SetOp::Single => {
                        if c.op.negated() {
                            req.iter().all(|r| one(r))
                        } else {
                            req.iter().any(|r| one(r))
                        }
                    }
                })
            }
        }
    };
    // A value whose variable is unknown could have matched: unknown unless already true
    // (for a positive test) — kept simple: unknown variables make the whole test unknown
    // unless the known values already decide it.
    if vstate == Tri::Unknown {
        return if result == Tri::True && !c.op.negated() {
            Tri::True
        } else {
            Tri::Unknown
        };
    }
    result
}

fn statement_applies(s: &Statement, req: &Request<'_>, unknown: &mut Vec<String>) -> Tri {
    let action_hit = s
        .actions
        .0
        .iter()
        .any(|p| crate::glob::action_matches(p, req.action));
    let action = Tri::of(action_hit != s.actions.1);
    if action == Tri::False {
        return Tri::False;
    }
    let mut escaped = String::new();
    if req.resource_is_pattern {
        escaped.push_str(req.resource);
    } else {
        crate::arn::escape_iam(req.resource, &mut escaped);
    }
    let mut hit = Tri::False;
    for p in &s.resources.0 {
        let (state, pattern) = substitute(p, req.context, unknown, s.variables);
        let m = match state {
            Tri::True => {
                Tri::of(pattern == "*" || crate::glob::resource_matches(&pattern, &escaped))
            }
            other => other,
        };
        hit = hit.or(m);
    }
    let resource = if s.resources.1 { hit.not() } else { hit };
    let mut t = action.and(resource);
    if t == Tri::False {
        return t;
    }
    for c in &s.conditions {
        t = t.and(condition_holds(c, req.context, unknown, s.variables));
        if t == Tri::False {
            return t;
        }
    }
    t
}

/// Evaluates `req` against `statements` (one principal's documents, unioned).
///
/// ```
/// use leastpriv::{evaluate, parse_policy_document, Context, Decision, Request};
/// let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
///     {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:username}/*"},
///     {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::b/secret/*"}]});
/// let sts = parse_policy_document(&doc, Default::default()).unwrap();
/// let mut ctx = Context::new();
/// ctx.set("aws:username", Some(vec!["alice".into()]));
/// let r = |res| evaluate(&sts, &Request { action: "s3:getobject", resource: res, resource_is_pattern: false, context: &ctx }).decision;
/// assert_eq!(r("arn:aws:s3:::b/alice/x"), Decision::Allow);
/// assert_eq!(r("arn:aws:s3:::b/bob/x"), Decision::ImplicitDeny);
/// assert_eq!(r("arn:aws:s3:::b/secret/x"), Decision::ExplicitDeny);
/// let unknown = Context::new();
/// assert_eq!(evaluate(&sts, &Request { action: "s3:GetObject", resource: "arn:aws:s3:::b/alice/x", resource_is_pattern: false, context: &unknown }).decision, Decision::Undecidable);
/// ```
pub fn evaluate(statements: &[Statement], req: &Request<'_>) -> Evaluation {
    let mut deny = (Vec::new(), Vec::new());
    let mut allow = (Vec::new(), Vec::new());
    let mut unknown = Vec::new();
    for (i, s) in statements.iter().enumerate() {
        let mut u = Vec::new();
        let t = statement_applies(s, req, &mut u);
        let bucket = match s.effect {
            Effect::Deny => &mut deny,
            Effect::Allow => &mut allow,
        };
        match t {
            Tri::True => bucket.0.push(i),
            Tri::Unknown => {
                bucket.1.push(i);
                unknown.extend(u);
            }
            Tri::False => {}
        }
    }
    unknown.sort();
    unknown.dedup();
    let (decision, statements) = if !deny.0.is_empty() {
        (Decision::ExplicitDeny, deny.0)
    } else if !deny.1.is_empty() {
        (Decision::Undecidable, deny.1)
    } else if !allow.0.is_empty() {
        (Decision::Allow, allow.0)
    } else if !allow.1.is_empty() {
        (Decision::Undecidable, allow.1)
    } else {
        (Decision::ImplicitDeny, Vec::new())
    };
    Evaluation {
        unknown: if decision == Decision::Undecidable {
            unknown
        } else {
            Vec::new()
        },
        decision,
        statements,
    }
}

/// Evaluates a request given as data, the form the shared vectors and the bindings use:
/// `policies` (a list of policy documents) and `request` (`action`, `resource`, `context`).
/// Returns `{"decision", "statements", "unknown"}`, statements as `[document, statement]`
/// indices.
///
/// ```
/// let v = leastpriv::evaluate_json(
///     &serde_json::json!([{"Statement": {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}}]),
///     &serde_json::json!({"action": "sqs:SendMessage", "resource": "arn:aws:sqs:eu-west-1:123456789012:q"}),
/// ).unwrap();
/// assert_eq!(v["decision"], "allow");
/// ```
pub fn evaluate_json(policies: &Value, request: &Value) -> Result<Value> {
    let docs = match policies {
        Value::Array(d) => d.as_slice(),
        other => std::slice::from_ref(other),
    };
    let mut statements = Vec::new();
    let mut origin = Vec::new();
    for (d, doc) in docs.iter().enumerate() {
        for (i, s) in parse_policy_document(doc, Place::default())?
            .into_iter()
            .enumerate()
        {
            statements.push(s);
            origin.push((d, i));
        }
    }
    let field = |k: &str| -> Result<&str> {
        request.get(k).and_then(Value::as_str).ok_or_else(|| {
            Error::new(
                ErrorKind::Usage,
                format!("the request needs `{k}` (a string)"),
            )
            .with_field(k)
        })
    };
    let (action, resource) = (field("action")?, field("resource")?);
    let context = Context::from_json(request.get("context").unwrap_or(&Value::Null))?;
    let e = evaluate(
        &statements,
        &Request {
            action,
            resource,
            resource_is_pattern: false,
            context: &context,
        },
    );
    Ok(serde_json::json!({
        "decision": e.decision.name(),
        "statements": e.statements.iter().map(|i| [origin[*i].0, origin[*i].1]).collect::<Vec<_>>(),
        "unknown": e.unknown,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_addresses() {
        assert_eq!(parse_date("1970-01-02"), Some(86_400.0));
        assert_eq!(parse_date("2024-01-01T00:00:00Z"), Some(1_704_067_200.0));
        assert_eq!(
            parse_date("2024-01-01T01:00:00+01:00"),
            Some(1_704_067_200.0)
        );
        assert_eq!(parse_date("1704067200"), Some(1_704_067_200.0));
        assert!(parse_date("yesterday").is_none());
        assert!(ip_in("203.0.113.7", "203.0.113.0/24"));
        assert!(!ip_in("203.0.114.7", "203.0.113.0/24"));
        assert!(ip_in("2001:db8::1", "2001:db8::/32"));
        assert!(!ip_in("2001:db8::1", "203.0.113.0/24"));
    }

    #[test]
    fn arn_like_is_part_by_part() {
        assert!(arn_like(
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::123456789012:role/a/b"
        ));
        assert!(!arn_like("arn:aws:s3:::b*", "arn:aws:s3:us-east-1::b"));
        assert!(string_like("a*c", "abbbc") && !string_like("a?c", "abbc"));
    }
}
