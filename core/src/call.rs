//! [`Call`]: one normalized AWS request, whatever recorded it.

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
