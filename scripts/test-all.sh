#!/usr/bin/env bash
# Installs what the tests need and runs all of them. `.ci/run` calls exactly this.
#
#   1. Rust: formatting, clippy (-D warnings), unit tests, doctests, the shared vectors of
#      spec/vectors (one test per vector), the CLI tests (debug builds, one target directory).
#   2. spec/: the JSON Schemas and the data checks (Python, in a venv made here).
#   3. The Python package (scripts/test-python.sh): vectors, errors, boto3 recorder, pytest plugin,
#      end-to-end against a moto_server on 127.0.0.1, serial and with xdist.
#   4. The Node package (scripts/test-node.sh): vectors, errors, SDK middleware, jest end-to-end
#      against a moto_server on 127.0.0.1.
#   5. The README's first command, on the sample events.
#
# Everything runs on this machine only; nothing is left running afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n== %s\n' "$*"; }

step "rust: format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "rust: unit, doc, vector and CLI tests"
cargo test --workspace --all-features --no-fail-fast

step "spec: schemas and data checks"
VENV="$PWD/.venv"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check 'jsonschema==4.26.0'
"$VENV/bin/python" spec/tools/check_services.py
"$VENV/bin/python" spec/tools/validate.py

step "python: the package, its vectors and the end-to-end tests"
./scripts/test-python.sh

step "node: the npm package, its vectors and the end-to-end tests"
./scripts/test-node.sh

step "README: the example command"
./scripts/example.sh > /dev/null

step "all tests passed"
