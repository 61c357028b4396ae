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

use serde_json::{Map, Value};

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
    let mut p = Parser {
        b: text.as_bytes(),
        s: text,
        pos: 0,
        depth: 0,
    };
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

struct Parser<'a> {
    b: &'a [u8],
    s: &'a str,
    pos: usize,
    depth: usize,
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
        Ok(number_value(&self.s[start..self.pos]))
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
