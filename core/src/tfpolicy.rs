//! Declared policies in Terraform: `data "aws_iam_policy_document"` blocks (statement blocks,
//! the provider's `&{...}` escapes), and `policy =` of `aws_iam_policy`, `aws_iam_role_policy`,
//! `aws_iam_user_policy` and `aws_iam_group_policy` (`jsonencode({...})`, heredoc or string
//! JSON). Parsed with hcl-edit, which keeps positions, so every statement has its file and line.
//!
//! References are resolved from the variables given (`--var NAME=VALUE`, `--tfvars FILE`: a
//! name, `var.NAME` or any reference text such as `aws_s3_bucket.orders.arn`), literal `locals`,
//! and the account, region and partition options for `data.aws_caller_identity.*.account_id`,
//! `data.aws_region.*.name|region` and `data.aws_partition.*.partition`. What stays unresolved
//! (and `dynamic "statement"` blocks, template directives) is reported with its place and
//! matches nothing.

use crate::check::{Declared, Unresolved};
use crate::error::{Error, ErrorKind, Result};
use crate::evaluate::{Place, scalar};
use hcl_edit::Span;
use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::{Block, BlockLabel, Body, Structure};
use hcl_edit::template::{Element, Template};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// What references resolve to.
#[derive(Debug, Clone, Default)]
pub struct TfContext {
    /// Variables and references: `NAME` (= `var.NAME`), or whole reference texts.
    pub vars: BTreeMap<String, String>,
    /// `data.aws_caller_identity.*.account_id`.
    pub account: Option<String>,
    /// `data.aws_region.*.name` / `.region`.
    pub region: Option<String>,
    /// `data.aws_partition.*.partition` (else from the region).
    pub partition: Option<String>,
}

impl TfContext {
    /// Adds the variables of a `.tfvars` file (`name = "value"`; strings, numbers and booleans)
    /// or a `.tfvars.json` file.
    pub fn add_tfvars(&mut self, path: &Path) -> Result<()> {
        let shown = crate::render::printable(&path.display().to_string()).into_owned();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::new(ErrorKind::Io, format!("{shown}: {e}")))?;
        if path.to_string_lossy().ends_with(".json") {
            let v = crate::read::json::parse(&text).map_err(|e| {
                Error::new(
                    ErrorKind::Usage,
                    format!("{shown}: not valid JSON: {}", e.message),
                )
            })?;
            for (k, v) in v.as_object().into_iter().flatten() {
                if let Some(s) = scalar(v) {
                    self.vars.insert(k.clone(), s);
                }
            }
            return Ok(());
        }
        let body = parse(&text, &shown)?;
        for s in body.iter() {
            if let Structure::Attribute(a) = s
                && let Some(v) = literal(&a.value)
            {
                self.vars.insert(a.key.as_str().to_owned(), v);
            }
        }
        Ok(())
    }

    fn resolve(&self, reference: &str, locals: &BTreeMap<String, String>) -> Option<String> {
        let r = reference.trim();
        if let Some(v) = self.vars.get(r) {
            return Some(v.clone());
        }
        let parts: Vec<&str> = r.split('.').collect();
        match parts.as_slice() {
            ["var", name] => self.vars.get(*name).cloned(),
            ["local", name] => locals.get(*name).cloned(),
            ["data", "aws_caller_identity", _, "account_id"] => self.account.clone(),
            ["data", "aws_region", _, "name" | "region"] => self.region.clone(),
            ["data", "aws_partition", _, "partition"] => self.partition.clone().or_else(|| {
                self.region
                    .as_deref()
                    .map(|r| crate::arn::partition_of_region(r).to_owned())
            }),
            _ => None,
        }
    }
}

fn literal(e: &Expression) -> Option<String> {
    match e {
        Expression::String(s) => Some(s.value().clone()),
        Expression::Number(n) => Some(n.value().to_string()),
        Expression::Bool(b) => Some(b.value().to_string()),
        _ => None,
    }
}

fn parse(text: &str, shown: &str) -> Result<Body> {
    hcl_edit::parser::parse_body(text).map_err(|e| {
        Error::new(
            ErrorKind::InvalidPolicy,
            format!("not valid HCL: {}", crate::render::printable(e.message())),
        )
        .with_path(shown.to_owned())
        .at(e.location().line() as u64, e.location().column() as u64)
    })
}

/// Reading one file: its text (for lines and reference texts), what references resolve to,
/// and what did not resolve.
struct Reader<'a> {
    text: &'a str,
    path: String,
    ctx: &'a TfContext,
    locals: BTreeMap<String, String>,
    unresolved: Vec<Unresolved>,
    /// Inside a `dynamic "statement"` block with a literal `for_each`: the iterator's name, and
    /// the current element's key and value.
    iter: Option<(String, Value, Value)>,
}

impl Reader<'_> {
    /// The value of `NAME.key` / `NAME.value[.path]` for the current `dynamic` element.
    fn iter_lookup(&self, reference: &str) -> Option<Value> {
        let (name, key, value) = self.iter.as_ref()?;
        let rest = reference.strip_prefix(name.as_str())?.strip_prefix('.')?;
        if rest == "key" {
            return Some(key.clone());
        }
        let rest = rest.strip_prefix("value")?;
        let mut v = value;
        for part in rest.split('.').filter(|p| !p.is_empty()) {
            let (field, index) = match part.split_once('[') {
                Some((f, i)) => (f, i.strip_suffix(']').and_then(|i| i.parse::<usize>().ok())),
                None => (part, None),
            };
            if !field.is_empty() {
                v = v.get(field)?;
            }
            if let Some(i) = index {
                v = v.get(i)?;
            }
        }
        Some(v.clone())
    }

    fn line_of(&self, span: Option<std::ops::Range<usize>>) -> u64 {
        crate::read::line_col(self.text, span.map_or(0, |s| s.start)).0
    }

    fn unresolved(&mut self, span: Option<std::ops::Range<usize>>, what: &str) {
        let line = self.line_of(span);
        self.unresolved.push(Unresolved {
            path: self.path.clone(),
            line,
            reference: what.to_owned(),
        });
    }

    /// The source text of an expression.
    fn source(&self, e: &Expression) -> String {
        e.span()
            .and_then(|s| self.text.get(s))
            .unwrap_or("")
            .trim()
            .to_owned()
    }

    /// A template's value, or `None` (recorded as unresolved) when a part cannot be known.
    fn template(&mut self, t: &Template) -> Option<String> {
        let mut out = String::new();
        let mut ok = true;
        for el in t.iter() {
            match el {
                Element::Literal(l) => out.push_str(l.value()),
                Element::Interpolation(i) => match self.string(&i.expr) {
                    Some(v) => out.push_str(&v),
                    None => ok = false,
                },
                Element::Directive(d) => {
                    self.unresolved(d.span(), "a template directive");
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// A string-valued expression, resolved; `None` (recorded) when it cannot be.
    fn string(&mut self, e: &Expression) -> Option<String> {
        match e {
            Expression::String(s) => Some(s.value().clone()),
            Expression::Number(n) => Some(n.value().to_string()),
            Expression::Bool(b) => Some(b.value().to_string()),
            Expression::StringTemplate(t) => self.template(t),
            Expression::HeredocTemplate(h) => self.template(&h.template),
            Expression::Parenthesis(p) => self.string(p.inner()),
            Expression::Traversal(_) | Expression::Variable(_) => {
                let r = self.source(e);
                if let Some(v) = self.iter_lookup(&r) {
                    return scalar(&v);
                }
                match self.ctx.resolve(&r, &self.locals) {
                    Some(v) => Some(v),
                    None => {
                        self.unresolved(e.span(), &r);
                        None
                    }
                }
            }
            other => {
                let r = self.source(other);
                self.unresolved(other.span(), &r);
                None
            }
        }
    }

    /// A list of strings; unresolved items are left out (they match nothing).
    fn strings(&mut self, e: &Expression) -> Vec<String> {
        if matches!(e, Expression::Traversal(_))
            && let Some(Value::Array(items)) = self.iter_lookup(&self.source(e))
        {
            return items.iter().filter_map(scalar).collect();
        }
        match e {
            Expression::Array(items) => items.iter().filter_map(|i| self.string(i)).collect(),
            other => self.string(other).into_iter().collect(),
        }
    }

    /// An HCL value as JSON (for `jsonencode`).
    fn json(&mut self, e: &Expression) -> Option<Value> {
        match e {
            Expression::Null(_) => Some(Value::Null),
            Expression::Bool(b) => Some(Value::Bool(*b.value())),
            Expression::Number(n) => {
                serde_json::to_value(n.value().to_string())
                    .ok()
                    .map(|v| match v {
                        Value::String(s) => crate::read::json::number_value(&s),
                        other => other,
                    })
            }
            Expression::Array(items) => Some(Value::Array(
                items.iter().filter_map(|i| self.json(i)).collect(),
            )),
            Expression::Object(o) => {
                let mut m = Map::new();
                for (k, v) in o.iter() {
                    let key = match k {
                        ObjectKey::Ident(i) => i.as_str().to_owned(),
                        ObjectKey::Expression(x) => self.string(x)?,
                    };
                    if let Some(v) = self.json(v.expr()) {
                        m.insert(key, v);
                    }
                }
                Some(Value::Object(m))
            }
            // An unresolved value stays in place as a marker: the statement then matches
            // nothing through it ([`drop_unresolved`]).
            other => Some(Value::String(
                self.string(other).unwrap_or_else(|| UNRESOLVED.to_owned()),
            )),
        }
    }
}

/// What an unresolved value of a `jsonencode` policy is while the document is read.
const UNRESOLVED: &str = "\u{0}unresolved";

/// Leaves unresolved values out of a `jsonencode` document's statements: they match nothing,
/// and a statement whose action or resource list is left empty is dropped.
fn drop_unresolved(doc: &mut Value) {
    let Some(sts) = doc.get_mut("Statement") else {
        return;
    };
    let list = match sts {
        Value::Array(items) => items,
        other => {
            let one = std::mem::take(other);
            *other = Value::Array(vec![one]);
            match other {
                Value::Array(items) => items,
                _ => return,
            }
        }
    };
    list.retain_mut(|st| {
        for k in ["Action", "NotAction", "Resource", "NotResource"] {
            if let Some(v) = st.get_mut(k) {
                match v {
                    Value::String(s) if s == UNRESOLVED => return false,
                    Value::Array(items) => {
                        items.retain(|i| i.as_str() != Some(UNRESOLVED));
                        if items.is_empty() {
                            return false;
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some(Value::Object(ops)) = st.get_mut("Condition") {
            for keys in ops.values_mut() {
                if let Value::Object(keys) = keys {
                    for v in keys.values_mut() {
                        if let Value::Array(items) = v {
                            items.retain(|i| i.as_str() != Some(UNRESOLVED));
                        }
                    }
                }
            }
        }
        true
    });
}

fn label(b: &Block, i: usize) -> Option<&str> {
    b.labels.get(i).map(|l| match l {
        BlockLabel::Ident(x) => x.as_str(),
        BlockLabel::String(s) => s.value().as_str(),
    })
}

const POLICY_RESOURCES: &[&str] = &[
    "aws_iam_policy",
    "aws_iam_role_policy",
    "aws_iam_user_policy",
    "aws_iam_group_policy",
];

/// One statement block of an `aws_iam_policy_document` as its IAM JSON form.
fn statement_json(r: &mut Reader<'_>, b: &Block) -> Value {
    let mut st = Map::new();
    let body = &b.body;
    let put_list = |r: &mut Reader<'_>, key: &str, json_key: &str, st: &mut Map<String, Value>| {
        if let Some(a) = body.get_attribute(key) {
            let items: Vec<Value> = r
                .strings(&a.value)
                .into_iter()
                .map(|s| Value::String(s.replace("&{", "${")))
                .collect();
            st.insert(json_key.to_owned(), Value::Array(items));
        }
    };
    if let Some(a) = body.get_attribute("sid")
        && let Some(s) = r.string(&a.value)
    {
        st.insert("Sid".into(), Value::String(s));
    }
    let effect = body
        .get_attribute("effect")
        .and_then(|a| r.string(&a.value))
        .unwrap_or_else(|| "Allow".to_owned());
    st.insert("Effect".into(), Value::String(effect));
    put_list(r, "actions", "Action", &mut st);
    put_list(r, "not_actions", "NotAction", &mut st);
    put_list(r, "resources", "Resource", &mut st);
    put_list(r, "not_resources", "NotResource", &mut st);
    let mut cond: Map<String, Value> = Map::new();
    for c in body.get_blocks("condition") {
        let test = c
            .body
            .get_attribute("test")
            .and_then(|a| r.string(&a.value));
        let var = c
            .body
            .get_attribute("variable")
            .and_then(|a| r.string(&a.value));
        let values: Vec<Value> = c
            .body
            .get_attribute("values")
            .map(|a| r.strings(&a.value))
            .unwrap_or_default()
            .into_iter()
            .map(|s| Value::String(s.replace("&{", "${")))
            .collect();
        if let (Some(t), Some(v)) = (test, var) {
            let keys = cond.entry(t).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(keys) = keys {
                match keys.get_mut(&v) {
                    Some(Value::Array(existing)) => existing.extend(values),
                    _ => {
                        keys.insert(v, Value::Array(values));
                    }
                }
            }
        }
    }
    if !cond.is_empty() {
        st.insert("Condition".into(), Value::Object(cond));
    }
    Value::Object(st)
}

/// Reads a statement block's IAM JSON form into `out`, placed at `line` of `path`; a statement
/// whose action or resource list lost every entry to unresolved references matches nothing and
/// is left out.
fn add_block_statement(
    st: Value,
    path: &Path,
    line: u64,
    out: &mut Vec<crate::evaluate::Statement>,
) -> Result<()> {
    if empty_lists(&st) {
        return Ok(());
    }
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [st]});
    for mut s in crate::evaluate::parse_policy_document(&doc, Place::default())? {
        s.place = Place {
            path: Some(path.display().to_string()),
            line: Some(line),
        };
        out.push(s);
    }
    Ok(())
}

type Docs = BTreeMap<String, (Vec<crate::evaluate::Statement>, Vec<String>, Vec<String>)>;

/// The statements of data document `name` merged with its sources and overrides.
fn effective(
    docs: &Docs,
    name: &str,
    seen: &mut Vec<String>,
    r: &mut Reader<'_>,
    shown: &str,
) -> Vec<crate::evaluate::Statement> {
    let Some((own, sources, overrides)) = docs.get(name) else {
        r.unresolved.push(Unresolved {
            path: shown.to_owned(),
            line: 1,
            reference: format!("data.aws_iam_policy_document.{name}.json (not in these files)"),
        });
        return Vec::new();
    };
    if seen.iter().any(|s| s == name) {
        return Vec::new();
    }
    seen.push(name.to_owned());
    let mut out: Vec<crate::evaluate::Statement> = Vec::new();
    let merge = |out: &mut Vec<crate::evaluate::Statement>,
                 add: Vec<crate::evaluate::Statement>| {
        for s in add {
            if let Some(sid) = &s.sid {
                out.retain(|o| o.sid.as_ref() != Some(sid));
            }
            out.push(s);
        }
    };
    for s in sources {
        let add = effective(docs, s, seen, r, shown);
        out.extend(add);
    }
    merge(&mut out, own.clone());
    for o in overrides {
        let add = effective(docs, o, seen, r, shown);
        merge(&mut out, add);
    }
    seen.pop();
    out
}

/// A statement list that lost every entry to unresolved references matches nothing: such a
/// statement is left out.
fn empty_lists(st: &Value) -> bool {
    ["Action", "NotAction", "Resource", "NotResource"]
        .iter()
        .any(|k| {
            st.get(*k)
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
        })
}

impl Declared {
    /// Adds the policies of a Terraform file (see the module documentation).
    pub fn add_terraform(&mut self, path: &Path, text: &str, ctx: &TfContext) -> Result<()> {
        let shown = crate::render::printable(&path.display().to_string()).into_owned();
        let body = parse(text, &shown)?;
        let mut r = Reader {
            text,
            path: path.display().to_string(),
            ctx,
            locals: BTreeMap::new(),
            unresolved: Vec::new(),
            iter: None,
        };
        // Literal locals first.
        for b in body.get_blocks("locals") {
            for s in b.body.iter() {
                if let Structure::Attribute(a) = s
                    && let Some(v) = literal(&a.value)
                {
                    r.locals.insert(a.key.as_str().to_owned(), v);
                }
            }
        }
        let file_start = self.statements.len();
        let mut found = 0;
        // Data documents a policy resource attaches (policies even when also a source).
        let mut rooted: Vec<String> = Vec::new();
        // Each data document: its own statements, and the documents it takes as sources and
        // as overrides.
        let mut docs: Docs = BTreeMap::new();
        let place_err = |e: Error, line: u64| {
            let f = e.field().map(str::to_owned);
            let mut err = Error::new(ErrorKind::InvalidPolicy, e.message())
                .with_path(shown.clone())
                .at(line, 1);
            if let Some(f) = f {
                err = err.with_field(f);
            }
            err
        };
        for b in body.iter().filter_map(|s| match s {
            Structure::Block(b) => Some(b),
            Structure::Attribute(_) => None,
        }) {
            let kind = b.ident.as_str();
            if kind == "data" && label(b, 0) == Some("aws_iam_policy_document") {
                found += 1;
                let mut doc_statements = Vec::new();
                let refs = |r: &mut Reader<'_>, key: &str| -> Vec<String> {
                    let Some(a) = b.body.get_attribute(key) else {
                        return Vec::new();
                    };
                    let items: Vec<&Expression> = match &a.value {
                        Expression::Array(items) => items.iter().collect(),
                        other => vec![other],
                    };
                    let mut names = Vec::new();
                    for x in items {
                        let text = r.source(x);
                        match text
                            .strip_prefix("data.aws_iam_policy_document.")
                            .and_then(|t| t.strip_suffix(".json"))
                        {
                            Some(n) if !n.contains('.') => names.push(n.to_owned()),
                            _ => r.unresolved(x.span(), &text),
                        }
                    }
                    names
                };
                let sources = refs(&mut r, "source_policy_documents");
                let overrides = refs(&mut r, "override_policy_documents");
                for inner in b.body.iter() {
                    let Structure::Block(sb) = inner else {
                        continue;
                    };
                    let line = r.line_of(sb.span());
                    match sb.ident.as_str() {
                        "statement" => {
                            let st = statement_json(&mut r, sb);
                            add_block_statement(st, path, line, &mut doc_statements)
                                .map_err(|e| place_err(e, line))?;
                        }
                        "dynamic" if label(sb, 0) == Some("statement") => {
                            // A literal for_each is expanded; anything else is unresolved.
                            let before = r.unresolved.len();
                            let each = sb
                                .body
                                .get_attribute("for_each")
                                .and_then(|a| r.json(&a.value));
                            let literal = r.unresolved.len() == before
                                && each
                                    .as_ref()
                                    .is_some_and(|v| !v.to_string().contains(UNRESOLVED));
                            r.unresolved.truncate(before);
                            let content = sb.body.get_blocks("content").next();
                            let (Some(each), Some(content), true) = (each, content, literal) else {
                                r.unresolved(
                                    sb.span(),
                                    "a dynamic \"statement\" block (its for_each is not literal)",
                                );
                                continue;
                            };
                            let name = sb
                                .body
                                .get_attribute("iterator")
                                .map(|a| r.source(&a.value))
                                .unwrap_or_else(|| "statement".to_owned());
                            let items: Vec<(Value, Value)> = match each {
                                Value::Array(items) => items
                                    .into_iter()
                                    .enumerate()
                                    .map(|(i, v)| (Value::from(i), v))
                                    .collect(),
                                Value::Object(m) => {
                                    m.into_iter().map(|(k, v)| (Value::String(k), v)).collect()
                                }
                                _ => Vec::new(),
                            };
                            for (k, v) in items {
                                r.iter = Some((name.clone(), k, v));
                                let st = statement_json(&mut r, content);
                                r.iter = None;
                                add_block_statement(st, path, line, &mut doc_statements)
                                    .map_err(|e| place_err(e, line))?;
                            }
                        }
                        _ => {}
                    }
                }
                docs.insert(
                    label(b, 1).unwrap_or_default().to_owned(),
                    (doc_statements, sources, overrides),
                );
            } else if kind == "resource"
                && label(b, 0).is_some_and(|t| POLICY_RESOURCES.contains(&t))
                && let Some(a) = b.body.get_attribute("policy")
            {
                let line = r.line_of(a.span());
                let doc = match &a.value {
                    // A data document's `.json`: its statements are read with it.
                    Expression::Traversal(_)
                        if r.source(&a.value)
                            .starts_with("data.aws_iam_policy_document.") =>
                    {
                        let text = r.source(&a.value);
                        if let Some(n) = text
                            .strip_prefix("data.aws_iam_policy_document.")
                            .and_then(|t| t.strip_suffix(".json"))
                        {
                            rooted.push(n.to_owned());
                        }
                        continue;
                    }
                    Expression::FuncCall(f) if f.name.name.as_str() == "jsonencode" => {
                        match f.args.iter().next().and_then(|x| r.json(x)) {
                            Some(v) => v,
                            None => continue,
                        }
                    }
                    other => match r.string(other) {
                        Some(s) => crate::read::json::parse(&s).map_err(|e| {
                            Error::new(
                                ErrorKind::InvalidPolicy,
                                format!("the policy is not valid JSON: {}", e.message),
                            )
                            .with_path(shown.clone())
                            .at(line, 1)
                        })?,
                        None => continue,
                    },
                };
                found += 1;
                let mut doc = doc;
                drop_unresolved(&mut doc);
                let sts = crate::evaluate::parse_policy_document(&doc, Place::default())
                    .map_err(|e| place_err(e, line))?;
                for mut s in sts {
                    s.place = Place {
                        path: Some(path.display().to_string()),
                        line: Some(line),
                    };
                    self.statements.push(s);
                }
            }
        }
        // The documents no other document takes as a source or an override are the policies;
        // each is its sources' statements, then its own (replacing a source's of the same Sid),
        // then its overrides' (replacing any of the same Sid), as the provider merges them.
        let taken: std::collections::BTreeSet<&String> = docs
            .values()
            .flat_map(|(_, s, o)| s.iter().chain(o))
            .collect();
        for name in docs
            .keys()
            .filter(|n| !taken.contains(n) || rooted.contains(n))
        {
            let mut seen = Vec::new();
            self.statements
                .extend(effective(&docs, name, &mut seen, &mut r, &shown));
        }
        // In the file's order.
        let from = file_start.min(self.statements.len());
        self.statements[from..].sort_by_key(|s| s.place.line);
        if found == 0 {
            return Err(Error::new(
                ErrorKind::InvalidPolicy,
                "no aws_iam_policy_document data block and no aws_iam_*policy resource with a policy in the file",
            )
            .with_path(shown)
            .at(1, 1));
        }
        self.unresolved.extend(r.unresolved);
        Ok(())
    }
}
