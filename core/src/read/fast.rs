//! The fast lane: most events of a run repeat one another in everything the engine reads (the
//! same operation on the same resources, with other timestamps, trace ids and payloads). For a
//! line of the common shape, a key is built from the raw text of exactly what the engine and
//! the outcome depend on; a key seen before stands for the same permissions, and the line needs
//! no values built, no call and no derivation.
//!
//! The key holds, with lengths, the raw text of the event's members that name the service, the
//! operation, the event name, the outcome and the context (region, account, partition,
//! endpoint), whether a response is an anomaly, and what the rules read of the request, walked
//! by the operation's [`Selection`] (the raw text of each value read, the shape around them).
//! Equal raw text reads as equal values, so equal keys mean equal calls for the engine. A line
//! of any other shape (escaped keys, a whole aws-api invoke map, EDN beyond maps, vectors,
//! keywords, plain strings, integers and tagged strings) takes the ordinary path, as does every
//! line whose key is new.
//!
//! A line is only ever taken here after it has been checked as strictly as the ordinary path
//! checks it: JSON by the full checker, EDN by a scanner that accepts only text the EDN reader
//! reads the same way (and refuses the rest to the reader).
//!
//! Where an operation's keys are rarely met again (an S3 object key per call), the lane rests
//! for that operation a while (the reader's `Selector` keeps the count, per operation): its
//! calls take the ordinary path, and no key is built or remembered for them.

use super::json;
use crate::spec::Selection;
use crate::spec::select::{Subs, expand};
use std::borrow::Cow;

/// What the fast lane made of a line.
#[derive(Debug)]
pub(crate) enum Lane<'a> {
    /// Not of the common shape: read it the ordinary way.
    Off,
    /// An event with another event name (checked: the ordinary path says the same).
    Skip,
    /// The key (in the caller's buffer) and the principal; `selection` is the (service,
    /// operation) whose selection walked the request, for the caller to check against the call
    /// the ordinary path makes of a new key.
    Key {
        principal: Option<Cow<'a, str>>,
        selection: (&'a str, &'a str),
    },
    /// The lane rests for the call's operation (its keys have rarely been met again): read it
    /// the ordinary way, and remember no key for it.
    Rest,
}

/// What the lane walks a request of an operation with: its selection (`None`: the rules may
/// read all of the request), or nothing, as the lane rests for the operation.
pub(crate) enum Pick {
    Walk(Option<std::sync::Arc<Selection>>),
    Rest,
}

/// What [`json_request`] made of a request.
enum Request {
    /// Its piece is in the key.
    Keyed,
    /// Not of the common shape.
    Off,
    /// The lane rests for the operation.
    Rest,
}

/// Appends `text` with its length (seven bits to a byte, the high bit saying another byte
/// follows), so that keys made of several pieces never run together and stay short.
fn piece(key: &mut Vec<u8>, tag: u8, text: &[u8]) {
    key.push(tag);
    let mut n = text.len();
    while n >= 0x80 {
        key.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    key.push(n as u8);
    key.extend_from_slice(text);
}

/// The members of a plain Call line that decide the call (besides `params` and `principal`).
const CALL_KEYED: &[&str] = &[
    "service",
    "operation",
    "region",
    "account",
    "partition",
    "endpoint",
    "error_code",
    "outcome",
];

/// The text of a JSON string value without escapes, `None` for anything else.
fn json_plain_str(raw: &str) -> Option<&str> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then_some(inner)
}

/// The members of a μ/log event the lane looks up by name (the principal's is looked up apart).
const WANTED: [&str; 8] = [
    "mulog/event-name",
    "api",
    "service",
    "operation",
    "op",
    "response",
    "result",
    "request",
];

/// Places in [`WANTED`].
const W_EVENT_NAME: usize = 0;
const W_API: usize = 1;
const W_SERVICE: usize = 2;
const W_OPERATION: usize = 3;
const W_OP: usize = 4;
const W_RESPONSE: usize = 5;
const W_RESULT: usize = 6;
const W_REQUEST: usize = 7;

/// Where `bare` (a member name without its `:`) is in [`WANTED`], and, when it is keyed, its
/// number among the keyed names: one of the members of a μ/log event that the ordinary path
/// reads for the call's service, operation, context and outcome (`request`, `response`,
/// `result`, `exception` and the principal are handled apart). One match, as the lane asks it
/// of every member of every line.
fn mulog_member(bare: &str) -> (Option<usize>, Option<u8>) {
    // By length first: most members of a line (timestamps, trace ids) have no candidate.
    let candidates: &[(&str, Option<usize>, Option<u8>)] = match bare.len() {
        2 => &[("op", Some(4), Some(0))],
        3 => &[("api", Some(1), Some(1))],
        4 => &[("Code", None, Some(2))],
        6 => &[
            ("region", None, Some(3)),
            ("result", Some(6), None),
            ("__type", None, Some(4)),
        ],
        7 => &[
            ("service", Some(2), Some(5)),
            ("request", Some(7), None),
            ("account", None, Some(6)),
        ],
        8 => &[("response", Some(5), None), ("endpoint", None, Some(7))],
        9 => &[
            ("operation", Some(3), Some(8)),
            ("partition", None, Some(9)),
            ("ErrorCode", None, Some(10)),
        ],
        10 => &[("aws/region", None, Some(11))],
        11 => &[("aws/account", None, Some(12))],
        13 => &[("mulog/outcome", None, Some(13))],
        16 => &[("mulog/event-name", Some(0), Some(14))],
        24 => &[("cognitect.aws.error/code", None, Some(15))],
        28 => &[("cognitect.anomalies/category", None, Some(16))],
        _ => &[],
    };
    candidates
        .iter()
        .find(|(name, _, _)| *name == bare)
        .map_or((None, None), |&(_, w, k)| (w, k))
}

/// Whether a μ/log event whose outcome member reads `text` (none when it is not plain text;
/// `null`: it is null or nil) may have failed: anything but `ok` may, a null outcome does not.
fn outcome_may_fail(text: Option<&str>, null: bool) -> bool {
    !null && text.map(|s| s.trim_start_matches(':')) != Some("ok")
}

/// Adds to the key of a μ/log event that failed, or may have (its outcome is not `ok`, or an
/// anomaly is there), the members its error code is looked for in besides those keyed
/// (`exception`, `response`, `result`), whole: two such events share a key only when their
/// code is the same.
fn failure_pieces<'t>(key: &mut Vec<u8>, raws: impl Iterator<Item = &'t str>) {
    for raw in raws {
        piece(key, b'x', raw.as_bytes());
    }
}

/// The tag of a keyed member's piece in a key: its number among the keyed names and whether
/// its name starts with `:`, above every tag of one character (so no name is written out).
fn keyed_tag(id: u8, colon: bool) -> u8 {
    0x80 | (id << 1) | u8::from(colon)
}

pub(crate) fn mulog_json<'a>(
    line: &'a str,
    members: &[json::Member],
    nested: &[json::Member],
    event_name: &str,
    principal_key: Option<&str>,
    select: &mut dyn FnMut(&str, &str) -> Pick,
    key: &mut Vec<u8>,
) -> Lane<'a> {
    key.clear();
    if members.iter().any(|m| m.escaped_key()) {
        return Lane::Off;
    }
    let principal_name = principal_key.map(|p| p.trim_start_matches(':'));
    // Where each member the lane looks at is: (exact name, `:`-prefixed name), found in one
    // pass; a look-up prefers the exact name, as the ordinary path does.
    let mut at = [(usize::MAX, usize::MAX); WANTED.len() + 1];
    // The tag of each of the first 32 members (0: not keyed), so that the key below need not
    // ask again.
    let mut tags = [0u8; 32];
    for (i, m) in members.iter().enumerate() {
        let k = m.key_raw(line);
        let (bare, colon) = match k.strip_prefix(':') {
            Some(b) => (b, true),
            None => (k, false),
        };
        let (wanted, id) = mulog_member(bare);
        if let (Some(id), Some(t)) = (id, tags.get_mut(i)) {
            *t = keyed_tag(id, colon);
        }
        let slot = wanted.or_else(|| (principal_name == Some(bare)).then_some(WANTED.len()));
        if let Some(w) = slot {
            let e = &mut at[w];
            let place = if colon { &mut e.1 } else { &mut e.0 };
            if *place == usize::MAX {
                *place = i;
            }
        }
    }
    // The principal's key may be one of the names above.
    let principal_slot = WANTED
        .iter()
        .position(|w| Some(*w) == principal_name)
        .unwrap_or(WANTED.len());
    let find = |_: &str, _: &[json::Member], name: &str| -> Option<&json::Member> {
        let w = match name {
            "" => principal_slot,
            _ => mulog_member(name).0.unwrap_or(WANTED.len()),
        };
        let (exact, colon) = at[w];
        members.get(if exact != usize::MAX { exact } else { colon })
    };
    // The event name: a plain string, compared as the ordinary path compares it.
    let Some(name) =
        find(line, members, "mulog/event-name").and_then(|m| json_plain_str(m.raw(line)))
    else {
        return Lane::Off;
    };
    if name.trim_start_matches(':') != event_name.trim_start_matches(':') {
        return Lane::Skip;
    }
    key.push(b'M');
    for (i, m) in members.iter().enumerate() {
        let tag = match tags.get(i) {
            Some(&t) => t,
            None => {
                let k = m.key_raw(line);
                let bare = k.strip_prefix(':');
                mulog_member(bare.unwrap_or(k))
                    .1
                    .map_or(0, |id| keyed_tag(id, bare.is_some()))
            }
        };
        if tag != 0 {
            piece(key, tag, m.raw(line).as_bytes());
        }
    }
    // The service and operation as the ordinary path finds them: the first of `api`/`service`
    // and of `operation`/`op` that is there and not null, a plain string.
    let text = |names: &[&str]| -> Option<Option<&'a str>> {
        for n in names {
            match find(line, members, n) {
                None => continue,
                Some(m) if m.raw(line) == "null" => continue,
                Some(m) => {
                    return json_plain_str(m.raw(line))
                        .filter(|s| !s.trim().is_empty())
                        .map(|s| Some(s.trim_start_matches(':')));
                }
            }
        }
        Some(None)
    };
    let (Some(Some(service)), Some(Some(operation))) =
        (text(&["api", "service"]), text(&["operation", "op"]))
    else {
        return Lane::Off;
    };
    // The response's anomaly (the outcome depends on it; the exception only gives a code).
    let mut anomaly = false;
    for n in ["response", "result"] {
        if let Some(m) = find(line, members, n) {
            let sub = m.kids(nested);
            if sub.iter().any(|s| s.escaped_key()) {
                return Lane::Off;
            }
            anomaly = sub.iter().any(|s| {
                let k = s.key_raw(line);
                k.strip_prefix(':').unwrap_or(k) == "cognitect.anomalies/category"
            });
            piece(key, b'a', if anomaly { b"1" } else { b"0" });
            break;
        }
    }
    let bare = |m: &json::Member| {
        let k = m.key_raw(line);
        k.strip_prefix(':').unwrap_or(k)
    };
    let failed = members.iter().any(|m| match bare(m) {
        "cognitect.anomalies/category" => true,
        "mulog/outcome" => outcome_may_fail(json_plain_str(m.raw(line)), m.raw(line) == "null"),
        _ => false,
    });
    if anomaly || failed {
        failure_pieces(
            key,
            members
                .iter()
                .filter(|m| matches!(bare(m), "exception" | "response" | "result"))
                .map(|m| m.raw(line)),
        );
    }
    let principal = match principal_key {
        None => None,
        Some(p) => match find(line, members, p.trim_start_matches(':')) {
            None => None,
            Some(m) => match json_plain_str(m.raw(line)) {
                Some(s) if s.len() <= 1024 => {
                    Some(Cow::Borrowed(s.trim_start_matches(':'))).filter(|p| !p.is_empty())
                }
                _ => return Lane::Off,
            },
        },
    };
    let request = find(line, members, "request");
    match json_request(line, request, nested, service, operation, select, key) {
        Request::Keyed => {}
        Request::Off => return Lane::Off,
        Request::Rest => return Lane::Rest,
    }
    Lane::Key {
        principal,
        selection: (service, operation),
    }
}

/// Adds what the rules read of a JSON request to the key; `false` when the request is not of
/// the common shape.
fn json_request(
    line: &str,
    request: Option<&json::Member>,
    nested: &[json::Member],
    service: &str,
    operation: &str,
    select: &mut dyn FnMut(&str, &str) -> Pick,
    key: &mut Vec<u8>,
) -> Request {
    let Some(m) = request else {
        key.push(b'-');
        return Request::Keyed;
    };
    let raw = m.raw(line);
    if raw == "null" {
        key.push(b'N');
        return Request::Keyed;
    }
    if !raw.starts_with('{') {
        return Request::Off;
    }
    key.push(b'R');
    let sel = match select(service, operation) {
        Pick::Walk(sel) => sel,
        Pick::Rest => return Request::Rest,
    };
    // Escaped names, or a whole aws-api invoke map (`op` and `request`): the ordinary path.
    let (mut escaped, mut op, mut request) = (false, false, false);
    let mut note = |s: &json::Member| {
        escaped |= s.escaped_key();
        match s.key_raw(line) {
            "op" => op = true,
            "request" => request = true,
            _ => {}
        }
    };
    // The request's members as the scan listed them.
    let known = Some(m.kids(nested));
    match &sel {
        None => {
            json::members_or_known(line, m.value.clone(), known).for_each(|s| note(&s));
            piece(key, b'w', raw.as_bytes());
        }
        // The walk goes through every member of the request and tells each to `note`.
        Some(sel) => json_walk(
            line,
            m.value.clone(),
            known,
            &[sel],
            key,
            0,
            Some(&mut note),
        ),
    }
    if escaped || (op && request) {
        Request::Off
    } else {
        Request::Keyed
    }
}

/// The raw text of what `sels` read of the JSON value at `range`, with its shape: the same
/// cases, in the same order, as the selection applied to the value.
///
/// `note`, when given, is shown every member of the object at `range`, read or not; `known`,
/// when given, lists those members (see [`json::members_or_known`]).
fn json_walk(
    line: &str,
    range: std::ops::Range<usize>,
    known: Option<&[json::Member]>,
    sels: &[&Selection],
    key: &mut Vec<u8>,
    depth: usize,
    mut note: Option<&mut dyn FnMut(&json::Member)>,
) {
    let raw = &line[range.clone()];
    let first = raw.as_bytes().first().copied();
    let set = expand(sels, !matches!(first, Some(b'[' | b'n')));
    if set.iter().any(|s| s.is_whole()) || depth > 64 {
        if let Some(note) = note {
            json::members_or_known(line, range, known).for_each(|s| note(&s));
        }
        piece(key, b'w', raw.as_bytes());
        return;
    }
    match first {
        Some(b'n') => key.push(b'N'),
        Some(b'{') => {
            key.push(b'{');
            for s in json::members_or_known(line, range, known) {
                if let Some(note) = note.as_deref_mut() {
                    note(&s);
                }
                let name = s.key(line);
                let subs = Subs::member(&set, &name);
                if !subs.as_slice().is_empty() {
                    piece(key, b'k', name.as_bytes());
                    json_walk(
                        line,
                        s.value.clone(),
                        None,
                        subs.as_slice(),
                        key,
                        depth + 1,
                        None,
                    );
                }
            }
            key.push(b'}');
        }
        Some(b'[') => {
            let subs: Vec<&Selection> = set.iter().filter_map(|s| s.elements()).collect();
            key.push(b'[');
            if !subs.is_empty() {
                for item in json::elements_of(line, range) {
                    json_walk(line, item, None, &subs, key, depth + 1, None);
                }
            }
            key.push(b']');
        }
        _ => key.push(b'T'),
    }
}

/// A plain Call line (the JSON-lines schema) already checked into `members`.
pub(crate) fn call_json<'a>(
    line: &'a str,
    members: &[json::Member],
    nested: &[json::Member],
    select: &mut dyn FnMut(&str, &str) -> Pick,
    key: &mut Vec<u8>,
) -> Lane<'a> {
    key.clear();
    if members.iter().any(|m| m.escaped_key()) {
        return Lane::Off;
    }
    key.push(b'C');
    let mut service = None;
    let mut operation = None;
    let mut principal = None;
    let mut params = None;
    for m in members {
        let k = m.key_raw(line);
        match k {
            // A caller-given source label changes the evidence: the ordinary path.
            "source" => return Lane::Off,
            "params" => params = Some(m),
            "principal" => {
                principal = match m.raw(line) {
                    "null" => None,
                    raw => match json_plain_str(raw) {
                        Some(s) if s.len() <= 1024 => {
                            Some(Cow::Borrowed(s)).filter(|p| !p.is_empty())
                        }
                        _ => return Lane::Off,
                    },
                }
            }
            _ => {
                let Some(i) = CALL_KEYED.iter().position(|c| *c == k) else {
                    continue;
                };
                if i == 0 {
                    service = json_plain_str(m.raw(line));
                } else if i == 1 {
                    operation = json_plain_str(m.raw(line));
                }
                // The member by its place in the list: one byte instead of its name.
                piece(key, b'0' + i as u8, m.raw(line).as_bytes());
            }
        }
    }
    let (Some(service), Some(operation)) = (service, operation) else {
        return Lane::Off;
    };
    match json_request(line, params, nested, service, operation, select, key) {
        Request::Keyed => {}
        Request::Off => return Lane::Off,
        Request::Rest => return Lane::Rest,
    }
    Lane::Key {
        principal,
        selection: (service, operation),
    }
}

// ---------------------------------------------------------------------------------------------
// EDN: a scanner for the shape μ/log prints, refusing anything else to the EDN reader.

/// One member of a scanned EDN map: its key's name and where its value is.
#[derive(Debug, Clone)]
pub(crate) struct EdnMember {
    /// The name, without its `:`.
    pub(crate) name: std::ops::Range<usize>,
    pub(crate) value: std::ops::Range<usize>,
    /// When the value is a map and the scan was asked to: where its members are in the
    /// nested list (as [`json::Member::kids`]).
    kids: (u32, u32),
}

impl EdnMember {
    /// The members of this member's value, a map, from the scan's nested list.
    fn kids<'n>(&self, nested: &'n [EdnMember]) -> &'n [EdnMember] {
        nested
            .get(self.kids.0 as usize..self.kids.1 as usize)
            .unwrap_or_default()
    }
}

/// How deep the scanner goes before it gives the line to the reader.
const EDN_DEPTH: usize = 64;

struct Scan<'a> {
    b: &'a [u8],
    s: &'a str,
    pos: usize,
}

/// The bytes of a keyword's or tag's name: letters, digits and `*+!_?<>=.-`.
const SYM: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'*' | b'+' | b'!' | b'_' | b'?' | b'<' | b'>' | b'=' | b'.' | b'-'
            );
        c += 1;
    }
    t
};

fn edn_sym_char(c: u8) -> bool {
    SYM[usize::from(c)]
}

impl<'a> Scan<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b',' | b'\t') = self.b.get(self.pos) {
            self.pos += 1;
        }
    }

    /// At the end of a token: the end of the text, whitespace or a closing delimiter.
    fn delimited(&self) -> bool {
        matches!(
            self.b.get(self.pos),
            None | Some(b' ' | b',' | b'\t' | b'}' | b']')
        )
    }

    /// A name of letters, digits and `*+!_?<>=.-`, with at most one `/` between two such runs
    /// (as a keyword's or tag's name); its range.
    fn name(&mut self) -> Option<std::ops::Range<usize>> {
        let start = self.pos;
        let run = |sc: &mut Scan<'_>| {
            let from = sc.pos;
            while sc.b.get(sc.pos).copied().is_some_and(edn_sym_char) {
                sc.pos += 1;
            }
            sc.pos > from
        };
        if !self
            .b
            .get(self.pos)
            .copied()
            .is_some_and(|c| c.is_ascii_alphabetic())
        {
            return None;
        }
        run(self);
        if self.b.get(self.pos) == Some(&b'/') {
            self.pos += 1;
            if !run(self) {
                return None;
            }
        }
        self.delimited().then_some(start..self.pos)
    }

    /// A keyword (`:name`), its name's range.
    fn keyword(&mut self) -> Option<std::ops::Range<usize>> {
        if self.b.get(self.pos) != Some(&b':') {
            return None;
        }
        self.pos += 1;
        self.name()
    }

    /// A string without escapes other than `\"`, `\\`, `\n`, `\t`, `\r` and without control
    /// characters; its content's range, and whether it holds an escape.
    fn string(&mut self) -> Option<(std::ops::Range<usize>, bool)> {
        if self.b.get(self.pos) != Some(&b'"') {
            return None;
        }
        let start = self.pos + 1;
        // Plain text passed over a word at a time, the rest byte by byte.
        let mut i = json::skip_plain(self.b, start, true, true);
        let mut escaped = false;
        loop {
            match *self.b.get(i)? {
                b'"' => break,
                b'\\' => {
                    if !matches!(self.b.get(i + 1)?, b'"' | b'\\' | b'n' | b't' | b'r') {
                        return None;
                    }
                    escaped = true;
                    i += 2;
                }
                0..=0x1F | 0x7F => return None,
                _ => i += 1,
            }
        }
        self.pos = i + 1;
        self.delimited().then_some((start..i, escaped))
    }

    /// An integer as the reader reads it the same way everywhere: `0`, or up to 18 digits not
    /// starting with `0`, maybe after a `-`.
    fn integer(&mut self) -> Option<()> {
        let start = self.pos;
        if self.b.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let digits = self.pos;
        while self.b.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        let n = self.pos - digits;
        let ok = (1..=18).contains(&n) && (self.b[digits] != b'0' || n == 1) && self.pos > start;
        (ok && self.delimited()).then_some(())
    }

    /// One value of the accepted shape; `false` for anything else.
    fn value(&mut self, depth: usize) -> bool {
        if depth > EDN_DEPTH {
            return false;
        }
        match self.b.get(self.pos) {
            Some(b'{') => self.map(depth, None, None),
            Some(b'[') => {
                self.pos += 1;
                loop {
                    self.ws();
                    match self.b.get(self.pos) {
                        Some(b']') => {
                            self.pos += 1;
                            return self.delimited();
                        }
                        None => return false,
                        _ => {
                            if !self.value(depth + 1) {
                                return false;
                            }
                        }
                    }
                }
            }
            Some(b'"') => self.string().is_some(),
            Some(b':') => self.keyword().is_some(),
            Some(b'-' | b'0'..=b'9') => self.integer().is_some(),
            Some(b'#') => {
                // A tagged string: `#inst "..."`, `#mulog/flake "..."`, `#uuid "..."`.
                self.pos += 1;
                if self.name().is_none() {
                    return false;
                }
                if self.b.get(self.pos) != Some(&b' ') {
                    return false;
                }
                self.ws();
                self.string().is_some()
            }
            Some(b'n' | b't' | b'f') => {
                let start = self.pos;
                while self.b.get(self.pos).copied().is_some_and(edn_sym_char) {
                    self.pos += 1;
                }
                matches!(&self.s[start..self.pos], "nil" | "true" | "false") && self.delimited()
            }
            _ => false,
        }
    }

    /// A map with keyword keys, each name once; its members into `out` when given, and with
    /// `nested` the members of each member's value that is a map (see [`EdnMember::kids`]).
    fn map(
        &mut self,
        depth: usize,
        mut out: Option<&mut Vec<EdnMember>>,
        mut nested: Option<&mut Vec<EdnMember>>,
    ) -> bool {
        self.pos += 1;
        /// More names than this in one map: the reader's to read.
        const MAX: usize = 48;
        let mut names = [(0u32, 0u32); MAX];
        let mut count = 0;
        // One bit per name seen (by its length and last byte): a name whose bit is clear is
        // new, with no comparison.
        let mut bits = 0u64;
        loop {
            self.ws();
            match self.b.get(self.pos) {
                Some(b'}') => {
                    self.pos += 1;
                    return self.delimited();
                }
                Some(b':') => {}
                _ => return false,
            }
            let Some(name) = self.keyword() else {
                return false;
            };
            let text = &self.b[name.clone()];
            let bit = json::name_bit(text);
            let maybe = bits & bit != 0;
            bits |= bit;
            // A name twice is the reader's error to report.
            if count == MAX
                || (maybe
                    && names[..count]
                        .iter()
                        .any(|&(a, b)| &self.b[a as usize..b as usize] == text))
            {
                return false;
            }
            names[count] = (name.start as u32, name.end as u32);
            count += 1;
            self.ws();
            let start = self.pos;
            let kids_at = nested.as_ref().map_or(0, |n| n.len());
            let read = match nested.as_deref_mut() {
                // As `value` reads a map, its members listed.
                Some(n) if self.b.get(self.pos) == Some(&b'{') && depth < EDN_DEPTH => {
                    self.map(depth + 1, Some(n), None)
                }
                _ => self.value(depth + 1),
            };
            if !read {
                return false;
            }
            if let Some(out) = out.as_deref_mut() {
                out.push(EdnMember {
                    name,
                    value: start..self.pos,
                    kids: match &nested {
                        Some(n) => (kids_at as u32, n.len() as u32),
                        None => (0, 0),
                    },
                });
            }
        }
    }
}

/// The members of the map at `range` (already scanned).
fn edn_members(text: &str, range: std::ops::Range<usize>) -> Vec<EdnMember> {
    let mut out = Vec::new();
    let mut sc = Scan {
        b: text.as_bytes(),
        s: text,
        pos: range.start,
    };
    sc.map(0, Some(&mut out), None);
    out
}

/// The elements of the vector at `range` (already scanned).
fn edn_elements(text: &str, range: std::ops::Range<usize>) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut sc = Scan {
        b: text.as_bytes(),
        s: text,
        pos: range.start + 1,
    };
    loop {
        sc.ws();
        if matches!(sc.b.get(sc.pos), Some(b']') | None) {
            return out;
        }
        let start = sc.pos;
        if !sc.value(0) {
            return out;
        }
        out.push(start..sc.pos);
    }
}

/// The text of a keyword, or of a string without escapes, at `range`: as the reader converts
/// it (keywords without their `:`).
fn edn_text(text: &str, range: std::ops::Range<usize>) -> Option<&str> {
    let raw = &text[range];
    if let Some(k) = raw.strip_prefix(':') {
        return Some(k);
    }
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then_some(inner)
}

/// A μ/log EDN line that is one map of the accepted shape, and nothing else.
///
/// The event's members are left in `members` (when the line is of the accepted shape: one map,
/// keyword keys each once).
pub(crate) fn mulog_edn<'a>(
    line: &'a str,
    event_name: &str,
    principal_key: Option<&str>,
    select: &mut dyn FnMut(&str, &str) -> Pick,
    key: &mut Vec<u8>,
    members: &mut Vec<EdnMember>,
    nested: &mut Vec<EdnMember>,
) -> Lane<'a> {
    key.clear();
    members.clear();
    nested.clear();
    let mut sc = Scan {
        b: line.as_bytes(),
        s: line,
        pos: 0,
    };
    if sc.b.first() != Some(&b'{') || !sc.map(0, Some(&mut *members), Some(&mut *nested)) {
        return Lane::Off;
    }
    sc.ws();
    if sc.pos != sc.b.len() {
        return Lane::Off;
    }
    let members: &[EdnMember] = members;
    let nested: &[EdnMember] = nested;
    // One pass over the event: where each member the lane looks at is (names are once in a
    // map; by their place in WANTED, the principal's last), each member's keyed tag (0: not
    // keyed), and whether the call may have failed (its outcome is not `ok`, or an anomaly is
    // there).
    let principal_name = principal_key.map(|p| p.trim_start_matches(':'));
    let principal_slot = WANTED
        .iter()
        .position(|w| Some(*w) == principal_name)
        .unwrap_or(WANTED.len());
    let mut at = [usize::MAX; WANTED.len() + 1];
    let mut tags = [0u8; 48];
    let mut failed = false;
    for (i, m) in members.iter().enumerate() {
        let n = &line[m.name.clone()];
        let (wanted, id) = mulog_member(n);
        let slot = wanted.or_else(|| (principal_name == Some(n)).then_some(WANTED.len()));
        if let Some(w) = slot
            && at[w] == usize::MAX
        {
            at[w] = i;
        }
        if let Some(id) = id {
            if let Some(t) = tags.get_mut(i) {
                *t = keyed_tag(id, false);
            }
            failed |= match n {
                "cognitect.anomalies/category" => true,
                "mulog/outcome" => outcome_may_fail(
                    edn_text(line, m.value.clone()),
                    &line[m.value.clone()] == "nil",
                ),
                _ => false,
            };
        }
    }
    let find = |w: usize| members.get(at[w]);
    let Some(name) = find(W_EVENT_NAME).and_then(|m| edn_text(line, m.value.clone())) else {
        return Lane::Off;
    };
    if name.trim_start_matches(':') != event_name.trim_start_matches(':') {
        return Lane::Skip;
    }
    key.push(b'E');
    for (i, m) in members.iter().enumerate() {
        match tags.get(i) {
            Some(0) => {}
            Some(&t) => piece(key, t, line[m.value.clone()].as_bytes()),
            None => {
                if let Some(id) = mulog_member(&line[m.name.clone()]).1 {
                    piece(key, keyed_tag(id, false), line[m.value.clone()].as_bytes());
                }
            }
        }
    }
    // The service and operation as the ordinary path finds them: the first of `api`/`service`
    // and of `operation`/`op` (by their place in WANTED) that is there and not nil.
    let text = |slots: [usize; 2]| -> Option<Option<&'a str>> {
        for w in slots {
            match find(w) {
                None => continue,
                Some(m) if &line[m.value.clone()] == "nil" => continue,
                Some(m) => {
                    return edn_text(line, m.value.clone())
                        .filter(|s| !s.trim().is_empty())
                        .map(|s| Some(s.trim_start_matches(':')));
                }
            }
        }
        Some(None)
    };
    let (Some(Some(service)), Some(Some(operation))) =
        (text([W_API, W_SERVICE]), text([W_OPERATION, W_OP]))
    else {
        return Lane::Off;
    };
    // `response`, else `result`.
    let mut anomaly = false;
    for w in [W_RESPONSE, W_RESULT] {
        if let Some(m) = find(w) {
            let raw = &line[m.value.clone()];
            anomaly = raw.starts_with('{')
                && m.kids(nested)
                    .iter()
                    .any(|s| &line[s.name.clone()] == "cognitect.anomalies/category");
            piece(key, b'a', if anomaly { b"1" } else { b"0" });
            break;
        }
    }
    if anomaly || failed {
        failure_pieces(
            key,
            members
                .iter()
                .filter(|m| matches!(&line[m.name.clone()], "exception" | "response" | "result"))
                .map(|m| &line[m.value.clone()]),
        );
    }
    let principal = match principal_key {
        None => None,
        Some(_) => match find(principal_slot) {
            None => None,
            Some(m) => match edn_text(line, m.value.clone()) {
                Some(s) if s.len() <= 1024 => {
                    Some(Cow::Borrowed(s.trim_start_matches(':'))).filter(|p| !p.is_empty())
                }
                _ => return Lane::Off,
            },
        },
    };
    match find(W_REQUEST) {
        None => key.push(b'-'),
        Some(m) => {
            let raw = &line[m.value.clone()];
            if raw == "nil" {
                key.push(b'N');
            } else if raw.starts_with('{') {
                let sub = m.kids(nested);
                let has = |n: &str| sub.iter().any(|s| &line[s.name.clone()] == n);
                if has("op") && has("request") {
                    return Lane::Off;
                }
                key.push(b'R');
                match select(service, operation) {
                    Pick::Walk(None) => piece(key, b'w', raw.as_bytes()),
                    Pick::Walk(Some(sel)) => {
                        edn_walk(line, m.value.clone(), Some(sub), &[&sel], key, 0)
                    }
                    Pick::Rest => return Lane::Rest,
                }
            } else {
                return Lane::Off;
            }
        }
    }
    Lane::Key {
        principal,
        selection: (service, operation),
    }
}

/// As [`json_walk`], on EDN text of the accepted shape.
///
/// `known`, when given, lists the members of the map at `range`.
fn edn_walk(
    line: &str,
    range: std::ops::Range<usize>,
    known: Option<&[EdnMember]>,
    sels: &[&Selection],
    key: &mut Vec<u8>,
    depth: usize,
) {
    let raw = &line[range.clone()];
    let first = raw.as_bytes().first().copied();
    let set = expand(sels, !(first == Some(b'[') || raw == "nil"));
    if set.iter().any(|s| s.is_whole()) || depth > EDN_DEPTH {
        piece(key, b'w', raw.as_bytes());
        return;
    }
    if raw == "nil" {
        key.push(b'N');
        return;
    }
    match first {
        Some(b'{') => {
            key.push(b'{');
            let scanned;
            let members = match known {
                Some(k) => k,
                None => {
                    scanned = edn_members(line, range);
                    &scanned
                }
            };
            for s in members {
                let name = &line[s.name.clone()];
                let subs = Subs::member(&set, name);
                if !subs.as_slice().is_empty() {
                    piece(key, b'k', name.as_bytes());
                    edn_walk(line, s.value.clone(), None, subs.as_slice(), key, depth + 1);
                }
            }
            key.push(b'}');
        }
        Some(b'[') => {
            let subs: Vec<&Selection> = set.iter().filter_map(|s| s.elements()).collect();
            key.push(b'[');
            if !subs.is_empty() {
                for item in edn_elements(line, range) {
                    edn_walk(line, item, None, &subs, key, depth + 1);
                }
            }
            key.push(b']');
        }
        _ => key.push(b'T'),
    }
}

#[cfg(test)]
mod tests {
    use super::{Scan, WANTED, mulog_member};

    #[test]
    fn an_edn_map_with_a_name_twice_is_left_to_the_reader() {
        let scan = |text: &str| {
            let mut sc = Scan {
                b: text.as_bytes(),
                s: text,
                pos: 0,
            };
            sc.map(0, None, None)
        };
        // Names of one length and last byte (one bit) are told apart by their text.
        assert!(scan("{:ab 1, :cb 2, :b 3, :xab 4}"));
        assert!(!scan("{:ab 1, :cb 2, :ab 3}"));
        assert!(!scan("{:a 1, :m {:x 1, :y {:z 1, :z 2}}}"));
        let many: Vec<String> = (0..40).map(|i| format!(":k{i} {i}")).collect();
        assert!(scan(&format!("{{{}}}", many.join(", "))));
        assert!(!scan(&format!("{{{}, :k39 0}}", many.join(", "))));
    }

    #[test]
    fn an_edn_string_is_accepted_as_read_byte_by_byte() {
        // What the scanner accepts, one byte at a time: escapes `\"`, `\\`, `\n`, `\t`, `\r`
        // only, no control character and no DEL; the content's range and whether it escapes.
        fn by_bytes(b: &[u8]) -> Option<(std::ops::Range<usize>, bool)> {
            let mut i = 1;
            let mut escaped = false;
            loop {
                match *b.get(i)? {
                    b'"' => break,
                    b'\\' => {
                        if !matches!(b.get(i + 1)?, b'"' | b'\\' | b'n' | b't' | b'r') {
                            return None;
                        }
                        escaped = true;
                        i += 2;
                    }
                    0..=0x1F | 0x7F => return None,
                    _ => i += 1,
                }
            }
            // Followed by what may follow a value, as the scanner asks.
            let text = std::str::from_utf8(b).ok()?;
            let after = Scan {
                b,
                s: text,
                pos: i + 1,
            };
            after.delimited().then_some((1..i, escaped))
        }
        for special in [
            "\"", "\\\"", "\\n", "\\x", "\n", "\u{1}", "\u{7f}", "é", "\u{80}",
        ] {
            for at in 0..20 {
                for len in [at, at + 1, at + 9, 40] {
                    let body: String = (0..len)
                        .map(|i| {
                            if i == at {
                                special.to_owned()
                            } else {
                                "a".to_owned()
                            }
                        })
                        .collect();
                    let text = format!("\"{body}\" ");
                    let mut sc = Scan {
                        b: text.as_bytes(),
                        s: &text,
                        pos: 0,
                    };
                    assert_eq!(sc.string(), by_bytes(text.as_bytes()), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn the_member_match_agrees_with_the_lists() {
        for (i, w) in WANTED.iter().enumerate() {
            assert_eq!(mulog_member(w).0, Some(i), "{w}");
        }
        use super::{
            W_API, W_EVENT_NAME, W_OP, W_OPERATION, W_REQUEST, W_RESPONSE, W_RESULT, W_SERVICE,
        };
        let places = [
            (W_EVENT_NAME, "mulog/event-name"),
            (W_API, "api"),
            (W_SERVICE, "service"),
            (W_OPERATION, "operation"),
            (W_OP, "op"),
            (W_RESPONSE, "response"),
            (W_RESULT, "result"),
            (W_REQUEST, "request"),
        ];
        for (w, name) in places {
            assert_eq!(WANTED[w], name);
        }
        // Keyed: exactly the members the ordinary path reads into the event.
        for k in super::super::jsonl::MULOG_KEYS {
            assert!(mulog_member(k).1.is_some(), "{k}");
        }
        for other in [
            "request",
            "response",
            "result",
            "exception",
            "mulog/timestamp",
            "",
            "Api",
        ] {
            assert!(mulog_member(other).1.is_none(), "{other}");
        }
        // Nothing else is keyed or wanted: every candidate name is in one of the lists.
        for len in 0..64 {
            for name in super::super::jsonl::MULOG_KEYS.iter().chain(WANTED.iter()) {
                if name.len() == len {
                    let (w, k) = mulog_member(name);
                    assert_eq!(w, WANTED.iter().position(|x| x == name), "{name}");
                    assert_eq!(
                        k.is_some(),
                        super::super::jsonl::MULOG_KEYS.contains(name),
                        "{name}"
                    );
                }
            }
        }
        assert_eq!(mulog_member("mulog/trace-id"), (None, None));
        // A keyed member's tag stands for its name alone: the numbers are distinct and fit.
        let mut ids: Vec<u8> = super::super::jsonl::MULOG_KEYS
            .iter()
            .filter_map(|k| mulog_member(k).1)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), super::super::jsonl::MULOG_KEYS.len());
        assert!(ids.iter().all(|&id| id < 64));
    }
}
