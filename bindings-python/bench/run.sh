#!/usr/bin/env bash
# Benchmarks of the Python package (not part of the test run):
#   record() calls per second, and reading a 1M-event file through the binding vs the CLI.
#
#   bindings-python/bench/run.sh                  # 1,000,000 calls and events
#   bindings-python/bench/run.sh --events 200000
#
# Builds release versions of the wheel and of the CLI, installs the wheel into a temporary
# virtual environment (removed on exit), and runs bench.py there.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/leastpriv-pybench.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check 'maturin==1.16.0'
(cd bindings-python && "$tmp/venv/bin/maturin" build --release --quiet --out "$tmp/wheels")
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check "$tmp"/wheels/*.whl
cargo build --quiet --release -p leastpriv --features cli
"$tmp/venv/bin/python" bindings-python/bench/bench.py --cli "$CARGO_TARGET_DIR/release/leastpriv" "$@"
