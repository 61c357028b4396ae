//! `check` round trips: the policy the generator writes for the sample events allows all they
//! need and nothing more; without any one of its actions, exactly the permissions with that
//! action are missing.

use leastpriv::{
    Declared, FindingKind, Observed, PolicyOptions, ReadOptions, Rules, build_policies, check,
    permission_lines, read_path_into, render_json,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn sample() -> Observed {
    let mut seen = Observed::new();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/examples/orders.edn");
    let path = path.to_str().expect("a UTF-8 path");
    read_path_into(&Rules::builtin(), &mut seen, path, &ReadOptions::default()).expect("read");
    seen
}

fn opts() -> PolicyOptions {
    PolicyOptions {
        region: Some("eu-west-1".into()),
        account: Some("123456789012".into()),
        ..PolicyOptions::default()
    }
}

/// The (action, resource) of every `missing` finding.
fn missing_pairs(r: &leastpriv::CheckResult) -> BTreeSet<(String, String)> {
    r.findings
        .iter()
        .filter(|f| f.kind == FindingKind::Missing)
        .map(|f| {
            (
                f.action.clone().unwrap_or_default(),
                f.resource.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// The (action, resource) of every permission line with `action`.
fn pairs_with(lines: &[leastpriv::PermissionLine], action: &str) -> BTreeSet<(String, String)> {
    lines
        .iter()
        .filter(|l| l.action == action)
        .map(|l| (l.action.clone(), l.resource.clone()))
        .collect()
}

fn declared(text: &str) -> Declared {
    let mut d = Declared::default();
    d.add_json(&PathBuf::from("policy.json"), text)
        .expect("declared policy");
    d
}

#[test]
fn the_generated_policy_checks_clean() {
    let seen = sample();
    let json = render_json(&build_policies(&seen, &opts()).expect("build"), false);
    let r = check(&declared(&json), &seen, &opts()).expect("check");
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert!(r.permissions > 20);
}

#[test]
fn removing_any_one_action_makes_exactly_its_permissions_missing() {
    let seen = sample();
    let json = render_json(&build_policies(&seen, &opts()).expect("build"), false);
    let doc: serde_json::Value = serde_json::from_str(&json).expect("json");
    let actions: BTreeSet<String> = doc["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect();
    assert!(actions.len() > 15);
    let lines = permission_lines(&seen, &opts());
    for action in &actions {
        let mut cut = doc.clone();
        let sts = cut["Statement"].as_array_mut().expect("statements");
        for s in sts.iter_mut() {
            let a = s["Action"].as_array_mut().expect("actions");
            a.retain(|x| x != action);
        }
        sts.retain(|s| !s["Action"].as_array().is_some_and(Vec::is_empty));
        let r = check(&declared(&cut.to_string()), &seen, &opts()).expect("check");
        let missing = missing_pairs(&r);
        let want = pairs_with(&lines, action);
        assert_eq!(missing, want, "without {action}");
        assert_eq!(
            r.count(FindingKind::Unused),
            0,
            "without {action}: {:#?}",
            r.findings
        );
    }
}

#[test]
fn unused_broad_and_denied_point_at_the_statement() {
    let seen = sample();
    let text = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Sid": "Never", "Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"},
    {"Sid": "NoPut", "Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::acme-order-documents/*"}
  ]
}"#;
    let r = check(&declared(text), &seen, &opts()).expect("check");
    let missing: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Missing)
        .collect();
    assert!(!missing.is_empty());
    for f in &missing {
        assert_eq!(f.action.as_deref(), Some("s3:PutObject"));
        let s = f.statement.as_ref().expect("the denying statement");
        assert_eq!((s.line, s.sid.as_deref()), (Some(6), Some("NoPut")));
        assert!(f.evidence.as_ref().is_some_and(|e| e.line > 0));
    }
    let unused: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Unused)
        .collect();
    assert_eq!(unused.len(), 1);
    assert_eq!(unused[0].statement.as_ref().and_then(|s| s.line), Some(5));
    assert!(r.count(FindingKind::Broad) >= 2, "{:#?}", r.findings);
}

#[test]
fn bad_policies_are_errors_with_their_place() {
    let mut d = Declared::default();
    let e = d
        .add_json(
            &PathBuf::from("p.json"),
            "{\n \"Statement\": [\n  {\"Effect\": \"Permit\", \"Action\": \"s3:*\", \"Resource\": \"*\"}\n ]\n}",
        )
        .expect_err("unknown Effect");
    assert_eq!(
        (e.kind().name(), e.line(), e.field()),
        ("invalid_policy", Some(3), Some("Effect"))
    );
    let e = d
        .add_json(&PathBuf::from("p.json"), "{\"Statement\": [")
        .expect_err("not JSON");
    assert_eq!(e.kind().name(), "invalid_policy");
    assert_eq!(e.path(), Some("p.json"));
    let e = d
        .add_json(
            &PathBuf::from("p.json"),
            r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "bucket"}}"#,
        )
        .expect_err("not an ARN");
    assert_eq!(e.field(), Some("Resource"));
}

fn tf_ctx(account: Option<&str>) -> leastpriv::TfContext {
    leastpriv::TfContext {
        account: account.map(str::to_owned),
        region: Some("eu-west-1".into()),
        ..leastpriv::TfContext::default()
    }
}

#[test]
fn terraform_round_trip_with_the_same_account_and_region() {
    let seen = sample();
    // Without an account the documents reference data.aws_caller_identity: `check` resolves it
    // from the account given, as `policy` fills it.
    for policy_opts in [
        opts(),
        PolicyOptions {
            account: None,
            ..opts()
        },
    ] {
        let tf = leastpriv::render_terraform(
            &build_policies(&seen, &policy_opts).expect("build"),
            &leastpriv::TerraformOptions::default(),
        );
        let mut d = Declared::default();
        d.add_terraform(
            &PathBuf::from("iam/policy.tf"),
            &tf,
            &tf_ctx(Some("123456789012")),
        )
        .expect("terraform");
        assert!(d.unresolved.is_empty(), "{:?}", d.unresolved);
        let r = check(&d, &seen, &opts()).expect("check");
        assert!(r.findings.is_empty(), "{:#?}", r.findings);
        // Without one action line, exactly its permissions are missing.
        let lines = permission_lines(&seen, &opts());
        for action in ["s3:PutObject", "sqs:SendMessage", "kms:GenerateDataKey"] {
            let cut: String = tf
                .lines()
                .filter(|l| l.trim() != format!("\"{action}\","))
                .map(|l| format!("{l}\n"))
                .collect();
            let mut d = Declared::default();
            d.add_terraform(
                &PathBuf::from("iam/policy.tf"),
                &cut,
                &tf_ctx(Some("123456789012")),
            )
            .expect("terraform");
            let r = check(&d, &seen, &opts()).expect("check");
            let missing = missing_pairs(&r);
            let want = pairs_with(&lines, action);
            assert!(!want.is_empty());
            assert_eq!(missing, want, "without {action}");
        }
    }
}

#[test]
fn terraform_references_resolve_or_are_reported_with_their_line() {
    let seen = sample();
    let tf = r#"
variable "bucket" {
  type = string
}

data "aws_iam_policy_document" "app" {
  statement {
    sid       = "Docs"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["arn:aws:s3:::${var.bucket}/invoices/*"]
  }

  dynamic "statement" {
    for_each = var.extra
    content {
      actions   = statement.value.actions
      resources = ["*"]
    }
  }
}

resource "aws_iam_policy" "queue" {
  name = "queue"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["sqs:SendMessage"]
      Resource = aws_sqs_queue.events.arn
    }]
  })
}
"#;
    let mut ctx = tf_ctx(Some("123456789012"));
    let mut d = Declared::default();
    d.add_terraform(&PathBuf::from("main.tf"), tf, &ctx)
        .expect("terraform");
    let refs: Vec<(u64, &str)> = d
        .unresolved
        .iter()
        .map(|u| (u.line, u.reference.as_str()))
        .collect();
    assert_eq!(
        refs,
        [
            (10, "var.bucket"),
            (
                13,
                "a dynamic \"statement\" block (its for_each is not literal)"
            ),
            (29, "aws_sqs_queue.events.arn")
        ]
    );
    let r = check(&d, &seen, &opts()).expect("check");
    let put = r
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Missing && f.action.as_deref() == Some("s3:PutObject"))
        .expect("the S3 writes are missing: their resource did not resolve");
    assert!(put.message.contains("unresolved"), "{}", put.message);
    ctx.vars
        .insert("bucket".into(), "acme-order-documents".into());
    ctx.vars.insert(
        "aws_sqs_queue.events.arn".into(),
        "arn:aws:sqs:eu-west-1:123456789012:order-events".into(),
    );
    let mut d = Declared::default();
    d.add_terraform(&PathBuf::from("main.tf"), tf, &ctx)
        .expect("terraform");
    assert_eq!(d.unresolved.len(), 1);
    let r = check(&d, &seen, &opts()).expect("check");
    assert!(
        !r.findings.iter().any(|f| f.kind == FindingKind::Missing
            && matches!(
                f.action.as_deref(),
                Some("s3:PutObject" | "sqs:SendMessage")
            )
            && f.resource
                .as_deref()
                .is_some_and(|x| x.contains("invoices") || x.ends_with("order-events"))),
        "{:#?}",
        r.findings
    );
    let statement_lines: Vec<Option<u64>> = d.statements.iter().map(|s| s.place.line).collect();
    assert_eq!(statement_lines, [Some(7), Some(24)]);
}

#[test]
fn terraform_mistakes_are_errors_with_their_place() {
    let mut d = Declared::default();
    let e = d
        .add_terraform(
            &PathBuf::from("bad.tf"),
            "data \"aws_iam_policy_document\" \"x\" {\n  statement {\n",
            &tf_ctx(None),
        )
        .expect_err("not HCL");
    assert_eq!(
        (e.kind().name(), e.path()),
        ("invalid_policy", Some("bad.tf"))
    );
    let e = d
        .add_terraform(
            &PathBuf::from("bad.tf"),
            "data \"aws_iam_policy_document\" \"x\" {\n  statement {\n    effect = \"Permit\"\n    actions = [\"s3:*\"]\n    resources = [\"*\"]\n  }\n}\n",
            &tf_ctx(None),
        )
        .expect_err("unknown effect");
    assert_eq!((e.line(), e.field()), (Some(2), Some("Effect")));
}

#[test]
fn a_dynamic_statement_with_a_literal_for_each_is_expanded() {
    let seen = sample();
    let tf = r#"
locals {
  queue = "order-events"
}

data "aws_iam_policy_document" "app" {
  dynamic "statement" {
    for_each = [
      { actions = ["sqs:SendMessage", "sqs:GetQueueUrl"], queue = "order-events" },
      { actions = ["sqs:ReceiveMessage", "sqs:DeleteMessage"], queue = "order-events-dlq" },
    ]
    content {
      actions   = statement.value.actions
      resources = ["arn:aws:sqs:eu-west-1:123456789012:${statement.value.queue}"]
    }
  }
}
"#;
    let mut d = Declared::default();
    d.add_terraform(&PathBuf::from("main.tf"), tf, &tf_ctx(Some("123456789012")))
        .expect("terraform");
    assert!(d.unresolved.is_empty(), "{:?}", d.unresolved);
    assert_eq!(d.statements.len(), 2);
    assert_eq!(
        d.statements[1].resources.0,
        ["arn:aws:sqs:eu-west-1:123456789012:order-events-dlq"]
    );
    let r = check(&d, &seen, &opts()).expect("check");
    let missing = |action: &str, queue: &str| {
        r.findings.iter().any(|f| {
            f.kind == FindingKind::Missing
                && f.action.as_deref() == Some(action)
                && f.resource
                    .as_deref()
                    .is_some_and(|x| x.ends_with(&format!(":{queue}")))
        })
    };
    // Each element's actions on its own queue: allowed; the other combinations are not.
    assert!(!missing("sqs:SendMessage", "order-events"));
    assert!(missing("sqs:SendMessage", "order-events-dlq"));
    assert!(missing("sqs:ReceiveMessage", "order-events"));
}

#[test]
fn override_documents_replace_statements_of_the_same_sid() {
    let seen = sample();
    let tf = r#"
data "aws_iam_policy_document" "base" {
  statement {
    sid       = "Queue"
    actions   = ["sqs:*"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "narrow" {
  statement {
    sid       = "Queue"
    actions   = ["sqs:SendMessage"]
    resources = ["arn:aws:sqs:eu-west-1:123456789012:order-events-dlq"]
  }
}

data "aws_iam_policy_document" "app" {
  source_policy_documents   = [data.aws_iam_policy_document.base.json]
  override_policy_documents = [data.aws_iam_policy_document.narrow.json]
}
"#;
    let mut d = Declared::default();
    d.add_terraform(&PathBuf::from("main.tf"), tf, &tf_ctx(Some("123456789012")))
        .expect("terraform");
    assert!(d.unresolved.is_empty(), "{:?}", d.unresolved);
    // Only `app` is a policy, and its `Queue` statement is the override's.
    assert_eq!(d.statements.len(), 1);
    assert_eq!(d.statements[0].actions.0, ["sqs:SendMessage"]);
    let r = check(&d, &seen, &opts()).expect("check");
    assert!(r.findings.iter().any(
        |f| f.kind == FindingKind::Missing && f.action.as_deref() == Some("sqs:ReceiveMessage")
    ));
}

#[test]
fn permissions_with_an_unknown_account_are_counted_and_named_in_the_report() {
    let seen = sample();
    let json = render_json(&build_policies(&seen, &opts()).expect("build"), false);
    let without_account = PolicyOptions {
        account: None,
        ..opts()
    };
    let r = check(&declared(&json), &seen, &without_account).expect("check");
    assert!(r.gaps > 0);
    assert!(r.count(FindingKind::Missing) > 0);
    assert!(leastpriv::render_check_text(&r).contains("give --account, --region or --partition"));
    assert_eq!(
        check(&declared(&json), &seen, &opts()).expect("check").gaps,
        0
    );
}

/// Calls read from JSON lines.
fn calls(lines: &[serde_json::Value]) -> Observed {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let mut p = leastpriv::Pipeline::new(Rules::builtin(), ReadOptions::default());
    p.read(text.as_bytes(), "calls.jsonl").expect("read");
    p.into_observed()
}

fn listing(prefix: Option<&str>, region: &str) -> serde_json::Value {
    let mut params = serde_json::json!({"Bucket": "reports"});
    if let Some(p) = prefix {
        params["Prefix"] = p.into();
    }
    serde_json::json!({"service": "s3", "operation": "ListObjectsV2", "params": params,
                       "region": region, "account": "123456789012"})
}

const PREFIX_POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::reports",
   "Condition": {"StringLike": {"s3:prefix": "home/*"}}}]}"#;

#[test]
fn a_condition_on_s3_prefix_is_judged_with_each_calls_prefix() {
    let o = opts();
    // Every listing under home/: allowed, the statement used.
    let seen = calls(&[
        listing(Some("home/alice/"), "eu-west-1"),
        listing(Some("home/bob/"), "eu-west-1"),
    ]);
    let r = check(&declared(PREFIX_POLICY), &seen, &o).expect("check");
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    // One listing without a prefix: s3:prefix is absent from that request, so IAM denies it.
    let seen = calls(&[
        listing(Some("home/alice/"), "eu-west-1"),
        listing(None, "eu-west-1"),
    ]);
    let r = check(&declared(PREFIX_POLICY), &seen, &o).expect("check");
    let missing: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Missing)
        .collect();
    assert_eq!(missing.len(), 1, "{:#?}", r.findings);
    assert!(
        missing[0].message.contains("s3:prefix absent"),
        "{}",
        missing[0].message
    );
    // The statement allowed the other listing: it is not unused.
    assert_eq!(r.count(FindingKind::Unused), 0, "{:#?}", r.findings);
    // A prefix outside home/: denied too.
    let seen = calls(&[listing(Some("tmp/"), "eu-west-1")]);
    let r = check(&declared(PREFIX_POLICY), &seen, &o).expect("check");
    assert_eq!(r.count(FindingKind::Missing), 1, "{:#?}", r.findings);
}

#[test]
fn a_condition_on_the_requested_region_uses_the_calls_region_after_map_region() {
    let policy = r#"{"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*",
       "Condition": {"StringEquals": {"aws:RequestedRegion": ["eu-west-1"]}}}]}"#;
    let call = serde_json::json!({"service": "sqs", "operation": "SendMessage",
        "params": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q", "MessageBody": "x"},
        "region": "us-east-1", "account": "123456789012"});
    let seen = calls(std::slice::from_ref(&call));
    let r = check(&declared(policy), &seen, &opts()).expect("check");
    assert_eq!(r.count(FindingKind::Missing), 1, "{:#?}", r.findings);
    let mapped = PolicyOptions {
        map_region: vec![("us-east-1".into(), "eu-west-1".into())],
        ..opts()
    };
    let r = check(&declared(policy), &seen, &mapped).expect("check");
    assert_eq!(r.count(FindingKind::Missing), 0, "{:#?}", r.findings);
    assert_eq!(r.count(FindingKind::Undecidable), 0, "{:#?}", r.findings);
    // A call without a Region: the key is not told, unless --region gives it.
    let mut no_region = call.clone();
    no_region.as_object_mut().expect("object").remove("region");
    let seen = calls(&[no_region]);
    let unknown = PolicyOptions {
        region: None,
        ..opts()
    };
    let r = check(&declared(policy), &seen, &unknown).expect("check");
    assert_eq!(r.count(FindingKind::Undecidable), 1, "{:#?}", r.findings);
    let r = check(&declared(policy), &seen, &opts()).expect("check");
    assert!(
        r.findings
            .iter()
            .all(|f| f.kind != FindingKind::Undecidable && f.kind != FindingKind::Missing),
        "{:#?}",
        r.findings
    );
}

#[test]
fn request_contexts_survive_state_files_and_merges() {
    let a = calls(&[listing(Some("home/alice/"), "eu-west-1")]);
    let b = calls(&[listing(None, "eu-west-1")]);
    let mut merged = Observed::from_bytes(&a.to_bytes()).expect("state");
    merged.merge(&Observed::from_bytes(&b.to_bytes()).expect("state"));
    let both = calls(&[
        listing(Some("home/alice/"), "eu-west-1"),
        listing(None, "eu-west-1"),
    ]);
    assert_eq!(merged.to_bytes(), both.to_bytes());
    let r = check(&declared(PREFIX_POLICY), &merged, &opts()).expect("check");
    assert_eq!(r.count(FindingKind::Missing), 1, "{:#?}", r.findings);
}

#[test]
fn more_request_contexts_than_are_kept_leave_a_condition_undecidable() {
    let many: Vec<_> = (0..40)
        .map(|i| listing(Some(&format!("home/u{i}/")), "eu-west-1"))
        .collect();
    let seen = calls(&many);
    let state = String::from_utf8(seen.to_bytes()).expect("utf-8");
    assert!(state.contains("\"contexts_complete\":false"), "{state}");
    let r = check(&declared(PREFIX_POLICY), &seen, &opts()).expect("check");
    assert_eq!(r.count(FindingKind::Undecidable), 1, "{:#?}", r.findings);
    // Each kept context was allowed; the ones not kept are not guessed.
    assert_eq!(r.count(FindingKind::Missing), 0, "{:#?}", r.findings);
    // Without a condition on the keys, the answer does not depend on them.
    let plain = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::reports"}]}"#;
    let r = check(&declared(plain), &seen, &opts()).expect("check");
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}
