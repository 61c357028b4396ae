//! Whole JSON lines the fast lane has keyed, each with the entry its key found: a line met
//! again, byte for byte, is counted as that entry without being checked or keyed again (what
//! the reader makes of a line depends only on its bytes and the reader's settings, and the
//! lines are forgotten when a reader starts).
//!
//! Lines are kept whole and compared whole, as keys are: a hash only finds the candidate. Where
//! lines rarely repeat (events with timestamps or request ids), the look-ups stop for a while:
//! a line is only hashed when recent lines were found often enough to pay for it.

use super::{Kept, Luck};
use std::hash::Hasher as _;

/// Lines past this many, or this many bytes of lines, and everything is forgotten.
const LINES: usize = 1 << 14;
const LINE_BYTES: usize = 2 << 20;
/// Lines longer than this are not kept.
const LONGEST: usize = 4096;
/// The look-ups are judged over this many lines; fewer than one in `RARE` found, and the next
/// lines are not looked up (a window's length, doubling after each poor window up to `REST`:
/// see [`Luck`]).
const WINDOW: u32 = 4096;
const RARE: u32 = 16;
const REST: u32 = 1 << 16;

/// Lines are told apart by their first `HEAD` bytes into `CLASSES` classes (in Call lines
/// these name the service and operation), each judged on its own as well: over `CLASS_WINDOW`
/// of its look-ups, fewer than one in `RARE` found, and its next lines are not looked up (up to
/// `CLASS_REST`, as above: an operation whose every call is new, beside others whose lines
/// repeat). A class only says whether to look: lines of one class are still found only byte
/// for byte.
const HEAD: usize = 48;
const CLASSES: usize = 256;
const CLASS_WINDOW: u32 = 256;
const CLASS_REST: u32 = 1 << 14;

/// No principal: the principal's span when there is none.
const NONE: (u32, u32) = (u32::MAX, 0);

/// What a kept line stands for: its key's entry, and where the principal's text is in the
/// line (`NONE`: no principal).
#[derive(Debug, Clone, Copy)]
struct Line {
    entry: u32,
    principal: (u32, u32),
}

/// A line looked up and not found, to be kept once the entry its key finds is known.
#[derive(Debug, Clone, Copy)]
struct Pending {
    hash: u64,
    /// The hash of the key the line's entry is kept under (see [`super::FastCache`]).
    key: u64,
    principal: (u32, u32),
}

/// What a look-up found.
#[derive(Debug)]
pub(crate) enum Seen {
    /// The line was kept: its entry, and where its principal is in it.
    Found {
        entry: u32,
        principal: Option<std::ops::Range<usize>>,
    },
    /// Not kept; its hash, for [`SeenLines::pend`].
    New(u64),
    /// Not looked up.
    Off,
}

#[derive(Debug, Default)]
pub(crate) struct SeenLines {
    /// The lines; line `i` stands for `kept[i]`.
    lines: Kept,
    kept: Vec<Line>,
    /// The line last looked up and not found (its bytes in `line`).
    pending: Option<Pending>,
    line: Vec<u8>,
    /// How look-ups went over all lines, and for each class of lines (made at the first
    /// look-up).
    luck: Luck,
    classes: Vec<Luck>,
}

impl SeenLines {
    /// Looks `line` up.
    pub(crate) fn look_up(&mut self, line: &str) -> Seen {
        self.pending = None;
        if self.luck.resting() {
            return Seen::Off;
        }
        if line.len() > LONGEST {
            return Seen::Off;
        }
        // The line's hash: its head's (which names its class), then the rest's.
        let bytes = line.as_bytes();
        let split = bytes.len().min(HEAD);
        let mut h = rustc_hash::FxHasher::default();
        h.write(bytes.get(..split).unwrap_or_default());
        if self.classes.is_empty() {
            self.classes = vec![Luck::default(); CLASSES];
        }
        let class = (h.finish() >> 56) as usize % CLASSES;
        if self.classes.get_mut(class).is_some_and(Luck::resting) {
            return Seen::Off;
        }
        h.write(bytes.get(split..).unwrap_or_default());
        let hash = h.finish();
        let found = self
            .lines
            .find(hash, bytes)
            .and_then(|i| self.kept.get(i as usize));
        self.luck.tell(found.is_some(), WINDOW, RARE, REST);
        if let Some(c) = self.classes.get_mut(class) {
            c.tell(found.is_some(), CLASS_WINDOW, RARE, CLASS_REST);
        }
        let Some(k) = found else {
            return Seen::New(hash);
        };
        let principal = (k.principal != NONE)
            .then(|| k.principal.0 as usize..(k.principal.0 + k.principal.1) as usize);
        Seen::Found {
            entry: k.entry,
            principal,
        }
    }

    /// Where `principal` (a slice of `line`, or none) is in `line`; `None` when it is text of
    /// its own (an unescaped string), which a kept line could not give back.
    pub(crate) fn span_of(
        line: &str,
        principal: Option<&std::borrow::Cow<'_, str>>,
    ) -> Option<(u32, u32)> {
        match principal {
            None => Some(NONE),
            Some(std::borrow::Cow::Borrowed(p)) => {
                let at = (p.as_ptr() as usize).checked_sub(line.as_ptr() as usize)?;
                let end = at.checked_add(p.len())?;
                (line.get(at..end) == Some(*p)).then_some((at as u32, p.len() as u32))
            }
            Some(std::borrow::Cow::Owned(_)) => None,
        }
    }

    /// Holds `line` (hash `hash`) until the entry for the key with hash `key` is made
    /// ([`SeenLines::made`]).
    pub(crate) fn pend(&mut self, hash: u64, line: &str, principal: (u32, u32), key: u64) {
        self.line.clear();
        self.line.extend_from_slice(line.as_bytes());
        self.pending = Some(Pending {
            hash,
            key,
            principal,
        });
    }

    /// The entry `entry` was made for the key with hash `key`: the line held for it is kept.
    pub(crate) fn made(&mut self, key: u64, entry: u32) {
        let Some(p) = self.pending.take() else { return };
        if p.key != key {
            return;
        }
        let line = std::mem::take(&mut self.line);
        self.keep(p.hash, &line, p.principal, entry);
        self.line = line;
    }

    /// Keeps `line` (hash `hash`) for `entry`.
    pub(crate) fn keep(&mut self, hash: u64, line: &[u8], principal: (u32, u32), entry: u32) {
        self.pending = None;
        if self.lines.full_for(line.len(), LINES, LINE_BYTES) {
            self.forget();
        }
        if self.lines.add(hash, line).is_some() {
            self.kept.push(Line { entry, principal });
        }
    }

    /// Forgets every line (the entries they name are gone, or a new reader starts).
    pub(crate) fn forget(&mut self) {
        self.lines.clear();
        self.kept.clear();
        self.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn a_line_is_found_again_only_byte_for_byte_and_only_once_its_entry_is_made() {
        let mut s = SeenLines::default();
        let line = r#"{"service":"s3","principal":"ci"}"#;
        let Seen::New(h) = s.look_up(line) else {
            panic!("an empty memory found a line")
        };
        let p = Cow::Borrowed(&line[29..31]);
        let span = SeenLines::span_of(line, Some(&p)).expect("a slice of the line");
        s.pend(h, line, span, 7);
        // An entry made for another key keeps nothing.
        s.made(8, 1);
        assert!(matches!(s.look_up(line), Seen::New(_)));
        let Seen::New(h) = s.look_up(line) else {
            unreachable!()
        };
        s.pend(h, line, span, 7);
        s.made(7, 3);
        match s.look_up(line) {
            Seen::Found { entry, principal } => {
                assert_eq!(entry, 3);
                assert_eq!(principal.map(|r| &line[r]), Some("ci"));
            }
            other => panic!("not found again: {other:?}"),
        }
        // One byte more is another line.
        assert!(matches!(s.look_up(&format!("{line} ")), Seen::New(_)));
        s.forget();
        assert!(matches!(s.look_up(line), Seen::New(_)));
    }

    #[test]
    fn an_unescaped_principal_keeps_the_line_out() {
        let line = r#"{"principal":"a\u0062"}"#;
        assert_eq!(
            SeenLines::span_of(line, Some(&Cow::Owned("ab".into()))),
            None
        );
        assert_eq!(SeenLines::span_of(line, None), Some(NONE));
        // Text that only looks like a slice of the line is not taken for one.
        let other = String::from("ab");
        assert_eq!(
            SeenLines::span_of(line, Some(&Cow::Borrowed(other.as_str()))),
            None
        );
    }

    #[test]
    fn a_class_of_lines_that_never_repeat_rests_while_the_others_are_found() {
        let mut s = SeenLines::default();
        let new = |i: u32| {
            format!(r#"{{"service": "s3", "operation": "GetObject", "params": {{"Key": "k{i}"}}}}"#)
        };
        let known = |i: u32| {
            format!(
                r#"{{"service": "dynamodb", "operation": "GetItem", "params": {{"TableName": "t{}"}}}}"#,
                i % 4
            )
        };
        // Found (after its first time) or kept.
        let known_found = |s: &mut SeenLines, i: u32| match s.look_up(&known(i)) {
            Seen::Found { entry, .. } => assert_eq!(entry, i % 4),
            Seen::New(h) => {
                assert!(i < 4, "line {i} not found again");
                s.keep(h, known(i).as_bytes(), NONE, i % 4);
            }
            Seen::Off => panic!("line {i} not looked up"),
        };
        for i in 0..CLASS_WINDOW {
            assert!(matches!(s.look_up(&new(i)), Seen::New(_)));
            known_found(&mut s, i);
        }
        // Not one of a window found: the class rests (first for a window's length, then twice
        // as long after each poor window, up to CLASS_REST), the other is still found.
        let mut rest = CLASS_WINDOW;
        let mut i = 0;
        loop {
            for _ in 0..rest {
                assert!(matches!(s.look_up(&new(i)), Seen::Off));
                known_found(&mut s, i);
                i += 1;
            }
            assert!(matches!(s.look_up(&new(i)), Seen::New(_)));
            if rest == CLASS_REST {
                break;
            }
            for _ in 1..CLASS_WINDOW {
                assert!(matches!(s.look_up(&new(i)), Seen::New(_)));
            }
            rest = (rest * 2).min(CLASS_REST);
        }
    }

    #[test]
    fn look_ups_rest_where_lines_do_not_repeat() {
        let mut s = SeenLines::default();
        for i in 0..WINDOW {
            assert!(!matches!(s.look_up(&format!("{{\"n\":{i}}}")), Seen::Off));
        }
        // Nothing repeated in a whole window: the next lines are not looked up.
        assert!(matches!(s.look_up("{}"), Seen::Off));
    }
}
