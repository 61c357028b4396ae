//! Runs every vector of `spec/vectors/*.json` as its own test (see `spec/README.md`).
//!
//! `cargo test -p leastpriv-tests --test vectors -- NAME` runs one.

use leastpriv::{
    Format, Observed, Rules, RunOptions, build_policies, permission_lines, read_into, render_json,
};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Vectors known to fail, with the reason. A listed vector that passes fails the run, so the
/// list cannot go stale.
const EXPECTED_FAILURES: &[(&str, &str)] = &[];

fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("spec")
}

fn run(v: &Value) -> Result<(), Failed> {
    // The options, read by the core as every language's runner reads them.
    let o = v.get("options").cloned().unwrap_or(json!({}));
    let RunOptions {
        mut read,
        policy: policy_opts,
    } = match RunOptions::from_json(&o) {
        Ok(r) => r,
        Err(e) => return check_error(v, Err(e)),
    };
    let input = v.get("input").ok_or("vector without input")?;
    let (text, format) = if let Some(calls) = input.get("calls").and_then(Value::as_array) {
        let mut t = String::new();
        for c in calls {
            t.push_str(&serde_json::to_string(c).map_err(|e| e.to_string())?);
            t.push('\n');
        }
        (t, Format::Jsonl)
    } else {
        let text = input
            .get("text")
            .and_then(Value::as_str)
            .ok_or("input needs calls or text")?;
        let format = input
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or("auto")
            .parse::<Format>();
        match format {
            Ok(f) => (text.to_owned(), f),
            Err(e) => return check_error(v, Err(e)),
        }
    };
    read.format = format;
    let rules = Rules::builtin();
    let mut seen = Observed::new();
    let result = read_into(&rules, &mut seen, text.as_bytes(), "input", &read);
    if v.get("error").is_some() {
        // Reading, then building the policy (where rewrite rules fail).
        let built = result.and_then(|_| build_policies(&seen, &policy_opts).map(|_| ()));
        return check_error(v, built);
    }
    result.map_err(|e| format!("reading failed: {e}"))?;
    let expect = v.get("expect").ok_or("vector without expect or error")?;
    let mut checked = 0;
    if let Some(want) = expect.get("permissions") {
        checked += 1;
        let got: Vec<Value> = permission_lines(&seen, &policy_opts)
            .into_iter()
            .map(|l| serde_json::to_value(l).unwrap_or_default())
            .collect();
        let want_set: BTreeSet<String> = want
            .as_array()
            .ok_or("expect.permissions must be an array")?
            .iter()
            .map(|w| serde_json::to_string(w).unwrap_or_default())
            .collect();
        let got_set: BTreeSet<String> = got
            .iter()
            .map(|g| serde_json::to_string(g).unwrap_or_default())
            .collect();
        if want_set != got_set {
            let missing: Vec<_> = want_set.difference(&got_set).collect();
            let extra: Vec<_> = got_set.difference(&want_set).collect();
            return Err(format!(
                "permissions differ\n  missing: {missing:#?}\n  extra: {extra:#?}"
            )
            .into());
        }
    }
    let set = build_policies(&seen, &policy_opts).map_err(|e| format!("building failed: {e}"))?;
    if let Some(want) = expect.get("diagnostics") {
        checked += 1;
        let want: BTreeSet<String> = want
            .as_array()
            .ok_or("expect.diagnostics must be an array")?
            .iter()
            .filter_map(|d| d.as_str().or_else(|| d.get("kind").and_then(Value::as_str)))
            .map(str::to_owned)
            .collect();
        let got: BTreeSet<String> = set
            .diagnostics
            .iter()
            .map(|(d, _)| d.kind.name().to_owned())
            .collect();
        let missing: Vec<_> = want.difference(&got).collect();
        if !missing.is_empty() {
            return Err(format!("diagnostics missing: {missing:?}; got {got:?}").into());
        }
    }
    if let Some(want) = expect.get("policy_resources") {
        checked += 1;
        let mut got: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for s in set.statements() {
            for a in &s.actions {
                for r in &s.resources {
                    got.entry(a.clone()).or_default().insert(r.to_iam());
                }
            }
        }
        for (action, resources) in want
            .as_object()
            .ok_or("policy_resources must be an object")?
        {
            let want: BTreeSet<String> = resources
                .as_array()
                .ok_or("policy_resources values must be arrays")?
                .iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect();
            let have = got.get(action).cloned().unwrap_or_default();
            if want != have {
                return Err(format!("resources of {action}: want {want:?}, got {have:?}").into());
            }
        }
    }
    if let Some(want) = expect.get("policy") {
        checked += 1;
        let got: Value = serde_json::from_str(&render_json(&set, policy_opts.group_by))
            .map_err(|e| e.to_string())?;
        if &got != want {
            return Err(format!(
                "policy differs\n  want: {}\n  got: {}",
                serde_json::to_string_pretty(want).unwrap_or_default(),
                serde_json::to_string_pretty(&got).unwrap_or_default()
            )
            .into());
        }
    }
    for (key, n) in [
        ("skipped", seen.counts().skipped),
        ("malformed", seen.counts().malformed),
        ("calls", seen.counts().calls),
    ] {
        if let Some(want) = expect.get(key) {
            checked += 1;
            if want.as_u64() != Some(n) {
                return Err(format!("{key}: want {want}, got {n}").into());
            }
        }
    }
    if checked == 0 {
        return Err("vector expects nothing".into());
    }
    Ok(())
}

fn check_error(v: &Value, result: Result<(), leastpriv::Error>) -> Result<(), Failed> {
    leastpriv_tests::check_error(v, result).map_err(Failed::from)
}

fn main() {
    let args = Arguments::from_args();
    let dir = spec_dir().join("vectors");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => panic!("{}: {e}: the vectors are missing", dir.display()),
    };
    files.retain(|p| p.extension().is_some_and(|x| x == "json"));
    files.sort();
    assert!(
        files.len() >= 20,
        "{}: only {} vector files",
        dir.display(),
        files.len()
    );
    let mut trials = vec![Trial::test("builtin rules load", || {
        // Rules::builtin() falls back to no rules rather than panic; make a broken file loud.
        Rules::check_builtin().map_err(|e| Failed::from(e.to_string()))
    })];
    let mut names = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let vectors: Vec<Value> = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                let msg = format!("{}: {e}", f.display());
                trials.push(Trial::test(format!("load {}", f.display()), move || {
                    Err(msg.into())
                }));
                continue;
            }
        };
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
            let expected_failure = EXPECTED_FAILURES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, r)| *r);
            trials.push(Trial::test(format!("{stem}::{name}"), move || {
                if !unique {
                    return Err("duplicate vector name".into());
                }
                match (run(&v), expected_failure) {
                    (Ok(()), None) => Ok(()),
                    (Err(e), None) => Err(e),
                    (Err(_), Some(_)) => Ok(()),
                    (Ok(()), Some(reason)) => Err(format!(
                        "listed as an expected failure ({reason}) but passes: remove it from the list"
                    )
                    .into()),
                }
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
