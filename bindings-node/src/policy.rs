//! `Policy`: the documents built from a recorder, and their renderings.

use crate::arg::opt;
use leastpriv::{Counts, Evidence, PolicySet, TerraformOptions};
use napi::bindgen_prelude::Unknown;
use napi_derive::napi;

/// One statement of an IAM policy document.
#[napi(object)]
#[derive(Debug)]
pub struct PolicyStatement {
    /// Alphanumeric, stable: the service prefix and a hash of the resources.
    #[napi(js_name = "Sid")]
    pub sid: String,
    /// Always `Allow`.
    #[napi(js_name = "Effect", ts_type = "'Allow'")]
    pub effect: String,
    /// The actions, sorted.
    #[napi(js_name = "Action")]
    pub action: Vec<String>,
    /// The resources, sorted (`*` in fields still unknown).
    #[napi(js_name = "Resource")]
    pub resource: Vec<String>,
    /// The condition block, if any.
    #[napi(
        js_name = "Condition",
        ts_type = "Record<string, Record<string, string[]>>"
    )]
    pub condition: Option<serde_json::Value>,
}

/// An IAM policy document, as `toJson()` writes it.
#[napi(object)]
#[derive(Debug)]
pub struct PolicyDocument {
    /// `2012-10-17`.
    #[napi(js_name = "Version")]
    pub version: String,
    /// The statements.
    #[napi(js_name = "Statement")]
    pub statement: Vec<PolicyStatement>,
}

/// A note about how calls were mapped, with how often and where first.
#[napi(object)]
#[derive(Debug)]
pub struct PolicyDiagnostic {
    /// `unmapped_operation`, `unknown_service`, `wildcard`, `broadened`, `permissionless`,
    /// `failed_only`, `gap`, `generated`, `dependent`, `oversize` or `quota`.
    #[napi(
        ts_type = "'unmapped_operation' | 'unknown_service' | 'wildcard' | 'broadened' | 'permissionless' | 'failed_only' | 'gap' | 'generated' | 'dependent' | 'oversize' | 'quota'"
    )]
    pub kind: String,
    /// The service (IAM prefix), empty for notes about the whole policy.
    pub service: String,
    /// The operation, empty for notes about the whole policy.
    pub operation: String,
    /// What happened and why.
    pub message: String,
    /// How many calls it concerned.
    pub count: f64,
    /// The first evidence: the smallest source (file or test name).
    pub source: String,
    /// The first evidence's line, or 0.
    pub line: f64,
    /// What would narrow a `broadened` resource (`member`, `resource_type`, `narrow_to`).
    pub hint: Option<std::collections::HashMap<String, String>>,
}

/// One named policy (with `groupBy`, one per principal).
#[napi(object)]
#[derive(Debug)]
pub struct NamedPolicy {
    /// The policy name (the principal with `groupBy`).
    pub name: String,
    /// The principal, with `groupBy`.
    pub principal: Option<String>,
    /// Its documents: more than one when it does not fit in one.
    pub documents: Vec<PolicyDocument>,
}

/// Options of `toTerraform()`.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct TerraformRenderOptions {
    /// The AWS provider's major version (default 6): 5 references
    /// `data.aws_region.current.name` instead of `.region`.
    pub provider_major: Option<u32>,
    /// Declare the `aws_partition`, `aws_region` and `aws_caller_identity` data sources the
    /// documents reference (default `true`).
    pub data_sources: Option<bool>,
}

/// The least-privilege policy built by `Recorder.policy()`.
#[napi]
#[derive(Debug)]
pub struct Policy {
    set: PolicySet,
    group_by: bool,
    counts: Counts,
    malformed_at: Vec<Evidence>,
}

impl Policy {
    pub(crate) fn new(
        set: PolicySet,
        group_by: bool,
        counts: Counts,
        malformed_at: Vec<Evidence>,
    ) -> Policy {
        Policy {
            set,
            group_by,
            counts,
            malformed_at,
        }
    }
}

fn document(d: &leastpriv::Document) -> PolicyDocument {
    PolicyDocument {
        version: "2012-10-17".into(),
        statement: d
            .statements
            .iter()
            .map(|s| {
                let mut resource: Vec<String> = s.resources.iter().map(|r| r.to_iam()).collect();
                resource.sort();
                resource.dedup();
                PolicyStatement {
                    sid: s.sid.clone(),
                    effect: "Allow".into(),
                    action: s.actions.clone(),
                    resource,
                    condition: s
                        .condition
                        .as_ref()
                        .and_then(|c| serde_json::to_value(c).ok()),
                }
            })
            .collect(),
    }
}

#[napi]
impl Policy {
    /// The policy as IAM JSON text: one document; a JSON array of documents when it was
    /// split; with `groupBy`, an object from principal to document (or array).
    #[napi]
    pub fn to_json(&self) -> String {
        leastpriv::render_json(&self.set, self.group_by)
    }

    /// The policy as Terraform: `data "aws_iam_policy_document"` blocks named after `name`
    /// (default: the policy's name; `NAME_2`, ... for further documents), with data-source
    /// references where the partition, region or account is unknown.
    #[napi]
    pub fn to_terraform(
        &self,
        env: napi::Env,
        #[napi(ts_arg_type = "string | undefined | null")] name: Option<Unknown<'_>>,
        #[napi(ts_arg_type = "TerraformRenderOptions | undefined | null")] options: Option<
            Unknown<'_>,
        >,
    ) -> napi::Result<String> {
        let name: Option<String> = opt(&env, name)?;
        let o: TerraformRenderOptions = opt(&env, options)?.unwrap_or_default();
        let mut tf = TerraformOptions::default();
        if let Some(p) = o.provider_major {
            tf.provider_major = p;
        }
        if let Some(d) = o.data_sources {
            tf.data_sources = d;
        }
        match name {
            Some(name) if !self.group_by => {
                let mut set = self.set.clone();
                for p in &mut set.policies {
                    p.name = name.clone();
                }
                Ok(leastpriv::render_terraform(&set, &tf))
            }
            _ => Ok(leastpriv::render_terraform(&self.set, &tf)),
        }
    }

    /// Every document of every policy, in order, as `toJson()` writes them.
    #[napi(getter)]
    pub fn documents(&self) -> Vec<PolicyDocument> {
        self.set
            .policies
            .iter()
            .flat_map(|p| p.documents.iter())
            .map(document)
            .collect()
    }

    /// The policies: one, or one per principal with `groupBy`.
    #[napi(getter)]
    pub fn policies(&self) -> Vec<NamedPolicy> {
        self.set
            .policies
            .iter()
            .map(|p| NamedPolicy {
                name: p.name.clone(),
                principal: p.principal.clone(),
                documents: p.documents.iter().map(document).collect(),
            })
            .collect()
    }

    /// Everything worth telling: operations without a rule, resources that fell back to `*`,
    /// permissions seen only on failed calls, unknown regions or accounts.
    #[napi(getter)]
    pub fn diagnostics(&self) -> Vec<PolicyDiagnostic> {
        self.set
            .diagnostics
            .iter()
            .map(|(d, s)| PolicyDiagnostic {
                kind: d.kind.name().to_owned(),
                service: d.service.clone(),
                operation: d.operation.clone(),
                message: d.message.clone(),
                count: (s.ok + s.failed) as f64,
                source: s.first.source.to_string(),
                line: s.first.line as f64,
                hint: d
                    .hint
                    .as_ref()
                    .map(|h| h.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            })
            .collect()
    }

    /// The diagnostics as the CLI's text report.
    #[napi]
    pub fn report(&self) -> String {
        leastpriv::render_report_text(&self.set, &self.counts, &self.malformed_at)
    }
}
