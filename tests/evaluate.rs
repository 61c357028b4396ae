//! Runs every vector of `spec/vectors/evaluate/*.json` (the IAM evaluator's) as its own test;
//! Python and Node run the same files through their bindings.
//!
//! `cargo test -p leastpriv-tests --test evaluate -- NAME` runs one.

use leastpriv::evaluate_json;
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn run(v: &Value) -> Result<(), Failed> {
    let policies = v.get("policies").ok_or("vector without policies")?;
    let request = v.get("request").ok_or("vector without request")?;
    let got = evaluate_json(policies, request);
    match (v.get("expect"), v.get("error")) {
        (Some(want), None) => {
            let got = got.map_err(|e| format!("evaluation failed: {e}"))?;
            if got["decision"] != *want {
                return Err(
                    format!("decision: want {want}, got {} ({got})", got["decision"]).into(),
                );
            }
            Ok(())
        }
        (None, Some(_)) => leastpriv_tests::check_error(v, got.map(|_| ())).map_err(Failed::from),
        _ => Err("a vector has one of expect and error".into()),
    }
}

fn main() {
    let args = Arguments::from_args();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors/evaluate");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}: the evaluator's vectors are missing",
                dir.display()
            )
        })
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut trials = Vec::new();
    let mut names = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let vectors: Vec<Value> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let stem = f
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_owned();
        for v in vectors {
            let name = v
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("unnamed")
                .to_owned();
            let unique = names.insert(name.clone());
            trials.push(Trial::test(format!("{stem}::{name}"), move || {
                if !unique {
                    return Err("vector name used twice".into());
                }
                run(&v)
            }));
        }
    }
    assert!(
        trials.len() >= 150,
        "{}: {} evaluator vectors, fewer than 150",
        dir.display(),
        trials.len()
    );
    libtest_mimic::run(&args, trials).exit();
}
