//! What a run comes to, in one form for the CLI and every binding: [`PolicyResult`] (the
//! policies, the notes, the counts) and [`EvidenceLine`] (each permission with where it was first
//! needed). Their JSON form ([`PolicyResult::to_value`], `serde` for [`EvidenceLine`]) is what the
//! bindings hand out, unchanged.

use crate::derive::{ConditionBlock, Diagnostic};
use crate::error::{Error, ErrorKind, Result};
use crate::observed::{Counts, Evidence, Observed, Stats};
use crate::options::check_policy_name;
use crate::policy::{PolicyOptions, PolicySet, build_policies};
use crate::render::{
    TerraformOptions, document_value, render_json, render_report_json, render_report_text,
    render_terraform,
};
use crate::rewrite::Target;
use serde::Serialize;
use serde_json::{Value, json};

/// A policy run's result.
///
/// ```
/// use leastpriv::{Call, Pipeline, PolicyOptions, PolicyResult, ReadOptions, Rules};
/// let mut p = Pipeline::new(Rules::builtin(), ReadOptions::default());
/// p.record(&Call::new("sqs", "ListQueues", serde_json::json!({})));
/// let result = PolicyResult::build(p.observed(), &PolicyOptions::default()).unwrap();
/// let v = result.to_value();
/// assert_eq!(v["policies"][0]["documents"][0]["Statement"][0]["Action"][0], "sqs:ListQueues");
/// assert_eq!(v["counts"]["calls"], 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyResult {
    /// The policies and diagnostics, with literal names.
    pub set: PolicySet,
    /// The policies for Terraform, when rewrite rules write Terraform expressions.
    pub terraform_set: Option<PolicySet>,
    /// Why there are no literal names (a rewrite template needs an environment that was not
    /// chosen), when only the Terraform policies could be built; `set` is then those.
    pub json_error: Option<Error>,
    /// One policy per principal.
    pub group_by: bool,
    /// Event counts of the run.
    pub counts: Counts,
    /// Where malformed events were skipped (the first 100).
    pub malformed_at: Vec<Evidence>,
}

/// The core's JSON form of a diagnostic and its stats: `kind`, `service`, `operation`,
/// `message`, `action` and `hint` when there are, `count`, `ok`, `failed` and the `first`
/// evidence (`source`, `line`).
pub fn diagnostic_value(d: &Diagnostic, s: &Stats) -> Value {
    let mut v = json!({
        "kind": d.kind.name(),
        "service": d.service,
        "operation": d.operation,
        "message": d.message,
        "count": s.ok + s.failed,
        "ok": s.ok,
        "failed": s.failed,
        "first": {"source": s.first.source, "line": s.first.line},
    });
    if let Some(a) = &d.action {
        v["action"] = json!(a);
    }
    if let Some(h) = &d.hint {
        v["hint"] = json!(h);
    }
    v
}

impl PolicyResult {
    /// Builds the policies from what was seen: with literal names, and for Terraform too when
    /// a rewrite rule writes a Terraform expression. Fails as [`build_policies`] does.
    pub fn build(observed: &Observed, opts: &PolicyOptions) -> Result<PolicyResult> {
        let terraform_set = if opts.rewrite.iter().any(|r| r.terraform.is_some()) {
            let tf = PolicyOptions {
                target: Target::Terraform,
                ..opts.clone()
            };
            Some(build_policies(observed, &tf)?)
        } else {
            None
        };
        let json = PolicyOptions {
            target: Target::Json,
            ..opts.clone()
        };
        let (set, json_error) = match (build_policies(observed, &json), &terraform_set) {
            (Ok(set), _) => (set, None),
            (Err(e), Some(tf)) => (tf.clone(), Some(e)),
            (Err(e), None) => return Err(e),
        };
        Ok(PolicyResult {
            set,
            json_error,
            terraform_set,
            group_by: opts.group_by,
            counts: observed.counts(),
            malformed_at: observed.malformed_at().cloned().collect(),
        })
    }

    /// The IAM JSON: one document; a JSON array when it was split; with `group_by`, an object
    /// from principal to document (or array).
    ///
    /// # Errors
    ///
    /// When the literal names could not be written ([`PolicyResult::json_error`]).
    pub fn to_json(&self) -> Result<String> {
        match &self.json_error {
            Some(e) => Err(e.clone()),
            None => Ok(render_json(&self.set, self.group_by)),
        }
    }

    /// Terraform `aws_iam_policy_document` data sources; `name` renames the document blocks
    /// (not with `group_by`, where they are named after the principals). The provider's major
    /// version must be 4 or later, and a name one [`crate::check_policy_name`] accepts.
    pub fn to_terraform(&self, name: Option<&str>, opts: &TerraformOptions) -> Result<String> {
        if opts.provider_major < 4 {
            return Err(Error::new(
                ErrorKind::Usage,
                "`provider` must be the AWS provider's major version (4 or later)",
            )
            .with_field("provider"));
        }
        let base = self.terraform_set.as_ref().unwrap_or(&self.set);
        match name {
            Some(n) if !self.group_by => {
                check_policy_name(n)?;
                let mut set = base.clone();
                for p in &mut set.policies {
                    n.clone_into(&mut p.name);
                }
                Ok(render_terraform(&set, opts))
            }
            Some(n) => {
                check_policy_name(n)?;
                Ok(render_terraform(base, opts))
            }
            None => Ok(render_terraform(base, opts)),
        }
    }

    /// The human-readable report (counts, then the diagnostics).
    pub fn report_text(&self) -> String {
        render_report_text(&self.set, &self.counts, &self.malformed_at)
    }

    /// The report as JSON (what `--report FILE` writes).
    pub fn report_json(&self) -> String {
        render_report_json(&self.set, &self.counts, &self.malformed_at)
    }

    /// Number of statements over all documents.
    pub fn statement_count(&self) -> usize {
        self.set.statements().count()
    }

    /// The result in its JSON form, as every binding hands it out: `policies` (each with
    /// `name`, `principal` and its IAM `documents`), `diagnostics` (see [`diagnostic_value`]),
    /// `counts`, `malformed_at`, and the `statements` and `documents` counts.
    pub fn to_value(&self) -> Value {
        let policies: Vec<Value> = self
            .set
            .policies
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "principal": p.principal,
                    "documents": p.documents.iter().map(document_value).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "policies": policies,
            "diagnostics": self.set.diagnostics.iter().map(|(d, s)| diagnostic_value(d, s)).collect::<Vec<_>>(),
            "counts": self.counts,
            "malformed_at": self.malformed_at,
            "statements": self.statement_count(),
            "documents": self.set.policies.iter().map(|p| p.documents.len()).sum::<usize>(),
        })
    }
}

/// A permission with where it was first needed, as a binding's `evidence()` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceLine {
    /// The action.
    pub action: String,
    /// The resource, resolved as in the policy (with `*` in unknown fields).
    pub resource: String,
    /// The condition, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<ConditionBlock>,
    /// The principal, if the calls named one.
    pub principal: Option<String>,
    /// Calls that succeeded.
    pub ok: u64,
    /// Calls that failed.
    pub failed: u64,
    /// Where it was first needed.
    pub first: Evidence,
}

/// Every permission seen that the options keep, with its evidence, sorted by action, resource,
/// condition and principal.
///
/// ```
/// use leastpriv::{evidence_lines, Call, Pipeline, PolicyOptions, ReadOptions, Rules, Source};
/// let mut p = Pipeline::new(Rules::builtin(), ReadOptions::default());
/// let mut call = Call::new("sqs", "ListQueues", serde_json::json!({}));
/// call.source = Source::label("test_queues");
/// p.record(&call);
/// let lines = evidence_lines(p.observed(), &PolicyOptions::default());
/// assert_eq!(&*lines[0].first.source, "test_queues");
/// ```
pub fn evidence_lines(observed: &Observed, opts: &PolicyOptions) -> Vec<EvidenceLine> {
    let mut out: Vec<EvidenceLine> = observed
        .permissions_unordered()
        .filter(|p| opts.included(p.action, &p.stats))
        .map(|p| EvidenceLine {
            action: p.action.to_owned(),
            resource: opts.resolve(&p.resource).to_iam(),
            condition: p.condition.cloned(),
            principal: p.principal.map(str::to_owned),
            ok: p.stats.ok,
            failed: p.stats.failed,
            first: p.stats.first,
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.action, &a.resource, &a.condition, &a.principal, &a.first).cmp(&(
            &b.action,
            &b.resource,
            &b.condition,
            &b.principal,
            &b.first,
        ))
    });
    out
}
