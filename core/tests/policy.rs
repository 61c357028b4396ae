//! Policies as a user relies on them: the same events in any order give the same bytes, partial
//! results merge in any order, large policies split without losing a permission, and S3 keys
//! generalise as documented.

use leastpriv::{
    Call, Document, ErrorKind, Field, Format, MANAGED_POLICY_LIMIT, Observed, PolicyOptions,
    PolicySet, ReadOptions, Resource, Rules, S3Objects, Seg, TerraformOptions, build_policies,
    parse_mapping, read_into, render_document_json, render_json, render_terraform,
};
use serde_json::json;
use std::collections::{BTreeSet, HashSet};

/// Derives what `call` needs and counts it (what a pipeline's `record` does).
fn record(seen: &mut leastpriv::Observed, rules: &leastpriv::Rules, call: &leastpriv::Call) {
    let d = leastpriv::derive(rules, call);
    seen.add(
        &d,
        call.principal.as_deref(),
        call.outcome.is_ok(),
        &call.source,
    );
}

/// A small deterministic generator (xorshift64*), so shuffles need no `rand` crate.
struct Shuffler(u64);

impl Shuffler {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Fisher–Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// A mixed workload: prefixes to generalise, gaps, failed calls, several principals.
fn events() -> Vec<String> {
    let mut out = Vec::new();
    let ev = |app: &str, outcome: &str, api: &str, op: &str, req: &str| {
        format!(
            "{{:mulog/event-name :aws/request, :mulog/outcome :{outcome}, :app-name \"{app}\", :api :{api}, :operation :{op}, :request {req}}}"
        )
    };
    for i in 0..6 {
        out.push(ev(
            "orders",
            "ok",
            "s3",
            "GetObject",
            &format!("{{:Bucket \"reports\", :Key \"2024/{i:02}/summary.csv\"}}"),
        ));
        out.push(ev(
            "orders",
            "ok",
            "s3",
            "PutObject",
            &format!("{{:Bucket \"uploads\", :Key \"in/{i}.bin\"}}"),
        ));
        out.push(ev(
            "billing",
            "ok",
            "dynamodb",
            "GetItem",
            &format!("{{:TableName \"invoices-{}\"}}", i % 3),
        ));
        out.push(ev(
            "billing",
            "ok",
            "sqs",
            "SendMessage",
            &format!(
                "{{:QueueUrl \"https://sqs.eu-west-1.amazonaws.com/123456789012/q{}\"}}",
                i % 2
            ),
        ));
    }
    out.push(ev(
        "orders",
        "error",
        "s3",
        "DeleteObject",
        "{:Bucket \"reports\", :Key \"old.csv\"}",
    ));
    out.push(ev(
        "orders",
        "ok",
        "s3",
        "ListObjectsV2",
        "{:Bucket \"reports\", :Prefix \"2024/\"}",
    ));
    out.push(ev(
        "billing",
        "ok",
        "dynamodb",
        "BatchWriteItem",
        "{:RequestItems {:audit [], \"arn:aws:dynamodb:eu-west-1:111122223333:table/shared\" []}}",
    ));
    out.push(ev("billing", "ok", "sqs", "FrobnicateQueue", "{}"));
    out.push(ev(
        "orders",
        "ok",
        "s3",
        "GetObject",
        "{:Bucket \"odd\", :Key \"a*b?c$d ${x} %{y} &{z}\"}",
    ));
    out.push("{:mulog/event-name :app/started}".to_owned());
    out
}

fn read_lines(lines: &[String], principal_key: Option<&str>) -> Observed {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let mut seen = Observed::new();
    let opts = ReadOptions {
        format: Format::MulogEdn,
        principal_key: principal_key.map(str::to_owned),
        ..ReadOptions::default()
    };
    read_into(
        &Rules::builtin(),
        &mut seen,
        text.as_bytes(),
        "events.edn",
        &opts,
    )
    .expect("read");
    seen
}

fn outputs(seen: &Observed, opts: &PolicyOptions) -> (String, String, String) {
    let set = build_policies(seen, opts).expect("policies build");
    (
        render_json(&set, opts.group_by),
        render_terraform(&set, &TerraformOptions::default()),
        render_terraform(
            &set,
            &TerraformOptions {
                provider_major: 5,
                data_sources: false,
            },
        ),
    )
}

#[test]
fn the_same_events_in_any_order_give_identical_output() {
    let base = events();
    let option_sets = [
        PolicyOptions::default(),
        PolicyOptions {
            region: Some("eu-west-1".into()),
            account: Some("123456789012".into()),
            s3_objects: S3Objects::Exact,
            ..PolicyOptions::default()
        },
        PolicyOptions {
            group_by: true,
            map_account: vec![("123456789012".into(), "210987654321".into())],
            ..PolicyOptions::default()
        },
    ];
    for opts in &option_sets {
        let key = opts.group_by.then_some("app-name");
        let want = outputs(&read_lines(&base, key), opts);
        let mut rng = Shuffler(0x5EED_1234_ABCD_0001);
        for round in 0..8 {
            let mut lines = base.clone();
            rng.shuffle(&mut lines);
            if round == 0 {
                lines.reverse();
            }
            let got = outputs(&read_lines(&lines, key), opts);
            assert_eq!(got.0, want.0, "JSON differs after shuffle {round}");
            assert_eq!(got.1, want.1, "Terraform differs after shuffle {round}");
            assert_eq!(
                got.2, want.2,
                "Terraform (provider 5) differs after shuffle {round}"
            );
        }
    }
}

#[test]
fn merging_is_commutative_and_associative() {
    let lines = events();
    let mut rng = Shuffler(42);
    for _ in 0..5 {
        let mut shuffled = lines.clone();
        rng.shuffle(&mut shuffled);
        // Four parts of different sizes, each read as its own file.
        let cuts = [0, 3, 11, 12, shuffled.len()];
        let parts: Vec<Observed> = cuts
            .windows(2)
            .map(|w| read_lines(&shuffled[w[0]..w[1]], Some("app-name")))
            .collect();
        let whole = read_lines(&lines, Some("app-name"));

        let mut left = Observed::new();
        for p in &parts {
            left.merge(p);
        }
        let mut right = Observed::new();
        for p in parts.iter().rev() {
            right.merge(p);
        }
        // ((a b) (c d)) against (a (b (c d))).
        let mut ab = parts[0].clone();
        ab.merge(&parts[1]);
        let mut cd = parts[2].clone();
        cd.merge(&parts[3]);
        let mut grouped = ab;
        grouped.merge(&cd);
        let mut bcd = parts[1].clone();
        bcd.merge(&cd);
        let mut nested = parts[0].clone();
        nested.merge(&bcd);

        let want = left.to_bytes();
        assert_eq!(right.to_bytes(), want);
        assert_eq!(grouped.to_bytes(), want);
        assert_eq!(nested.to_bytes(), want);
        // Counts and permissions are those of reading everything at once; only the evidence
        // lines differ (each part is its own file).
        assert_eq!(left.counts(), whole.counts());
        assert_eq!(left.len(), whole.len());
        let opts = PolicyOptions {
            group_by: true,
            ..PolicyOptions::default()
        };
        assert_eq!(outputs(&left, &opts), outputs(&whole, &opts));
    }
}

#[test]
fn serialized_state_round_trips_byte_for_byte() {
    let mut seen = read_lines(&events(), Some("app-name"));
    seen.count_malformed(leastpriv::Evidence {
        source: "x.edn".into(),
        line: 7,
    });
    let bytes = seen.to_bytes();
    let back = Observed::from_bytes(&bytes).expect("decode");
    assert_eq!(back.to_bytes(), bytes);
    assert_eq!(back, seen);
    assert_eq!(back.counts(), seen.counts());
    assert_eq!(
        back.malformed_at().collect::<Vec<_>>(),
        seen.malformed_at().collect::<Vec<_>>()
    );
    // Merging a state with a decoded copy of itself doubles the counts, not the permissions.
    let mut twice = seen.clone();
    twice.merge(&back);
    assert_eq!(twice.len(), seen.len());
    assert_eq!(twice.counts().calls, 2 * seen.counts().calls);
    // And reading the serialized state as an input merges it.
    let mut via_reader = Observed::new();
    read_into(
        &Rules::builtin(),
        &mut via_reader,
        &bytes[..],
        "state.json",
        &ReadOptions::default(),
    )
    .expect("observed input");
    assert_eq!(via_reader.to_bytes(), bytes);
}

#[test]
fn a_malformed_serialized_state_is_a_serialization_error() {
    for bad in [
        &b"{\"format\": \"leastpriv-observed\", \"version\": 99}"[..],
        b"{\"format\": \"something-else\", \"version\": 1}",
        b"{\"format\": \"leastpriv-observed\", \"version\": 1, \"counts\": 3}",
        b"not json",
    ] {
        let err = Observed::from_bytes(bad).expect_err("must fail");
        assert_eq!(err.kind(), ErrorKind::Serialization, "{err}");
    }
}

// ---------------------------------------------------------------------------------------------
// Size splitting

fn non_ws_len(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

fn pairs(set: &PolicySet) -> BTreeSet<(String, String)> {
    set.statements()
        .flat_map(|s| {
            s.actions
                .iter()
                .flat_map(|a| s.resources.iter().map(move |r| (a.clone(), r.to_iam())))
        })
        .collect()
}

fn check_documents(docs: &[Document]) {
    for (i, doc) in docs.iter().enumerate() {
        let json = render_document_json(doc);
        assert!(
            non_ws_len(&json) <= MANAGED_POLICY_LIMIT,
            "document {i} has {} non-whitespace characters",
            non_ws_len(&json)
        );
        let mut sids = HashSet::new();
        for s in &doc.statements {
            assert!(
                !s.sid.is_empty() && s.sid.chars().all(|c| c.is_ascii_alphanumeric()),
                "Sid {}",
                s.sid
            );
            assert!(
                sids.insert(s.sid.clone()),
                "Sid {} twice in document {i}",
                s.sid
            );
        }
    }
}

fn tables(n: usize, ops: &[&str], with_context: bool) -> Observed {
    let rules = Rules::builtin();
    let mut seen = Observed::new();
    for i in 0..n {
        for op in ops {
            let mut call = Call::new(
                "dynamodb",
                *op,
                json!({"TableName": format!("service-table-with-a-long-name-{i:04}")}),
            );
            if with_context {
                call.region = Some("eu-west-1".into());
                call.account = Some("123456789012".into());
            }
            record(&mut seen, &rules, &call);
        }
    }
    seen
}

#[test]
fn many_resources_split_into_documents_within_the_limit_losing_nothing() {
    for (n, ops) in [
        (400, &["GetItem"][..]),
        (400, &["GetItem", "PutItem", "Query"][..]),
        (150, &["GetItem"][..]),
    ] {
        let seen = tables(n, ops, true);
        let split = build_policies(&seen, &PolicyOptions::default()).expect("policies build");
        let unsplit = build_policies(
            &seen,
            &PolicyOptions {
                max_size: usize::MAX,
                ..PolicyOptions::default()
            },
        )
        .expect("policies build");
        assert_eq!(unsplit.policies[0].documents.len(), 1);
        let docs = &split.policies[0].documents;
        let whole = non_ws_len(&render_document_json(&unsplit.policies[0].documents[0]));
        assert!(
            whole > MANAGED_POLICY_LIMIT,
            "the workload must need splitting ({whole})"
        );
        assert!(
            docs.len() >= whole.div_ceil(MANAGED_POLICY_LIMIT),
            "{} documents",
            docs.len()
        );
        check_documents(docs);
        assert_eq!(pairs(&split), pairs(&unsplit));
        assert_eq!(pairs(&split).len(), n * ops.len());
        // JSON renders the split set as an array of documents.
        let json: serde_json::Value =
            serde_json::from_str(&render_json(&split, false)).expect("json");
        assert_eq!(json.as_array().map(Vec::len), Some(docs.len()));
        // Terraform writes one data block per document.
        let tf = render_terraform(&split, &TerraformOptions::default());
        assert_eq!(
            tf.matches("data \"aws_iam_policy_document\"").count(),
            docs.len()
        );
        assert!(tf.contains("data \"aws_iam_policy_document\" \"leastpriv_2\" {"));
    }
}

#[test]
fn split_documents_fit_when_terraform_fills_the_gaps() {
    // No region or account: the documents must leave room for the longest real values.
    let seen = tables(400, &["GetItem", "Query"], false);
    let set = build_policies(&seen, &PolicyOptions::default()).expect("policies build");
    let docs = &set.policies[0].documents;
    assert!(docs.len() > 1);
    check_documents(docs);
    let filled: Vec<Document> = docs
        .iter()
        .map(|d| {
            let mut d = d.clone();
            for s in &mut d.statements {
                for r in &mut s.resources {
                    let segs = r.to_segs().into_iter().map(|seg| match seg {
                        Seg::Field(f, None) => Seg::Field(
                            f,
                            Some(
                                match f {
                                    Field::Partition => "aws-us-gov",
                                    Field::Region => "ap-southeast-2",
                                    Field::Account => "123456789012",
                                }
                                .to_owned(),
                            ),
                        ),
                        other => other,
                    });
                    *r = Resource::new(segs.collect::<Vec<_>>(), r.tail().map(str::to_owned));
                }
            }
            d
        })
        .collect();
    check_documents(&filled);
    assert_eq!(pairs(&set).len(), 800);
}

#[test]
fn many_actions_on_one_resource_split_by_action() {
    let rules = Rules::builtin();
    let mut seen = Observed::new();
    // Unknown operations fall back to prefix:Operation on *: one statement, many actions.
    for i in 0..600 {
        record(
            &mut seen,
            &rules,
            &Call::new("s3", format!("MadeUpOperationNumber{i:04}"), json!({})),
        );
    }
    let set = build_policies(&seen, &PolicyOptions::default()).expect("policies build");
    let docs = &set.policies[0].documents;
    assert!(docs.len() > 1);
    check_documents(docs);
    assert_eq!(pairs(&set).len(), 600);
}

#[test]
fn sids_are_alphanumeric_prefix_and_hash_and_stable() {
    let seen = read_lines(&events(), None);
    let set = build_policies(&seen, &PolicyOptions::default()).expect("policies build");
    for s in set.statements() {
        let prefix = s.actions[0].split(':').next().expect("prefix");
        let camel: String = prefix[..1].to_ascii_uppercase() + &prefix[1..];
        assert!(s.sid.starts_with(&camel), "{} for {prefix}", s.sid);
        let hash = &s.sid[camel.len()..];
        assert!(
            hash.len() >= 8 && hash[..8].chars().all(|c| c.is_ascii_hexdigit()),
            "{}",
            s.sid
        );
    }
    // The Sid depends on the resources, not on what else is in the policy.
    let mut alone = Observed::new();
    record(
        &mut alone,
        &Rules::builtin(),
        &Call::new("sqs", "ListQueues", json!({})),
    );
    let mut more = alone.clone();
    record(
        &mut more,
        &Rules::builtin(),
        &Call::new("s3", "ListBuckets", json!({})),
    );
    let sid = |seen: &Observed| {
        build_policies(seen, &PolicyOptions::default())
            .expect("policies build")
            .statements()
            .find(|s| s.actions == ["sqs:ListQueues"])
            .map(|s| s.sid.clone())
    };
    assert_eq!(sid(&alone), sid(&more));
    assert!(sid(&alone).is_some_and(|s| s.starts_with("Sqs")));
}

// ---------------------------------------------------------------------------------------------
// S3 key generalisation

fn s3_policy(keys: &[(&str, &str, &str)], mode: S3Objects) -> Vec<(String, Vec<String>)> {
    let rules = Rules::builtin();
    let mut seen = Observed::new();
    for (op, bucket, key) in keys {
        record(
            &mut seen,
            &rules,
            &Call::new("s3", *op, json!({"Bucket": bucket, "Key": key})),
        );
    }
    let opts = PolicyOptions {
        region: Some("eu-west-1".into()),
        s3_objects: mode,
        ..PolicyOptions::default()
    };
    build_policies(&seen, &opts)
        .expect("policies build")
        .statements()
        .map(|s| {
            (
                s.actions.join(","),
                s.resources.iter().map(Resource::to_iam).collect(),
            )
        })
        .collect()
}

#[test]
fn s3_objects_exact_keeps_every_key() {
    let got = s3_policy(
        &[
            ("GetObject", "b", "reports/2024/a.csv"),
            ("GetObject", "b", "reports/2024/b.csv"),
        ],
        S3Objects::Exact,
    );
    assert_eq!(
        got,
        [(
            "s3:GetObject".to_owned(),
            vec![
                "arn:aws:s3:::b/reports/2024/a.csv".to_owned(),
                "arn:aws:s3:::b/reports/2024/b.csv".to_owned()
            ]
        )]
    );
}

#[test]
fn s3_objects_prefix_cuts_after_the_last_common_slash() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["reports/2024/a.csv", "reports/2024/b.csv"],
            "arn:aws:s3:::b/reports/2024/*",
        ),
        (&["a/b1", "a/b2"], "arn:aws:s3:::b/a/*"),
        (&["x.csv", "y.csv"], "arn:aws:s3:::b/*"),
        (
            &["only/one.csv", "only/one.csv"],
            "arn:aws:s3:::b/only/one.csv",
        ),
        (&["logs/é/1", "logs/é/2"], "arn:aws:s3:::b/logs/é/*"),
    ];
    for (keys, want) in cases {
        let calls: Vec<(&str, &str, &str)> = keys.iter().map(|k| ("GetObject", "b", *k)).collect();
        assert_eq!(
            s3_policy(&calls, S3Objects::Prefix),
            [("s3:GetObject".to_owned(), vec![want.to_owned()])],
            "{keys:?}"
        );
        assert_eq!(
            s3_policy(&calls, S3Objects::default()),
            s3_policy(&calls, S3Objects::Prefix),
            "prefix is the default"
        );
    }
}

#[test]
fn s3_objects_prefix_works_per_bucket_and_action() {
    let got = s3_policy(
        &[
            ("GetObject", "b", "in/1"),
            ("GetObject", "b", "in/2"),
            ("GetObject", "c", "in/3"),
            ("PutObject", "b", "out/1"),
        ],
        S3Objects::Prefix,
    );
    assert_eq!(
        got,
        [
            (
                "s3:GetObject".to_owned(),
                vec![
                    "arn:aws:s3:::b/in/*".to_owned(),
                    "arn:aws:s3:::c/in/3".to_owned()
                ]
            ),
            (
                "s3:PutObject".to_owned(),
                vec!["arn:aws:s3:::b/out/1".to_owned()]
            ),
        ]
    );
}

#[test]
fn s3_objects_bucket_grants_the_whole_bucket() {
    let got = s3_policy(
        &[
            ("GetObject", "b", "in/1"),
            ("GetObject", "c", "x"),
            ("PutObject", "b", "out/1"),
        ],
        S3Objects::Bucket,
    );
    assert_eq!(
        got,
        [
            (
                "s3:GetObject".to_owned(),
                vec!["arn:aws:s3:::b/*".to_owned(), "arn:aws:s3:::c/*".to_owned()]
            ),
            (
                "s3:PutObject".to_owned(),
                vec!["arn:aws:s3:::b/*".to_owned()]
            ),
        ]
    );
}

#[test]
fn s3_generalisation_keeps_literal_characters_escaped() {
    let got = s3_policy(
        &[
            ("GetObject", "b", "we*rd/1"),
            ("GetObject", "b", "we*rd/2"),
            ("PutObject", "b", "$x?"),
        ],
        S3Objects::Prefix,
    );
    assert_eq!(
        got,
        [
            (
                "s3:GetObject".to_owned(),
                vec!["arn:aws:s3:::b/we${*}rd/*".to_owned()]
            ),
            (
                "s3:PutObject".to_owned(),
                vec!["arn:aws:s3:::b/${$}x${?}".to_owned()]
            ),
        ]
    );
}

#[test]
fn s3_objects_modes_parse_and_bad_names_are_usage_errors() {
    assert_eq!("exact".parse::<S3Objects>().ok(), Some(S3Objects::Exact));
    assert_eq!("prefix".parse::<S3Objects>().ok(), Some(S3Objects::Prefix));
    assert_eq!("bucket".parse::<S3Objects>().ok(), Some(S3Objects::Bucket));
    let err = "objects".parse::<S3Objects>().expect_err("bad mode");
    assert_eq!(err.kind(), ErrorKind::Usage);
}

// ---------------------------------------------------------------------------------------------
// Mappings from the command line

#[test]
fn mappings_parse_from_to_and_apply() {
    let pair = parse_mapping(" 123456789012 = 210987654321 ").expect("mapping");
    assert_eq!(pair, ("123456789012".to_owned(), "210987654321".to_owned()));
    for bad in ["123456789012", "=210987654321", "123456789012=", ""] {
        assert_eq!(
            parse_mapping(bad).expect_err(bad).kind(),
            ErrorKind::Usage,
            "{bad}"
        );
    }
    let rules = Rules::builtin();
    let mut seen = Observed::new();
    record(
        &mut seen,
        &rules,
        &Call::new(
            "sqs",
            "SendMessage",
            json!({"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q"}),
        ),
    );
    let opts = PolicyOptions {
        map_account: vec![pair],
        map_region: vec![parse_mapping("us-east-1=eu-west-1").expect("mapping")],
        ..PolicyOptions::default()
    };
    let json = render_json(
        &build_policies(&seen, &opts).expect("policies build"),
        false,
    );
    assert!(
        json.contains("\"arn:aws:sqs:eu-west-1:210987654321:q\""),
        "{json}"
    );
}

/// A policy that fits IAM's limit is one document, and a split one uses no more documents than
/// its size needs (first fit, resources cut to fill a document).
#[test]
fn splitting_only_when_needed_and_tightly() {
    let rules = Rules::builtin();
    let mut seen = Observed::new();
    for i in 0..57 {
        let call = Call::new(format!("zz{i:03}"), "DoThingNumber", serde_json::json!({}));
        record(&mut seen, &rules, &call);
    }
    let set = build_policies(&seen, &PolicyOptions::default()).expect("policies build");
    assert_eq!(
        set.policies[0].documents.len(),
        1,
        "57 small statements fit in one document"
    );

    let mut seen = Observed::new();
    for i in 0..400 {
        let key = format!("reports/2024/some-long-file-name-{i:04}.csv");
        record(
            &mut seen,
            &rules,
            &Call::new(
                "s3",
                "GetObject",
                serde_json::json!({"Bucket": "b", "Key": key}),
            ),
        );
    }
    let opts = PolicyOptions {
        region: Some("eu-west-1".into()),
        s3_objects: leastpriv::S3Objects::Exact,
        ..PolicyOptions::default()
    };
    let set = build_policies(&seen, &opts).expect("policies build");
    let sizes: Vec<usize> = set.policies[0]
        .documents
        .iter()
        .map(|d| {
            leastpriv::render_document_json(d)
                .chars()
                .filter(|c| !c.is_whitespace())
                .count()
        })
        .collect();
    let total: usize = sizes.iter().sum();
    assert!(sizes.iter().all(|s| *s <= 6144), "{sizes:?}");
    assert_eq!(sizes.len(), total.div_ceil(6144 - 100), "{sizes:?}");
}

/// Principals keep their own policies whatever their names: JSON keys are the principal names
/// themselves (calls without one under ""), Terraform block names stay distinct after the
/// sanitising identifiers need, and a principal named like the policy name keeps its own.
#[test]
fn group_by_names_never_collide() {
    let rules = Rules::builtin();
    let mut seen = Observed::new();
    let principals = [
        Some("a b"),
        Some("a_b"),
        Some("a_b-2"),
        None,
        Some("leastpriv"),
        Some("x"),
        Some("x_2"),
    ];
    for (i, principal) in principals.iter().enumerate() {
        let mut call = Call::new(
            "sqs",
            "SendMessage",
            serde_json::json!({"QueueUrl": format!("https://sqs.eu-west-1.amazonaws.com/123456789012/q{i}")}),
        );
        call.principal = principal.map(str::to_owned);
        record(&mut seen, &rules, &call);
    }
    // `x` needs two documents, so its second block could meet `x_2`'s first.
    for k in 0..400 {
        let mut call = Call::new(
            "s3",
            "GetObject",
            serde_json::json!({"Bucket": format!("bucket-with-a-long-name-{k:04}"), "Key": "k"}),
        );
        call.principal = Some("x".into());
        record(&mut seen, &rules, &call);
    }
    let opts = PolicyOptions {
        group_by: true,
        ..PolicyOptions::default()
    };
    let set = build_policies(&seen, &opts).expect("policies build");
    assert_eq!(set.policies.len(), principals.len());
    let json: serde_json::Value =
        serde_json::from_str(&leastpriv::render_json(&set, true)).unwrap();
    let keys: std::collections::BTreeSet<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let want: std::collections::BTreeSet<&str> =
        principals.iter().map(|p| p.unwrap_or("")).collect();
    assert_eq!(
        keys, want,
        "every principal keeps its policy, under its own name"
    );
    // Each key holds its own queue.
    for (i, p) in principals.iter().enumerate() {
        let text = json[p.unwrap_or("")].to_string();
        assert!(text.contains(&format!(":q{i}\"")), "{p:?}: {text}");
    }
    let tf = leastpriv::render_terraform(&set, &leastpriv::TerraformOptions::default());
    let blocks: Vec<&str> = tf
        .lines()
        .filter_map(|l| l.strip_prefix("data \"aws_iam_policy_document\" "))
        .collect();
    let distinct: std::collections::BTreeSet<&&str> = blocks.iter().collect();
    assert_eq!(distinct.len(), blocks.len(), "{blocks:?}");
    assert!(blocks.len() > principals.len(), "x was split: {blocks:?}");
}

/// Many permissions (enough for the policy to be built on several threads): S3 objects under
/// shared prefixes, some only ever refused, names that look generated, rewritten names, a
/// listing's condition, several principals.
fn many_permissions() -> Observed {
    let rules = Rules::builtin();
    let mut seen = Observed::new();
    for i in 0..4_000u32 {
        let (service, op, params) = match i % 6 {
            0 | 1 => (
                "s3",
                if i % 12 == 0 {
                    "PutObject"
                } else {
                    "GetObject"
                },
                json!({"Bucket": format!("bucket-{}", i % 7), "Key": format!("data/{}/obj-{i}.json", i % 13)}),
            ),
            2 => (
                "s3",
                "ListObjectsV2",
                json!({"Bucket": format!("bucket-{}", i % 5), "Prefix": format!("p{}/", i % 9)}),
            ),
            3 => (
                "dynamodb",
                "GetItem",
                json!({"TableName": format!("it-{:06x}-orders", 0xa00000 + i)}),
            ),
            4 => (
                "sqs",
                "SendMessage",
                json!({"QueueUrl": format!("https://sqs.eu-west-1.amazonaws.com/123456789012/q-{i}")}),
            ),
            _ => (
                "lambda",
                "Invoke",
                json!({"FunctionName": format!("fn-{}", i % 300)}),
            ),
        };
        let mut call = Call::new(service, op, params);
        call.region = Some("eu-west-1".into());
        call.account = Some("123456789012".into());
        call.principal = Some(format!("role/r{}", i % 3));
        call.source = leastpriv::Source::at(std::sync::Arc::from("e.jsonl"), u64::from(i) + 1);
        if i % 10 == 3 {
            call.outcome = leastpriv::Outcome::Error { code: None };
        }
        record(&mut seen, &rules, &call);
    }
    seen
}

#[test]
fn permission_lines_met_in_both_halves_of_the_permissions_are_written_once() {
    // Each line twice, once per principal, the first principal's all before the second's:
    // the threads' runs hold the same lines, and with an odd number of lines the middle one
    // is where the two halves of the merged lines meet.
    let rules = leastpriv::Rules::builtin();
    let mut seen = leastpriv::Observed::new();
    for principal in ["role/a", "role/b"] {
        for i in 0..1_201u32 {
            let mut call = Call::new(
                "sqs",
                "SendMessage",
                json!({"QueueUrl": format!("https://sqs.eu-west-1.amazonaws.com/123456789012/q-{i:05}")}),
            );
            call.principal = Some(principal.to_owned());
            call.source = leastpriv::Source::at(std::sync::Arc::from("e.jsonl"), u64::from(i) + 1);
            record(&mut seen, &rules, &call);
        }
    }
    assert_eq!(seen.len(), 2 * 1_201);
    let opts = PolicyOptions::default();
    let mut one = Vec::new();
    leastpriv::write_permission_lines(&seen, &opts, &mut one).unwrap();
    let text = String::from_utf8(one.clone()).unwrap();
    assert_eq!(text.lines().count(), 1_201);
    assert!(text.lines().nth(600).unwrap().contains(":q-00600\""));
    for jobs in [2, 3, 4] {
        let mut many = Vec::new();
        leastpriv::write_permission_lines_on(&seen, &opts, &mut many, jobs).unwrap();
        assert!(many == one, "jobs {jobs}");
    }
}

#[test]
fn policies_and_permission_lines_built_on_several_threads_are_those_built_on_one() {
    let seen = many_permissions();
    // More than the 2,048 permissions under which one thread builds the policy.
    assert!(seen.len() > 2_048, "{}", seen.len());
    let with = |extra: serde_json::Value| {
        let mut o = json!({"region": "eu-west-1", "account": "123456789012", "env": "prod"});
        o.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        leastpriv::RunOptions::from_json(&o)
            .expect("options")
            .policy
    };
    let cases = [
        with(json!({})),
        with(json!({"s3_objects": "exact", "group_by": "principal"})),
        with(json!({"outcome": "ok", "s3_objects": "bucket"})),
        with(json!({"rewrite": [
            {"service": "dynamodb", "type": "table", "match": "it-*-orders", "name": "orders"},
            {"service": "sqs", "match": "q-1*", "name": "queue-<env>"},
        ]})),
    ];
    for opts in &cases {
        let one = build_policies(&seen, opts).expect("one thread");
        let json1 = render_json(&one, opts.group_by);
        assert!(one.statements().count() > 3);
        let mut lines1 = Vec::new();
        leastpriv::write_permission_lines(&seen, opts, &mut lines1).unwrap();
        assert!(lines1.iter().filter(|b| **b == b'\n').count() > 1_000);
        for jobs in [2, 3, 4] {
            let many = leastpriv::build_policies_on(&seen, opts, jobs).expect("threads");
            assert_eq!(many, one, "jobs {jobs}");
            assert_eq!(render_json(&many, opts.group_by), json1, "jobs {jobs}");
            let mut lines = Vec::new();
            leastpriv::write_permission_lines_on(&seen, opts, &mut lines, jobs).unwrap();
            assert!(lines == lines1, "permission lines, jobs {jobs}");
        }
    }
    // The generated-looking table names are told of, with their counts, once.
    let one = build_policies(&seen, &cases[0]).unwrap();
    let random: Vec<_> = one
        .diagnostics
        .iter()
        .filter(|(d, _)| d.message.contains("looks made for a test run"))
        .collect();
    assert!(!random.is_empty());
    // An error is the one a single thread meets first.
    let clash = with(json!({"rewrite": [
        {"service": "sqs", "match": "q-1*", "name": "a"},
        {"service": "sqs", "match": "q-*", "name": "b"},
    ]}));
    let e1 = build_policies(&seen, &clash).expect_err("two rules match");
    for jobs in [2, 3] {
        let e = leastpriv::build_policies_on(&seen, &clash, jobs).expect_err("two rules match");
        assert_eq!(e.to_string(), e1.to_string(), "jobs {jobs}");
    }
}
