//! What the engine says of a call: the permissions it needs ([`Permission`]), the notes on how
//! they were found ([`Diagnostic`]) and what the request tells of IAM's request context; the
//! types [`crate::Observed`] accumulates, apart from the engine that makes them.

use crate::arn::{Resource, SegRef};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An IAM condition block: operator → key → values.
pub type ConditionBlock = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// One permission a call needs: an action on a resource, maybe under a condition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Permission {
    /// The IAM action, `s3:GetObject`.
    pub action: String,
    /// The resource.
    pub resource: Resource,
    /// The condition, if the permission is only needed under one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<ConditionBlock>,
}

/// Checks an action's form: `prefix:Name` (the prefix lower-case letters, digits and `-`, the
/// name letters and digits).
///
/// ```
/// assert!(leastpriv::check_action("s3:GetObject").is_ok());
/// for bad in ["*", ":", "s3:", ":GetObject", "s3:Get*", "S3:GetObject"] {
///     assert!(leastpriv::check_action(bad).is_err(), "{bad}");
/// }
/// ```
pub fn check_action(action: &str) -> crate::error::Result<()> {
    let ok = action.split_once(':').is_some_and(|(p, n)| {
        !p.is_empty()
            && !n.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && n.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    if ok {
        Ok(())
    } else {
        Err(crate::error::Error::new(
            crate::error::ErrorKind::InvalidEvent,
            "an action must be `prefix:Name` (letters, digits and `-` in the prefix)",
        )
        .with_field("action"))
    }
}

impl Permission {
    /// Checks a permission that did not come from the engine (a serialized state): a valid
    /// action; a resource that is `*` or an ARN whose rule-made parts hold no policy variable
    /// (`${...}`) and whose partition, region and account fields hold no `:`; condition
    /// operators and keys of IAM's form and values without policy variables (only the escapes
    /// `${$}`, `${*}`, `${?}`). Text taken from requests is literal and may hold any character:
    /// every renderer escapes it.
    pub fn validate(&self) -> crate::error::Result<()> {
        use crate::error::{Error, ErrorKind};
        let bad = |field: &str, why: &str| {
            Err(Error::new(ErrorKind::InvalidEvent, why.to_owned()).with_field(field))
        };
        check_action(&self.action)?;
        let no_variables = |s: &str| {
            let mut rest = s;
            while let Some(i) = rest.find("${") {
                let after = &rest[i..];
                if !(after.starts_with("${$}")
                    || after.starts_with("${*}")
                    || after.starts_with("${?}"))
                {
                    return false;
                }
                rest = &after[4..];
            }
            true
        };
        if !self.resource.is_star() {
            for seg in self.resource.segs() {
                match seg {
                    SegRef::Pattern(p) => {
                        if p.contains(['$', '{', '}']) || p.chars().any(char::is_control) {
                            return bad(
                                "resource",
                                "a pattern part of a resource holds `$`, `{`, `}` or a control character",
                            );
                        }
                    }
                    // Request text is literal, escaped by every renderer (JSON, HCL, the text
                    // report), whatever characters it holds.
                    SegRef::Text(_) => {}
                    // A field taken from an ARN in a request can be `aws` (AWS managed
                    // resources) or whatever the ARN held there; it is literal too, so it only
                    // must not hold a `:`.
                    SegRef::Field(_, Some(v)) if v.contains(':') => {
                        return bad("resource", "a partition, region or account holds a `:`");
                    }
                    SegRef::Field(..) => {}
                    // Rewrite rules add expressions after derivation; a permission has none.
                    SegRef::Expr(..) => {
                        return bad("resource", "a permission's resource holds no expression");
                    }
                }
            }
            let text = self.resource.to_iam();
            if !text.starts_with("arn:") || text.matches(':').count() < 5 {
                return bad("resource", "a resource must be `*` or an ARN");
            }
        }
        for (op, keys) in self.condition.iter().flatten() {
            let base = op.strip_suffix("IfExists").unwrap_or(op);
            let base = base
                .strip_prefix("ForAllValues:")
                .or_else(|| base.strip_prefix("ForAnyValue:"))
                .unwrap_or(base);
            if base.is_empty() || !base.bytes().all(|b| b.is_ascii_alphabetic()) {
                return bad("condition", "not an IAM condition operator");
            }
            for (key, values) in keys {
                if !crate::spec::is_condition_key(key) {
                    return bad("condition", "not an IAM condition key");
                }
                if !values.iter().all(|v| no_variables(v)) {
                    return bad("condition", "a condition value holds a policy variable");
                }
            }
        }
        Ok(())
    }
}

/// What kind of note the engine or the policy builder made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// The service name is not known; it was used as its own IAM prefix.
    UnknownService,
    /// The operation has no rule; `prefix:Operation` on `*` was used.
    UnmappedOperation,
    /// A resource could not be determined in full; `*` was used in its place.
    Wildcard,
    /// A rule widened the resource on purpose (a KMS alias authorizes `key/*` under a
    /// condition, a call that names no resource); the message says why.
    Broadened,
    /// The operation needs no IAM permission; nothing was emitted.
    Permissionless,
    /// A permission was seen only on calls that failed.
    FailedOnly,
    /// A partition, region or account was unknown and written as `*`.
    Gap,
    /// The operation has no curated rule; it was mapped by the generated catalog (the IAM
    /// action of the same name, or a group rule), which is not a reviewed rule.
    Generated,
    /// The operation's action has dependent actions (Service Authorization Reference) that
    /// the request cannot tell whether it needs; they were not granted, and the message names
    /// them.
    Dependent,
    /// A policy document is over IAM's size limit (a single permission too large to split):
    /// IAM will reject it.
    Oversize,
    /// A policy needs more managed policies than IAM attaches to one role or user by default.
    Quota,
    /// A resource name looks made for a test run (a hex run, a UUID, an epoch timestamp, a
    /// pytest-xdist worker id) and no rewrite rule maps it; the hint suggests one.
    RandomName,
    /// A rewrite rule matched no resource.
    StaleRewrite,
    /// The call was refused (its error code is an authorization failure): what the principal
    /// tried and was not allowed. Its permissions are still listed.
    Denied,
    /// A CloudTrail input holds management events that imply data access (S3 objects,
    /// DynamoDB items, Lambda invocations) and no data events: those permissions cannot be
    /// seen in it.
    NoDataEvents,
}

impl DiagnosticKind {
    /// The stable name (`unmapped_operation`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DiagnosticKind::UnknownService => "unknown_service",
            DiagnosticKind::UnmappedOperation => "unmapped_operation",
            DiagnosticKind::Wildcard => "wildcard",
            DiagnosticKind::Broadened => "broadened",
            DiagnosticKind::Permissionless => "permissionless",
            DiagnosticKind::FailedOnly => "failed_only",
            DiagnosticKind::Gap => "gap",
            DiagnosticKind::Generated => "generated",
            DiagnosticKind::Dependent => "dependent",
            DiagnosticKind::Oversize => "oversize",
            DiagnosticKind::Quota => "quota",
            DiagnosticKind::RandomName => "random_name",
            DiagnosticKind::StaleRewrite => "stale_rewrite",
            DiagnosticKind::Denied => "denied",
            DiagnosticKind::NoDataEvents => "no_data_events",
        }
    }
}

/// A note about how a call was mapped. Never contains payload values.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Diagnostic {
    /// What kind of note.
    pub kind: DiagnosticKind,
    /// The service (IAM prefix, or the name as given when unknown).
    pub service: String,
    /// The operation.
    pub operation: String,
    /// What happened and why.
    pub message: String,
    /// The action the note is about, when there is one (so filters on actions apply to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// What would narrow a `broadened` resource, as the rule states it (`member`: the request
    /// member involved, `resource_type`, `narrow_to`: what to name instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<BTreeMap<String, String>>,
}

/// What a request tells of IAM's request context, for `check` to evaluate conditions with:
/// condition key → its value, `None` when the request leaves the key out. Keys the request
/// does not tell are not in it (a condition on them is undecidable).
pub type RequestContext = BTreeMap<String, Option<String>>;

/// What the engine made of one call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Derived {
    /// The permissions the call needs.
    pub permissions: Vec<Permission>,
    /// Notes on how they were found.
    pub diagnostics: Vec<Diagnostic>,
    /// What the request tells of the request context: `aws:RequestedRegion` from the call's
    /// Region, and the keys the operation's rules name (`s3:prefix` of a listing).
    pub context: RequestContext,
}
