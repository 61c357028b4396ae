//! Terraform: `data "aws_iam_policy_document"` blocks laid out as `terraform fmt` would.
//!
//! Escaping, in this order of concern:
//! - IAM's own escapes for literal `*`, `?`, `$` are written `&{*}`, `&{?}`, `&{$}`: the AWS
//!   provider turns `&{` into `${` in policy documents;
//! - nothing from an event can become a Terraform interpolation or directive: `$` is always
//!   escaped as above, and `%{` is written `%%{`;
//! - a literal `&{` in a name cannot be written in a `statement` block (the provider would turn
//!   it into `${`), so a statement holding one is written as JSON in `source_policy_documents`,
//!   where the provider does no replacement.

use crate::arn::{Field, Resource, SegRef as Seg};
use crate::policy::{Document, PolicySet, Statement};
use std::fmt::Write as _;

/// Options for [`render_terraform`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerraformOptions {
    /// The major version of the AWS provider: 6 and later reference
    /// `data.aws_region.current.region`, 5 `data.aws_region.current.name`.
    pub provider_major: u32,
    /// Declare the `aws_partition`, `aws_region` and `aws_caller_identity` data sources that the
    /// documents reference.
    pub data_sources: bool,
}

impl Default for TerraformOptions {
    fn default() -> Self {
        TerraformOptions {
            provider_major: 6,
            data_sources: true,
        }
    }
}

/// Writes HCL string-literal content for text that must stay literal in the final value.
fn hcl_literal(text: &str, out: &mut String) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("$$"),
            '%' if chars.peek() == Some(&'{') => out.push_str("%%"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// Writes literal resource text with IAM escapes in the provider's `&{...}` form.
fn iam_literal(text: &str, out: &mut String) {
    let mut buf = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '*' => buf.push_str("&{*}"),
            '?' => buf.push_str("&{?}"),
            '$' => buf.push_str("&{$}"),
            c => buf.push(c),
        }
    }
    hcl_literal(&buf, out);
}

fn field_ref(f: Field, opts: &TerraformOptions) -> &'static str {
    match f {
        Field::Partition => "${data.aws_partition.current.partition}",
        Field::Region if opts.provider_major >= 6 => "${data.aws_region.current.region}",
        Field::Region => "${data.aws_region.current.name}",
        Field::Account => "${data.aws_caller_identity.current.account_id}",
    }
}

fn resource_hcl(r: &Resource, opts: &TerraformOptions) -> String {
    let mut out = String::from("\"");
    for seg in r.segs() {
        match seg {
            Seg::Text(t) => iam_literal(t, &mut out),
            Seg::Pattern(p) => hcl_literal(p, &mut out),
            Seg::Field(_, Some(v)) => iam_literal(v, &mut out),
            Seg::Field(f, None) => out.push_str(field_ref(f, opts)),
            // A reference checked when the rule was read (crate::check_terraform_reference).
            Seg::Expr(_, e) => {
                out.push_str("${");
                out.push_str(e);
                out.push('}');
            }
        }
    }
    if let Some(t) = r.tail() {
        iam_literal(t, &mut out);
    }
    out.push('"');
    out
}

fn has_literal_amp_brace(r: &Resource) -> bool {
    let mut texts: Vec<&str> = r
        .segs()
        .filter_map(|s| match s {
            Seg::Text(t) => Some(t),
            Seg::Field(_, Some(v)) => Some(v),
            _ => None,
        })
        .collect();
    if let Some(t) = r.tail() {
        texts.push(t);
    }
    texts.iter().any(|t| t.contains("&{"))
}

fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    hcl_literal(text, &mut out);
    out.push('"');
    out
}

fn statement_block(s: &Statement, opts: &TerraformOptions, out: &mut String) {
    out.push_str("  statement {\n");
    let _ = writeln!(out, "    sid    = {}", quoted(&s.sid));
    out.push_str("    effect = \"Allow\"\n");
    out.push_str("    actions = [\n");
    for a in &s.actions {
        let _ = writeln!(out, "      {},", quoted(a));
    }
    out.push_str("    ]\n");
    out.push_str("    resources = [\n");
    let mut rs: Vec<String> = s.resources.iter().map(|r| resource_hcl(r, opts)).collect();
    rs.sort();
    rs.dedup();
    for r in rs {
        let _ = writeln!(out, "      {r},");
    }
    out.push_str("    ]\n");
    if let Some(cond) = &s.condition {
        for (test, keys) in cond {
            for (variable, values) in keys {
                // Values carry IAM escapes (`${$}`), written in the provider's `&{` form.
                let vals: Vec<String> = values
                    .iter()
                    .map(|v| quoted(&v.replace("${", "&{")))
                    .collect();
                out.push('\n');
                out.push_str("    condition {\n");
                let _ = writeln!(out, "      test     = {}", quoted(test));
                let _ = writeln!(out, "      variable = {}", quoted(variable));
                let _ = writeln!(out, "      values   = [{}]", vals.join(", "));
                out.push_str("    }\n");
            }
        }
    }
    out.push_str("  }\n");
}

/// JSON text of a string, without its quotes.
fn json_inner(text: &str) -> String {
    let q = serde_json::to_string(text).unwrap_or_default();
    q[1..q.len().saturating_sub(1)].to_owned()
}

/// A JSON string value written inside an HCL string: `\"...\"`, escaped for JSON, then HCL.
fn json_string_hcl(out: &mut String, text: &str) {
    out.push_str("\\\"");
    hcl_literal(&json_inner(text), out);
    out.push_str("\\\"");
}

fn resource_json_hcl(r: &Resource, opts: &TerraformOptions, out: &mut String) {
    out.push_str("\\\"");
    let mut lit = String::new();
    let flush = |lit: &mut String, out: &mut String| {
        hcl_literal(&json_inner(lit), out);
        lit.clear();
    };
    for seg in r.segs() {
        match seg {
            Seg::Text(t) => crate::arn::escape_iam(t, &mut lit),
            Seg::Pattern(p) => lit.push_str(p),
            Seg::Field(_, Some(v)) => crate::arn::escape_iam(v, &mut lit),
            Seg::Field(f, None) => {
                flush(&mut lit, out);
                out.push_str(field_ref(f, opts));
            }
            Seg::Expr(_, e) => {
                flush(&mut lit, out);
                out.push_str("${");
                out.push_str(e);
                out.push('}');
            }
        }
    }
    if let Some(t) = r.tail() {
        crate::arn::escape_iam(t, &mut lit);
    }
    flush(&mut lit, out);
    out.push_str("\\\"");
}

/// A policy document as compact JSON, written as the content of an HCL string.
fn raw_document_hcl(statements: &[&Statement], opts: &TerraformOptions) -> String {
    let mut out = String::new();
    let plain = json_string_hcl;
    out.push('{');
    plain(&mut out, "Version");
    out.push(':');
    plain(&mut out, "2012-10-17");
    out.push(',');
    plain(&mut out, "Statement");
    out.push_str(":[");
    for (i, s) in statements.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        plain(&mut out, "Sid");
        out.push(':');
        plain(&mut out, &s.sid);
        out.push(',');
        plain(&mut out, "Effect");
        out.push(':');
        plain(&mut out, "Allow");
        out.push(',');
        plain(&mut out, "Action");
        out.push_str(":[");
        for (j, a) in s.actions.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            plain(&mut out, a);
        }
        out.push_str("],");
        plain(&mut out, "Resource");
        out.push_str(":[");
        for (j, r) in s.resources.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            resource_json_hcl(r, opts, &mut out);
        }
        out.push(']');
        if let Some(c) = &s.condition {
            out.push(',');
            plain(&mut out, "Condition");
            out.push(':');
            hcl_literal(&serde_json::to_string(c).unwrap_or_default(), &mut out);
        }
        out.push('}');
    }
    out.push_str("]}");
    out
}

/// A Terraform identifier from a policy name: letters, digits, `_` and `-`, not starting with a
/// digit or `-`.
fn tf_ident(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        s.insert(0, '_');
    }
    s
}

fn document_block(name: &str, doc: &Document, opts: &TerraformOptions, out: &mut String) {
    let _ = writeln!(out, "data \"aws_iam_policy_document\" {} {{", quoted(name));
    let (raw, plain): (Vec<&Statement>, Vec<&Statement>) = doc.statements.iter().partition(|s| {
        // The provider turns `&{` into `${` in resources and condition values alike.
        s.resources.iter().any(has_literal_amp_brace)
            || s.condition
                .iter()
                .flat_map(|c| c.values())
                .flat_map(|k| k.values())
                .flatten()
                .any(|v| v.contains("&{"))
    });
    let mut first = true;
    if !raw.is_empty() {
        // Exact JSON for the statements the provider's `&{` replacement would corrupt; the
        // provider reads these documents as they are. Gaps stay data-source references.
        out.push_str("  source_policy_documents = [\n");
        let _ = writeln!(out, "    \"{}\",", raw_document_hcl(&raw, opts));
        out.push_str("  ]\n");
        first = false;
    }
    for s in plain {
        if !first {
            out.push('\n');
        }
        first = false;
        statement_block(s, opts, out);
    }
    out.push_str("}\n");
}

/// The whole set as Terraform. Documents are named after the policy (`leastpriv`,
/// `leastpriv_2`, ...; with `--group-by`, after each principal).
///
/// ```
/// use leastpriv::{build_policies, render_terraform, Call, Observed, PolicyOptions, Rules, TerraformOptions};
/// let mut seen = Observed::new();
/// let call = Call::new("s3", "GetObject", serde_json::json!({"Bucket": "b", "Key": "k"}));
/// seen.add(&leastpriv::derive(&Rules::builtin(), &call), None, true, &call.source);
/// let tf = render_terraform(&build_policies(&seen, &PolicyOptions::default()).unwrap(), &TerraformOptions::default());
/// assert!(tf.contains("data \"aws_iam_policy_document\" \"leastpriv\" {"));
/// assert!(tf.contains("\"arn:${data.aws_partition.current.partition}:s3:::b/k\","));
/// ```
pub fn render_terraform(set: &PolicySet, opts: &TerraformOptions) -> String {
    let mut out = String::new();
    let mut blocks = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    for p in &set.policies {
        // Block names are distinct by construction: a name that is not an identifier as it is
        // (`order service`) gets a hash of itself, and any clash one more.
        let mut base = tf_ident(&p.name);
        if base != p.name {
            base = format!(
                "{base}_{:08x}",
                crate::policy::fnv1a(p.name.as_bytes()) >> 32
            );
        }
        for (i, d) in p.documents.iter().enumerate() {
            let mut name = if i == 0 {
                base.clone()
            } else {
                format!("{base}_{}", i + 1)
            };
            let mut n = 0u64;
            while !used.insert(name.clone()) {
                n += 1;
                name = format!(
                    "{base}_{}_{:08x}",
                    i + 1,
                    crate::policy::fnv1a(format!("{}\0{n}", p.name).as_bytes()) >> 32
                );
            }
            let mut b = String::new();
            document_block(&name, d, opts, &mut b);
            blocks.push(b);
        }
    }
    if opts.data_sources {
        let uses = |f: Field| {
            set.statements()
                .flat_map(|s| s.resources.iter())
                .any(|r| r.segs().any(|s| matches!(s, Seg::Field(g, None) if g == f)))
        };
        if uses(Field::Partition) {
            out.push_str("data \"aws_partition\" \"current\" {}\n\n");
        }
        if uses(Field::Region) {
            out.push_str("data \"aws_region\" \"current\" {}\n\n");
        }
        if uses(Field::Account) {
            out.push_str("data \"aws_caller_identity\" \"current\" {}\n\n");
        }
    }
    out.push_str(&blocks.join("\n"));
    out
}

/// A `variables.tf` declaring the input variables (`var.NAME`) the rewrite rules' Terraform
/// expressions reference, in name order: `type = string` where the expression is the variable
/// itself, `any` where it indexes into it. Empty when they reference none.
///
/// ```
/// let rule = leastpriv::RewriteRule::from_json(&serde_json::json!(
///     {"match": "orders-*", "name": "orders-<env>", "terraform_name": "var.orders_bucket"}), "rewrite[1]").unwrap();
/// let tf = leastpriv::render_variables(&[rule]);
/// assert!(tf.starts_with("variable \"orders_bucket\" {\n  type        = string\n"));
/// ```
pub fn render_variables(rules: &[crate::rewrite::RewriteRule]) -> String {
    use crate::rewrite::TfExpr;
    let mut vars: std::collections::BTreeMap<String, (bool, Vec<String>)> =
        std::collections::BTreeMap::new();
    for (i, r) in rules.iter().enumerate() {
        let Some(TfExpr::Name(e) | TfExpr::Arn(e)) = &r.terraform else {
            continue;
        };
        let Some(rest) = e.strip_prefix("var.") else {
            continue;
        };
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let name = &rest[..end];
        let entry = vars.entry(name.to_owned()).or_insert((true, Vec::new()));
        entry.0 &= end == rest.len();
        entry.1.push(format!(
            "{} of rewrite rule {} (match `{}`)",
            match &r.terraform {
                Some(TfExpr::Arn(_)) => "the ARN",
                _ => "the name",
            },
            i + 1,
            r.pattern
        ));
    }
    let mut out = String::new();
    for (name, (plain, uses)) in vars {
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "variable {} {{", quoted(&name));
        let _ = writeln!(
            out,
            "  type        = {}",
            if plain { "string" } else { "any" }
        );
        let _ = writeln!(out, "  description = {}", quoted(&uses.join("; ")));
        out.push_str("}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_could_interpolate() {
        let mut s = String::new();
        iam_literal("a*b?c$d${x}%{y}\"\\\n", &mut s);
        assert_eq!(s, "a&{*}b&{?}c&{$}d&{$}{x}%%{y}\\\"\\\\\\n");
    }

    #[test]
    fn identifiers() {
        assert_eq!(tf_ident("order service"), "order_service");
        assert_eq!(tf_ident("1x"), "_1x");
        assert_eq!(tf_ident(""), "_");
    }
}
