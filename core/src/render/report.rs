//! The diagnostics report: text for a terminal, or JSON for `--report FILE`.

use crate::observed::{Counts, Evidence};
use crate::policy::PolicySet;
use std::fmt::Write as _;

/// A human-readable report: counts, then each diagnostic with its first evidence.
pub fn render_report_text(set: &PolicySet, counts: &Counts, malformed_at: &[Evidence]) -> String {
    let mut out = String::new();
    let statements = set.statements().count();
    let documents: usize = set.policies.iter().map(|p| p.documents.len()).sum();
    let _ = writeln!(
        out,
        "leastpriv: {} call(s) read, {} event(s) skipped (other event names), {} malformed; {} statement(s) in {} document(s)",
        counts.calls, counts.skipped, counts.malformed, statements, documents
    );
    for at in malformed_at {
        let _ = writeln!(out, "  malformed event skipped at {at}");
    }
    for (d, stats) in &set.diagnostics {
        let what = if d.operation.is_empty() {
            String::new()
        } else {
            format!(" {}:{}", d.service, d.operation)
        };
        let first = if stats.first.source.is_empty() && stats.first.line == 0 {
            String::new()
        } else {
            format!(
                " (first at {}, {} call(s))",
                stats.first,
                stats.ok + stats.failed
            )
        };
        let _ = writeln!(out, "{}{what}: {}{first}", d.kind.name(), d.message);
    }
    out
}

/// The report as JSON (stable key order, one trailing newline).
pub fn render_report_json(set: &PolicySet, counts: &Counts, malformed_at: &[Evidence]) -> String {
    let diagnostics: Vec<serde_json::Value> = set
        .diagnostics
        .iter()
        .map(|(d, s)| {
            let mut v = serde_json::json!({
                "kind": d.kind.name(),
                "service": d.service,
                "operation": d.operation,
                "message": d.message,
                "count": s.ok + s.failed,
                "first": {"source": s.first.source, "line": s.first.line},
            });
            if let Some(h) = &d.hint {
                v["hint"] = serde_json::json!(h);
            }
            v
        })
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
