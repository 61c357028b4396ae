//! Runs every vector of `spec/vectors/wire/*.json` (raw requests captured from real SDKs → the
//! call they made) as its own test: the request decodes to the SDK call's service, operation
//! and Region, and the engine derives the same permissions from the decoded call as from the
//! call the SDK was given. Python and Node run the same files through `decode_http`.
//!
//! `cargo test -p leastpriv-tests --test wire -- NAME` runs one.

use leastpriv::{Call, Rules, decode, derive, parse_http};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn base64(s: &str) -> Result<Vec<u8>, Failed> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return Err("bad base64".into()),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

/// The raw request of a vector: its text, and its body given apart (base64) when binary.
pub fn raw_request(v: &Value) -> Result<Vec<u8>, Failed> {
    let mut raw = v["request"]
        .as_str()
        .ok_or("vector without request")?
        .as_bytes()
        .to_vec();
    if v["body_base64"].as_bool() == Some(true) {
        raw.extend(base64(v["body"].as_str().ok_or("vector without body")?)?);
    }
    Ok(raw)
}

fn perms(rules: &Rules, call: &Call) -> BTreeSet<(String, String)> {
    derive(rules, call)
        .permissions
        .into_iter()
        .map(|p| (p.action, p.resource.to_iam()))
        .collect()
}

fn run(v: &Value) -> Result<(), Failed> {
    let raw = raw_request(v)?;
    let want = &v["expect"];
    let got = parse_http(&raw)
        .and_then(|r| decode(&r))
        .map_err(|e| format!("not decoded: {e}"))?;
    let call = &got.call;
    // botocore sends a few operations unsigned (`-unsigned` vectors): they need no permission.
    let unsigned = v["name"]
        .as_str()
        .unwrap_or_default()
        .ends_with("-unsigned");
    if got.signed == unsigned {
        return Err(format!("signed: want {}, got {}", !unsigned, got.signed).into());
    }
    for (field, value) in [
        ("service", call.service.as_str()),
        ("operation", call.operation.as_str()),
        ("region", call.region.as_deref().unwrap_or("")),
    ] {
        let w = want[field].as_str().unwrap_or("");
        // A request that fits several services alike (RDS, DocumentDB and Neptune send the
        // same `DescribeDBClusters`) is decoded for one and says which others it fits.
        let ambiguous = field == "service"
            && got
                .note
                .as_deref()
                .is_some_and(|n| n.contains(&format!(" {w},")) || n.contains(&format!(" {w};")));
        if w != value && !ambiguous {
            return Err(format!("{field}: want `{w}`, got `{value}`").into());
        }
    }
    let rules = Rules::builtin();
    // An ambiguous request is judged as the SDK call of the service it was decoded for.
    let service = if got.note.is_some() {
        call.service.as_str()
    } else {
        want["service"].as_str().unwrap_or_default()
    };
    let mut sdk = Call::new(
        service,
        want["operation"].as_str().unwrap_or_default(),
        want["params"].clone(),
    );
    sdk.region = want["region"].as_str().map(str::to_owned);
    sdk.endpoint = call.endpoint.clone();
    let (a, b) = (perms(&rules, &sdk), perms(&rules, call));
    if a != b {
        return Err(format!(
            "permissions differ:\n  from the SDK call: {a:?}\n  from the request:  {b:?}\n  decoded params: {}",
            call.params
        )
        .into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors/wire");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut trials = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let vectors: Vec<Value> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for v in vectors {
            let name = v["name"].as_str().unwrap_or("unnamed").to_owned();
            trials.push(Trial::test(name, move || run(&v)));
        }
    }
    assert!(trials.len() >= 50, "the wire vectors are missing");
    libtest_mimic::run(&args, trials).exit();
}
