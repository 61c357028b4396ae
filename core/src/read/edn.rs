//! A small, hand-written EDN reader for the text that Clojure's `pr-str`
//! prints (μ/log's simple-file publisher writes one such map per line), and
//! the conversion of what it reads into `serde_json::Value`.
//!
//! The reader works on the bytes of a `&str`, never panics on any input,
//! bounds its nesting depth, and tells an input that merely ends too early
//! (`EdnError::incomplete`) from one that is wrong.

use std::fmt;

use serde_json::{Map, Value};

/// How deeply forms may nest (collections, tags, discards, quotes) before
/// the reader gives up with a syntax error instead of risking the stack.
const MAX_DEPTH: usize = 256;

/// Longest non-decimal integer literal (in digits) that is converted to a
/// decimal big integer; longer ones are refused (the conversion is
/// quadratic, and nothing real prints such numbers).
const MAX_BIG_RADIX_DIGITS: usize = 4096;

/// One EDN value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Edn {
    Nil,
    Bool(bool),
    Int(i64),
    /// `3N`, or an integer too large for `i64`: its decimal digits as text
    /// (with a leading `-` when negative, no `N`).
    BigInt(String),
    Float(f64),
    /// `12.5M`: the text without the `M` (and without a leading `+`).
    Decimal(String),
    /// `1/2`, `-3/4`: the text as written (without a leading `+`).
    Ratio(String),
    Char(char),
    Str(String),
    /// The text without the leading `:` (or `::`), e.g. `mulog/event-name`.
    Keyword(String),
    Symbol(String),
    List(Vec<Edn>),
    Vector(Vec<Edn>),
    Set(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
    /// A tagged literal: the tag without `#` (`inst`, `mulog/flake`,
    /// `object`, `error`, ...) and its value. `#'foo` reads as tag `var`.
    Tagged(String, Box<Edn>),
    /// `#"..."`: the text between the quotes, backslashes kept as written.
    Regex(String),
}

/// Why a form could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EdnError {
    /// The input ended inside a form: more text may complete it.
    pub incomplete: bool,
    /// Byte offset into the input: the offending character for a syntax
    /// error, the start of the unfinished form when `incomplete`.
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for EdnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EdnError {}

fn syntax(offset: usize, message: impl Into<String>) -> EdnError {
    EdnError {
        incomplete: false,
        offset,
        message: message.into(),
    }
}

fn incomplete(offset: usize, message: impl Into<String>) -> EdnError {
    EdnError {
        incomplete: true,
        offset,
        message: message.into(),
    }
}

/// Parse one form starting at byte `start`, skipping leading whitespace,
/// commas, `;` and `#!` comments and `#_` discards.
///
/// `Ok(None)` if only whitespace and comments remain; `Ok(Some((value, end)))`
/// with `end` the byte offset just after the form. An error with
/// `incomplete == true` means the input ended inside a form (the caller may
/// append the next line and retry); otherwise it is a syntax error whose
/// `offset` points at the offending character.
pub(crate) fn parse_one(input: &str, start: usize) -> Result<Option<(Edn, usize)>, EdnError> {
    if start >= input.len() {
        return Ok(None);
    }
    if !input.is_char_boundary(start) {
        return Err(syntax(start, "start offset is not at a character boundary"));
    }
    let mut p = Parser {
        src: input,
        b: input.as_bytes(),
        pos: start,
        depth: 0,
    };
    p.skip_ws()?;
    if p.at_end() {
        return Ok(None);
    }
    let value = p.parse_at()?;
    Ok(Some((value, p.pos)))
}

/// 1-based (line, column) of byte `offset` within `input`, the column
/// counted in characters. An offset past the end is taken as the end.
pub(crate) fn line_col(input: &str, offset: usize) -> (u64, u64) {
    let bytes = input.as_bytes();
    let prefix = bytes.get(..offset.min(bytes.len())).unwrap_or(bytes);
    let line_start = match prefix.iter().rposition(|&c| c == b'\n') {
        Some(i) => i + 1,
        None => 0,
    };
    let line = prefix.iter().filter(|&&c| c == b'\n').count() as u64 + 1;
    let col = prefix
        .get(line_start..)
        .unwrap_or_default()
        .iter()
        .filter(|&&c| c & 0xC0 != 0x80)
        .count() as u64
        + 1;
    (line, col)
}

// ---------------------------------------------------------------------------
// Character classes

const WS: u8 = 1;
const TERM: u8 = 2;

/// ASCII byte classes: whitespace (Java's `isWhitespace` plus `,`) and
/// Clojure's terminating macro characters, which both end a token.
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let ws: &[u8] = b" \t\n\r\x0B\x0C\x1C\x1D\x1E\x1F,";
    let mut i = 0;
    while i < ws.len() {
        t[ws[i] as usize] = WS;
        i += 1;
    }
    let term: &[u8] = b"\";@^`~()[]{}\\";
    let mut i = 0;
    while i < term.len() {
        t[term[i] as usize] = TERM;
        i += 1;
    }
    t
};

/// Non-ASCII whitespace as Java's `Character.isWhitespace` sees it.
fn is_unicode_ws(c: char) -> bool {
    c.is_whitespace() && !matches!(c, '\u{85}' | '\u{A0}' | '\u{2007}' | '\u{202F}')
}

fn digit_value(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'a'..=b'z' => u32::from(c - b'a') + 10,
        b'A'..=b'Z' => u32::from(c - b'A') + 10,
        _ => u32::MAX,
    }
}

// ---------------------------------------------------------------------------
// The reader

struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    /// `src[a..b]`, or "" where that is not a valid slice (never the case
    /// for the offsets the reader computes: they sit on ASCII bytes or on
    /// decoded character boundaries).
    fn slice(&self, a: usize, b: usize) -> &'a str {
        self.src.get(a..b).unwrap_or_default()
    }

    fn char_at(&self, i: usize) -> Option<char> {
        self.src.get(i..)?.chars().next()
    }

    /// A readable rendering of the character at `i`, for messages.
    fn show_at(&self, i: usize) -> String {
        match self.char_at(i) {
            Some(c) => format!("{c:?}"),
            None => "end of input".to_owned(),
        }
    }

    /// Offset of the first whitespace byte (or character) at or after `i`
    /// that is not whitespace.
    fn skip_plain_ws(&self, mut i: usize) -> usize {
        while let Some(&c) = self.b.get(i) {
            if c < 0x80 {
                if CLASS[c as usize] != WS {
                    break;
                }
                i += 1;
            } else {
                match self.char_at(i) {
                    Some(ch) if is_unicode_ws(ch) => i += ch.len_utf8(),
                    _ => break,
                }
            }
        }
        i
    }

    /// End of the token that starts at `i`: the first whitespace or
    /// terminating macro character (or the end of input).
    fn token_end(&self, mut i: usize) -> usize {
        while let Some(&c) = self.b.get(i) {
            if c < 0x80 {
                if CLASS[c as usize] != 0 {
                    break;
                }
                i += 1;
            } else {
                match self.char_at(i) {
                    Some(ch) if is_unicode_ws(ch) => break,
                    Some(ch) => i += ch.len_utf8(),
                    None => i += 1,
                }
            }
        }
        i
    }

    fn skip_line(&mut self) {
        while let Some(&c) = self.b.get(self.pos) {
            if c == b'\n' || c == b'\r' {
                break;
            }
            self.pos += 1;
        }
    }

    /// Skip whitespace, commas, `;` and `#!` comments and `#_` discards.
    fn skip_ws(&mut self) -> Result<(), EdnError> {
        loop {
            self.pos = self.skip_plain_ws(self.pos);
            match self.b.get(self.pos) {
                Some(b';') => self.skip_line(),
                Some(b'#') => match self.b.get(self.pos + 1) {
                    Some(b'!') => self.skip_line(),
                    Some(b'_') => self.discard()?,
                    _ => return Ok(()),
                },
                _ => return Ok(()),
            }
        }
    }

    /// At `#_`: read the next form and drop it.
    fn discard(&mut self) -> Result<(), EdnError> {
        let at = self.pos;
        self.pos += 2;
        self.enter(at)?;
        let r = self.required_form(at, "#_ with no form to discard");
        self.depth -= 1;
        r.map(|_| ())
    }

    fn enter(&mut self, at: usize) -> Result<(), EdnError> {
        if self.depth >= MAX_DEPTH {
            return Err(syntax(
                at,
                format!("forms nested more than {MAX_DEPTH} deep"),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    /// Skip whitespace, then read a form that must be there: the end of
    /// input instead makes an incomplete error about the form at `at`.
    fn required_form(&mut self, at: usize, what: &str) -> Result<Edn, EdnError> {
        self.skip_ws()?;
        if self.at_end() {
            return Err(incomplete(at, what));
        }
        self.parse_at()
    }

    /// Read the form that starts at `self.pos` (not whitespace).
    fn parse_at(&mut self) -> Result<Edn, EdnError> {
        let start = self.pos;
        self.enter(start)?;
        let r = self.dispatch(start);
        self.depth -= 1;
        r
    }

    fn dispatch(&mut self, start: usize) -> Result<Edn, EdnError> {
        let Some(&c) = self.b.get(start) else {
            return Err(incomplete(start, "unexpected end of input"));
        };
        match c {
            b'"' => self.parse_string(start).map(Edn::Str),
            b':' => self.parse_keyword(start),
            b'\\' => self.parse_char(start),
            b'(' => {
                self.pos = start + 1;
                self.parse_seq(start, b')', "list").map(Edn::List)
            }
            b'[' => {
                self.pos = start + 1;
                self.parse_seq(start, b']', "vector").map(Edn::Vector)
            }
            b'{' => {
                self.pos = start + 1;
                self.parse_map_body(start).map(Edn::Map)
            }
            b')' | b']' | b'}' => Err(syntax(
                start,
                format!("unmatched delimiter '{}'", char::from(c)),
            )),
            b'#' => self.parse_dispatch(start),
            b'\'' => {
                self.pos = start + 1;
                let v = self.required_form(start, "quote with no form")?;
                Ok(Edn::List(vec![Edn::Symbol("quote".to_owned()), v]))
            }
            b'^' => {
                // Metadata: read and drop it, keep the form it annotates.
                self.pos = start + 1;
                self.required_form(start, "metadata with no form")?;
                self.required_form(start, "metadata with no form")
            }
            b'@' | b'`' | b'~' => Err(syntax(
                start,
                format!("unsupported reader macro '{}'", char::from(c)),
            )),
            b'0'..=b'9' => self.parse_number(start),
            b'+' | b'-' if self.b.get(start + 1).is_some_and(u8::is_ascii_digit) => {
                self.parse_number(start)
            }
            _ => self.parse_symbol(start),
        }
    }

    /// The next element of a collection opened at `open`, or `None` after
    /// consuming its closing delimiter `close`.
    fn next_in_coll(
        &mut self,
        open: usize,
        close: u8,
        what: &str,
    ) -> Result<Option<Edn>, EdnError> {
        self.skip_ws()?;
        match self.b.get(self.pos) {
            None => Err(incomplete(open, format!("unterminated {what}"))),
            Some(&c) if c == close => {
                self.pos += 1;
                Ok(None)
            }
            Some(&c @ (b')' | b']' | b'}')) => Err(syntax(
                self.pos,
                format!(
                    "unmatched delimiter '{}': expected '{}' to close the {what}",
                    char::from(c),
                    char::from(close)
                ),
            )),
            Some(_) => self.parse_at().map(Some),
        }
    }

    fn parse_seq(&mut self, open: usize, close: u8, what: &str) -> Result<Vec<Edn>, EdnError> {
        let mut items = Vec::new();
        while let Some(v) = self.next_in_coll(open, close, what)? {
            items.push(v);
        }
        Ok(items)
    }

    /// The body of a map whose `{` is at `open`, `self.pos` just after it.
    fn parse_map_body(&mut self, open: usize) -> Result<Vec<(Edn, Edn)>, EdnError> {
        let mut entries = Vec::new();
        while let Some(k) = self.next_in_coll(open, b'}', "map")? {
            let Some(v) = self.next_in_coll(open, b'}', "map")? else {
                return Err(syntax(
                    self.pos.saturating_sub(1),
                    "map literal must contain an even number of forms",
                ));
            };
            entries.push((k, v));
        }
        Ok(entries)
    }

    /// A string whose opening quote is at `start`.
    fn parse_string(&mut self, start: usize) -> Result<String, EdnError> {
        let body = start + 1;
        let rest = self.b.get(body..).unwrap_or_default();
        let Some(n) = rest.iter().position(|&c| c == b'"' || c == b'\\') else {
            return Err(incomplete(start, "unterminated string"));
        };
        let mut i = body + n;
        if self.b.get(i) == Some(&b'"') {
            self.pos = i + 1;
            return Ok(self.slice(body, i).to_owned());
        }
        // There are escapes: build the string piece by piece.
        let mut out = String::with_capacity(n + 16);
        let mut seg = body;
        loop {
            match self.b.get(i) {
                None => return Err(incomplete(start, "unterminated string")),
                Some(b'"') => {
                    out.push_str(self.slice(seg, i));
                    self.pos = i + 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(self.slice(seg, i));
                    i = self.string_escape(start, i, &mut out)?;
                    seg = i;
                }
                Some(_) => i += 1,
            }
        }
    }

    /// The escape whose backslash is at `esc`, inside the string opened at
    /// `start`: push what it means, return the offset after it.
    fn string_escape(&self, start: usize, esc: usize, out: &mut String) -> Result<usize, EdnError> {
        let Some(&e) = self.b.get(esc + 1) else {
            return Err(incomplete(start, "unterminated string"));
        };
        let simple = match e {
            b't' => Some('\t'),
            b'r' => Some('\r'),
            b'n' => Some('\n'),
            b'\\' => Some('\\'),
            b'"' => Some('"'),
            b'b' => Some('\u{8}'),
            b'f' => Some('\u{C}'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            return Ok(esc + 2);
        }
        match e {
            b'u' => {
                let hi = self.hex4(start, esc)?;
                let mut next = esc + 6;
                let c = if (0xD800..0xDC00).contains(&hi) {
                    // A UTF-16 high surrogate: pair it with a following
                    // `\uDC00`-`\uDFFF` escape when there is one.
                    if self.b.get(next) == Some(&b'\\') && self.b.get(next + 1) == Some(&b'u') {
                        let lo = self.hex4(start, next)?;
                        if (0xDC00..0xE000).contains(&lo) {
                            next += 6;
                            char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                        } else {
                            None
                        }
                    } else {
                        None
                    }
                } else {
                    char::from_u32(hi)
                };
                match c {
                    Some(c) => out.push(c),
                    None => {
                        return Err(syntax(esc, "a \\u escape leaves a lone surrogate"));
                    }
                }
                Ok(next)
            }
            b'0'..=b'7' => {
                let mut value = 0u32;
                let mut i = esc + 1;
                while i < esc + 4 {
                    match self.b.get(i) {
                        Some(&d @ b'0'..=b'7') => value = value * 8 + u32::from(d - b'0'),
                        _ => break,
                    }
                    i += 1;
                }
                if value > 0o377 {
                    return Err(syntax(esc, "octal escape must be in range [0, 377]"));
                }
                out.push(char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER));
                Ok(i)
            }
            _ => Err(syntax(
                esc,
                format!(
                    "unsupported escape character \\{}",
                    self.char_at(esc + 1).unwrap_or('?')
                ),
            )),
        }
    }

    /// The four hex digits after the `\u` at `esc`.
    fn hex4(&self, start: usize, esc: usize) -> Result<u32, EdnError> {
        let mut v = 0u32;
        for i in esc + 2..esc + 6 {
            let Some(&d) = self.b.get(i) else {
                return Err(incomplete(start, "unterminated string"));
            };
            let dv = digit_value(d);
            if dv >= 16 {
                return Err(syntax(
                    esc,
                    "invalid unicode escape: expected four hex digits",
                ));
            }
            v = v * 16 + dv;
        }
        Ok(v)
    }

    fn parse_keyword(&mut self, start: usize) -> Result<Edn, EdnError> {
        let mut i = start + 1;
        if self.b.get(i) == Some(&b':') {
            i += 1;
        }
        let end = self.token_end(i);
        self.pos = end;
        if end == i {
            if end >= self.b.len() {
                return Err(incomplete(start, "keyword with no name at end of input"));
            }
            return Err(syntax(start, "invalid keyword: no name"));
        }
        let name = self.slice(i, end);
        if name.starts_with(':')
            || name.ends_with(':')
            || name.contains("::")
            || (name.len() > 1 && name.ends_with('/'))
        {
            return Err(syntax(start, "invalid keyword"));
        }
        Ok(Edn::Keyword(name.to_owned()))
    }

    fn parse_symbol(&mut self, start: usize) -> Result<Edn, EdnError> {
        let end = self.token_end(start);
        if end == start {
            return Err(syntax(
                start,
                format!("unexpected character {}", self.show_at(start)),
            ));
        }
        self.pos = end;
        Ok(match self.slice(start, end) {
            "nil" => Edn::Nil,
            "true" => Edn::Bool(true),
            "false" => Edn::Bool(false),
            s => Edn::Symbol(s.to_owned()),
        })
    }

    fn parse_number(&mut self, start: usize) -> Result<Edn, EdnError> {
        let end = self.token_end(start);
        self.pos = end;
        let tok = self.slice(start, end);
        parse_number_token(tok).map_err(|m| syntax(start, m))
    }

    /// A character literal whose backslash is at `start`.
    fn parse_char(&mut self, start: usize) -> Result<Edn, EdnError> {
        let i = start + 1;
        let Some(first) = self.char_at(i) else {
            return Err(incomplete(start, "character literal with no character"));
        };
        let after_first = i + first.len_utf8();
        let end = self.token_end(after_first);
        self.pos = end;
        if end == after_first {
            return Ok(Edn::Char(first));
        }
        let tok = self.slice(i, end);
        let named = match tok {
            "newline" => Some('\n'),
            "space" => Some(' '),
            "tab" => Some('\t'),
            "backspace" => Some('\u{8}'),
            "formfeed" => Some('\u{C}'),
            "return" => Some('\r'),
            _ => None,
        };
        if let Some(c) = named {
            return Ok(Edn::Char(c));
        }
        if let Some(hex) = tok.strip_prefix('u') {
            if hex.len() == 4 {
                let v = u32::from_str_radix(hex, 16)
                    .map_err(|_| syntax(start, "invalid unicode character literal"))?;
                return char::from_u32(v)
                    .map(Edn::Char)
                    .ok_or_else(|| syntax(start, "invalid character constant"));
            }
        }
        if let Some(oct) = tok.strip_prefix('o') {
            if (1..=3).contains(&oct.len()) && oct.bytes().all(|d| (b'0'..=b'7').contains(&d)) {
                let v = u32::from_str_radix(oct, 8).unwrap_or(u32::MAX);
                if v <= 0o377 {
                    if let Some(c) = char::from_u32(v) {
                        return Ok(Edn::Char(c));
                    }
                }
                return Err(syntax(start, "octal escape must be in range [0, 377]"));
            }
        }
        Err(syntax(start, "unsupported character literal"))
    }

    /// A dispatch form: `#` at `start`.
    fn parse_dispatch(&mut self, start: usize) -> Result<Edn, EdnError> {
        let Some(&c) = self.b.get(start + 1) else {
            return Err(incomplete(start, "'#' at end of input"));
        };
        match c {
            b'{' => {
                self.pos = start + 2;
                self.parse_seq(start, b'}', "set").map(Edn::Set)
            }
            b'"' => self.parse_regex(start),
            b'#' => self.parse_symbolic(start),
            b':' => self.parse_namespaced_map(start),
            b'\'' => {
                self.pos = start + 2;
                let v = self.required_form(start, "#' with no var name")?;
                Ok(Edn::Tagged("var".to_owned(), Box::new(v)))
            }
            b'_' | b'!' => {
                // Not reached (whitespace skipping consumes these), but
                // correct all the same: skip it, then read what follows.
                self.pos = start;
                self.required_form(start, "#_ with no form to discard")
            }
            b'<' => Err(syntax(start, "unreadable form #<...>")),
            c if c.is_ascii_alphabetic() || c >= 0x80 => self.parse_tagged(start),
            _ => Err(syntax(
                start + 1,
                format!("no dispatch macro for {}", self.show_at(start + 1)),
            )),
        }
    }

    fn parse_tagged(&mut self, start: usize) -> Result<Edn, EdnError> {
        let ts = start + 1;
        let te = self.token_end(ts);
        if te == ts {
            return Err(syntax(
                ts,
                format!("no dispatch macro for {}", self.show_at(ts)),
            ));
        }
        let tag = self.slice(ts, te);
        self.pos = te;
        self.skip_ws()?;
        if self.at_end() {
            return Err(incomplete(start, format!("tag #{tag} has no value")));
        }
        let v = self.parse_at()?;
        Ok(Edn::Tagged(tag.to_owned(), Box::new(v)))
    }

    /// `#"..."` with `#` at `start`.
    fn parse_regex(&mut self, start: usize) -> Result<Edn, EdnError> {
        let body = start + 2;
        let mut i = body;
        loop {
            match self.b.get(i) {
                None => return Err(incomplete(start, "unterminated regex")),
                Some(b'"') => break,
                Some(b'\\') => i += 2,
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        Ok(Edn::Regex(self.slice(body, i).to_owned()))
    }

    /// `##Inf`, `##-Inf`, `##NaN` with the first `#` at `start`.
    fn parse_symbolic(&mut self, start: usize) -> Result<Edn, EdnError> {
        self.pos = start + 2;
        self.skip_ws()?;
        if self.at_end() {
            return Err(incomplete(start, "## with no symbolic value"));
        }
        let at = self.pos;
        match self.parse_at()? {
            Edn::Symbol(s) if s == "Inf" => Ok(Edn::Float(f64::INFINITY)),
            Edn::Symbol(s) if s == "-Inf" => Ok(Edn::Float(f64::NEG_INFINITY)),
            Edn::Symbol(s) if s == "NaN" => Ok(Edn::Float(f64::NAN)),
            _ => Err(syntax(at, "unknown symbolic value after ##")),
        }
    }

    /// `#:ns{...}`, `#::{...}` or `#::alias{...}` with `#` at `start`.
    fn parse_namespaced_map(&mut self, start: usize) -> Result<Edn, EdnError> {
        let mut i = start + 2;
        let auto = self.b.get(i) == Some(&b':');
        if auto {
            i += 1;
        }
        let te = self.token_end(i);
        let ns = self.slice(i, te);
        if !auto && ns.is_empty() {
            if te >= self.b.len() {
                return Err(incomplete(start, "namespaced map with no namespace"));
            }
            return Err(syntax(te, "namespaced map must specify a namespace"));
        }
        if ns.contains('/') || ns.starts_with(':') {
            return Err(syntax(
                i,
                "invalid namespace for a namespaced map".to_owned(),
            ));
        }
        let brace = self.skip_plain_ws(te);
        match self.b.get(brace) {
            None => return Err(incomplete(start, "namespaced map with no map")),
            Some(b'{') => {}
            Some(_) => return Err(syntax(brace, "namespaced map must specify a map")),
        }
        self.pos = brace + 1;
        let entries = self.parse_map_body(brace)?;
        let entries = entries
            .into_iter()
            .map(|(k, v)| (qualify_key(k, ns), v))
            .collect();
        Ok(Edn::Map(entries))
    }
}

/// A key of a namespaced map `#:ns{...}`, as Clojure reads it: keywords and
/// symbols without a namespace get `ns`, those with namespace `_` lose it,
/// all others stay as they are.
fn qualify_key(key: Edn, ns: &str) -> Edn {
    fn qualify(name: String, ns: &str) -> String {
        if let Some(rest) = name.strip_prefix("_/") {
            rest.to_owned()
        } else if ns.is_empty() || (name.contains('/') && name != "/") {
            name
        } else {
            format!("{ns}/{name}")
        }
    }
    match key {
        Edn::Keyword(k) => Edn::Keyword(qualify(k, ns)),
        Edn::Symbol(s) => Edn::Symbol(qualify(s, ns)),
        other => other,
    }
}

// ---------------------------------------------------------------------------
// Numbers

/// Read a number token the way Clojure's reader does (its integer, float
/// and ratio patterns, in that order).
fn parse_number_token(tok: &str) -> Result<Edn, String> {
    let (neg, body) = match tok.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, tok.strip_prefix('+').unwrap_or(tok)),
    };
    // Radix digits may include `N` (`36rZN`), so try the whole body first.
    let int = match int_parts(body) {
        Some(parts) => Some((parts, false)),
        None => body
            .strip_suffix('N')
            .and_then(int_parts)
            .map(|parts| (parts, true)),
    };
    if let Some((parts, big)) = int {
        let (radix, digits) = parts?;
        return int_value(neg, radix, digits, big);
    }
    if let Some(dec) = body.strip_suffix('M') {
        if is_float_text(dec) {
            let text = if neg {
                format!("-{dec}")
            } else {
                dec.to_owned()
            };
            return Ok(Edn::Decimal(text));
        }
    }
    if is_float_text(body) {
        let f: f64 = body.parse().map_err(|_| "invalid number".to_owned())?;
        return Ok(Edn::Float(if neg { -f } else { f }));
    }
    if let Some((n, d)) = body.split_once('/') {
        if is_digits(n) && is_digits(d) {
            let text = if neg {
                format!("-{body}")
            } else {
                body.to_owned()
            };
            return Ok(Edn::Ratio(text));
        }
    }
    Err("invalid number".to_owned())
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

/// `[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?`
fn is_float_text(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let from = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > from
    };
    if !digits(&mut i) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        digits(&mut i);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// Match Clojure's integer pattern (sign and `N` already removed).
/// `None`: not an integer; `Some(Err)`: looks like one but is invalid.
fn int_parts(s: &str) -> Option<Result<(u32, &str), String>> {
    let b = s.as_bytes();
    let first = *b.first()?;
    if s == "0" {
        return Some(Ok((10, s)));
    }
    if first == b'0' {
        if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            if !hex.is_empty() && hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Some(Ok((16, hex)));
            }
            return None;
        }
        let rest = s.get(1..)?;
        if is_digits(rest) {
            if rest.bytes().all(|c| c < b'8') {
                return Some(Ok((8, rest)));
            }
            return Some(Err("invalid octal number".to_owned()));
        }
        return None;
    }
    if !first.is_ascii_digit() {
        return None;
    }
    if is_digits(s) {
        return Some(Ok((10, s)));
    }
    // [1-9][0-9]?[rR][0-9A-Za-z]+
    let r_at = b.iter().position(|&c| c == b'r' || c == b'R')?;
    let (radix_text, digits) = (s.get(..r_at)?, s.get(r_at + 1..)?);
    if !(1..=2).contains(&radix_text.len())
        || !is_digits(radix_text)
        || digits.is_empty()
        || !digits.bytes().all(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    let radix: u32 = radix_text.parse().ok()?;
    if !(2..=36).contains(&radix) {
        return Some(Err(format!("radix {radix} out of range")));
    }
    if digits.bytes().any(|c| digit_value(c) >= radix) {
        return Some(Err(format!("invalid digit for radix {radix}")));
    }
    Some(Ok((radix, digits)))
}

fn int_value(neg: bool, radix: u32, digits: &str, big: bool) -> Result<Edn, String> {
    let mut v: u64 = 0;
    let mut overflow = false;
    for c in digits.bytes() {
        match v
            .checked_mul(u64::from(radix))
            .and_then(|x| x.checked_add(u64::from(digit_value(c))))
        {
            Some(x) => v = x,
            None => {
                overflow = true;
                break;
            }
        }
    }
    if !overflow && !big {
        let small = if neg {
            0i64.checked_sub_unsigned(v)
        } else {
            i64::try_from(v).ok()
        };
        if let Some(i) = small {
            return Ok(Edn::Int(i));
        }
    }
    let magnitude = if !overflow {
        v.to_string()
    } else if radix == 10 {
        match digits.trim_start_matches('0') {
            "" => "0".to_owned(),
            d => d.to_owned(),
        }
    } else {
        radix_to_decimal(radix, digits)?
    };
    Ok(Edn::BigInt(if neg && magnitude != "0" {
        format!("-{magnitude}")
    } else {
        magnitude
    }))
}

/// Decimal text of a big non-negative integer written in `radix`.
fn radix_to_decimal(radix: u32, digits: &str) -> Result<String, String> {
    const BASE: u64 = 1_000_000_000;
    if digits.len() > MAX_BIG_RADIX_DIGITS {
        return Err("integer literal too long".to_owned());
    }
    // Little-endian limbs in base 10^9.
    let mut limbs: Vec<u32> = Vec::new();
    for c in digits.bytes() {
        let mut carry = u64::from(digit_value(c));
        for limb in &mut limbs {
            let x = u64::from(*limb) * u64::from(radix) + carry;
            *limb = (x % BASE) as u32;
            carry = x / BASE;
        }
        while carry > 0 {
            limbs.push((carry % BASE) as u32);
            carry /= BASE;
        }
    }
    let mut out = String::new();
    let mut it = limbs.iter().rev();
    match it.next() {
        None => out.push('0'),
        Some(top) => out.push_str(&top.to_string()),
    }
    for limb in it {
        out.push_str(&format!("{limb:09}"));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Conversion and printing

fn float_text(f: f64) -> String {
    if f.is_nan() {
        "##NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "##Inf" } else { "##-Inf" }.to_owned()
    } else {
        format!("{f:?}")
    }
}

impl Edn {
    /// A JSON rendering: keywords and symbols become their text, tagged literals their value,
    /// collections arrays, maps objects (keys as text); integers that fit 64 bits numbers,
    /// other numbers their text (big integers with every digit, floats as Clojure prints them,
    /// decimals and ratios as written). A key twice in one map is an error, as in Clojure's reader: `Err` holds the
    /// path of keys to it.
    pub(crate) fn into_json(self) -> Result<Value, Vec<String>> {
        Ok(match self {
            Edn::Nil => Value::Null,
            Edn::Bool(b) => Value::Bool(b),
            Edn::Int(i) => Value::from(i),
            Edn::BigInt(s) | Edn::Decimal(s) => Value::String(s),
            Edn::Float(f) => Value::String(float_text(f)),
            Edn::Ratio(s) | Edn::Str(s) | Edn::Keyword(s) | Edn::Symbol(s) | Edn::Regex(s) => {
                Value::String(s)
            }
            Edn::Char(c) => Value::String(c.to_string()),
            Edn::List(items) | Edn::Vector(items) | Edn::Set(items) => Value::Array(
                items
                    .into_iter()
                    .map(Edn::into_json)
                    .collect::<Result<_, _>>()?,
            ),
            Edn::Map(entries) => {
                let mut m = Map::new();
                for (k, v) in entries {
                    let key = k.into_key();
                    if m.contains_key(&key) {
                        return Err(vec![key]);
                    }
                    let v = match v.into_json() {
                        Ok(v) => v,
                        Err(mut path) => {
                            path.insert(0, key);
                            return Err(path);
                        }
                    };
                    m.insert(key, v);
                }
                Value::Object(m)
            }
            Edn::Tagged(_, v) => v.into_json()?,
        })
    }

    /// The text of a map key in JSON.
    pub(crate) fn into_key(self) -> String {
        match self {
            Edn::Keyword(s) | Edn::Str(s) => s,
            other => other.to_string(),
        }
    }

    /// What kind of value this is, for messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Edn::Nil => "nil",
            Edn::Bool(_) => "boolean",
            Edn::Int(_) => "integer",
            Edn::BigInt(_) => "big integer",
            Edn::Float(_) => "float",
            Edn::Decimal(_) => "decimal",
            Edn::Ratio(_) => "ratio",
            Edn::Char(_) => "character",
            Edn::Str(_) => "string",
            Edn::Keyword(_) => "keyword",
            Edn::Symbol(_) => "symbol",
            Edn::List(_) => "list",
            Edn::Vector(_) => "vector",
            Edn::Set(_) => "set",
            Edn::Map(_) => "map",
            Edn::Tagged(..) => "tagged literal",
            Edn::Regex(_) => "regex",
        }
    }
}

fn write_seq(f: &mut fmt::Formatter<'_>, open: &str, items: &[Edn], close: &str) -> fmt::Result {
    f.write_str(open)?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        write!(f, "{item}")?;
    }
    f.write_str(close)
}

/// Compact EDN text, close to what `pr-str` prints.
impl fmt::Display for Edn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edn::Nil => f.write_str("nil"),
            Edn::Bool(b) => write!(f, "{b}"),
            Edn::Int(i) => write!(f, "{i}"),
            Edn::BigInt(s) => write!(f, "{s}N"),
            Edn::Float(x) if x.is_nan() => f.write_str("##NaN"),
            Edn::Float(x) if x.is_infinite() => {
                f.write_str(if *x > 0.0 { "##Inf" } else { "##-Inf" })
            }
            Edn::Float(x) => write!(f, "{x:?}"),
            Edn::Decimal(s) => write!(f, "{s}M"),
            Edn::Ratio(s) | Edn::Symbol(s) => f.write_str(s),
            Edn::Char(c) => match c {
                '\n' => f.write_str("\\newline"),
                ' ' => f.write_str("\\space"),
                '\t' => f.write_str("\\tab"),
                '\r' => f.write_str("\\return"),
                '\u{8}' => f.write_str("\\backspace"),
                '\u{C}' => f.write_str("\\formfeed"),
                c => write!(f, "\\{c}"),
            },
            Edn::Str(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\t' => f.write_str("\\t")?,
                        '\r' => f.write_str("\\r")?,
                        '\u{8}' => f.write_str("\\b")?,
                        '\u{C}' => f.write_str("\\f")?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
            Edn::Keyword(s) => write!(f, ":{s}"),
            Edn::List(items) => write_seq(f, "(", items, ")"),
            Edn::Vector(items) => write_seq(f, "[", items, "]"),
            Edn::Set(items) => write_seq(f, "#{", items, "}"),
            Edn::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} {v}")?;
                }
                f.write_str("}")
            }
            Edn::Tagged(tag, v) => match **v {
                Edn::Vector(_) => write!(f, "#{tag}{v}"),
                _ => write!(f, "#{tag} {v}"),
            },
            Edn::Regex(s) => write!(f, "#\"{s}\""),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const MULOG_LINE: &str = r#"{:mulog/event-name :aws/request, :mulog/timestamp 1688907460929, :mulog/trace-id #mulog/flake "4r-oNlJf6rHAs7mGiLb2p0aroteHz5OR", :mulog/root-trace #mulog/flake "4r-oNlJf6rHAs7mGiLb2p0aroteHz5OR", :mulog/duration 109400167, :mulog/namespace "user", :mulog/outcome :ok, :api :s3, :operation :GetObject, :request {:Bucket "redefine-test", :Key "some-object.dat"}}"#;

    const ERROR_LINES: &str = "{:mulog/event-name :aws/request, :mulog/outcome :error, :api :dynamodb, :operation :GetItem, :request {:TableName \"t\"}, :exception #error {\n :cause \"boom\"\n :data {:a 1}\n :via\n [{:type clojure.lang.ExceptionInfo\n   :message \"boom\"\n   :data {:a 1}\n   :at [user$eval2 invokeStatic \"NO_SOURCE_FILE\" 1]}]\n :trace\n [[user$eval2 invokeStatic \"NO_SOURCE_FILE\" 1]\n  [clojure.lang.Compiler eval \"Compiler.java\" 7194]]}}";

    fn one(s: &str) -> Edn {
        match parse_one(s, 0) {
            Ok(Some((v, end))) => {
                assert!(
                    matches!(parse_one(s, end), Ok(None)),
                    "trailing input after {s:?}"
                );
                v
            }
            other => panic!("{s:?}: {other:?}"),
        }
    }

    fn err(s: &str) -> EdnError {
        match parse_one(s, 0) {
            Err(e) => e,
            other => panic!("{s:?} should fail, got {other:?}"),
        }
    }

    fn syntax_at(s: &str, offset: usize) {
        let e = err(s);
        assert!(!e.incomplete, "{s:?} should be a syntax error: {e:?}");
        assert_eq!(e.offset, offset, "{s:?}: {e:?}");
    }

    fn incomplete_at(s: &str, offset: usize) {
        let e = err(s);
        assert!(e.incomplete, "{s:?} should be incomplete: {e:?}");
        assert_eq!(e.offset, offset, "{s:?}: {e:?}");
    }

    fn kw(s: &str) -> Edn {
        Edn::Keyword(s.to_owned())
    }
    fn sym(s: &str) -> Edn {
        Edn::Symbol(s.to_owned())
    }
    fn st(s: &str) -> Edn {
        Edn::Str(s.to_owned())
    }
    fn tagged(t: &str, v: Edn) -> Edn {
        Edn::Tagged(t.to_owned(), Box::new(v))
    }

    #[test]
    fn mulog_line() {
        let v = one(MULOG_LINE);
        let Edn::Map(entries) = &v else {
            panic!("not a map: {v:?}")
        };
        assert_eq!(entries.len(), 10);
        assert_eq!(entries[0], (kw("mulog/event-name"), kw("aws/request")));
        assert_eq!(
            entries[1],
            (kw("mulog/timestamp"), Edn::Int(1_688_907_460_929))
        );
        assert_eq!(
            entries[2],
            (
                kw("mulog/trace-id"),
                tagged("mulog/flake", st("4r-oNlJf6rHAs7mGiLb2p0aroteHz5OR"))
            )
        );
        assert_eq!(v.type_name(), "map");
        assert_eq!(
            v.into_json().unwrap(),
            json!({
                "mulog/event-name": "aws/request",
                "mulog/timestamp": 1_688_907_460_929_i64,
                "mulog/trace-id": "4r-oNlJf6rHAs7mGiLb2p0aroteHz5OR",
                "mulog/root-trace": "4r-oNlJf6rHAs7mGiLb2p0aroteHz5OR",
                "mulog/duration": 109_400_167,
                "mulog/namespace": "user",
                "mulog/outcome": "ok",
                "api": "s3",
                "operation": "GetObject",
                "request": {"Bucket": "redefine-test", "Key": "some-object.dat"}
            })
        );
    }

    #[test]
    fn mulog_line_with_parent_trace_nil_and_trailing_space() {
        let line = MULOG_LINE.replacen(
            ":mulog/duration",
            ":mulog/parent-trace nil, :mulog/duration",
            1,
        ) + "  \r\n";
        let (v, end) = parse_one(&line, 0).unwrap().unwrap();
        assert_eq!(end, line.len() - 4);
        assert!(matches!(parse_one(&line, end), Ok(None)));
        let j = v.into_json().unwrap();
        assert_eq!(j["mulog/parent-trace"], Value::Null);
        assert_eq!(j["request"]["Key"], "some-object.dat");
    }

    #[test]
    fn error_exception_over_several_lines() {
        let lines: Vec<&str> = ERROR_LINES.split('\n').collect();
        let mut acc = String::new();
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                acc.push('\n');
            }
            acc.push_str(line);
            let r = parse_one(&acc, 0);
            if i + 1 < lines.len() {
                let e = r.unwrap_err();
                assert!(e.incomplete, "line {i}: {e:?}");
            } else {
                let (v, end) = r.unwrap().unwrap();
                assert_eq!(end, acc.len());
                let j = v.into_json().unwrap();
                assert_eq!(j["exception"]["cause"], "boom");
                assert_eq!(
                    j["exception"]["via"][0]["type"],
                    "clojure.lang.ExceptionInfo"
                );
                assert_eq!(
                    j["exception"]["via"][0]["at"],
                    json!(["user$eval2", "invokeStatic", "NO_SOURCE_FILE", 1])
                );
                assert_eq!(
                    j["exception"]["trace"][1],
                    json!(["clojure.lang.Compiler", "eval", "Compiler.java", 7194])
                );
            }
        }
        let first = parse_one(lines[0], 0).unwrap_err();
        // The innermost unfinished form is reported: the #error map.
        assert_eq!(first.offset, lines[0].find("#error {").unwrap() + 7);
    }

    #[test]
    fn error_on_one_line() {
        let v = one(
            r#"#error {:cause "x" :via [{:type clojure.lang.ExceptionInfo :message "x"}] :trace [[clojure.core$eval 1 "x.clj" 2]]}"#,
        );
        let Edn::Tagged(tag, body) = &v else {
            panic!("{v:?}")
        };
        assert_eq!(tag, "error");
        assert_eq!(body.type_name(), "map");
        assert_eq!(
            v.into_json().unwrap(),
            json!({"cause": "x", "via": [{"type": "clojure.lang.ExceptionInfo", "message": "x"}],
                   "trace": [["clojure.core$eval", 1, "x.clj", 2]]})
        );
    }

    #[test]
    fn objects() {
        let v = one(r#"#object[java.lang.Thread 0x6d3af739 "Thread[main,5,main]"]"#);
        assert_eq!(
            v,
            tagged(
                "object",
                Edn::Vector(vec![
                    sym("java.lang.Thread"),
                    Edn::Int(0x6d3a_f739),
                    st("Thread[main,5,main]")
                ])
            )
        );
        assert_eq!(
            v.to_string(),
            r#"#object[java.lang.Thread 1832580921 "Thread[main,5,main]"]"#
        );
        assert_eq!(
            v.into_json().unwrap(),
            json!(["java.lang.Thread", 1_832_580_921, "Thread[main,5,main]"])
        );
        let v = one("{:client #object[com.foo.Bar$Baz 0x1 {:status :ready}]}");
        assert_eq!(
            v.into_json().unwrap(),
            json!({"client": ["com.foo.Bar$Baz", 1, {"status": "ready"}]})
        );
    }

    #[test]
    fn string_map_keys() {
        let v = one(
            r#"{:api :dynamodb, :request {:RequestItems {"my-table" {:Keys [{:id {:S "1"}} {:id {:S "2"}}]}}}}"#,
        );
        assert_eq!(
            v.into_json().unwrap(),
            json!({"api": "dynamodb", "request": {"RequestItems": {"my-table": {"Keys": [
                {"id": {"S": "1"}}, {"id": {"S": "2"}}]}}}})
        );
    }

    #[test]
    fn scalars() {
        let cases: Vec<(&str, Edn)> = vec![
            ("nil", Edn::Nil),
            ("true", Edn::Bool(true)),
            ("false", Edn::Bool(false)),
            ("foo", sym("foo")),
            ("java.lang.Thread", sym("java.lang.Thread")),
            (
                "clojure.lang.ExceptionInfo",
                sym("clojure.lang.ExceptionInfo"),
            ),
            ("/", sym("/")),
            ("ns/name", sym("ns/name")),
            ("a->b", sym("a->b")),
            ("+", sym("+")),
            ("-", sym("-")),
            ("...", sym("...")),
            ("-a", sym("-a")),
            ("nil?", sym("nil?")),
            ("a#b'c", sym("a#b'c")),
            ("ünï", sym("ünï")),
            (":a", kw("a")),
            (":ns/name", kw("ns/name")),
            (":a.b/c-d?", kw("a.b/c-d?")),
            ("::auto", kw("auto")),
            (":Bucket", kw("Bucket")),
            (":a:b", kw("a:b")),
            (":1", kw("1")),
            (r#""""#, st("")),
            (r#""plain text""#, st("plain text")),
            ("\"multi\nline\"", st("multi\nline")),
            (r#""é ☃ 😀""#, st("é ☃ 😀")),
            (
                r#""\" \\ \n \t \r \b \f""#,
                st("\" \\ \n \t \r \u{8} \u{c}"),
            ),
            (r#""\u00e9\u2603""#, st("é☃")),
            (r#""\uD83D\uDE00""#, st("😀")),
            (r#""\101\60\0\377x""#, st("A0\u{0}\u{FF}x")),
            (r#""\1234""#, st("S4")),
            (r"\a", Edn::Char('a')),
            (r"\A", Edn::Char('A')),
            (r"\newline", Edn::Char('\n')),
            (r"\space", Edn::Char(' ')),
            (r"\tab", Edn::Char('\t')),
            (r"\return", Edn::Char('\r')),
            (r"\backspace", Edn::Char('\u{8}')),
            (r"\formfeed", Edn::Char('\u{c}')),
            (r"\u00e9", Edn::Char('é')),
            (r"\o101", Edn::Char('A')),
            (r"\o7", Edn::Char('\u{7}')),
            (r"\u", Edn::Char('u')),
            (r"\o", Edn::Char('o')),
            (r"\(", Edn::Char('(')),
            (r"\)", Edn::Char(')')),
            (r#"\""#, Edn::Char('"')),
            (r"\\", Edn::Char('\\')),
            (r"\,", Edn::Char(',')),
            (r"\é", Edn::Char('é')),
            (r"\😀", Edn::Char('😀')),
            (r#"#"regex \d+""#, Edn::Regex(r"regex \d+".to_owned())),
            (r#"#"a\"b""#, Edn::Regex(r#"a\"b"#.to_owned())),
            (r#"#"\\""#, Edn::Regex(r"\\".to_owned())),
            (
                r#"#inst "2023-07-09T12:57:40.929-00:00""#,
                tagged("inst", st("2023-07-09T12:57:40.929-00:00")),
            ),
            (
                r#"#uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6""#,
                tagged("uuid", st("f81d4fae-7dec-11d0-a765-00a0c91e6bf6")),
            ),
            (
                "#my.ns/tag [1]",
                tagged("my.ns/tag", Edn::Vector(vec![Edn::Int(1)])),
            ),
            ("#a #b 1", tagged("a", tagged("b", Edn::Int(1)))),
            ("#'user/foo", tagged("var", sym("user/foo"))),
            ("'x", Edn::List(vec![sym("quote"), sym("x")])),
            ("^:private x", sym("x")),
            ("^{:a 1} [x]", Edn::Vector(vec![sym("x")])),
        ];
        for (src, want) in cases {
            assert_eq!(one(src), want, "{src:?}");
        }
    }

    #[test]
    fn numbers() {
        let big = |s: &str| Edn::BigInt(s.to_owned());
        let cases: Vec<(&str, Edn)> = vec![
            ("0", Edn::Int(0)),
            ("-0", Edn::Int(0)),
            ("1", Edn::Int(1)),
            ("-1", Edn::Int(-1)),
            ("+1", Edn::Int(1)),
            ("1688907460929", Edn::Int(1_688_907_460_929)),
            ("9223372036854775807", Edn::Int(i64::MAX)),
            ("-9223372036854775808", Edn::Int(i64::MIN)),
            ("9223372036854775808", big("9223372036854775808")),
            ("-9223372036854775809", big("-9223372036854775809")),
            (
                "123456789012345678901234567890",
                big("123456789012345678901234567890"),
            ),
            ("3N", big("3")),
            ("-3N", big("-3")),
            ("+3N", big("3")),
            ("0N", big("0")),
            ("-0N", big("0")),
            ("0x6d3af739", Edn::Int(0x6d3a_f739)),
            ("0X1F", Edn::Int(31)),
            ("-0x10", Edn::Int(-16)),
            ("0x10N", big("16")),
            ("0xFFFFFFFFFFFFFFFFFFFF", big("1208925819614629174706175")),
            ("2r1010", Edn::Int(10)),
            ("36rZZ", Edn::Int(1295)),
            ("36rZN", Edn::Int(35 * 36 + 23)),
            ("36rffN", Edn::Int((15 * 36 + 15) * 36 + 23)),
            ("07", Edn::Int(7)),
            ("-017", Edn::Int(-15)),
            ("1.5", Edn::Float(1.5)),
            ("-1.5e-3", Edn::Float(-1.5e-3)),
            ("1E10", Edn::Float(1e10)),
            ("1.", Edn::Float(1.0)),
            ("1e+2", Edn::Float(100.0)),
            ("08.5", Edn::Float(8.5)),
            ("1e400", Edn::Float(f64::INFINITY)),
            ("12.5M", Edn::Decimal("12.5".to_owned())),
            ("-12.5M", Edn::Decimal("-12.5".to_owned())),
            ("+1M", Edn::Decimal("1".to_owned())),
            ("08M", Edn::Decimal("08".to_owned())),
            ("1/2", Edn::Ratio("1/2".to_owned())),
            ("-3/4", Edn::Ratio("-3/4".to_owned())),
            ("+3/4", Edn::Ratio("3/4".to_owned())),
            ("##Inf", Edn::Float(f64::INFINITY)),
            ("##-Inf", Edn::Float(f64::NEG_INFINITY)),
        ];
        for (src, want) in cases {
            assert_eq!(one(src), want, "{src:?}");
        }
        assert!(matches!(one("##NaN"), Edn::Float(f) if f.is_nan()));
        assert!(matches!(one("-0.0"), Edn::Float(f) if f == 0.0 && f.is_sign_negative()));
        for bad in [
            "08", "09N", "1a", "1.5N", "0x", "0xG", "1e", "1e5N", "2r102", "16rffN", "37r1", "1r0",
            "1/", "1/2/3", "1/a", "1.2.3", "-1x", "0b101", "1..2",
        ] {
            let e = err(bad);
            assert!(!e.incomplete && e.offset == 0, "{bad:?}: {e:?}");
            // Messages never quote the text: it may be a payload.
            assert!(!e.message.contains(bad), "{bad:?}: {e:?}");
        }
        // A huge literal in another radix is refused, not ground through.
        let huge = format!("0x{}", "f".repeat(MAX_BIG_RADIX_DIGITS + 1));
        assert!(!err(&huge).incomplete);
        let long_decimal = format!("-{}", "9".repeat(10_000));
        assert_eq!(one(&long_decimal), Edn::BigInt(long_decimal.clone()));
    }

    #[test]
    fn collections() {
        assert_eq!(one("()"), Edn::List(vec![]));
        assert_eq!(one("[ ]"), Edn::Vector(vec![]));
        assert_eq!(one("{}"), Edn::Map(vec![]));
        assert_eq!(one("#{}"), Edn::Set(vec![]));
        assert_eq!(
            one("(1 [2 #{3 :a}] {\"k\" (nil)})"),
            Edn::List(vec![
                Edn::Int(1),
                Edn::Vector(vec![Edn::Int(2), Edn::Set(vec![Edn::Int(3), kw("a")])]),
                Edn::Map(vec![(st("k"), Edn::List(vec![Edn::Nil]))]),
            ])
        );
        assert_eq!(
            one("[a,b,,c]"),
            Edn::Vector(vec![sym("a"), sym("b"), sym("c")])
        );
        assert_eq!(
            one("[1\"a\":b\\c[]]"),
            Edn::Vector(vec![
                Edn::Int(1),
                st("a"),
                kw("b"),
                Edn::Char('c'),
                Edn::Vector(vec![])
            ])
        );
    }

    #[test]
    fn namespaced_maps() {
        assert_eq!(
            one("#:ns{:a 1, :b/c 2, :_/d 3, e 4, \"s\" 5}"),
            Edn::Map(vec![
                (kw("ns/a"), Edn::Int(1)),
                (kw("b/c"), Edn::Int(2)),
                (kw("d"), Edn::Int(3)),
                (sym("ns/e"), Edn::Int(4)),
                (st("s"), Edn::Int(5)),
            ])
        );
        assert_eq!(
            one("#:a.b {:c 1}"),
            Edn::Map(vec![(kw("a.b/c"), Edn::Int(1))])
        );
        assert_eq!(
            one("#::{:a 1 :_/b 2 :x/y 3}"),
            Edn::Map(vec![
                (kw("a"), Edn::Int(1)),
                (kw("b"), Edn::Int(2)),
                (kw("x/y"), Edn::Int(3))
            ])
        );
        assert_eq!(
            one("#::al{:a 1}"),
            Edn::Map(vec![(kw("al/a"), Edn::Int(1))])
        );
        syntax_at("#:{:a 1}", 2);
        syntax_at("#:ns [1]", 5);
        syntax_at("#:a/b{}", 2);
        syntax_at("#:ns{:a}", 7);
        incomplete_at("#:ns", 0);
        incomplete_at("#:ns ", 0);
        incomplete_at("#:", 0);
        incomplete_at("#:ns{:a 1", 4);
    }

    #[test]
    fn whitespace_comments_discards() {
        assert_eq!(one(" ,\t\r\n; comment\n  :a ; trailing"), kw("a"));
        assert_eq!(one("#_ 1 2"), Edn::Int(2));
        assert_eq!(one("#_#_ 1 2 3"), Edn::Int(3));
        assert_eq!(one("#_{:a [1 2]} #_ #inst \"x\" :b"), kw("b"));
        assert_eq!(
            one("[1 #_2 3 #_ 4]"),
            Edn::Vector(vec![Edn::Int(1), Edn::Int(3)])
        );
        assert_eq!(
            one("{:a #_:x 1 #_ ; c\n :y}"),
            Edn::Map(vec![(kw("a"), Edn::Int(1))])
        );
        assert_eq!(one("#!shebang\n1"), Edn::Int(1));
        assert_eq!(one("\u{2003}1\u{3000}"), Edn::Int(1));
        assert_eq!(one("[a\u{2028}b]"), Edn::Vector(vec![sym("a"), sym("b")]));
        assert_eq!(one("\u{A0}"), sym("\u{A0}"));
        for empty in ["", "   ", " , ;; x", "#_ 1", "#_ [1 2] ; c", "#!x"] {
            assert!(matches!(parse_one(empty, 0), Ok(None)), "{empty:?}");
        }
        incomplete_at("#_", 0);
        incomplete_at(" #_ ; c", 1);
        incomplete_at("#_ #_ 1", 0);
        syntax_at("[#_]", 3);
    }

    #[test]
    fn several_forms_and_offsets() {
        let src = "  :a [1 2]\n\"s\" x";
        let mut at = 0;
        let mut got = vec![];
        while let Some((v, end)) = parse_one(src, at).unwrap() {
            got.push((v, end));
            at = end;
        }
        assert_eq!(
            got,
            vec![
                (kw("a"), 4),
                (Edn::Vector(vec![Edn::Int(1), Edn::Int(2)]), 10),
                (st("s"), 14),
                (sym("x"), 16)
            ]
        );
        assert!(matches!(parse_one(src, 99), Ok(None)));
        let e = parse_one("é", 1).unwrap_err();
        assert!(!e.incomplete && e.offset == 1);
    }

    #[test]
    fn incomplete_inputs() {
        for (src, offset) in [
            ("\"abc", 0),
            ("\"abc\\", 0),
            ("\"a\\u12", 0),
            ("\"a\\uD83D\\u", 0),
            ("{:a 1", 0),
            ("{:a", 0),
            ("{", 0),
            ("[1 2", 0),
            ("(1", 0),
            ("#{1", 0),
            ("[1 {:a \"x", 7),
            ("[1 {:a (", 7),
            ("#inst", 0),
            ("#inst ", 0),
            ("[#mulog/flake ", 1),
            ("#object[java.lang.Thread 0x1", 7),
            ("#error {:cause", 7),
            ("#", 0),
            ("##", 0),
            ("#\"abc", 0),
            ("#\"abc\\", 0),
            ("\\", 0),
            (":", 0),
            ("::", 0),
            ("'", 0),
            ("#'", 0),
            ("^:meta", 0),
            ("{:a ; comment", 0),
            (MULOG_LINE.strip_suffix('}').unwrap(), 0),
        ] {
            incomplete_at(src, offset);
        }
    }

    #[test]
    fn syntax_errors() {
        for (src, offset) in [
            ("{:a 1]", 5),
            ("[1 2)", 4),
            ("(1 2}", 4),
            ("#{1 2]", 5),
            (")", 0),
            ("  }", 2),
            ("]", 0),
            ("{:a}", 3),
            ("{:a 1 :b}", 8),
            ("{:a 1 :b #_ 2}", 13),
            ("#(inc %)", 1),
            ("#?(:clj 1)", 1),
            ("#=(+ 1 2)", 1),
            ("#1 x", 1),
            ("# x", 1),
            ("#<Thread x>", 0),
            ("##Foo", 2),
            ("[1 ##[1]]", 5),
            ("\"a\\qb\"", 2),
            ("\"ab\\8\"", 3),
            ("\"\\u12G4\"", 1),
            ("\"\\400\"", 1),
            ("\\abc", 0),
            ("\\uD800", 0),
            ("\\u00G0", 0),
            ("\\o400", 0),
            ("\\o1234", 0),
            ("\\o8", 0),
            (": a", 0),
            (":::a", 0),
            (":a:", 0),
            (":a/", 0),
            ("@x", 0),
            ("`x", 0),
            ("~x", 0),
            ("[1 @x]", 3),
            ("{:k 08}", 4),
            ("[\"é\" ) ]", 6),
        ] {
            syntax_at(src, offset);
        }
        // "## Inf" is accepted by Clojure (it skips whitespace after ##).
        assert!(matches!(parse_one("## Inf", 0), Ok(Some((Edn::Float(f), 6))) if f.is_infinite()));
    }

    #[test]
    fn lone_surrogates_are_errors() {
        for src in [r#""\uD83Dx""#, r#""\uDE00""#, r#""\uD83D\u0041""#] {
            assert!(err(src).message.contains("lone surrogate"), "{src}");
        }
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            err("{:a 1]").message,
            "unmatched delimiter ']': expected '}' to close the map"
        );
        assert_eq!(
            err("{:a}").message,
            "map literal must contain an even number of forms"
        );
        assert_eq!(err("\"abc").message, "unterminated string");
        assert_eq!(err("#inst").message, "tag #inst has no value");
        assert_eq!(err("08").message, "invalid octal number");
        assert_eq!(err(":a::b").message, "invalid keyword");
        assert_eq!(err("##secret").message, "unknown symbolic value after ##");
        assert_eq!(err("# x").message, "no dispatch macro for ' '");
        assert_eq!(err("# x").to_string(), "no dispatch macro for ' '");
    }

    #[test]
    fn depth_limit() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_one(&ok, 0).unwrap().is_some());
        let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        syntax_at(&too_deep, MAX_DEPTH);
        for deep in [
            "[".repeat(1_000_000),
            "{:a ".repeat(100_000),
            "#_".repeat(100_000),
            "#a ".repeat(100_000),
            "'".repeat(100_000),
            "^x ".repeat(100_000),
            "#:a{:b ".repeat(100_000),
        ] {
            let e = err(&deep);
            assert!(!e.incomplete && e.message.contains("nested"), "{e:?}");
        }
    }

    #[test]
    fn json_conversion() {
        let v = one(concat!(
            "{:int -5 :big 9223372036854775808 :bigger 99999999999999999999 :neg-big -9223372036854775809 :n 3N ",
            ":f 1.5 :inf ##Inf :ninf ##-Inf :nan ##NaN :dec 12.5M :hugedec 1e999M :ratio 1/2 :char \\x ",
            ":sym foo/bar :set #{1} :list (1 2) :re #\"a+\" :inst #inst \"2023-01-01\" :str \"s\"}"
        ));
        assert_eq!(
            v.into_json().unwrap(),
            json!({
                "int": -5, "big": "9223372036854775808", "bigger": "99999999999999999999",
                "neg-big": "-9223372036854775809", "n": "3", "f": "1.5", "inf": "##Inf", "ninf": "##-Inf",
                "nan": "##NaN", "dec": "12.5", "hugedec": "1e999", "ratio": "1/2", "char": "x",
                "sym": "foo/bar", "set": [1], "list": [1, 2], "re": "a+", "inst": "2023-01-01", "str": "s"
            })
        );
        // Keys: keyword text, strings as they are, anything else printed.
        let v = one(
            r#"{:a 1, 1 3, nil 4, [1 "x" \y] 5, {:k :v} 6, #t [1] 7, 2.0 8, sym 9, 3N 10, 1.5M 11, #{} 12, (a) 13, #"r" 14, \space 15, "q\"\n" 16, ##Inf 17}"#,
        );
        assert_eq!(
            v.into_json().unwrap(),
            json!({"a": 1, "1": 3, "nil": 4, "[1 \"x\" \\y]": 5, "{:k :v}": 6, "#t[1]": 7,
                   "2.0": 8, "sym": 9, "3N": 10, "1.5M": 11, "#{}": 12, "(a)": 13, "#\"r\"": 14,
                   "\\space": 15, "q\"\n": 16, "##Inf": 17})
        );
        // A key twice in one map (a keyword and a string of the same text are the same JSON
        // key) is an error, with the path to it, as Clojure's reader makes it one.
        assert_eq!(
            one(r#"{:request {:Bucket "a", "Bucket" "b"}}"#).into_json(),
            Err(vec!["request".to_owned(), "Bucket".to_owned()])
        );
    }

    #[test]
    fn printer_and_type_names() {
        let src = r#"{:a [1 -2.5 "s\"\\\n\t" \a \newline nil true], b #{(c)}, #inst "x" 1/2, ##-Inf 3N, #"\d" 4.5M, #{} ()}"#;
        let v = one(src);
        assert_eq!(v.to_string(), src);
        assert_eq!(one(&v.to_string()), v);
        let names: Vec<&str> = [
            "nil", "true", "1", "1N", "1.0", "1M", "1/2", "\\a", "\"s\"", ":k", "s", "()", "[]",
            "#{}", "{}", "#t 1", "#\"r\"",
        ]
        .iter()
        .map(|s| one(s).type_name())
        .collect();
        assert_eq!(
            names,
            [
                "nil",
                "boolean",
                "integer",
                "big integer",
                "float",
                "decimal",
                "ratio",
                "character",
                "string",
                "keyword",
                "symbol",
                "list",
                "vector",
                "set",
                "map",
                "tagged literal",
                "regex"
            ]
        );
    }

    #[test]
    fn line_and_column() {
        let src = "{:a 1\n :ünïcödé \"☃😀\"\n :c ]}";
        let e = err(src);
        assert!(!e.incomplete);
        assert_eq!(e.offset, src.find(']').unwrap());
        assert_eq!(line_col(src, e.offset), (3, 5));
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 5), (1, 6));
        assert_eq!(line_col(src, 6), (2, 1));
        let snow = src.find('☃').unwrap();
        assert_eq!(line_col(src, snow), (2, 12));
        assert_eq!(line_col(src, snow + 3), (2, 13));
        assert_eq!(line_col(src, src.len()), (3, 7));
        assert_eq!(line_col(src, usize::MAX), (3, 7));
        assert_eq!(line_col("", 3), (1, 1));
        // An offset inside a character counts that character as started.
        assert_eq!(line_col("é", 1), (1, 2));
        let e = err("[\"é\"\n  \"\\q\"]");
        assert_eq!(line_col("[\"é\"\n  \"\\q\"]", e.offset), (2, 4));
    }

    /// A tiny deterministic PRNG for the fuzz test.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn exercise(s: &str) {
        let mut at = 0;
        // Read forms until the end or an error; offsets must advance.
        for _ in 0..s.len() + 1 {
            match parse_one(s, at) {
                Ok(Some((v, end))) => {
                    assert!(end > at && end <= s.len(), "{s:?}");
                    let _ = v.to_string();
                    let _ = v.type_name();
                    let _ = v.into_json();
                    at = end;
                }
                Ok(None) => return,
                Err(e) => {
                    assert!(e.offset <= s.len(), "{s:?}: {e:?}");
                    let _ = line_col(s, e.offset);
                    return;
                }
            }
        }
        panic!("no progress on {s:?}");
    }

    #[test]
    fn fuzz_no_panics() {
        let samples = [
            MULOG_LINE,
            ERROR_LINES,
            r#"{:o #object[com.foo.Bar$Baz 0x1 {:status :ready}] :t #object[java.lang.Thread 0x6d3af739 "Thread[main,5,main]"]}"#,
            r#"[nil true 1N -1.5e-3 12.5M 1/2 0x1F 2r1010 36rZZ 07 ##Inf ##NaN \a \newline \u00e9 \o101 "\u00e9\101\"" #"\d+" #{1} #:ns{:a 1 :_/b 2} #::{:c 3} '(a) #_ x ^:m y #'v :a.b/c-d? ::auto a->b / ; c
             "é☃😀"]"#,
        ];
        let alphabet: Vec<char> = "{}[]()#\"\\:;,_^'@ \n0123456789aNMxr/+-.eé☃😀\u{2028}!?<="
            .chars()
            .collect();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for sample in samples {
            // Every prefix, and every start offset of every prefix's tail.
            for (i, _) in sample.char_indices().chain([(sample.len(), ' ')]) {
                let prefix = &sample[..i];
                exercise(prefix);
                let _ = parse_one(sample, i);
                // A proper prefix of one whole form never reads as complete.
                if i < sample.len() {
                    assert!(
                        !matches!(parse_one(prefix, 0), Ok(Some((_, end))) if end == sample.len())
                    );
                }
            }
            // Random mutations: replace, insert, delete characters.
            for _ in 0..3000 {
                let mut chars: Vec<char> = sample.chars().collect();
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(chars.len() + 1);
                    let c = alphabet[rng.below(alphabet.len())];
                    match rng.below(3) {
                        0 if at < chars.len() => chars[at] = c,
                        1 if at < chars.len() => {
                            chars.remove(at);
                        }
                        _ => chars.insert(at, c),
                    }
                }
                let s: String = chars.into_iter().collect();
                exercise(&s);
            }
            // Random bytes, made valid UTF-8 lossily.
            for _ in 0..500 {
                let mut bytes = sample.as_bytes().to_vec();
                for _ in 0..1 + rng.below(8) {
                    let at = rng.below(bytes.len());
                    if let Some(b) = bytes.get_mut(at) {
                        *b = rng.next() as u8;
                    }
                }
                exercise(&String::from_utf8_lossy(&bytes));
            }
        }
    }
}
