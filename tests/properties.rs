//! Property tests (proptest): merge laws on arbitrary states, round trips of the serialized
//! form, the policy builder's invariants (`leastpriv_tests::check_policy`) and IAM wildcard
//! matching.

use leastpriv::{Call, Observed, PolicyOptions, Rules, glob};
use proptest::prelude::*;

/// One call: a service and operation from a small set that covers lists, maps, ARNs, KMS
/// aliases and dependent actions, with arbitrary names.
fn call() -> impl Strategy<Value = Call> {
    let name = "[a-zA-Z0-9/_*?$. -]{1,24}";
    (
        0u8..8,
        name,
        name,
        proptest::option::of("[a-z]{1,6}"),
        any::<bool>(),
    )
        .prop_map(|(kind, a, b, principal, ok)| {
            let (svc, op, params) = match kind {
                0 => ("s3", "GetObject", serde_json::json!({"Bucket": "bkt", "Key": a})),
                1 => ("s3", "ListObjectsV2", serde_json::json!({"Bucket": b})),
                2 => ("dynamodb", "BatchGetItem", serde_json::json!({"RequestItems": {a.clone(): {}, b.clone(): {}}})),
                3 => ("kms", "Encrypt", serde_json::json!({"KeyId": format!("alias/{a}")})),
                4 => ("sqs", "SendMessage", serde_json::json!({"QueueUrl": format!("https://sqs.eu-west-1.amazonaws.com/123456789012/q{}", a.len())})),
                5 => ("sagemaker", "CreateEdgePackagingJob", serde_json::json!({"EdgePackagingJobName": "j", "RoleArn": "arn:aws:iam::123456789012:role/r", "Tags": [{"Key": a, "Value": b}]})),
                6 => ("ec2", "CreateTags", serde_json::json!({"Resources": [format!("i-{}", a.len()), "vol-1"], "Tags": []})),
                _ => ("frobnicator", "DoThing", serde_json::json!({"x": a})),
            };
            let mut c = Call::new(svc, op, params);
            c.region = Some("eu-west-1".into());
            c.account = Some("123456789012".into());
            c.principal = principal;
            if !ok {
                c.outcome = leastpriv::Outcome::Error { code: Some("AccessDenied".into()) };
            }
            c.source = leastpriv::Source::label(b);
            c
        })
}

fn observed(calls: &[Call]) -> Observed {
    let mut p = leastpriv::Pipeline::new(Rules::builtin(), leastpriv::ReadOptions::default());
    for c in calls {
        p.record(c);
    }
    p.into_observed()
}

fn merged(a: &Observed, b: &Observed) -> Observed {
    let mut out = a.clone();
    out.merge(b);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn merge_is_commutative_and_associative(
        a in proptest::collection::vec(call(), 0..12),
        b in proptest::collection::vec(call(), 0..12),
        c in proptest::collection::vec(call(), 0..12),
    ) {
        let (a, b, c) = (observed(&a), observed(&b), observed(&c));
        prop_assert_eq!(merged(&a, &b).to_bytes(), merged(&b, &a).to_bytes());
        prop_assert_eq!(
            merged(&merged(&a, &b), &c).to_bytes(),
            merged(&a, &merged(&b, &c)).to_bytes()
        );
    }

    #[test]
    fn a_state_round_trips(calls in proptest::collection::vec(call(), 0..24)) {
        let o = observed(&calls);
        let back = Observed::from_bytes(&o.to_bytes()).expect("reads back");
        prop_assert_eq!(&back, &o);
        prop_assert_eq!(back.to_bytes(), o.to_bytes());
    }

    #[test]
    fn policies_keep_their_invariants(
        calls in proptest::collection::vec(call(), 1..40),
        max in 300usize..6_144,
        group_by in any::<bool>(),
        mode in 0u8..3,
    ) {
        let o = observed(&calls);
        let opts = PolicyOptions {
            max_size: max,
            group_by,
            s3_objects: match mode {
                0 => leastpriv::S3Objects::Exact,
                1 => leastpriv::S3Objects::Prefix,
                _ => leastpriv::S3Objects::Bucket,
            },
            ..PolicyOptions::default()
        };
        let r = leastpriv_tests::check_policy(&o, &opts);
        prop_assert!(r.is_ok(), "{:?}", r);
    }

    #[test]
    fn literal_text_matches_itself_once_escaped(text in "[ -~]{0,40}") {
        let mut escaped = String::new();
        leastpriv::escape_iam(&text, &mut escaped);
        prop_assert!(glob::resource_matches(&escaped, &escaped));
        prop_assert!(glob::resource_matches("*", &escaped));
        // A literal star never stands for other text.
        if text.contains('*') {
            let other = text.replace('*', "x");
            let mut other_escaped = String::new();
            leastpriv::escape_iam(&other, &mut other_escaped);
            prop_assert!(!glob::resource_matches(&escaped, &other_escaped));
        }
    }

    #[test]
    fn permission_lines_written_are_the_sorted_unique_lines(
        keys in proptest::collection::vec(("[ab]{0,2}", 0u8..3, "[ab\"\\\\\u{1}*]{0,3}", 0u8..3), 1..60),
    ) {
        // Object keys that tie in their first bytes, some needing escapes in JSON, some in
        // IAM, for two actions; each call once per principal.
        let mut calls = Vec::new();
        for (head, pad, tail, kind) in &keys {
            let key = format!("{head}{}{tail}", "k".repeat(usize::from(*pad) * 9));
            let op = if *kind == 0 { "PutObject" } else { "GetObject" };
            for principal in ["p", "q"] {
                let mut c = Call::new("s3", op, serde_json::json!({"Bucket": "bkt", "Key": key}));
                c.principal = Some(principal.into());
                calls.push(c);
            }
        }
        let o = observed(&calls);
        let opts = PolicyOptions::default();
        let mut want = String::new();
        for line in leastpriv::permission_lines(&o, &opts) {
            want.push_str(&serde_json::to_string(&line).expect("a line"));
            want.push('\n');
        }
        let mut got = Vec::new();
        leastpriv::write_permission_lines(&o, &opts, &mut got).expect("written");
        prop_assert_eq!(String::from_utf8(got).expect("UTF-8"), want);
    }

    #[test]
    fn merging_parts_equals_recording_all(calls in proptest::collection::vec(call(), 0..30), cut in 0usize..30) {
        let cut = cut.min(calls.len());
        let whole = observed(&calls);
        let parts = merged(&observed(&calls[..cut]), &observed(&calls[cut..]));
        prop_assert_eq!(whole.to_bytes(), parts.to_bytes());
    }
}
