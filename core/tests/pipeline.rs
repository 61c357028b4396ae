//! The pipeline reads as the plain readers and the engine do, whatever shortcut it takes: the
//! fast lane (lines known by their key), the derivation cache, parsing only what the rules
//! read, and several jobs over parts of one file.

use leastpriv::{CallReader, Evidence, Format, Observed, Pipeline, ReadOptions, Rules, derive};
use std::io::Write as _;

/// What the plain reader (every parameter read) and the engine make of `text`, call by call.
fn reference(text: &str, label: &str, opts: &ReadOptions) -> Observed {
    let rules = Rules::builtin();
    let mut seen = Observed::new();
    let mut reader = CallReader::new(text.as_bytes(), label, opts).expect("reader");
    for &line in reader.undetected_lines() {
        seen.count_malformed(Evidence::new(label, line));
    }
    for item in reader.by_ref() {
        match item {
            Ok(call) => {
                let d = derive(&rules, &call);
                seen.add(
                    &d,
                    call.principal.as_deref(),
                    call.outcome.is_ok(),
                    &call.source,
                );
            }
            Err(e) => {
                assert!(opts.lenient, "{e}");
                seen.count_malformed(Evidence::new(label, e.line().unwrap_or(0)));
            }
        }
    }
    seen.count_skipped_n(reader.skipped());
    seen
}

fn piped(text: &str, label: &str, opts: &ReadOptions) -> Observed {
    let mut p = Pipeline::new(Rules::builtin(), opts.clone());
    p.read(text.as_bytes(), label).expect("pipeline");
    p.into_observed()
}

/// A small deterministic generator (no dependency, the same events on every run).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() as usize) % items.len()]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A request for `service`/`operation`: members the rules read, payloads they do not, and
/// shapes that test the walk (nested lists, maps, nulls, escapes, numbers).
fn json_request(g: &mut Gen, service: &str) -> String {
    let name = g.pick(&["a", "b", "orders", "x*y", "caf\\u00e9", "q\\\"t", ""]);
    let payload = g.pick(&[
        "\"x\"",
        "\"y\"",
        "{\"deep\": [1, 2, {\"k\": null}]}",
        "12.50",
        "[]",
    ]);
    match service {
        "s3" => format!(
            r#"{{"Bucket": "{name}", "Key": "k/{}", "Body": {payload}}}"#,
            g.next() % 3
        ),
        "sqs" => format!(
            r#"{{"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/{name}", "MessageBody": {payload}, "Entries": [{{"Id": "1"}}, {{"Id": 2}}]}}"#
        ),
        "dynamodb" => format!(
            r#"{{"TableName": "{name}", "Key": {{"pk": {{"S": {payload}}}}}, "TransactItems": [{{"Put": {{"TableName": "t{}", "Item": {payload}}}}}, {{"Delete": null}}, 3]}}"#,
            g.next() % 2
        ),
        "iam" => format!(r#"{{"RoleName": "{name}", "PolicyDocument": {payload}}}"#),
        _ => format!(r#"{{"Name": "{name}", "Extra": {payload}}}"#),
    }
}

fn json_event(g: &mut Gen) -> String {
    let service = g.pick(&["s3", "sqs", "dynamodb", "iam", "nosuchservice", "S3Client"]);
    let op = match service {
        "s3" | "S3Client" => g.pick(&[
            "GetObject",
            "PutObject",
            "ListObjectsV2",
            "GetObjectCommand",
        ]),
        "sqs" => g.pick(&["SendMessage", "SendMessageBatch", "ReceiveMessage"]),
        "dynamodb" => g.pick(&["GetItem", "TransactWriteItems", "Query"]),
        "iam" => g.pick(&["GetRole", "PutRolePolicy"]),
        _ => g.pick(&["DoThing", "GetThing"]),
    };
    let svc_key = if g.chance(15) { "service" } else { "api" };
    let mut members = vec![
        format!(
            r#""mulog/event-name": "{}""#,
            if g.chance(8) {
                "other/event"
            } else {
                "aws/request"
            }
        ),
        format!(r#""mulog/timestamp": {}"#, g.next()),
        format!(r#""mulog/trace-id": "t{}""#, g.next()),
        format!(r#""{svc_key}": "{service}""#),
        format!(r#""operation": "{op}""#),
    ];
    if g.chance(70) {
        members.push(format!(r#""request": {}"#, json_request(g, service)));
    } else if g.chance(30) {
        members.push(r#""request": null"#.into());
    } else if g.chance(30) {
        members.push(format!(
            r#""request": {{"op": "{op}", "request": {}}}"#,
            json_request(g, service)
        ));
    }
    if g.chance(20) {
        members.push(r#""mulog/outcome": "error""#.into());
        // The error code, which decides whether the call was refused, from the exception,
        // the response, or nowhere.
        members.push(
            g.pick(&[
                r#""exception": {"cognitect.aws.error/code": "AccessDenied"}"#,
                r#""exception": {"data": {"ErrorCode": "NoSuchKey"}}"#,
                r#""response": {"Error": {"Code": "AccessDenied"}}"#,
                r#""response": {"ETag": "x"}"#,
            ])
            .into(),
        );
    } else if g.chance(10) {
        members.push(
            g.pick(&[
                r#""response": {"cognitect.anomalies/category": "cognitect.anomalies/forbidden", "cognitect.aws.error/code": "AccessDenied"}"#,
                r#""response": {"cognitect.anomalies/category": "cognitect.anomalies/not-found", "cognitect.aws.error/code": "NoSuchKey"}"#,
            ])
            .into(),
        );
    } else if g.chance(10) {
        members.push(
            r#""response": {"cognitect.anomalies/category": "cognitect.anomalies/forbidden"}"#
                .into(),
        );
    } else if g.chance(10) {
        members.push(r#""response": {"ETag": "x"}"#.into());
    }
    if g.chance(60) {
        members.push(format!(
            r#""app-name": "{}""#,
            g.pick(&["orders", "billing", ":kw", "caf\\u00e9"])
        ));
    }
    if g.chance(30) {
        members.push(format!(
            r#""region": "{}""#,
            g.pick(&["eu-west-1", "us-east-1", ""])
        ));
    }
    if g.chance(10) {
        members.push(r#"":account": "123456789012""#.into());
    }
    if g.chance(3) {
        // A duplicate key, an error.
        members.push(r#""mulog/trace-id": "again""#.into());
    }
    if g.chance(3) {
        members.push(r#""\u0061pi": "sqs""#.into());
    }
    // Members in any order.
    let n = members.len();
    for i in (1..n).rev() {
        members.swap(i, (g.next() as usize) % (i + 1));
    }
    format!("{{{}}}", members.join(", "))
}

fn edn_event(g: &mut Gen) -> String {
    let (api, op, req) = match g.next() % 5 {
        0 => (
            "s3",
            "GetObject",
            format!(
                r#"{{:Bucket "{}", :Key "k/{}", :Body "payload"}}"#,
                g.pick(&["a", "b", "c\\\"q"]),
                g.next() % 3
            ),
        ),
        1 => (
            "sqs",
            "SendMessage",
            format!(
                r#"{{:QueueUrl "https://sqs.eu-west-1.amazonaws.com/123456789012/{}", :MessageBody "{}"}}"#,
                g.pick(&["q1", "q2"]),
                g.next()
            ),
        ),
        2 => (
            "dynamodb",
            "TransactWriteItems",
            format!(
                r#"{{:TransactItems [{{:Put {{:TableName "t{}", :Item {{:pk {{:S "x"}}}}}}}} {{:Update {{:TableName :kw}}}}]}}"#,
                g.next() % 3
            ),
        ),
        3 => (
            "iam",
            "GetRole",
            format!(r#"{{:RoleName #my/tag "r{}"}}"#, g.next() % 2),
        ),
        _ => (
            "s3",
            "ListObjectsV2",
            r#"{:Bucket "b", :Prefix nil, :MaxKeys 100}"#.to_string(),
        ),
    };
    let outcome = if g.chance(20) { ":error" } else { ":ok" };
    let app = if g.chance(50) {
        format!(", :app-name \"{}\"", g.pick(&["orders", "billing"]))
    } else {
        String::new()
    };
    let name = if g.chance(8) {
        ":other/event"
    } else {
        ":aws/request"
    };
    let extra = match g.next() % 16 {
        0 => ", :mulog/duration 0123".to_string(),
        1 => ", :weird (1 2)".to_string(),
        2 => ", :set #{1 2}".to_string(),
        3 => format!(", :mulog/trace-id #mulog/flake \"{}\"", g.next()),
        4 => r#", :response {:cognitect.anomalies/category :cognitect.anomalies/forbidden, :cognitect.aws.error/code "AccessDenied"}"#.to_string(),
        5 => format!(
            r#", :exception {{:message "boom", :data {{:cognitect.aws.error/code "{}"}}}}"#,
            g.pick(&["NoSuchKey", "AccessDenied"])
        ),
        6 => r#", :result {:cognitect.anomalies/category :cognitect.anomalies/not-found}"#.to_string(),
        7 => r#", :response {:ETag "x"}, :region "us-west-2", :account "210987654321""#.to_string(),
        8 => r#", :aws/region "eu-central-1", :endpoint "http://127.0.0.1:5000""#.to_string(),
        9 => r#", :cognitect.aws.error/code "Throttling""#.to_string(),
        _ => String::new(),
    };
    let form = format!(
        "{{:mulog/event-name {name}, :mulog/timestamp {}, :mulog/outcome {outcome}, :api :{api}, :operation :{op}, :request {req}{app}{extra}}}",
        g.next()
    );
    if g.chance(5) {
        // Printed across lines, as pr with a long form may.
        form.replacen(", :request", ",\n  :request", 1)
    } else {
        form
    }
}

#[test]
fn the_fast_lane_and_the_caches_count_as_the_engine_does() {
    let mut g = Gen(7);
    // Few distinct events, each many times (the lane's hits), then many distinct ones.
    let mut json = String::new();
    let pool: Vec<String> = (0..60).map(|_| json_event(&mut g)).collect();
    for _ in 0..1500 {
        json.push_str(&pool[(g.next() as usize) % pool.len()]);
        json.push('\n');
    }
    for _ in 0..800 {
        json.push_str(&json_event(&mut g));
        json.push('\n');
    }
    for group_by in [None, Some("app-name".to_owned()), Some("api".to_owned())] {
        let opts = ReadOptions {
            lenient: true,
            principal_key: group_by,
            ..ReadOptions::default()
        };
        let want = reference(&json, "events.jsonl", &opts);
        let got = piped(&json, "events.jsonl", &opts);
        assert!(want.counts().malformed > 0 && want.counts().skipped > 0);
        assert_eq!(
            String::from_utf8(got.to_bytes()).unwrap(),
            String::from_utf8(want.to_bytes()).unwrap()
        );
    }

    let mut edn = String::new();
    let pool: Vec<String> = (0..40).map(|_| edn_event(&mut g)).collect();
    for _ in 0..1200 {
        edn.push_str(&pool[(g.next() as usize) % pool.len()]);
        edn.push('\n');
    }
    // Many distinct events: each a new key, read of only what the call is made of.
    for _ in 0..400 {
        edn.push_str(&edn_event(&mut g));
        edn.push('\n');
    }
    let opts = ReadOptions {
        lenient: true,
        principal_key: Some("app-name".into()),
        ..ReadOptions::default()
    };
    let want = reference(&edn, "events.edn", &opts);
    let got = piped(&edn, "events.edn", &opts);
    assert!(want.counts().calls > 500);
    assert_eq!(
        String::from_utf8(got.to_bytes()).unwrap(),
        String::from_utf8(want.to_bytes()).unwrap()
    );
}

#[test]
fn plain_call_lines_take_the_lane_too() {
    let mut g = Gen(11);
    let mut text = String::new();
    for _ in 0..1500 {
        let params = json_request(&mut g, "s3");
        let outcome = g.pick(&[
            "",
            r#", "outcome": "error""#,
            r#", "error_code": "NoSuchKey""#,
        ]);
        let principal = g.pick(&["", r#", "principal": "app""#, r#", "principal": null"#]);
        let source = g.pick(&["", "", "", r#", "source": "test_a""#]);
        text.push_str(&format!(
            r#"{{"service": "s3", "operation": "{}", "params": {params}, "region": "eu-west-1"{outcome}{principal}{source}}}"#,
            g.pick(&["GetObject", "PutObject", "DeleteObject"])
        ));
        text.push('\n');
    }
    let opts = ReadOptions {
        format: Format::Jsonl,
        lenient: true,
        principal_key: Some("principal".into()),
        ..ReadOptions::default()
    };
    let want = reference(&text, "calls.jsonl", &opts);
    let got = piped(&text, "calls.jsonl", &opts);
    assert_eq!(
        String::from_utf8(got.to_bytes()).unwrap(),
        String::from_utf8(want.to_bytes()).unwrap()
    );
}

#[test]
fn lines_met_again_count_as_the_engine_does_after_the_lane_forgets() {
    // More distinct calls than the lane keeps (it forgets them all, and the whole lines it
    // knows with them), each line met again at random from everything before it: some
    // still known, some forgotten; and a long stretch of lines that never repeat.
    let mut g = Gen(31);
    let mut lines: Vec<String> = Vec::new();
    let mut text = String::new();
    for i in 0..48_000u64 {
        let line = if i % 4 == 3 && !lines.is_empty() {
            lines[(g.next() as usize) % lines.len()].clone()
        } else {
            let principal = g.pick(&["", r#", "principal": "app""#, r#", "principal": "w\u0031""#]);
            let outcome = g.pick(&["", r#", "outcome": "error""#]);
            let line = format!(
                r#"{{"service": "sqs", "operation": "{}", "params": {{"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/q{i}"}}{principal}{outcome}}}"#,
                g.pick(&["SendMessage", "DeleteMessage"])
            );
            lines.push(line.clone());
            line
        };
        text.push_str(&line);
        text.push('\n');
    }
    let opts = ReadOptions {
        format: Format::Jsonl,
        principal_key: Some("principal".into()),
        ..ReadOptions::default()
    };
    let want = reference(&text, "calls.jsonl", &opts);
    let got = piped(&text, "calls.jsonl", &opts);
    assert!(want.len() > 33_000, "{}", want.len());
    assert_eq!(
        String::from_utf8(got.to_bytes()).unwrap(),
        String::from_utf8(want.to_bytes()).unwrap()
    );
}

#[test]
fn calls_of_an_operation_the_lane_rests_for_count_as_the_engine_does() {
    // S3 object keys that never repeat, beside DynamoDB calls that do: the lane rests for
    // GetObject (after a few hundred keys found nothing) and keeps reading GetItem. Past the
    // middle, GetObject's keys repeat, so the lane, once its rest is over, finds them again.
    // Principals and outcomes vary throughout. The lines are as many as the rest is long,
    // and more, in three formats.
    let mut g = Gen(41);
    let (mut calls, mut mulog, mut edn) = (String::new(), String::new(), String::new());
    for i in 0..40_000u64 {
        let principal = g.pick(&["", "app", "worker"]);
        let failed = g.chance(5);
        let (service, operation, params, edn_params) = if i % 2 == 0 {
            let key = if i < 20_000 { i } else { i % 50 };
            (
                "s3",
                "GetObject",
                format!(r#"{{"Bucket": "b{}", "Key": "data/k{key}"}}"#, i % 3),
                format!(r#"{{:Bucket "b{}", :Key "data/k{key}"}}"#, i % 3),
            )
        } else {
            (
                "dynamodb",
                "GetItem",
                format!(
                    r#"{{"TableName": "t{}", "Key": {{"pk": {{"S": "id-{i}"}}}}}}"#,
                    i % 5
                ),
                format!(
                    r#"{{:TableName "t{}", :Key {{:pk {{:S "id-{i}"}}}}}}"#,
                    i % 5
                ),
            )
        };
        let with = |k: &str, v: &str| {
            if v.is_empty() {
                String::new()
            } else {
                format!(r#", "{k}": "{v}""#)
            }
        };
        calls.push_str(&format!(
            r#"{{"service": "{service}", "operation": "{operation}", "params": {params}{}{}}}"#,
            with("principal", principal),
            with("outcome", if failed { "error" } else { "" }),
        ));
        calls.push('\n');
        mulog.push_str(&format!(
            r#"{{"mulog/event-name": "aws/request", "mulog/outcome": "{}", "api": "{service}", "operation": "{operation}", "request": {params}{}}}"#,
            if failed { "error" } else { "ok" },
            with("app-name", principal),
        ));
        mulog.push('\n');
        let app = if principal.is_empty() {
            String::new()
        } else {
            format!(r#", :app-name "{principal}""#)
        };
        edn.push_str(&format!(
            r#"{{:mulog/event-name :aws/request, :mulog/outcome :{}, :api :{service}, :operation :{operation}, :request {edn_params}{app}}}"#,
            if failed { "error" } else { "ok" },
        ));
        edn.push('\n');
    }
    for (text, label, format, principal_key) in [
        (&calls, "calls.jsonl", Format::Jsonl, "principal"),
        (&mulog, "events.jsonl", Format::MulogJson, "app-name"),
        (&edn, "events.edn", Format::MulogEdn, "app-name"),
    ] {
        let opts = ReadOptions {
            format,
            principal_key: Some(principal_key.into()),
            ..ReadOptions::default()
        };
        let want = reference(text, label, &opts);
        let got = piped(text, label, &opts);
        assert!(want.len() > 10_000, "{label}: {}", want.len());
        assert_eq!(
            String::from_utf8(got.to_bytes()).unwrap(),
            String::from_utf8(want.to_bytes()).unwrap(),
            "{label}"
        );
    }
}

#[test]
fn recorded_calls_count_as_the_engine_does_whatever_repeats() {
    use leastpriv::{Call, Source};
    use serde_json::json;
    // Calls that differ only where the recorder's cache must tell them apart: a value's type
    // (1, 1.0, "1"), nesting, list order, an empty map against none, the region, account,
    // partition and endpoint; equal calls with other principals, outcomes and sources.
    let params = [
        json!({"Bucket": "b", "Key": "k"}),
        json!({"Bucket": "b", "Key": "k2"}),
        json!({"Bucket": "b2", "Key": "k"}),
        json!({"Bucket": "b", "Key": "1"}),
        json!({"Bucket": "b", "Key": 1}),
        json!({"Bucket": "b", "Key": 1.0}),
        json!({"Bucket": "b", "Key": null}),
        json!({"Bucket": "b", "Key": true}),
        json!({"Bucket": "b", "Key": ["k"]}),
        json!({"Bucket": "b", "Key": {"k": "v"}}),
        json!({"Bucket": "b", "Delete": {"Objects": [{"Key": "a"}, {"Key": "b"}]}}),
        json!({"Bucket": "b", "Delete": {"Objects": [{"Key": "b"}, {"Key": "a"}]}}),
        json!({"Bucket": "b"}),
        json!({}),
    ];
    let ops = ["GetObject", "DeleteObjects", "PutObject", "ListObjectsV2"];
    let contexts: [[Option<&str>; 4]; 5] = [
        [None, None, None, None],
        [Some("eu-west-1"), None, None, None],
        [Some("eu-west-1"), Some("123456789012"), None, None],
        [Some("cn-north-1"), None, Some("aws-cn"), None],
        [None, None, None, Some("http://127.0.0.1:5000")],
    ];
    let mut g = Gen(23);
    let mut calls = Vec::new();
    for n in 0..6000u64 {
        let mut call = Call::new(
            "s3",
            g.pick(&ops),
            params[(g.next() as usize) % params.len()].clone(),
        );
        let [region, account, partition, endpoint] = contexts[(g.next() as usize) % contexts.len()];
        call.region = region.map(str::to_owned);
        call.account = account.map(str::to_owned);
        call.partition = partition.map(str::to_owned);
        call.endpoint = endpoint.map(str::to_owned);
        call.principal = g.chance(30).then(|| g.pick(&["app", "worker"]).to_owned());
        if g.chance(10) {
            call.outcome = leastpriv::Outcome::Error {
                code: Some(g.pick(&["NoSuchKey", "AccessDenied"]).to_owned()),
            };
        }
        call.source = Source::at(std::sync::Arc::from(g.pick(&["a.jsonl", "b.jsonl"])), n + 1);
        calls.push(call);
    }
    let rules = Rules::builtin();
    let mut want = Observed::new();
    let mut p = Pipeline::new(Rules::builtin(), ReadOptions::default());
    for call in &calls {
        want.add(
            &derive(&rules, call),
            call.principal.as_deref(),
            call.outcome.is_ok(),
            &call.source,
        );
        p.record(call);
    }
    let got = p.into_observed();
    assert!(want.len() > 50, "{}", want.len());
    assert_eq!(
        String::from_utf8(got.to_bytes()).unwrap(),
        String::from_utf8(want.to_bytes()).unwrap()
    );
}

/// Writes `text` to a temporary file.
fn temp(name: &str, text: &str) -> (tempdir::Dir, String) {
    let dir = tempdir::Dir::new();
    let path = dir.path.join(name);
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(text.as_bytes()).expect("write");
    (dir, path.to_string_lossy().into_owned())
}

mod tempdir {
    /// A directory removed when dropped.
    pub struct Dir {
        pub path: std::path::PathBuf,
    }
    impl Dir {
        pub fn new() -> Dir {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "leastpriv-pipeline-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&path).expect("mkdir");
            Dir { path }
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn read_with_jobs(paths: &[String], opts: &ReadOptions, jobs: usize) -> (Vec<u8>, Option<String>) {
    let mut p = Pipeline::new(Rules::builtin(), opts.clone());
    p.set_min_part(512);
    let err = p.read_paths(paths, jobs).err().map(|e| e.to_string());
    (p.into_observed().to_bytes(), err)
}

#[test]
fn an_input_not_worth_splitting_is_read_by_one_job_whatever_the_jobs() {
    // A CloudTrail delivery file is one document (not split, whatever its size), and a small
    // file is under two parts: with several jobs, each is read as one job reads it, into the
    // pipeline's own state.
    let records: Vec<serde_json::Value> = (0..300)
        .map(|i| {
            serde_json::json!({
                "eventVersion": "1.09",
                "userIdentity": {"type": "AssumedRole", "accountId": "111122223333",
                    "arn": "arn:aws:sts::111122223333:assumed-role/app/s1"},
                "eventTime": "2024-05-14T10:05:00Z",
                "eventSource": "s3.amazonaws.com",
                "eventName": "GetObject",
                "awsRegion": "us-west-2",
                "requestParameters": {"bucketName": "amzn-s3-demo-bucket", "key": format!("r/{}.csv", i % 70)},
                "eventType": "AwsApiCall",
                "recipientAccountId": "111122223333"
            })
        })
        .collect();
    let trail = serde_json::json!({ "Records": records }).to_string();
    let mut g = Gen(5);
    let small: String = (0..40).map(|_| json_event(&mut g) + "\n").collect();
    let (_d1, trail_path) = temp("trail.json", &trail);
    let (_d2, small_path) = temp("small.jsonl", &small);
    // (Parts of 512 bytes would split the CloudTrail file were it lines.)
    for (path, min_part) in [(trail_path, 512), (small_path, 4 << 20)] {
        let read = |jobs: usize| {
            // (The generated events include malformed ones.)
            let lenient = ReadOptions {
                lenient: true,
                ..ReadOptions::default()
            };
            let mut p = Pipeline::new(Rules::builtin(), lenient);
            p.set_min_part(min_part);
            p.read_paths_into_parts(std::slice::from_ref(&path), jobs)
                .expect("read")
        };
        let one = read(1);
        assert_eq!(one.len(), 1);
        assert!(one[0].len() >= 20, "{path}: {}", one[0].len());
        for jobs in [2, 4] {
            let many = read(jobs);
            assert_eq!(many.len(), 1, "{path}: {jobs} jobs");
            assert_eq!(many[0].to_bytes(), one[0].to_bytes(), "{path}: {jobs} jobs");
        }
    }
}

#[test]
fn several_jobs_read_as_one() {
    let mut g = Gen(3);
    let mut json = String::from("\u{feff}");
    let mut edn = String::new();
    for i in 0..3000 {
        json.push_str(&json_event(&mut g));
        json.push('\n');
        if i % 97 == 0 {
            json.push_str("\n   \n");
        }
        edn.push_str(&edn_event(&mut g));
        edn.push('\n');
        if i == 2000 {
            // Cut off, then a new event: an error at this line.
            edn.push_str("{:mulog/event-name :aws/request, :api :s3\n");
        }
    }
    let (_d1, json_path) = temp("events.jsonl", &json);
    let (_d2, edn_path) = temp("events.edn", &edn);
    let lenient = ReadOptions {
        lenient: true,
        principal_key: Some("app-name".into()),
        ..ReadOptions::default()
    };
    for paths in [
        vec![json_path.clone()],
        vec![edn_path.clone()],
        vec![json_path.clone(), edn_path.clone(), json_path.clone()],
        // One file twice in a row: each reading numbers its lines from 1.
        vec![edn_path.clone(), edn_path.clone()],
    ] {
        let (one, e1) = read_with_jobs(&paths, &lenient, 1);
        assert_eq!(e1, None);
        for jobs in [2, 3, 8] {
            let (many, e) = read_with_jobs(&paths, &lenient, jobs);
            assert_eq!(e, None);
            assert_eq!(
                String::from_utf8(many).unwrap(),
                String::from_utf8(one.clone()).unwrap(),
                "{paths:?} with {jobs} jobs"
            );
        }
    }
    // Without --lenient: the same first error (file, line, column), and what came before it.
    let strict = ReadOptions::default();
    for paths in [vec![json_path.clone()], vec![edn_path.clone()]] {
        let (one, e1) = read_with_jobs(&paths, &strict, 1);
        assert!(e1.is_some());
        let (many, e) = read_with_jobs(&paths, &strict, 4);
        assert_eq!(e, e1);
        assert_eq!(many, one);
    }
}

#[test]
fn the_permission_lines_of_the_jobs_states_are_those_of_their_merge() {
    let mut g = Gen(31);
    let mut json = String::new();
    for _ in 0..4000 {
        json.push_str(&json_event(&mut g));
        json.push('\n');
    }
    let (_d, path) = temp("events.jsonl", &json);
    let paths = vec![path.clone(), path];
    let opts = ReadOptions {
        lenient: true,
        principal_key: Some("app-name".into()),
        ..ReadOptions::default()
    };
    let (one, _) = read_with_jobs(&paths, &opts, 1);
    let one = Observed::from_bytes(&one).expect("a state");
    // Calls that failed only in some parts: kept out with `outcome = ok` only where no part
    // saw them succeed.
    let filters = [
        leastpriv::PolicyOptions::default(),
        leastpriv::PolicyOptions {
            outcome: leastpriv::OutcomeFilter::Ok,
            ..leastpriv::PolicyOptions::default()
        },
        leastpriv::PolicyOptions {
            exclude: vec!["sqs:*".into()],
            ..leastpriv::PolicyOptions::default()
        },
    ];
    let mut lines_one = Vec::new();
    for f in &filters {
        let mut out = Vec::new();
        leastpriv::write_permission_lines(&one, f, &mut out).expect("lines");
        assert!(out.iter().filter(|b| **b == b'\n').count() > 50);
        lines_one.push(out);
    }
    assert_ne!(lines_one[0], lines_one[1], "some permissions only failed");
    for jobs in [1, 2, 3, 8] {
        let mut p = Pipeline::new(Rules::builtin(), opts.clone());
        p.set_min_part(512);
        let parts = p.read_paths_into_parts(&paths, jobs).expect("read");
        let read = parts.iter().filter(|o| !o.is_empty()).count();
        assert!(read >= jobs.min(2), "{read} parts with {jobs} jobs");
        let mut merged = Observed::new();
        for part in &parts {
            merged.merge(part);
        }
        assert_eq!(merged.to_bytes(), one.to_bytes(), "{jobs} jobs");
        for (f, want) in filters.iter().zip(&lines_one) {
            for threads in [1, 2] {
                let mut out = Vec::new();
                leastpriv::write_permission_lines_of(&parts, f, &mut out, threads).expect("lines");
                assert!(out == *want, "{jobs} jobs, {threads} threads");
            }
        }
    }
}

#[test]
fn a_state_whose_lookups_were_released_counts_and_merges_as_before() {
    let mut g = Gen(23);
    let events: Vec<String> = (0..900).map(|_| json_event(&mut g)).collect();
    let (first, second) = events.split_at(500);
    let text = |lines: &[String]| lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    let opts = ReadOptions {
        lenient: true,
        ..ReadOptions::default()
    };
    let whole = piped(&text(&events), "events.jsonl", &opts);

    // Released, then counted into again: nothing counted twice, nothing lost.
    let mut p = Pipeline::new(Rules::builtin(), opts.clone());
    p.read(text(first).as_bytes(), "events.jsonl")
        .expect("first");
    let mut seen = p.into_observed();
    let before = seen.to_bytes();
    seen.release_lookups();
    assert_eq!(seen.to_bytes(), before, "releasing changes nothing seen");
    let rest = piped(&text(second), "events.jsonl", &opts);
    let mut merged = seen.clone();
    merged.merge(&rest);
    // The second half's lines numbered from 1: merge it the same way into a state never released.
    let mut p = Pipeline::new(Rules::builtin(), opts.clone());
    p.read(text(first).as_bytes(), "events.jsonl")
        .expect("first");
    let mut kept = p.into_observed();
    kept.merge(&rest);
    assert!(merged.len() > 100);
    assert_eq!(merged.to_bytes(), kept.to_bytes());
    // Merging a state into itself twice over: every permission found again, none added.
    let n = merged.len();
    merged.release_lookups();
    merged.merge(&whole);
    kept.merge(&whole);
    assert_eq!(merged.len(), kept.len());
    assert!(merged.len() >= n);
    assert_eq!(merged.to_bytes(), kept.to_bytes());
}
