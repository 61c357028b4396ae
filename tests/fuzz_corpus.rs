//! Replays the fuzz corpora (`fuzz/corpus/TARGET/*`, grown by `scripts/fuzz.sh`) through the
//! same properties the fuzz targets check (`leastpriv_tests`), as ordinary stable tests.

use leastpriv::Format;
use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "{}: an empty corpus", dir.display());
    out
}

fn replay(target: &str, check: impl Fn(&[u8]) -> Result<(), String>) {
    let mut failures = Vec::new();
    let inputs = corpus(target);
    for (path, bytes) in &inputs {
        if let Err(e) = check(bytes) {
            failures.push(format!("{}: {e}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} inputs: {failures:#?}",
        failures.len(),
        inputs.len()
    );
}

#[test]
fn read_edn() {
    replay("read_edn", |d| leastpriv_tests::read(d, Format::MulogEdn));
}

#[test]
fn read_mulog_json() {
    replay("read_mulog_json", |d| {
        leastpriv_tests::read(d, Format::MulogJson)
    });
}

#[test]
fn read_jsonl() {
    replay("read_jsonl", |d| leastpriv_tests::read(d, Format::Jsonl));
}

#[test]
fn read_cloudtrail() {
    replay("read_cloudtrail", |d| {
        leastpriv_tests::read(d, Format::CloudTrail)
    });
}

#[test]
fn read_auto() {
    replay("read_auto", |d| leastpriv_tests::read(d, Format::Auto));
}

#[test]
fn wire() {
    replay("wire", leastpriv_tests::wire);
}

#[test]
fn state() {
    replay("state", leastpriv_tests::state);
}

#[test]
fn engine() {
    replay("engine", leastpriv_tests::engine);
}

#[test]
fn policy() {
    replay("policy", leastpriv_tests::policy);
}
