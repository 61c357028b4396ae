//! Hostile input, found by a security review of the landed main: each test failed before its fix.
//! (The CLI's part is in `cli_hostile.rs`; what every language checks is in
//! `spec/vectors/hostile.json`.)

use leastpriv::{
    Call, DiagnosticKind, ErrorKind, Format, MANAGED_POLICY_LIMIT, Observed, PolicyOptions,
    ReadOptions, Rules, build_policies, document_size, read_into, render_json, render_report_text,
};
use serde_json::json;

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

fn call(service: &str, op: &str, params: serde_json::Value) -> Call {
    let mut c = Call::new(service, op, params);
    c.region = Some("eu-west-1".into());
    c.account = Some("123456789012".into());
    c
}

/// Every emitted document meets the size count, Sid suffixes and Unicode whitespace inside
/// strings included (before: 6,145–6,148-character documents, and an 11,381-character one).
#[test]
fn every_document_meets_the_size_count() {
    let rules = Rules::builtin();
    for (n, key) in [
        (2_000, "plain-key"),
        (900, "key\u{a0}with\u{2028}unicode\u{3000}spaces"),
        (3_000, "k"),
    ] {
        let mut seen = Observed::new();
        for i in 0..n {
            record(
                &mut seen,
                &rules,
                &call(
                    "s3",
                    "GetObject",
                    json!({"Bucket": format!("bucket-{i:05}"), "Key": format!("{key}-{i}")}),
                ),
            );
            record(
                &mut seen,
                &rules,
                &call(
                    "dynamodb",
                    "GetItem",
                    json!({"TableName": format!("t{i}-{key}")}),
                ),
            );
        }
        let opts = PolicyOptions {
            s3_objects: leastpriv::S3Objects::Exact,
            ..PolicyOptions::default()
        };
        let set = build_policies(&seen, &opts).expect("policies build");
        let mut docs = 0;
        for p in &set.policies {
            for d in &p.documents {
                docs += 1;
                let size = document_size(d);
                assert!(size <= MANAGED_POLICY_LIMIT, "{size} characters");
                // The count is no smaller than what the rendered document holds outside
                // whitespace.
                let text = leastpriv::render_document_json(d);
                let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
                let minified = serde_json::to_string(&v).expect("JSON");
                assert!(
                    minified.chars().count() <= size + 1,
                    "the count undercounts"
                );
            }
        }
        assert!(docs > 2, "{docs} documents: the test splits");
        // Sids stay unique across all documents.
        let sids: Vec<&str> = set.statements().map(|s| s.sid.as_str()).collect();
        let mut uniq = sids.clone();
        uniq.sort_unstable();
        uniq.dedup();
        assert_eq!(uniq.len(), sids.len());
        assert!(
            !set.diagnostics
                .iter()
                .any(|(d, _)| d.kind == DiagnosticKind::Oversize)
        );
    }
}

/// A single permission larger than the limit cannot be split: the document says so with an
/// `oversize` diagnostic (before: a 7,133-character document, exit 0, nothing said).
#[test]
fn a_permission_too_large_to_fit_is_diagnosed() {
    let rules = Rules::builtin();
    let mut seen = Observed::new();
    let key = "k".repeat(7_000);
    record(
        &mut seen,
        &rules,
        &call("s3", "GetObject", json!({"Bucket": "b", "Key": key})),
    );
    let set = build_policies(&seen, &PolicyOptions::default()).expect("policies build");
    assert!(
        set.diagnostics
            .iter()
            .any(|(d, _)| d.kind == DiagnosticKind::Oversize),
        "{:?}",
        set.diagnostics
    );
    let report = render_report_text(&set, &seen.counts(), &[]);
    assert!(report.contains("oversize"), "{report}");
}

/// More than ten managed policies for one principal: a `quota` diagnostic.
#[test]
fn more_documents_than_a_role_can_attach_is_diagnosed() {
    let rules = Rules::builtin();
    let mut seen = Observed::new();
    for i in 0..6_000 {
        record(
            &mut seen,
            &rules,
            &call(
                "s3",
                "GetObject",
                json!({"Bucket": format!("a-bucket-with-a-long-name-{i:05}"), "Key": "k"}),
            ),
        );
    }
    let set = build_policies(&seen, &PolicyOptions::default()).expect("policies build");
    assert!(set.policies[0].documents.len() > 10);
    assert!(
        set.diagnostics
            .iter()
            .any(|(d, _)| d.kind == DiagnosticKind::Quota)
    );
}

fn state(permission: serde_json::Value) -> Vec<u8> {
    let mut p = permission;
    p["ok"] = json!(1);
    p["failed"] = json!(0);
    p["first"] = json!({"source": "x", "line": 1});
    serde_json::to_vec(&json!({
        "format": "leastpriv-observed", "version": 1,
        "counts": {"calls": 1, "skipped": 0, "malformed": 0},
        "permissions": [p], "diagnostics": []
    }))
    .expect("JSON")
}

/// A serialized state is input like any other (before: `Allow "*"` on `"*"` printed with exit
/// 0; raw pattern parts carried `${aws:username}` into the policy).
#[test]
fn a_state_file_is_checked_as_the_engine_output_would_be() {
    let star = |s: &str| json!({"s": [{"p": s}]});
    for bad in [
        json!({"action": "*", "resource": star("*")}),
        json!({"action": "s3:", "resource": star("*")}),
        json!({"action": ":GetObject", "resource": star("*")}),
        json!({"action": "s3:GetObject", "resource": star("arn:aws:s3:::b/${aws:username}")}),
        json!({"action": "s3:GetObject", "resource": star("not an arn")}),
        json!({"action": "s3:GetObject", "resource": {"s": [{"p": "arn:"}, {"f": ["region", "eu-west-1:123456789012:table/x"]}, {"p": ":s3:::b"}]}}),
        json!({"action": "kms:Decrypt", "resource": star("*"),
               "condition": {"StringEquals": {"kms:RequestAlias": ["${aws:username}"]}}}),
    ] {
        let err = Observed::from_bytes(&state(bad.clone())).expect_err(&bad.to_string());
        assert_eq!(err.kind(), ErrorKind::Serialization, "{bad}");
        assert!(
            err.field()
                .is_some_and(|f| f.starts_with("permissions[0]."))
        );
    }
    // A valid form the rules never emit is read, with an `unmapped_operation` diagnostic that
    // --fail-on unmapped sees.
    let ok = json!({"action": "frobnicate:DoThing", "resource": star("*")});
    let mut seen = Observed::new();
    read_into(
        &Rules::builtin(),
        &mut seen,
        &state(ok)[..],
        "state.json",
        &ReadOptions::default(),
    )
    .expect("a valid state reads");
    assert!(
        seen.diagnostics()
            .iter()
            .any(|(d, _)| d.kind == DiagnosticKind::UnmappedOperation)
    );
}

/// Engine output always passes the state check: a state written by one run reads in another.
#[test]
fn engine_output_round_trips_through_the_state_check() {
    let rules = Rules::builtin();
    let mut seen = Observed::new();
    for (svc, op, params) in [
        (
            "s3",
            "GetObject",
            json!({"Bucket": "b", "Key": "a*b?c$d ${x}"}),
        ),
        ("kms", "Encrypt", json!({"KeyId": "alias/orders$1"})),
        (
            "ec2",
            "RunInstances",
            json!({"ImageId": "ami-1", "IamInstanceProfile": {"Name": "p"}}),
        ),
        (
            "sts",
            "AssumeRole",
            json!({"RoleArn": "arn:aws:iam::123456789012:role/r"}),
        ),
    ] {
        record(&mut seen, &rules, &call(svc, op, params));
    }
    let again = Observed::from_bytes(&seen.to_bytes()).expect("reads back");
    assert_eq!(again, seen);
}

/// An event longer than the limit is an error found before parsing it, and memory stays
/// bounded (before: a 50 MB EDN line took 2.8 GB; `/dev/zero` grew to 2.1 GB in 8 s).
#[test]
fn an_event_over_the_size_limit_is_refused_before_parsing() {
    let opts = ReadOptions {
        max_event_bytes: 1 << 10,
        ..ReadOptions::default()
    };
    let big = format!(
        "{{\"service\": \"s3\", \"operation\": \"GetObject\", \"params\": {{\"Body\": \"{}\"}}}}\n",
        "x".repeat(4 << 10)
    );
    let text = format!(
        "{}{big}",
        "{\"service\": \"sqs\", \"operation\": \"ListQueues\"}\n"
    );
    let mut seen = Observed::new();
    let err = read_into(
        &Rules::builtin(),
        &mut seen,
        text.as_bytes(),
        "big.jsonl",
        &opts,
    )
    .expect_err("too large");
    assert_eq!(err.kind(), ErrorKind::InvalidEvent);
    assert_eq!(err.line(), Some(2));
    // Lenient: skipped, counted, and reading goes on.
    let text = format!(
        "{big}{}",
        "{\"service\": \"sqs\", \"operation\": \"ListQueues\"}\n"
    );
    let mut seen = Observed::new();
    read_into(
        &Rules::builtin(),
        &mut seen,
        text.as_bytes(),
        "big.jsonl",
        &ReadOptions {
            lenient: true,
            ..opts.clone()
        },
    )
    .expect("lenient");
    assert_eq!((seen.counts().calls, seen.counts().malformed), (1, 1));
    // An endless line without a newline: bounded, an error.
    let endless = std::io::Read::take(std::io::repeat(b'{'), 64 << 20);
    let mut seen = Observed::new();
    let err = read_into(
        &Rules::builtin(),
        &mut seen,
        std::io::BufReader::new(endless),
        "zero",
        &ReadOptions {
            format: Format::MulogEdn,
            ..opts
        },
    )
    .expect_err("endless");
    assert_eq!(err.kind(), ErrorKind::InvalidEvent);
}

/// A UTF-16 file gets its own message, not "cannot tell the input format".
#[test]
fn utf16_input_is_named_as_such() {
    let mut bytes = vec![0xFF, 0xFE];
    for c in "{\"service\": \"s3\"}".encode_utf16() {
        bytes.extend_from_slice(&c.to_le_bytes());
    }
    let mut seen = Observed::new();
    let err = read_into(
        &Rules::builtin(),
        &mut seen,
        &bytes[..],
        "u16.jsonl",
        &ReadOptions::default(),
    )
    .expect_err("UTF-16");
    assert_eq!(err.kind(), ErrorKind::Encoding);
    assert!(err.message().contains("UTF-16"), "{err}");
}

/// The malformed list keeps the first hundred places and says how many more there were.
#[test]
fn the_malformed_list_says_how_many_more() {
    let mut text = String::from("{\"service\": \"sqs\", \"operation\": \"ListQueues\"}\n");
    for _ in 0..150 {
        text.push_str("{\"service\": \n");
    }
    let mut seen = Observed::new();
    read_into(
        &Rules::builtin(),
        &mut seen,
        text.as_bytes(),
        "bad.jsonl",
        &ReadOptions {
            lenient: true,
            ..ReadOptions::default()
        },
    )
    .expect("lenient");
    let at: Vec<_> = seen.malformed_at().cloned().collect();
    let report = render_report_text(
        &build_policies(&seen, &PolicyOptions::default()).expect("policies build"),
        &seen.counts(),
        &at,
    );
    assert!(report.contains("and 50 more malformed"), "{report}");
}

/// Text from events is escaped in the text report: it can neither clear the screen nor fake a
/// line of output.
#[test]
fn control_characters_are_escaped_in_the_text_report() {
    let rules = Rules::builtin();
    let mut seen = Observed::new();
    let mut c = call(
        "s3",
        "GetObject",
        json!({"Bucket": "b", "Key": "x\u{1b}[2J\rleastpriv: 0 malformed\u{7}"}),
    );
    c.outcome = leastpriv::Outcome::Error { code: None };
    c.source = leastpriv::Source::label("file\nname");
    record(&mut seen, &rules, &c);
    let set = build_policies(&seen, &PolicyOptions::default()).expect("policies build");
    let report = render_report_text(&set, &seen.counts(), &[]);
    assert!(
        !report
            .chars()
            .any(|ch| ch == '\u{1b}' || ch == '\r' || ch == '\u{7}'),
        "{report:?}"
    );
    assert_eq!(
        report
            .lines()
            .filter(|l| l.starts_with("leastpriv:"))
            .count(),
        1,
        "{report}"
    );
    // The JSON outputs escape them as JSON does.
    let json = render_json(&set, false);
    assert!(json.contains("\\u001b"), "{json}");
}
