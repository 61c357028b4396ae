//! Every botocore operation, called with values built from its input shape
//! (`spec/tools/sample_calls.py`: ids, names, ARNs, a role ARN in every role member, tags where a
//! tags member exists), through the engine with the built-in rules:
//!
//! - every result has a permission or a diagnostic saying why it has none;
//! - every emitted action exists in IAM (`spec/iam/actions.json`);
//! - every emitted ARN is well formed, holds no other ARN nested inside it, and fits one of its
//!   action's resource-type ARN formats (`spec/iam/resource_types.json`);
//! - the dependent actions of the examples below are granted.
//!
//! The sample calls are made from the pinned botocore wheel by `scripts/test-all.sh`, which sets
//! `LEASTPRIV_SAMPLE_CALLS`; without it the test says so and passes, unless
//! `LEASTPRIV_REQUIRE_WHEELS` is set (as CI's test command does), when it fails.

use leastpriv::{Call, Derived, Rules, derive};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

fn spec_file(name: &str) -> String {
    let path = format!("{}/../spec/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn iam_actions() -> BTreeSet<String> {
    let v: Value = serde_json::from_str(&spec_file("iam/actions.json")).expect("JSON");
    let mut out = BTreeSet::new();
    for (p, names) in v["actions"].as_object().expect("actions") {
        for n in names.as_array().expect("array") {
            out.insert(format!("{p}:{}", n.as_str().expect("str")));
        }
    }
    out
}

/// `prefix:Action` → its ARN formats as globs (`${X}` → `*`).
fn formats() -> BTreeMap<String, Vec<String>> {
    let v: Value = serde_json::from_str(&spec_file("iam/resource_types.json")).expect("JSON");
    let mut out = BTreeMap::new();
    for (prefix, actions) in v["actions"].as_object().expect("actions") {
        for (action, fs) in actions.as_object().expect("object") {
            let globs = fs
                .as_array()
                .expect("array")
                .iter()
                .map(|f| format_glob(f.as_str().expect("str")))
                .collect();
            out.insert(format!("{prefix}:{action}"), globs);
        }
    }
    out
}

fn format_glob(format: &str) -> String {
    let mut out = String::new();
    let mut rest = format;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        out.push('*');
        rest = rest[i..].find('}').map_or("", |j| &rest[i + j + 1..]);
    }
    out.push_str(rest);
    out
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

fn call(service: &str, operation: &str, params: Value) -> Call {
    let mut c = Call::new(service, operation, params);
    c.region = Some("eu-west-1".into());
    c.account = Some("123456789012".into());
    c
}

/// The reviewed exceptions of `spec/iam/format-exceptions.json`: (action, resource glob).
fn exceptions() -> Vec<(String, String)> {
    let v: Value = serde_json::from_str(&spec_file("iam/format-exceptions.json")).expect("JSON");
    v["exceptions"]
        .as_array()
        .expect("exceptions")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action").to_owned(),
                e["resource"].as_str().expect("resource").to_owned(),
            )
        })
        .collect()
}

/// What is wrong with one derivation, if anything.
fn problems(
    d: &Derived,
    iam: &BTreeSet<String>,
    formats: &BTreeMap<String, Vec<String>>,
    exceptions: &[(String, String)],
    out: &mut Vec<String>,
) {
    if d.permissions.is_empty() && d.diagnostics.is_empty() {
        out.push("no permission and no diagnostic".into());
    }
    for p in &d.permissions {
        // What the engine emits always passes the check a state file gets.
        if let Err(e) = p.validate() {
            out.push(format!("`{}` fails the state check: {e}", p.action));
        }
        if !iam.contains(&p.action) {
            out.push(format!("`{}` is not an IAM action", p.action));
        }
        if p.resource.is_star() {
            continue;
        }
        let arn = p.resource.to_iam();
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[1].is_empty() || parts[2].is_empty() {
            out.push(format!("`{arn}` is not a well-formed ARN"));
            continue;
        }
        if parts[5].contains("arn:") {
            out.push(format!("`{arn}` has an ARN nested in it"));
        }
        let fits = formats
            .get(&p.action)
            .is_some_and(|fs| fs.iter().any(|f| glob(f.as_bytes(), arn.as_bytes())))
            || exceptions
                .iter()
                .any(|(a, g)| *a == p.action && glob(g.as_bytes(), arn.as_bytes()));
        if !fits {
            out.push(format!("`{arn}` fits no ARN format of `{}`", p.action));
        }
    }
}

fn shown(d: &Derived) -> Vec<String> {
    d.permissions
        .iter()
        .map(|p| format!("{} {}", p.action, p.resource.to_iam()))
        .collect()
}

fn has(d: &Derived, action: &str, resource: &str) -> bool {
    d.permissions
        .iter()
        .any(|p| p.action == action && p.resource.to_iam() == resource)
}

#[test]
fn every_operation_gives_valid_permissions_or_says_why() {
    let Ok(path) = std::env::var("LEASTPRIV_SAMPLE_CALLS") else {
        assert!(
            std::env::var_os("LEASTPRIV_REQUIRE_WHEELS").is_none(),
            "LEASTPRIV_REQUIRE_WHEELS is set but LEASTPRIV_SAMPLE_CALLS is not"
        );
        eprintln!(
            "skipped: set LEASTPRIV_SAMPLE_CALLS (spec/tools/sample_calls.py writes it; \
             scripts/test-all.sh does both)"
        );
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let rules = Rules::builtin();
    let iam = iam_actions();
    let formats = formats();
    let exceptions = exceptions();
    let mut bad = Vec::new();
    let (mut calls, mut with_permissions, mut exact) = (0, 0, 0);
    let mut by_op: BTreeMap<(String, String), Derived> = BTreeMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("a JSON line");
        let (svc, op) = (
            v["service"].as_str().expect("service"),
            v["operation"].as_str().expect("operation"),
        );
        let d = derive(&rules, &call(svc, op, v["params"].clone()));
        calls += 1;
        with_permissions += usize::from(!d.permissions.is_empty());
        exact += d
            .permissions
            .iter()
            .filter(|p| !p.resource.is_star())
            .count();
        let mut found = Vec::new();
        problems(&d, &iam, &formats, &exceptions, &mut found);
        bad.extend(found.into_iter().map(|m| format!("{svc}:{op}: {m}")));
        by_op.insert((svc.to_owned(), op.to_owned()), d);
    }
    assert!(
        bad.is_empty(),
        "{} problems in {calls} calls: {:#?}",
        bad.len(),
        &bad[..bad.len().min(400)]
    );
    assert!(calls > 20_000, "{calls} sample calls");
    assert!(
        with_permissions > 18_000,
        "{with_permissions} with permissions"
    );
    assert!(exact > 10_000, "{exact} exact ARNs");

    // The dependent actions of the examples, from the request alone (resources as globs: the
    // names are the sample's).
    let role = "arn:aws:iam::123456789012:role/service-role/sample-role";
    let any_role = "arn:aws:iam::123456789012:role/*";
    for (svc, op, action, resource) in [
        ("sagemaker", "CreateTrainingJob", "iam:PassRole", role),
        ("cloudformation", "CreateStack", "iam:PassRole", role),
        ("ecs", "RunTask", "iam:PassRole", role),
        ("ecs", "RegisterTaskDefinition", "iam:PassRole", role),
        ("rds", "CreateDBInstance", "iam:PassRole", role),
        ("ec2", "RunInstances", "iam:PassRole", any_role),
        ("glue", "CreateJob", "iam:PassRole", role),
        ("codebuild", "CreateProject", "iam:PassRole", role),
        ("eks", "CreateCluster", "iam:PassRole", role),
        ("s3", "PutBucketReplication", "iam:PassRole", role),
        (
            "iam",
            "CreateRole",
            "iam:TagRole",
            "arn:aws:iam::123456789012:role/sample/*",
        ),
        (
            "rds",
            "CreateDBInstance",
            "rds:AddTagsToResource",
            "arn:aws:rds:eu-west-1:123456789012:db:*",
        ),
        (
            "sagemaker",
            "CreateTrainingJob",
            "sagemaker:AddTags",
            "arn:aws:sagemaker:eu-west-1:123456789012:training-job/*",
        ),
        (
            "ec2",
            "RunInstances",
            "ec2:CreateTags",
            "arn:aws:ec2:eu-west-1:123456789012:*/*",
        ),
        (
            "ec2",
            "CreateVolume",
            "ec2:CreateTags",
            "arn:aws:ec2:eu-west-1:123456789012:*/*",
        ),
    ] {
        let d = &by_op[&(svc.to_owned(), op.to_owned())];
        assert!(
            d.permissions
                .iter()
                .any(|p| p.action == action
                    && glob(resource.as_bytes(), p.resource.to_iam().as_bytes())),
            "{svc}:{op} lacks {action} on {resource}: {:#?}",
            shown(d)
        );
    }
}

/// The cases of the issue, with realistic values.
#[test]
fn ids_are_typed_and_full_arns_stay_whole() {
    let rules = Rules::builtin();
    let d = derive(
        &rules,
        &call(
            "ec2",
            "CreateTags",
            json!({"Resources": ["i-0abc1234", "vol-0def5678", "ami-0123", "snap-0456"], "Tags": []}),
        ),
    );
    for r in [
        "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc1234",
        "arn:aws:ec2:eu-west-1:123456789012:volume/vol-0def5678",
        "arn:aws:ec2:eu-west-1::image/ami-0123",
        "arn:aws:ec2:eu-west-1::snapshot/snap-0456",
    ] {
        assert!(has(&d, "ec2:CreateTags", r), "{r}: {:#?}", shown(&d));
    }
    let d = derive(
        &rules,
        &call(
            "ec2",
            "AuthorizeSecurityGroupIngress",
            json!({"GroupId": "sg-0123456789abcdef0", "IpPermissions": []}),
        ),
    );
    assert!(has(
        &d,
        "ec2:AuthorizeSecurityGroupIngress",
        "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0123456789abcdef0"
    ));

    // A task ARN where the task id is expected: the ARN itself, not nested.
    let d = derive(
        &rules,
        &call(
            "ecs",
            "DescribeTasks",
            json!({"cluster": "orders", "tasks": ["arn:aws:ecs:eu-west-1:210987654321:task/orders/0f1e2d"]}),
        ),
    );
    assert!(
        has(
            &d,
            "ecs:DescribeTasks",
            "arn:aws:ecs:eu-west-1:210987654321:task/orders/0f1e2d"
        ),
        "{:#?}",
        shown(&d)
    );
}

#[test]
fn renamed_and_unsigned_operations() {
    let rules = Rules::builtin();
    for (svc, op, params, action) in [
        (
            "s3control",
            "GetPublicAccessBlock",
            json!({"AccountId": "123456789012"}),
            "s3:GetAccountPublicAccessBlock",
        ),
        (
            "budgets",
            "DescribeBudget",
            json!({"AccountId": "123456789012", "BudgetName": "monthly"}),
            "budgets:ViewBudget",
        ),
        (
            "budgets",
            "UpdateBudget",
            json!({"AccountId": "123456789012", "NewBudget": {"BudgetName": "monthly"}}),
            "budgets:ModifyBudget",
        ),
        (
            "timestream-query",
            "Query",
            json!({"QueryString": "SELECT * FROM db.t"}),
            "timestream:Select",
        ),
    ] {
        let d = derive(&rules, &call(svc, op, params));
        assert!(
            d.permissions.iter().any(|p| p.action == action),
            "{svc}:{op}: {:#?}",
            shown(&d)
        );
    }
    // Unsigned operations need no permission, and say so.
    for op in [
        "GetId",
        "GetCredentialsForIdentity",
        "GetOpenIdToken",
        "UnlinkIdentity",
    ] {
        let d = derive(
            &rules,
            &call(
                "cognito-identity",
                op,
                json!({"IdentityPoolId": "eu-west-1:1a2b", "IdentityId": "eu-west-1:3c4d"}),
            ),
        );
        assert!(d.permissions.is_empty(), "{op}: {:#?}", shown(&d));
        assert!(
            d.diagnostics
                .iter()
                .any(|x| x.kind == leastpriv::DiagnosticKind::Permissionless),
            "{op}"
        );
    }
    // A signed operation of the same service still needs its action.
    let d = derive(
        &rules,
        &call(
            "cognito-identity",
            "DescribeIdentityPool",
            json!({"IdentityPoolId": "eu-west-1:1a2b"}),
        ),
    );
    assert_eq!(
        d.permissions[0].action,
        "cognito-identity:DescribeIdentityPool"
    );
}

#[test]
fn a_call_without_the_member_its_rule_reads_is_granted_with_a_wildcard_and_a_diagnostic() {
    let rules = Rules::builtin();
    for (svc, op, action) in [
        ("kms", "Encrypt", "kms:Encrypt"),
        ("sns", "Publish", "sns:Publish"),
        ("dynamodb", "BatchGetItem", "dynamodb:BatchGetItem"),
        ("ec2", "TerminateInstances", "ec2:TerminateInstances"),
    ] {
        let d = derive(&rules, &call(svc, op, json!({})));
        // `*`, or the resource with `*` where the absent member goes (`table/*`).
        assert!(
            d.permissions
                .iter()
                .any(|p| p.action == action && p.resource.to_iam().ends_with('*')),
            "{svc}:{op}: {:#?}",
            shown(&d)
        );
        assert!(
            d.diagnostics
                .iter()
                .any(|x| x.kind == leastpriv::DiagnosticKind::Wildcard),
            "{svc}:{op}"
        );
    }
}

#[test]
fn dependent_actions_need_evidence_in_the_request() {
    let rules = Rules::builtin();
    // No role in the request, no PassRole; a role name that is not an ARN is no role ARN.
    // (A generated operation: curated rules decide on PassRole themselves.)
    let d = derive(
        &rules,
        &call(
            "sagemaker",
            "CreateEdgePackagingJob",
            json!({"EdgePackagingJobName": "pkg", "RoleArn": "not-an-arn"}),
        ),
    );
    assert!(
        !d.permissions.iter().any(|p| p.action == "iam:PassRole"),
        "{:#?}",
        shown(&d)
    );
    // No tags, no tagging action.
    assert!(
        !d.permissions
            .iter()
            .any(|p| p.action == "sagemaker:AddTags")
    );
    // With both: PassRole on the role, AddTags on the job.
    let d = derive(
        &rules,
        &call(
            "sagemaker",
            "CreateEdgePackagingJob",
            json!({"EdgePackagingJobName": "pkg", "RoleArn": "arn:aws:iam::123456789012:role/edge",
                   "Tags": [{"Key": "team", "Value": "ml"}]}),
        ),
    );
    assert!(has(
        &d,
        "iam:PassRole",
        "arn:aws:iam::123456789012:role/edge"
    ));
    assert!(has(
        &d,
        "sagemaker:AddTags",
        "arn:aws:sagemaker:eu-west-1:123456789012:edge-packaging-job/pkg"
    ));
    // Reading a role passes nothing.
    let d = derive(
        &rules,
        &call(
            "sagemaker",
            "DescribeEdgePackagingJob",
            json!({"EdgePackagingJobName": "pkg"}),
        ),
    );
    assert!(!d.permissions.iter().any(|p| p.action == "iam:PassRole"));
    // A KMS key given by id: the kms dependents on that key; an AWS managed alias: none.
    let d = derive(
        &rules,
        &call(
            "docdb",
            "CreateDBCluster",
            json!({"DBClusterIdentifier": "docs", "Engine": "docdb",
                   "KmsKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}),
        ),
    );
    assert!(
        has(
            &d,
            "kms:CreateGrant",
            "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        ),
        "{:#?}",
        shown(&d)
    );
    let d = derive(
        &rules,
        &call(
            "docdb",
            "CreateDBCluster",
            json!({"DBClusterIdentifier": "docs", "Engine": "docdb", "KmsKeyId": "alias/aws/rds"}),
        ),
    );
    assert!(
        !d.permissions.iter().any(|p| p.action.starts_with("kms:")),
        "{:#?}",
        shown(&d)
    );
    // What the request cannot tell is named, not granted.
    let d = derive(
        &rules,
        &call(
            "accessanalyzer",
            "CreateAnalyzer",
            json!({"analyzerName": "org", "type": "ACCOUNT"}),
        ),
    );
    assert!(
        d.diagnostics
            .iter()
            .any(|x| x.kind == leastpriv::DiagnosticKind::Dependent
                && x.message.contains("iam:CreateServiceLinkedRole")),
        "{:#?}",
        d.diagnostics
    );
    assert!(
        !d.permissions
            .iter()
            .any(|p| p.action == "iam:CreateServiceLinkedRole")
    );
}
