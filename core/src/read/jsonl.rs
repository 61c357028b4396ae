//! JSON lines: the plain Call format and μ/log's JSON publisher.

use super::{Selector, json, mulog};
use crate::call::{Call, Outcome, Source, Value};
use crate::error::{Error, ErrorKind, Result};
use serde_json::Map;
use std::borrow::Cow;
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

/// A member of a Call line as read: a string without escapes as it is written in the line,
/// anything else parsed.
enum Field<'a> {
    Text(&'a str),
    Value(Value),
}

impl<'a> Field<'a> {
    /// The member's value in `line`.
    fn of(line: &'a str, m: &json::Member) -> Result<Field<'a>> {
        let raw = m.raw(line);
        match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(text) if !text.contains('\\') => Ok(Field::Text(text)),
            _ => full(line, m).map(Field::Value),
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Field::Text(s) => Some(s),
            Field::Value(Value::String(s)) => Some(s),
            Field::Value(_) => None,
        }
    }
}

fn field_str<'a>(
    value: Option<Field<'a>>,
    key: &str,
    required: bool,
) -> Result<Option<Cow<'a, str>>> {
    let text = match value {
        Some(Field::Text(s)) => Cow::Borrowed(s),
        Some(Field::Value(Value::String(s))) => Cow::Owned(s),
        None | Some(Field::Value(Value::Null)) if required => {
            return Err(
                Error::new(ErrorKind::InvalidEvent, format!("missing `{key}`")).with_field(key),
            );
        }
        None | Some(Field::Value(Value::Null)) => return Ok(None),
        Some(Field::Value(v)) => {
            return Err(Error::new(
                ErrorKind::InvalidEvent,
                format!("`{key}` must be a string, not {}", kind_of(&v)),
            )
            .with_field(key));
        }
    };
    if required && text.trim().is_empty() {
        return Err(
            Error::new(ErrorKind::InvalidEvent, format!("`{key}` is empty")).with_field(key),
        );
    }
    Ok(Some(text))
}

/// `to` made `text`, keeping its allocation.
fn set_text(to: &mut String, text: &str) {
    to.clear();
    to.push_str(text);
}

/// `to` made `text` (or none), keeping an allocation it has.
fn set_opt(to: &mut Option<String>, text: Option<Cow<'_, str>>) {
    match (to.as_mut(), text) {
        (Some(s), Some(t)) => set_text(s, &t),
        (_, t) => *to = t.map(Cow::into_owned),
    }
}

/// One line of the plain Call format (`spec/schema/call.schema.json`).
pub(crate) fn call_line(line: &str, source: Source) -> Result<Call> {
    call_from_map(parse_object(line)?, source).map(|c| *c)
}

/// A call from the members of a line of the plain Call format.
fn call_from_map(mut m: Map<String, Value>, source: Source) -> Result<Box<Call>> {
    call_from_fields(
        CALL_FIELDS.map(|k| m.remove(k).map(Field::Value)),
        source,
        None,
    )
}

/// Where each member is in [`CALL_FIELDS`].
const SERVICE: usize = 0;
const OPERATION: usize = 1;
const PARAMS: usize = 2;
const REGION: usize = 3;
const ACCOUNT: usize = 4;
const PARTITION: usize = 5;
const ENDPOINT: usize = 6;
const PRINCIPAL: usize = 7;
const SOURCE: usize = 8;
const ERROR_CODE: usize = 9;
const OUTCOME: usize = 10;

/// The members of a plain Call line that make the call.
const CALL_FIELDS: [&str; 11] = [
    "service",
    "operation",
    "params",
    "region",
    "account",
    "partition",
    "endpoint",
    "principal",
    "source",
    "error_code",
    "outcome",
];

/// A call from its members, each at its place in [`CALL_FIELDS`]; written into `spare` (a
/// call made before) when given, keeping its strings' allocations.
fn call_from_fields(
    mut fields: [Option<Field<'_>>; CALL_FIELDS.len()],
    source: Source,
    spare: Option<Box<Call>>,
) -> Result<Box<Call>> {
    let params = fields[PARAMS].take();
    let mut m = |i: usize, required: bool| field_str(fields[i].take(), CALL_FIELDS[i], required);
    let service = m(SERVICE, true)?.unwrap_or_default();
    let operation = m(OPERATION, true)?.unwrap_or_default();
    let params = match params {
        None | Some(Field::Value(Value::Null)) => Value::Object(Map::new()),
        Some(Field::Value(v @ Value::Object(_))) => v,
        Some(Field::Text(_)) => {
            return Err(Error::new(
                ErrorKind::InvalidEvent,
                "`params` must be an object, not a string",
            )
            .with_field("params"));
        }
        Some(Field::Value(v)) => {
            return Err(Error::new(
                ErrorKind::InvalidEvent,
                format!("`params` must be an object, not {}", kind_of(&v)),
            )
            .with_field("params"));
        }
    };
    let region = m(REGION, false)?;
    let account = m(ACCOUNT, false)?;
    let partition = m(PARTITION, false)?;
    let endpoint = m(ENDPOINT, false)?;
    let principal = m(PRINCIPAL, false)?.filter(|p| !p.is_empty());
    let label = m(SOURCE, false)?;
    let error_code = m(ERROR_CODE, false)?;
    let outcome = m(OUTCOME, false)?;
    let outcome = Outcome::from_parts(outcome.as_deref(), error_code.as_deref())?;
    let source = match label {
        Some(l) => Source::label(Arc::<str>::from(&*l)),
        None => source,
    };
    let mut call = spare.unwrap_or_default();
    // Every member written (no `..`: a member added to Call must be written here too).
    let Call {
        service: to_service,
        operation: to_operation,
        params: to_params,
        region: to_region,
        account: to_account,
        partition: to_partition,
        endpoint: to_endpoint,
        outcome: to_outcome,
        principal: to_principal,
        source: to_source,
    } = &mut *call;
    set_text(to_service, &service);
    set_text(to_operation, &operation);
    set_opt(to_region, region);
    set_opt(to_account, account);
    set_opt(to_partition, partition);
    set_opt(to_endpoint, endpoint);
    set_opt(to_principal, principal);
    *to_params = params;
    *to_outcome = outcome;
    *to_source = source;
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
    mulog::call_from_event(mulog::Fields::of(m), event_name, principal_key, source)
        .map_err(|e| e.at(1, 1))
}

/// The members of the line's object (checked whole, as [`parse_object`] checks it).
fn scan(line: &str, members: &mut Vec<json::Member>) -> Result<()> {
    json::scan_object(line, members).map_err(|e| json_error(line, e))
}

/// A member's value, read in full.
fn full(line: &str, m: &json::Member) -> Result<Value> {
    json::parse_range(line, m.value.clone()).map_err(|e| json_error(line, e))
}

/// A request's parameters: what the rules for the call read of them, when they are an object
/// and the rules are known (`used` then says so); otherwise all of them.
fn params_value(
    line: &str,
    m: &json::Member,
    service: Option<&str>,
    operation: Option<&str>,
    selector: &mut Selector,
    used: &mut bool,
    reuse: &mut Reuse<'_>,
) -> Result<Value> {
    let is_object = line.as_bytes().get(m.value.start) == Some(&b'{');
    match (service, operation) {
        (Some(s), Some(o)) if is_object => match selector.get(s, o) {
            Some(sel) => {
                *used = true;
                let known = reuse.nested.map(|n| m.kids(n));
                if let Some(v) =
                    json::refill_selected(line, m.value.clone(), known, &sel, reuse.spare)
                {
                    return Ok(v);
                }
                json::parse_selected(line, m.value.clone(), &sel).map_err(|e| json_error(line, e))
            }
            None => full(line, m),
        },
        _ => full(line, m),
    }
}

/// `true` when the call's service and operation are not those whose selection was applied
/// (a contrived event that names them twice): the caller reads the line again in full.
fn mismatched(call: &Call, used: &Option<(String, String)>) -> bool {
    used.as_ref()
        .is_some_and(|(s, o)| call.service != *s || call.operation != *o)
}

/// What reading a line may reuse: a call made before and its parameters, which this one's may
/// be written into, and the members of the line's object values when the scan listed
/// them ([`json::scan_object_nested`]).
pub(crate) struct Reuse<'s> {
    pub(crate) spare: &'s mut Option<Value>,
    pub(crate) nested: Option<&'s [json::Member]>,
    /// A call made before, for its box and its strings' allocations.
    pub(crate) call: &'s mut Option<Box<Call>>,
}

/// As [`call_line`], reading of `params` only what the rules for the call read.
pub(crate) fn call_line_selected(
    line: &str,
    source: Source,
    selector: &mut Selector,
    members: &mut Vec<json::Member>,
    scanned: bool,
    mut reuse: Reuse<'_>,
) -> Result<Box<Call>> {
    if !scanned {
        scan(line, members)?;
        reuse.nested = None;
    }
    // The members by their place in CALL_FIELDS (a line has each at most once).
    let mut fields: [Option<Field>; CALL_FIELDS.len()] = Default::default();
    let mut params = None;
    for member in members.iter() {
        let key = member.key(line);
        match CALL_FIELDS.iter().position(|f| *f == key) {
            Some(PARAMS) => params = Some(member),
            Some(i) => fields[i] = Some(Field::of(line, member)?),
            None => {}
        }
    }
    if let Some(member) = params {
        let text = |i: usize| fields[i].as_ref().and_then(Field::as_str);
        // The selection is that of the very `service` and `operation` the call is made of (a
        // line has each once): unlike a μ/log event's, they cannot disagree with it.
        let v = params_value(
            line,
            member,
            text(SERVICE),
            text(OPERATION),
            selector,
            &mut false,
            &mut reuse,
        )?;
        fields[PARAMS] = Some(Field::Value(v));
    }
    call_from_fields(fields, source, reuse.call.take())
}

/// The top-level keys of a μ/log event that [`mulog::call_from_event`] reads (with or without
/// a leading `:`), besides the principal key.
pub(super) const MULOG_KEYS: &[&str] = &[
    "mulog/event-name",
    "api",
    "service",
    "operation",
    "op",
    "mulog/outcome",
    "region",
    "aws/region",
    "account",
    "aws/account",
    "partition",
    "endpoint",
    "cognitect.anomalies/category",
    "cognitect.aws.error/code",
    "ErrorCode",
    "__type",
    "Code",
];

/// As [`mulog_json_line`], reading of the request only what the rules for the call read, and
/// of a response only whether it is an anomaly (all of it when the call failed, for its error
/// code).
#[allow(clippy::too_many_arguments)]
pub(crate) fn mulog_json_line_selected(
    line: &str,
    event_name: &str,
    principal_key: Option<&str>,
    source: Source,
    selector: &mut Selector,
    members: &mut Vec<json::Member>,
    scanned: bool,
    mut reuse: Reuse<'_>,
) -> Result<Option<Call>> {
    if !scanned {
        scan(line, members)?;
        reuse.nested = None;
    }
    let principal_key = principal_key.map(|k| k.trim_start_matches(':'));
    let mut ev = mulog::Fields(Vec::with_capacity(members.len()));
    let mut request = None;
    let mut later: Vec<&json::Member> = Vec::new();
    for member in members.iter() {
        let key = member.key(line);
        let bare = key.strip_prefix(':').unwrap_or(&key);
        if bare == "request" {
            // As `call_from_event` finds it: `request`, else `:request`.
            if request.is_none() || &*key == "request" {
                request = Some(member);
            }
        } else if matches!(bare, "response" | "result" | "exception") {
            later.push(member);
        } else if MULOG_KEYS.contains(&bare) || Some(bare) == principal_key {
            ev.insert(key, full(line, member)?);
        }
    }
    let name = match mulog::get(&ev, "mulog/event-name") {
        Some(Value::String(s)) => Some(s.trim_start_matches(':')),
        _ => None,
    };
    if name != Some(event_name.trim_start_matches(':')) {
        // `call_from_event` says the same (skipped) without needing the rest.
        return mulog::call_from_event(ev, event_name, principal_key, source)
            .map_err(|e| e.at(1, 1));
    }
    let text = |ev: &mulog::Fields<'_>, keys: &[&str]| mulog::text(ev, keys).ok();
    let mut used = None;
    if let Some(req) = request {
        let mut selected = false;
        let service = text(&ev, &["api", "service"]);
        let mut operation = text(&ev, &["operation", "op"]);
        // The whole aws-api invoke map {:op :GetObject :request {...}}: the parameters are its
        // `request`, and its `op` names the operation when the event does not.
        let mut inner = json::Member::default();
        let mut invoke = false;
        let mut op_value = None;
        if line.as_bytes().get(req.value.start) == Some(&b'{') {
            let mut sub = Vec::new();
            json::members_of(line, req.value.clone(), &mut sub);
            let op = sub.iter().find(|m| m.key(line) == "op");
            let rq = sub.iter().find(|m| m.key(line) == "request");
            if let (Some(op), Some(rq)) = (op, rq)
                && line.as_bytes().get(op.value.start) == Some(&b'"')
                && matches!(line.as_bytes().get(rq.value.start), Some(b'{' | b'n'))
            {
                let v = full(line, op)?;
                if operation.is_none()
                    && let Value::String(s) = &v
                {
                    operation = Some(s.trim_start_matches(':').to_owned());
                }
                op_value = Some(v);
                inner = rq.clone();
                invoke = true;
            }
        }
        let params = if invoke {
            let mut m = Map::new();
            m.insert("op".into(), op_value.unwrap_or(Value::Null));
            let v = params_value(
                line,
                &inner,
                service.as_deref(),
                operation.as_deref(),
                selector,
                &mut selected,
                &mut Reuse {
                    spare: &mut None,
                    nested: None,
                    call: &mut None,
                },
            )?;
            m.insert("request".into(), v);
            Value::Object(m)
        } else {
            params_value(
                line,
                req,
                service.as_deref(),
                operation.as_deref(),
                selector,
                &mut selected,
                &mut reuse,
            )?
        };
        ev.insert(req.key(line), params);
        if selected {
            // The names the selection was chosen by, for the call to be checked against.
            used = service.zip(operation);
        }
    }
    if !later.is_empty() {
        let failed = matches!(
            mulog::get(&ev, "mulog/outcome"),
            Some(Value::String(s)) if s.trim_start_matches(':') == "error"
        );
        let anomaly = |m: &json::Member| {
            let mut sub = Vec::new();
            json::members_of(line, m.value.clone(), &mut sub);
            sub.iter().any(|s| {
                let k = s.key(line);
                k.strip_prefix(':').unwrap_or(&k) == "cognitect.anomalies/category"
            })
        };
        let any_anomaly = later.iter().any(|m| {
            let k = m.key(line);
            k.strip_prefix(':').unwrap_or(&k) != "exception" && anomaly(m)
        });
        for m in later {
            let key = m.key(line);
            let v = if failed || any_anomaly {
                full(line, m)?
            } else if line.as_bytes().get(m.value.start) == Some(&b'{') {
                // Read only for whether it is an anomaly (it is not): its shape stays.
                Value::Object(Map::new())
            } else {
                Value::Null
            };
            ev.insert(key, v);
        }
    }
    let again = used.is_some().then(|| source.clone());
    let call =
        mulog::call_from_event(ev, event_name, principal_key, source).map_err(|e| e.at(1, 1))?;
    match (again, &call) {
        (Some(source), Some(c)) if mismatched(c, &used) => {
            mulog_json_line(line, event_name, principal_key, source)
        }
        _ => Ok(call),
    }
}
