//! From [`Observed`] to policy documents: filling and mapping context fields, S3 key
//! generalisation, grouping into statements, stable Sids and size splitting.

use crate::arn::{Field, Packed, Resource, ResourceBuilder, SegRef, partition_of_region};
use crate::derive::{ConditionBlock, Diagnostic, DiagnosticKind};
use crate::error::{Error, ErrorKind, Result};
use crate::observed::{Evidence, Observed, Stats};
use crate::rewrite::{RandomName, RewriteRule, Rewriter, Target};
use indexmap::IndexMap;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// How `--s3-objects` treats S3 object keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum S3Objects {
    /// Every key as it was used.
    Exact,
    /// Per bucket and action: one key stays exact, several become their longest common
    /// prefix (cut after a `/`) followed by `*`.
    #[default]
    Prefix,
    /// `bucket/*`.
    Bucket,
}

impl std::str::FromStr for S3Objects {
    type Err = Error;
    fn from_str(s: &str) -> Result<S3Objects> {
        match s {
            "exact" => Ok(S3Objects::Exact),
            "prefix" => Ok(S3Objects::Prefix),
            "bucket" => Ok(S3Objects::Bucket),
            other => Err(Error::new(
                ErrorKind::Usage,
                format!("s3 objects mode `{other}`: expected exact, prefix or bucket"),
            )),
        }
    }
}

/// Which calls count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutcomeFilter {
    /// Only calls that succeeded.
    Ok,
    /// Every call: one that failed (with AccessDenied, say) still needed its permission.
    #[default]
    All,
}

impl std::str::FromStr for OutcomeFilter {
    type Err = Error;
    fn from_str(s: &str) -> Result<OutcomeFilter> {
        match s {
            "ok" => Ok(OutcomeFilter::Ok),
            "all" => Ok(OutcomeFilter::All),
            other => Err(Error::new(
                ErrorKind::Usage,
                format!("outcome `{other}`: expected ok or all"),
            )),
        }
    }
}

/// IAM's limit for a managed policy, in characters other than whitespace.
pub const MANAGED_POLICY_LIMIT: usize = 6144;

/// Options for [`build_policies`] and [`permission_lines`].
#[derive(Debug, Clone)]
pub struct PolicyOptions {
    /// The policy name (file names, Terraform block names). Default `leastpriv`.
    pub name: String,
    /// Region for resources whose region is unknown.
    pub region: Option<String>,
    /// Account for resources whose account is unknown.
    pub account: Option<String>,
    /// Partition for resources whose partition is unknown (else derived from the region).
    pub partition: Option<String>,
    /// Account ids to rewrite (`123456789012` → the target account).
    pub map_account: Vec<(String, String)>,
    /// Regions to rewrite.
    pub map_region: Vec<(String, String)>,
    /// Which calls count.
    pub outcome: OutcomeFilter,
    /// Action globs to leave out (`s3:*`, `sts:Get*`), case-insensitive.
    pub exclude: Vec<String>,
    /// S3 key generalisation.
    pub s3_objects: S3Objects,
    /// One policy per principal.
    pub group_by: bool,
    /// Size limit per document (non-whitespace characters).
    pub max_size: usize,
    /// Rewrite rules: test names to production names or Terraform expressions.
    pub rewrite: Vec<RewriteRule>,
    /// The environment the policy is for (`<env>` in rewrite templates).
    pub env: Option<String>,
    /// The environment's values (`<NAME>` in rewrite templates).
    pub values: BTreeMap<String, String>,
    /// What the policy is built for: literal names, or Terraform expressions where the
    /// rewrite rules give them.
    pub target: Target,
}

impl Default for PolicyOptions {
    fn default() -> Self {
        PolicyOptions {
            name: "leastpriv".into(),
            region: None,
            account: None,
            partition: None,
            map_account: Vec::new(),
            map_region: Vec::new(),
            outcome: OutcomeFilter::All,
            exclude: Vec::new(),
            s3_objects: S3Objects::Prefix,
            group_by: false,
            max_size: MANAGED_POLICY_LIMIT,
            rewrite: Vec::new(),
            env: None,
            values: BTreeMap::new(),
            target: Target::Json,
        }
    }
}

/// Parses `FROM=TO` (for `--map-account` and `--map-region`).
///
/// ```
/// assert_eq!(leastpriv::parse_mapping("123456789012=210987654321").unwrap(),
///            ("123456789012".to_string(), "210987654321".to_string()));
/// assert!(leastpriv::parse_mapping("nonsense").is_err());
/// ```
pub fn parse_mapping(s: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
            Ok((a.trim().to_owned(), b.trim().to_owned()))
        }
        _ => Err(Error::new(
            ErrorKind::Usage,
            format!("mapping `{s}`: expected FROM=TO"),
        )),
    }
}

pub(crate) use crate::glob::action_matches as glob_match;

impl PolicyOptions {
    fn map<'a>(pairs: &'a [(String, String)], v: &'a str) -> &'a str {
        pairs
            .iter()
            .find(|(from, _)| from == v)
            .map(|(_, to)| to.as_str())
            .unwrap_or(v)
    }

    /// A request's Region as the policy is for: `map_region` applied.
    pub fn map_requested_region<'a>(&'a self, region: &'a str) -> &'a str {
        PolicyOptions::map(&self.map_region, region)
    }

    /// Applies the account/region mappings to a resource's known fields, then fills its gaps
    /// from the options (partition from the region when not given). Borrowed when nothing
    /// changes: no mappings, and no gap to fill.
    pub fn resolve<'r>(&self, r: &'r Resource) -> Cow<'r, Resource> {
        if self.leaves_as_is(r.view()) {
            return Cow::Borrowed(r);
        }
        Cow::Owned(r.view().with_fields(self.filler(r.view())))
    }

    /// As [`PolicyOptions::resolve`], for a resource in its packed form (always a new one).
    pub(crate) fn resolve_packed(&self, r: Packed<'_>) -> Resource {
        if self.leaves_as_is(r) {
            return r.to_resource();
        }
        r.with_fields(self.filler(r))
    }

    /// `true` when resolving changes nothing: no mapping, and no gap to fill.
    fn leaves_as_is(&self, r: Packed<'_>) -> bool {
        self.map_account.is_empty() && self.map_region.is_empty() && !r.has_gap()
    }

    /// As `resolve(r).write_iam(out)`, without building the resolved resource.
    pub(crate) fn write_resolved_iam(&self, r: Packed<'_>, out: &mut String) {
        r.write_iam_with(self.filler(r), out);
    }

    /// What each field of `r` becomes: its value mapped, or a gap filled.
    fn filler<'a>(
        &'a self,
        r: Packed<'a>,
    ) -> impl Fn(Field, Option<&'a str>) -> Option<&'a str> + 'a {
        // Looked for only when a field needs it (most resources have every field, and no
        // mapping to apply).
        let own_region = move || r.field(Field::Region);
        let partition = move || {
            self.partition.as_deref().or_else(|| {
                own_region()
                    .map(|v| PolicyOptions::map(&self.map_region, v))
                    .or(self.region.as_deref())
                    .map(partition_of_region)
            })
        };
        move |f: Field, v: Option<&'a str>| match v {
            Some(v) => Some(match f {
                Field::Account => PolicyOptions::map(&self.map_account, v),
                Field::Region => PolicyOptions::map(&self.map_region, v),
                // A resource with a region moves partition only when its own region is
                // mapped to one in another partition; one without (S3) follows any such
                // mapping.
                Field::Partition if self.map_region.is_empty() => v,
                Field::Partition => match own_region() {
                    Some(from) => {
                        let to = PolicyOptions::map(&self.map_region, from);
                        if partition_of_region(from) == v {
                            partition_of_region(to)
                        } else {
                            v
                        }
                    }
                    None => self
                        .map_region
                        .iter()
                        .find(|(from, to)| {
                            partition_of_region(from) == v && partition_of_region(to) != v
                        })
                        .map(|(_, to)| partition_of_region(to))
                        .unwrap_or(v),
                },
            }),
            None => match f {
                Field::Partition => partition(),
                Field::Region => self.region.as_deref(),
                Field::Account => self.account.as_deref(),
            },
        }
    }

    pub(crate) fn included(&self, action: &str, stats: &Stats) -> bool {
        if self.outcome == OutcomeFilter::Ok && stats.ok == 0 {
            return false;
        }
        !self.exclude.iter().any(|g| glob_match(g, action))
    }
}

/// One line of `leastpriv permissions`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct PermissionLine {
    /// The action.
    pub action: String,
    /// The resource, with `*` in unknown fields.
    pub resource: String,
    /// The condition, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<ConditionBlock>,
}

/// The raw, ungeneralised (action, resource) pairs, sorted and unique, with `*` in unknown
/// fields, after the region/account options, mappings and filters.
pub fn permission_lines(observed: &Observed, opts: &PolicyOptions) -> Vec<PermissionLine> {
    let mut lines = Vec::new();
    for p in observed.permissions_unordered() {
        if !opts.included(p.action, &p.stats) {
            continue;
        }
        lines.push(PermissionLine {
            action: p.action.to_owned(),
            resource: opts.resolve(&p.resource).to_iam(),
            condition: p.condition.cloned(),
        });
    }
    lines.sort_unstable();
    lines.dedup();
    lines
}

/// A line of `leastpriv permissions`, borrowed (written as [`PermissionLine`] serializes).
struct LineRef<'a> {
    action: &'a str,
    resource: &'a str,
    condition: Option<&'a ConditionBlock>,
}

/// Writes what [`permission_lines`] returns, as [`crate::render_permission_lines`] renders it,
/// keeping only each permission's resource text: for a large run, a fraction of the memory of
/// the lines themselves.
pub fn write_permission_lines(
    observed: &Observed,
    opts: &PolicyOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    write_permission_lines_on(observed, opts, out, 1)
}

/// As [`write_permission_lines`], the lines made and sorted on up to `jobs` threads when there
/// are many permissions; the same bytes whatever `jobs` is.
pub fn write_permission_lines_on(
    observed: &Observed,
    opts: &PolicyOptions,
    out: &mut dyn std::io::Write,
    jobs: usize,
) -> std::io::Result<()> {
    write_permission_lines_of(std::slice::from_ref(observed), opts, out, jobs)
}

/// The permission lines of the merge of `parts` (as [`Pipeline::read_paths_into_parts`] hands
/// them back), without merging them: the same bytes as [`write_permission_lines`] writes for
/// the merged state (a permission is left out only where every part leaves it out, and a line
/// met in several parts is written once). Made and sorted on up to `jobs` threads.
///
/// ```
/// use leastpriv::{Call, Observed, PolicyOptions, Rules};
/// let rules = Rules::builtin();
/// // Two states (as two jobs would leave them), one object read in both.
/// let mut parts = [Observed::new(), Observed::new()];
/// for (i, key) in [(0, "a"), (1, "a"), (1, "z")] {
///     let call = Call::new("s3", "GetObject", serde_json::json!({"Bucket": "b", "Key": key}));
///     parts[i].add(&leastpriv::derive(&rules, &call), None, true, &call.source);
/// }
/// let opts = PolicyOptions { region: Some("eu-west-1".into()), ..PolicyOptions::default() };
/// let mut out = Vec::new();
/// leastpriv::write_permission_lines_of(&parts, &opts, &mut out, 2)?;
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     "{\"action\":\"s3:GetObject\",\"resource\":\"arn:aws:s3:::b/a\"}\n\
///      {\"action\":\"s3:GetObject\",\"resource\":\"arn:aws:s3:::b/z\"}\n"
/// );
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// [`Pipeline::read_paths_into_parts`]: crate::Pipeline::read_paths_into_parts
pub fn write_permission_lines_of(
    parts: &[Observed],
    opts: &PolicyOptions,
    out: &mut dyn std::io::Write,
    jobs: usize,
) -> std::io::Result<()> {
    // Each part in ranges, as many as its share of the jobs (at least one).
    let total: usize = parts.iter().map(Observed::len).sum();
    let jobs = if total < PARALLEL_MIN { 1 } else { jobs.max(1) };
    let mut work = Vec::new();
    for part in parts.iter().filter(|p| !p.is_empty()) {
        let share = ((jobs * part.len() + total / 2) / total).max(1);
        work.extend(shares(part.len(), share).1.into_iter().map(|r| (part, r)));
    }
    let jobs = jobs.min(work.len());
    let runs = on_threads(work, jobs, |(part, r)| SortedLines::of(part, opts, r));
    write_runs(&runs, jobs, SEGMENT, out)
}

/// Writes the lines of `runs`, merged (see [`merge_runs`]); with two jobs or more and lines
/// for two segments of `segment` lines or more, merged in segments on `jobs` threads.
fn write_runs(
    runs: &[SortedLines<'_>],
    jobs: usize,
    segment: usize,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let lines: usize = runs.iter().map(|r| r.items.len()).sum();
    let segments = lines / segment.max(1);
    if jobs < 2 || segments < 2 {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
        let all: Vec<_> = runs.iter().map(|r| 0..r.items.len()).collect();
        merge_runs(runs, all, &mut w)?;
        return std::io::Write::flush(&mut w);
    }
    // The lines cut into segments at the keys of evenly spaced lines of the longest run: in
    // each run, a segment starts at the first line not less than its key (lines alike fall in
    // one segment, where the merge meets them). Segments are merged on `jobs` threads, at most
    // `WINDOW` per job ahead of the one being written, and written in order.
    let Some(longest) = runs.iter().max_by_key(|r| r.items.len()) else {
        return Ok(());
    };
    let mut cuts: Vec<Vec<usize>> = vec![vec![0; runs.len()]];
    for s in 1..segments {
        let key = longest.line_of(&longest.items[longest.items.len() * s / segments]);
        cuts.push(
            runs.iter()
                .map(|r| {
                    r.items
                        .partition_point(|it| r.line_of(it).cmp_key() < key.cmp_key())
                })
                .collect(),
        );
    }
    cuts.push(runs.iter().map(|r| r.items.len()).collect());
    let range = |s: usize| -> Vec<std::ops::Range<usize>> {
        (0..runs.len())
            .map(|r| cuts[s][r]..cuts[s + 1][r])
            .collect()
    };
    let next = AtomicUsize::new(0);
    // What is written so far (segments), the segments made and not written, and whether to
    // stop (the output failed, or a job did).
    let state = Mutex::new((0usize, vec![None::<Vec<u8>>; segments], false));
    let changed = Condvar::new();
    let ahead = jobs * WINDOW;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                // A job that panics stops the writer (the panic goes on at the scope's end).
                let guard = StopOnPanic(&state, &changed);
                loop {
                    let s = next.fetch_add(1, Ordering::Relaxed);
                    if s >= segments {
                        break;
                    }
                    {
                        let mut st = lock(&state);
                        while s >= st.0 + ahead && !st.2 {
                            st = changed.wait(st).unwrap_or_else(|e| e.into_inner());
                        }
                        if st.2 {
                            break;
                        }
                    }
                    let mut buf = Vec::with_capacity(segment * 96);
                    // Writing to memory does not fail.
                    let _ = merge_runs(runs, range(s), &mut buf);
                    lock(&state).1[s] = Some(buf);
                    changed.notify_all();
                }
                drop(guard);
            });
        }
        let result = (|| {
            for s in 0..segments {
                let buf = {
                    let mut st = lock(&state);
                    loop {
                        if let Some(b) = st.1[s].take() {
                            break b;
                        }
                        if st.2 {
                            return Ok(());
                        }
                        st = changed.wait(st).unwrap_or_else(|e| e.into_inner());
                    }
                };
                std::io::Write::write_all(&mut w, &buf)?;
                lock(&state).0 = s + 1;
                changed.notify_all();
            }
            std::io::Write::flush(&mut w)
        })();
        lock(&state).2 = true;
        changed.notify_all();
        result
    })
}

/// Lines are written in segments of about this many when several jobs make them.
const SEGMENT: usize = 8192;
/// Segments made ahead of the one being written, per job.
const WINDOW: usize = 2;

/// The lock's data, whether or not a holder panicked.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Tells the writer to stop when dropped in a panic.
struct StopOnPanic<'a, T>(&'a Mutex<(usize, T, bool)>, &'a Condvar);

impl<T> Drop for StopOnPanic<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            lock(self.0).2 = true;
            self.1.notify_all();
        }
    }
}

/// Writes the lines `ranges[i]` of each run `runs[i]`, merged: each time the least of their
/// next lines (a line equal to the last one written is left out).
fn merge_runs(
    runs: &[SortedLines<'_>],
    ranges: Vec<std::ops::Range<usize>>,
    w: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let mut at: Vec<usize> = ranges.iter().map(|r| r.start).collect();
    let mut ahead = at.clone();
    let mut last: Option<LineRef> = None;
    loop {
        let mut least: Option<(usize, LineRef)> = None;
        for (i, run) in runs.iter().enumerate() {
            if at[i] >= ranges[i].end {
                continue;
            }
            if at[i] >= ahead[i] {
                ahead[i] = run.read_ahead(at[i]);
            }
            let Some(line) = run.line(at[i]) else {
                continue;
            };
            if least
                .as_ref()
                .is_none_or(|(_, l)| line.cmp_key() < l.cmp_key())
            {
                least = Some((i, line));
            }
        }
        let Some((i, line)) = least else { break };
        at[i] += 1;
        if last.as_ref().is_some_and(|l| l.cmp_key() == line.cmp_key()) {
            continue;
        }
        line.write_json(w)?;
        last = Some(line);
    }
    Ok(())
}

impl<'a> LineRef<'a> {
    /// The line as serde_json writes it (compact), and a newline; its strings written as they
    /// are when nothing in them needs an escape.
    fn write_json(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        w.write_all(b"{\"action\":")?;
        write_json_str(w, self.action)?;
        w.write_all(b",\"resource\":")?;
        write_json_str(w, self.resource)?;
        if let Some(c) = self.condition {
            w.write_all(b",\"condition\":")?;
            serde_json::to_writer(&mut *w, c)?;
        }
        w.write_all(b"}\n")
    }

    /// What lines are sorted by: action, resource text, condition.
    fn cmp_key(&self) -> (&'a str, &'a str, Option<&'a ConditionBlock>) {
        (self.action, self.resource, self.condition)
    }
}

/// A JSON string: as it is, quoted, when it holds no quote, backslash or control character
/// (serde_json escapes nothing else); otherwise as serde_json writes it.
fn write_json_str(w: &mut impl std::io::Write, s: &str) -> std::io::Result<()> {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        w.write_all(b"\"")?;
        w.write_all(s.as_bytes())?;
        w.write_all(b"\"")
    } else {
        serde_json::to_writer(w, s).map_err(std::io::Error::from)
    }
}

/// (resource text start, its length, action, condition + 1 or 0, the text's first bytes); the
/// action is, once the items are sorted, its place among the actions in name order.
type LineItem = (usize, u32, u32, u32, [u64; 2]);

/// The permission lines of a run of permissions, sorted, their resource texts in one arena.
struct SortedLines<'a> {
    actions: Vec<&'a str>,
    conditions: Vec<&'a ConditionBlock>,
    arena: String,
    items: Vec<LineItem>,
}

impl<'a> SortedLines<'a> {
    fn of(
        observed: &'a Observed,
        opts: &PolicyOptions,
        range: std::ops::Range<usize>,
    ) -> SortedLines<'a> {
        let mut actions: Vec<&str> = Vec::new();
        let mut conditions: Vec<&ConditionBlock> = Vec::new();
        let mut arena = String::new();
        // Per action: where its first text starts, and how many bytes all its texts share.
        let mut shared: Vec<(usize, usize)> = Vec::new();
        let mut items: Vec<LineItem> = Vec::with_capacity(range.len());
        for p in observed.permissions_packed_range(range) {
            if !opts.included(p.action, &p.stats) {
                continue;
            }
            // Runs of one action are common: the last one is the likely match.
            let action = match actions.iter().rposition(|a| *a == p.action) {
                Some(i) => i,
                None => {
                    actions.push(p.action);
                    actions.len() - 1
                }
            };
            let condition = match p.condition {
                None => 0,
                Some(c) => match conditions.iter().position(|x| *x == c) {
                    Some(i) => i + 1,
                    None => {
                        conditions.push(c);
                        conditions.len()
                    }
                },
            };
            let start = arena.len();
            opts.write_resolved_iam(p.resource, &mut arena);
            let len = arena.len() - start;
            match shared.get_mut(action) {
                Some((first, n)) => {
                    let (a, b) = (arena.as_bytes(), *first);
                    *n = shared_len(&a[b..b + (*n).min(len)], &a[start..start + len]);
                }
                None => shared.push((start, len)),
            }
            items.push((start, len as u32, action as u32, condition as u32, [0; 2]));
        }
        for it in &mut items {
            let skip = shared[it.2 as usize].1;
            it.4 = head_key(&arena.as_bytes()[it.0 + skip..it.0 + it.1 as usize]);
        }
        // The actions in name order, each item's action its rank among them: actions compare
        // by number.
        let mut by_name: Vec<usize> = (0..actions.len()).collect();
        by_name.sort_unstable_by_key(|&i| actions[i]);
        let mut rank: Vec<u32> = vec![0; actions.len()];
        for (r, &i) in by_name.iter().enumerate() {
            rank[i] = r as u32;
        }
        for it in &mut items {
            it.2 = rank[it.2 as usize];
        }
        let actions: Vec<&str> = by_name.into_iter().map(|i| actions[i]).collect();
        // The first bytes after what an action's texts share decide most comparisons without
        // reading the texts.
        items.sort_unstable_by_key(|a| (a.2, a.4));
        let text = |&(start, len, ..): &LineItem| &arena[start..start + len as usize];
        let cond = |c: u32| (c > 0).then(|| conditions[c as usize - 1]);
        // Items whose first bytes tie are ordered by their texts, each run of them on its own:
        // its few texts read once into the cache rather than on every comparison of the sort
        // (and read ahead, many at a time).
        let (mut i, mut ahead) = (0, 0);
        while i < items.len() {
            if i >= ahead {
                ahead = read_ahead(arena.as_bytes(), &items, i);
            }
            let k = (items[i].2, items[i].4);
            let n = items[i..].iter().take_while(|a| (a.2, a.4) == k).count();
            if n > 1 {
                items[i..i + n]
                    .sort_unstable_by(|a, b| (text(a), cond(a.3)).cmp(&(text(b), cond(b.3))));
            }
            i += n;
        }
        SortedLines {
            actions,
            conditions,
            arena,
            items,
        }
    }

    /// Reads the texts of the lines from the `i`th on ahead (see [`read_ahead`]); the first
    /// line not read.
    fn read_ahead(&self, i: usize) -> usize {
        read_ahead(self.arena.as_bytes(), &self.items, i)
    }

    /// The `i`th line, in order.
    fn line(&self, i: usize) -> Option<LineRef<'_>> {
        self.items.get(i).map(|it| self.line_of(it))
    }

    /// The line an item stands for.
    fn line_of(&self, &(start, len, action, condition, _): &LineItem) -> LineRef<'_> {
        LineRef {
            action: self.actions[action as usize],
            resource: &self.arena[start..start + len as usize],
            condition: (condition > 0).then(|| self.conditions[condition as usize - 1]),
        }
    }
}

/// How many bytes `a` and the start of `b` share (`b` at least as long as `a`): eight at a
/// time while they can.
fn shared_len(a: &[u8], b: &[u8]) -> usize {
    let mut i = 0;
    while i + 8 <= a.len() && a[i..i + 8] == b[i..i + 8] {
        i += 8;
    }
    while i < a.len() && a[i] == b[i] {
        i += 1;
    }
    i
}

/// Items' texts are read this many at a time before they are used.
const AHEAD: usize = 64;

/// Reads the first and last bytes of the texts of `items[i..i + AHEAD]`, in a loop that waits
/// for none of them: the texts, in no order in the arena, come into the cache together rather
/// than one after the other as they are used. The first item not read.
fn read_ahead(arena: &[u8], items: &[LineItem], i: usize) -> usize {
    let end = (i + AHEAD).min(items.len());
    let x = items
        .get(i..end)
        .unwrap_or_default()
        .iter()
        .fold(0u8, |x, it| {
            let last = it.0 + (it.1 as usize).saturating_sub(1);
            x ^ arena.get(it.0).copied().unwrap_or(0) ^ arena.get(last).copied().unwrap_or(0)
        });
    std::hint::black_box(x);
    end
}

/// The first 16 bytes of `text` as two numbers, zeros after its end: when two texts' keys
/// differ, they are in the order of the texts (a text that ends first is a prefix, and sorts
/// first).
fn head_key(text: &[u8]) -> [u64; 2] {
    let mut b = [0u8; 16];
    let n = text.len().min(16);
    b[..n].copy_from_slice(&text[..n]);
    let (hi, lo) = b.split_at(8);
    [
        u64::from_be_bytes(hi.try_into().unwrap_or_default()),
        u64::from_be_bytes(lo.try_into().unwrap_or_default()),
    ]
}

/// One statement of a policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Alphanumeric, from the service prefix and a hash of the resources.
    pub sid: String,
    /// Sorted actions.
    pub actions: Vec<String>,
    /// Sorted resources (gaps still open: each renderer fills them its own way).
    pub resources: Vec<Resource>,
    /// The condition, if any.
    pub condition: Option<ConditionBlock>,
}

/// One policy document (within IAM's size limit).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    /// The statements.
    pub statements: Vec<Statement>,
}

/// A policy: one or more documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The name (the `--name`, or the principal with `--group-by`).
    pub name: String,
    /// The principal, with `--group-by`.
    pub principal: Option<String>,
    /// The documents; more than one when the statements do not fit in one.
    pub documents: Vec<Document>,
}

/// Policies plus everything worth telling about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySet {
    /// One policy, or one per principal.
    pub policies: Vec<Policy>,
    /// The engine's diagnostics, plus `failed_only` and `gap` from building.
    pub diagnostics: Vec<(Diagnostic, Stats)>,
}

impl PolicySet {
    /// Every statement of every document.
    pub fn statements(&self) -> impl Iterator<Item = &Statement> {
        self.policies
            .iter()
            .flat_map(|p| p.documents.iter())
            .flat_map(|d| d.statements.iter())
    }
}

fn longest_common_prefix<'a>(items: &[&'a str]) -> &'a str {
    let Some(first) = items.first() else {
        return "";
    };
    let mut end = first.len();
    for s in &items[1..] {
        end = first
            .char_indices()
            .zip(s.chars())
            .take_while(|((_, a), b)| a == b)
            .map(|((i, a), _)| i + a.len_utf8())
            .last()
            .unwrap_or(0)
            .min(end);
    }
    &first[..end]
}

/// The resources the generator writes for one action's `resources` (any order).
pub(crate) fn generalise_resources(resources: Vec<Resource>, mode: S3Objects) -> Vec<Resource> {
    generalise(
        Resources {
            plain: resources,
            ..Resources::default()
        },
        mode,
    )
}

/// A group's resources as they are gathered. With `prefix` or `bucket` S3 objects, a resource
/// with a tail (an object key) is kept only as what [`generalise`] reads of it: the tails of
/// each head (the resource before its tail) come to their least and greatest (prefix) or to
/// nothing (bucket), so that many objects take no room; every other resource is kept.
#[derive(Default)]
struct Resources {
    plain: Vec<Resource>,
    heads: rustc_hash::FxHashMap<Box<[u8]>, Tails>,
    /// How many resources were added.
    added: usize,
}

/// A permission's resource as gathered: through what its head came to (and its key), or
/// whole.
enum Added<'a> {
    Split(&'a Head, &'a str),
    Whole(Resource),
}

/// What resolving and rewriting made of a head (a resource before its key) the first time.
struct Head {
    /// The resolved and rewritten head.
    head: Box<[u8]>,
    /// The rewrite rules it used (a rule once per use).
    used: Vec<usize>,
    /// The generated names it holds.
    names: Vec<RandomName>,
}

/// What is kept of the tails of one head.
enum Tails {
    /// The least and the greatest tail.
    Range(String, String),
    /// Only that there is one.
    Any,
}

impl Tails {
    fn add(&mut self, t: &str) {
        if let Tails::Range(least, most) = self {
            if t < least.as_str() {
                t.clone_into(least);
            } else if t > most.as_str() {
                t.clone_into(most);
            }
        }
    }
}

impl Resources {
    fn add(&mut self, r: Resource, mode: S3Objects) {
        match r.split_tail() {
            Some((head, t)) if mode != S3Objects::Exact => self.add_split(head, t, mode),
            _ => {
                self.added += 1;
                self.plain.push(r);
            }
        }
    }

    /// Adds the resource that `head` and its tail `t` make, with keys generalised (not exact).
    fn add_split(&mut self, head: &[u8], t: &str, mode: S3Objects) {
        self.added += 1;
        match self.heads.get_mut(head) {
            Some(tails) => tails.add(t),
            None => {
                let tails = match mode {
                    S3Objects::Bucket => Tails::Any,
                    _ => Tails::Range(t.to_owned(), t.to_owned()),
                };
                self.heads.insert(head.into(), tails);
            }
        }
    }

    /// Takes in the resources of the same group that `later` gathered.
    fn extend(&mut self, later: Resources) {
        self.added += later.added;
        self.plain.extend(later.plain);
        for (head, tails) in later.heads {
            match (self.heads.get_mut(&head), tails) {
                (Some(mine), Tails::Range(least, most)) => {
                    mine.add(&least);
                    mine.add(&most);
                }
                (Some(_), Tails::Any) => {}
                (None, tails) => {
                    self.heads.insert(head, tails);
                }
            }
        }
    }
}

/// Sorts and deduplicates resources.
fn sorted(mut v: Vec<Resource>) -> Vec<Resource> {
    v.sort_unstable();
    v.dedup();
    v
}

/// The common prefix of a set of S3 object keys, given its least and greatest members, cut at
/// its last `/`; `None` when the set is one key.
fn key_prefix<'t>(least: &'t str, most: &'t str) -> Option<&'t str> {
    if least == most {
        return None;
    }
    let lcp = longest_common_prefix(&[least, most]);
    Some(lcp.rfind('/').map(|i| &lcp[..=i]).unwrap_or(""))
}

/// Applies the S3 object mode to resources (any order in, sorted and unique out: resources
/// with a tail are grouped by what comes before it, so those need no sorting first).
fn generalise(resources: Resources, mode: S3Objects) -> Vec<Resource> {
    let Resources {
        plain: resources,
        heads,
        ..
    } = resources;
    if heads.is_empty() && resources.iter().all(|r| r.tail().is_none()) {
        let resources = sorted(resources);
        // Exact keeps a set as it is; the other modes let `*` stand for the rest.
        return if mode != S3Objects::Exact && resources.iter().any(Resource::is_star) {
            vec![Resource::star()]
        } else {
            resources
        };
    }
    let mut out = Vec::new();
    // The tails of each head (the resource's packed form before its tail).
    let mut by_head: IndexMap<&[u8], Vec<&str>, rustc_hash::FxBuildHasher> = IndexMap::default();
    for r in &resources {
        match r.split_tail() {
            Some((head, t)) => by_head.entry(head).or_default().push(t),
            None => out.push(r.clone()),
        }
    }
    let mut b = ResourceBuilder::new();
    let mut make = |head: &[u8], prefix: &str, star: bool| {
        let head = Resource::from_packed(head);
        for seg in head.segs() {
            b.push(seg);
        }
        b.text(prefix);
        if star {
            b.pattern("*");
        }
        b.finish(None)
    };
    for (head, tails) in by_head {
        match mode {
            S3Objects::Exact => {
                for t in &tails {
                    out.push(make(head, t, false));
                }
            }
            S3Objects::Bucket => {
                out.push(make(head, "", true));
            }
            S3Objects::Prefix => {
                // The common prefix of a set is that of its least and greatest members.
                let (Some(least), Some(most)) = (tails.iter().min(), tails.iter().max()) else {
                    continue;
                };
                out.push(match key_prefix(least, most) {
                    None => make(head, least, false),
                    Some(cut) => make(head, cut, true),
                });
            }
        }
    }
    for (head, tails) in &heads {
        out.push(match tails {
            Tails::Any => make(head, "", true),
            Tails::Range(least, most) => match key_prefix(least, most) {
                None => make(head, least.as_str(), false),
                Some(cut) => make(head, cut, true),
            },
        });
    }
    if out.iter().any(Resource::is_star) {
        return vec![Resource::star()];
    }
    sorted(out)
}

/// FNV-1a, 64 bits: a stable hash for Sids (independent of Rust's hasher and platform).
pub(crate) fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn camel(prefix: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in prefix.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

fn sid_for(prefix: &str, resources: &[Resource], condition: &Option<ConditionBlock>) -> String {
    let mut text = String::new();
    for r in resources {
        text.push_str(&r.canonical());
        text.push('\n');
    }
    if let Some(c) = condition {
        text.push_str(&serde_json::to_string(c).unwrap_or_default());
    }
    format!(
        "{}{:08X}",
        camel(prefix),
        (fnv1a(text.as_bytes()) >> 32) as u32
    )
}

/// Worst-case length of what a Terraform expression yields: a name (AWS names are at most 255
/// characters for most resource types), or a whole ARN (prefix and such a name).
const EXPR_NAME_WORST: usize = 255;
const EXPR_ARN_WORST: usize = 320;

/// A resource as IAM text with worst-case values in its gaps and expressions (for size limits).
fn worst_case_text(r: &Resource) -> String {
    if !r.has_gap() && !r.has_expr() {
        return r.to_iam();
    }
    let mut out = String::new();
    for seg in r.segs() {
        match seg {
            SegRef::Text(t) => crate::arn::escape_iam(t, &mut out),
            SegRef::Pattern(p) => out.push_str(p),
            SegRef::Field(_, Some(v)) => crate::arn::escape_iam(v, &mut out),
            SegRef::Field(f, None) => out.push_str(match f {
                Field::Partition => "aws-iso-b-xx",
                Field::Region => "ap-southeast-99",
                Field::Account => "123456789012",
            }),
            SegRef::Expr(kind, _) => {
                let n = match kind {
                    crate::arn::ExprKind::Name => EXPR_NAME_WORST,
                    crate::arn::ExprKind::Arn => EXPR_ARN_WORST,
                };
                out.extend(std::iter::repeat_n('x', n));
            }
        }
    }
    if let Some(t) = r.tail() {
        crate::arn::escape_iam(t, &mut out);
    }
    out
}

/// The size count, conservative: every character of the minified JSON text. IAM leaves
/// whitespace outside strings out of its count; a minified document has none, and everything
/// inside strings (Unicode whitespace too) counts.
fn chars(text: &str) -> usize {
    text.chars().count()
}

/// Size of a statement with no resources.
fn base_size(s: &Statement) -> usize {
    let mut v = serde_json::json!({
        "Sid": s.sid, "Effect": "Allow", "Action": s.actions, "Resource": [],
    });
    if let Some(c) = &s.condition {
        v["Condition"] = serde_json::json!(c);
    }
    chars(&serde_json::to_string(&v).unwrap_or_default())
}

/// What one resource adds to a statement: its JSON string and a comma.
fn resource_cost(r: &Resource) -> usize {
    chars(&serde_json::to_string(&worst_case_text(r)).unwrap_or_default()) + 1
}

/// Room kept in a split statement's budget for the `PartN` its Sid gets afterwards.
const SUFFIX_ROOM: usize = "Part99999".len();

/// The size count of a whole document as rendered (minified, worst-case values in gaps):
/// what every emitted document is checked against.
pub fn document_size(doc: &Document) -> usize {
    let statements: Vec<serde_json::Value> = doc
        .statements
        .iter()
        .map(|s| {
            let mut v = serde_json::json!({
                "Sid": s.sid, "Effect": "Allow", "Action": s.actions,
                "Resource": s.resources.iter().map(worst_case_text).collect::<Vec<_>>(),
            });
            if let Some(c) = &s.condition {
                v["Condition"] = serde_json::json!(c);
            }
            v
        })
        .collect();
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": statements});
    chars(&serde_json::to_string(&doc).unwrap_or_default())
}

/// Non-whitespace size of a statement rendered as JSON, with worst-case values for gaps.
fn statement_size(s: &Statement) -> usize {
    let resources: usize = s.resources.iter().map(resource_cost).sum();
    base_size(s) + resources.saturating_sub(1)
}

const DOC_OVERHEAD: usize = r#"{"Version":"2012-10-17","Statement":[]}"#.len();

/// How many managed policies can be attached to a role by default (IAM quotas).
pub const ATTACHED_POLICIES_QUOTA: usize = 10;

/// Splits a statement too large for one document into pieces that each fill a document as far
/// as they can: by resources first, then by actions. A single action on a single resource that
/// is still too large stays as it is.
fn split_statement(s: Statement, limit: usize, out: &mut Vec<Statement>) {
    let room = limit.saturating_sub(DOC_OVERHEAD + SUFFIX_ROOM);
    if statement_size(&s) <= room {
        out.push(s);
        return;
    }
    if s.resources.len() > 1 {
        let empty = Statement {
            resources: Vec::new(),
            ..s.clone()
        };
        let base = base_size(&empty);
        let mut piece = empty.clone();
        let mut size = base;
        for r in s.resources {
            // The first resource adds its string; each further one a comma too.
            let add = resource_cost(&r) - usize::from(piece.resources.is_empty());
            if !piece.resources.is_empty() && size + add > room {
                split_statement(std::mem::replace(&mut piece, empty.clone()), limit, out);
                size = base + resource_cost(&r) - 1;
            } else {
                size += add;
            }
            piece.resources.push(r);
        }
        split_statement(piece, limit, out);
    } else if s.actions.len() > 1 {
        let empty = Statement {
            actions: Vec::new(),
            ..s.clone()
        };
        let mut piece = empty.clone();
        for a in s.actions {
            piece.actions.push(a);
            if piece.actions.len() > 1 && statement_size(&piece) > room {
                let last = piece.actions.pop().unwrap_or_default();
                out.push(std::mem::replace(&mut piece, empty.clone()));
                piece.actions.push(last);
            }
        }
        out.push(piece);
    } else {
        out.push(s);
    }
}

/// Builds the policies from what was observed.
///
/// ```
/// use leastpriv::{build_policies, Call, Observed, PolicyOptions, Rules};
/// let rules = Rules::builtin();
/// let mut seen = Observed::new();
/// for key in ["reports/2024/a.csv", "reports/2024/b.csv"] {
///     let call = Call::new("s3", "GetObject", serde_json::json!({"Bucket": "acme", "Key": key}));
///     seen.add(&leastpriv::derive(&rules, &call), None, true, &call.source);
/// }
/// let opts = PolicyOptions { region: Some("eu-west-1".into()), ..PolicyOptions::default() };
/// let set = build_policies(&seen, &opts)?;
/// let st = set.statements().next().unwrap();
/// assert_eq!(st.resources[0].to_iam(), "arn:aws:s3:::acme/reports/2024/*");
/// # Ok::<(), leastpriv::Error>(())
/// ```
///
/// # Errors
///
/// Only with rewrite rules ([`PolicyOptions::rewrite`]): two rules matching one name, a rule
/// writing a name that does not make a valid ARN for the resource's type, a template needing an
/// environment that was not chosen. Each names the rule.
pub fn build_policies(observed: &Observed, opts: &PolicyOptions) -> Result<PolicySet> {
    build_policies_on(observed, opts, 1)
}

/// (principal, action, condition): the permissions a statement's resources are gathered by.
type Group<'a> = (Option<&'a str>, &'a str, Option<ConditionBlock>);

/// What a run of permissions comes to before their resources are generalised.
#[derive(Default)]
struct Gathered<'a> {
    per_action: BTreeMap<Group<'a>, Resources>,
    failed_only: BTreeMap<(String, String), (u64, Evidence)>,
    random: BTreeMap<String, (RandomName, String, &'a str, Stats)>,
    used: Vec<u64>,
}

impl<'a> Gathered<'a> {
    /// Resolves and rewrites the permissions `range` (in the order `Observed` keeps them).
    fn of(
        observed: &'a Observed,
        opts: &'a PolicyOptions,
        range: std::ops::Range<usize>,
    ) -> Result<Gathered<'a>> {
        let rewriter = Rewriter {
            rules: &opts.rewrite,
            env: opts.env.as_deref(),
            values: &opts.values,
            target: opts.target,
        };
        let mut g = Gathered {
            used: vec![0u64; opts.rewrite.len()],
            ..Gathered::default()
        };
        let mut found = Vec::new();
        // With keys generalised, a resource with a key (an S3 object) is resolved and rewritten
        // through what comes before its key alone (neither reads or changes the key): each
        // such head is resolved and rewritten once, the first time, as any resource is; later
        // resources with that head count the rules and the generated names it came to again.
        let mut heads: rustc_hash::FxHashMap<&'a [u8], Head> = rustc_hash::FxHashMap::default();
        let mut used_now = vec![0u64; opts.rewrite.len()];
        for p in observed.permissions_packed_range(range) {
            let stats = &p.stats;
            if !opts.included(p.action, stats) {
                continue;
            }
            // (A call that only failed is named in full in a diagnostic: the ordinary way.)
            let keyed = (opts.s3_objects != S3Objects::Exact && stats.ok != 0)
                .then(|| p.resource.split_tail())
                .flatten();
            let principal = if opts.group_by { p.principal } else { None };
            let added = match keyed {
                Some((head, tail)) if heads.contains_key(head) => Added::Split(&heads[head], tail),
                _ => {
                    let resolved = opts.resolve_packed(p.resource);
                    used_now.fill(0);
                    let rewritten = match rewriter.apply(&resolved, &mut used_now, &mut found)? {
                        Cow::Borrowed(_) => None,
                        Cow::Owned(r) => Some(r),
                    };
                    let names = keyed.is_some().then(|| found.clone());
                    for n in found.drain(..) {
                        g.count_random(n, || resolved.to_iam(), p.action, stats);
                    }
                    let resource = rewritten.unwrap_or(resolved);
                    if let (Some((head, _)), Some(names), Some((done, _))) =
                        (keyed, names, resource.split_tail())
                    {
                        let used = (0..used_now.len())
                            .flat_map(|i| std::iter::repeat_n(i, used_now[i] as usize))
                            .collect();
                        heads.insert(
                            head,
                            Head {
                                head: done.into(),
                                used,
                                names,
                            },
                        );
                    }
                    for (u, n) in g.used.iter_mut().zip(&used_now) {
                        *u += n;
                    }
                    if stats.ok == 0 {
                        let e = g
                            .failed_only
                            .entry((p.action.to_owned(), resource.to_iam()))
                            .or_insert((0, stats.first.clone()));
                        e.0 += stats.failed;
                        if stats.first < e.1 {
                            e.1 = stats.first.clone();
                        }
                    }
                    Added::Whole(resource)
                }
            };
            if let Added::Split(h, _) = added {
                for &i in &h.used {
                    g.used[i] += 1;
                }
                for n in &h.names {
                    g.count_random(
                        n.clone(),
                        || opts.resolve_packed(p.resource).to_iam(),
                        p.action,
                        stats,
                    );
                }
            }
            let condition = match p.condition {
                Some(c) => Some(rewriter.apply_condition(c, &mut g.used, &mut found)?),
                None => None,
            };
            found.clear();
            let group = g
                .per_action
                .entry((principal, p.action, condition))
                .or_default();
            match added {
                Added::Split(h, tail) => group.add_split(&h.head, tail, opts.s3_objects),
                Added::Whole(resource) => group.add(resource, opts.s3_objects),
            }
        }
        Ok(g)
    }

    /// Counts a generated name a permission's resource holds; `iam` gives the resource's text
    /// when the name is new.
    fn count_random(
        &mut self,
        n: RandomName,
        iam: impl FnOnce() -> String,
        action: &'a str,
        stats: &Stats,
    ) {
        let e = self
            .random
            .entry(n.name.clone())
            .or_insert_with(|| (n, iam(), action, no_stats(stats.first.clone())));
        e.3.ok += stats.ok;
        e.3.failed += stats.failed;
        if stats.first < e.3.first {
            e.3.first = stats.first.clone();
        }
    }

    /// Takes in what the permissions after this run came to: the same as gathering both
    /// runs as one.
    fn then(&mut self, later: Gathered<'a>) {
        for (k, v) in later.per_action {
            match self.per_action.entry(k) {
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(v);
                }
                std::collections::btree_map::Entry::Occupied(mut e) => e.get_mut().extend(v),
            }
        }
        for (k, (n, first)) in later.failed_only {
            let e = self.failed_only.entry(k).or_insert((0, first.clone()));
            e.0 += n;
            if first < e.1 {
                e.1 = first;
            }
        }
        for (k, v) in later.random {
            match self.random.entry(k) {
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(v);
                }
                std::collections::btree_map::Entry::Occupied(mut e) => {
                    let e = &mut e.get_mut().3;
                    e.ok += v.3.ok;
                    e.failed += v.3.failed;
                    if v.3.first < e.first {
                        e.first = v.3.first;
                    }
                }
            }
        }
        for (u, n) in self.used.iter_mut().zip(later.used) {
            *u += n;
        }
    }
}

/// Fewer permissions than this are built on one thread.
const PARALLEL_MIN: usize = 2048;

/// How `n` permissions are shared out among up to `jobs` threads: the threads to use (one for
/// fewer than [`PARALLEL_MIN`]) and a contiguous run of permissions for each.
fn shares(n: usize, jobs: usize) -> (usize, Vec<std::ops::Range<usize>>) {
    let jobs = if n < PARALLEL_MIN { 1 } else { jobs.max(1) };
    let step = n.div_ceil(jobs).max(1);
    (
        jobs,
        (0..n).step_by(step).map(|s| s..(s + step).min(n)).collect(),
    )
}

/// Runs `work` on each of `parts` on up to `jobs` threads; the results in the parts' order.
fn on_threads<P: Send, T: Send>(
    parts: Vec<P>,
    jobs: usize,
    work: impl Fn(P) -> T + Sync,
) -> Vec<T> {
    if jobs <= 1 || parts.len() <= 1 {
        return parts.into_iter().map(work).collect();
    }
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|p| scope.spawn(move || work(p)))
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(t) => t,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// As [`build_policies`], on up to `jobs` threads when there are many permissions; the same
/// policies whatever `jobs` is.
///
/// # Errors
///
/// As [`build_policies`].
pub fn build_policies_on(
    observed: &Observed,
    opts: &PolicyOptions,
    jobs: usize,
) -> Result<PolicySet> {
    // The engine's notes, less those about what the filters leave out: an excluded action, or
    // (with --outcome ok) a call that only ever failed.
    let mut diagnostics: BTreeMap<Diagnostic, Stats> = observed
        .diagnostics()
        .into_iter()
        .filter(|(d, s)| {
            (opts.outcome != OutcomeFilter::Ok || s.ok != 0)
                && !d
                    .action
                    .as_deref()
                    .is_some_and(|a| opts.exclude.iter().any(|g| glob_match(g, a)))
        })
        .map(|(d, s)| (d.clone(), s.clone()))
        .collect();
    let (jobs, ranges) = shares(observed.len(), jobs);
    let mut gathered = Gathered {
        used: vec![0u64; opts.rewrite.len()],
        ..Gathered::default()
    };
    // In order: the first error is the one a single thread meets first.
    for g in on_threads(ranges, jobs, |r| Gathered::of(observed, opts, r)) {
        gathered.then(g?);
    }
    let Gathered {
        per_action,
        failed_only,
        random,
        used,
    } = gathered;
    crate::rewrite::add_diagnostics(&opts.rewrite, &used, random, &mut diagnostics);
    for ((action, resource), (count, first)) in failed_only {
        let (svc, name) = action.split_once(':').unwrap_or((&action, ""));
        diagnostics.insert(
            Diagnostic {
                kind: DiagnosticKind::FailedOnly,
                service: svc.to_owned(),
                operation: name.to_owned(),
                message: format!("`{action}` on `{resource}` was seen only on calls that failed; it is in the policy (an outcome filter of `ok` leaves it out)"),
                action: Some(action.clone()),
                hint: None,
            },
            Stats {
                ok: 0,
                failed: count,
                first,
            },
        );
    }
    // Each group's resources generalised, the groups shared out by how many resources they
    // hold.
    let mut parts: Vec<Vec<(Group, Resources)>> = (0..jobs).map(|_| Vec::new()).collect();
    let mut load = vec![0usize; jobs];
    for (k, v) in per_action {
        let j = if jobs == 1 {
            0
        } else {
            (0..jobs).min_by_key(|&j| load[j]).unwrap_or(0)
        };
        load[j] += v.added;
        parts[j].push((k, v));
    }
    let mode = opts.s3_objects;
    let mut done: Vec<(Group, Vec<Resource>)> = on_threads(parts, jobs, |part| {
        part.into_iter()
            .map(|(k, v)| (k, generalise(v, mode)))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();
    done.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    // (principal) → (prefix, condition, resources) → actions
    type StKey = (String, Option<ConditionBlock>, Vec<Resource>);
    let mut grouped: BTreeMap<Option<String>, BTreeMap<StKey, BTreeSet<String>>> = BTreeMap::new();
    let mut gaps: BTreeMap<Field, usize> = BTreeMap::new();
    for ((principal, action, condition), resources) in done {
        for r in &resources {
            for seg in r.segs() {
                if let SegRef::Field(f, None) = seg {
                    *gaps.entry(f).or_default() += 1;
                }
            }
        }
        let prefix = action.split(':').next().unwrap_or_default().to_owned();
        grouped
            .entry(principal.map(str::to_owned))
            .or_default()
            .entry((prefix, condition, resources))
            .or_default()
            .insert(action.to_owned());
    }
    for (field, n) in gaps {
        let (give, tf) = match field {
            Field::Partition => ("the partition or the region", "data.aws_partition.current"),
            Field::Region => ("the region", "data.aws_region.current"),
            Field::Account => ("the account", "data.aws_caller_identity.current"),
        };
        diagnostics.insert(
            Diagnostic {
                kind: DiagnosticKind::Gap,
                service: String::new(),
                operation: String::new(),
                message: format!(
                    "the {} of {n} resource(s) is unknown: JSON writes `*`, Terraform references {tf}; give {give} to fix it",
                    field.name()
                ),
                action: None,
                hint: None,
            },
            Stats {
                ok: 0,
                failed: 0,
                first: Evidence::default(),
            },
        );
    }
    let mut policies = Vec::new();
    for (principal, groups) in grouped {
        let mut statements: Vec<Statement> = Vec::new();
        for ((prefix, condition, resources), actions) in groups {
            let sid = sid_for(&prefix, &resources, &condition);
            statements.push(Statement {
                sid,
                actions: actions.into_iter().collect(),
                resources,
                condition,
            });
        }
        statements.sort_by(|a, b| {
            let pa = a.actions.first().map(|x| x.split(':').next().unwrap_or(""));
            let pb = b.actions.first().map(|x| x.split(':').next().unwrap_or(""));
            (pa, &a.actions, &a.resources, &a.condition).cmp(&(
                pb,
                &b.actions,
                &b.resources,
                &b.condition,
            ))
        });
        // Unique Sids (a hash collision, or equal resources under different conditions).
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for s in &mut statements {
            let n = seen.entry(s.sid.clone()).or_insert(0);
            *n += 1;
            if *n > 1 {
                s.sid = format!("{}{}", s.sid, n);
            }
        }
        // Split statements that are too large by themselves, then pack documents in order.
        let mut pieces = Vec::new();
        for s in statements {
            let sid = s.sid.clone();
            let before = pieces.len();
            split_statement(s, opts.max_size, &mut pieces);
            if pieces.len() - before > 1 {
                for (i, p) in pieces[before..].iter_mut().enumerate() {
                    p.sid = if i == 0 {
                        sid.clone()
                    } else {
                        format!("{sid}Part{}", i + 1)
                    };
                }
            }
        }
        // First fit: each statement goes into the first document with room for it.
        let mut documents: Vec<(Document, usize)> = Vec::new();
        for s in pieces {
            let n = statement_size(&s) + 1;
            match documents
                .iter_mut()
                .find(|(_, size)| size + n <= opts.max_size)
            {
                Some((d, size)) => {
                    d.statements.push(s);
                    *size += n;
                }
                None => documents.push((
                    Document {
                        statements: vec![s],
                    },
                    DOC_OVERHEAD + n,
                )),
            }
        }
        let documents: Vec<Document> = documents.into_iter().map(|(d, _)| d).collect();
        // The name is the principal itself (with --group-by), else the policy name: the
        // renderers and the CLI derive keys, block names and file names from it, each
        // injectively.
        let name = match (&principal, opts.group_by) {
            (Some(p), true) => p.clone(),
            _ => opts.name.clone(),
        };
        for (i, d) in documents.iter().enumerate() {
            let size = document_size(d);
            if size > opts.max_size {
                diagnostics.insert(
                    Diagnostic {
                        kind: DiagnosticKind::Oversize,
                        service: String::new(),
                        operation: String::new(),
                        message: format!(
                            "document {} of policy `{}` counts {size} characters, over the limit of {}: a single permission too large to split; IAM will reject it",
                            i + 1,
                            name.escape_debug(),
                            opts.max_size
                        ),
                        action: d
                            .statements
                            .first()
                            .and_then(|s| s.actions.first().cloned()),
                        hint: None,
                    },
                    Stats {
                        ok: 0,
                        failed: 0,
                        first: Evidence::default(),
                    },
                );
            }
        }
        if documents.len() > ATTACHED_POLICIES_QUOTA {
            diagnostics.insert(
                Diagnostic {
                    kind: DiagnosticKind::Quota,
                    service: String::new(),
                    operation: String::new(),
                    message: format!(
                        "policy `{}` needs {} managed policies; IAM attaches at most {ATTACHED_POLICIES_QUOTA} to a role or user by default (a quota increase allows up to 20)",
                        name.escape_debug(),
                        documents.len()
                    ),
                    action: None,
                    hint: None,
                },
                Stats {
                    ok: 0,
                    failed: 0,
                    first: Evidence::default(),
                },
            );
        }
        policies.push(Policy {
            name,
            principal,
            documents,
        });
    }
    if policies.is_empty() {
        policies.push(Policy {
            name: opts.name.clone(),
            principal: None,
            documents: vec![Document::default()],
        });
    }
    Ok(PolicySet {
        policies,
        diagnostics: diagnostics.into_iter().collect(),
    })
}

pub(crate) fn no_stats(first: Evidence) -> Stats {
    Stats {
        ok: 0,
        failed: 0,
        first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_lengths_count_the_bytes_alike_from_the_start() {
        let b = b"arn:aws:s3:::bucket-17/data/1/obj-219.json";
        for n in 0..=b.len() {
            assert_eq!(shared_len(&b[..n], b), n);
            for i in 0..n {
                let mut a = b[..n].to_vec();
                a[i] ^= 1;
                assert_eq!(shared_len(&a, b), i, "{n} bytes, differing at {i}");
            }
        }
    }

    /// Three states as three jobs would leave them: queues and objects, many in two or three
    /// states, and tagged volumes (lines with a condition, and lines alike but for it).
    fn overlapping_parts() -> Vec<Observed> {
        use crate::{Call, Rules, Source};
        let rules = Rules::builtin();
        let mut parts = vec![Observed::new(), Observed::new(), Observed::new()];
        let file: std::sync::Arc<str> = std::sync::Arc::from("e.jsonl");
        for i in 0..3_000u64 {
            let calls = [
                Call::new(
                    "sqs",
                    "SendMessage",
                    serde_json::json!({"QueueUrl": format!("https://sqs.eu-west-1.amazonaws.com/123456789012/q-{}", i % 700)}),
                ),
                Call::new(
                    "s3",
                    "GetObject",
                    serde_json::json!({"Bucket": format!("b{}", i % 3), "Key": format!("k/{}", i * 7 % 1_100)}),
                ),
                Call::new(
                    "ec2",
                    "CreateVolume",
                    serde_json::json!({"AvailabilityZone": "eu-west-1a", "SnapshotId": format!("snap-{:017x}", i % 90),
                        "TagSpecifications": [{"ResourceType": "volume", "Tags": [{"Key": "k", "Value": "v"}]}]}),
                ),
            ];
            for (n, call) in calls.iter().enumerate() {
                let part = &mut parts[(i as usize + n) % 3];
                let derived = crate::derive(&rules, call);
                part.add(&derived, None, i % 5 != 0, &Source::at(file.clone(), i + 1));
            }
        }
        parts
    }

    /// Each state's lines, sorted.
    fn runs_of<'a>(parts: &'a [Observed], opts: &PolicyOptions) -> Vec<SortedLines<'a>> {
        parts
            .iter()
            .map(|p| SortedLines::of(p, opts, 0..p.len()))
            .collect()
    }

    #[test]
    fn permission_lines_merged_in_segments_on_several_threads_are_those_merged_on_one() {
        let parts = overlapping_parts();
        let opts = PolicyOptions {
            region: Some("eu-west-1".into()),
            account: Some("123456789012".into()),
            ..PolicyOptions::default()
        };
        let runs = runs_of(&parts, &opts);
        let mut one = Vec::new();
        write_runs(&runs, 1, SEGMENT, &mut one).unwrap();
        let text = String::from_utf8(one.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // Each line once, in order, as the merged state's lines.
        assert!(lines.windows(2).all(|w| w[0] < w[1]));
        let mut merged = Observed::new();
        for p in &parts {
            merged.merge(p);
        }
        let want: Vec<String> = permission_lines(&merged, &opts)
            .iter()
            .map(|l| serde_json::to_string(l).unwrap())
            .collect();
        assert_eq!(lines, want);
        assert!(lines.len() > 1_800, "{}", lines.len());
        assert!(lines.iter().any(|l| l.contains("\"condition\"")));
        // Segments of every size down to one line (many cut inside runs of lines alike).
        for jobs in [2, 3, 5] {
            for segment in [1, 2, 7, 64, 1_000, lines.len() / 2, lines.len() * 4] {
                let mut many = Vec::new();
                write_runs(&runs, jobs, segment, &mut many).unwrap();
                assert!(many == one, "jobs {jobs}, segments of {segment}");
            }
        }
    }

    #[test]
    fn an_output_that_fails_while_segments_are_merged_fails_the_write() {
        /// Takes `room` bytes, then fails.
        struct Full {
            room: usize,
            taken: Vec<u8>,
        }
        impl std::io::Write for Full {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                if self.room == 0 {
                    return Err(std::io::Error::other("no room"));
                }
                let n = buf.len().min(self.room);
                self.room -= n;
                self.taken.extend_from_slice(&buf[..n]);
                Ok(n)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let parts = overlapping_parts();
        let opts = PolicyOptions::default();
        let runs = runs_of(&parts, &opts);
        let mut whole = Vec::new();
        write_runs(&runs, 1, SEGMENT, &mut whole).unwrap();
        for room in [0, 1, 5_000, whole.len() - 1] {
            let mut out = Full {
                room,
                taken: Vec::new(),
            };
            let e = write_runs(&runs, 2, 3, &mut out).expect_err("the output is full");
            assert_eq!(e.to_string(), "no room");
            // What was written is the start of the lines.
            assert_eq!(out.taken[..], whole[..room]);
        }
    }

    #[test]
    fn resources_gathered_one_by_one_generalise_as_the_whole_set_does() {
        let object = |bucket: &str, key: &str| {
            let mut b = ResourceBuilder::new();
            b.pattern("arn:")
                .push(SegRef::Field(Field::Partition, Some("aws")))
                .pattern(":s3:::")
                .text(bucket)
                .pattern("/");
            b.finish(Some(key))
        };
        let plain = |text: &str| {
            let mut b = ResourceBuilder::new();
            b.pattern("arn:aws:s3:::").text(text);
            b.finish(None)
        };
        let all = vec![
            object("b1", "data/2/x.json"),
            object("b1", "data/1/y.json"),
            plain("b1"),
            object("b2", "only.json"),
            object("b1", "data/3/z.json"),
            object("b2", "only.json"),
            object("b3", "logs/a"),
            object("b3", "other/b"),
            plain("b0"),
        ];
        for mode in [S3Objects::Prefix, S3Objects::Bucket, S3Objects::Exact] {
            let whole = generalise_resources(all.clone(), mode);
            for split in 0..=all.len() {
                let (mut first, mut later) = (Resources::default(), Resources::default());
                for (i, r) in all.iter().rev().enumerate() {
                    let into = if i < split { &mut first } else { &mut later };
                    into.add(r.clone(), mode);
                }
                first.extend(later);
                assert_eq!(first.added, all.len());
                assert_eq!(generalise(first, mode), whole, "{mode:?} {split}");
            }
        }
        let prefix = generalise_resources(all.clone(), S3Objects::Prefix);
        let texts: Vec<String> = prefix.iter().map(Resource::to_iam).collect();
        assert_eq!(
            texts,
            // In resource order: those with a partition field before the literal ones.
            [
                "arn:aws:s3:::b1/data/*",
                "arn:aws:s3:::b2/only.json",
                "arn:aws:s3:::b3/*",
                "arn:aws:s3:::b0",
                "arn:aws:s3:::b1",
            ]
        );
    }

    #[test]
    fn globs() {
        assert!(glob_match("s3:*", "s3:GetObject"));
        // A `*` in the text where the pattern has one is still matched by the wildcard.
        assert!(glob_match("arn:*:role/*", "arn:aws:role/*/name"));
        assert!(glob_match("a*c", "a*bc"));
        assert!(glob_match("S3:get*", "s3:GetObject"));
        assert!(glob_match("sts:Get?allerIdentity", "sts:GetCallerIdentity"));
        assert!(!glob_match("s3:Put*", "s3:GetObject"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn lcp_cut_at_slash() {
        assert_eq!(longest_common_prefix(&["a/b/c", "a/b/d"]), "a/b/");
        assert_eq!(longest_common_prefix(&["a/b1", "a/b2"]), "a/b");
        assert_eq!(longest_common_prefix(&["é1", "é2"]), "é");
        assert_eq!(longest_common_prefix(&["x", "y"]), "");
    }

    #[test]
    fn a_permission_line_is_written_as_serde_json_writes_it() {
        let mut condition = ConditionBlock::new();
        condition
            .entry("StringEquals".into())
            .or_default()
            .insert("s3:prefix".into(), vec!["a\"b".into(), "c\u{1}".into()]);
        let texts = [
            "arn:aws:s3:::b/plain",
            "arn:aws:s3:::b/q\"uote",
            "arn:aws:s3:::b/back\\slash",
            "arn:aws:s3:::b/tab\tnl\ncr\r\u{1f}\u{0}",
            "arn:aws:s3:::b/del\u{7f}/é/☃/${*}/</>",
            "",
        ];
        for resource in texts {
            for condition in [None, Some(&condition)] {
                let line = PermissionLine {
                    action: format!("s3:Get{}", &resource[resource.len().min(3)..]),
                    resource: resource.into(),
                    condition: condition.cloned(),
                };
                let mut written = Vec::new();
                LineRef {
                    action: &line.action,
                    resource: &line.resource,
                    condition,
                }
                .write_json(&mut written)
                .unwrap();
                let want = serde_json::to_string(&line).unwrap() + "\n";
                assert_eq!(String::from_utf8(written).unwrap(), want);
            }
        }
    }

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
