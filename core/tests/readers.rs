//! The readers as a user meets them: files that are not there, bytes that are not UTF-8,
//! malformed events skipped in lenient mode, and where each error points.

use leastpriv::{
    CallReader, ErrorKind, Evidence, Format, Observed, PolicyOptions, ReadOptions, Rules,
    build_policies, read_into, read_path_into, read_str, render_json,
};
use std::path::PathBuf;

const GOOD_EDN: &str = r#"{:mulog/event-name :aws/request, :mulog/outcome :ok, :api :s3, :operation :GetObject, :request {:Bucket "b", :Key "ok.txt"}}"#;

fn opts(format: Format) -> ReadOptions {
    ReadOptions {
        format,
        ..ReadOptions::default()
    }
}

fn lenient(format: Format) -> ReadOptions {
    ReadOptions {
        format,
        lenient: true,
        ..ReadOptions::default()
    }
}

/// A scratch file under the system temp directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> TempFile {
        let dir = std::env::temp_dir().join(format!("leastpriv-readers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write temp file");
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Reads `bytes` strictly and returns the error, which must exist.
fn read_err(bytes: &[u8], format: Format) -> leastpriv::Error {
    let mut seen = Observed::new();
    read_into(
        &Rules::builtin(),
        &mut seen,
        bytes,
        "events.log",
        &opts(format),
    )
    .expect_err("reading must fail")
}

fn actions_and_resources(seen: &Observed) -> Vec<String> {
    let opts = PolicyOptions {
        region: Some("eu-west-1".into()),
        account: Some("123456789012".into()),
        s3_objects: leastpriv::S3Objects::Exact,
        ..PolicyOptions::default()
    };
    let mut out: Vec<String> = build_policies(seen, &opts)
        .expect("policies build")
        .statements()
        .flat_map(|s| {
            s.actions
                .iter()
                .flat_map(|a| {
                    s.resources
                        .iter()
                        .map(move |r| format!("{a} {}", r.to_iam()))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// Invalid UTF-8

#[test]
fn invalid_utf8_in_edn_points_at_the_bad_byte() {
    // Line 2: `{... :Key "é` then 0xFF. The column counts characters: é is one.
    let mut bytes = format!("{GOOD_EDN}\n").into_bytes();
    let line2 = r#"{:mulog/event-name :aws/request, :api :s3, :operation :GetObject, :request {:Bucket "b", :Key "é"#;
    bytes.extend_from_slice(line2.as_bytes());
    bytes.push(0xFF);
    bytes.extend_from_slice(b"\"}}\n");
    let err = read_err(&bytes, Format::MulogEdn);
    assert_eq!(err.kind(), ErrorKind::Encoding, "{err}");
    assert_eq!(err.path(), Some("events.log"));
    assert_eq!(err.line(), Some(2));
    assert_eq!(err.column(), Some(line2.chars().count() as u64 + 1));
}

#[test]
fn invalid_utf8_on_a_continuation_line_of_an_edn_form() {
    // The form starts on line 1; the bad byte is on line 3, after three characters.
    let bytes =
        b"{:mulog/event-name :aws/request, :api :s3,\n :operation :GetObject,\n :r\xC3\x28 {}}\n";
    let err = read_err(bytes, Format::MulogEdn);
    assert_eq!(err.kind(), ErrorKind::Encoding);
    assert_eq!((err.line(), err.column()), (Some(3), Some(4)));
}

#[test]
fn invalid_utf8_in_mulog_json() {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"{\"mulog/event-name\": \"app/started\"}\n\n");
    // Line 3: a truncated three-byte sequence after `{"api": "☃`.
    let head = "{\"mulog/event-name\": \"aws/request\", \"api\": \"☃";
    bytes.extend_from_slice(head.as_bytes());
    bytes.extend_from_slice(b"\xE2\x82\", \"operation\": \"GetObject\"}\n");
    let err = read_err(&bytes, Format::MulogJson);
    assert_eq!(err.kind(), ErrorKind::Encoding);
    assert_eq!(err.line(), Some(3));
    assert_eq!(err.column(), Some(head.chars().count() as u64 + 1));
}

#[test]
fn invalid_utf8_in_json_lines() {
    let mut bytes = b"{\"service\": \"s3\", \"operation\": \"ListBuckets\"}\n".to_vec();
    bytes.extend_from_slice(b"\xFF{\"service\": \"s3\", \"operation\": \"ListBuckets\"}\n");
    let err = read_err(&bytes, Format::Jsonl);
    assert_eq!(err.kind(), ErrorKind::Encoding);
    assert_eq!((err.line(), err.column()), (Some(2), Some(1)));
}

#[test]
fn invalid_utf8_with_format_detection() {
    // Detection reads the first bytes; the bad byte comes later, on line 1 itself.
    let head = r#"{"service": "s3", "operation": "GetObject", "params": {"Key": ""#;
    let mut bytes = head.as_bytes().to_vec();
    bytes.extend_from_slice(b"\xC0\"}}\n");
    let err = read_err(&bytes, Format::Auto);
    assert_eq!(err.kind(), ErrorKind::Encoding);
    assert_eq!(
        (err.line(), err.column()),
        (Some(1), Some(head.len() as u64 + 1))
    );
}

#[test]
fn invalid_utf8_in_a_file_names_the_file() {
    let head = r#"{:mulog/event-name :aws/request, :api :s3, :operation :ListBuckets, :x ""#;
    let mut bytes = head.as_bytes().to_vec();
    bytes.extend_from_slice(b"\xFE\"}\n");
    let file = TempFile::new("bad-utf8.edn", &bytes);
    let column = head.len() as u64 + 1;
    let mut seen = Observed::new();
    let err = read_path_into(
        &Rules::builtin(),
        &mut seen,
        file.path(),
        &ReadOptions::default(),
    )
    .expect_err("must fail");
    assert_eq!(err.kind(), ErrorKind::Encoding);
    assert_eq!(err.path(), Some(file.path()));
    assert_eq!((err.line(), err.column()), (Some(1), Some(column)));
    assert!(
        err.to_string()
            .starts_with(&format!("{}:1:{column}: ", file.path()))
    );
}

#[test]
fn the_reader_carries_on_after_an_invalid_line() {
    // Iterating a CallReader yields the error and then the next good event.
    let mut bytes = format!("{GOOD_EDN}\n").into_bytes();
    bytes.extend_from_slice(b"{:mulog/event-name :aws/request, :api :s3, :operation :GetObject, :request {:Bucket \"\xFF\"}}\n");
    bytes.extend_from_slice(format!("{GOOD_EDN}\n").as_bytes());
    let reader =
        CallReader::new(&bytes[..], "events.edn", &opts(Format::MulogEdn)).expect("reader");
    let items: Vec<_> = reader.collect();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().map(|c| c.source.line), Ok(Some(1)));
    let err = items[1].as_ref().expect_err("line 2 is not UTF-8");
    assert_eq!((err.kind(), err.line()), (ErrorKind::Encoding, Some(2)));
    assert_eq!(items[2].as_ref().map(|c| c.source.line), Ok(Some(3)));
}

#[test]
fn lenient_counts_invalid_utf8_lines_as_malformed() {
    let mut bytes = b"{\"service\": \"s3\", \"operation\": \"GetObject\", \"params\": {\"Bucket\": \"b\", \"Key\": \"1\"}}\n".to_vec();
    bytes.extend_from_slice(b"{\"service\": \"s3\", \"operation\": \"GetObject\", \"params\": {\"Bucket\": \"b\", \"Key\": \"\xFF\"}}\n");
    bytes.extend_from_slice(b"{\"service\": \"s3\", \"operation\": \"GetObject\", \"params\": {\"Bucket\": \"b\", \"Key\": \"3\"}}\n");
    let mut seen = Observed::new();
    read_into(
        &Rules::builtin(),
        &mut seen,
        &bytes[..],
        "calls.jsonl",
        &lenient(Format::Auto),
    )
    .expect("lenient reading succeeds");
    assert_eq!(seen.counts().malformed, 1);
    assert_eq!(
        seen.malformed_at().collect::<Vec<_>>(),
        [&Evidence {
            source: "calls.jsonl".into(),
            line: 2
        }]
    );
    assert_eq!(
        actions_and_resources(&seen),
        [
            "s3:GetObject arn:aws:s3:::b/1",
            "s3:GetObject arn:aws:s3:::b/3"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Byte order marks

#[test]
fn a_byte_order_mark_is_not_part_of_the_first_event() {
    let cases: [(&str, Format); 5] = [
        (GOOD_EDN, Format::Auto),
        (GOOD_EDN, Format::MulogEdn),
        (
            r#"{"service": "s3", "operation": "GetObject", "params": {"Bucket": "b", "Key": "ok.txt"}}"#,
            Format::Auto,
        ),
        (
            r#"{"service": "s3", "operation": "GetObject", "params": {"Bucket": "b", "Key": "ok.txt"}}"#,
            Format::Jsonl,
        ),
        (
            r#"{"mulog/event-name": "aws/request", "api": "s3", "operation": "GetObject", "request": {"Bucket": "b", "Key": "ok.txt"}}"#,
            Format::MulogJson,
        ),
    ];
    for (line, format) in cases {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        let mut seen = Observed::new();
        read_into(
            &Rules::builtin(),
            &mut seen,
            &bytes[..],
            "bom",
            &opts(format),
        )
        .unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!(seen.counts().calls, 1, "{format:?}");
        assert_eq!(
            actions_and_resources(&seen),
            ["s3:GetObject arn:aws:s3:::b/ok.txt"]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Files

#[test]
fn a_missing_file_is_not_found_with_its_path() {
    let path = std::env::temp_dir()
        .join(format!("leastpriv-no-such-dir-{}", std::process::id()))
        .join("events.edn");
    let path = path.to_str().expect("utf-8");
    let mut seen = Observed::new();
    let err = read_path_into(&Rules::builtin(), &mut seen, path, &ReadOptions::default())
        .expect_err("must fail");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.kind().name(), "not_found");
    assert_eq!(err.path(), Some(path));
    assert!(err.to_string().starts_with(path), "{err}");
    assert_eq!(seen.counts().calls, 0);
}

#[test]
fn a_directory_is_an_io_error() {
    let dir = std::env::temp_dir();
    let dir = dir.to_str().expect("utf-8");
    let mut seen = Observed::new();
    let err = read_path_into(&Rules::builtin(), &mut seen, dir, &ReadOptions::default())
        .expect_err("must fail");
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert_eq!(err.path(), Some(dir));
}

#[test]
fn a_file_is_read_with_its_path_as_evidence() {
    let text = format!("\n{GOOD_EDN}\n");
    let file = TempFile::new("good.edn", text.as_bytes());
    let mut seen = Observed::new();
    read_path_into(
        &Rules::builtin(),
        &mut seen,
        file.path(),
        &ReadOptions::default(),
    )
    .expect("read");
    let perms: Vec<_> = seen.permissions().collect();
    assert_eq!(perms.len(), 1);
    assert_eq!(perms[0].stats.first, Evidence::new(file.path(), 2));
}

// ---------------------------------------------------------------------------------------------
// Lenient mode

#[test]
fn lenient_edn_skips_malformed_events_and_says_where() {
    let text = [
        GOOD_EDN, // 1
        r#"{:mulog/event-name :aws/request, :api :s3, :operation :GetObject, :request {:Bucket "b"]}"#, // 2 syntax
        r#"{:mulog/event-name :app/started}"#, // 3 skipped
        r#"{:mulog/event-name :aws/request, :api 3, :operation :GetObject}"#, // 4 wrong type
        r#"{:mulog/event-name :aws/request, :mulog/outcome :error, :exception #error {"#, // 5 spoiled
        r#" :cause "x""#,                                                                 // 6
        r#" :via [{:type clojure.lang.ExceptionInfo :message @"x"}]"#, // 7 (error)
        r#" :trace []}, :api :s3, :operation :HeadBucket, :request {:Bucket "b"}}"#, // 8
        r#"{:mulog/event-name :aws/request, :api :s3, :operation :GetObject, :request {:Bucket "b", :Key "cut"#, // 9 cut off
        r#"{:mulog/event-name :aws/request, :mulog/outcome :ok, :api :s3, :operation :PutObject, :request {:Bucket "b", :Key "put.txt"}}"#, // 10
        r#"[:not :a :map]"#, // 11
    ]
    .join("\n");
    let mut seen = Observed::new();
    read_into(
        &Rules::builtin(),
        &mut seen,
        text.as_bytes(),
        "app.edn",
        &lenient(Format::Auto),
    )
    .expect("lenient reading succeeds");
    let counts = seen.counts();
    assert_eq!((counts.calls, counts.skipped, counts.malformed), (2, 1, 5));
    let lines: Vec<u64> = seen.malformed_at().map(|e| e.line).collect();
    assert_eq!(lines, [2, 4, 7, 9, 11]);
    assert!(seen.malformed_at().all(|e| &*e.source == "app.edn"));
    assert_eq!(
        actions_and_resources(&seen),
        [
            "s3:GetObject arn:aws:s3:::b/ok.txt",
            "s3:PutObject arn:aws:s3:::b/put.txt"
        ]
    );
    // The policy is still written from the rest.
    let json = render_json(
        &build_policies(&seen, &PolicyOptions::default()).expect("policies build"),
        false,
    );
    assert!(json.contains("s3:PutObject"));
}

#[test]
fn strict_mode_stops_at_the_first_malformed_event_and_keeps_what_came_before() {
    let text = format!(
        "{GOOD_EDN}\n{}\n{}\n",
        r#"{:mulog/event-name :aws/request, :api :s3}"#,
        r#"{:mulog/event-name :aws/request, :api :s3, :operation :PutObject, :request {:Bucket "b", :Key "k"}}"#
    );
    let mut seen = Observed::new();
    let err = read_into(
        &Rules::builtin(),
        &mut seen,
        text.as_bytes(),
        "app.edn",
        &ReadOptions::default(),
    )
    .expect_err("must fail");
    assert_eq!(err.kind(), ErrorKind::InvalidEvent);
    assert_eq!(
        (err.line(), err.column(), err.field()),
        (Some(2), Some(1), Some("operation"))
    );
    assert_eq!(seen.counts().calls, 1);
    assert_eq!(seen.counts().malformed, 0);
}

#[test]
fn lenient_json_lines_record_each_malformed_line() {
    let text = concat!(
        "{\"service\": \"sqs\", \"operation\": \"ListQueues\"}\n",
        "{\"service\": \"sqs\", \"operation\": }\n",
        "\n",
        "{\"service\": \"sqs\", \"operation\": \"GetQueueUrl\", \"params\": []}\n",
        "null\n",
        "{\"service\": \"sqs\", \"operation\": \"ListQueues\", \"outcome\": \"maybe\"}\n",
        "{\"service\": \"s3\", \"operation\": \"ListBuckets\"}\n",
    );
    let mut seen = Observed::new();
    read_into(
        &Rules::builtin(),
        &mut seen,
        text.as_bytes(),
        "calls.jsonl",
        &lenient(Format::Jsonl),
    )
    .expect("lenient");
    assert_eq!(seen.counts().malformed, 4);
    let lines: Vec<u64> = seen.malformed_at().map(|e| e.line).collect();
    assert_eq!(lines, [2, 4, 5, 6]);
    assert_eq!(
        actions_and_resources(&seen),
        ["s3:ListAllMyBuckets *", "sqs:ListQueues *"]
    );
}

#[test]
fn lenient_keeps_at_most_the_first_hundred_locations_but_counts_all() {
    let mut text = String::new();
    for i in 0..150 {
        // Lines 1..=150 malformed, in reverse order of where they are kept.
        text.push_str(if i % 2 == 0 {
            "{\"service\": 1, \"operation\": \"X\"}\n"
        } else {
            "{bad\n"
        });
    }
    text.push_str("{\"service\": \"s3\", \"operation\": \"ListBuckets\"}\n");
    let mut seen = Observed::new();
    read_into(
        &Rules::builtin(),
        &mut seen,
        text.as_bytes(),
        "many.jsonl",
        &lenient(Format::Jsonl),
    )
    .expect("lenient");
    assert_eq!(seen.counts().malformed, 150);
    let lines: Vec<u64> = seen.malformed_at().map(|e| e.line).collect();
    assert_eq!(lines, (1..=100).collect::<Vec<u64>>());
    assert_eq!(seen.counts().calls, 1);
}

// ---------------------------------------------------------------------------------------------
// Positions and values

#[test]
fn calls_carry_the_line_where_their_event_starts() {
    let text = format!(
        "{GOOD_EDN}\n\n{}\n :cause \"x\"}}, :api :s3, :operation :HeadBucket, :request {{:Bucket \"b\"}}}}\n{GOOD_EDN}\n",
        r#"{:mulog/event-name :aws/request, :mulog/outcome :error, :exception #error {"#
    );
    let lines: Vec<Option<u64>> = read_str(&text, Format::Auto, "x.edn")
        .map(|c| c.expect("read").source.line)
        .collect();
    assert_eq!(lines, [Some(1), Some(3), Some(5)]);
}

#[test]
fn json_syntax_columns_count_characters() {
    let line =
        r#"{"service": "s3", "operation": "GetObject", "params": {"Bucket": "bücket-☃", x}}"#;
    let err = read_err(format!("{line}\n").as_bytes(), Format::Jsonl);
    assert_eq!(err.kind(), ErrorKind::Syntax);
    let want = line.chars().position(|c| c == 'x').expect("x") as u64 + 1;
    assert_eq!((err.line(), err.column()), (Some(1), Some(want)));
}

#[test]
fn error_messages_name_fields_not_payloads() {
    let secret = "hunter2-secret-value";
    let cases = [
        (
            format!(
                r#"{{:mulog/event-name :aws/request, :api :s3, :operation {{:x "{secret}"}}}}"#
            ),
            Format::MulogEdn,
        ),
        (
            format!(r#"{{"service": "s3", "operation": "GetObject", "params": "{secret}"}}"#),
            Format::Jsonl,
        ),
        (
            format!(
                r#"{{"service": "s3", "operation": "GetObject", "params": {{"Key": "{secret}"}} x}}"#
            ),
            Format::Jsonl,
        ),
        (
            format!(r#"{{:mulog/event-name :aws/request, :request {{:Key "{secret}"]}}"#),
            Format::MulogEdn,
        ),
    ];
    for (text, format) in cases {
        let err = read_err(text.as_bytes(), format);
        assert!(!err.to_string().contains(secret), "{err}");
    }
}
