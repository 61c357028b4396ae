//! Rewrite rules in Terraform: documents that reference the resources the module owns, laid
//! out as `terraform fmt` writes them (checked with the `terraform` binary, which CI must have),
//! parsed back with hcl-rs, every interpolation one a rule wrote or a data-source reference.
//!
//! `UPDATE_GOLDEN=1 cargo test -p leastpriv --test rewrite` rewrites the golden files.

use leastpriv::{
    Observed, PolicyOptions, PolicyResult, ReadOptions, Rules, RunOptions, Target,
    TerraformOptions, build_policies, read_into, render_terraform, render_variables,
};
use serde_json::json;
use std::path::PathBuf;

/// Calls a test suite made against moto, every resource named with the run id `8f3a2c`.
const EVENTS: &str = concat!(
    r#"{"service":"s3","operation":"PutObject","params":{"Bucket":"orders-test-8f3a2c","Key":"invoices/2024/a.pdf"},"region":"us-east-1","account":"123456789012"}"#,
    "\n",
    r#"{"service":"s3","operation":"GetObject","params":{"Bucket":"orders-test-8f3a2c","Key":"invoices/2024/b.pdf"},"region":"us-east-1","account":"123456789012"}"#,
    "\n",
    r#"{"service":"s3","operation":"ListObjectsV2","params":{"Bucket":"orders-test-8f3a2c"},"region":"us-east-1","account":"123456789012"}"#,
    "\n",
    r#"{"service":"dynamodb","operation":"Query","params":{"TableName":"it-8f3a2c-orders","IndexName":"by-customer"},"region":"us-east-1","account":"123456789012"}"#,
    "\n",
    r#"{"service":"dynamodb","operation":"PutItem","params":{"TableName":"it-8f3a2c-orders","Item":{}},"region":"us-east-1","account":"123456789012"}"#,
    "\n",
    r#"{"service":"sqs","operation":"SendMessage","params":{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/123456789012/jobs-8f3a2c","MessageBody":"x"}}"#,
    "\n",
    r#"{"service":"kms","operation":"Encrypt","params":{"KeyId":"alias/orders-8f3a2c","Plaintext":"eA=="},"region":"us-east-1","account":"123456789012"}"#,
    "\n",
    r#"{"service":"s3","operation":"GetObject","params":{"Bucket":"shared-assets","Key":"logo&{x}.png"},"region":"us-east-1","account":"123456789012"}"#,
    "\n",
);

fn options() -> PolicyOptions {
    RunOptions::from_json(&json!({
        "map_account": {"123456789012": "210987654321"},
        "map_region": ["us-east-1=eu-west-1"],
        "env": "prod",
        "rewrite": [
            {"service": "s3", "type": "bucket", "match": "orders-test-*", "name": "orders-<env>",
             "terraform_arn": "aws_s3_bucket.orders.arn"},
            {"service": "dynamodb", "type": "table", "match": "it-*-orders", "name": "orders",
             "terraform_name": "var.orders_table"},
            {"service": "sqs", "match": "jobs-*", "name": "jobs-<env>",
             "terraform_name": "module.queues.names[\"jobs\"]"},
            {"service": "kms", "match": "orders-*", "name": "orders",
             "terraform_name": "aws_kms_alias.orders.name"},
        ],
    }))
    .expect("options")
    .policy
}

fn observed() -> Observed {
    let mut seen = Observed::new();
    read_into(
        &Rules::builtin(),
        &mut seen,
        EVENTS.as_bytes(),
        "events.jsonl",
        &ReadOptions::default(),
    )
    .expect("read");
    seen
}

fn golden(name: &str, got: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, got).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(got, want, "{} differs", path.display());
}

/// The interpolations of a parsed HCL string, and its literal text.
fn interpolations(expr: &hcl::Expression, out: &mut Vec<String>) {
    match expr {
        hcl::Expression::String(_) => {}
        hcl::Expression::TemplateExpr(t) => {
            let template = hcl::Template::from_expr(t).expect("template");
            for el in template.elements() {
                match el {
                    hcl::template::Element::Literal(_) => {}
                    hcl::template::Element::Interpolation(i) => {
                        out.push(hcl::format::to_string(&i.expr).expect("format"));
                    }
                    hcl::template::Element::Directive(d) => panic!("a template directive: {d:?}"),
                }
            }
        }
        hcl::Expression::Array(items) => items.iter().for_each(|i| interpolations(i, out)),
        other => panic!("unexpected expression {other:?}"),
    }
}

#[test]
fn terraform_references_the_resources_the_module_owns() {
    let seen = observed();
    let tf_opts = PolicyOptions {
        target: Target::Terraform,
        ..options()
    };
    let set = build_policies(&seen, &tf_opts).expect("build");
    let tf = render_terraform(&set, &TerraformOptions::default());
    golden("rewrite.tf", &tf);
    golden("rewrite_variables.tf", &render_variables(&tf_opts.rewrite));
    // The same rules in IAM JSON: literal production names.
    let json = PolicyResult::build(&seen, &options())
        .expect("build")
        .to_json()
        .expect("json");
    golden("rewrite.json", &json);
    for out in [&tf, &json] {
        assert!(!out.contains("8f3a2c"), "the run id is gone:\n{out}");
    }
    // Parsed back: every interpolation is one a rule wrote (or a data source), none from events.
    let body: hcl::Body = hcl::from_str(&tf).expect("HCL parses");
    let mut found = Vec::new();
    for doc in body.blocks() {
        for a in doc.body().attributes() {
            interpolations(a.expr(), &mut found);
        }
        for st in doc.body().blocks() {
            for a in st.body().attributes() {
                if a.key() == "resources" || a.key() == "values" {
                    interpolations(a.expr(), &mut found);
                }
            }
        }
    }
    found.sort();
    found.dedup();
    assert_eq!(
        found,
        [
            "aws_s3_bucket.orders.arn",
            "module.queues.names[\"jobs\"]",
            "var.orders_table",
        ]
    );
    // A name from an event with `&{` goes as exact JSON, where the provider replaces nothing;
    // the rule's reference is still interpolated there.
    assert!(tf.contains(r#"\"arn:aws:s3:::shared-assets/logo&{x}.png\""#));
    assert!(tf.contains(r#"\"${aws_s3_bucket.orders.arn}/invoices/2024/b.pdf\""#));
}

#[test]
fn terraform_fmt_leaves_the_goldens_unchanged() {
    let Some(terraform) = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("terraform"))
            .find(|f| f.is_file())
    }) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "terraform is not on PATH, and CI must run this test"
        );
        eprintln!("skipped: terraform is not on PATH (outside CI only)");
        return;
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("golden");
    let out = std::process::Command::new(terraform)
        .args(["fmt", "-check", "-diff", "-no-color"])
        .arg(&dir)
        .output()
        .expect("run terraform fmt");
    assert!(
        out.status.success(),
        "terraform fmt would change the goldens:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rule_errors_name_the_rule() {
    let seen = observed();
    let two = RunOptions::from_json(&json!({"rewrite": [
        {"match": "orders-*", "name": "orders"},
        {"match": "*-8f3a2c", "name": "x"},
    ]}))
    .expect("options")
    .policy;
    let e = build_policies(&seen, &two).expect_err("two rules on one name");
    assert!(
        e.message().contains("rewrite rule 1") && e.message().contains("rewrite rule 2"),
        "{e}"
    );
    let bad = RunOptions::from_json(&json!({"rewrite": [
        {"service": "s3", "type": "bucket", "match": "orders-test-*", "name": "Orders"},
    ]}))
    .expect("options")
    .policy;
    let e = build_policies(&seen, &bad).expect_err("upper-case bucket");
    assert!(e.message().contains("rewrite rule 1") && e.message().contains("bucket"));
    // Only Terraform output is possible without an environment when every `<env>` rule has an
    // expression; the JSON then says why it cannot be written.
    let mut no_env = options();
    no_env.env = None;
    no_env
        .rewrite
        .retain(|r| r.terraform.is_some() || !r.name.contains("<env>"));
    let result = PolicyResult::build(&seen, &no_env).expect("terraform still builds");
    assert!(
        result
            .to_terraform(None, &TerraformOptions::default())
            .is_ok()
    );
    let e = result.to_json().expect_err("no environment for the JSON");
    assert_eq!(e.field(), Some("env"));
}
