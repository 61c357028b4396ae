//! JSON lines: the plain Call format and μ/log's JSON publisher.

use super::mulog;
use crate::call::{Call, Outcome, Source, Value};
use crate::error::{Error, ErrorKind, Result};
use crate::observed::strip_json_detail;
use serde_json::Map;
use std::sync::Arc;

fn parse_object(line: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(Error::new(
            ErrorKind::InvalidEvent,
            format!(
                "an event must be a JSON object, not {}",
                match other {
                    Value::Array(_) => "an array",
                    Value::String(_) => "a string",
                    Value::Number(_) => "a number",
                    Value::Bool(_) => "a boolean",
                    _ => "null",
                }
            ),
        )
        .at(1, 1)),
        Err(e) => Err(Error::new(ErrorKind::Syntax, strip_json_detail(&e))
            .at(1, char_column(line, e.column()))),
    }
}

/// serde_json counts columns in bytes (through the offending byte); errors count characters.
fn char_column(line: &str, byte_column: usize) -> u64 {
    let chars = line
        .char_indices()
        .take_while(|(i, _)| *i < byte_column)
        .count();
    chars.max(1) as u64
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

/// The plain Call format read straight into its fields (no intermediate map). Anything it
/// cannot take as it is (a wrong type, a duplicate key, a bad value) goes to the careful path,
/// which names the field.
#[derive(serde::Deserialize)]
struct FastLine {
    service: Option<String>,
    operation: Option<String>,
    params: Option<Value>,
    region: Option<String>,
    account: Option<String>,
    partition: Option<String>,
    endpoint: Option<String>,
    outcome: Option<String>,
    error_code: Option<String>,
    principal: Option<String>,
    source: Option<String>,
}

fn fast_call(line: &str, source: &Source) -> Option<Call> {
    let f: FastLine = serde_json::from_str(line).ok()?;
    let service = f.service.filter(|s| !s.trim().is_empty())?;
    let operation = f.operation.filter(|s| !s.trim().is_empty())?;
    let params = match f.params {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(v @ Value::Object(_)) => v,
        Some(_) => return None,
    };
    let outcome = match f.outcome.as_deref() {
        None if f.error_code.is_some() => Outcome::Error { code: f.error_code },
        None | Some("ok") => Outcome::Ok,
        Some("error") => Outcome::Error { code: f.error_code },
        Some(_) => return None,
    };
    Some(Call {
        service,
        operation,
        params,
        region: f.region,
        account: f.account,
        partition: f.partition,
        endpoint: f.endpoint,
        outcome,
        principal: f.principal,
        source: match f.source {
            Some(l) => Source::label(Arc::<str>::from(l)),
            None => source.clone(),
        },
    })
}

/// One line of the plain Call format (`spec/schema/call.schema.json`).
pub(crate) fn call_line(line: &str, source: Source) -> Result<Call> {
    if let Some(call) = fast_call(line, &source) {
        return Ok(call);
    }
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
    let principal = field_str(&mut m, "principal", false)?;
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
    Ok(Call {
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
    })
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
