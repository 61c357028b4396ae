//! `check`: a declared policy against what the calls needed. Every permission the calls needed
//! (after the same account/region mappings and rewrite rules as `policy`) is evaluated against
//! the declared documents ([`crate::evaluate`]); the findings are what is *missing* (needed, not
//! allowed), *unused* (allowed, never needed), *broad* (allowed by a pattern wider than the one
//! the generator would write) and *undecidable* (depends on what the calls do not tell).

use crate::error::{Error, ErrorKind, Result};
use crate::evaluate::{Context, Decision, Effect, Place, Request, Statement, evaluate};
use crate::observed::{Evidence, Observed};
use crate::policy::PolicyOptions;
use crate::rewrite::{Rewriter, Target};
pub use crate::tfpolicy::TfContext;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What a finding says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    /// Needed by a call, not allowed (or explicitly denied).
    Missing,
    /// An Allow statement, or a pattern in one, that no call needed.
    Unused,
    /// An Allow pattern wider than the one the generator would write for what was used.
    Broad,
    /// Whether it is allowed depends on a condition key or variable the calls do not tell.
    Undecidable,
}

impl FindingKind {
    /// Every kind.
    pub const ALL: [FindingKind; 4] = [
        FindingKind::Missing,
        FindingKind::Unused,
        FindingKind::Broad,
        FindingKind::Undecidable,
    ];

    /// The kind of a name ([`FindingKind::name`]).
    pub fn from_name(name: &str) -> Option<FindingKind> {
        FindingKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// `missing`, `unused`, `broad`, `undecidable`.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::Missing => "missing",
            FindingKind::Unused => "unused",
            FindingKind::Broad => "broad",
            FindingKind::Undecidable => "undecidable",
        }
    }
}

/// A statement of the declared policy, as a finding names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StatementRef {
    /// The file.
    pub path: String,
    /// The line, when known.
    pub line: Option<u64>,
    /// The Sid, if any.
    pub sid: Option<String>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What kind.
    pub kind: FindingKind,
    /// What it is about, in a sentence.
    pub message: String,
    /// The action, when about one permission or action pattern.
    pub action: Option<String>,
    /// The resource, when about one permission or resource pattern.
    pub resource: Option<String>,
    /// The declared statement involved (the one that denies, is unused, or is broad).
    pub statement: Option<StatementRef>,
    /// The first call that needed the permission.
    pub evidence: Option<Evidence>,
    /// What the generator would write instead (for `broad`): actions and resources.
    pub suggestion: Option<Value>,
}

/// A reference in a declared policy that could not be resolved (it matches nothing).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unresolved {
    /// The file.
    pub path: String,
    /// The line.
    pub line: u64,
    /// The reference as written (`var.orders_table`), or what could not be read.
    pub reference: String,
}

/// The declared policy: its statements, each with its file and line, and what in it could not
/// be resolved.
#[derive(Debug, Clone, Default)]
pub struct Declared {
    /// The statements of every document, unioned.
    pub statements: Vec<Statement>,
    /// References that stayed unresolved (Terraform).
    pub unresolved: Vec<Unresolved>,
}

/// The lines where the statements of a JSON text start, in document order: every object in a
/// `"Statement"` list (or the `"Statement"` object itself), at any depth.
fn statement_lines(text: &str) -> Vec<u64> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut line = 1u64;
    let mut i = 0;
    // Stack of containers: (is array, records its elements' starts).
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let mut last_string: Option<(usize, usize)> = None;
    let mut pending_statement = false;
    let mut expect_value = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => line += 1,
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    } else if b[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
                last_string = Some((start, i.min(b.len())));
                if expect_value {
                    expect_value = false;
                    pending_statement = false;
                }
            }
            b':' => {
                pending_statement = last_string.is_some_and(|(s, e)| &text[s..e] == "Statement");
                expect_value = true;
            }
            b'{' | b'[' => {
                let in_recording_array = stack.last().is_some_and(|(arr, rec)| *arr && *rec);
                if c == b'{' && ((expect_value && pending_statement) || in_recording_array) {
                    out.push(line);
                }
                let records = c == b'[' && expect_value && pending_statement;
                stack.push((c == b'[', records));
                expect_value = false;
                pending_statement = false;
            }
            b'}' | b']' => {
                stack.pop();
            }
            b',' => {
                expect_value = false;
            }
            _ => {
                if expect_value && !c.is_ascii_whitespace() {
                    expect_value = false;
                    pending_statement = false;
                }
            }
        }
        i += 1;
    }
    out
}

fn documents_of(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().flat_map(documents_of).collect(),
        Value::Object(m) if m.contains_key("Statement") => vec![v],
        // `--group-by` output, or a map of names to documents.
        Value::Object(m) => m.values().flat_map(documents_of).collect(),
        _ => Vec::new(),
    }
}

impl Declared {
    /// Adds the documents of an IAM JSON file: a document, a list of documents, or an object
    /// of them (as `--group-by` writes).
    pub fn add_json(&mut self, path: &Path, text: &str) -> Result<()> {
        let shown = crate::render::printable(&path.display().to_string()).into_owned();
        let v = crate::read::json::parse(text).map_err(|e| {
            let (line, col) = crate::read::line_col(text, e.offset);
            Error::new(
                ErrorKind::InvalidPolicy,
                format!("not valid JSON: {}", e.message),
            )
            .with_path(shown.clone())
            .at(line, col)
        })?;
        let docs = documents_of(&v);
        if docs.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidPolicy,
                "no policy document (an object with `Statement`) in the file",
            )
            .with_path(shown.clone())
            .at(1, 1));
        }
        let lines = statement_lines(text);
        let mut k = 0;
        for d in docs {
            let mut sts =
                crate::evaluate::parse_policy_document(d, Place::default()).map_err(|e| {
                    let line = lines.get(k).copied().unwrap_or(1);
                    let f = e.field().map(str::to_owned);
                    let mut err = Error::new(ErrorKind::InvalidPolicy, e.message())
                        .with_path(shown.clone())
                        .at(line, 1);
                    if let Some(f) = f {
                        err = err.with_field(&f);
                    }
                    err
                })?;
            for s in &mut sts {
                s.place = Place {
                    path: Some(path.display().to_string()),
                    line: lines.get(k).copied(),
                };
                k += 1;
            }
            self.statements.extend(sts);
        }
        Ok(())
    }

    /// The declared policy of `paths` (see [`Declared::add_path`]).
    pub fn from_paths<P: AsRef<Path>>(paths: &[P], ctx: &TfContext) -> Result<Declared> {
        let mut d = Declared::default();
        for p in paths {
            d.add_path(p.as_ref(), ctx)?;
        }
        Ok(d)
    }

    /// Reads a declared policy file: Terraform (`.tf`) or IAM JSON.
    pub fn add_path(&mut self, path: &Path, ctx: &TfContext) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::NotFound {
                ErrorKind::NotFound
            } else {
                ErrorKind::Io
            };
            Error::new(
                kind,
                format!(
                    "{}: {e}",
                    crate::render::printable(&path.display().to_string())
                ),
            )
        })?;
        if path.extension().is_some_and(|x| x == "tf") {
            self.add_terraform(path, &text, ctx)
        } else {
            self.add_json(path, &text)
        }
    }
}

fn statement_ref(s: &Statement) -> StatementRef {
    StatementRef {
        path: s.place.path.clone().unwrap_or_default(),
        line: s.place.line,
        sid: s.sid.clone(),
    }
}

fn has_wildcard(p: &str) -> bool {
    let stripped = p.replace("${*}", "").replace("${?}", "");
    stripped.contains('*') || stripped.contains('?')
}

const REQUESTED_REGION: &str = "aws:RequestedRegion";

/// How a needed permission fared over the request contexts of its calls.
struct Judged<'a> {
    /// Denied if any context is denied, else undecidable if any is, else allowed.
    decision: Decision,
    /// For a denial, the statements behind it; for undecidable, the statements involved.
    statements: Vec<usize>,
    /// For undecidable: the keys or variables not told.
    unknown: Vec<String>,
    /// The statements that allowed it in some context.
    allowed_by: Vec<usize>,
    /// The context of the deciding evaluation, when the calls told one.
    context: Option<&'a crate::derive::RequestContext>,
}

/// Evaluates a needed permission once per request context its calls had.
fn evaluate_needed<'a>(sts: &[Statement], n: &'a Needed) -> Judged<'a> {
    let mut base = Context::new();
    for keys in n.condition.iter().flat_map(|c| c.values()) {
        for (k, v) in keys {
            let values = v.iter().map(|x| crate::evaluate::unescape(x)).collect();
            base.set(k, Some(values));
        }
    }
    let mut contexts: Vec<Option<&crate::derive::RequestContext>> =
        n.contexts.iter().map(Some).collect();
    if contexts.is_empty() || !n.complete {
        // Calls whose context is not known (or not all kept): nothing told.
        contexts.push(None);
    }
    let rank = |d: Decision| match d {
        Decision::ExplicitDeny | Decision::ImplicitDeny => 2,
        Decision::Undecidable => 1,
        Decision::Allow => 0,
    };
    let mut judged = Judged {
        decision: Decision::Allow,
        statements: Vec::new(),
        unknown: Vec::new(),
        allowed_by: Vec::new(),
        context: None,
    };
    for c in contexts {
        let mut ctx = base.clone();
        for (k, v) in c.into_iter().flatten() {
            ctx.set(k, v.as_ref().map(|v| vec![v.clone()]));
        }
        let e = evaluate(
            sts,
            &Request {
                action: &n.action,
                resource: &n.resource,
                resource_is_pattern: true,
                context: &ctx,
            },
        );
        let add = |to: &mut Vec<usize>, from: &[usize]| {
            for i in from {
                if !to.contains(i) {
                    to.push(*i);
                }
            }
        };
        if e.decision == Decision::Allow {
            add(&mut judged.allowed_by, &e.statements);
        }
        if rank(e.decision) > rank(judged.decision) {
            judged.decision = e.decision;
            judged.statements = e.statements;
            judged.unknown = e.unknown;
            judged.context = c.filter(|c| !c.is_empty());
        } else if rank(e.decision) == rank(judged.decision) && e.decision == Decision::Undecidable {
            add(&mut judged.statements, &e.statements);
            for k in e.unknown {
                if !judged.unknown.contains(&k) {
                    judged.unknown.push(k);
                }
            }
        }
    }
    judged
}

/// A request context as a finding shows it: `key` `value`, or `key` absent.
fn context_text(c: &crate::derive::RequestContext) -> String {
    let shown = |s: &str| crate::render::printable(s).into_owned();
    c.iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{} `{}`", shown(k), shown(v)),
            None => format!("{} absent", shown(k)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One permission as the check judges it.
struct Needed {
    action: String,
    resource: String,
    res: crate::arn::Resource,
    condition: Option<crate::derive::ConditionBlock>,
    first: Evidence,
    /// The request contexts of its calls (Region mapped as the policy's).
    contexts: BTreeSet<crate::derive::RequestContext>,
    /// `false` when the calls told more contexts than were kept.
    complete: bool,
}

/// The result of a check.
#[derive(Debug, Clone, Default)]
pub struct CheckResult {
    /// The findings, in a stable order (kind, then file and line, then action and resource).
    pub findings: Vec<Finding>,
    /// How many distinct permissions the calls needed.
    pub permissions: usize,
    /// References of the declared policy that stayed unresolved (they match nothing).
    pub unresolved: Vec<Unresolved>,
    /// Needed permissions whose partition, region or account the calls did not tell (judged
    /// with `*` there, as the JSON policy writes them): give them as to `policy`.
    pub gaps: usize,
}

impl CheckResult {
    /// How many findings of `kind`.
    pub fn count(&self, kind: FindingKind) -> usize {
        self.findings.iter().filter(|f| f.kind == kind).count()
    }
}

/// Checks `declared` against what `observed` needed, with the options `policy` uses (mappings,
/// rewrite rules with literal names, exclusions, outcome filter).
pub fn check(
    declared: &Declared,
    observed: &Observed,
    opts: &PolicyOptions,
) -> Result<CheckResult> {
    let rewriter = Rewriter {
        rules: &opts.rewrite,
        env: opts.env.as_deref(),
        values: &opts.values,
        target: Target::Json,
    };
    let mut used = vec![0u64; opts.rewrite.len()];
    let mut random = Vec::new();
    // The permissions, as `policy` would write them (before grouping), merged.
    let mut needed: BTreeMap<(String, String, String), Needed> = BTreeMap::new();
    let mut gaps: BTreeSet<(String, String)> = BTreeSet::new();
    for p in observed.permissions_unordered() {
        if !opts.included(p.action, &p.stats) {
            continue;
        }
        let resolved = opts.resolve(&p.resource);
        let r = rewriter.apply(&resolved, &mut used, &mut random)?;
        let condition = match p.condition {
            Some(c) => Some(rewriter.apply_condition(c, &mut used, &mut random)?),
            None => None,
        };
        if r.has_gap() {
            gaps.insert((p.action.to_owned(), r.to_iam()));
        }
        let resource = r.to_iam();
        let key = (
            p.action.to_owned(),
            resource.clone(),
            serde_json::to_string(&condition).unwrap_or_default(),
        );
        let entry = needed.entry(key).or_insert_with(|| Needed {
            action: p.action.to_owned(),
            resource,
            res: r.as_ref().clone(),
            condition,
            first: p.stats.first.clone(),
            contexts: BTreeSet::new(),
            complete: true,
        });
        if p.stats.first < entry.first {
            entry.first = p.stats.first.clone();
        }
        let (contexts, complete) = p.contexts.list();
        entry.complete &= complete;
        for c in contexts {
            let mut c = c.clone();
            let region = match c.get(REQUESTED_REGION) {
                Some(Some(r)) => Some(opts.map_requested_region(r).to_owned()),
                _ => opts.region.clone(),
            };
            if let Some(r) = region {
                c.insert(REQUESTED_REGION.to_owned(), Some(r));
            }
            entry.contexts.insert(c);
        }
    }
    let sts = &declared.statements;
    let mut findings = Vec::new();
    // Per Allow statement: the permissions it allowed.
    let mut allowed_by: BTreeMap<usize, Vec<&Needed>> = BTreeMap::new();
    // Statements whose conditions the calls did not tell: not reported unused.
    let mut undecided: BTreeSet<usize> = BTreeSet::new();
    for n in needed.values() {
        let e = evaluate_needed(sts, n);
        let shown = |s: &str| crate::render::printable(s).into_owned();
        for &i in &e.allowed_by {
            allowed_by.entry(i).or_default().push(n);
        }
        match e.decision {
            Decision::Allow => {}
            Decision::ImplicitDeny | Decision::ExplicitDeny => {
                let deny = e.statements.first().map(|i| &sts[*i]);
                findings.push(Finding {
                    kind: FindingKind::Missing,
                    message: format!(
                        "`{}` on `{}` is needed but {}{} (first needed at {}){}",
                        n.action,
                        shown(&n.resource),
                        if deny.is_some() {
                            "explicitly denied"
                        } else {
                            "not allowed"
                        },
                        match e.context {
                            Some(c) if !e.allowed_by.is_empty() => format!(
                                " in a request with {} (allowed in the calls' other requests)",
                                context_text(c)
                            ),
                            _ => String::new(),
                        },
                        shown(&n.first.to_string()),
                        if declared.unresolved.is_empty() {
                            String::new()
                        } else {
                            format!(
                                "; {} reference(s) of the declared policy are unresolved and match nothing",
                                declared.unresolved.len()
                            )
                        }
                    ),
                    action: Some(n.action.clone()),
                    resource: Some(n.resource.clone()),
                    statement: deny.map(statement_ref),
                    evidence: Some(n.first.clone()),
                    suggestion: None,
                });
            }
            Decision::Undecidable => {
                undecided.extend(e.statements.iter().copied());
                findings.push(Finding {
                    kind: FindingKind::Undecidable,
                    message: format!(
                        "whether `{}` on `{}` is allowed depends on {} the calls do not tell (first needed at {})",
                        n.action,
                        shown(&n.resource),
                        if e.unknown.is_empty() {
                            "a condition".to_owned()
                        } else {
                            e.unknown
                                .iter()
                                .map(|k| format!("`{}`", shown(k)))
                                .collect::<Vec<_>>()
                                .join(", ")
                        },
                        shown(&n.first.to_string())
                    ),
                    action: Some(n.action.clone()),
                    resource: Some(n.resource.clone()),
                    statement: e.statements.first().map(|i| statement_ref(&sts[*i])),
                    evidence: Some(n.first.clone()),
                    suggestion: None,
                });
            }
        }
    }
    for (i, s) in sts.iter().enumerate() {
        if s.effect != Effect::Allow {
            continue;
        }
        let shown = |x: &str| crate::render::printable(x).into_owned();
        let Some(perms) = allowed_by.get(&i) else {
            if undecided.contains(&i) {
                continue;
            }
            findings.push(Finding {
                kind: FindingKind::Unused,
                message: format!(
                    "statement {}allows nothing the calls needed",
                    s.sid
                        .as_deref()
                        .map(|x| format!("`{}` ", shown(x)))
                        .unwrap_or_default()
                ),
                action: None,
                resource: None,
                statement: Some(statement_ref(s)),
                evidence: None,
                suggestion: None,
            });
            continue;
        };
        // Patterns of a used statement that nothing needed, and patterns wider than needed.
        if !s.actions.1 {
            for a in &s.actions.0 {
                let hits: BTreeSet<&str> = perms
                    .iter()
                    .filter(|n| crate::glob::action_matches(a, &n.action))
                    .map(|n| n.action.as_str())
                    .collect();
                if hits.is_empty() {
                    findings.push(Finding {
                        kind: FindingKind::Unused,
                        message: format!("action `{}` matched no call", shown(a)),
                        action: Some(a.clone()),
                        resource: None,
                        statement: Some(statement_ref(s)),
                        evidence: None,
                        suggestion: None,
                    });
                } else if has_wildcard(a) {
                    findings.push(Finding {
                        kind: FindingKind::Broad,
                        message: format!(
                            "action `{}` is wider than the {} action(s) the calls needed",
                            shown(a),
                            hits.len()
                        ),
                        action: Some(a.clone()),
                        resource: None,
                        statement: Some(statement_ref(s)),
                        evidence: None,
                        suggestion: Some(json!({"Action": hits.iter().collect::<Vec<_>>()})),
                    });
                }
            }
        }
        if !s.resources.1 {
            // What the generator writes for the permissions this statement allowed.
            let generated = generated_resources(perms, opts);
            for r in &s.resources.0 {
                let hits: Vec<&&Needed> = perms
                    .iter()
                    .filter(|n| r == "*" || crate::glob::resource_matches(r, &n.resource))
                    .collect();
                if hits.is_empty() && !r.contains("${") {
                    findings.push(Finding {
                        kind: FindingKind::Unused,
                        message: format!("resource `{}` matched no call", shown(r)),
                        action: None,
                        resource: Some(r.clone()),
                        statement: Some(statement_ref(s)),
                        evidence: None,
                        suggestion: None,
                    });
                } else if has_wildcard(r) {
                    // Per permission: what the generator writes for its action that covers it.
                    let narrower: BTreeSet<&str> = hits
                        .iter()
                        .filter_map(|n| {
                            generated.get(n.action.as_str()).and_then(|g| {
                                g.iter().find(|g| {
                                    g.as_str() == "*"
                                        || crate::glob::resource_matches(g, &n.resource)
                                })
                            })
                        })
                        .map(String::as_str)
                        .filter(|g| *g != r.as_str())
                        .collect();
                    if narrower.is_empty() {
                        continue;
                    }
                    findings.push(Finding {
                        kind: FindingKind::Broad,
                        message: format!(
                            "resource `{}` is wider than what the calls needed",
                            shown(r)
                        ),
                        action: None,
                        resource: Some(r.clone()),
                        statement: Some(statement_ref(s)),
                        evidence: None,
                        suggestion: Some(json!({"Resource": narrower.iter().collect::<Vec<_>>()})),
                    });
                }
            }
        }
    }
    findings.sort_by(|a, b| {
        (a.kind, &a.statement, &a.action, &a.resource).cmp(&(
            b.kind,
            &b.statement,
            &b.action,
            &b.resource,
        ))
    });
    Ok(CheckResult {
        permissions: needed.len(),
        findings,
        unresolved: declared.unresolved.clone(),
        gaps: gaps.len(),
    })
}

/// The resources (IAM text) the generator writes for `perms`, with the S3 object mode of
/// `opts`.
fn generated_resources<'n>(
    perms: &[&'n Needed],
    opts: &PolicyOptions,
) -> BTreeMap<&'n str, BTreeSet<String>> {
    let mut by_action: BTreeMap<&str, Vec<crate::arn::Resource>> = BTreeMap::new();
    for n in perms {
        by_action.entry(&n.action).or_default().push(n.res.clone());
    }
    by_action
        .into_iter()
        .map(|(a, rs)| {
            let g = crate::policy::generalise_resources(rs, opts.s3_objects)
                .iter()
                .map(crate::arn::Resource::to_iam)
                .collect();
            (a, g)
        })
        .collect()
}

/// Checks the declared policy files `paths` against `observed`, as data ([`check_value`]): what
/// the bindings hand out.
pub fn check_paths<P: AsRef<Path>>(
    paths: &[P],
    observed: &Observed,
    opts: &PolicyOptions,
    vars: &BTreeMap<String, String>,
) -> Result<Value> {
    if paths.is_empty() {
        return Err(Error::new(
            ErrorKind::Usage,
            "check needs the declared policy: one or more policy files",
        )
        .with_field("policy"));
    }
    let ctx = TfContext {
        vars: vars.clone(),
        account: opts.account.clone(),
        region: opts.region.clone(),
        partition: opts.partition.clone(),
    };
    let d = Declared::from_paths(paths, &ctx)?;
    Ok(check_value(&check(&d, observed, opts)?))
}

/// The result as data (the `--format json` form, `spec/schema/check.schema.json`).
pub fn check_value(r: &CheckResult) -> Value {
    let findings: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let mut v = json!({"kind": f.kind.name(), "message": f.message});
            if let Some(a) = &f.action {
                v["action"] = json!(a);
            }
            if let Some(x) = &f.resource {
                v["resource"] = json!(x);
            }
            if let Some(s) = &f.statement {
                v["statement"] = json!({"path": s.path, "line": s.line, "sid": s.sid});
            }
            if let Some(e) = &f.evidence {
                v["first"] = json!({"source": e.source, "line": e.line});
            }
            if let Some(s) = &f.suggestion {
                v["suggestion"] = s.clone();
            }
            v
        })
        .collect();
    json!({
        "format": "leastpriv-check",
        "version": 1,
        "permissions": r.permissions,
        "counts": {
            "missing": r.count(FindingKind::Missing),
            "unused": r.count(FindingKind::Unused),
            "broad": r.count(FindingKind::Broad),
            "undecidable": r.count(FindingKind::Undecidable),
        },
        "findings": findings,
        "gaps": r.gaps,
        "unresolved": r.unresolved.iter().map(|u| json!({"path": u.path, "line": u.line, "reference": u.reference})).collect::<Vec<_>>(),
    })
}

fn place_text(s: &StatementRef) -> String {
    let mut t = crate::render::printable(&s.path).into_owned();
    if let Some(l) = s.line {
        t.push_str(&format!(":{l}"));
    }
    if let Some(sid) = &s.sid {
        t.push_str(&format!(" ({})", crate::render::printable(sid)));
    }
    t
}

/// The text report: a line per finding, then the counts.
pub fn render_check_text(r: &CheckResult) -> String {
    let mut out = String::new();
    for f in &r.findings {
        out.push_str(f.kind.name());
        out.push_str(": ");
        if let Some(s) = &f.statement {
            out.push_str(&place_text(s));
            out.push_str(": ");
        }
        out.push_str(&crate::render::printable(&f.message));
        if let Some(s) = &f.suggestion {
            out.push_str(&format!(
                "; the generator would write {}",
                crate::render::printable(&s.to_string())
            ));
        }
        out.push('\n');
    }
    for u in &r.unresolved {
        out.push_str(&format!(
            "unresolved: {}:{}: `{}` (matches nothing; give it with --var or --tfvars)\n",
            crate::render::printable(&u.path),
            u.line,
            crate::render::printable(&u.reference)
        ));
    }
    if r.gaps > 0 {
        out.push_str(&format!(
            "note: {} permission(s) have a partition, region or account the calls did not tell, judged as `*` there: give --account, --region or --partition as to `policy`\n",
            r.gaps
        ));
    }
    out.push_str(&format!(
        "leastpriv check: {} permission(s) needed; {} missing, {} unused, {} broad, {} undecidable\n",
        r.permissions,
        r.count(FindingKind::Missing),
        r.count(FindingKind::Unused),
        r.count(FindingKind::Broad),
        r.count(FindingKind::Undecidable)
    ));
    out
}

fn level(k: FindingKind, fail: &[FindingKind]) -> &'static str {
    if k == FindingKind::Missing || fail.contains(&k) {
        "error"
    } else {
        "warning"
    }
}

/// SARIF 2.1.0: one result per finding, located at the policy file and line (the statement
/// that denies, is unused or is broad; for a permission nothing allows, the first file).
pub fn render_check_sarif(
    r: &CheckResult,
    policy_files: &[String],
    fail: &[FindingKind],
) -> String {
    let rules: Vec<Value> = [
        FindingKind::Missing,
        FindingKind::Unused,
        FindingKind::Broad,
        FindingKind::Undecidable,
    ]
    .iter()
    .map(|k| {
        json!({
            "id": k.name(),
            "shortDescription": {"text": match k {
                FindingKind::Missing => "A call needs a permission the policy does not allow",
                FindingKind::Unused => "The policy allows what no call needed",
                FindingKind::Broad => "The policy allows more than the calls needed",
                FindingKind::Undecidable => "Whether a needed permission is allowed depends on what the calls do not tell",
            }},
        })
    })
    .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let (uri, line) = match &f.statement {
                Some(s) => (s.path.clone(), s.line.unwrap_or(1)),
                None => (policy_files.first().cloned().unwrap_or_default(), 1),
            };
            let mut message = f.message.clone();
            if let Some(s) = &f.suggestion {
                message.push_str(&format!("; the generator would write {s}"));
            }
            json!({
                "ruleId": f.kind.name(),
                "level": level(f.kind, fail),
                "message": {"text": crate::render::printable(&message)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": uri},
                    "region": {"startLine": line},
                }}],
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "leastpriv",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/leastpriv/leastpriv",
                "rules": rules,
            }},
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// GitHub workflow commands: `::error file=F,line=L,title=missing::message` per finding.
pub fn render_check_github(
    r: &CheckResult,
    policy_files: &[String],
    fail: &[FindingKind],
) -> String {
    // Workflow-command escaping: % CR LF in data; also : and , in properties.
    let data = |s: &str| {
        crate::render::printable(s)
            .replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let prop = |s: &str| data(s).replace(':', "%3A").replace(',', "%2C");
    let mut out = String::new();
    for f in &r.findings {
        let (file, line) = match &f.statement {
            Some(s) => (s.path.clone(), s.line.unwrap_or(1)),
            None => (policy_files.first().cloned().unwrap_or_default(), 1),
        };
        out.push_str(&format!(
            "::{} file={},line={},title={}::{}\n",
            level(f.kind, fail),
            prop(&file),
            line,
            f.kind.name(),
            data(&f.message)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_lines_in_documents() {
        let text = "{\n \"Version\": \"2012-10-17\",\n \"Statement\": [\n  {\"Effect\": \"Allow\"},\n  {\n   \"Effect\": \"Deny\", \"Condition\": {\"X\": {}}\n  }\n ]\n}\n";
        assert_eq!(statement_lines(text), vec![4, 5]);
        let one = "[{\"Statement\": {\"Effect\": \"Allow\"}}, {\"Statement\": [{}]}]";
        assert_eq!(statement_lines(one), vec![1, 1]);
    }
}
