//! JSON lines: the plain Call format and μ/log's JSON publisher.

use super::{json, mulog};
use crate::call::{Call, Outcome, Source, Value};
use crate::error::{Error, ErrorKind, Result};
use serde_json::Map;
use std::sync::Arc;

/// An event line as a JSON object, through the strict reader ([`super::json`]): duplicate keys,
/// lone surrogates and raw control characters are errors, numbers are kept as written.
pub(crate) fn parse_object(line: &str) -> Result<Map<String, Value>> {
    json::parse_object(line).map_err(|e| json_error(line, e))
}

/// A [`json::JsonError`] as an [`Error`]: a duplicate key is an invalid event (its field the
/// path of member names, at most the event key and one member below it: deeper keys may be
/// data), anything else a syntax error; the column counts characters.
pub(crate) fn json_error(line: &str, e: json::JsonError) -> Error {
    let col = line[..e.offset.min(line.len())].chars().count() as u64 + 1;
    if e.duplicate {
        let mut field = e.path.iter().take(2).cloned().collect::<Vec<_>>().join(".");
        if e.path.len() > 2 {
            field.push_str(".…");
        }
        return Error::new(
            ErrorKind::InvalidEvent,
            format!("duplicate key: {}", e.message),
        )
        .with_field(&field)
        .at(1, col);
    }
    let kind = if e.message.starts_with("an event must be") {
        ErrorKind::InvalidEvent
    } else {
        ErrorKind::Syntax
    };
    Error::new(kind, format!("JSON: {}", e.message)).at(1, col)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn field_str(m: &mut Map<String, Value>, key: &str, required: bool) -> Result<Option<String>> {
    match m.remove(key) {
        None | Some(Value::Null) if required => {
            Err(Error::new(ErrorKind::InvalidEvent, format!("missing `{key}`")).with_field(key))
        }
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if required && s.trim().is_empty() => {
            Err(Error::new(ErrorKind::InvalidEvent, format!("`{key}` is empty")).with_field(key))
        }
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(Error::new(
            ErrorKind::InvalidEvent,
            format!("`{key}` must be a string, not {}", kind_of(&v)),
        )
        .with_field(key)),
    }
}

/// One line of the plain Call format (`spec/schema/call.schema.json`).
pub(crate) fn call_line(line: &str, source: Source) -> Result<Call> {
    let mut m = parse_object(line)?;
    let service = field_str(&mut m, "service", true)?.unwrap_or_default();
    let operation = field_str(&mut m, "operation", true)?.unwrap_or_default();
    let params = match m.remove("params") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(v @ Value::Object(_)) => v,
        Some(v) => {
            return Err(Error::new(
                ErrorKind::InvalidEvent,
                format!("`params` must be an object, not {}", kind_of(&v)),
            )
            .with_field("params"));
        }
    };
    let region = field_str(&mut m, "region", false)?;
    let account = field_str(&mut m, "account", false)?;
    let partition = field_str(&mut m, "partition", false)?;
    let endpoint = field_str(&mut m, "endpoint", false)?;
    let principal = field_str(&mut m, "principal", false)?.filter(|p| !p.is_empty());
    let label = field_str(&mut m, "source", false)?;
    let error_code = field_str(&mut m, "error_code", false)?;
    let outcome = match field_str(&mut m, "outcome", false)?.as_deref() {
        None if error_code.is_some() => Outcome::Error { code: error_code },
        None | Some("ok") => Outcome::Ok,
        Some("error") => Outcome::Error { code: error_code },
        Some(_) => {
            return Err(Error::new(
                ErrorKind::InvalidEvent,
                "`outcome` must be \"ok\" or \"error\"",
            )
            .with_field("outcome"));
        }
    };
    let source = match label {
        Some(l) => Source::label(Arc::<str>::from(l)),
        None => source,
    };
    let call = Call {
        service,
        operation,
        params,
        region,
        account,
        partition,
        endpoint,
        outcome,
        principal,
        source,
    };
    call.validate()?;
    Ok(call)
}

/// One line of μ/log's JSON publisher; `None` when the event name does not match.
pub(crate) fn mulog_json_line(
    line: &str,
    event_name: &str,
    principal_key: Option<&str>,
    source: Source,
) -> Result<Option<Call>> {
    let m = parse_object(line)?;
    mulog::call_from_event(m, event_name, principal_key, source).map_err(|e| e.at(1, 1))
}
