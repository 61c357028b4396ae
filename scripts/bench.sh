#!/usr/bin/env bash
# Throughput and peak memory of leastpriv against its yardsticks, each ratio measured side by side
# in one run (scripts/bench.py does the measuring; see its header for the details):
#
#   - the floor for reading JSON (serde_json::Value per line, and IgnoredAny) on the same file:
#     `leastpriv permissions --jobs 1` on μ/log JSON, plain JSON lines and μ/log EDN;
#   - --jobs 2 against --jobs 1;
#   - ../shared/bench/seed_pipeline.py (plain Python) on its own input, with the default jobs;
#   - peak memory against the bound 16 MB + 300 B per distinct permission, from one event and two
#     sizes of one mix; 10M events with ~1,000 distinct permissions;
#   - CloudTrail records (from the same events): JSON lines and one gzipped delivery file
#     against the serde_json floor on the same records;
#   - the Python Recorder.read and the Node readSync against the CLI on the same file, and the
#     bindings' record() in calls per second (beside a baseline build's, with
#     LEASTPRIV_BENCH_BASELINE=<git ref>).
#
#   scripts/bench.sh                                  # 1,000,000 events
#   LEASTPRIV_BENCH_EVENTS=200000 scripts/bench.sh    # a quicker look
#   LEASTPRIV_BENCH_BINDINGS=0 scripts/bench.sh       # the CLI only
#
# Release builds go to the usual target directory (bindings: a venv in target/bench-venv and the
# Node addon in bindings-node/); generated inputs to a temporary directory removed on exit
# (LEASTPRIV_BENCH_KEEP=DIR keeps and reuses them). Not part of .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

say() { printf '\n== %s\n' "$*"; }

target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
target_dir=${target_dir:-$root/target}

if [ -n "${LEASTPRIV_BENCH_KEEP:-}" ]; then
    tmp=$LEASTPRIV_BENCH_KEEP
    mkdir -p "$tmp"
else
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/leastpriv-bench.XXXXXX")
    trap 'rm -rf -- "$tmp"' EXIT
fi
trap 'exit 130' INT TERM

say "release builds: the CLI and the JSON floor"
cargo build --release -p leastpriv --features cli --bin leastpriv --example json_floor
export LEASTPRIV_CLI="$target_dir/release/leastpriv"
export LEASTPRIV_FLOOR="$target_dir/release/examples/json_floor"
export LEASTPRIV_BENCH_DIR="$tmp"

if [ "${LEASTPRIV_BENCH_BINDINGS:-1}" = 1 ]; then
    say "release builds: the Python package (maturin, in target/bench-venv) and the Node addon"
    venv="$target_dir/bench-venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "maturin>=1.9,<2"
    (cd bindings-python && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" \
        "$venv/bin/maturin" develop --release --quiet)
    export LEASTPRIV_BENCH_PYTHON="$venv/bin/python"
    (cd bindings-node && { [ -d node_modules ] || npm ci --silent; } && npm run --silent build:release)
    export LEASTPRIV_BENCH_NODE_DIR="$root/bindings-node"
    if [ -n "${LEASTPRIV_BENCH_BASELINE:-}" ]; then
        say "the baseline's Python package ($LEASTPRIV_BENCH_BASELINE)"
        base="$tmp/baseline"
        rm -rf "$base"
        git worktree add --detach -f "$base" "$LEASTPRIV_BENCH_BASELINE" >/dev/null
        bvenv="$tmp/baseline-venv"
        python3 -m venv "$bvenv"
        "$bvenv/bin/python" -m pip install --quiet --disable-pip-version-check "maturin>=1.9,<2"
        (cd "$base/bindings-python" && VIRTUAL_ENV="$bvenv" PATH="$bvenv/bin:$PATH" \
            CARGO_TARGET_DIR="$tmp/baseline-target" "$bvenv/bin/maturin" develop --release --quiet)
        export LEASTPRIV_BENCH_BASELINE_PYTHON="$bvenv/bin/python"
        trap 'git worktree remove --force "$base" 2>/dev/null || true; [ -n "${LEASTPRIV_BENCH_KEEP:-}" ] || rm -rf -- "$tmp"' EXIT
    fi
fi

say "measuring (best of ${LEASTPRIV_BENCH_REPS:-5}, commands in turn)"
python3 scripts/bench.py
