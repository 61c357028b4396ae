#!/usr/bin/env bash
# The PySpark recipe (bindings-python/examples/spark_cloudtrail.py), outside .ci/run for its size
# (pyspark and a JVM): 60 generated CloudTrail files read on `local[2]`; the policy must equal,
# byte for byte, the CLI's over the same files in one process. Needs a Java runtime (17+).
#
#   scripts/test-spark.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

command -v java >/dev/null || { echo "test-spark.sh: needs a Java runtime (java on PATH)" >&2; exit 1; }
VENV="$root/.venv-spark"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check pyspark==4.3.0 maturin==1.16.0
(cd bindings-python && VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" "$VENV/bin/maturin" develop --quiet --release)
cargo build --quiet --release -p leastpriv --features cli

tmp=$(mktemp -d "${TMPDIR:-/tmp}/leastpriv-spark.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
# The Dask test's trail generator, 60 files.
"$VENV/bin/python" bindings-python/examples/make_trail.py "$tmp" 60 >/dev/null
"$CARGO_TARGET_DIR/release/leastpriv" policy -q --group-by principal -j 1 "$tmp"/*.json.gz > "$tmp/cli.json"
start=$(date +%s)
PYSPARK_PYTHON="$VENV/bin/python" "$VENV/bin/python" bindings-python/examples/spark_cloudtrail.py \
    --master 'local[2]' --group-by-principal "$tmp"/*.json.gz > "$tmp/spark.json" 2> "$tmp/spark.log" \
    || { tail -40 "$tmp/spark.log" >&2; exit 1; }
end=$(date +%s)
if cmp -s "$tmp/cli.json" "$tmp/spark.json"; then
    echo "test-spark.sh: 60 files on local[2] in $((end - start))s: the policy equals the CLI's"
    echo "1 passed, 0 failed"
else
    diff "$tmp/cli.json" "$tmp/spark.json" | head -20 >&2
    echo "0 passed, 1 failed"
    exit 1
fi
