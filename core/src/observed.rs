//! [`Observed`]: the permissions seen, with counts and first evidence; mergeable in any order.

use crate::call::Call;
use crate::derive::{Derived, Diagnostic, Permission, derive_into};
use crate::error::{Error, ErrorKind, Result};
use crate::spec::Rules;
use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::collections::hash_map::Entry;
use std::sync::Arc;

/// Where something was first seen: a source (file or label) and a line (0 when none).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct Evidence {
    /// The file name or caller-given label (empty when unknown).
    pub source: String,
    /// The 1-based line, or 0.
    pub line: u64,
}

impl Evidence {
    /// `true` if `source` comes before this evidence (by source, then line).
    fn after(&self, source: &crate::call::Source) -> bool {
        let label = source.label.as_deref().unwrap_or("");
        let line = source.line.unwrap_or(0);
        (label, line) < (self.source.as_str(), self.line)
    }

    pub(crate) fn of(call: &Call) -> Evidence {
        Evidence {
            source: call.source.label.as_deref().unwrap_or("").to_owned(),
            line: call.source.line.unwrap_or(0),
        }
    }
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let src = if self.source.is_empty() {
            "<unknown>"
        } else {
            &self.source
        };
        if self.line > 0 {
            write!(f, "{src}:{}", self.line)
        } else {
            f.write_str(src)
        }
    }
}

/// How often a permission was needed, and where first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Calls that succeeded.
    pub ok: u64,
    /// Calls that failed.
    pub failed: u64,
    /// The first evidence (the minimum by source, then line).
    pub first: Evidence,
}

impl Stats {
    fn merge(&mut self, other: &Stats) {
        self.ok = self.ok.saturating_add(other.ok);
        self.failed = self.failed.saturating_add(other.failed);
        if other.first < self.first {
            self.first = other.first.clone();
        }
    }
}

/// Event counts of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Counts {
    /// Calls recorded.
    pub calls: u64,
    /// Events skipped because their event name did not match.
    pub skipped: u64,
    /// Malformed events skipped in lenient mode.
    pub malformed: u64,
}

/// How many malformed-event locations are kept (the smallest, so merging stays deterministic).
const MALFORMED_KEPT: usize = 100;

type Key = (Option<Arc<str>>, Permission);

/// The set of permissions seen, with counts and first evidence, plus the diagnostics.
///
/// Merging is commutative and associative: partial results from many processes combine into the
/// same answer in any order.
///
/// ```
/// use leastpriv::{Call, Observed, Rules};
/// let rules = Rules::builtin();
/// let mut a = Observed::new();
/// a.record(&rules, &Call::new("sqs", "ListQueues", serde_json::json!({})));
/// let mut b = Observed::from_bytes(&a.to_bytes()).unwrap();
/// b.merge(&a);
/// assert_eq!(b.len(), 1);
/// assert_eq!(b.counts().calls, 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Observed {
    permissions: HashMap<Key, Stats>,
    diagnostics: HashMap<Diagnostic, Stats>,
    counts: Counts,
    malformed_at: BTreeSet<Evidence>,
    scratch: Derived,
    last_principal: Option<Arc<str>>,
}

impl PartialEq for Observed {
    fn eq(&self, other: &Observed) -> bool {
        self.permissions == other.permissions
            && self.diagnostics == other.diagnostics
            && self.counts == other.counts
            && self.malformed_at == other.malformed_at
    }
}

impl Observed {
    /// An empty set.
    pub fn new() -> Observed {
        Observed::default()
    }

    /// Derives the permissions `call` needs and adds them.
    pub fn record(&mut self, rules: &Rules, call: &Call) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.permissions.clear();
        scratch.diagnostics.clear();
        derive_into(rules, call, &mut scratch);
        let ok = call.outcome.is_ok();
        let principal: Option<Arc<str>> = match (&call.principal, &self.last_principal) {
            (None, _) => None,
            (Some(p), Some(last)) if **last == **p => Some(Arc::clone(last)),
            (Some(p), _) => {
                let a: Arc<str> = Arc::from(p.as_str());
                self.last_principal = Some(Arc::clone(&a));
                Some(a)
            }
        };
        for p in scratch.permissions.drain(..) {
            count(self.permissions.entry((principal.clone(), p)), ok, call);
        }
        for d in scratch.diagnostics.drain(..) {
            count(self.diagnostics.entry(d), ok, call);
        }
        self.counts.calls += 1;
        self.scratch = scratch;
    }

    /// Adds a diagnostic (with its count and first evidence), as a reader does for what it
    /// finds beside the calls.
    pub fn note(&mut self, diagnostic: Diagnostic, stats: &Stats) {
        add_stats(&mut self.diagnostics, diagnostic, stats);
    }

    /// Counts a skipped event (its event name did not match).
    pub fn count_skipped(&mut self) {
        self.counts.skipped += 1;
    }

    /// Counts a malformed event skipped in lenient mode, remembering where it was.
    pub fn count_malformed(&mut self, at: Evidence) {
        self.counts.malformed += 1;
        self.malformed_at.insert(at);
        self.trim_malformed();
    }

    /// Adds everything in `other`.
    pub fn merge(&mut self, other: &Observed) {
        for ((principal, p), s) in &other.permissions {
            add_stats(&mut self.permissions, (principal.clone(), p.clone()), s);
        }
        for (d, s) in &other.diagnostics {
            add_stats(&mut self.diagnostics, d.clone(), s);
        }
        self.counts.calls += other.counts.calls;
        self.counts.skipped += other.counts.skipped;
        self.counts.malformed += other.counts.malformed;
        self.malformed_at.extend(other.malformed_at.iter().cloned());
        self.trim_malformed();
    }

    /// Keeps the first [`MALFORMED_KEPT`] malformed-event locations (by source and line).
    fn trim_malformed(&mut self) {
        while self.malformed_at.len() > MALFORMED_KEPT {
            self.malformed_at.pop_last();
        }
    }

    /// Number of distinct (principal, permission) pairs.
    pub fn len(&self) -> usize {
        self.permissions.len()
    }

    /// `true` if no permission was seen.
    pub fn is_empty(&self) -> bool {
        self.permissions.is_empty()
    }

    /// Event counts.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Where malformed events were skipped (the first 100 by source and line).
    pub fn malformed_at(&self) -> impl Iterator<Item = &Evidence> {
        self.malformed_at.iter()
    }

    /// Every (principal, permission, stats), sorted.
    pub fn permissions(&self) -> Vec<(Option<&str>, &Permission, &Stats)> {
        let mut v: Vec<_> = self
            .permissions
            .iter()
            .map(|((pr, p), s)| (pr.as_deref(), p, s))
            .collect();
        v.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        v
    }

    /// Every diagnostic with its stats, sorted.
    pub fn diagnostics(&self) -> Vec<(&Diagnostic, &Stats)> {
        let mut v: Vec<_> = self.diagnostics.iter().collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// The versioned serialized form, shared by the CLI and the bindings. Deterministic: equal
    /// sets give identical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let doc = Serialized {
            format: FORMAT.to_owned(),
            version: VERSION,
            counts: self.counts,
            malformed_at: self.malformed_at.iter().cloned().collect(),
            permissions: self
                .permissions()
                .into_iter()
                .map(|(pr, p, s)| SerPermission {
                    principal: pr.map(str::to_owned),
                    permission: p.clone(),
                    stats: s.clone(),
                })
                .collect(),
            diagnostics: self
                .diagnostics()
                .into_iter()
                .map(|(d, s)| SerDiagnostic {
                    diagnostic: d.clone(),
                    stats: s.clone(),
                })
                .collect(),
        };
        let mut out = serde_json::to_vec(&doc).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Reads the serialized form written by [`to_bytes`](Observed::to_bytes) (from any binding).
    pub fn from_bytes(bytes: &[u8]) -> Result<Observed> {
        let head: Header = serde_json::from_slice(bytes).map_err(|e| {
            Error::new(
                ErrorKind::Serialization,
                format!("not a serialized Observed state: {}", strip_json_detail(&e)),
            )
            .at(e.line() as u64, e.column() as u64)
        })?;
        if head.format != FORMAT {
            return Err(Error::new(
                ErrorKind::Serialization,
                format!("not a serialized Observed state (format `{}`)", head.format),
            ));
        }
        if head.version != VERSION {
            return Err(Error::new(
                ErrorKind::Serialization,
                format!(
                    "serialized Observed state of version {} is not supported (this build reads version {VERSION})",
                    head.version
                ),
            ));
        }
        let doc: Serialized = serde_json::from_slice(bytes).map_err(|e| {
            Error::new(
                ErrorKind::Serialization,
                format!("malformed Observed state: {}", strip_json_detail(&e)),
            )
            .at(e.line() as u64, e.column() as u64)
        })?;
        let mut o = Observed {
            counts: doc.counts,
            malformed_at: doc.malformed_at.into_iter().collect(),
            ..Observed::default()
        };
        for (i, p) in doc.permissions.into_iter().enumerate() {
            // A state file is input like any other: what it says is checked as the engine's
            // own output would be (a hand-made state could carry `*`, `s3:` or `${...}`).
            p.permission.validate().map_err(|e| {
                Error::new(
                    ErrorKind::Serialization,
                    format!("permission {}: {}", i + 1, e.message()),
                )
                .with_field(format!(
                    "permissions[{i}].{}",
                    e.field().unwrap_or("action")
                ))
            })?;
            if p.principal.as_ref().is_some_and(|pr| pr.len() > 1024) {
                return Err(Error::new(
                    ErrorKind::Serialization,
                    format!(
                        "permission {}: a principal longer than 1024 characters",
                        i + 1
                    ),
                )
                .with_field(format!("permissions[{i}].principal")));
            }
            let key = (p.principal.as_deref().map(Arc::from), p.permission);
            add_stats(&mut o.permissions, key, &p.stats);
        }
        for d in doc.diagnostics {
            add_stats(&mut o.diagnostics, d.diagnostic, &d.stats);
        }
        Ok(o)
    }
}

/// Adds `stats` to the entry for `key` (merging, or inserting a copy).
fn add_stats<K: Eq + std::hash::Hash>(map: &mut HashMap<K, Stats>, key: K, stats: &Stats) {
    match map.entry(key) {
        Entry::Occupied(mut e) => e.get_mut().merge(stats),
        Entry::Vacant(e) => {
            e.insert(stats.clone());
        }
    }
}

/// Counts one call into an entry, building its evidence only when it is new or earlier.
fn count<K>(entry: Entry<'_, K, Stats>, ok: bool, call: &Call) {
    match entry {
        Entry::Occupied(mut e) => {
            let s = e.get_mut();
            if ok {
                s.ok = s.ok.saturating_add(1);
            } else {
                s.failed = s.failed.saturating_add(1);
            }
            if s.first.after(&call.source) {
                s.first = Evidence::of(call);
            }
        }
        Entry::Vacant(e) => {
            e.insert(Stats {
                ok: u64::from(ok),
                failed: u64::from(!ok),
                first: Evidence::of(call),
            });
        }
    }
}

/// serde_json's messages can quote the offending value; keep only the category.
pub(crate) fn strip_json_detail(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Io => "read error",
        Category::Syntax => "invalid JSON",
        Category::Data => "unexpected structure",
        Category::Eof => "unexpected end of input",
    }
}

const FORMAT: &str = "leastpriv-observed";
const VERSION: u32 = 1;

#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

#[derive(Serialize, Deserialize)]
struct Serialized {
    format: String,
    version: u32,
    counts: Counts,
    #[serde(default)]
    malformed_at: Vec<Evidence>,
    permissions: Vec<SerPermission>,
    diagnostics: Vec<SerDiagnostic>,
}

#[derive(Serialize, Deserialize)]
struct SerPermission {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    principal: Option<String>,
    #[serde(flatten)]
    permission: Permission,
    #[serde(flatten)]
    stats: Stats,
}

#[derive(Serialize, Deserialize)]
struct SerDiagnostic {
    #[serde(flatten)]
    diagnostic: Diagnostic,
    #[serde(flatten)]
    stats: Stats,
}
