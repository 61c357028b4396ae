#!/usr/bin/env bash
# The Node package (bindings-node/): installs what its tests need and runs all of them.
#
#   1. npm ci (the committed package-lock.json), then `npm run build`: the addon, debug build
#      (`napi build --platform`), which also regenerates index.js / index.d.ts;
#   2. the CLI (debug), for the test that the serialized form is the CLI's;
#   3. moto_server in the repository's .venv (made here if missing), for the end-to-end test;
#   4. node's test runner over bindings-node/test/*.test.js: the shared vectors of spec/vectors,
#      the error codes, the Recorder API, the SDK v3 middleware, and the end-to-end test (an SDK v3
#      application tested with jest, two workers, against a moto_server on 127.0.0.1 that the
#      test starts on a free port and stops).
#
# Fails if any test fails, if the runner ran fewer tests than expected, or if the build
# regenerated index.js / index.d.ts differently from the committed ones (run `npm run build` in
# bindings-node/ and commit them).
# Nothing is left running afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
MOTO_PIN='moto[server]==5.2.5'

step() { printf '\n== %s\n' "$*"; }

command -v node >/dev/null || { echo "test-node.sh: node (>= 20) is required" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
    { echo "test-node.sh: node >= 20 is required, found $(node --version)" >&2; exit 1; }

step "node: npm ci"
cd "$ROOT/bindings-node"
npm ci --no-audit --no-fund --loglevel=error

step "node: build the addon (napi build --platform, debug)"
npm run --silent build
if git ls-files --error-unmatch index.d.ts index.js >/dev/null 2>&1 &&
    ! git diff --quiet -- index.d.ts index.js; then
    git --no-pager diff --stat -- index.d.ts index.js
    echo "test-node.sh: the generated index.js / index.d.ts differ from the committed ones: commit them" >&2
    exit 1
fi

step "node: the CLI (debug), for the serialized-form test"
cargo build --quiet -p leastpriv --features cli
export LEASTPRIV_CLI="$CARGO_TARGET_DIR/debug/leastpriv"

step "node: moto_server ($MOTO_PIN) in .venv"
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$MOTO_PIN"
export MOTO_SERVER="$VENV/bin/moto_server"
[ -x "$MOTO_SERVER" ] || { echo "test-node.sh: $MOTO_SERVER missing after install" >&2; exit 1; }

step "node: tests (node --test)"
log=$(mktemp "${TMPDIR:-/tmp}/leastpriv-node-tests.XXXXXX")
trap 'rm -f -- "$log"' EXIT
status=0
node --test --test-reporter=tap test/*.test.js >"$log" 2>&1 || status=$?
if [ "$status" -ne 0 ] || grep -q '^not ok' "$log"; then
    cat "$log"
    echo "test-node.sh: node tests failed (exit $status)" >&2
    exit 1
fi
grep -E '^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' "$log"
# The floor: at least one test per shared vector, and the tests written in the other files; a
# file that stopped loading, or a runner that skipped vectors, falls below it.
MIN_TESTS=$(node -e '
  const fs = require("fs"), path = require("path");
  const dir = path.join(process.argv[1], "spec", "vectors");
  let n = 0;
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    n += JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")).length;
  }
  const others = fs.readdirSync(path.join(process.argv[1], "bindings-node", "test"))
    .filter((f) => f.endsWith(".test.js") && f !== "vectors.test.js")
    .map((f) => (fs.readFileSync(path.join(process.argv[1], "bindings-node", "test", f), "utf8").match(/^test\(/gm) || []).length)
    .reduce((a, b) => a + b, 0);
  console.log(n + others);
' "$ROOT")
tests=$(sed -n 's/^# tests \([0-9][0-9]*\)$/\1/p' "$log" | tail -1)
fails=$(sed -n 's/^# fail \([0-9][0-9]*\)$/\1/p' "$log" | tail -1)
if [ -z "$tests" ] || [ "$tests" -lt "$MIN_TESTS" ] || [ "${fails:-1}" -ne 0 ]; then
    echo "test-node.sh: expected at least $MIN_TESTS tests and no failure, got ${tests:-none} tests, ${fails:-?} failed" >&2
    exit 1
fi

step "node: all tests passed"
