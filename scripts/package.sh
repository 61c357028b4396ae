#!/usr/bin/env bash
# Builds what a user installs, into dist/ (LEASTPRIV_DIST to change it):
#
#   - the Python wheel: one abi3 wheel for CPython 3.10 and later, built by maturin in release
#     mode and tagged manylinux for this platform (maturin checks the glibc symbols it uses);
#   - the npm tarball: `npm pack` of bindings-node/ with the prebuilt addon for this platform
#     (release build), index.js loading it from the package.
#
#   scripts/package.sh          # then: pip install dist/leastpriv-*.whl
#                               #       npm install -D ./dist/leastpriv-*.tgz
#
# Uses the target directory of the workspace (CARGO_TARGET_DIR) and a build venv in it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
dist="${LEASTPRIV_DIST:-$root/dist}"
mkdir -p "$dist"
maturin_pin=$(sed -n 's/^maturin==//p' bindings-python/requirements-test.txt)

step() { printf '\n== %s\n' "$*"; }

step "python: the wheel (maturin $maturin_pin, release)"
venv="$CARGO_TARGET_DIR/package-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "maturin==$maturin_pin"
rm -f "$dist"/leastpriv-*.whl
(cd bindings-python && "$venv/bin/maturin" build --release --strip --out "$dist" --quiet)
ls "$dist"/leastpriv-*.whl

step "node: the addon (release) and the tarball (npm pack)"
(
    cd bindings-node
    [ -d node_modules ] || npm ci --silent
    npm run --silent build:release
    rm -f "$dist"/leastpriv-*.tgz
    npm pack --silent --pack-destination "$dist" >/dev/null
)
ls "$dist"/leastpriv-*.tgz
