//! # leastpriv
//!
//! Turns what a program *actually did* against AWS into the least-privilege IAM policy it needs.
//!
//! Events flow one way: a reader turns bytes into [`Call`]s, the engine ([`derive`]) applies the
//! rules of `spec/` to each call and yields [`Permission`]s, [`Observed`] accumulates them
//! (mergeable across processes), [`build_policies`] groups them into statements, and the
//! renderers write IAM JSON ([`render_json`]) or Terraform ([`render_terraform`]).
//!
//! # Example
//!
//! ```
//! use leastpriv::{build_policies, read_into, render_json, Observed, PolicyOptions, ReadOptions, Rules};
//!
//! let events = concat!(
//!     "{:mulog/event-name :aws/request, :mulog/outcome :ok, :api :s3, :operation :GetObject, ",
//!     ":request {:Bucket \"redefine-test\", :Key \"some-object.dat\"}}\n",
//!     "{:mulog/event-name :aws/request, :mulog/outcome :ok, :api :sqs, :operation :SendMessage, ",
//!     ":request {:QueueUrl \"https://sqs.eu-west-1.amazonaws.com/123456789012/orders\", :MessageBody \"...\"}}\n",
//! );
//! let rules = Rules::builtin();
//! let mut seen = Observed::new();
//! read_into(&rules, &mut seen, events.as_bytes(), "events.edn", &ReadOptions::default()).unwrap();
//!
//! let opts = PolicyOptions { region: Some("eu-west-1".into()), ..PolicyOptions::default() };
//! let json = render_json(&build_policies(&seen, &opts).unwrap(), false);
//! assert!(json.contains("\"arn:aws:s3:::redefine-test/some-object.dat\""));
//! assert!(json.contains("\"arn:aws:sqs:eu-west-1:123456789012:orders\""));
//! ```
//!
//! # Errors
//!
//! Every failure is an [`Error`] with a [`kind`](Error::kind) and, where it applies, the file,
//! line, column and field. Messages name fields, never payload values.

#![warn(missing_docs)]

mod arn;
mod call;
mod check;
mod config;
mod derive;
mod error;
mod evaluate;
pub mod glob;
mod observed;
mod options;
mod output;
mod permission;
mod pipeline;
mod policy;
mod read;
mod render;
mod result;
mod rewrite;
mod spec;
mod tfpolicy;
mod wire;

pub use arn::{
    Arn, ExprKind, Field, Resource, ResourceBuilder, Seg, SegRef, escape_iam, partition_of_region,
};
pub use call::{
    Call, CallParts, Outcome, Source, Value, check_account, check_partition, check_region,
};
pub use check::{
    CheckResult, Declared, Finding, FindingKind, StatementRef, TfContext, Unresolved, check,
    check_paths, check_value, render_check_github, render_check_sarif, render_check_text,
};
pub use config::{Config, ConfigKind, FAIL_ON, Layers, Settings, env_layer, resolve_settings};
pub use derive::{
    ConditionBlock, Derived, Diagnostic, DiagnosticKind, Permission, RequestContext, check_action,
    derive, derive_into,
};
pub use error::{Error, ErrorKind, Result};
pub use evaluate::{
    Condition, Context, Decision, Effect, Evaluation, Place, Request, Statement as PolicyStatement,
    evaluate, evaluate_json, parse_policy_document,
};
pub use observed::{Contexts, Counts, Evidence, Observed, Seen, Stats};
pub use options::{MAX_EVENT_SIZE_BOUNDS, MAX_SIZE_BOUNDS, RunOptions, check_policy_name};
pub use output::{StreamedFile, write_files};
pub use pipeline::{Pipeline, Progress};
pub use policy::{
    ATTACHED_POLICIES_QUOTA, Document, MANAGED_POLICY_LIMIT, OutcomeFilter, PermissionLine, Policy,
    PolicyOptions, PolicySet, S3Objects, Statement, build_policies, build_policies_on,
    document_size, parse_mapping, permission_lines, write_permission_lines,
    write_permission_lines_of, write_permission_lines_on,
};
pub use read::{
    CallReader, Format, ReadIter, ReadOptions, detect_format, open_input, read_into,
    read_path_into, read_str,
};
pub use render::{
    TerraformOptions, printable, render_document_json, render_json, render_malformed_text,
    render_permission_lines, render_report_json, render_report_text, render_terraform,
    render_variables,
};
pub use result::{EvidenceLine, PolicyResult, diagnostic_value, evidence_lines};
pub use rewrite::{
    RewriteRule, Target, TfExpr, check_terraform_reference, random_part, resource_type_of,
};
pub use spec::{
    CatalogInfo, NATIVE_DEPTH, NATIVE_NODES, NativeKind, NativeValue, Rules, RulesBuilder,
    Selection, native_to_value, normalize_service_name,
};
pub use wire::{Decoded, HttpRequest, decode, decode_http_json, parse_http};

/// The README's code blocks, compiled as doctests so they stay true.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
