//! CloudTrail input through the command line: delivery files gzipped or not, read record by
//! record (a file far larger than the event limit), JSON lines of records and EventBridge
//! events, truncated and foreign input.

use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leastpriv"))
        .args(args)
        .output()
        .expect("run leastpriv")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("leastpriv-ct-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

/// A record of an S3 GetObject by a role, as CloudTrail writes data events.
fn record(i: usize, role: &str) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": format!("arn:aws:sts::111122223333:assumed-role/{role}/s{i}"),
            "accountId": "111122223333",
            "sessionContext": {"sessionIssuer": {"type": "Role",
                "arn": format!("arn:aws:iam::111122223333:role/{role}"), "accountId": "111122223333"}}
        },
        "eventTime": "2024-05-14T10:05:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": "us-west-2",
        "sourceIPAddress": "192.0.2.10",
        "userAgent": "aws-sdk-java",
        "requestParameters": {"bucketName": "amzn-s3-demo-bucket", "Host": "amzn-s3-demo-bucket.s3.us-west-2.amazonaws.com",
                              "key": format!("reports/{}.csv", i % 250)},
        "responseElements": null,
        "requestID": format!("REQ{i}"),
        "eventID": format!("EV{i}"),
        "readOnly": true,
        "resources": [{"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::amzn-s3-demo-bucket/reports/{}.csv", i % 250)}],
        "eventType": "AwsApiCall",
        "managementEvent": false,
        "recipientAccountId": "111122223333",
        "eventCategory": "Data"
    })
}

fn delivery_file(records: &[serde_json::Value]) -> String {
    serde_json::json!({ "Records": records }).to_string()
}

fn gzip(path: &Path, text: &str) {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(text.as_bytes()).expect("gzip");
    std::fs::write(path, e.finish().expect("gzip")).expect("write");
}

#[test]
fn a_large_gzipped_delivery_file_is_read_record_by_record() {
    let dir = tempdir("large");
    let records: Vec<_> = (0..4000).map(|i| record(i, "ReportJob")).collect();
    let doc = delivery_file(&records);
    // One line of several megabytes, far over the event limit given below.
    assert!(doc.len() > 3_000_000 && !doc.contains('\n'));
    let gz = dir.join("111122223333_CloudTrail_us-west-2_20240514T1005Z_abc.json.gz");
    gzip(&gz, &doc);
    let lines = dir.join("records.jsonl");
    let jsonl: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&lines, jsonl).expect("write");
    let a = run(&[
        "permissions",
        "-q",
        "--max-event-size",
        "64K",
        gz.to_str().expect("utf-8"),
    ]);
    assert_eq!(a.status.code(), Some(0), "{}", text(&a.stderr));
    let b = run(&["permissions", "-q", lines.to_str().expect("utf-8")]);
    assert_eq!(b.status.code(), Some(0), "{}", text(&b.stderr));
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(text(&a.stdout).lines().count(), 250);
    // Several files over two jobs: the same as one job.
    let gz2 = dir.join("second.json.gz");
    gzip(&gz2, &delivery_file(&records[..100]));
    let args = |j: &str| {
        vec![
            "policy".to_owned(),
            "--group-by".into(),
            "principal".into(),
            "-j".into(),
            j.to_owned(),
            gz.display().to_string(),
            gz2.display().to_string(),
        ]
    };
    let one = Command::new(env!("CARGO_BIN_EXE_leastpriv"))
        .args(args("1"))
        .output()
        .expect("run");
    let two = Command::new(env!("CARGO_BIN_EXE_leastpriv"))
        .args(args("2"))
        .output()
        .expect("run");
    assert_eq!(one.status.code(), Some(0), "{}", text(&one.stderr));
    assert_eq!(one.stdout, two.stdout);
    let policy: serde_json::Value = serde_json::from_slice(&one.stdout).expect("json");
    assert!(
        policy
            .get("arn:aws:iam::111122223333:role/ReportJob")
            .is_some(),
        "{policy}"
    );
}

#[test]
fn a_record_over_the_limit_is_an_error_naming_it() {
    let dir = tempdir("limit");
    let mut big = record(1, "ReportJob");
    big["requestParameters"]["padding"] = serde_json::Value::String("x".repeat(100_000));
    let f = dir.join("big.json");
    std::fs::write(&f, delivery_file(&[record(0, "ReportJob"), big])).expect("write");
    let out = run(&[
        "permissions",
        "--max-event-size",
        "64K",
        f.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("record 2"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&[
        "permissions",
        "--lenient",
        "--max-event-size",
        "64K",
        f.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 1);
    assert!(
        text(&out.stderr).contains("1 malformed"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_truncated_gzip_fails_and_writes_nothing() {
    let dir = tempdir("truncated");
    let records: Vec<_> = (0..500).map(|i| record(i, "ReportJob")).collect();
    let gz = dir.join("cut.json.gz");
    gzip(&gz, &delivery_file(&records));
    let bytes = std::fs::read(&gz).expect("read");
    std::fs::write(&gz, &bytes[..bytes.len() / 2]).expect("write");
    let out_file = dir.join("policy.json");
    let out = run(&[
        "policy",
        "-o",
        out_file.to_str().expect("utf-8"),
        gz.to_str().expect("utf-8"),
    ]);
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(
        err.contains("cut.json.gz") && err.contains("truncated"),
        "{err}"
    );
    assert!(!out_file.exists(), "nothing is written on failure");
}

#[test]
fn json_lines_of_records_and_eventbridge_events_read_as_one() {
    let dir = tempdir("lines");
    let r = record(7, "ReportJob");
    let event = serde_json::json!({"version": "0", "id": "e1", "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.s3", "account": "111122223333", "time": "2024-05-14T10:05:00Z", "region": "us-west-2",
        "resources": [], "detail": record(8, "ReportJob")});
    let f = dir.join("mixed.jsonl");
    std::fs::write(&f, format!("{r}\n\n{event}\n")).expect("write");
    let out = run(&["permissions", "-q", f.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "{\"action\":\"s3:GetObject\",\"resource\":\"arn:aws:s3:::amzn-s3-demo-bucket/reports/7.csv\"}\n{\"action\":\"s3:GetObject\",\"resource\":\"arn:aws:s3:::amzn-s3-demo-bucket/reports/8.csv\"}\n"
    );
    // explain names each record's place.
    let out = run(&["explain", f.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("mixed.jsonl:1") && shown.contains("mixed.jsonl:3"),
        "{shown}"
    );
}

#[test]
fn records_seen_before_count_as_reading_each_does() {
    use leastpriv::{CallReader, Format, Observed, Pipeline, ReadOptions, Rules, derive};
    // Equal records under several principals, some refused, some with other resources.
    let mut records = Vec::new();
    for i in 0..300 {
        let mut r = record(i % 7, ["A", "B", "C"][i % 3]);
        if i % 11 == 0 {
            r["errorCode"] = "AccessDenied".into();
        }
        if i % 5 == 0 {
            r["eventSource"] = "kms.amazonaws.com".into();
            r["eventName"] = "Decrypt".into();
            r["requestParameters"] =
                serde_json::json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"});
            r["resources"] = serde_json::json!([{"type": "AWS::KMS::Key",
                "ARN": format!("arn:aws:kms:us-west-2:111122223333:key/k{}", i % 3)}]);
        }
        records.push(r);
    }
    let doc = delivery_file(&records);
    let opts = ReadOptions {
        format: Format::CloudTrail,
        ..ReadOptions::default()
    };
    let mut fast = Pipeline::new(Rules::builtin(), opts.clone());
    fast.read(doc.as_bytes(), "trail.json").expect("read");
    let rules = Rules::builtin();
    let mut plain = Observed::new();
    for call in CallReader::new(doc.as_bytes(), "trail.json", &opts).expect("reader") {
        let call = call.expect("call");
        plain.add(
            &derive(&rules, &call),
            call.principal.as_deref(),
            call.outcome.is_ok(),
            &call.source,
        );
    }
    assert_eq!(fast.observed().to_bytes(), plain.to_bytes());
    assert!(fast.observed().len() > 10);
    let kms: Vec<_> = fast
        .observed()
        .permissions()
        .filter(|p| p.action == "kms:Decrypt")
        .map(|p| p.resource.to_iam())
        .collect();
    assert!(kms.iter().any(|r| r.ends_with("key/k2")), "{kms:?}");
}
