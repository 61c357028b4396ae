#!/usr/bin/env bash
# Installs the packages as a user would, into fresh environments, and runs a one-file example
# in each: the wheel (scripts/package.sh builds it into dist/) with pip into a new venv, and the
# npm tarball with npm into a new project. Nothing else is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
./scripts/package.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/leastpriv-install.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

printf '\n== install: the wheel into a fresh venv\n'
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index "$root"/dist/leastpriv-*.whl
(cd "$tmp" && "$tmp/venv/bin/python" "$root/bindings-python/examples/quickstart.py" >/dev/null)
echo "the wheel installs and its example runs"

printf '\n== install: the tarball into a fresh npm project\n'
mkdir "$tmp/app"
cp "$root/bindings-node/examples/quickstart.js" "$tmp/app/"
(
    cd "$tmp/app"
    npm init -y >/dev/null
    # The package's only peer dependency (the AWS SDK, for its middleware) is not needed here.
    npm install --silent --no-audit --no-fund --omit=peer "$root"/dist/leastpriv-*.tgz
    node quickstart.js >/dev/null
)
echo "the tarball installs and its example runs"
