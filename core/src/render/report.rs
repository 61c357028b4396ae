//! The diagnostics report: text for a terminal, or JSON for `--report FILE`.

use crate::observed::{Counts, Evidence};
use crate::policy::PolicySet;
use std::fmt::Write as _;

/// Text safe for a terminal: control characters (C0, DEL, C1), line and paragraph separators
/// and bidirectional overrides are written as `\u{XXXX}`, so event data can neither move the
/// cursor nor fake a line of output.
///
/// ```
/// assert_eq!(leastpriv::printable("a\u{1b}[2Jb\nc"), "a\\u{1b}[2Jb\\u{a}c");
/// assert_eq!(leastpriv::printable("plain"), "plain");
/// ```
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The malformed events' places, at most the first `shown`, and how many more there were.
pub fn render_malformed_text(counts: &Counts, malformed_at: &[Evidence]) -> String {
    let mut out = String::new();
    for at in malformed_at {
        let _ = writeln!(
            out,
            "  malformed event skipped at {}",
            printable(&at.to_string())
        );
    }
    let more = counts.malformed.saturating_sub(malformed_at.len() as u64);
    if more > 0 {
        let _ = writeln!(
            out,
            "  ... and {more} more malformed event(s) (the first {} places are kept)",
            malformed_at.len()
        );
    }
    out
}

/// How many notes of one kind about one operation the text report shows before it counts the
/// rest (the JSON report lists every one).
const SHOWN: usize = 3;

/// One diagnostic as a line of the text report.
fn diagnostic_line(d: &crate::derive::Diagnostic, stats: &crate::observed::Stats) -> String {
    let what = if d.operation.is_empty() {
        String::new()
    } else {
        format!(" {}:{}", printable(&d.service), printable(&d.operation))
    };
    format!(
        "{}{what}: {}{}",
        d.kind.name(),
        printable(&d.message),
        first_at(stats)
    )
}

fn first_at(stats: &crate::observed::Stats) -> String {
    if stats.first.source.is_empty() && stats.first.line == 0 {
        String::new()
    } else {
        format!(
            " (first at {}, {} call(s))",
            printable(&stats.first.to_string()),
            stats.ok + stats.failed
        )
    }
}

/// A human-readable report: counts, then the diagnostics with their first evidence. Notes of
/// one kind about one operation (a `failed_only` per resource, say) are grouped: past a few,
/// the group shows its first three and how many more the JSON report (`--report FILE`) lists.
/// Text from events goes through [`printable`].
pub fn render_report_text(set: &PolicySet, counts: &Counts, malformed_at: &[Evidence]) -> String {
    let mut out = String::new();
    let statements = set.statements().count();
    let documents: usize = set.policies.iter().map(|p| p.documents.len()).sum();
    let _ = writeln!(
        out,
        "leastpriv: {} call(s) read, {} event(s) skipped (other event names), {} malformed; {} statement(s) in {} document(s)",
        counts.calls, counts.skipped, counts.malformed, statements, documents
    );
    out.push_str(&render_malformed_text(counts, malformed_at));
    let diags = &set.diagnostics;
    let mut i = 0;
    while i < diags.len() {
        let (d, _) = &diags[i];
        let same = |(e, _): &(crate::derive::Diagnostic, crate::observed::Stats)| {
            e.kind == d.kind && e.service == d.service && e.operation == d.operation
        };
        let n = diags[i..].iter().take_while(|x| same(x)).count();
        let group = &diags[i..i + n];
        if n <= SHOWN + 1 {
            for (d, stats) in group {
                let _ = writeln!(out, "{}", diagnostic_line(d, stats));
            }
        } else {
            let calls: u64 = group.iter().map(|(_, s)| s.ok + s.failed).sum();
            let what = if d.operation.is_empty() {
                String::new()
            } else {
                format!(" {}:{}", printable(&d.service), printable(&d.operation))
            };
            let _ = writeln!(
                out,
                "{}{what}: {n} notes over {calls} call(s), the first {SHOWN}:",
                d.kind.name()
            );
            for (d, stats) in &group[..SHOWN] {
                let _ = writeln!(out, "  {}{}", printable(&d.message), first_at(stats));
            }
            let _ = writeln!(
                out,
                "  ... and {} more (the JSON report, --report FILE, lists every one)",
                n - SHOWN
            );
        }
        i += n;
    }
    out
}

/// The report as JSON (stable key order, one trailing newline).
pub fn render_report_json(set: &PolicySet, counts: &Counts, malformed_at: &[Evidence]) -> String {
    let diagnostics: Vec<serde_json::Value> = set
        .diagnostics
        .iter()
        .map(|(d, s)| crate::result::diagnostic_value(d, s))
        .collect();
    let v = serde_json::json!({
        "calls": counts.calls,
        "skipped": counts.skipped,
        "malformed": counts.malformed,
        "malformed_at": malformed_at,
        "statements": set.statements().count(),
        "documents": set.policies.iter().map(|p| p.documents.len()).sum::<usize>(),
        "diagnostics": diagnostics,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}
