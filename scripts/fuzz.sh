#!/usr/bin/env bash
# Fuzzes the readers, the state loader, the engine and the policy builder + renderers, sharing a
# time budget across the targets (fuzz/fuzz_targets; their properties are in tests/src/lib.rs).
#
#   scripts/fuzz.sh TOTAL_MINUTES [TARGET ...]     # default: every target, the time split evenly
#   scripts/fuzz.sh 60 &                           # runs fine in the background
#
# Needs the nightly toolchain (on these machines) and cargo-fuzz (installed here when missing).
# Each target grows its corpus in fuzz/corpus/TARGET, which is minimised afterwards (cargo fuzz
# cmin). What is committed is a subset (the 300 smallest inputs of each target, and every
# `regression-*` input a finding left): `cargo test -p leastpriv-tests --test fuzz_corpus`
# replays it as ordinary stable tests in CI, in seconds. A crash leaves its input in
# fuzz/artifacts/TARGET. The summary (executions and findings per target) goes to
# fuzz/logs/summary.txt. Not part of .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${1:?usage: scripts/fuzz.sh TOTAL_MINUTES [TARGET ...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(read_edn read_mulog_json read_jsonl read_cloudtrail read_auto wire state engine policy)
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo +nightly install cargo-fuzz --locked
fi
per=$(( minutes * 60 / ${#targets[@]} ))
[ "$per" -ge 1 ] || per=1
mkdir -p fuzz/logs
summary=fuzz/logs/summary.txt
: > "$summary"
status=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    log="fuzz/logs/$t.log"
    echo "== $t: ${per}s" | tee -a "$summary"
    if ! (cd fuzz && cargo +nightly fuzz build "$t") >"$log" 2>&1; then
        echo "   the target does not build (see $log)" | tee -a "$summary"
        status=2
        continue
    fi
    mkdir -p "fuzz/artifacts/$t"
    crashes_before=$(find "fuzz/artifacts/$t" -type f | wc -l)
    if (cd fuzz && cargo +nightly fuzz run "$t" "corpus/$t" -- \
            -max_total_time="$per" -max_len=65536 -rss_limit_mb=4096 -timeout=20) >>"$log" 2>&1; then
        result="no finding"
    elif [ "$(find "fuzz/artifacts/$t" -type f | wc -l)" -gt "$crashes_before" ]; then
        result="FINDING (see fuzz/artifacts/$t and $log)"
        status=1
    else
        result="the fuzzer stopped with an error (see $log)"
        status=2
    fi
    runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | tail -n 1 | grep -Eo '[0-9]+' || echo "?")
    before=$(find "fuzz/corpus/$t" -type f | wc -l)
    (cd fuzz && cargo +nightly fuzz cmin "$t" "corpus/$t" -- -rss_limit_mb=4096 -timeout=20) \
        >>"$log" 2>&1 || true
    after=$(find "fuzz/corpus/$t" -type f | wc -l)
    echo "   $runs executions; corpus $before -> $after inputs after cmin; $result" | tee -a "$summary"
done
exit "$status"
