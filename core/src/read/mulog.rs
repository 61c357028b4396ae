//! What μ/log's `:aws/request` events mean, shared by the EDN and the JSON reader.

use crate::call::{Call, Outcome, Source, Value};
use crate::error::{Error, ErrorKind, Result};
use serde_json::Map;
use std::borrow::Cow;

/// The top-level members of an event, in order, keys unique: few enough that a look-up is a
/// walk, and no hashing is done per event.
#[derive(Debug, Default)]
pub(crate) struct Fields<'a>(pub(crate) Vec<(Cow<'a, str>, Value)>);

impl<'a> Fields<'a> {
    /// The members of a map.
    pub(crate) fn of(map: Map<String, Value>) -> Fields<'a> {
        Fields(map.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect())
    }

    pub(crate) fn insert(&mut self, key: Cow<'a, str>, value: Value) {
        self.0.push((key, value));
    }

    fn exact(&self, key: &str) -> Option<usize> {
        self.0.iter().position(|(k, _)| k == key)
    }

    /// A member with or without a leading `:` (EDN keywords convert without it; a JSON
    /// printer may keep it): the exact key first.
    fn find(&self, key: &str) -> Option<usize> {
        self.exact(key).or_else(|| {
            self.0
                .iter()
                .position(|(k, _)| k.strip_prefix(':') == Some(key))
        })
    }

    fn remove(&mut self, i: usize) -> Value {
        std::mem::take(&mut self.0[i].1)
    }
}

/// A μ/log event's member, with or without a leading `:`.
pub(crate) fn get<'a>(ev: &'a Fields<'_>, key: &str) -> Option<&'a Value> {
    ev.find(key).map(|i| &ev.0[i].1)
}

/// As [`get`], on a map.
fn map_get<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).or_else(|| {
        m.iter()
            .find(|(k, _)| k.strip_prefix(':') == Some(key))
            .map(|(_, v)| v)
    })
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "collection",
        Value::Object(_) => "map",
    }
}

fn invalid(field: &str, msg: String) -> Error {
    Error::new(ErrorKind::InvalidEvent, msg).with_field(field)
}

/// A required text field (keyword or string).
pub(crate) fn text(ev: &Fields<'_>, keys: &[&str]) -> Result<String> {
    for k in keys {
        match get(ev, k) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) if !s.trim().is_empty() => {
                return Ok(s.trim_start_matches(':').to_owned());
            }
            Some(v) => {
                return Err(invalid(
                    k,
                    format!(
                        "`{k}` must be a keyword or a string, not a {}",
                        type_name(v)
                    ),
                ));
            }
        }
    }
    Err(invalid(keys[0], format!("missing `{}`", keys[0])))
}

/// An optional text field.
fn opt_text(ev: &Fields<'_>, keys: &[&str]) -> Result<Option<String>> {
    for k in keys {
        match get(ev, k) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => return Ok(Some(s.trim_start_matches(':').to_owned())),
            Some(v) => {
                return Err(invalid(
                    k,
                    format!("`{k}` must be a string, not a {}", type_name(v)),
                ));
            }
        }
    }
    Ok(None)
}

const ANOMALY: &str = "cognitect.anomalies/category";

fn has_anomaly(v: &Value) -> bool {
    match v {
        Value::Object(m) => map_has_anomaly(m),
        _ => false,
    }
}

fn map_has_anomaly(m: &Map<String, Value>) -> bool {
    map_get(m, ANOMALY).is_some()
}

/// An error code at the top of the event itself (an anomaly logged as the event).
fn event_error_code(m: &Fields<'_>) -> Option<String> {
    ["cognitect.aws.error/code", "ErrorCode", "__type", "Code"]
        .iter()
        .find_map(|k| match get(m, k) {
            Some(Value::String(s)) => Some(s.rsplit('#').next().unwrap_or(s).trim().to_owned()),
            _ => None,
        })
        .filter(|s| !s.is_empty())
}

/// Looks for an AWS error code in an exception or anomaly (bounded depth).
fn error_code(v: &Value, depth: usize) -> Option<String> {
    if depth > 6 {
        return None;
    }
    match v {
        Value::Object(m) => {
            for key in [
                "cognitect.aws.error/code",
                "ErrorCode",
                "__type",
                "code",
                "Code",
                "error-code",
            ] {
                if let Some(Value::String(s)) = m.get(key).or_else(|| m.get(&format!(":{key}"))) {
                    let s = s.rsplit('#').next().unwrap_or(s);
                    let s = s.split(':').next().unwrap_or(s).trim();
                    if !s.is_empty() {
                        return Some(s.to_owned());
                    }
                }
            }
            for key in [
                "Error",
                "ErrorResponse",
                "data",
                "Response",
                "via",
                "response",
                "body",
            ] {
                if let Some(inner) = m.get(key).or_else(|| m.get(&format!(":{key}")))
                    && let Some(c) = error_code(inner, depth + 1)
                {
                    return Some(c);
                }
            }
            None
        }
        Value::Array(items) => items.iter().find_map(|i| error_code(i, depth + 1)),
        _ => None,
    }
}

/// Turns one μ/log event into a [`Call`], or `None` when its event name is not the one wanted.
pub(crate) fn call_from_event(
    mut ev: Fields<'_>,
    event_name: &str,
    principal_key: Option<&str>,
    source: Source,
) -> Result<Option<Call>> {
    let name = match get(&ev, "mulog/event-name") {
        Some(Value::String(s)) => s.trim_start_matches(':'),
        _ => return Ok(None),
    };
    if name != event_name.trim_start_matches(':') {
        return Ok(None);
    }
    let service = text(&ev, &["api", "service"])?;
    let mut operation = match text(&ev, &["operation", "op"]) {
        Ok(op) => Some(op),
        Err(e) => {
            if get(&ev, "operation").is_some() || get(&ev, "op").is_some() {
                return Err(e);
            }
            None
        }
    };
    let request = ev
        .exact("request")
        .or_else(|| ev.exact(":request"))
        .map(|i| ev.remove(i));
    let mut params = match request {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(v @ Value::Object(_)) => v,
        Some(v) => {
            return Err(invalid(
                "request",
                format!("`request` must be a map, not a {}", type_name(&v)),
            ));
        }
    };
    // Some wrappers log the whole aws-api invoke map: {:op :GetObject :request {...}}.
    if let Value::Object(m) = &mut params
        && matches!(m.get("op"), Some(Value::String(_)))
        && matches!(m.get("request"), Some(Value::Object(_) | Value::Null))
    {
        if operation.is_none()
            && let Some(Value::String(op)) = m.get("op")
        {
            operation = Some(op.trim_start_matches(':').to_owned());
        }
        params = match m.swap_remove("request") {
            Some(inner @ Value::Object(_)) => inner,
            _ => Value::Object(Map::new()),
        };
    }
    let Some(operation) = operation else {
        return Err(invalid("operation", "missing `operation`".into()));
    };
    let failed = matches!(get(&ev, "mulog/outcome"), Some(Value::String(s)) if s.trim_start_matches(':') == "error");
    let response = ["response", "result"].iter().find_map(|k| get(&ev, k));
    let anomaly = get(&ev, ANOMALY).is_some() || response.is_some_and(has_anomaly);
    let outcome = if failed || anomaly {
        let code = get(&ev, "exception")
            .and_then(|e| error_code(e, 0))
            .or_else(|| response.and_then(|r| error_code(r, 0)))
            .or_else(|| event_error_code(&ev));
        Outcome::Error { code }
    } else {
        Outcome::Ok
    };
    let principal = match principal_key {
        None => None,
        Some(k) => match get(&ev, k.trim_start_matches(':')) {
            Some(Value::String(s)) => Some(s.trim_start_matches(':').to_owned()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        },
    }
    .filter(|p| !p.is_empty());
    let call = Call {
        service,
        operation,
        params,
        region: opt_text(&ev, &["region", "aws/region"])?,
        account: opt_text(&ev, &["account", "aws/account"])?,
        partition: opt_text(&ev, &["partition"])?,
        endpoint: opt_text(&ev, &["endpoint"])?,
        outcome,
        principal,
        source,
    };
    call.validate()?;
    Ok(Some(call))
}
