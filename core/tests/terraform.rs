//! Terraform output as Terraform and the AWS provider read it: parsed with `hcl-rs`, nothing from
//! an event becomes an interpolation or a directive, and after the provider's `&{` → `${`
//! replacement every string is the IAM JSON string. Plus golden files for the exact layout.
//!
//! `UPDATE_GOLDEN=1 cargo test -p leastpriv --test terraform` rewrites the golden files.

use leastpriv::{
    Field, Format, Observed, PolicyOptions, PolicySet, ReadOptions, Resource, Rules, SegRef as Seg,
    Statement, TerraformOptions, build_policies, escape_iam, read_into, render_json,
    render_terraform,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn observe(text: &str) -> Observed {
    let mut seen = Observed::new();
    read_into(
        &Rules::builtin(),
        &mut seen,
        text.as_bytes(),
        "events",
        &ReadOptions {
            format: Format::Auto,
            ..ReadOptions::default()
        },
    )
    .expect("read");
    seen
}

fn s3_calls(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| {
            let call = serde_json::json!({"service": "s3", "operation": "GetObject",
                                           "params": {"Bucket": "b", "Key": k}});
            format!("{call}\n")
        })
        .collect()
}

const REFS: [&str; 4] = [
    "${data.aws_partition.current.partition}",
    "${data.aws_region.current.region}",
    "${data.aws_region.current.name}",
    "${data.aws_caller_identity.current.account_id}",
];

/// The value a resource has once Terraform and the provider are done, with each gap written
/// as the reference Terraform would fill it from.
fn expected_value(r: &Resource, provider_major: u32) -> String {
    let mut out = String::new();
    for seg in r.segs() {
        match seg {
            Seg::Text(t) => escape_iam(t, &mut out),
            Seg::Pattern(p) => out.push_str(p),
            Seg::Field(_, Some(v)) => escape_iam(v, &mut out),
            Seg::Field(Field::Partition, None) => out.push_str(REFS[0]),
            Seg::Field(Field::Region, None) if provider_major >= 6 => out.push_str(REFS[1]),
            Seg::Field(Field::Region, None) => out.push_str(REFS[2]),
            Seg::Field(Field::Account, None) => out.push_str(REFS[3]),
            Seg::Expr(_, e) => out.push_str(&format!("${{{e}}}")),
        }
    }
    if let Some(t) = r.tail() {
        escape_iam(t, &mut out);
    }
    out
}

/// Evaluates a parsed HCL string expression: literals as they are, interpolations (which must be
/// one of our data-source references) as `${reference}`; a directive fails the test.
fn eval_string(expr: &hcl::Expression) -> String {
    match expr {
        hcl::Expression::String(s) => s.clone(),
        hcl::Expression::TemplateExpr(t) => {
            let template = hcl::Template::from_expr(t).expect("template");
            let mut out = String::new();
            for el in template.elements() {
                match el {
                    hcl::template::Element::Literal(l) => out.push_str(l),
                    hcl::template::Element::Interpolation(i) => {
                        let text =
                            format!("${{{}}}", hcl::format::to_string(&i.expr).expect("format"));
                        assert!(
                            REFS.contains(&text.as_str()),
                            "unexpected interpolation {text}"
                        );
                        out.push_str(&text);
                    }
                    hcl::template::Element::Directive(d) => panic!("a template directive: {d:?}"),
                }
            }
            out
        }
        other => panic!("not a string: {other:?}"),
    }
}

fn strings(expr: &hcl::Expression) -> Vec<String> {
    match expr {
        hcl::Expression::Array(items) => items.iter().map(eval_string).collect(),
        other => panic!("not a list: {other:?}"),
    }
}

fn attr<'a>(body: &'a hcl::Body, key: &str) -> Option<&'a hcl::Expression> {
    body.attributes().find(|a| a.key() == key).map(|a| a.expr())
}

/// What the provider makes of one statement block: (sid, actions, resources), `&{` → `${`.
fn provider_statements(body: &hcl::Body) -> BTreeMap<String, (Vec<String>, BTreeSet<String>)> {
    let mut out = BTreeMap::new();
    for doc in body.blocks().filter(|b| b.identifier() == "data") {
        for st in doc
            .body()
            .blocks()
            .filter(|b| b.identifier() == "statement")
        {
            let replace = |s: String| s.replace("&{", "${");
            let sid = eval_string(attr(st.body(), "sid").expect("sid"));
            assert_eq!(
                eval_string(attr(st.body(), "effect").expect("effect")),
                "Allow"
            );
            let actions = strings(attr(st.body(), "actions").expect("actions"))
                .into_iter()
                .map(replace)
                .collect();
            let resources = strings(attr(st.body(), "resources").expect("resources"))
                .into_iter()
                .map(replace)
                .collect();
            assert!(out.insert(sid, (actions, resources)).is_none(), "Sid twice");
        }
    }
    out
}

/// The statements written as JSON in `source_policy_documents`, by Sid (no replacement).
fn source_statements(body: &hcl::Body) -> BTreeMap<String, serde_json::Value> {
    let mut out = BTreeMap::new();
    for doc in body.blocks().filter(|b| b.identifier() == "data") {
        if let Some(expr) = attr(doc.body(), "source_policy_documents") {
            for text in strings(expr) {
                let json: serde_json::Value = serde_json::from_str(&text).expect("source JSON");
                for st in json["Statement"].as_array().expect("statements") {
                    let sid = st["Sid"].as_str().expect("sid").to_owned();
                    out.insert(sid, st.clone());
                }
            }
        }
    }
    out
}

/// Every `${` in the raw text opens one of our references, and no `%{` opens a directive.
/// Scans as HCL does: `$${` and `%%{` are escapes, taken whole wherever they start.
fn assert_no_stray_templates(tf: &str) {
    let mut i = 0;
    while i < tf.len() {
        let rest = &tf[i..];
        if rest.starts_with("$${") || rest.starts_with("%%{") {
            i += 3;
            continue;
        }
        if rest.starts_with("${") {
            assert!(
                REFS.iter().any(|r| rest.starts_with(r)),
                "stray interpolation at {}",
                rest.chars().take(40).collect::<String>()
            );
        }
        assert!(
            !rest.starts_with("%{"),
            "a template directive at {}",
            rest.chars().take(40).collect::<String>()
        );
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
}

fn check_against_iam(set: &PolicySet, opts: &TerraformOptions) -> String {
    let tf = render_terraform(set, opts);
    assert_no_stray_templates(&tf);
    let body = hcl::parse(&tf).unwrap_or_else(|e| panic!("not valid HCL: {e}\n{tf}"));
    let blocks = provider_statements(&body);
    let sources = source_statements(&body);
    let iam: serde_json::Value = serde_json::from_str(&render_json(set, false)).expect("json");
    let iam_docs: Vec<&serde_json::Value> = match &iam {
        serde_json::Value::Array(docs) => docs.iter().collect(),
        doc => vec![doc],
    };
    let iam_statements: BTreeMap<String, &serde_json::Value> = iam_docs
        .iter()
        .flat_map(|d| d["Statement"].as_array().expect("statements").iter())
        .map(|s| (s["Sid"].as_str().expect("sid").to_owned(), s))
        .collect();
    let statements: Vec<&Statement> = set.statements().collect();
    assert_eq!(blocks.len() + sources.len(), statements.len());
    for s in statements {
        let literal_amp = s
            .resources
            .iter()
            .any(|r| expected_value(r, 6).contains("&{"));
        if literal_amp {
            // Exactly the IAM JSON statement, where the provider does no replacement.
            assert!(
                !blocks.contains_key(&s.sid),
                "{} must not be a statement block",
                s.sid
            );
            // Gaps are data-source references there too, not `*`.
            let mut want = (*iam_statements.get(&s.sid).expect("statement in IAM JSON")).clone();
            let mut resources: Vec<String> = s
                .resources
                .iter()
                .map(|r| expected_value(r, opts.provider_major))
                .collect();
            resources.sort();
            want["Resource"] = serde_json::json!(resources);
            assert_eq!(Some(&sources[&s.sid]), Some(&want), "{}", s.sid);
        } else {
            let (actions, resources) = &blocks[&s.sid];
            assert_eq!(actions, &s.actions);
            let want: BTreeSet<String> = s
                .resources
                .iter()
                .map(|r| expected_value(r, opts.provider_major))
                .collect();
            assert_eq!(resources, &want, "{}", s.sid);
            // With the references filled as `*`, the strings are the IAM JSON strings.
            let as_json: BTreeSet<String> = resources
                .iter()
                .map(|r| REFS.iter().fold(r.clone(), |acc, x| acc.replace(x, "*")))
                .collect();
            let json_resources: BTreeSet<String> = iam_statements[&s.sid]["Resource"]
                .as_array()
                .expect("resources")
                .iter()
                .map(|v| v.as_str().expect("string").to_owned())
                .collect();
            assert_eq!(as_json, json_resources, "{}", s.sid);
        }
    }
    tf
}

const NASTY_KEYS: [&str; 12] = [
    "star*key",
    "question?key",
    "dollar$key",
    "interp${x}key",
    "directive%{y}key",
    "quote\"key",
    "back\\slash",
    "amp&{z}key",
    "&&{*}",
    "tab\tand\nnewline",
    "${data.aws_partition.current.partition}",
    "%%{if true}x%{endif}",
];

#[test]
fn escaping_survives_terraform_and_the_provider() {
    for gaps in [false, true] {
        let seen = observe(&s3_calls(&NASTY_KEYS));
        let opts = PolicyOptions {
            region: (!gaps).then(|| "eu-west-1".to_owned()),
            s3_objects: leastpriv::S3Objects::Exact,
            ..PolicyOptions::default()
        };
        let set = build_policies(&seen, &opts).expect("policies build");
        for provider_major in [5, 6] {
            let tf = check_against_iam(
                &set,
                &TerraformOptions {
                    provider_major,
                    data_sources: true,
                },
            );
            // One key holds a literal `&{`, so the whole statement is exact JSON, where the
            // IAM escapes stay `${...}` (written `$${...}` in HCL).
            assert!(tf.contains("source_policy_documents"));
            assert!(!tf.contains("statement {"));
            assert!(tf.contains("$${*}") && tf.contains("$${?}") && tf.contains("$${$}"));
            assert!(tf.contains("%%{"));
        }
        let json = render_json(&set, false);
        assert!(json.contains("star${*}key") && json.contains("question${?}key"));
        assert!(json.contains("dollar${$}key") && json.contains("interp${$}{x}key"));
        assert!(json.contains("directive%{y}key"));
    }
}

#[test]
fn each_nasty_key_alone() {
    for key in NASTY_KEYS {
        for region in [None, Some("eu-west-1")] {
            let seen = observe(&s3_calls(&[key]));
            let set = build_policies(
                &seen,
                &PolicyOptions {
                    region: region.map(str::to_owned),
                    ..PolicyOptions::default()
                },
            )
            .expect("policies build");
            let tf = check_against_iam(&set, &TerraformOptions::default());
            assert_eq!(
                tf.contains("source_policy_documents"),
                key.contains("&{"),
                "{key:?}\n{tf}"
            );
            if !key.contains("&{") {
                for (c, esc) in [('*', "&{*}"), ('?', "&{?}"), ('$', "&{$}")] {
                    assert_eq!(tf.contains(esc), key.contains(c), "{key:?}\n{tf}");
                }
            }
        }
    }
}

#[test]
fn gaps_become_data_source_references() {
    let text = concat!(
        r#"{"service": "dynamodb", "operation": "GetItem", "params": {"TableName": "orders"}}"#,
        "\n",
        r#"{"service": "s3", "operation": "GetObject", "params": {"Bucket": "b", "Key": "k"}}"#,
        "\n"
    );
    let set = build_policies(&observe(text), &PolicyOptions::default()).expect("policies build");
    let v6 = check_against_iam(&set, &TerraformOptions::default());
    assert!(v6.contains(
        "\"arn:${data.aws_partition.current.partition}:dynamodb:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:table/orders\","
    ));
    for decl in [
        "data \"aws_partition\" \"current\" {}\n",
        "data \"aws_region\" \"current\" {}\n",
        "data \"aws_caller_identity\" \"current\" {}\n",
    ] {
        assert_eq!(v6.matches(decl).count(), 1, "{decl}");
    }
    let v5 = check_against_iam(
        &set,
        &TerraformOptions {
            provider_major: 5,
            data_sources: true,
        },
    );
    assert_eq!(
        v5,
        v6.replace(
            "data.aws_region.current.region",
            "data.aws_region.current.name"
        )
    );
    assert!(!v5.contains("current.region"));
    let bare = render_terraform(
        &set,
        &TerraformOptions {
            provider_major: 6,
            data_sources: false,
        },
    );
    assert!(!bare.contains("data \"aws_partition\""));
    assert!(!bare.contains("data \"aws_region\""));
    assert!(!bare.contains("data \"aws_caller_identity\""));
    assert!(bare.contains("${data.aws_region.current.region}"));
    assert!(
        v6.ends_with(&bare),
        "declarations come first, then the same documents"
    );
}

#[test]
fn only_the_data_sources_in_use_are_declared() {
    let text =
        r#"{"service": "s3", "operation": "GetObject", "params": {"Bucket": "b", "Key": "k"}}"#;
    let tf = render_terraform(
        &build_policies(&observe(text), &PolicyOptions::default()).expect("policies build"),
        &TerraformOptions::default(),
    );
    assert!(tf.starts_with("data \"aws_partition\" \"current\" {}\n\n"));
    assert!(!tf.contains("data \"aws_region\""));
    assert!(!tf.contains("data \"aws_caller_identity\""));
    let known = render_terraform(
        &build_policies(
            &observe(text),
            &PolicyOptions {
                region: Some("eu-west-1".into()),
                ..PolicyOptions::default()
            },
        )
        .unwrap(),
        &TerraformOptions::default(),
    );
    assert!(known.starts_with("data \"aws_iam_policy_document\" \"leastpriv\" {\n"));
}

// ---------------------------------------------------------------------------------------------
// Golden files

const GOLDEN_EVENTS: &str = concat!(
    r#"{:mulog/event-name :aws/request, :mulog/timestamp 1688907460929, :mulog/trace-id #mulog/flake "4r-oNlJf6rHAs7mGiLb2p0aroteHz5OR", :mulog/root-trace #mulog/flake "4r-oNlJf6rHAs7mGiLb2p0aroteHz5OR", :mulog/duration 109400167, :mulog/namespace "user", :mulog/outcome :ok, :api :s3, :operation :GetObject, :request {:Bucket "redefine-test", :Key "some-object.dat"}}"#,
    "\n",
    r#"{:mulog/event-name :aws/request, :mulog/outcome :ok, :api :s3, :operation :GetObject, :request {:Bucket "redefine-test", :Key "reports/2024/a.csv"}}"#,
    "\n",
    r#"{:mulog/event-name :aws/request, :mulog/outcome :ok, :api :s3, :operation :HeadObject, :request {:Bucket "redefine-test", :Key "reports/2024/b.csv"}}"#,
    "\n",
    r#"{:mulog/event-name :aws/request, :mulog/outcome :ok, :api :s3, :operation :ListObjectsV2, :request {:Bucket "redefine-test", :Prefix "reports/"}}"#,
    "\n",
    r#"{:mulog/event-name :aws/request, :mulog/outcome :ok, :api :s3, :operation :PutObject, :request {:Bucket "uploads", :Key "in/odd*name?.bin"}}"#,
    "\n",
    r#"{:mulog/event-name :aws/request, :mulog/outcome :ok, :api :sqs, :operation :SendMessage, :request {:QueueUrl "https://sqs.eu-west-1.amazonaws.com/123456789012/orders", :MessageBody "{}"}}"#,
    "\n",
    r#"{:mulog/event-name :aws/request, :mulog/outcome :ok, :api :sqs, :operation :ReceiveMessage, :request {:QueueUrl "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"}}"#,
    "\n",
    r#"{:mulog/event-name :aws/request, :mulog/outcome :ok, :api :dynamodb, :operation :GetItem, :request {:TableName "orders", :Key {:id {:S "o-1"}}}}"#,
    "\n",
    r#"{:mulog/event-name :aws/request, :mulog/outcome :ok, :api :dynamodb, :operation :Query, :request {:TableName "orders", :IndexName "by-customer"}}"#,
    "\n",
);

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("golden")
}

fn check_golden(name: &str, got: &str) {
    let path = golden_dir().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_dir()).expect("golden dir");
        std::fs::write(&path, got).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(got, want, "{} differs", path.display());
}

#[test]
fn golden_terraform_and_json() {
    let seen = observe(GOLDEN_EVENTS);
    let set = build_policies(&seen, &PolicyOptions::default()).expect("policies build");
    let tf = check_against_iam(&set, &TerraformOptions::default());
    check_golden("basic.tf", &tf);
    check_golden("basic.json", &render_json(&set, false));
    let v5 = render_terraform(
        &set,
        &TerraformOptions {
            provider_major: 5,
            data_sources: true,
        },
    );
    check_golden("basic_provider5.tf", &v5);
    let bare = render_terraform(
        &set,
        &TerraformOptions {
            provider_major: 6,
            data_sources: false,
        },
    );
    check_golden("basic_no_data_sources.tf", &bare);

    let known = build_policies(
        &seen,
        &PolicyOptions {
            region: Some("eu-west-1".into()),
            account: Some("123456789012".into()),
            ..PolicyOptions::default()
        },
    )
    .unwrap();
    check_golden(
        "known.tf",
        &check_against_iam(&known, &TerraformOptions::default()),
    );
    check_golden("known.json", &render_json(&known, false));
}

#[test]
fn golden_group_by() {
    let text = GOLDEN_EVENTS
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let app = if i % 2 == 0 { "orders api" } else { "billing" };
            format!(
                "{}, :app-name \"{app}\"}}\n",
                l.strip_suffix('}').expect("map")
            )
        })
        .collect::<String>();
    let mut seen = Observed::new();
    read_into(
        &Rules::builtin(),
        &mut seen,
        text.as_bytes(),
        "events.edn",
        &ReadOptions {
            principal_key: Some("app-name".into()),
            ..ReadOptions::default()
        },
    )
    .expect("read");
    let opts = PolicyOptions {
        region: Some("eu-west-1".into()),
        account: Some("123456789012".into()),
        group_by: true,
        ..PolicyOptions::default()
    };
    let set = build_policies(&seen, &opts).expect("policies build");
    assert_eq!(set.policies.len(), 2);
    check_golden(
        "group_by.tf",
        &render_terraform(&set, &TerraformOptions::default()),
    );
    check_golden("group_by.json", &render_json(&set, true));
}

#[test]
fn a_statement_with_a_condition_is_laid_out_like_terraform_fmt() {
    use leastpriv::{Document, Policy};
    let mut condition = leastpriv::ConditionBlock::new();
    condition.entry("StringEquals".into()).or_default().insert(
        "kms:RequestAlias".into(),
        vec!["alias/orders".into(), "alias/x${y}".into()],
    );
    let set = PolicySet {
        policies: vec![Policy {
            name: "orders service".into(),
            principal: None,
            documents: vec![Document {
                statements: vec![Statement {
                    sid: "Kms0000ABCD".into(),
                    actions: vec!["kms:Decrypt".into(), "kms:Encrypt".into()],
                    resources: vec![Resource::star()],
                    condition: Some(condition),
                }],
            }],
        }],
        diagnostics: Vec::new(),
    };
    let tf = render_terraform(&set, &TerraformOptions::default());
    assert_eq!(
        tf,
        concat!(
            "data \"aws_iam_policy_document\" \"orders_service_42cd58c9\" {\n",
            "  statement {\n",
            "    sid    = \"Kms0000ABCD\"\n",
            "    effect = \"Allow\"\n",
            "    actions = [\n",
            "      \"kms:Decrypt\",\n",
            "      \"kms:Encrypt\",\n",
            "    ]\n",
            "    resources = [\n",
            "      \"*\",\n",
            "    ]\n",
            "\n",
            "    condition {\n",
            "      test     = \"StringEquals\"\n",
            "      variable = \"kms:RequestAlias\"\n",
            "      values   = [\"alias/orders\", \"alias/x&{y}\"]\n",
            "    }\n",
            "  }\n",
            "}\n",
        )
    );
    hcl::parse(&tf).expect("valid HCL");
}
