//! A strict JSON reader for events: what serde_json's `Value` cannot promise.
//!
//! - Numbers are kept exactly as written: an integer that fits 64 bits as a number (its text is
//!   the same), any other as its text (`1.5e3` stays `1.5e3`, a 30-digit id keeps every digit,
//!   `1e400` is a number): the engine reads numbers as their text.
//! - A key twice in one object is an error (as Clojure's reader makes it one), never first- or
//!   last-wins.
//! - `\u` escapes that leave a lone surrogate, and raw control characters in strings, are errors.
//! - Nesting is bounded, so no input can exhaust the stack.
//!
//! Errors carry a byte offset and a message that names no payload text.

use crate::spec::Selection;
use crate::spec::select::{Subs, expand};
use rustc_hash::FxHashSet;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::ops::Range;

/// Objects and arrays nested deeper than this are an error.
pub(crate) const MAX_DEPTH: usize = 256;

/// A syntax or structure error at a byte offset of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonError {
    pub(crate) offset: usize,
    pub(crate) message: String,
    /// The member names leading to the error (for a duplicate key), outermost first.
    pub(crate) path: Vec<String>,
    /// `true` for a duplicate key (an invalid event rather than a syntax error).
    pub(crate) duplicate: bool,
}

impl JsonError {
    fn at(offset: usize, message: impl Into<String>) -> JsonError {
        JsonError {
            offset,
            message: message.into(),
            path: Vec::new(),
            duplicate: false,
        }
    }
}

/// A number's text as a value: an integer whose text an `i64`/`u64` prints back the same as a
/// number, anything else as its text.
pub(crate) fn number_value(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        if i.to_string() == text {
            return Value::from(i);
        }
    } else if let Ok(u) = text.parse::<u64>() {
        if u.to_string() == text {
            return Value::from(u);
        }
    }
    Value::String(text.to_owned())
}

/// Parses `text` as one JSON value (blanks around it allowed).
pub(crate) fn parse(text: &str) -> Result<Value, JsonError> {
    let mut p = Parser::new(text);
    p.ws();
    let v = p.value()?;
    p.ws();
    if p.pos < p.b.len() {
        return Err(JsonError::at(
            p.pos,
            "trailing characters after the JSON value",
        ));
    }
    Ok(v)
}

/// Parses `text` as one JSON object.
pub(crate) fn parse_object(text: &str) -> Result<Map<String, Value>, JsonError> {
    let start = text.len() - text.trim_start_matches([' ', '\t', '\r', '\n']).len();
    match parse(text)? {
        Value::Object(m) => Ok(m),
        other => Err(JsonError::at(
            start,
            format!(
                "an event must be a JSON object, not {}",
                match other {
                    Value::Array(_) => "an array",
                    Value::String(_) => "a string or number",
                    Value::Bool(_) => "a boolean",
                    _ => "null",
                }
            ),
        )),
    }
}

/// A member of an object checked by [`scan_object`]: where its key and its value are in the
/// text. Nothing is copied: the caller parses the members it wants ([`parse_range`],
/// [`parse_selected`]) and never looks at the others.
#[derive(Debug, Clone, Default)]
pub(crate) struct Member {
    /// The key's text between its quotes, escapes undone by [`Member::key`].
    key: Range<usize>,
    /// The key holds a `\` escape.
    escaped: bool,
    /// The value, from its first byte to just after its last.
    pub(crate) value: Range<usize>,
    /// When the value is an object and the members were listed by [`scan_object_nested`]:
    /// where its own members are in the nested list.
    kids: (u32, u32),
}

impl Member {
    /// The key's text as written between its quotes.
    pub(crate) fn key_raw<'a>(&self, text: &'a str) -> &'a str {
        &text[self.key.clone()]
    }

    /// The key holds a `\` escape.
    pub(crate) fn escaped_key(&self) -> bool {
        self.escaped
    }

    /// The members of this member's value, an object, as [`scan_object_nested`] listed them in
    /// `nested`.
    pub(crate) fn kids<'n>(&self, nested: &'n [Member]) -> &'n [Member] {
        nested
            .get(self.kids.0 as usize..self.kids.1 as usize)
            .unwrap_or_default()
    }

    /// The value's text as written.
    pub(crate) fn raw<'a>(&self, text: &'a str) -> &'a str {
        &text[self.value.clone()]
    }

    /// The key, as [`parse`] would read it.
    pub(crate) fn key<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let raw = &text[self.key.clone()];
        if !self.escaped {
            return Cow::Borrowed(raw);
        }
        // Already checked: decoding cannot fail.
        let quoted = &text[self.key.start - 1..self.key.end + 1];
        let mut p = Parser::new(quoted);
        Cow::Owned(p.string().unwrap_or_default())
    }
}

/// Checks that `text` is one JSON object exactly as [`parse_object`] does (the same errors, at
/// the same offsets: duplicate keys at any depth, escapes, control characters, numbers, depth),
/// building no value, and lists its members in `out` (cleared first).
pub(crate) fn scan_object(text: &str, out: &mut Vec<Member>) -> Result<(), JsonError> {
    scan(text, out, None)
}

/// As [`scan_object`], listing besides in `nested` (cleared first) the members of each member
/// whose value is an object ([`Member::kids`]), so that a reader of those need not pass over
/// them again.
pub(crate) fn scan_object_nested(
    text: &str,
    out: &mut Vec<Member>,
    nested: &mut Vec<Member>,
) -> Result<(), JsonError> {
    nested.clear();
    scan(text, out, Some(nested))
}

fn scan(
    text: &str,
    out: &mut Vec<Member>,
    nested: Option<&mut Vec<Member>>,
) -> Result<(), JsonError> {
    out.clear();
    let mut p = Parser::new(text);
    p.ws();
    if p.peek() != Some(b'{') {
        // Not an object: the full reader finds the error (or says what it is instead).
        return parse_object(text).map(|_| ());
    }
    // The keys' list is kept from line to line (empty in between), with room for the keys of
    // a usual event: no allocation per line.
    let mut keys: Vec<Cow<'_, str>> = recycle(SPARE_KEYS.take());
    keys.reserve(32);
    let checked = p.check_object(&mut keys, Some(out), nested);
    if keys.capacity() <= 1024 {
        SPARE_KEYS.set(recycle(keys));
    }
    checked?;
    p.ws();
    if p.pos < p.b.len() {
        return Err(JsonError::at(
            p.pos,
            "trailing characters after the JSON value",
        ));
    }
    Ok(())
}

thread_local! {
    /// The keys' list [`scan_object`] keeps between lines.
    static SPARE_KEYS: std::cell::Cell<Vec<Cow<'static, str>>> =
        const { std::cell::Cell::new(Vec::new()) };
}

/// A list of keys emptied and made a list of keys of another lifetime, keeping its allocation
/// (the element layout is the same, so collecting an empty list reuses it).
fn recycle<'b>(mut keys: Vec<Cow<'_, str>>) -> Vec<Cow<'b, str>> {
    keys.clear();
    keys.into_iter().map(|_| Cow::Borrowed("")).collect()
}

/// The members of the object at `range` of text already checked by [`scan_object`] (an
/// object's value), without checking it again; empty when the value there is not an object.
pub(crate) fn members_of(text: &str, range: Range<usize>, out: &mut Vec<Member>) {
    out.clear();
    out.extend(members(text, range));
}

/// The members of the object at `range` of checked text, one by one (none when the value there
/// is not an object).
pub(crate) fn members(text: &str, range: Range<usize>) -> Members<'_> {
    let mut p = Parser::new(text);
    p.pos = range.start;
    let done = p.peek() != Some(b'{');
    p.pos += 1;
    Members { p, done }
}

/// The members of the object at `range` of checked text: `known` when a scan listed them
/// ([`Member::kids`]), otherwise found by passing over the text as [`members`] does.
pub(crate) fn members_or_known<'a>(
    text: &'a str,
    range: Range<usize>,
    known: Option<&'a [Member]>,
) -> MembersOrKnown<'a> {
    match known {
        Some(k) => MembersOrKnown::Known(k.iter()),
        None => MembersOrKnown::Scan(members(text, range)),
    }
}

/// See [`members_or_known`].
pub(crate) enum MembersOrKnown<'a> {
    Known(std::slice::Iter<'a, Member>),
    Scan(Members<'a>),
}

impl Iterator for MembersOrKnown<'_> {
    type Item = Member;
    fn next(&mut self) -> Option<Member> {
        match self {
            MembersOrKnown::Known(k) => k.next().cloned(),
            MembersOrKnown::Scan(s) => s.next(),
        }
    }
}

/// See [`members`].
pub(crate) struct Members<'a> {
    p: Parser<'a>,
    done: bool,
}

impl Iterator for Members<'_> {
    type Item = Member;
    fn next(&mut self) -> Option<Member> {
        if self.done {
            return None;
        }
        let p = &mut self.p;
        p.ws();
        if p.peek() != Some(b'"') {
            self.done = true;
            return None;
        }
        let (key, escaped) = p.skip_string_fast();
        p.ws();
        p.pos += 1; // `:`
        p.ws();
        let start = p.pos;
        p.skip_fast();
        let m = Member {
            key,
            escaped,
            value: start..p.pos,
            kids: (0, 0),
        };
        p.ws();
        if p.peek() == Some(b',') {
            p.pos += 1;
        } else {
            self.done = true;
        }
        Some(m)
    }
}

/// The elements of the array at `range` of checked text (empty when the value there is not an
/// array).
pub(crate) fn elements_of(text: &str, range: Range<usize>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut p = Parser::new(&text[..range.end]);
    p.pos = range.start;
    if p.peek() != Some(b'[') {
        return out;
    }
    p.pos += 1;
    loop {
        p.ws();
        if matches!(p.peek(), Some(b']') | None) {
            return out;
        }
        let start = p.pos;
        p.skip_fast();
        out.push(start..p.pos);
        p.ws();
        if p.peek() == Some(b',') {
            p.pos += 1;
        } else {
            return out;
        }
    }
}

/// The value at `range` of checked text, read in full as [`parse`] would.
pub(crate) fn parse_range(text: &str, range: Range<usize>) -> Result<Value, JsonError> {
    let mut p = Parser::new(&text[..range.end]);
    p.pos = range.start;
    p.value()
}

/// The value at `range` of checked text, reduced to what `selection` reads of it while it is
/// read, exactly as [`Selection::apply`] reduces the whole value: members no rule reads are
/// passed over unread, values only tested for presence become `true`.
pub(crate) fn parse_selected(
    text: &str,
    range: Range<usize>,
    selection: &Selection,
) -> Result<Value, JsonError> {
    let mut p = Parser::new(&text[..range.end]);
    p.pos = range.start;
    p.selected(&[selection])
}

/// As [`parse_selected`] on an object, writing into `spare` (a value it made before) instead
/// of building a new one: when what `selection` reads of the object is a run of members read
/// whole whose values are strings without escapes, and `spare` is an object of the same
/// members in the same order holding strings, its strings are overwritten (no allocation and
/// no hashing) and it is the result. `None` otherwise, with `spare` as it was.
///
/// `known`, when given, lists the object's members ([`Member::kids`]).
pub(crate) fn refill_selected(
    text: &str,
    range: Range<usize>,
    known: Option<&[Member]>,
    selection: &Selection,
    spare: &mut Option<Value>,
) -> Option<Value> {
    const MAX: usize = 8;
    let Some(Value::Object(map)) = spare.as_mut() else {
        return None;
    };
    if text.as_bytes().get(range.start) != Some(&b'{') {
        return None;
    }
    let sels = [selection];
    let set = expand(&sels, true);
    if set.iter().any(|s| s.is_whole()) {
        return None;
    }
    // The members read, (name, string's text), as `Parser::selected` would find them.
    let mut found = [("", ""); MAX];
    let mut n = 0;
    for m in members_or_known(text, range, known) {
        if m.escaped_key() {
            return None;
        }
        let name = m.key_raw(text);
        let subs = Subs::member(&set, name);
        if subs.as_slice().is_empty() {
            continue;
        }
        // A string is read whole when any selection for it is.
        if !expand(subs.as_slice(), true).iter().any(|s| s.is_whole()) {
            return None;
        }
        let inner = m.raw(text).strip_prefix('"')?.strip_suffix('"')?;
        if inner.contains('\\') || n == MAX {
            return None;
        }
        found[n] = (name, inner);
        n += 1;
    }
    let found = &found[..n];
    let same = map.len() == n
        && map
            .iter()
            .zip(found)
            .all(|((k, v), (name, _))| k == name && v.is_string());
    if !same {
        return None;
    }
    for ((_, v), (_, inner)) in map.iter_mut().zip(found) {
        if let Value::String(s) = v {
            s.clear();
            s.push_str(inner);
        }
    }
    spare.take()
}

/// A name's bit among 64, by its length and last byte: a set of names seen kept as these bits
/// tells, with no comparison, that a name whose bit is clear is new.
pub(crate) fn name_bit(name: &[u8]) -> u64 {
    1u64 << ((name.len().wrapping_mul(7) + usize::from(name.last().copied().unwrap_or(0))) & 63)
}

/// The first offset at or after `from` that may end a run of plain string text: a `"`, a `\\`
/// or (with `controls`) a control character; found eight bytes at a time (in a word, a byte's
/// test can only be disturbed by a lower byte that matched, so the lowest mark is exact). The
/// last few bytes are left to the caller, which goes on byte by byte from here. With `del`,
/// DEL (0x7F) ends a run too.
pub(crate) fn skip_plain(b: &[u8], from: usize, controls: bool, del: bool) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let mut i = from;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        let mut hit = zero(w ^ (LO * u64::from(b'"'))) | zero(w ^ (LO * u64::from(b'\\')));
        if controls {
            hit |= w.wrapping_sub(LO * 0x20) & !w & HI;
        }
        if del {
            hit |= zero(w ^ (LO * 0x7F));
        }
        if hit != 0 {
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

struct Parser<'a> {
    b: &'a [u8],
    s: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Parser<'a> {
        Parser {
            b: text.as_bytes(),
            s: text,
            pos: 0,
            depth: 0,
        }
    }

    /// A string's text (after its opening quote) as a borrowed slice when it has no escape.
    fn string_cow(&mut self) -> Result<Cow<'a, str>, JsonError> {
        let start = self.pos + 1;
        let mut i = skip_plain(self.b, start, true, false);
        while let Some(&c) = self.b.get(i) {
            match c {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(Cow::Borrowed(&self.s[start..i]));
                }
                b'\\' | 0..=0x1F => break,
                _ => i += 1,
            }
        }
        self.string().map(Cow::Owned)
    }

    /// Checks the value here as [`Parser::value`] reads it, building nothing. `keys` holds the
    /// keys of the objects being checked (each object's after the enclosing ones'); with
    /// `members`, the object here lists its members there.
    fn check_value(&mut self, keys: &mut Vec<Cow<'a, str>>) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'{') => self.check_object(keys, None, None),
            Some(b'[') => {
                self.enter()?;
                self.pos += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    self.check_value(keys)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            self.depth -= 1;
                            return Ok(());
                        }
                        _ => return Err(self.expected("`,` or `]`")),
                    }
                }
            }
            Some(b'"') => self.string_cow().map(|_| ()),
            Some(b'-' | b'0'..=b'9') => self.number_text().map(|_| ()),
            _ => self.value().map(|_| ()),
        }
    }

    /// Checks the object here; see [`Parser::check_value`]. With `nested` (and `members`), the
    /// members of each member's value that is an object are listed there.
    fn check_object(
        &mut self,
        keys: &mut Vec<Cow<'a, str>>,
        mut members: Option<&mut Vec<Member>>,
        mut nested: Option<&mut Vec<Member>>,
    ) -> Result<(), JsonError> {
        /// Beyond this many keys an object's keys are looked up in a set, not one by one.
        const LINEAR: usize = 16;
        self.enter()?;
        self.pos += 1;
        let base = keys.len();
        let mut set: Option<FxHashSet<Cow<'a, str>>> = None;
        // One bit per key seen (by its length and last byte): a key whose bit is clear is
        // new, with no look-up.
        let mut bits = 0u64;
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        let result = loop {
            self.ws();
            if self.peek() != Some(b'"') {
                break Err(self.expected("a string key"));
            }
            let key_at = self.pos;
            let key = match self.string_cow() {
                Ok(k) => k,
                Err(e) => break Err(e),
            };
            let key_end = self.pos - 1;
            self.ws();
            if self.peek() != Some(b':') {
                break Err(self.expected("`:`"));
            }
            self.pos += 1;
            self.ws();
            let value_at = self.pos;
            let kids_at = nested.as_ref().map_or(0, |n| n.len());
            let checked = match nested.as_deref_mut() {
                Some(n) if self.peek() == Some(b'{') => self.check_object(keys, Some(n), None),
                _ => self.check_value(keys),
            };
            if let Err(mut e) = checked {
                if e.duplicate {
                    e.path.insert(0, key.into_owned());
                }
                break Err(e);
            }
            let duplicate = match &mut set {
                Some(set) => !set.insert(key.clone()),
                None => {
                    let bit = name_bit(key.as_bytes());
                    let maybe = bits & bit != 0;
                    bits |= bit;
                    maybe && keys[base..].contains(&key)
                }
            };
            if duplicate {
                break Err(JsonError {
                    offset: key_at,
                    message: "a key appears twice in one object".into(),
                    path: vec![key.into_owned()],
                    duplicate: true,
                });
            }
            if let Some(out) = members.as_deref_mut() {
                out.push(Member {
                    key: key_at + 1..key_end,
                    escaped: matches!(key, Cow::Owned(_)),
                    value: value_at..self.pos,
                    kids: match &nested {
                        Some(n) => (kids_at as u32, n.len() as u32),
                        None => (0, 0),
                    },
                });
            }
            if set.is_none() {
                keys.push(key);
                if keys.len() - base > LINEAR {
                    set = Some(keys.drain(base..).collect());
                }
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    break Ok(());
                }
                _ => break Err(self.expected("`,` or `}`")),
            }
        };
        keys.truncate(base);
        result
    }

    /// Passes over a string in checked text: the range of its content and whether it holds an
    /// escape.
    fn skip_string_fast(&mut self) -> (Range<usize>, bool) {
        let start = self.pos + 1;
        let mut i = skip_plain(self.b, start, false, false);
        let mut escaped = false;
        while let Some(&c) = self.b.get(i) {
            match c {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    i = skip_plain(self.b, i + 2, false, false);
                }
                _ => i += 1,
            }
        }
        let end = i.min(self.b.len());
        self.pos = (end + 1).min(self.b.len());
        (start..end, escaped)
    }

    /// Passes over one value of checked text.
    fn skip_fast(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                None => return,
                Some(b'"') => {
                    self.skip_string_fast();
                }
                Some(b'{' | b'[') => {
                    depth += 1;
                    self.pos += 1;
                    continue;
                }
                Some(b'}' | b']') => {
                    depth = depth.saturating_sub(1);
                    self.pos += 1;
                }
                Some(b',' | b':' | b' ' | b'\t' | b'\r' | b'\n') if depth > 0 => {
                    self.pos += 1;
                    continue;
                }
                Some(_) => {
                    // A number or a literal.
                    while let Some(c) = self.peek() {
                        if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n' | b':') {
                            break;
                        }
                        self.pos += 1;
                    }
                }
            }
            if depth == 0 {
                return;
            }
        }
    }

    /// The value here, reduced to what `sels` (all of which hold for it) read of it: as
    /// `Selection::apply`, on the text.
    fn selected(&mut self, sels: &[&Selection]) -> Result<Value, JsonError> {
        let c = self.peek();
        // `[]` on a value that is not a list walks the value itself.
        let set = expand(sels, !matches!(c, Some(b'[' | b'n')));
        if set.iter().any(|s| s.is_whole()) {
            return self.value();
        }
        match c {
            Some(b'n') => self.value(),
            Some(b'{') => {
                self.pos += 1;
                let mut out = Map::new();
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        break;
                    }
                    let key = self.string_cow()?;
                    self.ws();
                    self.pos += 1; // `:`
                    self.ws();
                    let subs = Subs::member(&set, &key);
                    if subs.as_slice().is_empty() {
                        self.skip_fast();
                    } else {
                        let v = self.selected(subs.as_slice())?;
                        out.insert(key.into_owned(), v);
                    }
                    self.ws();
                    if self.peek() == Some(b',') {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                self.ws();
                self.pos += 1; // `}`
                Ok(Value::Object(out))
            }
            Some(b'[') => {
                let subs: Vec<&Selection> = set.iter().filter_map(|s| s.elements()).collect();
                if subs.is_empty() {
                    // Nothing reads into it: an empty list is just as present and unreadable.
                    self.skip_fast();
                    return Ok(Value::Array(Vec::new()));
                }
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if self.peek() == Some(b']') {
                        break;
                    }
                    items.push(self.selected(&subs)?);
                    self.ws();
                    if self.peek() == Some(b',') {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                self.ws();
                self.pos += 1; // `]`
                Ok(Value::Array(items))
            }
            // A scalar where a map was expected, or one only tested for presence.
            _ => {
                self.skip_fast();
                Ok(Value::Bool(true))
            }
        }
    }
}

impl Parser<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn expected(&self, what: &str) -> JsonError {
        match self.peek() {
            None => JsonError::at(
                self.pos,
                format!("the input ends where {what} was expected"),
            ),
            Some(_) => JsonError::at(self.pos, format!("expected {what}")),
        }
    }

    fn value(&mut self) -> Result<Value, JsonError> {
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.expected("a value")),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, JsonError> {
        if self.b[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(JsonError::at(self.pos, "expected a value"))
        }
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(JsonError::at(
                self.pos,
                format!("nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Value, JsonError> {
        self.enter()?;
        self.pos += 1;
        let mut m = Map::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Object(m));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.expected("a string key"));
            }
            let key_at = self.pos;
            let key = self.string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.expected("`:`"));
            }
            self.pos += 1;
            self.ws();
            let v = match self.value() {
                Ok(v) => v,
                Err(mut e) => {
                    if e.duplicate {
                        e.path.insert(0, key);
                    }
                    return Err(e);
                }
            };
            if m.contains_key(&key) {
                return Err(JsonError {
                    offset: key_at,
                    message: "a key appears twice in one object".into(),
                    path: vec![key],
                    duplicate: true,
                });
            }
            m.insert(key, v);
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Value::Object(m));
                }
                _ => return Err(self.expected("`,` or `}`")),
            }
        }
    }

    fn array(&mut self) -> Result<Value, JsonError> {
        self.enter()?;
        self.pos += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value()?);
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.expected("`,` or `]`")),
            }
        }
    }

    /// A number, kept as its text (JSON's grammar, checked).
    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        self.number_text()?;
        Ok(number_value(&self.s[start..self.pos]))
    }

    /// Passes over a number, checking JSON's grammar.
    fn number_text(&mut self) -> Result<(), JsonError> {
        let digits = |p: &mut Parser<'_>| {
            let from = p.pos;
            while let Some(b'0'..=b'9') = p.peek() {
                p.pos += 1;
            }
            p.pos > from
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        if self.peek() == Some(b'0') {
            self.pos += 1;
        } else if !digits(self) {
            return Err(JsonError::at(self.pos, "expected a digit"));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !digits(self) {
                return Err(JsonError::at(self.pos, "expected a digit after `.`"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(JsonError::at(self.pos, "expected a digit in the exponent"));
            }
        }
        Ok(())
    }

    fn hex4(&self, at: usize) -> Result<u32, JsonError> {
        let h = self
            .b
            .get(at..at + 4)
            .ok_or_else(|| JsonError::at(at, "the input ends inside a `\\u` escape"))?;
        let mut v = 0;
        for c in h {
            v = v * 16
                + (*c as char)
                    .to_digit(16)
                    .ok_or_else(|| JsonError::at(at, "a `\\u` escape needs four hex digits"))?;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut run = self.pos;
        self.pos = skip_plain(self.b, self.pos, true, false);
        loop {
            let Some(&c) = self.b.get(self.pos) else {
                return Err(JsonError::at(open, "unterminated string"));
            };
            match c {
                b'"' => {
                    out.push_str(&self.s[run..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(&self.s[run..self.pos]);
                    let esc = self.pos;
                    let Some(&e) = self.b.get(esc + 1) else {
                        return Err(JsonError::at(open, "unterminated string"));
                    };
                    self.pos += 2;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{C}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4(esc + 2)?;
                            self.pos = esc + 6;
                            let ch = if (0xD800..0xDC00).contains(&hi) {
                                let lo = if self.b.get(self.pos..self.pos + 2) == Some(b"\\u") {
                                    self.hex4(self.pos + 2)?
                                } else {
                                    0
                                };
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(JsonError::at(
                                        esc,
                                        "a `\\u` escape leaves a lone surrogate",
                                    ));
                                }
                                self.pos += 6;
                                char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                            } else if (0xDC00..0xE000).contains(&hi) {
                                None
                            } else {
                                char::from_u32(hi)
                            };
                            match ch {
                                Some(ch) => out.push(ch),
                                None => {
                                    return Err(JsonError::at(
                                        esc,
                                        "a `\\u` escape leaves a lone surrogate",
                                    ));
                                }
                            }
                        }
                        _ => return Err(JsonError::at(esc, "unknown escape in a string")),
                    }
                    run = self.pos;
                    self.pos = skip_plain(self.b, self.pos, true, false);
                }
                0..=0x1F => {
                    return Err(JsonError::at(
                        self.pos,
                        "a control character must be escaped in a string",
                    ));
                }
                _ => self.pos += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_kept_as_written() {
        let v = parse(
            r#"{"a": 1.5e3, "b": 123456789012345678901234567890, "c": 1e400, "d": -0, "e": 123456789012, "f": 18446744073709551615}"#,
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"a": "1.5e3", "b": "123456789012345678901234567890", "c": "1e400", "d": "-0",
                   "e": 123_456_789_012_u64, "f": 18_446_744_073_709_551_615_u64})
        );
    }

    #[test]
    fn a_scan_lists_the_members_of_object_values_as_a_pass_over_them_finds_them() {
        let line = r#"{"service": "s3", "params": {"Bucket": "b", "K\u0065y": {"x": [1, {"y": 2}]}, "E": {}}, "outcome": {"code": "E"}, "n": [ {"a": 1} ], "e": {}}"#;
        let (mut top, mut nested) = (Vec::new(), Vec::new());
        scan_object_nested(line, &mut top, &mut nested).unwrap();
        let names = |ms: &[Member]| -> Vec<(String, String)> {
            ms.iter()
                .map(|m| (m.key(line).into_owned(), m.raw(line).to_owned()))
                .collect()
        };
        assert_eq!(top.len(), 5);
        for m in &top {
            let passed: Vec<Member> = members(line, m.value.clone()).collect();
            assert_eq!(names(m.kids(&nested)), names(&passed), "{}", m.key(line));
        }
        assert_eq!(
            names(top[1].kids(&nested)),
            [
                ("Bucket".to_owned(), r#""b""#.to_owned()),
                ("Key".to_owned(), r#"{"x": [1, {"y": 2}]}"#.to_owned()),
                ("E".to_owned(), "{}".to_owned()),
            ]
        );
        assert!(top[3].kids(&nested).is_empty());
        // Without the nested list, nothing is listed for a member's value.
        scan_object(line, &mut top).unwrap();
        assert!(top[1].kids(&nested).is_empty());
        // The same errors as the full reader, at the same offsets.
        let bad = r#"{"params": {"a": {"b": 1, "b": 2}}}"#;
        let e = scan_object_nested(bad, &mut top, &mut nested).unwrap_err();
        assert_eq!((e.offset, e.path.clone()), {
            let f = parse(bad).unwrap_err();
            (f.offset, f.path)
        });
    }

    #[test]
    fn a_request_written_into_the_last_one_is_the_request_read_anew() {
        let rules = crate::spec::Rules::builtin();
        let requests = [
            (
                "s3",
                "GetObject",
                r#"{"Bucket": "a", "Key": "k/1", "Range": "bytes=0-9"}"#,
            ),
            ("s3", "GetObject", r#"{"Bucket": "bb", "Key": "k/22"}"#),
            ("s3", "HeadObject", r#"{"Key": "k/3", "Bucket": "c"}"#),
            ("s3", "GetObject", r#"{"Bucket": "d", "Key": "k/\u0034"}"#),
            ("s3", "GetObject", r#"{"Bucket": "e", "Key": "k/5"}"#),
            (
                "s3",
                "PutObject",
                r#"{"Bucket": "f", "Key": "k/6", "ACL": "private"}"#,
            ),
            ("s3", "PutObject", r#"{"Bucket": "g", "Key": "k/7"}"#),
            ("s3", "GetObject", r#"{"Bucket": "h", "Key": 8}"#),
            ("s3", "GetObject", r#"{"Bucket": "i"}"#),
            (
                "dynamodb",
                "GetItem",
                r#"{"TableName": "t", "Key": {"pk": {"S": "1"}}}"#,
            ),
            (
                "dynamodb",
                "GetItem",
                r#"{"TableName": "u", "Key": {"pk": {"S": "2"}}}"#,
            ),
            (
                "dynamodb",
                "TransactWriteItems",
                r#"{"TransactItems": [{"Put": {"TableName": "v"}}]}"#,
            ),
            ("s3", "GetObject", r#"{"Bucket": "j", "Key": "k/9"}"#),
        ];
        let mut spare = None;
        let mut written = 0;
        for (service, operation, text) in requests {
            let sel = rules.selection(service, operation);
            let range = 0..text.len();
            let fresh = parse_selected(text, range.clone(), &sel).unwrap();
            let kept = spare.clone();
            // The same with the members as a scan of a line lists them.
            let line = format!(r#"{{"params": {text}}}"#);
            let (mut top, mut nested) = (Vec::new(), Vec::new());
            scan_object_nested(&line, &mut top, &mut nested).unwrap();
            let mut spare2 = spare.clone();
            let known = Some(top[0].kids(&nested));
            let v2 = refill_selected(&line, top[0].value.clone(), known, &sel, &mut spare2);
            let v = match refill_selected(text, range, None, &sel, &mut spare) {
                Some(v) => {
                    written += 1;
                    v
                }
                None => {
                    // Left as it was when not written into.
                    assert_eq!(spare, kept, "{text}");
                    fresh.clone()
                }
            };
            assert_eq!(v, fresh, "{text}");
            assert_eq!(v2.unwrap_or(fresh), v, "{text}");
            spare = Some(v);
        }
        // Written into for the requests whose members read are those of the one before, in
        // the same order, strings read whole: `bb`, `e` and `u`.
        assert_eq!(written, 3);
    }

    #[test]
    fn duplicate_keys_are_errors_with_their_path() {
        let e = parse(r#"{"params": {"Bucket": "a", "Bucket": "b"}}"#).unwrap_err();
        assert!(e.duplicate);
        assert_eq!(e.path, vec!["params", "Bucket"]);
        assert!(parse(r#"[{"a": 1}, {"a": 2}]"#).is_ok());
    }

    #[test]
    fn strings_escapes_and_surrogates() {
        assert_eq!(parse(r#""\u00e9\ud83d\ude00\n""#).unwrap(), json!("é😀\n"));
        for bad in [
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800\u0041""#,
            "\"a\u{1}b\"",
            r#""\x""#,
            r#""abc"#,
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn grammar_and_depth() {
        for bad in [
            "", "{", "{\"a\"}", "{\"a\":}", "[1,]", "01", "1.", "-", "1e", "tru", "{} x",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).is_err());
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
        assert_eq!(
            parse(" {\"a\": [true, false, null]} ").unwrap(),
            json!({"a": [true, false, null]})
        );
    }
}
