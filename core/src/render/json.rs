//! IAM policy JSON: two-space indentation, keys in the order Sid, Effect, Action, Resource,
//! Condition, `Action` and `Resource` always arrays, one trailing newline.

use crate::derive::ConditionBlock;
use crate::policy::{Document, PermissionLine, Policy, PolicySet};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct JsonDocument<'a> {
    #[serde(rename = "Version")]
    version: &'static str,
    #[serde(rename = "Statement")]
    statement: Vec<JsonStatement<'a>>,
}

#[derive(Serialize)]
struct JsonStatement<'a> {
    #[serde(rename = "Sid")]
    sid: &'a str,
    #[serde(rename = "Effect")]
    effect: &'static str,
    #[serde(rename = "Action")]
    action: &'a [String],
    #[serde(rename = "Resource")]
    resource: Vec<String>,
    #[serde(rename = "Condition", skip_serializing_if = "Option::is_none")]
    condition: Option<&'a ConditionBlock>,
}

fn to_json_doc(doc: &Document) -> JsonDocument<'_> {
    JsonDocument {
        version: "2012-10-17",
        statement: doc
            .statements
            .iter()
            .map(|s| {
                let mut resource: Vec<String> = s.resources.iter().map(|r| r.to_iam()).collect();
                resource.sort();
                resource.dedup();
                JsonStatement {
                    sid: &s.sid,
                    effect: "Allow",
                    action: &s.actions,
                    resource,
                    condition: s.condition.as_ref(),
                }
            })
            .collect(),
    }
}

fn pretty<T: Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// One document as IAM JSON (unknown fields as `*`).
pub fn render_document_json(doc: &Document) -> String {
    pretty(&to_json_doc(doc))
}

/// A document as IAM JSON, as a value.
pub(crate) fn document_value(doc: &Document) -> serde_json::Value {
    serde_json::to_value(to_json_doc(doc)).unwrap_or_default()
}

fn policy_value(p: &Policy) -> serde_json::Value {
    let docs: Vec<serde_json::Value> = p.documents.iter().map(document_value).collect();
    if docs.len() == 1 {
        docs.into_iter().next().unwrap_or_default()
    } else {
        serde_json::Value::Array(docs)
    }
}

/// The whole set as IAM JSON: one document; a JSON array of documents when it was split; with
/// `--group-by`, an object from principal to document (or array), calls without a principal
/// under the key `""`.
///
/// ```
/// use leastpriv::{build_policies, render_json, Call, Observed, PolicyOptions, Rules};
/// let mut seen = Observed::new();
/// let call = Call::new("sqs", "ListQueues", serde_json::json!({}));
/// seen.add(&leastpriv::derive(&Rules::builtin(), &call), None, true, &call.source);
/// let json = render_json(&build_policies(&seen, &PolicyOptions::default()).unwrap(), false);
/// assert!(json.contains("\"sqs:ListQueues\""));
/// assert!(json.ends_with("}\n"));
/// ```
pub fn render_json(set: &PolicySet, group_by: bool) -> String {
    if group_by {
        // Keys are the principals themselves; calls that name none go under "" (a principal
        // is never empty).
        let map: BTreeMap<&str, serde_json::Value> = set
            .policies
            .iter()
            .map(|p| (p.principal.as_deref().unwrap_or(""), policy_value(p)))
            .collect();
        return pretty(&map);
    }
    match set.policies.as_slice() {
        [one] => pretty(&policy_value(one)),
        many => pretty(&many.iter().map(policy_value).collect::<Vec<_>>()),
    }
}

/// `leastpriv permissions` output: one JSON object per line.
pub fn render_permission_lines(lines: &[PermissionLine]) -> String {
    let mut out = String::new();
    for l in lines {
        out.push_str(&serde_json::to_string(l).unwrap_or_default());
        out.push('\n');
    }
    out
}
