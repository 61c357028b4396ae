//! CloudTrail records as calls.
//!
//! Three shapes, detected record by record: the files CloudTrail delivers (`{"Records": [...]}`,
//! one JSON document that may be hundreds of megabytes on one line: read record by record,
//! never held whole), JSON lines of records (CloudTrail Lake results, Athena `UNLOAD`), and
//! EventBridge events (`"detail-type": "AWS API Call via CloudTrail"`, the record in
//! `detail`). Gzip is undone before this reader sees the bytes (see [`super::open_input`]).
//!
//! Per record: `eventSource` → the API (an event source shared by several APIs is resolved by
//! the event name against the models), `eventName` → the operation (versioned names such as
//! `UpdateFunctionCode20150331v2` stripped when the plain name is an operation),
//! `requestParameters` → the parameters, their member names matched to the ones the rules
//! read (CloudTrail writes `tableName` for `TableName`; S3 and EC2 differ more, see
//! `spec/cloudtrail/cloudtrail.json`), `resources[]` where the request does not name the
//! resource (KMS `Decrypt`), `awsRegion`, `recipientAccountId`, `errorCode`. Records that are
//! not API calls (console sign-ins, service events, Insights) and calls made by AWS services
//! are counted as skipped.

use super::json;
use crate::call::{Call, Outcome, Source};
use crate::derive::{Diagnostic, DiagnosticKind};
use crate::error::{Error, ErrorKind, Result};
use crate::spec::{Rules, Selection};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::io::BufRead;
use std::sync::{Arc, OnceLock};

/// What `spec/cloudtrail/cloudtrail.json` says, compiled once.
#[derive(Debug, Default)]
struct Table {
    /// Event source prefix → the APIs that share it, in the order they are tried.
    sources: HashMap<String, Vec<String>>,
    /// Event source prefix → `apiVersion` → API.
    api_versions: HashMap<String, HashMap<String, String>>,
    /// (event source prefix, event name) → (API, operation).
    names: HashMap<(String, String), (String, String)>,
    /// API → CloudTrail member → API member (top level).
    renames: HashMap<String, Vec<(String, String)>>,
    /// API → list members gathered from CloudTrail's `…Set.items[]`.
    lists: HashMap<String, Vec<ListAlias>>,
    /// API → (resource type in `resources[]`, the member its ARN stands for).
    resources: HashMap<String, Vec<(String, String)>>,
}

#[derive(Debug)]
struct ListAlias {
    /// Member names, `[]` marking where a list is walked.
    from: Vec<String>,
    to: String,
    /// The first value only (a scalar member), not a list.
    one: bool,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    // The embedded file is checked by the crate's tests; a broken one in a development build
    // gives an empty table (member names are still matched by case).
    TABLE.get_or_init(|| compile_table(crate::spec::EMBEDDED_CLOUDTRAIL).unwrap_or_default())
}

fn compile_table(text: &str) -> Option<Table> {
    let v: Value = serde_json::from_str(text).ok()?;
    let mut t = Table::default();
    for (prefix, s) in v.get("event_sources")?.as_object()? {
        let services = s
            .get("services")?
            .as_array()?
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect();
        t.sources.insert(prefix.clone(), services);
        if let Some(vs) = s.get("api_versions").and_then(Value::as_object) {
            t.api_versions.insert(
                prefix.clone(),
                vs.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect(),
            );
        }
    }
    for (prefix, names) in v.get("event_names")?.as_object()? {
        for (event, to) in names.as_object()? {
            if let Some([api, op]) = to.as_array().map(Vec::as_slice)
                && let (Some(api), Some(op)) = (api.as_str(), op.as_str())
            {
                t.names.insert(
                    (prefix.clone(), event.clone()),
                    (api.to_owned(), op.to_owned()),
                );
            }
        }
    }
    for (api, m) in v.get("members")?.as_object()? {
        if let Some(r) = m.get("rename").and_then(Value::as_object) {
            t.renames.insert(
                api.clone(),
                r.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect(),
            );
        }
        if let Some(ls) = m.get("lists").and_then(Value::as_array) {
            let mut out = Vec::new();
            for l in ls {
                let from = l.get("from")?.as_str()?;
                let mut steps = Vec::new();
                for part in from.split('.') {
                    match part.strip_suffix("[]") {
                        Some(name) => {
                            steps.push(name.to_owned());
                            steps.push("[]".to_owned());
                        }
                        None => steps.push(part.to_owned()),
                    }
                }
                out.push(ListAlias {
                    from: steps,
                    to: l.get("to")?.as_str()?.to_owned(),
                    one: l.get("one").and_then(Value::as_bool).unwrap_or(false),
                });
            }
            t.lists.insert(api.clone(), out);
        }
    }
    for (api, m) in v.get("resources")?.as_object()? {
        t.resources.insert(
            api.clone(),
            m.as_object()?
                .iter()
                .filter(|(k, _)| k.as_str() != "doc")
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect(),
        );
    }
    Some(t)
}

/// Where the reader is in the input.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Between top-level values.
    #[default]
    Top,
    /// In a delivery file's `Records` array, before an element or its end.
    Records,
    /// After an element of `Records`.
    AfterRecord,
    /// In a delivery file's object after its `Records` array.
    DocRest,
}

/// The reader's state (it reads through the [`super::CallReader`]'s input).
#[derive(Debug)]
pub(crate) struct Stream {
    mode: Mode,
    /// The line and column (bytes) of the next byte.
    line: u64,
    col: u64,
    /// Records started so far, and the line the last one started on.
    index: u64,
    last_line: u64,
    rec: Vec<u8>,
    scratch: Vec<u8>,
    members: Vec<json::Member>,
    /// (event source, event name, API version) → (API, operation, selection).
    resolutions: rustc_hash::FxHashMap<String, (String, String, Arc<Selection>)>,
    rules: Arc<Rules>,
    principals: Vec<String>,
    read_only: Option<bool>,
    /// Data events seen, and management events of the APIs whose data events are apart.
    data_events: u64,
    implied: Option<(String, u64)>,
    done: bool,
}

impl Stream {
    pub(crate) fn new(
        rules: Arc<Rules>,
        principals: Vec<String>,
        read_only: Option<bool>,
    ) -> Stream {
        Stream {
            mode: Mode::Top,
            line: 1,
            col: 0,
            index: 0,
            last_line: 0,
            rec: Vec::new(),
            scratch: Vec::new(),
            members: Vec::new(),
            resolutions: Default::default(),
            rules,
            principals,
            read_only,
            data_events: 0,
            implied: None,
            done: false,
        }
    }

    /// The note for the end of the input: management events that imply data access and no
    /// data events (trails log data events only when told to).
    pub(crate) fn closing_note(&self) -> Option<(Diagnostic, u64)> {
        let (source, n) = self.implied.as_ref()?;
        (self.data_events == 0).then(|| (Diagnostic {
            kind: DiagnosticKind::NoDataEvents,
            service: source.clone(),
            operation: String::new(),
            message: "the CloudTrail input holds management events of S3, DynamoDB or Lambda and no data events (trails log them only when told to): S3 object, DynamoDB item and Lambda invoke permissions cannot be seen in it".to_owned(),
            action: None,
            hint: None,
        }, *n))
    }
}

/// Bytes from the reader: what sniffing read first, then the input.
pub(crate) struct Src<'a, R> {
    pub(crate) head: &'a mut Vec<u8>,
    pub(crate) pos: &'a mut usize,
    pub(crate) input: &'a mut R,
}

impl<R: BufRead> Src<'_, R> {
    fn buf(&mut self) -> std::io::Result<&[u8]> {
        if *self.pos < self.head.len() {
            Ok(&self.head[*self.pos..])
        } else {
            loop {
                match self.input.fill_buf() {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                    Ok(_) => break,
                }
            }
            // Buffered now: this returns what the call above filled.
            self.input.fill_buf()
        }
    }

    fn eat(&mut self, n: usize) {
        if *self.pos < self.head.len() {
            *self.pos += n;
            if *self.pos >= self.head.len() {
                self.head.clear();
                *self.pos = 0;
            }
        } else {
            self.input.consume(n);
        }
    }
}

/// What one step of reading found.
pub(crate) enum Next {
    /// A call; `true` when the fast lane's key was set for it (a record not seen before).
    Call(bool, Box<Call>),
    /// A record equal in all that matters to one seen before: fast-lane entry `entry`.
    Known {
        entry: u32,
        principal: Option<String>,
    },
    /// A record that is not an API call of a principal (counted as skipped).
    Skipped,
    /// The end of the input.
    End,
}

/// Why a record could not be read: its JSON (at an offset of its text) or anything else.
enum Failed {
    Json(json::JsonError),
    Other(Error),
}

impl From<Error> for Failed {
    fn from(e: Error) -> Failed {
        Failed::Other(e)
    }
}

/// Line breaks in `bytes`: how many, and the bytes after the last one.
fn breaks(bytes: &[u8]) -> (u64, Option<u64>) {
    match memchr::memrchr(b'\n', bytes) {
        Some(last) => (
            memchr::memchr_iter(b'\n', bytes).count() as u64,
            Some((bytes.len() - last - 1) as u64),
        ),
        None => (0, None),
    }
}

impl Stream {
    /// The line the last record read started on.
    pub(crate) fn line_of_last(&self) -> u64 {
        self.last_line
    }

    fn advance(&mut self, n: usize, (nl, after): (u64, Option<u64>)) {
        self.line += nl;
        match after {
            Some(a) => self.col = a,
            None => self.col += n as u64,
        }
    }

    /// Skips blanks; the next byte, not consumed (`None` at the end).
    fn peek<R: BufRead>(&mut self, src: &mut Src<'_, R>) -> std::io::Result<Option<u8>> {
        loop {
            let b = src.buf()?;
            if b.is_empty() {
                return Ok(None);
            }
            let i = b
                .iter()
                .position(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
                .unwrap_or(b.len());
            let found = b.get(i).copied();
            let br = breaks(&b[..i]);
            self.advance(i, br);
            src.eat(i);
            if found.is_some() {
                return Ok(found);
            }
        }
    }

    fn eat_one<R: BufRead>(&mut self, src: &mut Src<'_, R>) {
        self.col += 1;
        src.eat(1);
    }

    /// Copies one JSON value (or, with `depth > 0`, the rest of a container already opened
    /// that deep) into `out`, at most `limit` bytes of it: `Ok(true)` when it was longer (it is
    /// read past all the same, and `out` is left empty). Only the value's extent is found
    /// here; it is parsed (and checked) by the caller.
    fn capture<R: BufRead>(
        &mut self,
        src: &mut Src<'_, R>,
        out: &mut Vec<u8>,
        limit: usize,
        mut depth: usize,
        label: &str,
    ) -> Result<bool> {
        let mut first = depth == 0;
        let mut scalar = false;
        let mut in_str = false;
        let mut esc = false;
        let mut too_long = false;
        loop {
            let b = src.buf().map_err(|e| Error::io(&e, label))?;
            if b.is_empty() {
                if scalar {
                    return Ok(too_long);
                }
                return Err(Error::new(
                    ErrorKind::Syntax,
                    "JSON: the input ends inside a record (a truncated file?)",
                ));
            }
            let mut end = None;
            for (i, &c) in b.iter().enumerate() {
                if first {
                    first = false;
                    match c {
                        b'{' | b'[' => depth = 1,
                        b'"' => in_str = true,
                        _ => scalar = true,
                    }
                    continue;
                }
                if in_str {
                    if esc {
                        esc = false;
                    } else if c == b'\\' {
                        esc = true;
                    } else if c == b'"' {
                        in_str = false;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                } else if scalar {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                        end = Some(i);
                        break;
                    }
                } else {
                    match c {
                        b'"' => in_str = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(i + 1);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            let n = end.unwrap_or(b.len());
            if !too_long {
                if out.len() + n > limit {
                    too_long = true;
                    out.clear();
                } else {
                    out.extend_from_slice(&b[..n]);
                }
            }
            let br = breaks(&b[..n]);
            self.advance(n, br);
            src.eat(n);
            if end.is_some() {
                return Ok(too_long);
            }
        }
    }

    fn syntax(&self, what: &str) -> Error {
        Error::new(ErrorKind::Syntax, format!("JSON: {what}")).at(self.line, self.col + 1)
    }

    /// Reads up to the next record: a call, a skipped record, or the end.
    pub(crate) fn next<R: BufRead>(
        &mut self,
        src: &mut Src<'_, R>,
        label: &Arc<str>,
        limit: usize,
        fast: Option<&mut super::FastCache>,
    ) -> Result<Next> {
        if self.done {
            return Ok(Next::End);
        }
        let r = self.next_inner(src, label, limit, fast);
        if let Err(e) = &r
            && (e.kind() == ErrorKind::Io || e.kind() == ErrorKind::Syntax)
        {
            // Past a syntax error the structure is lost: nothing more is read.
            self.done = true;
        }
        r.map_err(|e| {
            let e = if e.path().is_none_or(str::is_empty) {
                e.with_path(&**label)
            } else {
                e
            };
            if e.line().is_none() {
                let (l, c) = (self.line, self.col + 1);
                e.at(l, c)
            } else {
                e
            }
        })
    }

    fn next_inner<R: BufRead>(
        &mut self,
        src: &mut Src<'_, R>,
        label: &Arc<str>,
        limit: usize,
        fast: Option<&mut super::FastCache>,
    ) -> Result<Next> {
        let io = |e: std::io::Error| Error::io(&e, label);
        loop {
            match self.mode {
                Mode::Top => {
                    let Some(b) = self.peek(src).map_err(io)? else {
                        self.done = true;
                        return Ok(Next::End);
                    };
                    if self.line == 1 && self.col == 0 && b == 0xEF {
                        // A byte order mark.
                        let bom = src.buf().map_err(io)?.starts_with(b"\xEF\xBB\xBF");
                        if bom {
                            src.eat(3);
                            continue;
                        }
                    }
                    if b != b'{' {
                        return Err(self.syntax(
                            "expected a CloudTrail record or delivery file (a JSON object)",
                        ));
                    }
                    let (line, col) = (self.line, self.col + 1);
                    self.eat_one(src);
                    self.rec.clear();
                    self.rec.push(b'{');
                    match self.peek(src).map_err(io)? {
                        Some(b'"') => {}
                        Some(b'}') => {
                            self.eat_one(src);
                            self.index += 1;
                            return Err(not_a_record("an empty object").at(line, col));
                        }
                        _ => return Err(self.syntax("expected a member name")),
                    }
                    self.scratch.clear();
                    let mut key = std::mem::take(&mut self.scratch);
                    self.capture(src, &mut key, 1 << 16, 0, label)?;
                    let records = key == b"\"Records\"";
                    self.scratch = key;
                    if self.peek(src).map_err(io)? != Some(b':') {
                        return Err(self.syntax("expected `:`"));
                    }
                    self.eat_one(src);
                    if records {
                        if self.peek(src).map_err(io)? != Some(b'[') {
                            return Err(self.syntax("`Records` must be an array"));
                        }
                        self.eat_one(src);
                        self.mode = Mode::Records;
                        continue;
                    }
                    // A record (or an EventBridge event) by itself: the rest of the object.
                    let mut rec = std::mem::take(&mut self.rec);
                    rec.extend_from_slice(&self.scratch);
                    rec.push(b':');
                    let too_long = self.capture(src, &mut rec, limit, 1, label);
                    self.rec = rec;
                    self.index += 1;
                    if too_long? {
                        return Err(too_large(limit, self.index).at(line, col));
                    }
                    return self.record(label, line, col, fast);
                }
                Mode::Records => {
                    match self.peek(src).map_err(io)? {
                        Some(b']') => {
                            self.eat_one(src);
                            self.mode = Mode::DocRest;
                            continue;
                        }
                        Some(_) => {}
                        None => return Err(self.syntax("the input ends inside `Records`")),
                    }
                    let (line, col) = (self.line, self.col + 1);
                    let mut rec = std::mem::take(&mut self.rec);
                    rec.clear();
                    let too_long = self.capture(src, &mut rec, limit, 0, label);
                    self.rec = rec;
                    self.index += 1;
                    self.mode = Mode::AfterRecord;
                    if too_long? {
                        return Err(too_large(limit, self.index).at(line, col));
                    }
                    return self.record(label, line, col, fast);
                }
                Mode::AfterRecord => match self.peek(src).map_err(io)? {
                    Some(b',') => {
                        self.eat_one(src);
                        self.mode = Mode::Records;
                    }
                    Some(b']') => {
                        self.eat_one(src);
                        self.mode = Mode::DocRest;
                    }
                    _ => return Err(self.syntax("expected `,` or `]` after a record")),
                },
                Mode::DocRest => match self.peek(src).map_err(io)? {
                    Some(b'}') => {
                        self.eat_one(src);
                        self.mode = Mode::Top;
                    }
                    Some(b',') => {
                        // Another member of the delivery file: read past it.
                        self.eat_one(src);
                        if self.peek(src).map_err(io)? != Some(b'"') {
                            return Err(self.syntax("expected a member name"));
                        }
                        let mut s = std::mem::take(&mut self.scratch);
                        s.clear();
                        self.capture(src, &mut s, 1 << 16, 0, label)?;
                        if self.peek(src).map_err(io)? != Some(b':') {
                            return Err(self.syntax("expected `:`"));
                        }
                        self.eat_one(src);
                        if self.peek(src).map_err(io)?.is_none() {
                            return Err(self.syntax("the input ends inside the file's object"));
                        }
                        s.clear();
                        self.capture(src, &mut s, 0, 0, label)?;
                        self.scratch = s;
                    }
                    _ => return Err(self.syntax("expected `,` or `}` after `Records`")),
                },
            }
        }
    }

    /// The record in `self.rec`, which started at `line`, `col`.
    fn record(
        &mut self,
        label: &Arc<str>,
        line: u64,
        col: u64,
        fast: Option<&mut super::FastCache>,
    ) -> Result<Next> {
        self.last_line = line;
        let rec = std::mem::take(&mut self.rec);
        let r = self.record_in(&rec, label, line, col, fast);
        self.rec = rec;
        r
    }

    fn record_in(
        &mut self,
        rec: &[u8],
        label: &Arc<str>,
        line: u64,
        col: u64,
        fast: Option<&mut super::FastCache>,
    ) -> Result<Next> {
        let index = self.index;
        let at = |e: Error| e.at(line, col);
        let text = match std::str::from_utf8(rec) {
            Ok(t) => t,
            Err(_) => {
                return Err(at(Error::new(
                    ErrorKind::Encoding,
                    format!("record {index}: invalid UTF-8"),
                )));
            }
        };
        let json_error = |e: json::JsonError| {
            let before = &text[..e.offset.min(text.len())];
            let nl = before.matches('\n').count() as u64;
            let c = match before.rfind('\n') {
                Some(i) => before[i + 1..].chars().count() as u64 + 1,
                None => col + before.chars().count() as u64,
            };
            let err = super::jsonl::json_error(text, e);
            let msg = format!("record {index}: {}", err.message());
            let mut out = Error::new(err.kind(), msg);
            if let Some(f) = err.field() {
                out = out.with_field(f);
            }
            out.at(line + nl, c)
        };
        let mut members = std::mem::take(&mut self.members);
        let picked = picked(text, &mut members);
        self.members = members;
        let picked = picked.map_err(json_error)?;
        let source = Source::at(Arc::clone(label), line);
        self.call_of(picked, text, index, source, fast)
            .map_err(|e| match e {
                Failed::Json(e) => json_error(e),
                Failed::Other(e) => at(e),
            })
    }

    fn call_of(
        &mut self,
        picked: Picked,
        text: &str,
        index: u64,
        source: Source,
        fast: Option<&mut super::FastCache>,
    ) -> std::result::Result<Next, Failed> {
        let Picked {
            map: mut rec,
            request,
            resources,
            ..
        } = picked;
        if let Some(dt) = rec.get("detail-type") {
            if dt.as_str() != Some("AWS API Call via CloudTrail") {
                return Ok(Next::Skipped);
            }
            rec = match rec.remove("detail") {
                Some(Value::Object(d)) => d,
                _ => {
                    return Err(invalid(
                        index,
                        "detail",
                        "an EventBridge event without its record in `detail`",
                    )
                    .into());
                }
            };
        }
        match rec.get("eventType").and_then(Value::as_str) {
            Some("AwsApiCall") => {}
            Some(_) => return Ok(Next::Skipped),
            None => {
                let category = rec.get("eventCategory").and_then(Value::as_str);
                if category == Some("Insight") || rec.contains_key("insightDetails") {
                    return Ok(Next::Skipped);
                }
            }
        }
        let field =
            |rec: &Map<String, Value>, name: &str| -> std::result::Result<Option<String>, Failed> {
                match rec.get(name) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
                    Some(_) => Err(invalid(index, name, "must be a string").into()),
                }
            };
        let Some(event_source) = field(&rec, "eventSource")? else {
            return Err(invalid(
                index,
                "eventSource",
                "a CloudTrail record without `eventSource`",
            )
            .into());
        };
        let Some(prefix) = event_source.strip_suffix(".amazonaws.com") else {
            return Err(invalid(
                index,
                "eventSource",
                "`eventSource` is not an AWS service's (`*.amazonaws.com`): not a CloudTrail record (an S3 event notification?)",
            ).into());
        };
        let prefix = prefix.to_owned();
        let Some(event_name) = field(&rec, "eventName")? else {
            return Err(invalid(
                index,
                "eventName",
                "a CloudTrail record without `eventName`",
            )
            .into());
        };
        if event_name.is_empty() || event_name.len() > 256 {
            return Err(invalid(index, "eventName", "an empty or overlong event name").into());
        }
        let identity = rec.get("userIdentity").and_then(Value::as_object);
        let id_type = identity.and_then(|i| i.get("type")).and_then(Value::as_str);
        // A service acting in the account, or the resource owner's copy of another account's
        // call (`AWSAccount`): no principal of this account needed the permission.
        if matches!(id_type, Some("AWSService" | "AWSAccount"))
            || (id_type.is_none() && identity.is_some_and(|i| i.contains_key("invokedBy")))
        {
            return Ok(Next::Skipped);
        }
        let principal = principal_of(identity);
        if !self.principals.is_empty()
            && !principal.as_deref().is_some_and(|p| {
                self.principals
                    .iter()
                    .any(|g| crate::glob::resource_matches(g, p))
            })
        {
            return Ok(Next::Skipped);
        }
        if let Some(want) = self.read_only {
            let read_only = match rec.get("readOnly") {
                Some(Value::Bool(b)) => Some(*b),
                Some(Value::String(s)) => s.parse::<bool>().ok(),
                _ => None,
            };
            if read_only != Some(want) {
                return Ok(Next::Skipped);
            }
        }
        let management = rec.get("managementEvent").and_then(Value::as_bool);
        let category = rec.get("eventCategory").and_then(Value::as_str);
        if category == Some("Data") || management == Some(false) {
            self.data_events += 1;
        } else if matches!(prefix.as_str(), "s3" | "dynamodb" | "lambda") {
            match &mut self.implied {
                Some((_, n)) => *n += 1,
                None => self.implied = Some((prefix.clone(), 1)),
            }
        }
        let region = field(&rec, "awsRegion")?;
        let account = field(&rec, "recipientAccountId")?;
        let outcome = match field(&rec, "errorCode")? {
            Some(code) if !code.is_empty() => Outcome::Error { code: Some(code) },
            _ => Outcome::Ok,
        };
        let api_version = field(&rec, "apiVersion")?;
        let (service, operation, selection) =
            self.resolved(&prefix, &event_name, api_version.as_deref());
        let wants_resources = table().resources.contains_key(&service);
        let mut keyed = false;
        if let Some(f) = fast {
            // What the call comes to depends on these alone: a record equal in them to one
            // seen before counts as that one did.
            let raw = |r: &Option<std::ops::Range<usize>>| r.clone().map_or("", |r| &text[r]);
            f.key.clear();
            // Tagged apart from the other readers' keys and the pipeline's own.
            f.key.push(b'T');
            for part in [
                service.as_str(),
                operation.as_str(),
                region.as_deref().unwrap_or("\u{1}"),
                account.as_deref().unwrap_or("\u{1}"),
                match &outcome {
                    Outcome::Error { code: Some(c) } => c.as_str(),
                    _ => "\u{1}",
                },
                raw(&request),
                if wants_resources { raw(&resources) } else { "" },
            ] {
                f.key.extend_from_slice(part.as_bytes());
                f.key.push(0xFF);
            }
            if let Some(entry) = f.get() {
                return Ok(Next::Known { entry, principal });
            }
            keyed = true;
        }
        let parse = |r: Option<std::ops::Range<usize>>| match r {
            Some(r) => json::parse_range(text, r).map_err(Failed::Json),
            None => Ok(Value::Null),
        };
        let mut params = convert_params(&service, &selection, parse(request)?);
        if wants_resources {
            fill_from_resources(&service, Some(&parse(resources)?), &mut params);
        }
        Ok(Next::Call(
            keyed,
            Box::new(Call {
                service,
                operation,
                params,
                region,
                account,
                partition: None,
                endpoint: None,
                outcome,
                principal,
                source,
            }),
        ))
    }

    /// [`Stream::resolve`], and what the rules read of the operation, remembered.
    fn resolved(
        &mut self,
        prefix: &str,
        event: &str,
        api_version: Option<&str>,
    ) -> (String, String, Arc<Selection>) {
        let mut key = String::with_capacity(prefix.len() + event.len() + 12);
        key.push_str(prefix);
        key.push('\0');
        key.push_str(event);
        key.push('\0');
        key.push_str(api_version.unwrap_or_default());
        if let Some((s, o, sel)) = self.resolutions.get(&key) {
            return (s.clone(), o.clone(), Arc::clone(sel));
        }
        let (s, o) = self.resolve(prefix, event, api_version);
        let sel = self.rules.selection_for_reader(&s, &o);
        if self.resolutions.len() >= 4096 {
            self.resolutions.clear();
        }
        self.resolutions
            .insert(key, (s.clone(), o.clone(), Arc::clone(&sel)));
        (s, o, sel)
    }

    /// The API and operation of an event source and event name.
    fn resolve(&self, prefix: &str, event: &str, api_version: Option<&str>) -> (String, String) {
        let t = table();
        if let Some((api, op)) = t.names.get(&(prefix.to_owned(), event.to_owned())) {
            return (api.clone(), op.clone());
        }
        let mut candidates: Vec<&str> = match t.sources.get(prefix) {
            Some(s) => s.iter().map(String::as_str).collect(),
            None => vec![prefix],
        };
        if let Some(api) =
            api_version.and_then(|v| t.api_versions.get(prefix).and_then(|m| m.get(v)))
        {
            candidates.retain(|c| c == api);
            if candidates.is_empty() {
                candidates.push(api);
            }
        }
        let stripped = strip_version(event);
        for name in [Some(event), stripped].into_iter().flatten() {
            for c in &candidates {
                if self.rules.has_operation(c, name) {
                    let api = self.rules.api_key(c).unwrap_or(c);
                    return (api.to_owned(), name.to_owned());
                }
            }
        }
        // No API has it: the engine says so (unmapped, or its fallback).
        let first = candidates.first().copied().unwrap_or(prefix);
        (first.to_owned(), stripped.unwrap_or(event).to_owned())
    }
}

/// The members of a record the reader uses.
const USED: &[&str] = &[
    "eventSource",
    "eventName",
    "eventType",
    "eventCategory",
    "managementEvent",
    "awsRegion",
    "recipientAccountId",
    "errorCode",
    "apiVersion",
    "userIdentity",
    "resources",
    "requestParameters",
    "detail-type",
    "readOnly",
];

/// The record checked whole (as every reader checks an event: duplicate keys at any depth,
/// escapes, numbers), and only its small members the reader uses parsed into values; an
/// EventBridge event's `detail` likewise. `insightDetails` is only noted as present; where the
/// request and the resources are is kept, for them to be parsed only when needed.
fn picked(
    text: &str,
    members: &mut Vec<json::Member>,
) -> std::result::Result<Picked, json::JsonError> {
    json::scan_object(text, members)?;
    let mut top = pick(text, members.iter().cloned())?;
    let api_call =
        top.map.get("detail-type").and_then(Value::as_str) == Some("AWS API Call via CloudTrail");
    if let (true, Some(range)) = (api_call, top.detail.take()) {
        if !text[range.clone()].trim_start().starts_with('{') {
            top.map.insert("detail".into(), Value::Null);
            return Ok(top);
        }
        let inner = pick(text, json::members(text, range))?;
        top.map.insert("detail".into(), Value::Object(inner.map));
        top.request = inner.request;
        top.resources = inner.resources;
    }
    Ok(top)
}

fn pick(
    text: &str,
    members: impl Iterator<Item = json::Member>,
) -> std::result::Result<Picked, json::JsonError> {
    let mut p = Picked::default();
    for m in members {
        let key = m.key(text);
        match key.as_ref() {
            "detail" => p.detail = Some(m.value.clone()),
            "insightDetails" => {
                p.map.insert(key.into_owned(), Value::Bool(true));
            }
            "requestParameters" => p.request = Some(m.value.clone()),
            "resources" => p.resources = Some(m.value.clone()),
            k if USED.contains(&k) => {
                let v = json::parse_range(text, m.value.clone())?;
                p.map.insert(key.into_owned(), v);
            }
            _ => {}
        }
    }
    Ok(p)
}

/// A record's small members parsed, and where its request and resources are in its text
/// (parsed only when the record is not one seen before).
#[derive(Default)]
struct Picked {
    map: Map<String, Value>,
    detail: Option<std::ops::Range<usize>>,
    request: Option<std::ops::Range<usize>>,
    resources: Option<std::ops::Range<usize>>,
}

fn too_large(limit: usize, index: u64) -> Error {
    Error::new(
        ErrorKind::InvalidEvent,
        format!("record {index}: longer than {limit} bytes (the limit per event)"),
    )
}

fn invalid(index: u64, field: &str, why: &str) -> Error {
    Error::new(ErrorKind::InvalidEvent, format!("record {index}: {why}")).with_field(field)
}

fn not_a_record(what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidEvent,
        format!("{what} is not a CloudTrail record"),
    )
}

/// The principal a call's permissions belong to: the role behind an assumed-role session (or
/// the user behind a federated one), else the identity's ARN.
fn principal_of(identity: Option<&Map<String, Value>>) -> Option<String> {
    let i = identity?;
    let issuer = i
        .get("sessionContext")
        .and_then(|s| s.get("sessionIssuer"))
        .and_then(|s| s.get("arn"))
        .and_then(Value::as_str);
    let arn = i.get("arn").and_then(Value::as_str);
    let t = i.get("type").and_then(Value::as_str);
    let p = match t {
        Some("AssumedRole" | "FederatedUser") => issuer.or(arn),
        _ => arn.or(issuer),
    }?;
    (!p.is_empty() && p.len() <= 1024 && !p.chars().any(char::is_control)).then(|| p.to_owned())
}

/// The operation name without a version CloudTrail appends (`…20150331`, `…20150331v2`,
/// CloudFront's `…2020_05_31`), if it has one.
///
/// ```text
/// UpdateFunctionCode20150331v2 → UpdateFunctionCode
/// UpdateDistribution2020_05_31 → UpdateDistribution
/// ```
fn strip_version(name: &str) -> Option<&str> {
    let b = name.as_bytes();
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    // `YYYY_MM_DD`
    if b.len() > 10 {
        let tail = &b[b.len() - 10..];
        if digits(&tail[..4])
            && tail[4] == b'_'
            && digits(&tail[5..7])
            && tail[7] == b'_'
            && digits(&tail[8..])
        {
            return Some(&name[..name.len() - 10]);
        }
    }
    // `YYYYMMDD` and an optional `vN`
    let mut end = b.len();
    if let Some(v) = b.iter().rposition(|&c| c == b'v')
        && v + 1 < b.len()
        && digits(&b[v + 1..])
    {
        end = v;
    }
    if end > 8 && digits(&b[end - 8..end]) && !b[end - 9].is_ascii_digit() {
        return Some(&name[..end - 8]);
    }
    None
}

/// `requestParameters` as the API's parameters: the table's renames and list members first,
/// then every other member matched to the name the rules read (first letter's case aside).
fn convert_params(service: &str, sel: &Selection, request: Value) -> Value {
    if !matches!(request, Value::Object(_)) {
        return Value::Object(Map::new());
    }
    let t = table();
    let mut out = Map::new();
    let lists = t.lists.get(service);
    if let Some(lists) = lists {
        for l in lists {
            let mut found = Vec::new();
            gather(&request, &l.from, &mut found);
            if found.is_empty() {
                continue;
            }
            let v = if l.one {
                found.swap_remove(0)
            } else {
                Value::Array(found)
            };
            out.entry(l.to.clone()).or_insert(v);
        }
    }
    let Value::Object(mut m) = request else {
        return Value::Object(out);
    };
    for l in lists.into_iter().flatten() {
        if let Some(root) = l.from.first() {
            m.remove(root);
        }
    }
    if let Some(renames) = t.renames.get(service) {
        for (from, to) in renames {
            if let Some(v) = m.remove(from) {
                out.entry(to.clone()).or_insert(v);
            }
        }
    }
    for (k, v) in m {
        let name = member_name(Some(sel), &k);
        let sub = if sel.is_whole() {
            None
        } else {
            sel.member(&name)
        };
        let v = convert_value(v, sub, sel.is_whole());
        out.entry(name).or_insert(v);
    }
    Value::Object(out)
}

/// Values at `path` (member names, `[]` for the elements of a list).
fn gather(v: &Value, path: &[String], out: &mut Vec<Value>) {
    let Some((step, rest)) = path.split_first() else {
        if !v.is_null() {
            out.push(v.clone());
        }
        return;
    };
    if step == "[]" {
        if let Some(items) = v.as_array() {
            for i in items {
                gather(i, rest, out);
            }
        }
    } else if let Some(x) = v.get(step) {
        gather(x, rest, out);
    }
}

/// The API's name for a CloudTrail member: the one the selection reads that it spells (first
/// letter's case aside, or case aside), else the name with its first letter upper-cased.
fn member_name(sel: Option<&Selection>, key: &str) -> String {
    let upper = upper_first(key);
    if let Some(sel) = sel {
        if sel.member(&upper).is_some() {
            return upper;
        }
        if let Some((name, _)) = sel.members().find(|(n, _)| n.eq_ignore_ascii_case(key)) {
            return name.to_owned();
        }
    }
    upper
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A value's members renamed as the API spells them: where the rules read a map (`*`), its
/// keys are data and kept; where they read nothing, structures are renamed by the first-letter
/// rule (no rule reads them; the engine's fallback does not look).
fn convert_value(v: Value, sel: Option<&Selection>, whole: bool) -> Value {
    match v {
        Value::Object(m) => {
            if let Some(values) = sel.and_then(Selection::values) {
                return Value::Object(
                    m.into_iter()
                        .map(|(k, v)| (k, convert_value(v, Some(values), false)))
                        .collect(),
                );
            }
            if sel.is_none() && !whole {
                // Not read: left as it is.
                return Value::Object(m);
            }
            let mut out = Map::new();
            for (k, v) in m {
                let name = member_name(sel, &k);
                let sub = sel.and_then(|s| s.member(&name));
                let v = convert_value(v, sub, whole && sub.is_none());
                out.entry(name).or_insert(v);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let sub = sel.map(|s| s.elements().unwrap_or(s));
            Value::Array(
                items
                    .into_iter()
                    .map(|i| convert_value(i, sub, whole))
                    .collect(),
            )
        }
        other => other,
    }
}

/// Members the request left out whose resource CloudTrail names in `resources[]` (KMS
/// `Decrypt` names no key: the record's `resources[]` has the key it used).
fn fill_from_resources(service: &str, resources: Option<&Value>, params: &mut Value) {
    let Some(wanted) = table().resources.get(service) else {
        return;
    };
    let Some(list) = resources.and_then(Value::as_array) else {
        return;
    };
    let Value::Object(m) = params else {
        return;
    };
    for (rtype, member) in wanted {
        if m.get(member).is_some_and(|v| !v.is_null()) {
            continue;
        }
        let arn = list.iter().find_map(|r| {
            (r.get("type").and_then(Value::as_str) == Some(rtype.as_str()))
                .then(|| r.get("ARN").and_then(Value::as_str))
                .flatten()
        });
        if let Some(arn) = arn {
            m.insert(member.clone(), Value::String(arn.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_stripped_by_pattern() {
        assert_eq!(
            strip_version("UpdateFunctionCode20150331v2"),
            Some("UpdateFunctionCode")
        );
        assert_eq!(
            strip_version("CreateFunction20150331"),
            Some("CreateFunction")
        );
        assert_eq!(
            strip_version("UntagResource20170331v2"),
            Some("UntagResource")
        );
        assert_eq!(
            strip_version("UpdateDistribution2020_05_31"),
            Some("UpdateDistribution")
        );
        assert_eq!(strip_version("GetObject"), None);
        assert_eq!(strip_version("DescribeDBInstances"), None);
        assert_eq!(strip_version("PutObjectV2"), None);
        assert_eq!(strip_version("20150331"), None);
    }

    #[test]
    fn the_table_compiles() {
        let t = compile_table(crate::spec::EMBEDDED_CLOUDTRAIL)
            .expect("spec/cloudtrail/cloudtrail.json");
        assert!(t.sources.contains_key("s3"));
        assert!(t.renames.contains_key("s3"));
        assert!(!t.lists["ec2"].is_empty());
        assert_eq!(
            t.resources["kms"],
            vec![("AWS::KMS::Key".to_owned(), "KeyId".to_owned())]
        );
    }
}
