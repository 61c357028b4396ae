//! The one error type of the crate.
//!
//! [`Error`] is opaque and cheap to move (one pointer). Its [`kind`](Error::kind) says what
//! went wrong, and its position accessors say where: the file (or other source label), the
//! 1-based line and column, and the field of the event when one is to blame.
//!
//! Messages never contain request payloads: only field names and the resource-bearing values
//! that a user needs to find the event.

use std::fmt;
use std::sync::Arc;

/// What kind of failure an [`Error`] is.
///
/// The names are stable: the Python exceptions and the JavaScript `code` values are derived
/// from [`ErrorKind::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be opened, read or written.
    Io,
    /// A file that does not exist was named.
    NotFound,
    /// The bytes are not valid UTF-8.
    Encoding,
    /// The text is not well-formed EDN or JSON (unterminated form, stray character, ...).
    Syntax,
    /// The text is well-formed but the event is not a usable AWS request event
    /// (missing operation, wrong type for a field, ...).
    InvalidEvent,
    /// The input format could not be detected, or an unknown format was named.
    UnknownFormat,
    /// A rules file is malformed.
    Rules,
    /// A serialized Observed state is malformed or of an unsupported version.
    Serialization,
    /// An option value is malformed (for example `--map-account FROM=TO`).
    Usage,
    /// A declared policy is not a valid IAM policy (an unknown `Effect`, a malformed ARN, ...).
    InvalidPolicy,
}

impl ErrorKind {
    /// The stable name of the kind, as used by the bindings and in vectors:
    /// `io`, `not_found`, `encoding`, `syntax`, `invalid_event`, `unknown_format`, `rules`,
    /// `serialization`, `usage`, `invalid_policy`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Encoding => "encoding",
            ErrorKind::Syntax => "syntax",
            ErrorKind::InvalidEvent => "invalid_event",
            ErrorKind::UnknownFormat => "unknown_format",
            ErrorKind::Rules => "rules",
            ErrorKind::Serialization => "serialization",
            ErrorKind::Usage => "usage",
            ErrorKind::InvalidPolicy => "invalid_policy",
        }
    }

    /// All kinds, in a stable order.
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::Io,
        ErrorKind::NotFound,
        ErrorKind::Encoding,
        ErrorKind::Syntax,
        ErrorKind::InvalidEvent,
        ErrorKind::UnknownFormat,
        ErrorKind::Rules,
        ErrorKind::Serialization,
        ErrorKind::Usage,
        ErrorKind::InvalidPolicy,
    ];
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an [`Error`] holds. Its text: the place (`path:line:column: `, or `line N, column M: `),
/// the message, and the field to blame.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{place}{message}{blame}", place = Place(.path, .line, .column), blame = Blame(.field))]
struct Inner {
    kind: ErrorKind,
    message: String,
    path: Option<String>,
    line: Option<u64>,
    column: Option<u64>,
    field: Option<String>,
    /// The underlying failure (an I/O error), for [`std::error::Error::source`].
    #[source]
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl PartialEq for Inner {
    fn eq(&self, o: &Inner) -> bool {
        (
            self.kind,
            &self.message,
            &self.path,
            self.line,
            self.column,
            &self.field,
        ) == (o.kind, &o.message, &o.path, o.line, o.column, &o.field)
    }
}

impl Eq for Inner {}

/// An error's place, as its text starts.
struct Place<'a>(&'a Option<String>, &'a Option<u64>, &'a Option<u64>);

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, *self.1, *self.2) {
            (Some(path), Some(line), Some(col)) => write!(f, "{path}:{line}:{col}: "),
            (Some(path), Some(line), None) => write!(f, "{path}:{line}: "),
            (Some(path), None, _) => write!(f, "{path}: "),
            (None, Some(line), Some(col)) => write!(f, "line {line}, column {col}: "),
            (None, Some(line), None) => write!(f, "line {line}: "),
            (None, None, _) => Ok(()),
        }
    }
}

/// The field an error blames, as its text ends.
struct Blame<'a>(&'a Option<String>);

impl fmt::Display for Blame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(field) => write!(f, " (field `{field}`)"),
            None => Ok(()),
        }
    }
}

/// An error from reading events, loading rules or decoding state.
///
/// ```
/// use leastpriv::{read_str, Format, ErrorKind};
/// let err = read_str("{:mulog/event-name :aws/request, :api :s3, :request {}", Format::MulogEdn, "events.edn")
///     .collect::<Result<Vec<_>, _>>()
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Syntax);
/// assert_eq!(err.path(), Some("events.edn"));
/// assert_eq!(err.line(), Some(1));
/// ```
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error(transparent)]
pub struct Error(Box<Inner>);

impl Error {
    /// A new error of `kind` with a message (which must not contain payload data).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error(Box::new(Inner {
            kind,
            message: message.into(),
            path: None,
            line: None,
            column: None,
            field: None,
            source: None,
        }))
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The message, without the position.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The file (or source label) the error is about.
    pub fn path(&self) -> Option<&str> {
        self.0.path.as_deref()
    }

    /// The 1-based line in [`path`](Error::path).
    pub fn line(&self) -> Option<u64> {
        self.0.line
    }

    /// The 1-based column (in characters) in [`line`](Error::line).
    pub fn column(&self) -> Option<u64> {
        self.0.column
    }

    /// The event field to blame, as a dotted path (`request.RequestItems`).
    pub fn field(&self) -> Option<&str> {
        self.0.field.as_deref()
    }

    /// Sets the path unless one is set already.
    pub fn with_path(mut self, path: impl Into<String>) -> Error {
        if self.0.path.is_none() {
            self.0.path = Some(path.into());
        }
        self
    }

    /// Sets line and column unless a line is set already.
    pub fn at(mut self, line: u64, column: u64) -> Error {
        if self.0.line.is_none() {
            self.0.line = Some(line);
            self.0.column = Some(column);
        }
        self
    }

    /// Sets line and column, replacing any (a position relative to a line becomes absolute).
    pub(crate) fn set_position(mut self, line: u64, column: u64) -> Error {
        self.0.line = Some(line);
        self.0.column = Some(column);
        self
    }

    /// Sets the field unless one is set already.
    pub fn with_field(mut self, field: impl Into<String>) -> Error {
        if self.0.field.is_none() {
            self.0.field = Some(field.into());
        }
        self
    }

    pub(crate) fn io(err: &std::io::Error, path: &str) -> Error {
        let kind = if err.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::NotFound
        } else {
            ErrorKind::Io
        };
        let text = err.to_string();
        // flate2's messages for a gzip stream cut short or damaged.
        let text = if text.contains("deflate") || text.contains("gzip") {
            format!("{text}: the gzip stream ends early or is damaged (a truncated file?)")
        } else {
            text
        };
        let mut e = Error::new(kind, text).with_path(path);
        e.0.source = Some(Arc::new(std::io::Error::new(err.kind(), err.to_string())));
        e
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.0.kind)
            .field("message", &self.0.message)
            .field("path", &self.0.path)
            .field("line", &self.0.line)
            .field("column", &self.0.column)
            .field("field", &self.0.field)
            .finish()
    }
}

/// `Result<T, leastpriv::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
