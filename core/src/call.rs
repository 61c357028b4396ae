//! [`Call`]: one normalized AWS request, whatever recorded it.

use crate::error::{Error, ErrorKind, Result};
use std::sync::Arc;

/// A JSON-like value: the request parameters of a [`Call`].
///
/// EDN keywords become their names (`:Bucket` → `"Bucket"`), EDN sets and lists become arrays,
/// and values with no JSON equivalent (tagged literals, `#object[...]`) become strings.
pub use serde_json::Value;

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Outcome {
    /// The call succeeded.
    #[default]
    Ok,
    /// The call failed, with the service's error code when one is known
    /// (`AccessDenied`, `NoSuchKey`, `ResourceNotFoundException`, ...).
    Error {
        /// The error code, if known.
        code: Option<String>,
    },
}

impl Outcome {
    /// `true` for [`Outcome::Ok`].
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }

    /// `true` for an error whose code says the caller was refused: `AccessDenied`,
    /// `AuthorizationError`, or a code ending in `AccessDeniedException` or
    /// `UnauthorizedOperation` (EC2 logs `Client.UnauthorizedOperation`). An EC2
    /// `DryRunOperation` is not one: the caller had the permission.
    ///
    /// ```
    /// use leastpriv::Outcome;
    /// let e = |c: &str| Outcome::Error { code: Some(c.into()) };
    /// for c in ["AccessDenied", "AccessDeniedException", "Client.UnauthorizedOperation", "AuthorizationError"] {
    ///     assert!(e(c).is_denied(), "{c}");
    /// }
    /// for c in ["Client.DryRunOperation", "NoSuchKey", "ThrottlingException"] {
    ///     assert!(!e(c).is_denied(), "{c}");
    /// }
    /// assert!(!Outcome::Ok.is_denied());
    /// ```
    pub fn is_denied(&self) -> bool {
        // https://docs.aws.amazon.com/awscloudtrail/latest/userguide/use-cloudformation-template-to-create-cloudwatch-alarms.html
        // (the authorization-failure alarm matches AccessDenied and *UnauthorizedOperation).
        match self {
            Outcome::Error { code: Some(c) } => {
                c == "AccessDenied"
                    || c == "AuthorizationError"
                    || c.ends_with("AccessDeniedException")
                    || c.ends_with("UnauthorizedOperation")
            }
            _ => false,
        }
    }

    /// The outcome a recorder reports: `outcome` is `ok`, `error` or absent, and an error code
    /// makes the call failed whatever `outcome` says (the code is the evidence; a call that
    /// failed still needed its permission). An empty code counts as none. Any other `outcome`
    /// is an [`ErrorKind::InvalidEvent`] naming the field.
    ///
    /// ```
    /// use leastpriv::Outcome;
    /// assert_eq!(Outcome::from_parts(None, None).unwrap(), Outcome::Ok);
    /// assert_eq!(Outcome::from_parts(Some("ok"), Some("AccessDenied")).unwrap(),
    ///            Outcome::Error { code: Some("AccessDenied".into()) });
    /// assert_eq!(Outcome::from_parts(Some("error"), None).unwrap(), Outcome::Error { code: None });
    /// assert!(Outcome::from_parts(Some("failed"), None).is_err());
    /// ```
    pub fn from_parts(outcome: Option<&str>, error_code: Option<&str>) -> Result<Outcome> {
        let code = error_code.map(str::trim).filter(|c| !c.is_empty());
        match (outcome, code) {
            (None | Some("ok" | "error"), Some(c)) => Ok(Outcome::Error {
                code: Some(c.to_owned()),
            }),
            (None | Some("ok"), None) => Ok(Outcome::Ok),
            (Some("error"), None) => Ok(Outcome::Error { code: None }),
            (Some(_), _) => Err(bad("outcome", "must be \"ok\" or \"error\"")),
        }
    }
}

/// Where a call came from: a file and line, or a label the caller gave (such as a test id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Source {
    /// The file name, `-` for standard input, or a caller-given label.
    pub label: Option<Arc<str>>,
    /// The 1-based line where the event starts, when read from a file.
    pub line: Option<u64>,
}

impl Source {
    /// A source with a label and no line.
    pub fn label(label: impl Into<Arc<str>>) -> Source {
        Source {
            label: Some(label.into()),
            line: None,
        }
    }

    /// A source at a line of a file.
    pub fn at(file: Arc<str>, line: u64) -> Source {
        Source {
            label: Some(file),
            line: Some(line),
        }
    }
}

/// One AWS request as recorded: the unit every reader produces and the engine consumes.
///
/// ```
/// use leastpriv::{Call, Value};
/// let call = Call::new("s3", "GetObject", serde_json::json!({"Bucket": "b", "Key": "k"}));
/// assert!(call.outcome.is_ok());
/// assert_eq!(call.params["Bucket"], Value::from("b"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Call {
    /// The service, in any dialect: `s3`, `monitoring`, `cloudwatch`, `SFN`, `S3Client`, ...
    pub service: String,
    /// The operation: `GetObject` (a leading `:` or a trailing `Command` is accepted).
    pub operation: String,
    /// The request parameters as the caller passed them.
    pub params: Value,
    /// The region the client called, if known.
    pub region: Option<String>,
    /// The account the client called as, if known.
    pub account: Option<String>,
    /// The partition (`aws`, `aws-cn`, ...), if known.
    pub partition: Option<String>,
    /// The endpoint URL the client called, if known.
    pub endpoint: Option<String>,
    /// How the call ended.
    pub outcome: Outcome,
    /// Which application, service or role the call belongs to (for `--group-by`).
    pub principal: Option<String>,
    /// Where the call was read or recorded.
    pub source: Source,
}

impl Call {
    /// A successful call with no region, account or source.
    pub fn new(service: impl Into<String>, operation: impl Into<String>, params: Value) -> Call {
        Call {
            service: service.into(),
            operation: operation.into(),
            params,
            ..Call::default()
        }
    }
}

/// What a recorder says about a call besides its parameters (see [`Call::from_parts`]); the
/// same shape gives a recorder's defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallParts<'a> {
    /// The service, in any dialect.
    pub service: &'a str,
    /// The operation.
    pub operation: &'a str,
    /// The region the client called.
    pub region: Option<&'a str>,
    /// The account.
    pub account: Option<&'a str>,
    /// The partition.
    pub partition: Option<&'a str>,
    /// The endpoint URL.
    pub endpoint: Option<&'a str>,
    /// `ok` or `error`.
    pub outcome: Option<&'a str>,
    /// The service's error code, if the call failed.
    pub error_code: Option<&'a str>,
    /// Which application, service or role the call belongs to.
    pub principal: Option<&'a str>,
    /// A label for the evidence (a test id).
    pub source: Option<&'a str>,
}

/// The longest service, operation or principal name accepted.
const MAX_NAME: usize = 256;

fn bad(field: &str, why: &str) -> Error {
    Error::new(ErrorKind::InvalidEvent, format!("`{field}` {why}")).with_field(field)
}

/// Checks a region: lower-case letters, digits and hyphens (`eu-west-1`, `us-gov-west-1`,
/// `aws-global`), at most 32 characters.
///
/// ```
/// assert!(leastpriv::check_region("eu-west-1").is_ok());
/// assert!(leastpriv::check_region("eu-west-1:123456789012:table/*").is_err());
/// ```
pub fn check_region(region: &str) -> Result<()> {
    let ok = !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(bad(
            "region",
            "is not a region (lower-case letters, digits and hyphens, such as eu-west-1)",
        ))
    }
}

/// Checks an account id: exactly 12 digits.
///
/// ```
/// assert!(leastpriv::check_account("123456789012").is_ok());
/// assert!(leastpriv::check_account("12345").is_err());
/// ```
pub fn check_account(account: &str) -> Result<()> {
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(bad("account", "is not an account id (12 digits)"))
    }
}

/// Checks a partition: `aws`, or `aws-` followed by lower-case letters, digits and hyphens
/// (`aws-cn`, `aws-us-gov`, `aws-iso-b`, ...).
///
/// ```
/// assert!(leastpriv::check_partition("aws-us-gov").is_ok());
/// assert!(leastpriv::check_partition("aws:s3").is_err());
/// ```
pub fn check_partition(partition: &str) -> Result<()> {
    let ok = partition.len() <= 32
        && (partition == "aws"
            || partition.strip_prefix("aws-").is_some_and(|rest| {
                !rest.is_empty()
                    && !rest.ends_with('-')
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            }));
    if ok {
        Ok(())
    } else {
        Err(bad(
            "partition",
            "is not a partition (aws, aws-cn, aws-us-gov, ...)",
        ))
    }
}

fn check_name(field: &str, value: &str, extra: &[u8]) -> Result<()> {
    let v = value.trim();
    let v = v.strip_prefix(':').unwrap_or(v);
    if v.is_empty() {
        return Err(bad(field, "is empty"));
    }
    if v.len() > MAX_NAME {
        return Err(bad(field, &format!("is longer than {MAX_NAME} characters")));
    }
    if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    {
        return Err(bad(
            field,
            &format!(
                "holds a character other than letters, digits and `{}`",
                String::from_utf8_lossy(extra)
            ),
        ));
    }
    if !v.starts_with(|c: char| c.is_ascii_alphabetic() || c == '@') {
        return Err(bad(field, "does not start with a letter"));
    }
    Ok(())
}

impl Call {
    /// Checks what an event says about the call, as every reader and binding does before the
    /// engine sees it: a service name (any SDK dialect: letters, digits, ` ._-/@`) and an
    /// operation name (letters, digits, `_-`, maybe a leading `:`), each at most 256
    /// characters; a region, account and partition of their forms when given (an empty one
    /// counts as absent). The error is [`ErrorKind::InvalidEvent`] with the field, and never
    /// quotes the value.
    ///
    /// ```
    /// use leastpriv::Call;
    /// assert!(Call::new("s3", "GetObject", serde_json::json!({})).validate().is_ok());
    /// assert!(Call::new("s3:", "GetObject", serde_json::json!({})).validate().is_err());
    /// assert!(Call::new("s3", "", serde_json::json!({})).validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<()> {
        check_name("service", &self.service, b" ._-/@")?;
        check_name("operation", &self.operation, b"_-")?;
        // A JavaScript command class name is the operation and `Command`: `Command` alone names
        // nothing.
        let op = self.operation.trim().trim_start_matches(':');
        if op.strip_suffix("Command").is_some_and(str::is_empty) {
            return Err(bad("operation", "names no operation (only `Command`)"));
        }
        if let Some(r) = self.region.as_deref().filter(|s| !s.is_empty()) {
            check_region(r)?;
        }
        if let Some(a) = self.account.as_deref().filter(|s| !s.is_empty()) {
            check_account(a)?;
        }
        if let Some(p) = self.partition.as_deref().filter(|s| !s.is_empty()) {
            check_partition(p)?;
        }
        if let Some(p) = &self.principal
            && p.len() > 1024
        {
            return Err(bad("principal", "is longer than 1024 characters"));
        }
        Ok(())
    }

    /// A call as a recorder reports it (a binding's `record`): its parts, the parameters as
    /// already converted, and `defaults` (the recorder's region, account, partition) for what
    /// the call does not say. Checked as [`Call::validate_arguments`] checks (a usage error
    /// naming the field); an empty principal counts as none.
    ///
    /// ```
    /// use leastpriv::{Call, CallParts};
    /// let parts = CallParts { service: "s3", operation: "GetObject", error_code: Some("NoSuchKey"), ..CallParts::default() };
    /// let defaults = CallParts { region: Some("eu-west-1"), ..CallParts::default() };
    /// let call = Call::from_parts(&parts, serde_json::json!({"Bucket": "b"}), &defaults).unwrap();
    /// assert!(!call.outcome.is_ok());
    /// assert_eq!(call.region.as_deref(), Some("eu-west-1"));
    /// ```
    pub fn from_parts(
        parts: &CallParts<'_>,
        params: Value,
        defaults: &CallParts<'_>,
    ) -> Result<Call> {
        let pick = |a: Option<&str>, b: Option<&str>| a.or(b).map(str::to_owned);
        let outcome = Outcome::from_parts(parts.outcome, parts.error_code).map_err(|e| {
            Error::new(ErrorKind::Usage, e.message()).with_field(e.field().unwrap_or("outcome"))
        })?;
        let call = Call {
            service: parts.service.to_owned(),
            operation: parts.operation.to_owned(),
            params: match params {
                Value::Null => Value::Object(serde_json::Map::new()),
                v @ Value::Object(_) => v,
                _ => {
                    return Err(Error::new(ErrorKind::Usage, "`params` must be an object")
                        .with_field("params"));
                }
            },
            region: pick(parts.region, defaults.region),
            account: pick(parts.account, defaults.account),
            partition: pick(parts.partition, defaults.partition),
            endpoint: pick(parts.endpoint, defaults.endpoint),
            outcome,
            principal: pick(parts.principal, defaults.principal).filter(|p| !p.is_empty()),
            source: match pick(parts.source, defaults.source) {
                Some(label) => Source::label(label),
                None => Source::default(),
            },
        };
        call.validate_arguments()?;
        Ok(call)
    }

    /// As [`Call::validate`], for a call a program built (a binding's `record`): the same
    /// checks, failing with [`ErrorKind::Usage`] (a bad argument) and the same field.
    pub fn validate_arguments(&self) -> Result<()> {
        self.validate().map_err(|e| {
            let u = Error::new(ErrorKind::Usage, e.message());
            match e.field() {
                Some(f) => u.with_field(f),
                None => u,
            }
        })
    }
}
