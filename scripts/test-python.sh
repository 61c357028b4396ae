#!/usr/bin/env bash
# The Python package's tests: builds `leastpriv` (bindings-python/) into the repo's .venv with
# maturin (a debug build), lints it (ruff), checks the type stubs (mypy, mypy.stubtest) and runs
# its pytest suite: the shared vectors, error mapping, the Recorder API, the boto3 recorder, the
# pytest plugin, and end-to-end runs of a boto3 application against a moto_server on 127.0.0.1 (started and
# stopped by the tests; anything left behind by an interrupted run is ended on exit).
#
#   scripts/test-python.sh                 # everything
#   scripts/test-python.sh -k vectors      # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n== %s\n' "$*"; }

VENV="$root/.venv"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
py="$VENV/bin/python"

piddir=$(mktemp -d "${TMPDIR:-/tmp}/leastpriv-python-tests.XXXXXX")
cleanup() {
    for f in "$piddir"/*.pid; do
        [ -e "$f" ] || continue
        pid=$(cat "$f")
        kill "$pid" 2>/dev/null || true
    done
    rm -rf -- "$piddir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "python: test dependencies (bindings-python/requirements-test.txt)"
"$py" -m pip install --quiet --disable-pip-version-check -r bindings-python/requirements-test.txt

step "python: build and install the package (maturin develop, debug)"
(cd bindings-python && VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" "$VENV/bin/maturin" develop --quiet)

step "python: the CLI, for the state-interoperability test"
cargo build --quiet -p leastpriv --features cli
export LEASTPRIV_CLI="$CARGO_TARGET_DIR/debug/leastpriv"

step "python: lint (ruff)"
(cd bindings-python && "$VENV/bin/ruff" check python tests tests_aio bench examples && "$VENV/bin/ruff" format --check python tests tests_aio bench examples)

step "python: type stubs (mypy --strict, mypy.stubtest)"
"$py" -m mypy --config-file bindings-python/pyproject.toml -p leastpriv
"$py" -m mypy.stubtest --mypy-config-file bindings-python/pyproject.toml leastpriv

# The AWS CLI (v1, from the registry) pins its own botocore: a virtual environment of its own,
# for the recording endpoint's end-to-end test.
step "python: the AWS CLI (.venv-awscli: awscli==1.46.2)"
AWSCLI_VENV="$root/.venv-awscli"
[ -x "$AWSCLI_VENV/bin/python" ] || python3 -m venv "$AWSCLI_VENV"
"$AWSCLI_VENV/bin/python" -m pip install --quiet --disable-pip-version-check awscli==1.46.2
export LEASTPRIV_AWSCLI="$AWSCLI_VENV/bin/aws"

step "python: pytest"
export LEASTPRIV_TEST_PIDDIR="$piddir"
set +e
"$py" -m pytest bindings-python/tests -p no:cacheprovider -q "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "test-python.sh: pytest collected no tests" >&2
    exit 1
fi
[ "$rc" -eq 0 ] || exit "$rc"

# aiobotocore pins its own botocore range, which clashes with the pins above: its end-to-end
# test runs in a virtual environment of its own (moto_server from .venv).
step "python: aiobotocore end to end (.venv-aio: bindings-python/requirements-aio.txt)"
AIO="$root/.venv-aio"
[ -x "$AIO/bin/python" ] || python3 -m venv "$AIO"
"$AIO/bin/python" -m pip install --quiet --disable-pip-version-check -r bindings-python/requirements-aio.txt
(cd bindings-python && VIRTUAL_ENV="$AIO" PATH="$AIO/bin:$PATH" "$VENV/bin/maturin" develop --quiet)
LEASTPRIV_MOTO_PYTHON="$py" "$AIO/bin/python" -m pytest bindings-python/tests_aio -p no:cacheprovider -q
