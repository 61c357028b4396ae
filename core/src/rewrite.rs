//! From the test environment to production: rewrite rules that replace the names of test
//! resources (`orders-test-8f3a2c`) with production names (`orders-prod`) or with Terraform
//! expressions (`aws_s3_bucket.orders.bucket`, `aws_s3_bucket.orders.arn`), and the detection of
//! names that look generated for a test run.
//!
//! A rule matches a *name*: a run of literal text the request gave (a bucket, a table, a queue),
//! between the `/` and `:` of the ARN. It may be narrowed to a service (IAM prefix) and a
//! resource type (as the Service Authorization Reference names them: `bucket`, `object`,
//! `table`, `index`...; a resource's type is the most specific of its service's ARN formats it
//! fits). Its pattern is a glob: `*` matches any run of characters (each `*` is a capture,
//! `<1>`, `<2>`... in the template, taking as little as it can), `?` one character.
//!
//! The template writes a name: literal characters (letters, digits and `-_.+=,@`), captures
//! `<N>`, the environment's name `<env>` and the environment's values `<NAME>`. Angle brackets
//! collide with neither IAM policy variables (`${aws:username}`) nor Terraform interpolation.
//! A Terraform expression is a reference (`var.orders_bucket`, `aws_s3_bucket.orders.arn`,
//! `module.store.table_arn`, `local.names["orders"]`) and says what it yields: a name
//! (`terraform_name`) or a whole ARN (`terraform_arn`, which stands for the ARN up to and
//! including the name, keeping what follows: `${aws_s3_bucket.orders.arn}/invoices/*`).

use crate::arn::{ExprKind, Resource, ResourceBuilder, SegRef};
use crate::derive::{Diagnostic, DiagnosticKind};
use crate::error::{Error, ErrorKind, Result};
use crate::observed::{Evidence, Stats};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// What a policy is built for: literal names (IAM JSON) or Terraform, where rewrite rules may
/// write expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// IAM JSON (and everything else that needs literal names).
    #[default]
    Json,
    /// Terraform.
    Terraform,
}

/// A Terraform expression of a rewrite rule, and what it yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TfExpr {
    /// It yields a name (`aws_s3_bucket.orders.bucket`, `var.orders_table`).
    Name(String),
    /// It yields the whole ARN (`aws_s3_bucket.orders.arn`).
    Arn(String),
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Capture(usize),
    Env,
    Value(String),
}

/// A rewrite rule: which names it matches, and what it writes instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewriteRule {
    /// The IAM service prefix the resource must be of (`s3`), if any.
    pub service: Option<String>,
    /// The resource type the resource must be of (`bucket`), if any.
    pub resource_type: Option<String>,
    /// The glob a name must match, whole.
    pub pattern: String,
    /// The template of the production name.
    pub name: String,
    /// The Terraform expression written instead, in Terraform.
    pub terraform: Option<TfExpr>,
    template: Vec<Piece>,
    stars: usize,
}

fn usage(field: &str, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Usage, message).with_field(field)
}

/// Characters a name written by a template may hold (besides letters and digits).
const NAME_PUNCT: &str = "-_.+=,@";

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || NAME_PUNCT.contains(c)
}

fn ident(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Checks the syntax of a Terraform reference: an identifier, then one or more `.name`,
/// `[N]` or `["key"]` (keys of letters, digits, `-` and `_`). Nothing else is accepted, so an
/// expression cannot close the interpolation it is written in.
///
/// ```
/// use leastpriv::check_terraform_reference as ok;
/// assert!(ok("aws_s3_bucket.orders.arn").is_ok());
/// assert!(ok("var.orders_table").is_ok());
/// assert!(ok("module.store.tables[\"orders\"].arn").is_ok());
/// assert!(ok("aws_sqs_queue.jobs[0].name").is_ok());
/// assert!(ok("var").is_err());
/// assert!(ok("var.x}\"").is_err());
/// assert!(ok("upper(var.x)").is_err());
/// ```
pub fn check_terraform_reference(expr: &str) -> Result<()> {
    let bad = || {
        Error::new(
            ErrorKind::Usage,
            "a Terraform expression must be a reference: `name.attr` followed by `.attr`, `[N]` or `[\"key\"]` (such as `aws_s3_bucket.orders.arn` or `var.orders_table`)",
        )
    };
    let b = expr.as_bytes();
    let mut i = 0;
    let word = |i: &mut usize| -> bool {
        let start = *i;
        while *i < b.len() && (b[*i].is_ascii_alphanumeric() || b[*i] == b'_' || b[*i] == b'-') {
            *i += 1;
        }
        *i > start && (b[start].is_ascii_alphabetic() || b[start] == b'_')
    };
    if !word(&mut i) {
        return Err(bad());
    }
    let mut steps = 0;
    while i < b.len() {
        match b[i] {
            b'.' => {
                i += 1;
                if !word(&mut i) {
                    return Err(bad());
                }
            }
            b'[' => {
                i += 1;
                if b.get(i) == Some(&b'"') {
                    i += 1;
                    let start = i;
                    while i < b.len()
                        && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-')
                    {
                        i += 1;
                    }
                    if i == start || b.get(i) != Some(&b'"') {
                        return Err(bad());
                    }
                    i += 1;
                } else {
                    let start = i;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    if i == start {
                        return Err(bad());
                    }
                }
                if b.get(i) != Some(&b']') {
                    return Err(bad());
                }
                i += 1;
            }
            _ => return Err(bad()),
        }
        steps += 1;
    }
    if steps == 0 || expr.len() > 512 {
        return Err(bad());
    }
    Ok(())
}

fn parse_template(t: &str, stars: usize, field: &str) -> Result<Vec<Piece>> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = t;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let Some(end) = rest.find('>') else {
                return Err(usage(field, "`name`: a `<` without its `>`"));
            };
            let inner = &rest[1..end];
            if !lit.is_empty() {
                out.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            if let Ok(n) = inner.parse::<usize>() {
                if n == 0 || n > stars {
                    return Err(usage(
                        field,
                        format!("`name`: `<{n}>` names no capture (the pattern has {stars} `*`)"),
                    ));
                }
                out.push(Piece::Capture(n));
            } else if inner == "env" {
                out.push(Piece::Env);
            } else if ident(inner) {
                out.push(Piece::Value(inner.to_owned()));
            } else {
                return Err(usage(
                    field,
                    "`name`: a placeholder is `<N>` (a capture), `<env>` or `<NAME>` (a value of the environment)",
                ));
            }
            rest = &rest[end + 1..];
        } else {
            if !name_char(c) {
                return Err(usage(
                    field,
                    format!(
                        "`name` may hold letters, digits, `{NAME_PUNCT}` and placeholders `<...>`"
                    ),
                ));
            }
            lit.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    if out.is_empty() {
        return Err(usage(field, "`name` is empty"));
    }
    Ok(out)
}

impl RewriteRule {
    /// A rule from data: `match` (the glob), `name` (the template), optionally `service`,
    /// `type`, and one of `terraform_name` / `terraform_arn`. `field` names the rule in
    /// messages (`rewrite[1]`).
    pub fn from_json(v: &Value, field: &str) -> Result<RewriteRule> {
        let Value::Object(m) = v else {
            return Err(usage(
                field,
                format!("`{field}` must be a table with `match` and `name`"),
            ));
        };
        let get = |k: &str| -> Result<Option<String>> {
            match m.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
                Some(_) => Err(usage(
                    field,
                    format!("`{field}`: `{k}` must be a non-empty string"),
                )),
            }
        };
        for k in m.keys() {
            if ![
                "match",
                "name",
                "service",
                "type",
                "terraform_name",
                "terraform_arn",
            ]
            .contains(&k.as_str())
            {
                let shown = crate::render::printable(k).into_owned();
                return Err(usage(
                    field,
                    format!(
                        "`{field}`: unknown key `{shown}` (a rule has `match`, `name`, `service`, `type`, `terraform_name`, `terraform_arn`)"
                    ),
                ));
            }
        }
        let Some(pattern) = get("match")? else {
            return Err(usage(
                field,
                format!("`{field}` needs `match` (the glob of the test names)"),
            ));
        };
        if pattern.len() > 1024
            || pattern
                .chars()
                .any(|c| c.is_control() || c == '/' || c == ':')
        {
            return Err(usage(
                field,
                format!(
                    "`{field}`: `match` is a glob on one name (no `/`, `:` or control characters)"
                ),
            ));
        }
        let stars = pattern.matches('*').count();
        if stars > 9 {
            return Err(usage(
                field,
                format!("`{field}`: `match` has more than 9 `*`"),
            ));
        }
        let Some(name) = get("name")? else {
            return Err(usage(
                field,
                format!(
                    "`{field}` needs `name` (the production name, such as `orders-<env>`): IAM JSON and reports use it"
                ),
            ));
        };
        let template = parse_template(&name, stars, field)
            .map_err(|e| usage(field, format!("`{field}`: {}", e.message())))?;
        let tf = match (get("terraform_name")?, get("terraform_arn")?) {
            (Some(_), Some(_)) => {
                return Err(usage(
                    field,
                    format!(
                        "`{field}` has both `terraform_name` and `terraform_arn`: say which one the expression yields"
                    ),
                ));
            }
            (Some(e), None) => Some(TfExpr::Name(e)),
            (None, Some(e)) => Some(TfExpr::Arn(e)),
            (None, None) => None,
        };
        if let Some(TfExpr::Name(e) | TfExpr::Arn(e)) = &tf {
            check_terraform_reference(e)
                .map_err(|err| usage(field, format!("`{field}`: {}", err.message())))?;
        }
        let service = get("service")?;
        if let Some(s) = &service
            && !s
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(usage(
                field,
                format!("`{field}`: `service` is an IAM prefix (`s3`, `dynamodb`)"),
            ));
        }
        let resource_type = get("type")?;
        if let Some(t) = &resource_type {
            let known = match &service {
                Some(s) => formats()
                    .get(s.as_str())
                    .is_some_and(|ts| ts.iter().any(|f| f.name == *t)),
                None => formats().values().flatten().any(|f| f.name == *t),
            };
            if !known {
                return Err(usage(
                    field,
                    format!(
                        "`{field}`: `type` names no resource type of the Service Authorization Reference{}",
                        if service.is_some() {
                            " for this service"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
        Ok(RewriteRule {
            service,
            resource_type,
            pattern,
            name,
            terraform: tf,
            template,
            stars,
        })
    }

    /// The rule as data (what [`RewriteRule::from_json`] reads).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(s) = &self.service {
            m.insert("service".into(), Value::String(s.clone()));
        }
        if let Some(t) = &self.resource_type {
            m.insert("type".into(), Value::String(t.clone()));
        }
        m.insert("match".into(), Value::String(self.pattern.clone()));
        m.insert("name".into(), Value::String(self.name.clone()));
        match &self.terraform {
            Some(TfExpr::Name(e)) => {
                m.insert("terraform_name".into(), Value::String(e.clone()));
            }
            Some(TfExpr::Arn(e)) => {
                m.insert("terraform_arn".into(), Value::String(e.clone()));
            }
            None => {}
        }
        Value::Object(m)
    }

    /// How the rule is named in messages: its place and its pattern.
    fn label(&self, index: usize) -> String {
        format!(
            "rewrite rule {} (match `{}`)",
            index + 1,
            crate::render::printable(&self.pattern)
        )
    }
}

/// The name `template` writes for `captures`, in environment `env` with `values`.
fn render_name(
    rule: &RewriteRule,
    index: usize,
    captures: &[&str],
    env: Option<&str>,
    values: &BTreeMap<String, String>,
) -> Result<String> {
    let mut out = String::new();
    for p in &rule.template {
        match p {
            Piece::Lit(l) => out.push_str(l),
            Piece::Capture(n) => out.push_str(captures.get(n - 1).copied().unwrap_or_default()),
            Piece::Env => match env {
                Some(e) => out.push_str(e),
                None => {
                    return Err(usage(
                        "env",
                        format!(
                            "{} writes `<env>`: choose an environment (--env NAME)",
                            rule.label(index)
                        ),
                    ));
                }
            },
            Piece::Value(k) => match values.get(k) {
                Some(v) => out.push_str(v),
                None => {
                    return Err(usage(
                        "env",
                        format!(
                            "{} writes `<{k}>`, which {}",
                            rule.label(index),
                            match env {
                                Some(_) => "the environment's `values` do not set",
                                None => "comes from an environment: choose one (--env NAME)",
                            }
                        ),
                    ));
                }
            },
        }
    }
    if out.is_empty() || !out.chars().all(name_char) {
        return Err(usage(
            "rewrite",
            format!(
                "{} writes a name that is empty or holds characters a name cannot (letters, digits and `{NAME_PUNCT}`)",
                rule.label(index)
            ),
        ));
    }
    Ok(out)
}

/// Glob matching of a whole name, with the text each `*` took (as little as it can, left to
/// right).
pub(crate) fn glob_captures<'t>(pattern: &str, text: &'t str) -> Option<Vec<&'t str>> {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<(usize, char)> = text.char_indices().collect();
    let (m, n) = (p.len(), t.len());
    // ok[i][j]: p[i..] matches t[j..].
    let w = n + 1;
    let mut ok = vec![false; (m + 1) * w];
    ok[m * w + n] = true;
    for i in (0..m).rev() {
        for j in (0..=n).rev() {
            ok[i * w + j] = match p[i] {
                '*' => ok[(i + 1) * w + j] || (j < n && ok[i * w + j + 1]),
                '?' => j < n && ok[(i + 1) * w + j + 1],
                c => j < n && t[j].1 == c && ok[(i + 1) * w + j + 1],
            };
        }
    }
    if !ok[0] {
        return None;
    }
    let byte = |j: usize| if j < n { t[j].0 } else { text.len() };
    let mut caps = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < m {
        if p[i] == '*' {
            let mut k = j;
            while !ok[(i + 1) * w + k] {
                k += 1;
            }
            caps.push(&text[byte(j)..byte(k)]);
            j = k;
        } else {
            j += 1;
        }
        i += 1;
    }
    Some(caps)
}

/// A resource type of the Service Authorization Reference, with its ARN formats as IAM
/// patterns.
#[derive(Debug)]
struct TypeFormat {
    name: String,
    patterns: Vec<String>,
    /// Literal characters in the formats (specificity).
    literal: usize,
}

fn formats() -> &'static HashMap<String, Vec<TypeFormat>> {
    static FORMATS: OnceLock<HashMap<String, Vec<TypeFormat>>> = OnceLock::new();
    FORMATS.get_or_init(|| {
        let mut out: HashMap<String, Vec<TypeFormat>> = HashMap::new();
        let Ok(v) = serde_json::from_str::<Value>(crate::spec::EMBEDDED_RESOURCE_FORMATS) else {
            return out;
        };
        let Some(services) = v.get("types").and_then(Value::as_object) else {
            return out;
        };
        for (prefix, types) in services {
            let Some(types) = types.as_object() else {
                continue;
            };
            let list = out.entry(prefix.clone()).or_default();
            for (name, arns) in types {
                let mut patterns = Vec::new();
                let mut literal = 0;
                for a in arns
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    let mut p = String::new();
                    let mut rest = a;
                    while let Some(i) = rest.find("${") {
                        p.push_str(&rest[..i]);
                        p.push('*');
                        rest = rest[i..].find('}').map_or("", |e| &rest[i + e + 1..]);
                    }
                    p.push_str(rest);
                    literal = literal.max(p.chars().filter(|c| *c != '*').count());
                    patterns.push(p);
                }
                list.push(TypeFormat {
                    name: name.clone(),
                    patterns,
                    literal,
                });
            }
        }
        out
    })
}

/// The IAM service prefix of an ARN's text.
fn service_of(iam: &str) -> Option<&str> {
    let mut parts = iam.splitn(4, ':');
    (parts.next() == Some("arn")).then_some(())?;
    parts.next()?;
    parts.next().filter(|s| !s.is_empty())
}

/// The resource type of an ARN (its IAM text, gaps as `*`): the most specific of its
/// service's formats that it fits, as the Service Authorization Reference names it.
///
/// ```
/// use leastpriv::resource_type_of as t;
/// assert_eq!(t("arn:aws:s3:::orders"), Some("bucket"));
/// assert_eq!(t("arn:aws:s3:::orders/a/b.csv"), Some("object"));
/// assert_eq!(t("arn:aws:dynamodb:eu-west-1:123456789012:table/t/index/i"), Some("index"));
/// assert_eq!(t("arn:aws:dynamodb:eu-west-1:123456789012:table/t"), Some("table"));
/// assert_eq!(t("*"), None);
/// ```
pub fn resource_type_of(iam: &str) -> Option<&'static str> {
    let service = service_of(iam)?;
    formats()
        .get(service)?
        .iter()
        .filter(|f| {
            f.patterns
                .iter()
                .any(|p| crate::glob::resource_matches(p, iam))
        })
        .max_by(|a, b| a.literal.cmp(&b.literal).then_with(|| b.name.cmp(&a.name)))
        .map(|f| f.name.as_str())
}

/// Why a name looks generated for a test run, and the part that does.
///
/// Flags a hex run of 6 or more characters (with a digit and a letter) after a separator, a
/// UUID, a 10- or 13-digit epoch timestamp, and a pytest-xdist worker id (`gw0`); names such
/// as `orders`, `orders-prod`, `v2`, `2024`, `us-east-1` or `table-01` are not flagged.
///
/// ```
/// use leastpriv::random_part as r;
/// assert_eq!(r("orders-test-8f3a2c").map(|x| x.1), Some("8f3a2c"));
/// assert_eq!(r("it-550e8400-e29b-41d4-a716-446655440000").map(|x| x.0), Some("a UUID"));
/// assert_eq!(r("run-1732000000").map(|x| x.0), Some("an epoch timestamp"));
/// assert_eq!(r("orders-gw3").map(|x| x.0), Some("a pytest-xdist worker id"));
/// for name in ["orders", "orders-prod", "v2", "2024", "us-east-1", "table-01", "orders.fifo"] {
///     assert_eq!(r(name), None, "{name}");
/// }
/// ```
pub fn random_part(name: &str) -> Option<(&'static str, &str)> {
    let b = name.as_bytes();
    // A UUID anywhere: 8-4-4-4-12 hex digits.
    if b.len() >= 36 {
        for i in 0..=b.len() - 36 {
            let w = &b[i..i + 36];
            let shape = w.iter().enumerate().all(|(k, c)| match k {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            });
            if shape && name.is_char_boundary(i) && name.is_char_boundary(i + 36) {
                return Some(("a UUID", &name[i..i + 36]));
            }
        }
    }
    let sep = |c: char| matches!(c, '-' | '_' | '.' | '/' | ':' | '+' | '=' | ',' | '@');
    for (k, token) in name.split(sep).enumerate() {
        if token.is_empty() {
            continue;
        }
        let digits = token.bytes().all(|c| c.is_ascii_digit());
        if digits && (token.len() == 10 || token.len() == 13) && token.starts_with('1') {
            return Some(("an epoch timestamp", token));
        }
        if token.len() >= 3
            && token.starts_with("gw")
            && token[2..].bytes().all(|c| c.is_ascii_digit())
        {
            return Some(("a pytest-xdist worker id", token));
        }
        if k > 0
            && token.len() >= 6
            && token.bytes().all(|c| c.is_ascii_hexdigit())
            && token.bytes().any(|c| c.is_ascii_digit())
            && token.bytes().any(|c| c.is_ascii_alphabetic())
        {
            return Some(("a hex run", token));
        }
    }
    None
}

/// A name that looks generated, as found while rewriting.
#[derive(Debug, Clone)]
pub(crate) struct RandomName {
    pub name: String,
    pub why: &'static str,
    pub part: String,
    pub service: String,
    pub resource_type: Option<&'static str>,
}

/// What rewriting needs from the options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rewriter<'a> {
    pub rules: &'a [RewriteRule],
    pub env: Option<&'a str>,
    pub values: &'a BTreeMap<String, String>,
    pub target: Target,
}

impl Rewriter<'_> {
    /// `r` (resolved) with the names the rules match rewritten; `used` counts each rule's
    /// matches, `random` gathers the untouched names that look generated.
    ///
    /// A rule's `type` is the type of the ARN up to and including the name: the bucket name in
    /// an object's ARN is a `bucket`'s name, the table name in an index's ARN a `table`'s.
    pub(crate) fn apply<'r>(
        &self,
        r: &'r Resource,
        used: &mut [u64],
        random: &mut Vec<RandomName>,
    ) -> Result<Cow<'r, Resource>> {
        if self.rules.is_empty()
            && !r
                .segs()
                .any(|s| matches!(s, SegRef::Text(t) if random_part(t).is_some()))
        {
            return Ok(Cow::Borrowed(r));
        }
        let iam = r.to_iam();
        let Some(service) = service_of(&iam) else {
            return Ok(Cow::Borrowed(r));
        };
        let mut b = ResourceBuilder::new();
        let mut changed = false;
        // The original resource's IAM text up to where the walk is.
        let mut prefix = String::new();
        for seg in r.segs() {
            let SegRef::Text(text) = seg else {
                match seg {
                    SegRef::Pattern(p) => prefix.push_str(p),
                    SegRef::Field(_, Some(v)) => crate::arn::escape_iam(v, &mut prefix),
                    SegRef::Field(_, None) => prefix.push('*'),
                    SegRef::Expr(..) | SegRef::Text(_) => {}
                }
                b.push(seg);
                continue;
            };
            let mut rest = text;
            loop {
                let end = rest.find(['/', ':']).unwrap_or(rest.len());
                let part = &rest[..end];
                if !part.is_empty() {
                    let before = prefix.len();
                    crate::arn::escape_iam(part, &mut prefix);
                    let mut rtype: Option<Option<&'static str>> = None;
                    let mut type_of = || *rtype.get_or_insert_with(|| resource_type_of(&prefix));
                    let mut hit: Option<(usize, Vec<&str>)> = None;
                    for (i, rule) in self.rules.iter().enumerate() {
                        if rule.service.as_deref().is_some_and(|s| s != service) {
                            continue;
                        }
                        let Some(caps) = glob_captures(&rule.pattern, part) else {
                            continue;
                        };
                        if let Some(t) = &rule.resource_type
                            && type_of() != Some(t.as_str())
                        {
                            continue;
                        }
                        if let Some((j, _)) = &hit {
                            return Err(usage(
                                "rewrite",
                                format!(
                                    "{} and {} both match the name `{}` (in `{}`): make them exclusive (a `service`, a `type` or a narrower `match`)",
                                    self.rules[*j].label(*j),
                                    rule.label(i),
                                    crate::render::printable(part),
                                    crate::render::printable(&iam)
                                ),
                            ));
                        }
                        hit = Some((i, caps));
                    }
                    let rtype = type_of();
                    match hit {
                        Some((i, caps)) => {
                            used[i] += 1;
                            changed = true;
                            let rule = &self.rules[i];
                            match (&rule.terraform, self.target) {
                                (Some(TfExpr::Name(e)), Target::Terraform) => {
                                    b.push(SegRef::Expr(ExprKind::Name, e));
                                }
                                (Some(TfExpr::Arn(e)), Target::Terraform) => {
                                    b.finish(None);
                                    b.push(SegRef::Expr(ExprKind::Arn, e));
                                }
                                _ => {
                                    let name = render_name(rule, i, &caps, self.env, self.values)?;
                                    if let Some(t) = rtype {
                                        let mut written = prefix[..before].to_owned();
                                        crate::arn::escape_iam(&name, &mut written);
                                        check_fits(service, t, &written).map_err(|why| {
                                            usage(
                                                "rewrite",
                                                format!(
                                                    "{} writes `{}`, which is not a valid ARN for a `{t}` of `{service}`{why}",
                                                    rule.label(i),
                                                    crate::render::printable(&written)
                                                ),
                                            )
                                        })?;
                                    }
                                    b.text(&name);
                                }
                            }
                        }
                        None => {
                            if let Some((why, p)) = random_part(part) {
                                random.push(RandomName {
                                    name: part.to_owned(),
                                    why,
                                    part: p.to_owned(),
                                    service: service.to_owned(),
                                    resource_type: rtype,
                                });
                            }
                            b.text(part);
                        }
                    }
                }
                if end == rest.len() {
                    break;
                }
                prefix.push_str(&rest[end..=end]);
                b.text(&rest[end..=end]);
                rest = &rest[end + 1..];
            }
        }
        if !changed {
            return Ok(Cow::Borrowed(r));
        }
        Ok(Cow::Owned(b.finish(r.tail())))
    }
}

/// Condition keys whose values name a resource, and the ARN text their value follows: the
/// rewrite rules apply to those values as to the resource's name.
const NAMING_CONDITION_KEYS: &[(&str, &str)] = &[("kms:RequestAlias", "arn:*:kms:*:*:")];

impl Rewriter<'_> {
    /// `c` with the resource names its values give (`kms:RequestAlias`) rewritten. Values are
    /// literal names in every target (a condition value holds no Terraform expression).
    pub(crate) fn apply_condition(
        &self,
        c: &crate::derive::ConditionBlock,
        used: &mut [u64],
        random: &mut Vec<RandomName>,
    ) -> Result<crate::derive::ConditionBlock> {
        let mut out = c.clone();
        if self.rules.is_empty() {
            return Ok(out);
        }
        let literal = Rewriter {
            target: Target::Json,
            ..*self
        };
        for keys in out.values_mut() {
            for (key, values) in keys.iter_mut() {
                let Some((_, arn_prefix)) = NAMING_CONDITION_KEYS
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                else {
                    continue;
                };
                for v in values.iter_mut() {
                    // The value is IAM text (escaped): as a resource, a pattern prefix and the
                    // value as literal text.
                    let mut b = ResourceBuilder::new();
                    b.pattern(arn_prefix);
                    b.text(v);
                    let r = b.finish(None);
                    let rewritten = literal.apply(&r, used, random)?;
                    if *rewritten == r {
                        continue;
                    }
                    let mut text = String::new();
                    for seg in rewritten.segs().skip(1) {
                        match seg {
                            SegRef::Text(t) => crate::arn::escape_iam(t, &mut text),
                            SegRef::Pattern(p) => text.push_str(p),
                            _ => {}
                        }
                    }
                    *v = text;
                }
            }
        }
        Ok(out)
    }
}

/// Checks that `arn` (IAM text) fits a format of resource type `t` of `service`.
fn check_fits(service: &str, t: &str, arn: &str) -> std::result::Result<(), &'static str> {
    let fits = formats().get(service).is_some_and(|ts| {
        ts.iter().any(|f| {
            f.name == t
                && f.patterns
                    .iter()
                    .any(|p| crate::glob::resource_matches(p, arn))
        })
    });
    if !fits {
        return Err("");
    }
    if service == "s3" && t == "bucket" && !bucket_name_ok(arn) {
        return Err(" (a bucket name is 3 to 63 lowercase letters, digits, `.` and `-`)");
    }
    Ok(())
}

/// `random_name` for each name that looks generated and no rule rewrote; `stale_rewrite` for
/// each rule that matched nothing.
pub(crate) fn add_diagnostics(
    rules: &[RewriteRule],
    used: &[u64],
    random: BTreeMap<String, (RandomName, String, &str, Stats)>,
    diagnostics: &mut BTreeMap<Diagnostic, Stats>,
) {
    for (name, (n, arn, action, stats)) in random {
        let suggestion = name.replacen(&n.part, "*", 1);
        let shown = crate::render::printable(&name).into_owned();
        let mut hint = BTreeMap::from([
            (
                "match".to_owned(),
                crate::render::printable(&suggestion).into_owned(),
            ),
            ("service".to_owned(), n.service.clone()),
        ]);
        if let Some(t) = n.resource_type {
            hint.insert("type".to_owned(), t.to_owned());
        }
        diagnostics.insert(
            Diagnostic {
                kind: DiagnosticKind::RandomName,
                service: n.service.clone(),
                operation: String::new(),
                message: format!(
                    "the name `{shown}` (in `{}`) looks made for a test run ({} `{}`): production names differ; add a rewrite rule, such as {{ service = \"{}\"{}, match = \"{}\", name = \"...\" }}",
                    crate::render::printable(&arn),
                    n.why,
                    crate::render::printable(&n.part),
                    n.service,
                    n.resource_type
                        .map(|t| format!(", type = \"{t}\""))
                        .unwrap_or_default(),
                    crate::render::printable(&suggestion),
                ),
                action: Some(action.to_owned()),
                hint: Some(hint),
            },
            stats,
        );
    }
    for (i, rule) in rules.iter().enumerate() {
        if used.get(i).copied().unwrap_or(0) == 0 {
            diagnostics.insert(
                Diagnostic {
                    kind: DiagnosticKind::StaleRewrite,
                    service: rule.service.clone().unwrap_or_default(),
                    operation: String::new(),
                    message: format!(
                        "rewrite rule {} (match `{}`) matched no resource: the rule is stale, or the calls did not reach its resources",
                        i + 1,
                        crate::render::printable(&rule.pattern)
                    ),
                    action: None,
                    hint: None,
                },
                crate::policy::no_stats(Evidence::default()),
            );
        }
    }
}

/// An S3 bucket name as S3 allows it: 3 to 63 lowercase letters, digits, `.` and `-`.
fn bucket_name_ok(arn: &str) -> bool {
    let name = arn.rsplit(':').next().unwrap_or_default();
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
}

/// The rules of a `rewrite` option: a list of rule tables.
pub(crate) fn rules_from_json(v: Option<&Value>) -> Result<Vec<RewriteRule>> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| RewriteRule::from_json(item, &format!("rewrite[{}]", i + 1)))
            .collect(),
        Some(_) => Err(usage(
            "rewrite",
            "`rewrite` must be a list of rules (tables with `match` and `name`)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_take_as_little_as_they_can() {
        assert_eq!(
            glob_captures("orders-test-*", "orders-test-8f3a2c"),
            Some(vec!["8f3a2c"])
        );
        assert_eq!(glob_captures("*-*", "a-b-c"), Some(vec!["a", "b-c"]));
        assert_eq!(glob_captures("it-?-*", "it-7-x"), Some(vec!["x"]));
        assert_eq!(glob_captures("orders-*", "orders"), None);
        assert_eq!(glob_captures("*", ""), Some(vec![""]));
    }

    #[test]
    fn templates_are_checked_when_read() {
        let rule = |v: Value| RewriteRule::from_json(&v, "rewrite[1]");
        assert!(rule(serde_json::json!({"match": "a-*", "name": "b-<1>"})).is_ok());
        for bad in [
            serde_json::json!({"match": "a-*", "name": "b-<2>"}),
            serde_json::json!({"match": "a-*", "name": "${aws:username}"}),
            serde_json::json!({"match": "a-*", "name": "b/<1>"}),
            serde_json::json!({"match": "a-*"}),
            serde_json::json!({"match": "a-*", "name": "x", "terraform_name": "a.b", "terraform_arn": "a.b"}),
            serde_json::json!({"match": "a-*", "name": "x", "terraform_arn": "a.b}${x"}),
            serde_json::json!({"match": "a-*", "name": "x", "type": "no-such-type", "service": "s3"}),
            serde_json::json!({"match": "a-*", "name": "x", "mtach": "y"}),
        ] {
            let e = rule(bad.clone()).unwrap_err();
            assert_eq!(e.field(), Some("rewrite[1]"), "{bad}: {e}");
        }
    }
}
