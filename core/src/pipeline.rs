//! [`Pipeline`]: the one way events flow. Readers yield calls, the engine turns each call into
//! permissions, [`Observed`] accumulates them; the pipeline owns the rules, the read options
//! and the result, and is what the CLI and both bindings drive.

use crate::call::Call;
use crate::call::Value;
use crate::derive::{Derived, Diagnostic, DiagnosticKind, derive_into};
use crate::error::{Error, ErrorKind, Result};
use crate::observed::{Evidence, Interned, Observed};
use crate::read::{self, CallReader, FastCache, Format, Item, ReadOptions};
use crate::spec::Rules;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Reads events into permissions.
///
/// ```
/// use leastpriv::{Pipeline, ReadOptions, Rules};
/// let events = r#"{"service": "s3", "operation": "GetObject", "params": {"Bucket": "b", "Key": "k"}}"#;
/// let mut p = Pipeline::new(Rules::builtin(), ReadOptions::default());
/// p.read(events.as_bytes(), "events.jsonl").unwrap();
/// let seen = p.into_observed();
/// assert_eq!(seen.permissions().next().unwrap().action, "s3:GetObject");
/// ```
#[derive(Debug)]
pub struct Pipeline {
    rules: Arc<Rules>,
    options: ReadOptions,
    observed: Observed,
    scratch: Derived,
    progress: Option<Arc<Progress>>,
    /// The smallest part a file is split into for several jobs.
    min_part: u64,
    ids: Interned,
    /// The fast lane's keys, and what each stands for (the ids, and whether the call
    /// succeeded).
    fast: FastCache,
    /// Per fast-lane entry: where its ids start in `fast_perms` and `fast_diags`, how many, and
    /// whether the call succeeded.
    entries: Vec<FastEntry>,
    fast_perms: Vec<(u32, u32, u32)>,
    fast_diags: Vec<u32>,
    /// Beside `fast_perms`: where each permission's tally is in `observed`, for the entry's
    /// `principal` (the permission's key holds it).
    fast_slots: Vec<u32>,
    /// The slots of the call just counted, and its principal's id.
    slots: (Vec<u32>, u32),
    /// The selections found, and the fast lane's counts per operation, handed from one reader
    /// to the next (a job reads a file in many parts).
    selector: Option<read::Selector>,
}

#[derive(Debug, Clone, Copy)]
struct FastEntry {
    perms: u32,
    diags: u32,
    n_perms: u16,
    n_diags: u16,
    ok: bool,
    ctx: u32,
    /// The principal id the entry's slots are for.
    principal: u32,
}

/// Appends the key of what the engine reads of a call (service, operation, parameters, region,
/// account, partition, endpoint) to `key`: equal keys, equal calls for the engine. Every piece
/// is tagged and the text pieces carry their length, so different calls never make one key.
fn call_key(call: &Call, key: &mut Vec<u8>) {
    fn text(key: &mut Vec<u8>, tag: u8, t: &str) {
        key.push(tag);
        key.extend_from_slice(&(t.len() as u64).to_le_bytes());
        key.extend_from_slice(t.as_bytes());
    }
    fn value(key: &mut Vec<u8>, v: &Value) {
        match v {
            Value::Null => key.push(b'n'),
            Value::Bool(b) => key.push(if *b { b't' } else { b'f' }),
            Value::Number(n) => {
                use std::io::Write as _;
                key.push(b'N');
                let at = key.len();
                key.extend_from_slice(&[0; 8]);
                let _ = write!(key, "{n}");
                let len = (key.len() - at - 8) as u64;
                key[at..at + 8].copy_from_slice(&len.to_le_bytes());
            }
            Value::String(s) => text(key, b's', s),
            Value::Array(items) => {
                key.push(b'[');
                key.extend_from_slice(&(items.len() as u64).to_le_bytes());
                for i in items {
                    value(key, i);
                }
            }
            Value::Object(m) => {
                key.push(b'{');
                key.extend_from_slice(&(m.len() as u64).to_le_bytes());
                for (k, v) in m {
                    text(key, b'k', k);
                    value(key, v);
                }
            }
        }
    }
    key.push(b'R');
    text(key, b'S', &call.service);
    text(key, b'O', &call.operation);
    for c in [&call.region, &call.account, &call.partition, &call.endpoint] {
        match c {
            Some(c) => text(key, b'c', c),
            None => key.push(b'-'),
        }
    }
    value(key, &call.params);
}

/// How far reading has come, shared with whoever shows it (a progress bar): bytes read from
/// files and standard input, and events read, by every job.
#[derive(Debug, Default)]
pub struct Progress {
    bytes: AtomicU64,
    events: AtomicU64,
}

impl Progress {
    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Events read so far.
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }
}

/// An input that counts the bytes taken from it.
struct Counted<R> {
    inner: R,
    progress: Option<Arc<Progress>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(p) = &self.progress {
            p.bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        if let Some(p) = &self.progress {
            p.bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
        self.inner.consume(n);
    }
}

/// Events are added to the shared count in batches of this many.
const PROGRESS_BATCH: u64 = 4096;

/// What one job made of its share of the input.
#[derive(Debug, Default)]
struct Part {
    observed: Observed,
    error: Option<Error>,
    /// Lines read (to number the next part of the same file).
    lines: u64,
}

/// A job's share of the input: a whole input, or the bytes `range` of a file read as `format`.
#[derive(Debug, Clone)]
struct Unit {
    path: String,
    /// The part of a split file, and its format (`None`: the whole input, as given).
    part: Option<(u64, u64, Format)>,
}

/// A file is split into parts of at least this many bytes.
const MIN_PART: u64 = 4 << 20;

impl Pipeline {
    /// A pipeline with nothing read yet.
    pub fn new(rules: Arc<Rules>, options: ReadOptions) -> Pipeline {
        Pipeline::with_observed(rules, options, Observed::new())
    }

    /// A pipeline that adds to what `observed` holds.
    pub fn with_observed(rules: Arc<Rules>, options: ReadOptions, observed: Observed) -> Pipeline {
        Pipeline {
            rules,
            options,
            observed,
            scratch: Derived::default(),
            progress: None,
            min_part: MIN_PART,
            ids: Interned::default(),
            fast: FastCache::default(),
            entries: Vec::new(),
            fast_perms: Vec::new(),
            fast_diags: Vec::new(),
            fast_slots: Vec::new(),
            slots: (Vec::new(), 0),
            selector: None,
        }
    }

    /// The smallest part, in bytes, that [`Pipeline::read_paths`] splits a file into (4 MiB
    /// by default; a file under two parts is read by one job). Smaller parts spread a small
    /// file over the jobs, as tests and benchmarks want.
    pub fn set_min_part(&mut self, bytes: u64) {
        self.min_part = bytes.max(1);
    }

    /// Reports how far reading has come to `progress` (for a progress bar).
    pub fn set_progress(&mut self, progress: Arc<Progress>) {
        self.progress = Some(progress);
    }

    /// The rules.
    pub fn rules(&self) -> &Arc<Rules> {
        &self.rules
    }

    /// The read options.
    pub fn options(&self) -> &ReadOptions {
        &self.options
    }

    /// What has been seen so far.
    pub fn observed(&self) -> &Observed {
        &self.observed
    }

    /// What has been seen, for a caller that adds notes or merges states.
    pub fn observed_mut(&mut self) -> &mut Observed {
        // The caches hold ids into the set, which the caller may replace.
        self.forget_fast();
        &mut self.observed
    }

    /// What has been seen.
    pub fn into_observed(self) -> Observed {
        self.observed
    }

    /// Derives what a call needs and counts it, its ids left in `self.ids`.
    fn derive_and_count(&mut self, call: &Call) {
        self.scratch.permissions.clear();
        self.scratch.diagnostics.clear();
        self.scratch.context.clear();
        derive_into(&self.rules, call, &mut self.scratch);
        self.observed.intern(&self.scratch, &mut self.ids);
        let principal = self.observed.principal_id(call.principal.as_deref());
        self.slots.0.clear();
        self.slots.0.resize(self.ids.perms.len(), 0);
        self.slots.1 = principal;
        self.observed.count_keys(
            &self.ids.perms,
            &self.ids.diags,
            self.ids.ctx,
            principal,
            call.outcome.is_ok(),
            &call.source,
            Some(&mut self.slots.0),
        );
    }

    fn forget_fast(&mut self) {
        self.fast.clear();
        self.entries.clear();
        self.fast_perms.clear();
        self.fast_diags.clear();
        self.fast_slots.clear();
    }

    /// Counts a call as the fast lane's entry `entry` says (its outcome, unless `ok` says
    /// otherwise); `false` when there is no such entry.
    fn count_entry(
        &mut self,
        entry: u32,
        principal: Option<&str>,
        ok: Option<bool>,
        source: &crate::call::Source,
    ) -> bool {
        let Some(e) = self.entries.get_mut(entry as usize) else {
            return false;
        };
        let perms = e.perms as usize..e.perms as usize + usize::from(e.n_perms);
        let diags = e.diags as usize..e.diags as usize + usize::from(e.n_diags);
        let ok = ok.unwrap_or(e.ok);
        let principal = self.observed.principal_id(principal);
        if e.principal == principal {
            // The tallies are where the last call of this entry and principal found them.
            self.observed.count_slots(
                &self.fast_slots[perms],
                &self.fast_diags[diags],
                e.ctx,
                ok,
                source,
            );
        } else {
            e.principal = principal;
            self.observed.count_keys(
                &self.fast_perms[perms.clone()],
                &self.fast_diags[diags],
                e.ctx,
                principal,
                ok,
                source,
                Some(&mut self.fast_slots[perms]),
            );
        }
        true
    }

    /// Remembers what the call just derived came to, under the key in `self.fast.key`.
    fn remember(&mut self, ok: bool) {
        let fits = self.ids.perms.len() <= usize::from(u16::MAX)
            && self.ids.diags.len() <= usize::from(u16::MAX);
        if !fits {
            return;
        }
        let mut cleared = false;
        let inserted = self.fast.insert(&mut cleared);
        if cleared {
            self.entries.clear();
            self.fast_perms.clear();
            self.fast_diags.clear();
            self.fast_slots.clear();
        }
        if inserted {
            self.entries.push(FastEntry {
                perms: self.fast_perms.len() as u32,
                diags: self.fast_diags.len() as u32,
                n_perms: self.ids.perms.len() as u16,
                n_diags: self.ids.diags.len() as u16,
                ok,
                ctx: self.ids.ctx,
                principal: self.slots.1,
            });
            self.fast_perms.extend_from_slice(&self.ids.perms);
            self.fast_diags.extend_from_slice(&self.ids.diags);
            self.fast_slots.extend_from_slice(&self.slots.0);
        }
    }

    /// Derives the permissions one call needs and counts them. A call equal in everything the
    /// engine reads to a recent one (service, operation, parameters, region, account,
    /// partition, endpoint) is counted as that one was derived, without deriving again.
    pub fn record(&mut self, call: &Call) {
        // A refused call gets notes an equal call that was not refused does not.
        if call.outcome.is_denied() {
            self.derive_and_count(call);
            return;
        }
        let ok = call.outcome.is_ok();
        self.fast.key.clear();
        call_key(call, &mut self.fast.key);
        if let Some(i) = self.fast.get()
            && self.count_entry(i, call.principal.as_deref(), Some(ok), &call.source)
        {
            return;
        }
        self.derive_and_count(call);
        self.remember(ok);
    }

    /// Reads one input: calls through the engine, or a serialized state merged. `label` names
    /// it in errors and evidence.
    ///
    /// With lenient options, malformed events are counted and skipped; otherwise the first one
    /// is the error (what was read before it is kept).
    pub fn read<R: BufRead>(&mut self, input: R, label: &str) -> Result<()> {
        let mut input = Counted {
            inner: input,
            progress: self.progress.clone(),
        };
        let start = read::start(&mut input, label, &self.options)?;
        if start.0 == Format::Observed {
            let mut bytes = start.1;
            (&mut input)
                .take(self.options.max_state_bytes + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| Error::io(&e, label))?;
            if bytes.len() as u64 > self.options.max_state_bytes {
                return Err(Error::new(
                    ErrorKind::Serialization,
                    format!(
                        "a serialized state larger than {} bytes (the limit for states)",
                        self.options.max_state_bytes
                    ),
                )
                .with_path(label));
            }
            return self.merge_state(&bytes, label);
        }
        let reader = CallReader::after_start(input, start, label, &self.options);
        for &line in reader.undetected_lines() {
            self.observed.count_malformed(Evidence::new(label, line));
        }
        self.drain(reader, label).map(|_| ())
    }

    /// Runs the calls of a reader through the engine; the lines read.
    fn drain<R: BufRead>(&mut self, reader: CallReader<R>, label: &str) -> Result<u64> {
        let selector = self
            .selector
            .take()
            .unwrap_or_else(|| read::Selector::new(Arc::clone(&self.rules)));
        let mut reader = reader.select_with(selector);
        // Lines are known again only within one reader (what a line comes to depends on its
        // format and settings).
        self.fast.lines.forget();
        // The source of a known line: the reader's label, the line set for each (no count of
        // references taken per line).
        let mut known = crate::call::Source::at(Arc::clone(reader.label()), 0);
        let mut result = Ok(());
        let lenient = self.options.lenient;
        let mut batch = 0u64;
        while let Some(item) = reader.next_item(Some(&mut self.fast)) {
            batch += 1;
            if batch == PROGRESS_BATCH {
                if let Some(p) = &self.progress {
                    p.events.fetch_add(batch, Ordering::Relaxed);
                }
                batch = 0;
            }
            match item {
                Ok(Item::Known {
                    entry,
                    principal,
                    line,
                }) => {
                    known.line = Some(line);
                    self.count_entry(entry, principal.as_deref(), None, &known);
                }
                Ok(Item::Call(call, None)) => {
                    self.record(&call);
                    reader.recycle(call);
                }
                Ok(Item::Call(call, Some(keyed))) => {
                    // A new key: the call is derived (no cache could know it), and the key
                    // remembered for what it came to, when the selection it was made with is
                    // the one for the call the reader made of the line.
                    self.derive_and_count(&call);
                    if keyed {
                        self.remember(call.outcome.is_ok());
                    }
                    reader.recycle(call);
                }
                Err(e) if lenient && e.kind() != ErrorKind::Io => self
                    .observed
                    .count_malformed(Evidence::new(label, e.line().unwrap_or(0))),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if let Some(p) = &self.progress {
            p.events.fetch_add(batch, Ordering::Relaxed);
        }
        if let Some((note, n)) = reader.closing_note() {
            self.observed.note(
                note,
                &crate::observed::Stats {
                    ok: n,
                    failed: 0,
                    first: Evidence::new(label, 0),
                },
            );
        }
        self.observed.count_skipped_n(reader.skipped());
        self.selector = reader.take_selector();
        result.map(|()| reader.lines_read())
    }

    /// Reads a file, or standard input for `-`.
    pub fn read_path(&mut self, path: &str) -> Result<()> {
        self.read(read::open_input(path)?, path)
    }

    /// Reads inputs in order with `jobs` threads (at least one): several files at once, and a
    /// large file in parts split at line boundaries (at the start of an event for EDN, whose
    /// forms may continue onto following lines). Standard input is read by one job.
    ///
    /// The result is the same as reading the inputs one after the other: the same
    /// permissions, counts, first evidence (the smallest source and line of the calls that
    /// needed a permission) and, on failure, the same first error, with everything before it
    /// kept.
    pub fn read_paths<S: AsRef<str>>(&mut self, paths: &[S], jobs: usize) -> Result<()> {
        for observed in self.read_paths_apart(paths, jobs)? {
            self.observed.absorb(observed);
        }
        Ok(())
    }

    /// Reads as [`Pipeline::read_paths`] does and hands back what was read as several states,
    /// not merged: this pipeline's own, then one for each job that read in parallel. Merged
    /// (in any order: merging is commutative), they are what `read_paths` leaves in the
    /// pipeline. For a caller that needs no merged state: the permission lines of several
    /// states ([`crate::write_permission_lines_of`]) are those of their merge.
    ///
    /// # Errors
    ///
    /// As [`Pipeline::read_paths`] (what was read is then dropped).
    pub fn read_paths_into_parts<S: AsRef<str>>(
        mut self,
        paths: &[S],
        jobs: usize,
    ) -> Result<Vec<Observed>> {
        let mut parts = self.read_paths_apart(paths, jobs)?;
        parts.insert(0, self.observed);
        Ok(parts)
    }

    /// As [`Pipeline::read_paths`], the states of the jobs that read in parallel handed back
    /// (lines numbered and labelled as in their files), not merged into this pipeline's.
    fn read_paths_apart<S: AsRef<str>>(
        &mut self,
        paths: &[S],
        jobs: usize,
    ) -> Result<Vec<Observed>> {
        let jobs = jobs.max(1);
        let units = if jobs > 1 {
            self.plan(paths, jobs)
        } else {
            Vec::new()
        };
        if units.len() < 2 {
            // One job, or one input not worth splitting (a CloudTrail file, a small file):
            // nothing to share out.
            for p in paths {
                self.read_path(p.as_ref())?;
            }
            return Ok(Vec::new());
        }
        if units.iter().any(|u| u.path == "-") {
            // Standard input cannot be read again: read in parts as they come.
            return self.read_units(&units, jobs).map(|()| Vec::new());
        }
        // Each job reads the units it takes into one result of its own, so that what it
        // derived and interned for one part serves the next. A part's lines are numbered from
        // its start, under a label of its own (the path, a NUL and the part's index: labels
        // order as (path, part), as the lines they stand for); once every part's lines are
        // known, the labels become the path and the lines are numbered from the file's start.
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let lines: Vec<AtomicU64> = units.iter().map(|_| AtomicU64::new(0)).collect();
        let label = |i: usize| format!("{}\u{0}{i:020}", units[i].path);
        let mut results: Vec<Observed> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..jobs.min(units.len()))
                .map(|_| {
                    scope.spawn(|| {
                        let mut p = self.job();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= units.len() || failed.load(Ordering::Relaxed) {
                                break;
                            }
                            match p.read_unit_into(&units[i], &label(i)) {
                                (None, n) => lines[i].store(n, Ordering::Relaxed),
                                (Some(_), _) => {
                                    failed.store(true, Ordering::Relaxed);
                                    break;
                                }
                            }
                        }
                        p.observed
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        if failed.load(Ordering::Relaxed) {
            // The first error, and only what comes before it: read again part by part.
            return self.read_units(&units, jobs).map(|()| Vec::new());
        }
        // Where each part's lines start in its file.
        let mut offsets: std::collections::HashMap<String, (&str, u64)> = Default::default();
        let mut offset = 0u64;
        for (i, unit) in units.iter().enumerate() {
            // A whole input, or the first part of a file (which may be listed twice).
            if unit.part.is_none_or(|(start, ..)| start == 0) {
                offset = 0;
            }
            offsets.insert(label(i), (unit.path.as_str(), offset));
            offset += lines[i].load(Ordering::Relaxed);
        }
        for observed in &mut results {
            observed.relabel(|l| offsets.get(l).copied());
        }
        Ok(results)
    }

    /// Reads units with `jobs` threads, each part into a result of its own, merged in order
    /// (the first error wins, with everything before it).
    fn read_units(&mut self, units: &[Unit], jobs: usize) -> Result<()> {
        let next = AtomicUsize::new(0);
        // The first unit that failed (later units need not be read).
        let failed = AtomicUsize::new(usize::MAX);
        let results: Vec<Mutex<Option<Part>>> = units.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..jobs.min(units.len()) {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= units.len() {
                            return;
                        }
                        if i > failed.load(Ordering::Relaxed) {
                            continue;
                        }
                        let part = self.read_unit(&units[i]);
                        if part.error.is_some() {
                            failed.fetch_min(i, Ordering::Relaxed);
                        }
                        if let Ok(mut slot) = results[i].lock() {
                            *slot = Some(part);
                        }
                    }
                });
            }
        });
        // In order: each part's lines numbered after the parts of its file before it.
        let mut offset = 0u64;
        for (unit, slot) in units.iter().zip(results) {
            let Some(mut part) = slot.into_inner().ok().flatten() else {
                break;
            };
            // A whole input, or the first part of a file (which may be listed twice).
            if unit.part.is_none_or(|(start, ..)| start == 0) {
                offset = 0;
            }
            if offset > 0 {
                part.observed.shift_lines(&unit.path, offset);
            }
            self.observed.absorb(part.observed);
            if let Some(e) = part.error {
                return Err(match e.line() {
                    Some(l) if offset > 0 && e.path() == Some(unit.path.as_str()) => {
                        let col = e.column().unwrap_or(1);
                        e.set_position(l + offset, col)
                    }
                    _ => e,
                });
            }
            offset += part.lines;
        }
        Ok(())
    }

    /// The units of work: whole inputs, and regular files large enough split into parts.
    fn plan<S: AsRef<str>>(&self, paths: &[S], jobs: usize) -> Vec<Unit> {
        let mut units = Vec::new();
        for p in paths {
            let path = p.as_ref();
            let parts = self.split(path, jobs).unwrap_or_default();
            if parts.len() < 2 {
                units.push(Unit {
                    path: path.to_owned(),
                    part: None,
                });
                continue;
            }
            for (i, (start, end, format)) in parts.into_iter().enumerate() {
                units.push(Unit {
                    path: path.to_owned(),
                    part: Some((start, end, if i == 0 { Format::Auto } else { format })),
                });
            }
        }
        units
    }

    /// Where to split a regular file: byte ranges that each start a line (an event, for EDN),
    /// with the file's format; nothing for an input not worth splitting.
    fn split(&self, path: &str, jobs: usize) -> Option<Vec<(u64, u64, Format)>> {
        if path == "-" {
            return None;
        }
        let mut file = std::fs::File::open(path).ok()?;
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.len() < 2 * self.min_part {
            return None;
        }
        let size = meta.len();
        let format = {
            let mut head = BufReader::with_capacity(1 << 16, &mut file);
            read::sniff_format(&mut head, path, &self.options)?
        };
        if matches!(format, Format::Observed | Format::CloudTrail) {
            // A state is read whole; a CloudTrail file is one document (or its records are
            // not worth finding line starts for).
            return None;
        }
        let edn = format == Format::MulogEdn;
        // Parts shrink as the file is taken, each an eighth of a job's share of what is left,
        // down to the smallest part: few large parts first, small ones last, so that a job
        // that finds no part left waits for the others at most one small part (with sixteen
        // parts a job alike, one core sat idle up to 45 ms of 850 on a 400 MB file; this way
        // under 10).
        let share = jobs as u64 * 8;
        let mut cuts = vec![0u64];
        loop {
            let at = *cuts.last().unwrap_or(&0);
            let left = size - at;
            if left < 2 * self.min_part {
                break;
            }
            let target = at + (left / share).max(self.min_part);
            match boundary(&mut file, target, edn) {
                Some(next) if next < size && next > at => cuts.push(next),
                _ => break,
            }
        }
        cuts.push(size);
        cuts.dedup();
        Some(
            cuts.windows(2)
                .map(|w| (w[0], w[1], format))
                .collect::<Vec<_>>(),
        )
    }

    /// Reads one unit into a fresh result.
    fn read_unit(&self, unit: &Unit) -> Part {
        let mut p = self.job();
        let (error, lines) = p.read_unit_into(unit, &unit.path);
        Part {
            observed: p.observed,
            error,
            lines,
        }
    }

    /// A pipeline for one job: these rules and options, nothing read.
    fn job(&self) -> Pipeline {
        let mut p = Pipeline::new(Arc::clone(&self.rules), self.options.clone());
        p.progress = self.progress.clone();
        p
    }

    /// Reads one unit into this pipeline, its evidence under `label`: the error, if any, and
    /// the lines read (of a part of a file; 0 for a whole input).
    fn read_unit_into(&mut self, unit: &Unit, label: &str) -> (Option<Error>, u64) {
        let path = unit.path.as_str();
        match unit.part {
            None => match read::open_input(path) {
                Ok(input) => (self.read(input, label).err(), 0),
                Err(e) => (Some(e), 0),
            },
            Some((start, end, format)) => match open_range(path, start, end, &self.progress) {
                Err(e) => (Some(e), 0),
                Ok(mut input) if format == Format::Auto => {
                    // The first part: as the whole file starts (its format found again, a byte
                    // order mark, lines passed over in lenient mode).
                    match read::start(&mut input, label, &self.options) {
                        Err(e) => (Some(e), 0),
                        Ok(st) => {
                            let reader = CallReader::after_start(input, st, label, &self.options);
                            for &line in reader.undetected_lines() {
                                self.observed.count_malformed(Evidence::new(label, line));
                            }
                            match self.drain(reader, label) {
                                Ok(n) => (None, n),
                                Err(e) => (Some(e), 0),
                            }
                        }
                    }
                }
                Ok(input) => {
                    let reader = CallReader::part(input, label, &self.options, format);
                    match self.drain(reader, label) {
                        Ok(n) => (None, n),
                        Err(e) => (Some(e), 0),
                    }
                }
            },
        }
    }

    /// Merges a serialized state, checked as the engine's own output would be.
    pub fn merge_state(&mut self, bytes: &[u8], label: &str) -> Result<()> {
        let other = Observed::from_bytes(bytes).map_err(|e| e.with_path(label))?;
        // An action no rule emits came from elsewhere (a hand-made state, another version):
        // say so as `--fail-on unmapped` can see it, unless the state says so itself.
        let explained: std::collections::BTreeSet<String> = other
            .diagnostics()
            .into_iter()
            .filter(|(d, _)| {
                matches!(
                    d.kind,
                    DiagnosticKind::UnmappedOperation | DiagnosticKind::UnknownService
                )
            })
            .filter_map(|(d, _)| d.action.clone())
            .collect();
        for seen in other.permissions() {
            if !explained.contains(seen.action) && !self.rules.can_emit(seen.action) {
                let (svc, op) = seen.action.split_once(':').unwrap_or((seen.action, ""));
                self.observed.note(
                    Diagnostic {
                        kind: DiagnosticKind::UnmappedOperation,
                        service: svc.to_owned(),
                        operation: op.to_owned(),
                        message: format!(
                            "`{}` comes from a serialized state and is not an action the rules emit",
                            seen.action
                        ),
                        action: Some(seen.action.to_owned()),
                        hint: None,
                    },
                    &seen.stats,
                );
            }
        }
        self.observed.merge(&other);
        Ok(())
    }
}

/// The bytes `start..end` of a file, buffered.
fn open_range(
    path: &str,
    start: u64,
    end: u64,
    progress: &Option<Arc<Progress>>,
) -> Result<Counted<BufReader<std::io::Take<std::fs::File>>>> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(&e, path))?;
    f.seek(SeekFrom::Start(start))
        .map_err(|e| Error::io(&e, path))?;
    Ok(Counted {
        inner: BufReader::with_capacity(1 << 16, f.take(end - start)),
        progress: progress.clone(),
    })
}

/// The first offset at or after `target` that starts a line (for EDN: a line that opens a map
/// at its first column, where a new event starts).
fn boundary(file: &mut std::fs::File, target: u64, edn: bool) -> Option<u64> {
    let from = target.checked_sub(1)?;
    file.seek(SeekFrom::Start(from)).ok()?;
    let mut buf = vec![0u8; 1 << 16];
    let mut base = from;
    // The byte before the window's first one was a line break.
    let mut after_break = false;
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        for (i, &b) in buf[..n].iter().enumerate() {
            if after_break && (!edn || b == b'{') {
                return Some(base + i as u64);
            }
            after_break = b == b'\n';
        }
        base += n as u64;
    }
}
