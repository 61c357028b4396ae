//! Readers: bytes in, [`Call`]s out, one at a time, each error with its file, line and column.
//!
//! | format | what |
//! | --- | --- |
//! | `mulog-edn` | μ/log's simple-file publisher: one EDN map per line (forms may continue onto following lines) |
//! | `mulog-json` | μ/log's JSON publisher: one JSON object per line, `"mulog/event-name": "aws/request"` |
//! | `jsonl` | the plain JSON-lines Call format of `spec/schema/call.schema.json` |
//! | `cloudtrail` | CloudTrail: delivery files (`{"Records": [...]}`), JSON lines of records, EventBridge events |
//! | `observed` | a serialized [`Observed`] state (from any binding or `leastpriv merge`) |
//! | `auto` | detected from the first bytes |

mod cloudtrail;
mod edn;
pub(crate) use edn::line_col;
mod fast;
pub(crate) mod json;
mod jsonl;
mod mulog;
mod seen;

use crate::call::{Call, Source};
use crate::error::{Error, ErrorKind, Result};
use crate::observed::Observed;
use crate::spec::{Rules, Selection};
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::sync::Arc;

/// An input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Detect from the content.
    #[default]
    Auto,
    /// μ/log EDN (simple-file publisher).
    MulogEdn,
    /// μ/log JSON lines.
    MulogJson,
    /// Plain JSON lines (the Call schema).
    Jsonl,
    /// CloudTrail records: delivery files, JSON lines of records, EventBridge events.
    CloudTrail,
    /// A serialized Observed state.
    Observed,
}

impl Format {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::MulogEdn => "mulog-edn",
            Format::MulogJson => "mulog-json",
            Format::Jsonl => "jsonl",
            Format::CloudTrail => "cloudtrail",
            Format::Observed => "observed",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format> {
        Ok(match s {
            "auto" => Format::Auto,
            "mulog-edn" | "edn" => Format::MulogEdn,
            "mulog-json" => Format::MulogJson,
            "jsonl" | "json-lines" => Format::Jsonl,
            "cloudtrail" => Format::CloudTrail,
            "observed" => Format::Observed,
            _ => {
                return Err(Error::new(
                    ErrorKind::UnknownFormat,
                    "unknown input format: expected auto, mulog-edn, mulog-json, jsonl, cloudtrail or observed",
                ));
            }
        })
    }
}

/// Options for reading events.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The input format.
    pub format: Format,
    /// The μ/log event name to use (`aws/request`); other events are skipped and counted.
    pub event_name: String,
    /// The μ/log event key holding the principal (for `--group-by`), e.g. `app-name`.
    pub principal_key: Option<String>,
    /// Skip malformed events (counting them) instead of stopping at the first.
    pub lenient: bool,
    /// The largest event read, in bytes (a line, or an EDN form across lines): a longer one
    /// is an error found before it is parsed, and memory stays bounded.
    pub max_event_bytes: usize,
    /// The largest serialized Observed state read, in bytes.
    pub max_state_bytes: u64,
    /// CloudTrail: keep only the records of principals matching one of these ARN globs
    /// (IAM wildcards); all when empty.
    pub principals: Vec<String>,
    /// CloudTrail: `Some(true)` keeps only read-only records (`readOnly: true`), `Some(false)`
    /// only the others; records that do not say are skipped then. `None`: all.
    pub read_only: Option<bool>,
}

/// The default [`ReadOptions::max_event_bytes`]: 16 MiB.
pub const MAX_EVENT_BYTES: usize = 16 << 20;
/// The default [`ReadOptions::max_state_bytes`]: 1 GiB.
pub const MAX_STATE_BYTES: u64 = 1 << 30;

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: Format::Auto,
            event_name: "aws/request".into(),
            principal_key: None,
            lenient: false,
            max_event_bytes: MAX_EVENT_BYTES,
            max_state_bytes: MAX_STATE_BYTES,
            principals: Vec::new(),
            read_only: None,
        }
    }
}

/// Detects the format from the first bytes of an input.
///
/// ```
/// use leastpriv::{detect_format, Format};
/// assert_eq!(detect_format(b"{:mulog/event-name :aws/request}"), Some(Format::MulogEdn));
/// assert_eq!(detect_format(br#"{"mulog/event-name": "aws/request"}"#), Some(Format::MulogJson));
/// assert_eq!(detect_format(br#"{"service": "s3", "operation": "GetObject"}"#), Some(Format::Jsonl));
/// assert_eq!(detect_format(br#"{"Records": [{"eventVersion": "1.08"}]}"#), Some(Format::CloudTrail));
/// assert_eq!(detect_format(br#"{"eventVersion": "1.08", "eventSource": "s3.amazonaws.com"}"#), Some(Format::CloudTrail));
/// assert_eq!(detect_format(b"hello"), None);
/// ```
pub fn detect_format(prefix: &[u8]) -> Option<Format> {
    let p = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let start = p
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != b',')?;
    let p = &p[start..];
    let contains = |needle: &[u8]| p.windows(needle.len()).any(|w| w == needle);
    if p.starts_with(b"{") {
        let second = p[1..].iter().find(|b| !b.is_ascii_whitespace());
        match second {
            Some(b'"') => {
                if contains(b"\"leastpriv-observed\"") && contains(b"\"format\"") {
                    Some(Format::Observed)
                } else if is_cloudtrail(p) {
                    Some(Format::CloudTrail)
                } else if contains(b"\"mulog/event-name\"")
                    || (contains(b"\"api\"") && !contains(b"\"service\""))
                {
                    Some(Format::MulogJson)
                } else {
                    Some(Format::Jsonl)
                }
            }
            Some(b'}') | None => Some(Format::Jsonl),
            Some(_) => Some(Format::MulogEdn),
        }
    } else if p.starts_with(b"#:") || p.starts_with(b";") || p.starts_with(b"^") {
        // A namespaced map, a comment, or metadata printed with *print-meta*.
        Some(Format::MulogEdn)
    } else {
        None
    }
}

/// A header line of a CSV export of CloudTrail events (`eventName` or `Event name` among
/// comma-separated names).
fn looks_like_csv_export(line: &[u8]) -> bool {
    let l = String::from_utf8_lossy(line).to_ascii_lowercase();
    l.contains(',') && (l.contains("eventname") || l.contains("event name"))
}

/// An object (`p` starts with `{`) whose first member is `Records`.
fn starts_with_records(p: &[u8]) -> bool {
    p[1..]
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .is_some_and(|i| p[1 + i..].starts_with(b"\"Records\""))
}

/// A CloudTrail delivery file's start, or a record (or an EventBridge event of one): the first
/// member is `Records`, or the object has `eventVersion`, or `eventSource` and `eventName`, or
/// `detail-type`.
fn is_cloudtrail(p: &[u8]) -> bool {
    let contains = |needle: &[u8]| p.windows(needle.len()).any(|w| w == needle);
    starts_with_records(p)
        || contains(b"\"eventVersion\"")
        || (contains(b"\"eventSource\"") && contains(b"\"eventName\""))
        || contains(b"\"detail-type\"")
}

/// What the rules read of each operation's request, found once per (service, operation) as
/// they are spelled in the events.
#[derive(Debug)]
pub(crate) struct Selector {
    rules: Arc<Rules>,
    cache: hashbrown::HashTable<Selected>,
    /// How the fast lane fares for each operation in `cache`.
    lanes: Vec<Luck>,
    /// The place in `lanes` of the operation asked for last (`u32::MAX`: none).
    last: u32,
}

/// How look-ups of one kind have gone lately, to stop making them where they rarely find
/// anything: over a window of look-ups, fewer than one in `few` found, and the next ones are
/// not made for a rest (then they are judged again). The first rest is as long as the window
/// and each rest after another poor window twice the last, up to `rest`; a good window starts
/// over. So a memory that is still filling (keys that do repeat, but more of them than a
/// window meets) soon looks again and learns them, while one that never finds rests long.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Luck {
    tries: u32,
    finds: u32,
    rest: u32,
    /// The next rest's length (0: the window's).
    next: u32,
}

impl Luck {
    /// Whether to pass this look-up over (a rest under way counts down).
    pub(crate) fn resting(&mut self) -> bool {
        let resting = self.rest > 0;
        self.rest = self.rest.saturating_sub(1);
        resting
    }

    /// Counts a look-up made; at the end of a window of `window`, rests when fewer than one in
    /// `few` found (for the window's length, doubling after each poor window up to `rest`).
    pub(crate) fn tell(&mut self, found: bool, window: u32, few: u32, rest: u32) {
        self.tries += 1;
        self.finds += u32::from(found);
        if self.tries >= window {
            if self.finds * few < window {
                self.rest = self.next.max(window).min(rest);
                self.next = self.rest.saturating_mul(2);
            } else {
                self.next = 0;
            }
            self.tries = 0;
            self.finds = 0;
        }
    }
}

/// The fast lane's luck with each operation's keys ([`Luck`]). Where they are rarely met again
/// (an S3 object key per call, say), looking a key up and remembering it is work for nothing:
/// after a window of [`LANE_WINDOW`] look-ups of which fewer than one in [`LANE_FEW`] found
/// their key, the lane rests for the operation's next [`LANE_REST`] calls, which are read the
/// ordinary way (the same outcome, as for any line the lane leaves alone), then looks again
/// (the rests grow from one window's length, see [`Luck`]).
const LANE_WINDOW: u32 = 256;
const LANE_FEW: u32 = 16;
const LANE_REST: u32 = 16 * 1024;

/// (hash, `service` NUL `operation`, the selection (`None`: everything is read), the
/// operation's place in [`Selector`]'s lanes).
type Selected = (u64, Box<str>, Option<Arc<Selection>>, u32);

/// How many (service, operation) spellings a [`Selector`] remembers: past this, selections are
/// found again for each call, so no input can grow the cache without bound.
const SELECTOR_CACHE: usize = 4096;

impl Selector {
    pub(crate) fn new(rules: Arc<Rules>) -> Selector {
        Selector {
            rules,
            cache: hashbrown::HashTable::new(),
            lanes: Vec::new(),
            last: u32::MAX,
        }
    }

    /// What the fast lane walks a request of this operation with: its selection, or nothing
    /// while the lane rests for the operation.
    pub(crate) fn pick(&mut self, service: &str, operation: &str) -> fast::Pick {
        let sel = self.get(service, operation);
        if self
            .lanes
            .get_mut(self.last as usize)
            .is_some_and(Luck::resting)
        {
            fast::Pick::Rest
        } else {
            fast::Pick::Walk(sel)
        }
    }

    /// Tells how the look-up of a key of the operation asked for last went.
    pub(crate) fn looked_up(&mut self, found: bool) {
        if let Some(l) = self.lanes.get_mut(self.last as usize) {
            l.tell(found, LANE_WINDOW, LANE_FEW, LANE_REST);
        }
    }

    /// The selection for a call, `None` when the rules may read all of its request.
    pub(crate) fn get(&mut self, service: &str, operation: &str) -> Option<Arc<Selection>> {
        use std::hash::{BuildHasher as _, Hasher as _};
        let mut h = rustc_hash::FxBuildHasher.build_hasher();
        h.write(service.as_bytes());
        h.write_u8(0);
        h.write(operation.as_bytes());
        let hash = h.finish();
        // `service` NUL `operation`, compared in place.
        let same = |k: &str| {
            k.len() == service.len() + 1 + operation.len()
                && k.as_bytes()[service.len()] == 0
                && k.starts_with(service)
                && k.ends_with(operation)
        };
        if let Some((_, _, s, lane)) = self.cache.find(hash, |(h, k, _, _)| *h == hash && same(k)) {
            self.last = *lane;
            return s.clone();
        }
        let sel = self.rules.selection_for_reader(service, operation);
        let sel = (!sel.is_whole()).then_some(sel);
        self.last = u32::MAX;
        if self.cache.len() < SELECTOR_CACHE {
            let key = format!("{service}\0{operation}").into_boxed_str();
            let lane = self.lanes.len() as u32;
            self.lanes.push(Luck::default());
            self.last = lane;
            self.cache
                .insert_unique(hash, (hash, key, sel.clone(), lane), |(h, _, _, _)| *h);
        }
        sel
    }
}

/// Byte strings kept one after the other in one arena, each numbered in the order kept and
/// found by its hash, then compared whole: a hash only finds the candidate, so two strings with
/// one hash never stand for one another (the second is simply not kept).
#[derive(Debug, Default)]
pub(crate) struct Kept {
    /// Hash → number.
    map: FxHashMap<u64, u32>,
    arena: Vec<u8>,
    /// Where each string is in `arena`.
    spans: Vec<(u32, u32)>,
}

impl Kept {
    pub(crate) fn hash(bytes: &[u8]) -> u64 {
        use std::hash::BuildHasher as _;
        rustc_hash::FxBuildHasher.hash_one(bytes)
    }

    /// The number of `bytes` (whose hash is `hash`), if they are kept.
    pub(crate) fn find(&self, hash: u64, bytes: &[u8]) -> Option<u32> {
        let &i = self.map.get(&hash)?;
        let (start, len) = *self.spans.get(i as usize)?;
        (self.arena.get(start as usize..(start + len) as usize) == Some(bytes)).then_some(i)
    }

    /// Whether `len` more bytes would take it past `strings` strings or `bytes` bytes.
    pub(crate) fn full_for(&self, len: usize, strings: usize, bytes: usize) -> bool {
        self.spans.len() >= strings || self.arena.len() + len > bytes
    }

    /// Keeps `bytes` (whose hash is `hash`) as the next number; `None`, and nothing kept, when
    /// another string has its hash.
    pub(crate) fn add(&mut self, hash: u64, bytes: &[u8]) -> Option<u32> {
        if self.map.contains_key(&hash) {
            return None;
        }
        let i = self.spans.len() as u32;
        self.map.insert(hash, i);
        self.spans
            .push((self.arena.len() as u32, bytes.len() as u32));
        self.arena.extend_from_slice(bytes);
        Some(i)
    }

    pub(crate) fn clear(&mut self) {
        self.map.clear();
        self.arena.clear();
        self.spans.clear();
    }
}

/// The fast lane's memory (see [`fast`]): the keys of lines seen, each numbering an entry
/// (what its call came to, which the pipeline keeps), kept whole ([`Kept`]). Each kind of key
/// starts with its own tag (`M` μ/log JSON, `E` EDN, `C` Call lines, `T` CloudTrail, `R` a call
/// the pipeline records), so keys of different kinds never meet.
#[derive(Debug, Default)]
pub(crate) struct FastCache {
    /// The keys; entry `i` is key `i`.
    keys: Kept,
    /// The key of the line being read.
    pub(crate) key: Vec<u8>,
    /// The hash of the key last looked up (an insert after a look-up uses it; were the key
    /// changed in between, the entry could only be missed, as every hit compares the bytes).
    last: u64,
    /// Whole lines, each with its key's entry.
    pub(crate) lines: seen::SeenLines,
}

/// The fast lane forgets everything past this many entries, or this many bytes of keys.
const FAST_ENTRIES: usize = 1 << 15;
const FAST_BYTES: usize = 4 << 20;

impl FastCache {
    /// The entry of the current key, if it was remembered.
    pub(crate) fn get(&mut self) -> Option<u32> {
        self.last = Kept::hash(&self.key);
        self.keys.find(self.last, &self.key)
    }

    /// Remembers the current key as the next entry; `false` (and nothing remembered) when
    /// another key has its hash. When full, it forgets everything first (`cleared` says so, for
    /// the caller to forget its entries too).
    pub(crate) fn insert(&mut self, cleared: &mut bool) -> bool {
        *cleared = false;
        if self.keys.full_for(self.key.len(), FAST_ENTRIES, FAST_BYTES) {
            self.clear();
            *cleared = true;
        }
        if self.key.len() > FAST_BYTES / 16 {
            return false;
        }
        let Some(entry) = self.keys.add(self.last, &self.key) else {
            return false;
        };
        self.lines.made(self.last, entry);
        true
    }

    /// Forgets everything.
    pub(crate) fn clear(&mut self) {
        self.keys.clear();
        self.lines.forget();
    }
}

/// `call` in the box `spare` holds (taken), or a new one.
fn into_box(spare: &mut Option<Box<Call>>, call: Call) -> Box<Call> {
    match spare.take() {
        Some(mut b) => {
            *b = call;
            b
        }
        None => Box::new(call),
    }
}

/// What a reader hands the pipeline: small, as most lines are known ones (a call is boxed,
/// and the box given back to the reader for the next call, [`CallReader::recycle`]).
#[derive(Debug)]
pub(crate) enum Item {
    /// A call; with the fast lane, a call whose key was new (left in [`FastCache::key`]), and
    /// whether the key may be kept for it: made with the selection of the call's own service
    /// and operation (only then does the key stand for the call), and made whole (`false` when
    /// the lane rests for the operation and made no key).
    Call(Box<Call>, Option<bool>),
    /// A line whose key stands for cache entry `entry`: the same permissions, for this
    /// principal at this line.
    Known {
        entry: u32,
        principal: Option<String>,
        line: u64,
    },
}

/// What the fast lane made of a line, for the reader.
#[allow(clippy::large_enum_variant)]
enum Fast {
    /// Read it the ordinary way.
    Ordinary,
    /// An event with another event name.
    Skipped,
    /// Done.
    Item(Result<Item>),
}

/// A streaming reader of [`Call`]s from one input.
///
/// Yields `Err` for a malformed event and then carries on with the next one, so a caller can
/// stop at the first error or skip them (`lenient`). Events whose μ/log event name does not
/// match are skipped and counted ([`skipped`](CallReader::skipped)).
#[derive(Debug)]
pub struct CallReader<R> {
    input: R,
    /// Lines read while detecting the format, served before the rest of the input.
    head: Vec<u8>,
    head_pos: usize,
    /// Lines before the first one that told the format (lenient mode): counted as malformed.
    undetected: Vec<u64>,
    max_event_bytes: usize,
    label: Arc<str>,
    format: Format,
    event_name: String,
    principal_key: Option<String>,
    line: u64,
    /// The current line, without its line break.
    text: String,
    skipped: u64,
    queue: VecDeque<Result<Call>>,
    /// EDN: the text of a form that continues onto following lines, and its first line.
    pending: String,
    pending_line: u64,
    /// EDN: a line held back because it started a new event after an unterminated one.
    carry: Option<(String, u64)>,
    /// EDN: an error spoiled a form; skip its indented continuation lines.
    resync: bool,
    done: bool,
    /// With rules: requests are read only as far as the rules read them.
    selector: Option<Selector>,
    members: Vec<json::Member>,
    /// The members of `members`' object values (see [`json::scan_object_nested`]).
    nested: Vec<json::Member>,
    /// The parameters of a call made before, given back ([`CallReader::recycle`]): the next
    /// call's may be written into them.
    spare: Option<serde_json::Value>,
    /// The rest of that call.
    spare_call: Option<Box<Call>>,
    /// EDN: the members of the event on the current line, as the fast lane found them, and
    /// those of its members' values that are maps.
    edn_members: Vec<fast::EdnMember>,
    edn_nested: Vec<fast::EdnMember>,
    /// The input starts at the start of a file (a byte order mark may open it).
    at_start: bool,
    /// CloudTrail: the record reader's state, and the principal globs to keep.
    cloudtrail: Option<Box<cloudtrail::Stream>>,
    principals: Vec<String>,
    read_only: Option<bool>,
}

/// Reads one line (through its `\n`) into `out`, at most `limit` bytes of it: `Ok(None)` at the
/// end of the input, `Ok(Some(true))` when the line was longer (the rest of it is consumed and
/// dropped, so memory stays bounded whatever the input).
fn read_line_bounded<R: BufRead>(
    input: &mut R,
    out: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<Option<bool>> {
    let mut any = false;
    let mut too_long = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(any.then_some(too_long));
        }
        any = true;
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !too_long {
            // The line break itself does not count against the limit.
            let body = take - usize::from(done);
            if out.len() + body > limit {
                too_long = true;
                out.clear();
            } else {
                out.extend_from_slice(&chunk[..take]);
            }
        }
        input.consume(take);
        if done {
            return Ok(Some(too_long));
        }
    }
}

fn too_large(limit: usize) -> Error {
    Error::new(
        ErrorKind::InvalidEvent,
        format!("an event longer than {limit} bytes (the limit per event)"),
    )
}

/// The format of an input, from its first line that tells it (blank lines are passed over; in
/// lenient mode, so are lines that tell nothing, whose numbers come back to be counted as
/// malformed). Returns the format and the bytes read, to be read again as events. This one
/// step serves [`CallReader`] and [`read_into`] alike; it reads whole lines, so a pipe that
/// delivers a line in pieces is detected the same way as a file.
fn sniff<R: BufRead>(
    input: &mut R,
    label: &str,
    opts: &ReadOptions,
) -> Result<(Format, Vec<u8>, Vec<u64>)> {
    let mut head = Vec::new();
    let mut undetected = Vec::new();
    let mut line = 0u64;
    // A CloudTrail delivery file is one document, often on one line longer than any event:
    // its start tells, without reading the line.
    if let Ok(buf) = input.fill_buf() {
        let p = buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(buf);
        let p = &p[p
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(p.len())..];
        if p.starts_with(b"{") && starts_with_records(p) {
            return Ok((Format::CloudTrail, head, undetected));
        }
    }
    // A first line that is only `{` (a pretty-printed document): the next line tells.
    let mut open_brace = false;
    loop {
        let start = head.len();
        let r = read_line_bounded(input, &mut head, opts.max_event_bytes)
            .map_err(|e| Error::io(&e, label).at(line + 1, 1))?;
        let Some(too_long) = r else {
            // The end: nothing (or only blanks) reads as JSON lines, holding no events.
            return Ok((Format::Jsonl, head, undetected));
        };
        line += 1;
        if line == 1 && (head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF")) {
            return Err(Error::new(
                ErrorKind::Encoding,
                "the input is UTF-16 (it starts with a UTF-16 byte order mark): convert it to UTF-8",
            )
            .with_path(label)
            .at(1, 1));
        }
        if too_long {
            if opts.lenient {
                head.truncate(start);
                head.push(b'\n');
                undetected.push(line);
                continue;
            }
            return Err(too_large(opts.max_event_bytes).with_path(label).at(line, 1));
        }
        let text = &head[start..];
        let text = if line == 1 {
            text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text)
        } else {
            text
        };
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if !open_brace && text.trim_ascii() == b"{" {
            open_brace = true;
            continue;
        }
        let joined;
        let text = if open_brace {
            joined = [b"{".as_slice(), text].concat();
            joined.as_slice()
        } else {
            text
        };
        match detect_format(text) {
            Some(f) => return Ok((f, head, undetected)),
            None if opts.lenient => {
                // Kept as a blank line, so line numbers stay right.
                head.truncate(start);
                head.push(b'\n');
                undetected.push(line);
            }
            None if looks_like_csv_export(text) => {
                return Err(Error::new(
                    ErrorKind::UnknownFormat,
                    "a CSV export of CloudTrail events is not read (it lacks the request parameters): export the events as JSON, or read the trail's files",
                )
                .with_path(label)
                .at(line, 1));
            }
            None => {
                return Err(Error::new(
                    ErrorKind::UnknownFormat,
                    "cannot tell the input format (expected μ/log EDN, μ/log JSON, JSON lines, CloudTrail or a serialized Observed state); name it with --input",
                )
                .with_path(label)
                .at(line, 1));
            }
        }
    }
}

impl<R: BufRead> CallReader<R> {
    /// A reader over `input`; `label` names it in errors and evidence (a file name, `-`).
    /// `Format::Auto` is detected from the first line that tells it (read whole, so a pipe
    /// that delivers it in pieces is detected the same way); `Format::Observed` is not a
    /// stream of calls and is refused (use [`read_into`]).
    pub fn new(mut input: R, label: &str, opts: &ReadOptions) -> Result<CallReader<R>> {
        let (format, head, undetected) = match opts.format {
            Format::Auto => sniff(&mut input, label, opts)?,
            f => (f, Vec::new(), Vec::new()),
        };
        if format == Format::Observed {
            return Err(Error::new(
                ErrorKind::UnknownFormat,
                "a serialized Observed state holds permissions, not calls",
            )
            .with_path(label));
        }
        Ok(CallReader::with_head(
            input, head, undetected, label, opts, format,
        ))
    }

    fn with_head(
        input: R,
        head: Vec<u8>,
        undetected: Vec<u64>,
        label: &str,
        opts: &ReadOptions,
        format: Format,
    ) -> CallReader<R> {
        CallReader {
            input,
            head,
            head_pos: 0,
            undetected,
            max_event_bytes: opts.max_event_bytes,
            label: Arc::from(label),
            format,
            event_name: opts.event_name.clone(),
            principal_key: opts.principal_key.clone(),
            line: 0,
            text: String::new(),
            skipped: 0,
            queue: VecDeque::new(),
            pending: String::new(),
            pending_line: 0,
            carry: None,
            resync: false,
            done: false,
            selector: None,
            members: Vec::new(),
            nested: Vec::new(),
            spare: None,
            spare_call: None,
            edn_members: Vec::new(),
            edn_nested: Vec::new(),
            at_start: true,
            cloudtrail: None,
            principals: opts.principals.clone(),
            read_only: opts.read_only,
        }
    }

    /// A reader of a part of a file that starts at a line boundary inside it (a job's share):
    /// lines are numbered from 1 within the part, and no byte order mark is expected.
    pub(crate) fn part(input: R, label: &str, opts: &ReadOptions, format: Format) -> CallReader<R> {
        let mut r = CallReader::with_head(input, Vec::new(), Vec::new(), label, opts, format);
        r.at_start = false;
        r
    }

    /// The label, shared with the calls' sources.
    pub(crate) fn label(&self) -> &Arc<str> {
        &self.label
    }

    /// Lines read so far.
    pub(crate) fn lines_read(&self) -> u64 {
        self.line
    }

    /// Reads of each request only what `rules` read of it (for JSON formats): payloads and
    /// members no rule reads are checked but never copied, and the calls carry only the
    /// parameters that matter to the engine (values only tested for presence become `true`).
    /// What the engine derives from each call is unchanged.
    pub fn select_for(self, rules: &Arc<Rules>) -> CallReader<R> {
        self.select_with(Selector::new(Arc::clone(rules)))
    }

    /// As [`CallReader::select_for`], with the selections (and the fast lane's counts) an
    /// earlier reader found.
    pub(crate) fn select_with(mut self, selector: Selector) -> CallReader<R> {
        self.selector = Some(selector);
        self
    }

    /// The selections this reader found, for the next reader of the same rules.
    pub(crate) fn take_selector(&mut self) -> Option<Selector> {
        self.selector.take()
    }

    /// Lines passed over while detecting the format in lenient mode (they told nothing).
    pub fn undetected_lines(&self) -> &[u64] {
        &self.undetected
    }

    /// The format being read (after detection).
    pub fn format(&self) -> Format {
        self.format
    }

    /// Events skipped so far because their event name did not match.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    fn err_at(&self, e: Error, line: u64, col: u64) -> Error {
        e.with_path(&*self.label).at(line, col)
    }

    /// Reads the next line into `self.text` (without its line break), checked to be UTF-8;
    /// `None` at the end. The buffer keeps its capacity from line to line.
    fn fill_line(&mut self) -> Option<Result<()>> {
        // The line's text, its allocation kept from line to line: read as bytes, checked once
        // to be UTF-8, and made text again without a copy.
        let mut buf = std::mem::take(&mut self.text).into_bytes();
        buf.clear();
        let read = if self.head_pos < self.head.len() {
            let rest = &self.head[self.head_pos..];
            let n = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
            buf.extend_from_slice(&rest[..n]);
            self.head_pos += n;
            if self.head_pos == self.head.len() {
                self.head = Vec::new();
                self.head_pos = 0;
            }
            Ok(Some(false))
        } else {
            read_line_bounded(&mut self.input, &mut buf, self.max_event_bytes)
        };
        let Ok(Some(false)) = read else {
            buf.clear();
            self.text = String::from_utf8(buf).unwrap_or_default();
            return match read {
                Ok(Some(true)) => {
                    self.line += 1;
                    Some(Err(self.err_at(
                        too_large(self.max_event_bytes),
                        self.line,
                        1,
                    )))
                }
                Err(e) => {
                    self.done = true;
                    Some(Err(Error::io(&e, &self.label).at(self.line + 1, 1)))
                }
                // The end of the input (a whole line is read below).
                Ok(_) => None,
            };
        };
        self.line += 1;
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        if self.line == 1 && self.at_start && buf.starts_with(b"\xEF\xBB\xBF") {
            // A byte order mark: not part of the first event.
            buf.drain(..3);
        }
        match String::from_utf8(buf) {
            Ok(text) => {
                self.text = text;
                Some(Ok(()))
            }
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let col = String::from_utf8_lossy(&e.as_bytes()[..valid])
                    .chars()
                    .count() as u64
                    + 1;
                Some(Err(self.err_at(
                    Error::new(ErrorKind::Encoding, "invalid UTF-8"),
                    self.line,
                    col,
                )))
            }
        }
    }

    /// Takes back a call this reader made, once it is done with: its parameters may hold the
    /// next call's.
    pub(crate) fn recycle(&mut self, mut call: Box<Call>) {
        if call.params.is_object() {
            self.spare = Some(std::mem::take(&mut call.params));
        }
        self.spare_call = Some(call);
    }

    /// `call` in a box, the one given back last when there is one.
    fn boxed(&mut self, call: Call) -> Box<Call> {
        into_box(&mut self.spare_call, call)
    }

    /// The current line as text (empty if it was not valid UTF-8, which `fill_line` reported).
    fn line_text(&self) -> &str {
        &self.text
    }

    fn source(&self, line: u64) -> Source {
        Source::at(Arc::clone(&self.label), line)
    }

    fn next_json(&mut self, mut fast: Option<&mut FastCache>) -> Option<Result<Item>> {
        loop {
            if let Err(e) = self.fill_line()? {
                return Some(Err(e));
            }
            let line = self.text.as_str();
            if line.trim_start().is_empty() {
                continue;
            }
            let n = self.line;
            let mut scanned = false;
            let mut selection = None;
            // The lane rests for the line's operation: a new call, whose key is not kept.
            let mut rested = false;
            let mut met = seen::Seen::Off;
            if let (Some(f), Some(_)) = (fast.as_deref_mut(), self.selector.as_ref()) {
                met = f.lines.look_up(line);
                if let seen::Seen::Found { entry, principal } = met {
                    return Some(Ok(Item::Known {
                        entry,
                        principal: principal.and_then(|r| line.get(r)).map(str::to_owned),
                        line: n,
                    }));
                }
            }
            if let (Some(f), Some(sel)) = (fast.as_deref_mut(), self.selector.as_mut())
                && json::scan_object_nested(line, &mut self.members, &mut self.nested).is_ok()
            {
                scanned = true;
                let mut select = |s: &str, o: &str| sel.pick(s, o);
                let lane = match self.format {
                    Format::MulogJson => fast::mulog_json(
                        line,
                        &self.members,
                        &self.nested,
                        &self.event_name,
                        self.principal_key.as_deref(),
                        &mut select,
                        &mut f.key,
                    ),
                    _ => {
                        fast::call_json(line, &self.members, &self.nested, &mut select, &mut f.key)
                    }
                };
                match lane {
                    fast::Lane::Off => {}
                    fast::Lane::Rest => rested = true,
                    fast::Lane::Skip => {
                        self.skipped += 1;
                        continue;
                    }
                    fast::Lane::Key {
                        principal,
                        selection: s,
                    } => {
                        // The line is kept with its entry, found or yet to be made.
                        let keep = match met {
                            seen::Seen::New(h) => {
                                seen::SeenLines::span_of(line, principal.as_ref())
                                    .map(|span| (h, span))
                            }
                            _ => None,
                        };
                        let found = f.get();
                        sel.looked_up(found.is_some());
                        if let Some(entry) = found {
                            if let Some((h, span)) = keep {
                                f.lines.keep(h, line.as_bytes(), span, entry);
                            }
                            return Some(Ok(Item::Known {
                                entry,
                                principal: principal.map(Cow::into_owned),
                                line: n,
                            }));
                        }
                        if let Some((h, span)) = keep {
                            f.lines.pend(h, line, span, f.last);
                        }
                        selection = Some(s);
                    }
                }
            }
            let source = Source::at(Arc::clone(&self.label), n);
            // The box of the call given back last, for this line's call.
            let mut spare_box = self.spare_call.take();
            let reuse = jsonl::Reuse {
                spare: &mut self.spare,
                nested: Some(&self.nested),
                call: &mut spare_box,
            };
            let result = match (self.format, &mut self.selector) {
                (Format::MulogJson, Some(sel)) => jsonl::mulog_json_line_selected(
                    line,
                    &self.event_name,
                    self.principal_key.as_deref(),
                    source,
                    sel,
                    &mut self.members,
                    scanned,
                    reuse,
                )
                .map(|c| c.map(|c| into_box(&mut spare_box, c))),
                (Format::MulogJson, None) => jsonl::mulog_json_line(
                    line,
                    &self.event_name,
                    self.principal_key.as_deref(),
                    source,
                )
                .map(|c| c.map(Box::new)),
                (_, Some(sel)) => {
                    jsonl::call_line_selected(line, source, sel, &mut self.members, scanned, reuse)
                        .map(Some)
                }
                (_, None) => jsonl::call_line(line, source).map(|c| Some(Box::new(c))),
            };
            if spare_box.is_some() {
                self.spare_call = spare_box;
            }
            match result {
                Ok(Some(call)) => {
                    let keyed = if rested {
                        Some(false)
                    } else {
                        selection.map(|(s, o)| {
                            s == call.service.as_str() && o == call.operation.as_str()
                        })
                    };
                    return Some(Ok(Item::Call(call, keyed)));
                }
                Ok(None) => self.skipped += 1,
                Err(e) => {
                    let col = e.column().unwrap_or(1);
                    return Some(Err(e.with_path(&*self.label).set_position(n, col)));
                }
            }
        }
    }

    /// The fast lane for an EDN line in `self.text` that starts an event with nothing pending.
    fn fast_edn(&mut self, f: &mut FastCache) -> Fast {
        let Some(sel) = self.selector.as_mut() else {
            return Fast::Ordinary;
        };
        let line = self.text.as_str();
        let mut select = |s: &str, o: &str| sel.pick(s, o);
        let lane = fast::mulog_edn(
            line,
            &self.event_name,
            self.principal_key.as_deref(),
            &mut select,
            &mut f.key,
            &mut self.edn_members,
            &mut self.edn_nested,
        );
        let n = self.line;
        // `None`: the lane rests for the line's operation (a new call whose key is not kept).
        let selection = match lane {
            fast::Lane::Off => return Fast::Ordinary,
            fast::Lane::Skip => return Fast::Skipped,
            fast::Lane::Rest => None,
            fast::Lane::Key {
                principal,
                selection,
            } => {
                let found = f.get();
                sel.looked_up(found.is_some());
                if let Some(entry) = found {
                    return Fast::Item(Ok(Item::Known {
                        entry,
                        principal: principal.map(Cow::into_owned),
                        line: n,
                    }));
                }
                Some((selection.0.to_owned(), selection.1.to_owned()))
            }
        };
        // A new key: the reader reads of the line what the call is made of.
        let read = match self.edn_selected(n) {
            Some(read) => read,
            None => match edn::parse_one(&self.text, 0) {
                Ok(Some((form, _))) => self.edn_event(form, n, 1),
                _ => return Fast::Ordinary,
            },
        };
        match read.map(|c| c.map(|c| self.boxed(c))) {
            Ok(Some(call)) => {
                let keyed =
                    selection.is_some_and(|(s, o)| s == call.service && o == call.operation);
                Fast::Item(Ok(Item::Call(call, Some(keyed))))
            }
            Ok(None) => Fast::Skipped,
            Err(e) => Fast::Item(Err(e)),
        }
    }

    /// Parses complete forms from `self.pending`, queueing calls and errors.
    fn drain_edn(&mut self) {
        let mut pos = 0;
        loop {
            match edn::parse_one(&self.pending, pos) {
                Ok(None) => {
                    self.pending.clear();
                    return;
                }
                Ok(Some((form, end))) => {
                    let (l, c) = edn::line_col(&self.pending, pos_of_form(&self.pending, pos));
                    let line = self.pending_line + l - 1;
                    let r = self.edn_event(form, line, c);
                    match r {
                        Ok(Some(call)) => self.queue.push_back(Ok(call)),
                        Ok(None) => self.skipped += 1,
                        Err(e) => self.queue.push_back(Err(e)),
                    }
                    pos = end;
                }
                Err(e) if e.incomplete => {
                    if pos > 0 {
                        // Keep the unfinished rest, renumbered from its own first line.
                        let (l, _) = edn::line_col(&self.pending, pos);
                        self.pending_line += l - 1;
                        let rest = self.pending[pos..].to_owned();
                        let rest = match rest.find('\n') {
                            Some(i) if rest[..i].trim().is_empty() => {
                                self.pending_line += 1;
                                rest[i + 1..].to_owned()
                            }
                            _ => rest,
                        };
                        self.pending = rest;
                    }
                    return;
                }
                Err(e) => {
                    let (l, c) = edn::line_col(&self.pending, e.offset);
                    let line = self.pending_line + l - 1;
                    let err = Error::new(ErrorKind::Syntax, format!("EDN: {}", e.message));
                    self.queue.push_back(Err(self.err_at(err, line, c)));
                    self.pending.clear();
                    self.resync = true;
                    return;
                }
            }
        }
    }

    /// The event on the current line, of the shape the fast lane accepts (one map, keyword keys
    /// each once: its members in `self.edn_members`), as [`CallReader::edn_event`] makes it of
    /// the whole form, parsing only the members the μ/log reader reads (those the JSON reader
    /// reads of an event). `None` when one of them does not parse: the whole form is read then.
    fn edn_selected(&self, line: u64) -> Option<Result<Option<Call>>> {
        let text = self.text.as_str();
        let principal = self
            .principal_key
            .as_deref()
            .map(|p| p.trim_start_matches(':'));
        let mut map = serde_json::Map::new();
        for m in &self.edn_members {
            let name = text.get(m.name.clone())?;
            let read = jsonl::MULOG_KEYS.contains(&name)
                || Some(name) == principal
                || matches!(name, "request" | "response" | "result" | "exception");
            if !read {
                continue;
            }
            let (key, _) = edn::parse_one(text, m.name.start.checked_sub(1)?).ok()??;
            let (value, _) = edn::parse_one(text, m.value.start).ok()??;
            map.insert(key.into_key(), value.into_json().ok()?);
        }
        Some(
            mulog::call_from_event(
                mulog::Fields::of(map),
                &self.event_name,
                self.principal_key.as_deref(),
                self.source(line),
            )
            .map_err(|e| self.err_at(e, line, 1)),
        )
    }

    fn edn_event(&self, form: edn::Edn, line: u64, col: u64) -> Result<Option<Call>> {
        let kind = form.type_name();
        let json = form.into_json().map_err(|path| {
            // As for JSON: the event key and one member below it, deeper keys may be data.
            let mut field = path.iter().take(2).cloned().collect::<Vec<_>>().join(".");
            if path.len() > 2 {
                field.push_str(".…");
            }
            self.err_at(
                Error::new(
                    ErrorKind::InvalidEvent,
                    "duplicate key: a key appears twice in one map",
                )
                .with_field(&field),
                line,
                col,
            )
        })?;
        match json {
            serde_json::Value::Object(map) => mulog::call_from_event(
                mulog::Fields::of(map),
                &self.event_name,
                self.principal_key.as_deref(),
                self.source(line),
            )
            .map_err(|e| self.err_at(e, line, col)),
            _ => Err(self.err_at(
                Error::new(
                    ErrorKind::InvalidEvent,
                    format!("an event must be a map, not a {kind}"),
                ),
                line,
                col,
            )),
        }
    }

    fn unterminated(&self) -> Error {
        let (l, c) = edn::line_col(&self.pending, pos_of_form(&self.pending, 0));
        self.err_at(
            Error::new(
                ErrorKind::Syntax,
                "EDN: unterminated form (the input ends inside it)",
            ),
            self.pending_line + l - 1,
            c,
        )
    }

    fn next_edn(&mut self, mut fast: Option<&mut FastCache>) -> Option<Result<Item>> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(item.map(|c| Item::Call(self.boxed(c), None)));
            }
            if self.done {
                return None;
            }
            let (line, n) = match self.carry.take() {
                Some(c) => c,
                None => match self.fill_line() {
                    None => {
                        self.done = true;
                        if !self.pending.trim().is_empty() {
                            let e = self.unterminated();
                            self.pending.clear();
                            return Some(Err(e));
                        }
                        return None;
                    }
                    Some(Err(e)) => {
                        // A bad line inside a form spoils the form.
                        self.pending.clear();
                        self.resync = true;
                        return Some(Err(e));
                    }
                    Some(Ok(())) => {
                        // One whole event on a line of its own, nothing pending: the fast
                        // lane (a line opening a map ends any resynchronisation, as below).
                        if let Some(f) = fast.as_deref_mut()
                            && self.pending.is_empty()
                            && self.text.as_bytes().first() == Some(&b'{')
                        {
                            match self.fast_edn(f) {
                                Fast::Ordinary => {}
                                Fast::Skipped => {
                                    self.resync = false;
                                    self.skipped += 1;
                                    continue;
                                }
                                Fast::Item(item) => {
                                    self.resync = false;
                                    return Some(item);
                                }
                            }
                        }
                        (self.line_text().to_owned(), self.line)
                    }
                },
            };
            if self.resync {
                // The rest of a spoiled form: printers indent continuation lines, so the next
                // event starts at a line that does not begin with whitespace.
                if line.is_empty() || line.starts_with(|c: char| c.is_whitespace() || c == ',') {
                    continue;
                }
                self.resync = false;
            }
            if self.pending.is_empty() {
                if line.trim().is_empty() {
                    continue;
                }
                self.pending = line;
                self.pending_line = n;
            } else if line.starts_with('{') {
                // A new top-level event while the previous one is unfinished: the previous one
                // was cut off (printers indent continuation lines).
                let e = self.unterminated();
                self.pending.clear();
                self.carry = Some((line, n));
                return Some(Err(e));
            } else if self.pending.len() + line.len() > self.max_event_bytes {
                let e = self.err_at(too_large(self.max_event_bytes), self.pending_line, 1);
                self.pending.clear();
                self.resync = true;
                return Some(Err(e));
            } else {
                self.pending.push('\n');
                self.pending.push_str(&line);
            }
            self.drain_edn();
        }
    }
}

/// Offset of the first character of the form at or after `pos` (skipping blanks and commas).
fn pos_of_form(text: &str, pos: usize) -> usize {
    text[pos.min(text.len())..]
        .char_indices()
        .find(|(_, c)| !c.is_whitespace() && *c != ',')
        .map(|(i, _)| pos + i)
        .unwrap_or(pos)
}

impl<R: BufRead> CallReader<R> {
    /// The next call, or (with the fast lane) the next line known by its key.
    pub(crate) fn next_item(&mut self, fast: Option<&mut FastCache>) -> Option<Result<Item>> {
        if self.done && self.queue.is_empty() {
            return None;
        }
        match self.format {
            Format::MulogEdn => self.next_edn(fast),
            Format::CloudTrail => self.next_cloudtrail(fast),
            _ => {
                let r = self.next_json(fast);
                if r.is_none() {
                    self.done = true;
                }
                r
            }
        }
    }
}

impl<R: BufRead> CallReader<R> {
    /// The next CloudTrail record that is an API call.
    fn next_cloudtrail(&mut self, mut fast: Option<&mut FastCache>) -> Option<Result<Item>> {
        let CallReader {
            cloudtrail,
            head,
            head_pos,
            input,
            label,
            selector,
            principals,
            read_only,
            max_event_bytes,
            skipped,
            done,
            line,
            ..
        } = self;
        let st = cloudtrail.get_or_insert_with(|| {
            let rules = selector
                .as_ref()
                .map(|s| Arc::clone(&s.rules))
                .unwrap_or_else(Rules::builtin);
            Box::new(cloudtrail::Stream::new(
                rules,
                principals.clone(),
                *read_only,
            ))
        });
        let mut src = cloudtrail::Src {
            head,
            pos: head_pos,
            input,
        };
        loop {
            // The fast lane only where the rules' selection is in use (as for the other
            // readers): its entries stand for what the pipeline derived.
            let lane = if selector.is_some() {
                fast.as_deref_mut()
            } else {
                None
            };
            match st.next(&mut src, label, *max_event_bytes, lane) {
                Ok(cloudtrail::Next::Call(keyed, call)) => {
                    *line = call.source.line.unwrap_or(*line);
                    // The record's own service and operation made its key.
                    return Some(Ok(Item::Call(call, keyed.then_some(true))));
                }
                Ok(cloudtrail::Next::Known { entry, principal }) => {
                    return Some(Ok(Item::Known {
                        entry,
                        principal,
                        line: st.line_of_last(),
                    }));
                }
                Ok(cloudtrail::Next::Skipped) => *skipped += 1,
                Ok(cloudtrail::Next::End) => {
                    *done = true;
                    return None;
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// A note the reader makes at the end of its input, with how many events it is about
    /// (CloudTrail: management events that imply data access, and no data events).
    pub fn closing_note(&self) -> Option<(crate::derive::Diagnostic, u64)> {
        self.cloudtrail.as_ref().and_then(|c| c.closing_note())
    }
}

impl<R: BufRead> Iterator for CallReader<R> {
    type Item = Result<Call>;
    fn next(&mut self) -> Option<Result<Call>> {
        loop {
            match self.next_item(None)? {
                Ok(Item::Call(call, _)) => return Some(Ok(*call)),
                Ok(Item::Known { .. }) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Reads calls from a string (a convenience for tests and examples).
///
/// ```
/// use leastpriv::{read_str, Format};
/// let text = r#"{:mulog/event-name :aws/request, :api :s3, :operation :GetObject, :request {:Bucket "b", :Key "k"}}"#;
/// let calls: Vec<_> = read_str(text, Format::Auto, "events.edn").collect::<Result<_, _>>().unwrap();
/// assert_eq!(calls[0].operation, "GetObject");
/// assert_eq!(calls[0].source.line, Some(1));
/// ```
pub fn read_str<'a>(text: &'a str, format: Format, label: &str) -> ReadIter<'a> {
    let opts = ReadOptions {
        format,
        ..ReadOptions::default()
    };
    match CallReader::new(text.as_bytes(), label, &opts) {
        Ok(r) => ReadIter::Reader(Box::new(r)),
        Err(e) => ReadIter::Failed(Some(e)),
    }
}

/// The iterator [`read_str`] returns.
#[derive(Debug)]
pub enum ReadIter<'a> {
    /// Reading.
    Reader(Box<CallReader<&'a [u8]>>),
    /// The input could not be opened as a stream of calls.
    Failed(Option<Error>),
}

impl Iterator for ReadIter<'_> {
    type Item = Result<Call>;
    fn next(&mut self) -> Option<Result<Call>> {
        match self {
            ReadIter::Reader(r) => r.next(),
            ReadIter::Failed(e) => e.take().map(Err),
        }
    }
}

/// Reads one input into `observed`: calls through the engine, or a serialized state merged
/// (a shorthand for a [`crate::Pipeline`] over `observed`).
///
/// With `opts.lenient`, malformed events are counted and skipped; otherwise the first one is
/// returned as the error (what was read before it stays in `observed`).
pub fn read_into<R: BufRead>(
    rules: &Arc<Rules>,
    observed: &mut Observed,
    input: R,
    label: &str,
    opts: &ReadOptions,
) -> Result<()> {
    let mut p =
        crate::Pipeline::with_observed(Arc::clone(rules), opts.clone(), std::mem::take(observed));
    let r = p.read(input, label);
    *observed = p.into_observed();
    r
}

/// Reads a file (or standard input for `-`) into `observed`; see [`read_into`].
pub fn read_path_into(
    rules: &Arc<Rules>,
    observed: &mut Observed,
    path: &str,
    opts: &ReadOptions,
) -> Result<()> {
    read_into(rules, observed, open_input(path)?, path, opts)
}

/// Reads the format of an input from its start, as [`CallReader`] would detect it (`None` when
/// it cannot tell).
pub(crate) fn sniff_format<R: BufRead>(
    input: &mut R,
    label: &str,
    opts: &ReadOptions,
) -> Option<Format> {
    match opts.format {
        Format::Auto => sniff(input, label, opts).ok().map(|(f, _, _)| f),
        f => Some(f),
    }
}

/// Reads the start of an input: its format, the bytes read while finding it, and the lines
/// passed over (lenient mode).
pub(crate) fn start<R: BufRead>(
    input: &mut R,
    label: &str,
    opts: &ReadOptions,
) -> Result<(Format, Vec<u8>, Vec<u64>)> {
    match opts.format {
        Format::Auto => sniff(input, label, opts),
        f => Ok((f, Vec::new(), Vec::new())),
    }
}

impl<R: BufRead> CallReader<R> {
    /// A reader that carries on from [`start`].
    pub(crate) fn after_start(
        input: R,
        (format, head, undetected): (Format, Vec<u8>, Vec<u64>),
        label: &str,
        opts: &ReadOptions,
    ) -> CallReader<R> {
        CallReader::with_head(input, head, undetected, label, opts, format)
    }
}

/// Opens an input for reading: a file, or standard input for `-`. A missing file is
/// [`ErrorKind::NotFound`], a directory [`ErrorKind::Io`], both with the path.
pub fn open_input(path: &str) -> Result<Box<dyn BufRead>> {
    if path == "-" {
        return gunzip(
            BufReader::with_capacity(1 << 16, std::io::stdin().lock()),
            path,
        );
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(&e, path))?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Error::new(ErrorKind::Io, "is a directory, not a file").with_path(path));
    }
    gunzip(BufReader::with_capacity(1 << 16, file), path)
}

/// The input, decompressed as it is read when it is gzip (CloudTrail delivers `.json.gz`;
/// any format may be compressed). A truncated or corrupt stream is an I/O error when reached.
pub fn gunzip<R: BufRead + 'static>(mut input: R, label: &str) -> Result<Box<dyn BufRead>> {
    let head = loop {
        match input.fill_buf() {
            Ok(b) => break b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(&e, label)),
        }
    };
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(input),
        )))
    } else {
        Ok(Box::new(input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rests(sel: &mut Selector, service: &str, operation: &str) -> bool {
        matches!(sel.pick(service, operation), fast::Pick::Rest)
    }

    #[test]
    fn a_selector_keeps_its_own_copy_of_the_rules_selections() {
        // The rules share one selection among every reader; a reader's selector, which hands
        // its selection out for every call, holds a copy of its own (equal to the rules').
        let rules = Rules::builtin();
        let mut sel = Selector::new(Arc::clone(&rules));
        let shared = rules.selection("s3", "GetObject");
        let own = sel
            .get("s3", "GetObject")
            .expect("GetObject reads part of its request");
        assert_eq!(*own, *shared);
        assert!(!Arc::ptr_eq(&own, &shared));
        // Found again: the same copy.
        let again = sel.get("s3", "GetObject").expect("a selection");
        assert!(Arc::ptr_eq(&own, &again));
        assert!(!Arc::ptr_eq(&again, &rules.selection("s3", "GetObject")));
    }

    #[test]
    fn the_lane_rests_for_an_operation_whose_keys_are_rarely_met_again() {
        let mut sel = Selector::new(Rules::builtin());
        // One in 16 found holds the lane open; one fewer in the next window rests it.
        for i in 0..LANE_WINDOW {
            assert!(!rests(&mut sel, "s3", "GetObject"));
            sel.looked_up(i % LANE_WINDOW.div_ceil(LANE_FEW) == 0);
        }
        for i in 0..LANE_WINDOW {
            assert!(!rests(&mut sel, "s3", "GetObject"));
            sel.looked_up(i % LANE_WINDOW.div_ceil(LANE_FEW) == 0 && i > 0);
        }
        // Another operation keeps its own count, and its lane stays open. The first rest is a
        // window long; after each poor window the rest doubles, up to LANE_REST.
        let mut rest = LANE_WINDOW;
        loop {
            for _ in 0..rest {
                assert!(rests(&mut sel, "s3", "GetObject"));
                assert!(!rests(&mut sel, "dynamodb", "GetItem"));
                sel.looked_up(true);
            }
            // Then it looks again.
            for _ in 0..LANE_WINDOW {
                assert!(!rests(&mut sel, "s3", "GetObject"));
                sel.looked_up(false);
            }
            if rest == LANE_REST {
                break;
            }
            rest = (rest * 2).min(LANE_REST);
        }
        for _ in 0..LANE_REST {
            assert!(rests(&mut sel, "s3", "GetObject"));
        }
        // A good window starts over: the next poor one rests a window long.
        for _ in 0..LANE_WINDOW {
            assert!(!rests(&mut sel, "s3", "GetObject"));
            sel.looked_up(true);
        }
        for _ in 0..LANE_WINDOW {
            assert!(!rests(&mut sel, "s3", "GetObject"));
            sel.looked_up(false);
        }
        for _ in 0..LANE_WINDOW {
            assert!(rests(&mut sel, "s3", "GetObject"));
        }
        assert!(!rests(&mut sel, "s3", "GetObject"));
    }

    /// Keeps the key `key` as the next entry, and `line` with it, as the reader and the
    /// pipeline do for a line whose key is new; the entry's number.
    fn keep_line(f: &mut FastCache, line: &str, key: &str) -> u32 {
        let seen::Seen::New(h) = f.lines.look_up(line) else {
            panic!("{line} found before it was kept")
        };
        f.key.clear();
        f.key.extend_from_slice(key.as_bytes());
        assert_eq!(f.get(), None);
        f.lines.pend(h, line, (u32::MAX, 0), f.last);
        let mut cleared = false;
        assert!(f.insert(&mut cleared));
        f.keys.spans.len() as u32 - 1
    }

    #[test]
    fn lines_are_forgotten_with_the_entries_they_name() {
        let mut f = FastCache::default();
        let first = keep_line(&mut f, "{\"n\":0}", "k0");
        assert!(matches!(
            f.lines.look_up("{\"n\":0}"),
            seen::Seen::Found { entry, .. } if entry == first
        ));
        // Enough keys to fill the lane: it forgets every entry, and with them the line.
        for i in 1..FAST_ENTRIES {
            f.key.clear();
            f.key.extend_from_slice(format!("k{i}").as_bytes());
            f.get();
            let mut cleared = false;
            f.insert(&mut cleared);
            assert!(!cleared);
        }
        f.key.clear();
        f.key.extend_from_slice(b"one too many");
        f.get();
        let mut cleared = false;
        f.insert(&mut cleared);
        assert!(cleared);
        assert!(matches!(f.lines.look_up("{\"n\":0}"), seen::Seen::New(_)));
    }
}
