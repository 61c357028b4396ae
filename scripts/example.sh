#!/usr/bin/env bash
# The main job on the sample events: the policy as IAM JSON, then as Terraform.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet -p leastpriv --features cli
bin="${CARGO_TARGET_DIR:-$PWD/target}/debug/leastpriv"
args=(spec/examples/orders.edn --region eu-west-1 --account 123456789012)
"$bin" policy "${args[@]}" --format json
"$bin" policy "${args[@]}" --format terraform --quiet
