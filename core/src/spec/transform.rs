//! Named transforms: turn one request member into the parts a resource needs.

use super::path::Scalar;
use crate::arn::Arn;
use crate::call::Value;

/// One named transform of the rules format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transform {
    SqsQueueUrl,
    S3CopySource,
    LambdaFunction,
    SsmParameter,
    SecretId,
    Partiql,
    KmsKey,
    ExecuteApiEndpoint,
    BedrockModel,
    CognitoUserPool,
    StateMachine,
    EmailAddress,
    Arn,
    Route53Id,
    S3Uri,
    UrlEncode,
}

/// A value a transform produced: literal text, optionally followed by IAM pattern text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Piece {
    pub(crate) text: String,
    pub(crate) pattern: Option<&'static str>,
}

impl Piece {
    fn text(s: impl Into<String>) -> Piece {
        Piece {
            text: s.into(),
            pattern: None,
        }
    }
}

/// The named outputs of a transform.
#[derive(Debug, Clone, Default)]
pub(crate) struct Parts(Vec<(&'static str, Piece)>);

impl Parts {
    fn set(&mut self, name: &'static str, piece: Piece) {
        if !piece.text.is_empty() || piece.pattern.is_some() {
            self.0.push((name, piece));
        }
    }
    fn set_text(&mut self, name: &'static str, text: &str) {
        self.set(name, Piece::text(text));
    }
    pub(crate) fn get(&self, name: &str) -> Option<&Piece> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, p)| p)
    }
}

impl Transform {
    pub(crate) fn parse(name: &str) -> Option<Transform> {
        Some(match name {
            "sqs-queue-url" => Transform::SqsQueueUrl,
            "s3-copy-source" => Transform::S3CopySource,
            "lambda-function" => Transform::LambdaFunction,
            "ssm-parameter" => Transform::SsmParameter,
            "secret-id" => Transform::SecretId,
            "partiql" => Transform::Partiql,
            "kms-key" => Transform::KmsKey,
            "execute-api-endpoint" => Transform::ExecuteApiEndpoint,
            "bedrock-model" => Transform::BedrockModel,
            "cognito-user-pool" => Transform::CognitoUserPool,
            "state-machine" => Transform::StateMachine,
            "email-address" => Transform::EmailAddress,
            "arn" => Transform::Arn,
            "route53-id" => Transform::Route53Id,
            "s3-uri" => Transform::S3Uri,
            "url-encode" => Transform::UrlEncode,
            _ => return None,
        })
    }

    /// The part used when a binding names none.
    pub(crate) fn default_part(self) -> &'static str {
        match self {
            Transform::SqsQueueUrl
            | Transform::LambdaFunction
            | Transform::SsmParameter
            | Transform::SecretId => "name",
            Transform::S3CopySource => "key",
            Transform::Partiql => "table",
            Transform::KmsKey => "key",
            Transform::ExecuteApiEndpoint => "api",
            Transform::BedrockModel | Transform::CognitoUserPool => "id",
            Transform::StateMachine => "name",
            Transform::EmailAddress => "address",
            Transform::Arn => "resource",
            Transform::Route53Id => "id",
            Transform::S3Uri => "key",
            Transform::UrlEncode => "text",
        }
    }

    /// The parts this transform can produce.
    pub(crate) fn part_names(self) -> &'static [&'static str] {
        match self {
            Transform::SqsQueueUrl => &["name", "account", "region"],
            Transform::S3CopySource => &["bucket", "key", "version"],
            Transform::LambdaFunction => &["name", "qualifier", "account", "region", "partition"],
            Transform::SecretId => &["name", "account", "region", "partition"],
            Transform::Partiql => &["verb", "table", "index"],
            Transform::KmsKey => &["kind", "key", "alias", "account", "region", "partition"],
            Transform::ExecuteApiEndpoint => &["api", "stage", "region"],
            Transform::BedrockModel => &["kind", "id", "model", "account", "region", "partition"],
            Transform::CognitoUserPool => &["id", "region"],
            Transform::StateMachine => &["name", "qualifier", "account", "region", "partition"],
            Transform::EmailAddress => &["address", "domain"],
            Transform::Arn => &["resource", "service", "account", "region", "partition"],
            Transform::Route53Id => &["id"],
            Transform::SsmParameter => &["name", "selector", "account", "region", "partition"],
            Transform::S3Uri => &["bucket", "key", "version", "region"],
            Transform::UrlEncode => &["text"],
        }
    }

    /// Applies the transform. `value` is the member (a string, or a map for `s3-copy-source`).
    pub(crate) fn apply(self, value: &Scalar<'_>) -> Parts {
        let mut parts = Parts::default();
        match (self, value) {
            (Transform::S3CopySource, Scalar::Other(map @ Value::Object(_))) => {
                for (part, member) in [
                    ("bucket", "Bucket"),
                    ("key", "Key"),
                    ("version", "VersionId"),
                ] {
                    if let Some(s) = map.get(member).and_then(Value::as_str) {
                        parts.set_text(part, s);
                    }
                }
            }
            (_, v) => {
                if let Some(s) = v.as_str() {
                    self.apply_str(s, &mut parts);
                }
            }
        }
        parts
    }

    fn apply_str(self, s: &str, parts: &mut Parts) {
        match self {
            Transform::SqsQueueUrl => sqs_queue_url(s, parts),
            Transform::S3CopySource => s3_copy_source(s, parts),
            Transform::LambdaFunction => lambda_function(s, parts),
            Transform::SsmParameter => ssm_parameter(s, parts),
            Transform::SecretId => secret_id(s, parts),
            Transform::Partiql => partiql(s, parts),
            Transform::KmsKey => kms_key(s, parts),
            Transform::ExecuteApiEndpoint => execute_api_endpoint(s, parts),
            Transform::BedrockModel => bedrock_model(s, parts),
            Transform::CognitoUserPool => cognito_user_pool(s, parts),
            Transform::StateMachine => state_machine(s, parts),
            Transform::EmailAddress => email_address(s, parts),
            Transform::S3Uri => s3_uri(s, parts),
            Transform::UrlEncode => parts.set_text("text", &url_encode(s)),
            Transform::Route53Id => {
                // The SDKs return `/hostedzone/Z123`, `/change/C123`; IAM wants the bare id.
                let id = match Arn::parse(s) {
                    Some(arn) => arn.resource.rsplit('/').next().unwrap_or(arn.resource),
                    None => s.rsplit('/').next().unwrap_or(s),
                };
                parts.set_text("id", id);
            }
            Transform::Arn => {
                if let Some(arn) = Arn::parse(s) {
                    arn_context(&arn, parts);
                    parts.set_text("service", arn.service);
                    parts.set_text("resource", arn.resource);
                }
            }
        }
    }
}

fn looks_like_region(label: &str) -> bool {
    // two or more lowercase words separated by `-`, ending in a number: eu-west-1, us-gov-east-1
    let mut words = label.split('-');
    let Some(first) = words.next() else {
        return false;
    };
    let rest: Vec<&str> = words.collect();
    first.len() >= 2
        && first.chars().all(|c| c.is_ascii_lowercase())
        && rest.len() >= 2
        && rest
            .last()
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        && rest[..rest.len() - 1]
            .iter()
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
}

fn sqs_queue_url(url: &str, parts: &mut Parts) {
    let Some((_, after_scheme)) = url.split_once("://") else {
        // Not a URL: a bare queue name.
        parts.set_text("name", url.trim_matches('/'));
        return;
    };
    let (authority, path) = match after_scheme.find('/') {
        Some(i) => (&after_scheme[..i], &after_scheme[i..]),
        None => (after_scheme, ""),
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let region = if host == "queue.amazonaws.com" {
        Some("us-east-1")
    } else {
        labels.iter().copied().find(|l| looks_like_region(l))
    };
    if let Some(r) = region {
        parts.set_text("region", r);
    }
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        [.., account, name] => {
            parts.set_text("account", account);
            parts.set_text("name", name);
        }
        [name] => parts.set_text("name", name),
        [] => {}
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' && i + 2 < bytes.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An S3 location as the APIs give it: `s3://BUCKET/KEY`, a virtual-hosted URL
/// (`https://BUCKET.s3[.-]REGION.amazonaws.com/KEY`, `https://BUCKET.s3.amazonaws.com/KEY`), a
/// path-style URL (`https://s3[.-]REGION.amazonaws.com/BUCKET/KEY`), or a bucket's host name
/// alone (`BUCKET.s3.amazonaws.com`, as CloudFront logging takes it). Keys in URLs are
/// percent-decoded; `?versionId=` gives the version.
fn s3_uri(s: &str, parts: &mut Parts) {
    let s = s.trim();
    let (s, version) = match s.split_once('?') {
        Some((path, query)) => (
            path,
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix("versionId=")),
        ),
        None => (s, None),
    };
    let (bucket, key, encoded) = if let Some(rest) = s.strip_prefix("s3://") {
        let (b, k) = rest.split_once('/').unwrap_or((rest, ""));
        (b.to_owned(), k.to_owned(), false)
    } else {
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .unwrap_or(s);
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = host.split(':').next().unwrap_or(host);
        let lower = host.to_ascii_lowercase();
        // `s3.amazonaws.com`, `s3.REGION.amazonaws.com`, `s3-REGION.amazonaws.com`, and the
        // dualstack and China forms: path style, the bucket first in the path.
        let s3_host = |h: &str| {
            (h.starts_with("s3.") || h.starts_with("s3-")) && h.contains(".amazonaws.com")
        };
        if s3_host(&lower) {
            if let Some(r) = region_of_s3_host(&lower) {
                parts.set_text("region", r);
            }
            let (b, k) = path.split_once('/').unwrap_or((path, ""));
            (b.to_owned(), k.to_owned(), true)
        } else if let Some(i) = lower.find(".s3.").or_else(|| lower.find(".s3-")) {
            if let Some(r) = region_of_s3_host(&lower[i + 1..]) {
                parts.set_text("region", r);
            }
            (host[..i].to_owned(), path.to_owned(), true)
        } else {
            return;
        }
    };
    parts.set_text("bucket", &bucket);
    if encoded {
        parts.set_text("key", &percent_decode(&key));
    } else {
        parts.set_text("key", &key);
    }
    if let Some(v) = version {
        parts.set_text("version", &percent_decode(v));
    }
}

/// The region of an S3 host (`s3.eu-west-1.amazonaws.com`, `s3-eu-west-1.amazonaws.com`,
/// `s3.dualstack.eu-west-1.amazonaws.com`), if it names one.
fn region_of_s3_host(host: &str) -> Option<&str> {
    let rest = host
        .strip_prefix("s3.dualstack.")
        .or_else(|| host.strip_prefix("s3."))
        .or_else(|| host.strip_prefix("s3-"))?;
    let region = rest.split('.').next()?;
    (region.contains('-') && region != "external-1").then_some(region)
}

/// Percent-encodes everything but RFC 3986's unreserved characters (API Gateway names a tagged
/// resource in its `/tags/` path by its URL-encoded ARN).
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn s3_copy_source(s: &str, parts: &mut Parts) {
    let (path, version) = match s.find("?versionId=") {
        Some(i) => (&s[..i], Some(&s[i + "?versionId=".len()..])),
        None => (s, None),
    };
    let path = path.strip_prefix('/').unwrap_or(path);
    if path.starts_with("arn:") {
        // An access point or Outposts ARN: ARN/object/KEY.
        if let Some(i) = path.find("/object/") {
            parts.set_text("bucket", &percent_decode(&path[..i]));
            parts.set_text("key", &percent_decode(&path[i + "/object/".len()..]));
        }
    } else if let Some((bucket, key)) = path.split_once('/') {
        parts.set_text("bucket", &percent_decode(bucket));
        parts.set_text("key", &percent_decode(key));
    } else {
        parts.set_text("bucket", &percent_decode(path));
    }
    if let Some(v) = version {
        parts.set_text("version", &percent_decode(v));
    }
}

fn arn_context(arn: &Arn<'_>, parts: &mut Parts) {
    parts.set_text("partition", arn.partition);
    parts.set_text("region", arn.region);
    parts.set_text("account", arn.account);
}

fn lambda_function(s: &str, parts: &mut Parts) {
    let rest = if let Some(arn) = Arn::parse(s) {
        arn_context(&arn, parts);
        arn.resource
            .strip_prefix("function:")
            .unwrap_or(arn.resource)
    } else if let Some((account, rest)) = s.split_once(":function:") {
        parts.set_text("account", account);
        rest
    } else {
        s
    };
    match rest.split_once(':') {
        Some((name, qualifier)) => {
            parts.set_text("name", name);
            parts.set_text("qualifier", qualifier);
        }
        None => parts.set_text("name", rest),
    }
}

fn ssm_parameter(s: &str, parts: &mut Parts) {
    // An EC2 image id that refers to a parameter (`resolve:ssm:/aws/service/...`).
    let s = s.strip_prefix("resolve:ssm:").unwrap_or(s);
    let name = if let Some(arn) = Arn::parse(s) {
        arn_context(&arn, parts);
        let name = arn
            .resource
            .strip_prefix("parameter")
            .unwrap_or(arn.resource);
        name.strip_prefix('/').unwrap_or(name)
    } else {
        s.strip_prefix('/').unwrap_or(s)
    };
    // `name:3` or `name:label` selects a version; parameter names never contain `:`.
    match name.split_once(':') {
        Some((n, selector)) => {
            parts.set_text("name", n);
            parts.set_text("selector", selector);
        }
        None => parts.set_text("name", name),
    }
}

fn has_secret_suffix(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() > 7 && b[b.len() - 7] == b'-' && b[b.len() - 6..].iter().all(u8::is_ascii_alphanumeric)
}

fn secret_id(s: &str, parts: &mut Parts) {
    if let Some(arn) = Arn::parse(s) {
        arn_context(&arn, parts);
        let name = arn.resource.strip_prefix("secret:").unwrap_or(arn.resource);
        if has_secret_suffix(name) {
            parts.set_text("name", name);
        } else {
            parts.set(
                "name",
                Piece {
                    text: name.to_owned(),
                    pattern: Some("-??????"),
                },
            );
        }
    } else {
        parts.set(
            "name",
            Piece {
                text: s.to_owned(),
                pattern: Some("-??????"),
            },
        );
    }
}

fn kms_key(s: &str, parts: &mut Parts) {
    let rest = match Arn::parse(s) {
        Some(arn) => {
            arn_context(&arn, parts);
            arn.resource
        }
        None => s,
    };
    if rest.starts_with("alias/") {
        parts.set_text("kind", "alias");
        parts.set_text("alias", rest);
    } else {
        parts.set_text("kind", "key");
        parts.set_text("key", rest.strip_prefix("key/").unwrap_or(rest));
    }
}

fn execute_api_endpoint(url: &str, parts: &mut Parts) {
    let Some((_, after_scheme)) = url.split_once("://") else {
        return;
    };
    let (authority, path) = match after_scheme.find('/') {
        Some(i) => (&after_scheme[..i], &after_scheme[i..]),
        None => (after_scheme, ""),
    };
    let host = authority
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let segs: Vec<&str> = path
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let labels: Vec<&str> = host.split('.').collect();
    if let Some(i) = labels.iter().position(|l| *l == "execute-api")
        && i == 1
    {
        parts.set_text("api", labels[0]);
        if let Some(r) = labels.get(2).filter(|l| looks_like_region(l)) {
            parts.set_text("region", r);
        }
        if let Some(stage) = segs.first() {
            parts.set_text("stage", stage);
        }
    } else if let [.., "_aws", "execute-api", api, stage]
    | [.., "_aws", "execute-api", api, stage, _] = segs.as_slice()
    {
        parts.set_text("api", api);
        parts.set_text("stage", stage);
    } else if let Some(r) = labels.iter().find(|l| looks_like_region(l)) {
        parts.set_text("region", r);
    }
}

/// Geographic prefixes of cross-region inference profile ids (`us.anthropic...`).
const PROFILE_PREFIXES: &[&str] = &["us", "eu", "apac", "us-gov", "global", "ca", "jp", "au"];

fn bedrock_model(s: &str, parts: &mut Parts) {
    if let Some(arn) = Arn::parse(s) {
        arn_context(&arn, parts);
        parts.set_text("kind", "arn");
        let id = arn
            .resource
            .split_once('/')
            .map(|(_, id)| id)
            .unwrap_or(arn.resource);
        parts.set_text("id", id);
        if arn.resource.starts_with("foundation-model/") {
            parts.set_text("model", id);
        } else if arn.resource.starts_with("inference-profile/")
            && let Some((geo, model)) = id.split_once('.')
            && PROFILE_PREFIXES.contains(&geo)
        {
            parts.set_text("model", model);
        }
        return;
    }
    parts.set_text("id", s);
    match s.split_once('.') {
        Some((geo, model)) if PROFILE_PREFIXES.contains(&geo) => {
            parts.set_text("kind", "inference-profile");
            parts.set_text("model", model);
        }
        _ => {
            parts.set_text("kind", "foundation-model");
            parts.set_text("model", s);
        }
    }
}

fn state_machine(s: &str, parts: &mut Parts) {
    let rest = match Arn::parse(s) {
        Some(arn) => {
            arn_context(&arn, parts);
            arn.resource
                .strip_prefix("stateMachine:")
                .unwrap_or(arn.resource)
        }
        None => s,
    };
    match rest.split_once(':') {
        Some((name, qualifier)) => {
            parts.set_text("name", name);
            parts.set_text("qualifier", qualifier);
        }
        None => parts.set_text("name", rest),
    }
}

/// `Orders <orders@example.com>` or `orders@example.com` → the address and its domain.
fn email_address(s: &str, parts: &mut Parts) {
    let s = s.trim();
    let addr = match (s.rfind('<'), s.rfind('>')) {
        (Some(open), Some(close)) if open < close => &s[open + 1..close],
        _ => s,
    };
    let addr = addr.trim();
    parts.set_text("address", addr);
    if let Some((_, domain)) = addr.rsplit_once('@') {
        parts.set_text("domain", domain);
    }
}

fn cognito_user_pool(s: &str, parts: &mut Parts) {
    parts.set_text("id", s);
    if let Some((region, _)) = s.split_once('_')
        && looks_like_region(region)
    {
        parts.set_text("region", region);
    }
}

/// Reads a PartiQL identifier at the start of `s` (`"Quoted"""` or bare), returning it and the rest.
fn partiql_ident(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    if let Some(body) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if matches!(chars.peek(), Some((_, '"'))) {
                    out.push('"');
                    chars.next();
                    continue;
                }
                return Some((out, &body[i + 1..]));
            }
            out.push(c);
        }
        None
    } else {
        let end = s
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(s.len());
        if end == 0 {
            return None;
        }
        Some((s[..end].to_owned(), &s[end..]))
    }
}

/// Byte offset just after the first top-level (unquoted) occurrence of keyword `kw`.
fn after_keyword(s: &str, kw: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == q {
                    quote = None;
                }
            }
            None => {
                if b == b'\'' || b == b'"' {
                    quote = Some(b);
                } else if bytes.len() - i >= kw.len()
                    && bytes[i..i + kw.len()].eq_ignore_ascii_case(kw.as_bytes())
                    && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
                    && bytes
                        .get(i + kw.len())
                        .is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'_')
                {
                    return Some(i + kw.len());
                }
            }
        }
        i += 1;
    }
    None
}

fn partiql(s: &str, parts: &mut Parts) {
    let trimmed = s.trim_start();
    let verb_end = trimmed
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(trimmed.len());
    let verb = trimmed[..verb_end].to_ascii_uppercase();
    let kw = match verb.as_str() {
        "SELECT" | "DELETE" => "FROM",
        "INSERT" => "INTO",
        "UPDATE" | "EXISTS" => "",
        _ => return,
    };
    parts.set_text("verb", &verb);
    let rest = if kw.is_empty() {
        &trimmed[verb_end..]
    } else {
        match after_keyword(trimmed, kw) {
            Some(i) => &trimmed[i..],
            None => return,
        }
    };
    if let Some((table, rest)) = partiql_ident(rest) {
        parts.set_text("table", &table);
        if let Some(after_dot) = rest.strip_prefix('.')
            && let Some((index, _)) = partiql_ident(after_dot)
        {
            parts.set_text("index", &index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(t: Transform, s: &str) -> Vec<(String, String)> {
        let mut p = Parts::default();
        t.apply_str(s, &mut p);
        p.0.iter()
            .map(|(n, v)| ((*n).to_owned(), v.text.clone()))
            .collect()
    }

    #[test]
    fn s3_uris_in_every_form() {
        let want = |b: &str, k: &str| {
            vec![
                ("bucket".to_owned(), b.to_owned()),
                ("key".to_owned(), k.to_owned()),
            ]
        };
        assert_eq!(
            parts(Transform::S3Uri, "s3://tpl/stacks/app.yaml"),
            want("tpl", "stacks/app.yaml")
        );
        assert_eq!(
            parts(
                Transform::S3Uri,
                "https://tpl.s3.amazonaws.com/stacks/a%20b.yaml"
            ),
            want("tpl", "stacks/a b.yaml")
        );
        let p = parts(
            Transform::S3Uri,
            "https://s3.eu-west-1.amazonaws.com/tpl/x.json?versionId=3",
        );
        assert!(
            p.contains(&("region".to_owned(), "eu-west-1".to_owned())),
            "{p:?}"
        );
        assert!(p.contains(&("bucket".to_owned(), "tpl".to_owned())));
        assert!(p.contains(&("key".to_owned(), "x.json".to_owned())));
        assert!(p.contains(&("version".to_owned(), "3".to_owned())));
        let p = parts(Transform::S3Uri, "https://tpl.s3-us-west-2.amazonaws.com/k");
        assert!(
            p.contains(&("bucket".to_owned(), "tpl".to_owned())),
            "{p:?}"
        );
        assert!(
            p.contains(&("region".to_owned(), "us-west-2".to_owned())),
            "{p:?}"
        );
        assert_eq!(
            parts(Transform::S3Uri, "logs.s3.amazonaws.com"),
            vec![("bucket".to_owned(), "logs".to_owned())]
        );
        assert!(parts(Transform::S3Uri, "https://example.com/x").is_empty());
    }

    #[test]
    fn url_encoding_keeps_only_unreserved() {
        assert_eq!(
            parts(
                Transform::UrlEncode,
                "arn:aws:apigateway:eu-west-1::/restapis/a1"
            ),
            vec![(
                "text".to_owned(),
                "arn%3Aaws%3Aapigateway%3Aeu-west-1%3A%3A%2Frestapis%2Fa1".to_owned()
            )]
        );
    }

    use serde_json::json;

    fn part(t: Transform, v: Value, name: &str) -> Option<String> {
        let s = match &v {
            Value::String(s) => Scalar::Str(s),
            other => Scalar::Other(other),
        };
        t.apply(&s)
            .get(name)
            .map(|p| format!("{}{}", p.text, p.pattern.unwrap_or("")))
    }

    #[test]
    fn queue_urls() {
        let t = Transform::SqsQueueUrl;
        for (url, region, account) in [
            (
                "https://sqs.eu-west-1.amazonaws.com/111122223333/orders",
                Some("eu-west-1"),
                "111122223333",
            ),
            (
                "https://eu-west-1.queue.amazonaws.com/111122223333/orders",
                Some("eu-west-1"),
                "111122223333",
            ),
            (
                "https://queue.amazonaws.com/111122223333/orders",
                Some("us-east-1"),
                "111122223333",
            ),
            (
                "https://sqs.cn-north-1.amazonaws.com.cn/111122223333/orders",
                Some("cn-north-1"),
                "111122223333",
            ),
            (
                "http://localhost:4566/000000000000/orders",
                None,
                "000000000000",
            ),
            (
                "http://sqs.us-gov-west-1.localhost.localstack.cloud:4566/000000000000/orders",
                Some("us-gov-west-1"),
                "000000000000",
            ),
        ] {
            assert_eq!(part(t, json!(url), "region").as_deref(), region, "{url}");
            assert_eq!(
                part(t, json!(url), "account").as_deref(),
                Some(account),
                "{url}"
            );
            assert_eq!(
                part(t, json!(url), "name").as_deref(),
                Some("orders"),
                "{url}"
            );
        }
    }

    #[test]
    fn copy_sources() {
        let t = Transform::S3CopySource;
        let v = json!("/src%20bucket/dir/a%2Bb.txt?versionId=v%2B1");
        assert_eq!(part(t, v.clone(), "bucket").as_deref(), Some("src bucket"));
        assert_eq!(part(t, v.clone(), "key").as_deref(), Some("dir/a+b.txt"));
        assert_eq!(part(t, v, "version").as_deref(), Some("v+1"));
        let m = json!({"Bucket": "b", "Key": "k", "VersionId": "1"});
        assert_eq!(part(t, m, "version").as_deref(), Some("1"));
        assert_eq!(part(t, json!("b/k%"), "key").as_deref(), Some("k%"));
    }

    #[test]
    fn lambda_names() {
        let t = Transform::LambdaFunction;
        let v = json!("arn:aws:lambda:us-west-2:123456789012:function:my-fn:PROD");
        assert_eq!(part(t, v.clone(), "name").as_deref(), Some("my-fn"));
        assert_eq!(part(t, v.clone(), "qualifier").as_deref(), Some("PROD"));
        assert_eq!(part(t, v, "region").as_deref(), Some("us-west-2"));
        let p = json!("123456789012:function:my-fn");
        assert_eq!(
            part(t, p.clone(), "account").as_deref(),
            Some("123456789012")
        );
        assert_eq!(part(t, p, "qualifier"), None);
        assert_eq!(part(t, json!("fn:3"), "qualifier").as_deref(), Some("3"));
    }

    #[test]
    fn ssm_and_secrets() {
        assert_eq!(
            part(Transform::SsmParameter, json!("/app/db"), "name").as_deref(),
            Some("app/db")
        );
        assert_eq!(
            part(Transform::SsmParameter, json!("app"), "name").as_deref(),
            Some("app")
        );
        assert_eq!(
            part(
                Transform::SsmParameter,
                json!("arn:aws:ssm:eu-west-1:1:parameter/app/db"),
                "name"
            )
            .as_deref(),
            Some("app/db")
        );
        assert_eq!(
            part(Transform::SecretId, json!("db"), "name").as_deref(),
            Some("db-??????")
        );
        assert_eq!(
            part(
                Transform::SecretId,
                json!("arn:aws:secretsmanager:eu-west-1:1:secret:db-AbC123"),
                "name"
            )
            .as_deref(),
            Some("db-AbC123")
        );
        assert_eq!(
            part(
                Transform::SecretId,
                json!("arn:aws:secretsmanager:eu-west-1:1:secret:db"),
                "name"
            )
            .as_deref(),
            Some("db-??????")
        );
    }

    #[test]
    fn kms_keys_and_aliases() {
        let t = Transform::KmsKey;
        assert_eq!(
            part(t, json!("1234abcd-12ab"), "kind").as_deref(),
            Some("key")
        );
        assert_eq!(
            part(t, json!("1234abcd-12ab"), "key").as_deref(),
            Some("1234abcd-12ab")
        );
        let a = json!("arn:aws:kms:us-east-2:111122223333:alias/orders");
        assert_eq!(part(t, a.clone(), "kind").as_deref(), Some("alias"));
        assert_eq!(part(t, a.clone(), "alias").as_deref(), Some("alias/orders"));
        assert_eq!(part(t, a, "region").as_deref(), Some("us-east-2"));
        let k = json!("arn:aws:kms:us-east-2:111122223333:key/1234abcd");
        assert_eq!(part(t, k, "key").as_deref(), Some("1234abcd"));
        assert_eq!(part(t, json!("alias/x"), "key"), None);
    }

    #[test]
    fn execute_api_endpoints() {
        let t = Transform::ExecuteApiEndpoint;
        let u = json!("https://abc123.execute-api.eu-west-1.amazonaws.com/prod");
        assert_eq!(part(t, u.clone(), "api").as_deref(), Some("abc123"));
        assert_eq!(part(t, u.clone(), "stage").as_deref(), Some("prod"));
        assert_eq!(part(t, u, "region").as_deref(), Some("eu-west-1"));
        let l = json!("http://localhost:4566/_aws/execute-api/abc123/dev");
        assert_eq!(part(t, l.clone(), "api").as_deref(), Some("abc123"));
        assert_eq!(part(t, l, "stage").as_deref(), Some("dev"));
        let ls = json!("http://abc123.execute-api.localhost.localstack.cloud:4566/dev");
        assert_eq!(part(t, ls, "api").as_deref(), Some("abc123"));
    }

    #[test]
    fn route53_ids() {
        let t = Transform::Route53Id;
        assert_eq!(
            part(t, json!("/hostedzone/Z0123ABC"), "id").as_deref(),
            Some("Z0123ABC")
        );
        assert_eq!(
            part(t, json!("Z0123ABC"), "id").as_deref(),
            Some("Z0123ABC")
        );
        assert_eq!(
            part(t, json!("/change/C2682N5HXP0BZ4"), "id").as_deref(),
            Some("C2682N5HXP0BZ4")
        );
        assert_eq!(
            part(t, json!("arn:aws:route53:::hostedzone/Z0123ABC"), "id").as_deref(),
            Some("Z0123ABC")
        );
    }

    #[test]
    fn ssm_selectors_and_plain_arns() {
        assert_eq!(
            part(Transform::SsmParameter, json!("/app/db:3"), "name").as_deref(),
            Some("app/db")
        );
        assert_eq!(
            part(Transform::SsmParameter, json!("/app/db:live"), "selector").as_deref(),
            Some("live")
        );
        let a = json!("arn:aws:sns:eu-west-1:111122223333:topic:sub-id");
        assert_eq!(
            part(Transform::Arn, a.clone(), "resource").as_deref(),
            Some("topic:sub-id")
        );
        assert_eq!(
            part(Transform::Arn, a.clone(), "service").as_deref(),
            Some("sns")
        );
        assert_eq!(
            part(Transform::Arn, a, "account").as_deref(),
            Some("111122223333")
        );
        assert_eq!(part(Transform::Arn, json!("topic"), "resource"), None);
    }

    #[test]
    fn email_addresses() {
        let t = Transform::EmailAddress;
        let v = json!("Orders Team <orders@example.com>");
        assert_eq!(
            part(t, v.clone(), "address").as_deref(),
            Some("orders@example.com")
        );
        assert_eq!(part(t, v, "domain").as_deref(), Some("example.com"));
        assert_eq!(
            part(t, json!("a@b.org"), "domain").as_deref(),
            Some("b.org")
        );
        let p = json!(
            "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"
        );
        assert_eq!(
            part(Transform::BedrockModel, p, "model").as_deref(),
            Some("anthropic.claude-3-haiku-20240307-v1:0")
        );
    }

    #[test]
    fn state_machines() {
        let t = Transform::StateMachine;
        let v = json!("arn:aws:states:eu-west-1:111122223333:stateMachine:orders:prod");
        assert_eq!(part(t, v.clone(), "name").as_deref(), Some("orders"));
        assert_eq!(part(t, v.clone(), "qualifier").as_deref(), Some("prod"));
        assert_eq!(part(t, v, "account").as_deref(), Some("111122223333"));
        let u = json!("arn:aws:states:eu-west-1:111122223333:stateMachine:orders");
        assert_eq!(part(t, u, "qualifier"), None);
    }

    #[test]
    fn bedrock_models() {
        let t = Transform::BedrockModel;
        let p = json!("us.anthropic.claude-3-haiku-20240307-v1:0");
        assert_eq!(
            part(t, p.clone(), "kind").as_deref(),
            Some("inference-profile")
        );
        assert_eq!(
            part(t, p, "model").as_deref(),
            Some("anthropic.claude-3-haiku-20240307-v1:0")
        );
        let f = json!("anthropic.claude-3-haiku-20240307-v1:0");
        assert_eq!(part(t, f, "kind").as_deref(), Some("foundation-model"));
        let a = json!("arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1");
        assert_eq!(part(t, a.clone(), "kind").as_deref(), Some("arn"));
        assert_eq!(
            part(t, a, "id").as_deref(),
            Some("amazon.titan-text-express-v1")
        );
        assert_eq!(
            part(
                Transform::CognitoUserPool,
                json!("eu-west-1_AbC123"),
                "region"
            )
            .as_deref(),
            Some("eu-west-1")
        );
    }

    #[test]
    fn partiql_statements() {
        let t = Transform::Partiql;
        let s = json!(r#"select * from "Orders"."ByCustomer" where pk = 'from x'"#);
        assert_eq!(part(t, s.clone(), "verb").as_deref(), Some("SELECT"));
        assert_eq!(part(t, s.clone(), "table").as_deref(), Some("Orders"));
        assert_eq!(part(t, s, "index").as_deref(), Some("ByCustomer"));
        let i = json!(r#"INSERT INTO "Or""ders" value {'a': 1}"#);
        assert_eq!(part(t, i, "table").as_deref(), Some("Or\"ders"));
        let u = json!("UPDATE Orders SET a = 1 WHERE pk = 'x'");
        assert_eq!(part(t, u, "table").as_deref(), Some("Orders"));
        let d = json!("DELETE FROM \"T\" WHERE pk = 'x'");
        assert_eq!(part(t, d, "verb").as_deref(), Some("DELETE"));
    }
}
