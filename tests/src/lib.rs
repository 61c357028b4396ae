//! Properties every input must keep, shared by the fuzz targets (`fuzz/`, run by
//! `scripts/fuzz.sh`), the replay of their corpora (`tests/fuzz_corpus.rs`, in CI) and the
//! property tests (`tests/properties.rs`).
//!
//! Each function takes arbitrary bytes and returns `Err` with what went wrong; a panic inside
//! the core is a failure too (the fuzzer reports it, the tests catch it).

use leastpriv::{
    Call, DiagnosticKind, Format, MANAGED_POLICY_LIMIT, Observed, Pipeline, PolicyOptions,
    PolicySet, ReadOptions, Rules, S3Objects, build_policies, document_size, glob,
    permission_lines, read_into, render_json, render_report_text, render_terraform,
};

/// The size limits the properties use: small enough that arbitrary inputs split documents.
fn opts_from(byte: u8, group_by: bool) -> PolicyOptions {
    PolicyOptions {
        max_size: 400 + usize::from(byte) * 24,
        s3_objects: match byte % 3 {
            0 => S3Objects::Exact,
            1 => S3Objects::Prefix,
            _ => S3Objects::Bucket,
        },
        group_by,
        ..PolicyOptions::default()
    }
}

/// What every policy built from any input must be: JSON that parses (and Terraform that
/// renders), every document within the size count or an `oversize` diagnostic saying why, and
/// every observed permission allowed by a statement of its principal's documents (by IAM's
/// wildcard matching).
pub fn check_policy(seen: &Observed, opts: &PolicyOptions) -> Result<(), String> {
    let set = build_policies(seen, opts).map_err(|e| format!("build: {e}"))?;
    let json = render_json(&set, opts.group_by);
    serde_json::from_str::<serde_json::Value>(&json).map_err(|e| format!("JSON: {e}"))?;
    let _ = render_terraform(&set, &leastpriv::TerraformOptions::default());
    let _ = render_report_text(&set, &seen.counts(), &[]);
    let oversize = set
        .diagnostics
        .iter()
        .any(|(d, _)| d.kind == DiagnosticKind::Oversize);
    for p in &set.policies {
        for d in &p.documents {
            let size = document_size(d);
            if size > opts.max_size && !oversize {
                return Err(format!(
                    "a document of {size} > {} characters and no oversize diagnostic",
                    opts.max_size
                ));
            }
        }
    }
    covers_every_permission(seen, opts, &set)
}

fn covers_every_permission(
    seen: &Observed,
    opts: &PolicyOptions,
    set: &PolicySet,
) -> Result<(), String> {
    // Per principal (with group_by), the permissions as `leastpriv permissions` prints them.
    let mut principals: Vec<Option<String>> = seen
        .permissions()
        .map(|p| p.principal.map(str::to_owned).filter(|_| opts.group_by))
        .collect();
    principals.sort();
    principals.dedup();
    for principal in principals {
        let only = filter_principal(seen, principal.as_deref(), opts.group_by);
        let Some(policy) = set.policies.iter().find(|p| p.principal == principal) else {
            if permission_lines(&only, opts).is_empty() {
                continue;
            }
            return Err(format!("no policy for principal {principal:?}"));
        };
        for line in permission_lines(&only, opts) {
            let ok = policy
                .documents
                .iter()
                .flat_map(|d| &d.statements)
                .any(|s| {
                    s.condition == line.condition
                        && s.actions
                            .iter()
                            .any(|a| glob::action_matches(a, &line.action))
                        && s.resources
                            .iter()
                            .any(|r| glob::resource_matches(&r.to_iam(), &line.resource))
                });
            if !ok {
                return Err(format!(
                    "{principal:?}: `{}` on `{}` is not allowed by the policy",
                    line.action, line.resource
                ));
            }
        }
    }
    Ok(())
}

/// The permissions of one principal (all of them without group_by), as an Observed.
fn filter_principal(seen: &Observed, principal: Option<&str>, group_by: bool) -> Observed {
    if !group_by {
        return seen.clone();
    }
    let mut out = Observed::new();
    let bytes = seen.to_bytes();
    let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if let Some(perms) = v["permissions"].as_array_mut() {
        perms.retain(|p| p["principal"].as_str() == principal);
        for p in perms.iter_mut() {
            if let Some(o) = p.as_object_mut() {
                o.remove("principal");
            }
        }
    }
    if let Ok(bytes) = serde_json::to_vec(&v)
        && let Ok(o) = Observed::from_bytes(&bytes)
    {
        out.merge(&o);
    }
    out
}

/// A reader on arbitrary bytes: never a panic; what it reads builds a policy that keeps the
/// properties of [`check_policy`].
pub fn read(data: &[u8], format: Format) -> Result<(), String> {
    let rules = Rules::builtin();
    for lenient in [false, true] {
        let mut seen = Observed::new();
        let opts = ReadOptions {
            format,
            lenient,
            max_event_bytes: 1 << 16,
            ..ReadOptions::default()
        };
        match read_into(&rules, &mut seen, data, "fuzz", &opts) {
            Ok(()) => {}
            Err(e) if lenient && e.kind() != leastpriv::ErrorKind::Io => {
                // Lenient reading stops only at what it cannot skip (a bad format, a state).
                let _ = e;
            }
            Err(_) => continue,
        }
        let b = data.first().copied().unwrap_or(0);
        check_policy(&seen, &opts_from(b, false))?;
        check_policy(&seen, &opts_from(b, true))?;
        if lenient {
            same_as_plain(data, &opts)?;
        }
    }
    Ok(())
}

/// The pipeline's shortcuts (the fast lane, the caches, reading only what the rules read)
/// change nothing: the input twice over counts as the plain reader and the engine count it.
fn same_as_plain(data: &[u8], opts: &ReadOptions) -> Result<(), String> {
    let text = [data, b"\n", data].concat();
    let rules = Rules::builtin();
    let mut p = Pipeline::new(std::sync::Arc::clone(&rules), opts.clone());
    if p.read(&text[..], "fuzz").is_err() {
        return Ok(());
    }
    let Ok(mut reader) = leastpriv::CallReader::new(&text[..], "fuzz", opts) else {
        return Ok(());
    };
    let mut plain = Observed::new();
    for &line in reader.undetected_lines() {
        plain.count_malformed(leastpriv::Evidence::new("fuzz", line));
    }
    for item in reader.by_ref() {
        match item {
            Ok(call) => {
                let d = leastpriv::derive(&rules, &call);
                plain.add(
                    &d,
                    call.principal.as_deref(),
                    call.outcome.is_ok(),
                    &call.source,
                );
            }
            Err(e) if e.kind() == leastpriv::ErrorKind::Io => return Ok(()),
            Err(e) => {
                plain.count_malformed(leastpriv::Evidence::new("fuzz", e.line().unwrap_or(0)))
            }
        }
    }
    plain.count_skipped_n(reader.skipped());
    if let Some((note, n)) = reader.closing_note() {
        plain.note(
            note,
            &leastpriv::Stats {
                ok: n,
                failed: 0,
                first: leastpriv::Evidence::new("fuzz", 0),
            },
        );
    }
    if p.into_observed().to_bytes() != plain.to_bytes() {
        return Err("the pipeline counts differently from the plain reader and the engine".into());
    }
    Ok(())
}

/// A raw HTTP request from arbitrary bytes: parsed and decoded, or refused with an error, never
/// a panic; what is decoded is a call the engine takes, and decoding is deterministic.
pub fn wire(data: &[u8]) -> Result<(), String> {
    let Ok(req) = leastpriv::parse_http(data) else {
        return Ok(());
    };
    let a = leastpriv::decode(&req);
    let b = leastpriv::decode(&req);
    if a != b {
        return Err("the same request decoded two ways".into());
    }
    if let Ok(d) = a {
        if d.call.service.is_empty() || d.call.operation.is_empty() {
            return Err("a decoded call without service or operation".into());
        }
        let _ = leastpriv::derive(&Rules::builtin(), &d.call);
    }
    Ok(())
}

/// A serialized state from arbitrary bytes: refused, or read and written back the same.
pub fn state(data: &[u8]) -> Result<(), String> {
    let Ok(o) = Observed::from_bytes(data) else {
        return Ok(());
    };
    let bytes = o.to_bytes();
    let again = Observed::from_bytes(&bytes).map_err(|e| format!("re-read: {e}"))?;
    if again != o {
        return Err("a state read back differs".into());
    }
    if again.to_bytes() != bytes {
        return Err("a state written twice differs".into());
    }
    check_policy(&o, &opts_from(data.len() as u8, true))
}

/// Calls built from arbitrary bytes (a known or made-up service and operation, arbitrary
/// parameters): the engine never panics, emits only permissions that pass the state check
/// (valid actions, no policy variables, no control characters in patterns), and the policy keeps
/// its properties.
pub fn engine(data: &[u8]) -> Result<(), String> {
    let rules = Rules::builtin();
    let ops = operations();
    let mut seen = Observed::new();
    for chunk in data.split(|b| *b == 0xFF).take(64) {
        let Some((&sel, rest)) = chunk.split_first() else {
            continue;
        };
        let (service, operation) = &ops[usize::from(sel) * 131 % ops.len()];
        let text = String::from_utf8_lossy(rest);
        let params = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v @ serde_json::Value::Object(_)) => v,
            _ => serde_json::json!({"Name": text, "Bucket": text, "Key": text, "RoleArn": text,
                                    "Tags": [{"Key": "k", "Value": text}]}),
        };
        let mut call = Call::new(service.as_str(), operation.as_str(), params);
        call.region = Some("eu-west-1".into());
        call.account = Some("123456789012".into());
        if sel % 7 == 0 {
            call.principal = Some(text.chars().take(40).collect());
        }
        let d = leastpriv::derive(&rules, &call);
        for p in &d.permissions {
            let fallback = d
                .diagnostics
                .iter()
                .any(|x| x.kind == DiagnosticKind::UnmappedOperation);
            if let Err(e) = p.validate()
                && !fallback
            {
                return Err(format!("{service}:{operation}: `{}`: {e}", p.action));
            }
        }
        seen.add(
            &d,
            call.principal.as_deref(),
            call.outcome.is_ok(),
            &call.source,
        );
    }
    let b = data.first().copied().unwrap_or(0);
    check_policy(&seen, &opts_from(b, false))?;
    check_policy(&seen, &opts_from(b, true))
}

/// Many permissions from arbitrary names (S3 keys, tables, principals): the policy builder's
/// properties under small size limits, and merging in any order gives the same state.
pub fn policy(data: &[u8]) -> Result<(), String> {
    let rules = Rules::builtin();
    let mut parts = Vec::new();
    for (i, chunk) in data.chunks(9).take(400).enumerate() {
        let name = String::from_utf8_lossy(chunk).into_owned();
        let (svc, op, params) = match i % 4 {
            0 => (
                "s3",
                "GetObject",
                serde_json::json!({"Bucket": "bucket", "Key": name}),
            ),
            1 => (
                "s3",
                "PutObject",
                serde_json::json!({"Bucket": format!("b{}", i % 5), "Key": name}),
            ),
            2 => (
                "dynamodb",
                "Query",
                serde_json::json!({"TableName": name, "IndexName": "i"}),
            ),
            _ => (
                "kms",
                "Decrypt",
                serde_json::json!({"KeyId": format!("alias/{name}")}),
            ),
        };
        let mut call = Call::new(svc, op, params);
        call.region = Some("eu-west-1".into());
        call.account = Some("123456789012".into());
        call.principal = Some(format!("p{}", chunk.first().copied().unwrap_or(0) % 3));
        let mut one = Pipeline::new(std::sync::Arc::clone(&rules), ReadOptions::default());
        one.record(&call);
        parts.push(one.into_observed());
    }
    let mut forward = Observed::new();
    for p in &parts {
        forward.merge(p);
    }
    let mut backward = Observed::new();
    for p in parts.iter().rev() {
        backward.merge(p);
    }
    if forward.to_bytes() != backward.to_bytes() {
        return Err("merging in another order gives another state".into());
    }
    let b = data.first().copied().unwrap_or(0);
    check_policy(&forward, &opts_from(b, false))?;
    check_policy(&forward, &opts_from(b, true))?;
    check_policy(
        &forward,
        &PolicyOptions {
            max_size: MANAGED_POLICY_LIMIT,
            ..PolicyOptions::default()
        },
    )
}

/// Every (service, operation) the rules know, plus made-up ones.
fn operations() -> Vec<(String, String)> {
    let mut ops = Rules::builtin().operations();
    ops.truncate(4_000);
    ops.push(("nosuchservice".into(), "DoThing".into()));
    ops.push(("s3".into(), "NoSuchOperation".into()));
    ops
}

/// Checks that `result` is the error a vector's `error` member describes: its `kind`, and
/// `line`, `column` and `field` where the vector gives them. Shared by the vector runners.
pub fn check_error(
    v: &serde_json::Value,
    result: Result<(), leastpriv::Error>,
) -> Result<(), String> {
    use serde_json::Value;
    let want = v.get("error").ok_or("unexpected error")?;
    let err = match result {
        Ok(()) => return Err(format!("expected an error {want}, got success")),
        Err(e) => e,
    };
    if let Some(kind) = want.get("kind").and_then(Value::as_str)
        && kind != err.kind().name()
    {
        return Err(format!(
            "error kind: want {kind}, got {} ({err})",
            err.kind().name()
        ));
    }
    for (key, got) in [("line", err.line()), ("column", err.column())] {
        if let Some(w) = want.get(key).and_then(Value::as_u64)
            && Some(w) != got
        {
            return Err(format!("error {key}: want {w}, got {got:?} ({err})"));
        }
    }
    if let Some(f) = want.get("field").and_then(Value::as_str)
        && Some(f) != err.field()
    {
        return Err(format!(
            "error field: want {f}, got {:?} ({err})",
            err.field()
        ));
    }
    Ok(())
}
