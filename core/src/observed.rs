//! [`Observed`]: the permissions seen, with counts and first evidence; mergeable in any order.
//!
//! Kept compact: actions, resources, conditions, principals and evidence sources are interned
//! once, and each distinct permission is four ids and a tally.

use crate::arn::{Packed, Resource};
use crate::call::Source;
use crate::error::{Error, ErrorKind, Result};
use crate::permission::{ConditionBlock, Derived, Diagnostic, Permission, RequestContext};
use indexmap::{IndexMap, IndexSet};
use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::hash::Hash;
use std::sync::Arc;

/// Where something was first seen: a source (file or label) and a line (0 when none).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct Evidence {
    /// The file name or caller-given label (empty when unknown).
    pub source: Arc<str>,
    /// The 1-based line, or 0.
    pub line: u64,
}

impl Evidence {
    /// Evidence at a line of a source.
    pub fn new(source: impl Into<Arc<str>>, line: u64) -> Evidence {
        Evidence {
            source: source.into(),
            line,
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

/// No principal, no condition.
const NONE: u32 = u32::MAX;

/// A tally's `ctx` with this bit set is an index into `Observed::context_sets`.
const CTX_SET: u32 = 1 << 31;
/// A tally's `ctx` when its calls told more distinct request contexts than are kept.
const CTX_MORE: u32 = u32::MAX - 1;
/// How many distinct request contexts are kept per permission.
const CONTEXTS_KEPT: usize = 16;

/// Values stored once, each known by its index.
#[derive(Debug, Clone)]
struct Interner<T>(IndexSet<T, FxBuildHasher>);

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner(IndexSet::default())
    }
}

impl<T: Hash + Eq> Interner<T> {
    /// The id of a value, storing it (made by `make`) when new.
    fn id<'q, Q>(&mut self, value: &'q Q, make: impl FnOnce(&'q Q) -> T) -> u32
    where
        T: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self.0.get_index_of(value) {
            Some(i) => i as u32,
            None => self.0.insert_full(make(value)).0 as u32,
        }
    }

    fn get(&self, id: u32) -> &T {
        &self.0[id as usize]
    }

    /// The rank of each id when the values are sorted by `Ord`.
    fn ranks(&self) -> Vec<u32>
    where
        T: Ord,
    {
        let mut order: Vec<u32> = (0..self.0.len() as u32).collect();
        order.sort_unstable_by(|a, b| self.get(*a).cmp(self.get(*b)));
        let mut rank = vec![0; order.len()];
        for (r, id) in order.into_iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        rank
    }
}

/// Resources stored once, packed one after another in large blocks (no allocation of their
/// own), found by a table of their indices.
#[derive(Debug, Clone, Default)]
struct ResourceStore {
    blocks: Vec<Vec<u8>>,
    /// (block, start, length) of each resource.
    spans: Vec<(u32, u32, u32)>,
    /// Each resource's id and the hash it was stored under (growing the table reads no
    /// resource again).
    table: hashbrown::HashTable<(u32, u32)>,
}

/// The size of a block of packed resources (a longer resource has a block of its own).
const BLOCK: usize = 1 << 20;

fn bytes_of<'a>(blocks: &'a [Vec<u8>], spans: &[(u32, u32, u32)], id: u32) -> &'a [u8] {
    let (b, start, len) = spans[id as usize];
    &blocks[b as usize][start as usize..(start + len) as usize]
}

/// The 32 bits of a hash kept in a table beside an entry's id.
fn hash_bytes(b: &[u8]) -> u32 {
    use std::hash::BuildHasher as _;
    (FxBuildHasher.hash_one(b) >> 32) as u32
}

/// A kept hash as the table's hash: its bits spread over all 64 (the table takes the bucket
/// from the low bits and a tag from the top ones).
fn spread(h: u32) -> u64 {
    u64::from(h).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A look-up table of (id, kept hash): adds entry `id`, whose kept hash is `h`.
fn add_to(table: &mut hashbrown::HashTable<(u32, u32)>, id: u32, h: u32) {
    table.insert_unique(spread(h), (id, h), |&(_, hh)| spread(hh));
}

/// A look-up table of the entries whose kept hashes `hashes` gives, in id order.
fn table_of(n: usize, hashes: impl Iterator<Item = u32>) -> hashbrown::HashTable<(u32, u32)> {
    let mut table = hashbrown::HashTable::with_capacity(n);
    for (id, h) in hashes.enumerate() {
        add_to(&mut table, id as u32, h);
    }
    table
}

impl ResourceStore {
    fn len(&self) -> usize {
        self.spans.len()
    }

    fn bytes(&self, id: u32) -> &[u8] {
        bytes_of(&self.blocks, &self.spans, id)
    }

    fn get(&self, id: u32) -> Resource {
        Resource::from_packed(self.bytes(id))
    }

    fn id(&mut self, r: &Resource) -> u32 {
        self.id_packed(r.packed())
    }

    /// The id of a resource given as its packed form.
    fn id_packed(&mut self, b: &[u8]) -> u32 {
        if self.table.len() < self.spans.len() {
            self.rebuild();
        }
        let h = hash_bytes(b);
        let (blocks, spans) = (&self.blocks, &self.spans);
        if let Some(&(i, _)) = self.table.find(spread(h), |&(i, hh)| {
            hh == h && bytes_of(blocks, spans, i) == b
        }) {
            return i;
        }
        let fits = self
            .blocks
            .last()
            .is_some_and(|last| last.capacity() - last.len() >= b.len());
        if !fits {
            self.blocks.push(Vec::with_capacity(BLOCK.max(b.len())));
        }
        let block = self.blocks.len() - 1;
        let last = &mut self.blocks[block];
        let start = last.len();
        last.extend_from_slice(b);
        let id = self.spans.len() as u32;
        self.spans
            .push((block as u32, start as u32, b.len() as u32));
        add_to(&mut self.table, id, h);
        id
    }

    /// The look-up table again, after [`ResourceStore::release`].
    fn rebuild(&mut self) {
        let hashes = (0..self.spans.len() as u32).map(|id| hash_bytes(self.bytes(id)));
        self.table = table_of(self.spans.len(), hashes);
    }

    /// Frees the look-up table; the next look-up builds it again.
    fn release(&mut self) {
        self.table = hashbrown::HashTable::new();
    }

    fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.spans.len() as u32).collect();
        order.sort_unstable_by(|a, b| Resource::cmp_packed(self.bytes(*a), self.bytes(*b)));
        let mut rank = vec![0; order.len()];
        for (r, id) in order.into_iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        rank
    }
}

/// The distinct permissions and their tallies, in blocks of fixed size (growing never copies
/// nor doubles them), found by a table of their indices.
#[derive(Debug, Clone, Default)]
struct PermTable {
    blocks: Vec<Vec<(Key, Tally)>>,
    len: usize,
    /// Each entry's index and the hash it was stored under.
    table: hashbrown::HashTable<(u32, u32)>,
}

/// Entries per block of a [`PermTable`].
const PERM_BLOCK: usize = 1 << 14;

fn hash_key(k: &Key) -> u32 {
    use std::hash::BuildHasher as _;
    (FxBuildHasher.hash_one(k) >> 32) as u32
}

impl PermTable {
    fn at(blocks: &[Vec<(Key, Tally)>], i: u32) -> &(Key, Tally) {
        &blocks[i as usize / PERM_BLOCK][i as usize % PERM_BLOCK]
    }

    /// The tally of `key`, a new one (made by `new`) when the key is new.
    fn entry(&mut self, key: Key, new: impl FnOnce() -> Tally) -> (&mut Tally, bool) {
        let (_, t, new) = self.entry_at(key, new);
        (t, new)
    }

    /// As [`PermTable::entry`], with the entry's index (which never changes).
    fn entry_at(&mut self, key: Key, new: impl FnOnce() -> Tally) -> (u32, &mut Tally, bool) {
        if self.table.len() < self.len {
            self.rebuild();
        }
        let h = hash_key(&key);
        let blocks = &self.blocks;
        if let Some(&(i, _)) = self.table.find(spread(h), |&(i, hh)| {
            hh == h && PermTable::at(blocks, i).0 == key
        }) {
            let e = &mut self.blocks[i as usize / PERM_BLOCK][i as usize % PERM_BLOCK];
            return (i, &mut e.1, false);
        }
        let i = self.len as u32;
        if self.len % PERM_BLOCK == 0 {
            self.blocks.push(Vec::with_capacity(PERM_BLOCK));
        }
        let last = self.blocks.len() - 1;
        self.blocks[last].push((key, new()));
        self.len += 1;
        add_to(&mut self.table, i, h);
        let e = &mut self.blocks[last];
        let n = e.len() - 1;
        (i, &mut e[n].1, true)
    }

    /// The look-up table again, after [`PermTable::release`].
    fn rebuild(&mut self) {
        let hashes = self.blocks.iter().flatten().map(|(k, _)| hash_key(k));
        self.table = table_of(self.len, hashes);
    }

    /// Frees the look-up table; the next look-up builds it again.
    fn release(&mut self) {
        self.table = hashbrown::HashTable::new();
    }

    /// The tally of the entry at `i` (an index [`PermTable::entry_at`] gave).
    fn tally_at(&mut self, i: u32) -> Option<&mut Tally> {
        self.blocks
            .get_mut(i as usize / PERM_BLOCK)?
            .get_mut(i as usize % PERM_BLOCK)
            .map(|e| &mut e.1)
    }

    fn iter(&self) -> impl Iterator<Item = &(Key, Tally)> {
        self.blocks.iter().flatten()
    }

    /// The entries `range` of the order they were added in.
    fn range(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = &(Key, Tally)> {
        let end = range.end.min(self.len);
        (range.start.min(end)..end).map(|i| PermTable::at(&self.blocks, i as u32))
    }

    fn tallies_mut(&mut self) -> impl Iterator<Item = &mut Tally> {
        self.blocks.iter_mut().flatten().map(|(_, t)| t)
    }
}

/// A distinct permission: ids into the interners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    principal: u32,
    action: u32,
    resource: u32,
    condition: u32,
}

/// Counts and first evidence, the evidence's source an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tally {
    ok: u64,
    failed: u64,
    line: u64,
    source: u32,
    /// The request contexts of its calls: one context id, `CTX_SET | i` for a set of them,
    /// `CTX_MORE`, or `NONE` (a diagnostic's).
    ctx: u32,
}

/// A permission seen, its resource borrowed in its packed form.
pub(crate) struct SeenPacked<'a> {
    pub(crate) principal: Option<&'a str>,
    pub(crate) action: &'a str,
    pub(crate) resource: Packed<'a>,
    pub(crate) condition: Option<&'a ConditionBlock>,
    pub(crate) stats: Stats,
}

/// A permission seen, as [`Observed::permissions`] lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen<'a> {
    /// The principal (for `--group-by`), if the calls named one.
    pub principal: Option<&'a str>,
    /// The IAM action.
    pub action: &'a str,
    /// The resource.
    pub resource: Resource,
    /// The condition, if the permission is only needed under one.
    pub condition: Option<&'a ConditionBlock>,
    /// Counts and first evidence.
    pub stats: Stats,
    /// What its calls told of the request context.
    pub contexts: Contexts<'a>,
}

/// The distinct request contexts of a permission's calls (see [`RequestContext`]), as
/// [`Seen::contexts`] gives them.
#[derive(Clone, Copy)]
pub struct Contexts<'a> {
    observed: &'a Observed,
    ctx: u32,
}

impl<'a> Contexts<'a> {
    /// The contexts, sorted; and `false` when the calls told more than are kept (16), so the
    /// list is not all of them.
    pub fn list(&self) -> (Vec<&'a RequestContext>, bool) {
        let o = self.observed;
        let mut v: Vec<&RequestContext> = match self.ctx {
            NONE | CTX_MORE => Vec::new(),
            c if c & CTX_SET != 0 => o.context_sets[(c & !CTX_SET) as usize]
                .iter()
                .map(|&i| o.contexts.get(i))
                .collect(),
            c => vec![o.contexts.get(c)],
        };
        v.sort();
        (v, self.ctx != CTX_MORE)
    }
}

impl PartialEq for Contexts<'_> {
    fn eq(&self, other: &Contexts<'_>) -> bool {
        self.list() == other.list()
    }
}

impl std::fmt::Debug for Contexts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (list, complete) = self.list();
        f.debug_struct("Contexts")
            .field("list", &list)
            .field("complete", &complete)
            .finish()
    }
}

impl Seen<'_> {
    /// The permission, owned.
    pub fn permission(&self) -> Permission {
        Permission {
            action: self.action.to_owned(),
            resource: self.resource.clone(),
            condition: self.condition.cloned(),
        }
    }
}

/// The set of permissions seen, with counts and first evidence, plus the diagnostics.
///
/// It only accumulates: the engine ([`crate::derive`]) or a [`crate::Pipeline`] says what each
/// call needs, and [`add`](Observed::add) counts it. Merging is commutative and associative:
/// partial results from many processes or threads combine into the same answer in any order.
///
/// ```
/// use leastpriv::{derive, Call, Observed, Rules, Source};
/// let rules = Rules::builtin();
/// let call = Call::new("sqs", "ListQueues", serde_json::json!({}));
/// let mut a = Observed::new();
/// a.add(&derive(&rules, &call), None, true, &Source::label("test"));
/// let mut b = Observed::from_bytes(&a.to_bytes()).unwrap();
/// b.merge(&a);
/// assert_eq!(b.len(), 1);
/// assert_eq!(b.counts().calls, 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Observed {
    principals: Interner<Arc<str>>,
    actions: Interner<Box<str>>,
    resources: ResourceStore,
    conditions: Interner<ConditionBlock>,
    sources: Interner<Arc<str>>,
    /// Request contexts, and the sets of them of permissions that saw several.
    contexts: Interner<RequestContext>,
    context_sets: Vec<Vec<u32>>,
    permissions: PermTable,
    diagnostics: IndexMap<Diagnostic, Tally, FxBuildHasher>,
    counts: Counts,
    malformed_at: BTreeSet<Evidence>,
    /// The last evidence source and principal counted, and their ids (calls come in runs).
    last_source: Option<(Arc<str>, u32)>,
    last_principal: Option<(u32, u32)>,
}

/// What the engine derived for one call, in one [`Observed`]'s ids: counting it again for an
/// equal call needs no look-up of actions, resources or diagnostics.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interned {
    /// (action, resource, condition) ids.
    pub(crate) perms: Vec<(u32, u32, u32)>,
    /// Diagnostic indices.
    pub(crate) diags: Vec<u32>,
    /// The request context's id.
    pub(crate) ctx: u32,
}

impl PartialEq for Observed {
    fn eq(&self, other: &Observed) -> bool {
        self.counts == other.counts
            && self.malformed_at == other.malformed_at
            && self.permissions().eq(other.permissions())
            && self.diagnostics() == other.diagnostics()
    }
}

impl Observed {
    /// An empty set.
    pub fn new() -> Observed {
        Observed::default()
    }

    /// Frees the tables that find a resource or a permission already counted (about a tenth
    /// of what each distinct permission takes), for a caller done counting that goes on to
    /// build output. Nothing is lost: counting or merging again builds them anew first.
    pub fn release_lookups(&mut self) {
        self.resources.release();
        self.permissions.release();
    }

    fn source_id(&mut self, label: &str) -> u32 {
        self.sources.id(label, Arc::from)
    }

    /// Counts one call: what the engine derived for it, whose it was, whether it succeeded
    /// and where it was seen.
    pub fn add(&mut self, derived: &Derived, principal: Option<&str>, ok: bool, source: &Source) {
        let mut ids = Interned::default();
        self.intern(derived, &mut ids);
        self.count(&ids, principal, ok, source);
    }

    /// Stores what `derived` names (actions, resources, conditions, diagnostics) and gives
    /// their ids in `out` (cleared first). Ids stay valid for the life of this set.
    pub(crate) fn intern(&mut self, derived: &Derived, out: &mut Interned) {
        out.perms.clear();
        out.diags.clear();
        out.ctx = self.contexts.id(&derived.context, RequestContext::clone);
        for p in &derived.permissions {
            out.perms.push((
                self.actions.id(p.action.as_str(), Box::from),
                self.resources.id(&p.resource),
                match &p.condition {
                    Some(c) => self.conditions.id(c, ConditionBlock::clone),
                    None => NONE,
                },
            ));
        }
        for d in &derived.diagnostics {
            let i = match self.diagnostics.get_index_of(d) {
                Some(i) => i,
                None => {
                    // Counted from nothing by `count`.
                    self.diagnostics
                        .insert_full(
                            d.clone(),
                            Tally {
                                ok: 0,
                                failed: 0,
                                line: u64::MAX,
                                source: NONE,
                                ctx: NONE,
                            },
                        )
                        .0
                }
            };
            out.diags.push(i as u32);
        }
    }

    /// Counts one call whose derivation is `ids` (from [`Observed::intern`] on this set).
    pub(crate) fn count(
        &mut self,
        ids: &Interned,
        principal: Option<&str>,
        ok: bool,
        source: &Source,
    ) {
        let principal = self.principal_id(principal);
        self.count_keys(&ids.perms, &ids.diags, ids.ctx, principal, ok, source, None);
    }

    /// The id of a call's principal (`NONE` for none), interned.
    pub(crate) fn principal_id(&mut self, principal: Option<&str>) -> u32 {
        match principal {
            Some(p) => match self.last_principal {
                Some((id, len)) if len as usize == p.len() && &**self.principals.get(id) == p => id,
                _ => {
                    let id = self.principals.id(p, Arc::from);
                    self.last_principal = Some((id, p.len() as u32));
                    id
                }
            },
            None => NONE,
        }
    }

    /// The source id of a call's evidence.
    fn source_of(&mut self, source: &Source) -> u32 {
        match (&source.label, &self.last_source) {
            (Some(l), Some((last, id))) if Arc::ptr_eq(l, last) => *id,
            (Some(l), _) => {
                let id = self.source_id(l);
                self.last_source = Some((Arc::clone(l), id));
                id
            }
            (None, _) => self.source_id(""),
        }
    }

    /// Counts one call: its permissions (ids, with the principal's id), each entry's index
    /// written to `slots` when given (as many as `perms`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn count_keys(
        &mut self,
        perms: &[(u32, u32, u32)],
        diags: &[u32],
        ctx: u32,
        principal: u32,
        ok: bool,
        source: &Source,
        mut slots: Option<&mut [u32]>,
    ) {
        let src = self.source_of(source);
        let line = source.line.unwrap_or(0);
        for (n, &(action, resource, condition)) in perms.iter().enumerate() {
            let key = Key {
                principal,
                action,
                resource,
                condition,
            };
            let sources = &self.sources;
            let (i, t, new) = self
                .permissions
                .entry_at(key, || new_tally(ok, src, line, ctx));
            if !new {
                count_with_context(t, ok, src, line, ctx, sources, &mut self.context_sets);
            }
            if let Some(slot) = slots.as_deref_mut().and_then(|s| s.get_mut(n)) {
                *slot = i;
            }
        }
        self.count_diagnostics(diags, ok, src, line);
    }

    /// Counts one call whose permissions are the entries at `slots` (indices
    /// [`Observed::count_keys`] gave, for the same principal), with no look-up.
    pub(crate) fn count_slots(
        &mut self,
        slots: &[u32],
        diags: &[u32],
        ctx: u32,
        ok: bool,
        source: &Source,
    ) {
        let src = self.source_of(source);
        let line = source.line.unwrap_or(0);
        for &i in slots {
            let sources = &self.sources;
            if let Some(t) = self.permissions.tally_at(i) {
                count_with_context(t, ok, src, line, ctx, sources, &mut self.context_sets);
            }
        }
        self.count_diagnostics(diags, ok, src, line);
    }

    fn count_diagnostics(&mut self, diags: &[u32], ok: bool, src: u32, line: u64) {
        for &i in diags {
            let sources = &self.sources;
            if let Some((_, t)) = self.diagnostics.get_index_mut(i as usize) {
                count(t, ok, src, line, sources);
            }
        }
        self.counts.calls += 1;
    }

    /// Adds a diagnostic (with its count and first evidence), as a reader does for what it
    /// finds beside the calls.
    pub fn note(&mut self, diagnostic: Diagnostic, stats: &Stats) {
        let t = self.tally_of(stats);
        merge_diagnostic(&mut self.diagnostics, diagnostic, t, &self.sources);
    }

    fn tally_of(&mut self, stats: &Stats) -> Tally {
        Tally {
            ok: stats.ok,
            failed: stats.failed,
            line: stats.first.line,
            source: self.source_id(&stats.first.source),
            ctx: NONE,
        }
    }

    fn stats_of(&self, t: &Tally) -> Stats {
        Stats {
            ok: t.ok,
            failed: t.failed,
            first: match self.sources.0.get_index(t.source as usize) {
                Some(source) => Evidence {
                    source: Arc::clone(source),
                    line: t.line,
                },
                None => Evidence::default(),
            },
        }
    }

    /// Counts a skipped event (its event name did not match).
    pub fn count_skipped(&mut self) {
        self.counts.skipped += 1;
    }

    /// Counts `n` skipped events.
    pub fn count_skipped_n(&mut self, n: u64) {
        self.counts.skipped += n;
    }

    /// Counts a malformed event skipped in lenient mode, remembering where it was.
    pub fn count_malformed(&mut self, at: Evidence) {
        self.counts.malformed += 1;
        self.malformed_at.insert(at);
        self.trim_malformed();
    }

    /// Adds everything in `other`, taking it whole when nothing was counted here yet.
    pub fn absorb(&mut self, other: Observed) {
        let blank = self.permissions.len == 0
            && self.diagnostics.is_empty()
            && self.counts == Counts::default()
            && self.malformed_at.is_empty()
            && self.sources.0.is_empty();
        if blank {
            *self = other;
        } else {
            self.merge(&other);
        }
    }

    /// Adds everything in `other`.
    pub fn merge(&mut self, other: &Observed) {
        // Ids of `other` → ids here, each value looked up once.
        let map = |from: &Interner<Arc<str>>, to: &mut Interner<Arc<str>>| -> Vec<u32> {
            from.0.iter().map(|v| to.id(&**v, Arc::from)).collect()
        };
        let principals = map(&other.principals, &mut self.principals);
        let sources = map(&other.sources, &mut self.sources);
        let actions: Vec<u32> = other
            .actions
            .0
            .iter()
            .map(|a| self.actions.id(&**a, Box::from))
            .collect();
        let resources: Vec<u32> = (0..other.resources.len() as u32)
            .map(|i| self.resources.id_packed(other.resources.bytes(i)))
            .collect();
        let conditions: Vec<u32> = other
            .conditions
            .0
            .iter()
            .map(|c| self.conditions.id(c, ConditionBlock::clone))
            .collect();
        let contexts: Vec<u32> = other
            .contexts
            .0
            .iter()
            .map(|c| self.contexts.id(c, RequestContext::clone))
            .collect();
        let remap = |id: u32, ids: &[u32]| if id == NONE { NONE } else { ids[id as usize] };
        for (k, t) in other.permissions.iter() {
            let key = Key {
                principal: remap(k.principal, &principals),
                action: actions[k.action as usize],
                resource: resources[k.resource as usize],
                condition: remap(k.condition, &conditions),
            };
            let theirs = t.ctx;
            let t = Tally {
                source: sources[t.source as usize],
                ctx: NONE,
                ..*t
            };
            let (s, new) = self.permissions.entry(key, || t);
            if !new {
                add_tally(s, &t, &self.sources);
            }
            match theirs {
                NONE => {}
                CTX_MORE => add_context(s, CTX_MORE, &mut self.context_sets),
                c if c & CTX_SET != 0 => {
                    for &i in context_ids(c, &other.context_sets) {
                        add_context(s, contexts[i as usize], &mut self.context_sets);
                    }
                }
                c => add_context(s, contexts[c as usize], &mut self.context_sets),
            }
        }
        for (d, t) in &other.diagnostics {
            let t = Tally {
                source: remap(t.source, &sources),
                ..*t
            };
            merge_diagnostic(&mut self.diagnostics, d.clone(), t, &self.sources);
        }
        self.counts.calls += other.counts.calls;
        self.counts.skipped += other.counts.skipped;
        self.counts.malformed += other.counts.malformed;
        self.malformed_at.extend(other.malformed_at.iter().cloned());
        self.trim_malformed();
    }

    /// Renames evidence sources: a source `map` knows becomes the label it gives, its lines
    /// (other than 0, "no line") moved on by the offset it gives. First evidence stays first
    /// when the renaming keeps the order of (source, line), as a part's label and lines do.
    pub(crate) fn relabel<'m>(&mut self, map: impl Fn(&str) -> Option<(&'m str, u64)>) {
        let mut sources: Interner<Arc<str>> = Interner::default();
        let remap: Vec<(u32, u64)> = self
            .sources
            .0
            .iter()
            .map(|s| match map(s) {
                Some((to, offset)) => (sources.id(to, Arc::from), offset),
                None => (sources.id(&**s, Arc::from), 0),
            })
            .collect();
        for t in self
            .permissions
            .tallies_mut()
            .chain(self.diagnostics.values_mut())
        {
            if t.source != NONE
                && let Some(&(id, offset)) = remap.get(t.source as usize)
            {
                t.source = id;
                if t.line > 0 {
                    t.line += offset;
                }
            }
        }
        self.malformed_at = std::mem::take(&mut self.malformed_at)
            .into_iter()
            .map(|e| match map(&e.source) {
                Some((to, offset)) => Evidence {
                    source: Arc::from(to),
                    line: if e.line > 0 { e.line + offset } else { 0 },
                },
                None => e,
            })
            .collect();
        self.trim_malformed();
        self.sources = sources;
        self.last_source = None;
    }

    /// Adds `offset` to every line of evidence from `label` (a part of a file read by itself,
    /// its lines numbered from 1, placed after the lines before it).
    pub(crate) fn shift_lines(&mut self, label: &str, offset: u64) {
        let Some(src) = self.sources.0.get_index_of(label).map(|i| i as u32) else {
            return;
        };
        for t in self
            .permissions
            .tallies_mut()
            .chain(self.diagnostics.values_mut())
        {
            if t.source == src && t.line > 0 {
                t.line += offset;
            }
        }
        self.malformed_at = std::mem::take(&mut self.malformed_at)
            .into_iter()
            .map(|mut e| {
                if &*e.source == label && e.line > 0 {
                    e.line += offset;
                }
                e
            })
            .collect();
    }

    /// Keeps the first [`MALFORMED_KEPT`] malformed-event locations (by source and line).
    fn trim_malformed(&mut self) {
        while self.malformed_at.len() > MALFORMED_KEPT {
            self.malformed_at.pop_last();
        }
    }

    /// Number of distinct (principal, permission) pairs.
    pub fn len(&self) -> usize {
        self.permissions.len
    }

    /// `true` if no permission was seen.
    pub fn is_empty(&self) -> bool {
        self.permissions.len == 0
    }

    /// Event counts.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Where malformed events were skipped (the first 100 by source and line).
    pub fn malformed_at(&self) -> impl Iterator<Item = &Evidence> {
        self.malformed_at.iter()
    }

    /// Every permission seen, sorted by principal, action, resource and condition; each is
    /// made as it is handed out, so going through them holds one at a time.
    pub fn permissions(&self) -> impl ExactSizeIterator<Item = Seen<'_>> + '_ {
        let pr = self.principals.ranks();
        let ac = self.actions.ranks();
        let re = self.resources.ranks();
        let co = self.conditions.ranks();
        let rank = |id: u32, ranks: &[u32]| {
            if id == NONE {
                0
            } else {
                u64::from(ranks[id as usize]) + 1
            }
        };
        let mut keys: Vec<(&Key, &Tally)> = self.permissions.iter().map(|(k, t)| (k, t)).collect();
        keys.sort_unstable_by_key(|(k, _)| {
            (
                rank(k.principal, &pr),
                ac[k.action as usize],
                re[k.resource as usize],
                rank(k.condition, &co),
            )
        });
        keys.into_iter().map(move |(k, t)| self.seen(k, t))
    }

    /// Every permission seen, in no particular order (for a caller that orders them its own
    /// way: no sorting is done).
    pub fn permissions_unordered(&self) -> impl ExactSizeIterator<Item = Seen<'_>> + '_ {
        let iter = self.permissions.iter();
        struct Exact<I>(I, usize);
        impl<I: Iterator> Iterator for Exact<I> {
            type Item = I::Item;
            fn next(&mut self) -> Option<I::Item> {
                let x = self.0.next();
                if x.is_some() {
                    self.1 -= 1;
                }
                x
            }
            fn size_hint(&self) -> (usize, Option<usize>) {
                (self.1, Some(self.1))
            }
        }
        impl<I: Iterator> ExactSizeIterator for Exact<I> {}
        Exact(iter, self.permissions.len).map(move |(k, t)| self.seen(k, t))
    }

    /// As [`Observed::permissions_unordered`] (the permissions `range` of that order), each
    /// resource borrowed in its packed form (no copy made per permission) and without the
    /// contexts.
    pub(crate) fn permissions_packed_range(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl Iterator<Item = SeenPacked<'_>> + '_ {
        self.permissions.range(range).map(move |(k, t)| SeenPacked {
            principal: (k.principal != NONE).then(|| &**self.principals.get(k.principal)),
            action: self.actions.get(k.action),
            resource: Packed(self.resources.bytes(k.resource)),
            condition: (k.condition != NONE).then(|| self.conditions.get(k.condition)),
            stats: self.stats_of(t),
        })
    }

    fn seen<'a>(&'a self, k: &Key, t: &Tally) -> Seen<'a> {
        Seen {
            principal: (k.principal != NONE).then(|| &**self.principals.get(k.principal)),
            action: self.actions.get(k.action),
            resource: self.resources.get(k.resource),
            condition: (k.condition != NONE).then(|| self.conditions.get(k.condition)),
            stats: self.stats_of(t),
            contexts: Contexts {
                observed: self,
                ctx: t.ctx,
            },
        }
    }

    /// Every diagnostic with its stats, sorted.
    pub fn diagnostics(&self) -> Vec<(&Diagnostic, Stats)> {
        let mut v: Vec<_> = self
            .diagnostics
            .iter()
            .map(|(d, t)| (d, self.stats_of(t)))
            .collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// The versioned serialized form, shared by the CLI and the bindings. Deterministic: equal
    /// sets give identical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let doc = SerializedOut {
            format: FORMAT,
            version: VERSION,
            counts: self.counts,
            malformed_at: self.malformed_at.iter().collect(),
            permissions: SerSeq(std::cell::RefCell::new(Some(self.permissions().map(|s| {
                let (list, complete) = s.contexts.list();
                let told = !(complete && list.iter().all(|c| c.is_empty()));
                SerPermissionOut {
                    principal: s.principal,
                    action: s.action,
                    resource: s.resource,
                    condition: s.condition,
                    stats: s.stats,
                    contexts: told.then_some(list),
                    contexts_complete: complete,
                }
            })))),
            diagnostics: self
                .diagnostics()
                .into_iter()
                .map(|(d, s)| SerDiagnostic {
                    diagnostic: d.clone(),
                    stats: s,
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
            let key = Key {
                principal: match &p.principal {
                    Some(pr) => o.principals.id(pr.as_str(), Arc::from),
                    None => NONE,
                },
                action: o.actions.id(p.permission.action.as_str(), Box::from),
                resource: o.resources.id(&p.permission.resource),
                condition: match &p.permission.condition {
                    Some(c) => o.conditions.id(c, ConditionBlock::clone),
                    None => NONE,
                },
            };
            if p.contexts.len() > CONTEXTS_KEPT
                || p.contexts
                    .iter()
                    .flatten()
                    .any(|(k, _)| !crate::spec::is_condition_key(k))
            {
                return Err(Error::new(
                    ErrorKind::Serialization,
                    format!(
                        "permission {}: more than {CONTEXTS_KEPT} request contexts, or a key that is not an IAM condition key",
                        i + 1
                    ),
                )
                .with_field(format!("permissions[{i}].contexts")));
            }
            let mut ids: Vec<u32> = p
                .contexts
                .iter()
                .map(|c| o.contexts.id(c, RequestContext::clone))
                .collect();
            if ids.is_empty() {
                ids.push(o.contexts.id(&RequestContext::new(), RequestContext::clone));
            }
            let t = o.tally_of(&p.stats);
            let (s, new) = o.permissions.entry(key, || t);
            if !new {
                add_tally(s, &t, &o.sources);
            }
            for id in ids {
                add_context(s, id, &mut o.context_sets);
            }
            if !p.contexts_complete {
                add_context(s, CTX_MORE, &mut o.context_sets);
            }
        }
        for d in doc.diagnostics {
            let t = o.tally_of(&d.stats);
            merge_diagnostic(&mut o.diagnostics, d.diagnostic, t, &o.sources);
        }
        Ok(o)
    }
}

fn new_tally(ok: bool, source: u32, line: u64, ctx: u32) -> Tally {
    Tally {
        ok: u64::from(ok),
        failed: u64::from(!ok),
        line,
        source,
        ctx,
    }
}

/// Adds request context `ctx` (an id, or `CTX_MORE`) to a permission's tally.
fn add_context(t: &mut Tally, ctx: u32, sets: &mut Vec<Vec<u32>>) {
    if ctx == NONE || t.ctx == ctx || t.ctx == CTX_MORE {
        return;
    }
    if ctx == CTX_MORE {
        if t.ctx & CTX_SET != 0 && t.ctx != NONE {
            sets[(t.ctx & !CTX_SET) as usize] = Vec::new();
        }
        t.ctx = CTX_MORE;
        return;
    }
    match t.ctx {
        NONE => t.ctx = ctx,
        c if c & CTX_SET != 0 => {
            let set = &mut sets[(c & !CTX_SET) as usize];
            if let Err(i) = set.binary_search(&ctx) {
                if set.len() >= CONTEXTS_KEPT {
                    *set = Vec::new();
                    t.ctx = CTX_MORE;
                } else {
                    set.insert(i, ctx);
                }
            }
        }
        c => {
            sets.push(if c < ctx { vec![c, ctx] } else { vec![ctx, c] });
            t.ctx = CTX_SET | (sets.len() - 1) as u32;
        }
    }
}

/// The context ids (or `CTX_MORE`) a tally's `ctx` stands for, in `sets`.
fn context_ids(ctx: u32, sets: &[Vec<u32>]) -> &[u32] {
    match ctx {
        NONE | CTX_MORE => &[],
        c if c & CTX_SET != 0 => &sets[(c & !CTX_SET) as usize],
        _ => &[],
    }
}

/// `true` when evidence (`source`, `line`) comes before the tally's first.
fn earlier(t: &Tally, source: u32, line: u64, sources: &Interner<Arc<str>>) -> bool {
    if t.source == NONE {
        return true;
    }
    if source == t.source {
        line < t.line
    } else {
        (&**sources.get(source), line) < (&**sources.get(t.source), t.line)
    }
}

/// Counts one more call of a permission already seen, in the request context `ctx`.
fn count_with_context(
    t: &mut Tally,
    ok: bool,
    source: u32,
    line: u64,
    ctx: u32,
    sources: &Interner<Arc<str>>,
    sets: &mut Vec<Vec<u32>>,
) {
    count(t, ok, source, line, sources);
    if t.ctx != ctx {
        add_context(t, ctx, sets);
    }
}

fn count(t: &mut Tally, ok: bool, source: u32, line: u64, sources: &Interner<Arc<str>>) {
    if ok {
        t.ok = t.ok.saturating_add(1);
    } else {
        t.failed = t.failed.saturating_add(1);
    }
    if earlier(t, source, line, sources) {
        t.source = source;
        t.line = line;
    }
}

/// Adds a tally to a diagnostic's.
fn merge_diagnostic(
    map: &mut IndexMap<Diagnostic, Tally, FxBuildHasher>,
    key: Diagnostic,
    t: Tally,
    sources: &Interner<Arc<str>>,
) {
    match map.get_mut(&key) {
        Some(s) => add_tally(s, &t, sources),
        None => {
            map.insert(key, t);
        }
    }
}

fn add_tally(s: &mut Tally, t: &Tally, sources: &Interner<Arc<str>>) {
    s.ok = s.ok.saturating_add(t.ok);
    s.failed = s.failed.saturating_add(t.failed);
    if earlier(s, t.source, t.line, sources) {
        s.source = t.source;
        s.line = t.line;
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

#[derive(Deserialize)]
struct Serialized {
    #[allow(dead_code)]
    format: String,
    #[allow(dead_code)]
    version: u32,
    counts: Counts,
    #[serde(default)]
    malformed_at: Vec<Evidence>,
    permissions: Vec<SerPermission>,
    diagnostics: Vec<SerDiagnostic>,
}

#[derive(Serialize)]
#[serde(bound(serialize = "I: Iterator<Item = SerPermissionOut<'a>>"))]
struct SerializedOut<'a, I: Iterator<Item = SerPermissionOut<'a>>> {
    format: &'static str,
    version: u32,
    counts: Counts,
    malformed_at: Vec<&'a Evidence>,
    permissions: SerSeq<I>,
    diagnostics: Vec<SerDiagnostic>,
}

/// Serializes an iterator as a sequence, once.
struct SerSeq<I>(std::cell::RefCell<Option<I>>);

impl<T: Serialize, I: Iterator<Item = T>> Serialize for SerSeq<I> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let items = self.0.borrow_mut().take();
        serializer.collect_seq(items.into_iter().flatten())
    }
}

#[derive(Deserialize)]
struct SerPermission {
    #[serde(default)]
    principal: Option<String>,
    #[serde(flatten)]
    permission: Permission,
    #[serde(flatten)]
    stats: Stats,
    #[serde(default)]
    contexts: Vec<RequestContext>,
    #[serde(default = "yes")]
    contexts_complete: bool,
}

/// The serialized permission, borrowed: the same fields, in the same order, as
/// [`SerPermission`] with [`Permission`] and [`Stats`] flattened into it.
#[derive(Serialize)]
struct SerPermissionOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<&'a str>,
    action: &'a str,
    resource: Resource,
    #[serde(skip_serializing_if = "Option::is_none")]
    condition: Option<&'a ConditionBlock>,
    #[serde(flatten)]
    stats: Stats,
    #[serde(skip_serializing_if = "Option::is_none")]
    contexts: Option<Vec<&'a RequestContext>>,
    #[serde(skip_serializing_if = "is_true")]
    contexts_complete: bool,
}

fn is_true(b: &bool) -> bool {
    *b
}

fn yes() -> bool {
    true
}

#[derive(Serialize, Deserialize)]
struct SerDiagnostic {
    #[serde(flatten)]
    diagnostic: Diagnostic,
    #[serde(flatten)]
    stats: Stats,
}
