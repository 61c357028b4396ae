#!/usr/bin/env bash
# Throughput and peak memory of leastpriv on generated μ/log EDN, μ/log JSON and JSON-lines files.
#
#   scripts/bench.sh                         # 1,000,000 events (and 100,000 for the memory comparison)
#   LEASTPRIV_BENCH_EVENTS=200000 scripts/bench.sh
#
# 1. builds the release CLI (cargo build --release -p leastpriv --features cli);
# 2. runs the bench binary (cargo bench -p leastpriv --bench throughput): library read
#    throughput per format, then build_policies + render_json;
# 3. measures the CLI's peak RSS (`leastpriv permissions FILE --region ... --account ...`) on the
#    same files and on files with a tenth of the events, to show that memory follows the
#    number of distinct permissions (fixed here), not the number of events.
#
# Everything generated goes to a temporary directory that is removed on exit.
# Other variables: LEASTPRIV_BENCH_RESOURCES (default 1000), LEASTPRIV_BENCH_ITERS (default 1),
# LEASTPRIV_BENCH_SMALL (events of the small run, default EVENTS/10), LEASTPRIV_BENCH_MEASURE=poll
# (measure peak memory by polling /proc/PID/status VmHWM instead of GNU time).
set -euo pipefail

cd "$(dirname "$0")/.."

events=${LEASTPRIV_BENCH_EVENTS:-1000000}
small=${LEASTPRIV_BENCH_SMALL:-$((events / 10))}
region=eu-west-1
account=123456789012

tmp=$(mktemp -d "${TMPDIR:-/tmp}/leastpriv-bench.XXXXXX")
cleanup() { rm -rf -- "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n== %s\n' "$*"; }

say "building the release CLI"
cargo build --release -p leastpriv --features cli
target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
cli="${target_dir:-target}/release/leastpriv"
[ -x "$cli" ] || { echo "bench.sh: $cli not found" >&2; exit 1; }

say "library throughput, $events events per format"
mkdir -p "$tmp/large" "$tmp/small"
LEASTPRIV_BENCH_EVENTS=$events LEASTPRIV_BENCH_OUT="$tmp/large" \
    cargo bench -p leastpriv --bench throughput

say "generating $small events per format for the memory comparison"
LEASTPRIV_BENCH_EVENTS=$small LEASTPRIV_BENCH_OUT="$tmp/small" LEASTPRIV_BENCH_GENERATE_ONLY=1 \
    cargo bench -p leastpriv --bench throughput

# peak_rss FILE -> prints "KB SECONDS" for the CLI on FILE.
measure=""
if [ "${LEASTPRIV_BENCH_MEASURE:-}" = poll ]; then
    measure="VmHWM polling (approximate)"
elif [ -x /usr/bin/time ] && /usr/bin/time -f '%M' true >/dev/null 2>&1; then
    measure="GNU time"
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] &&
    apt-get install -y -qq time >/dev/null 2>&1 && [ -x /usr/bin/time ]; then
    measure="GNU time"
else
    # Last resort: poll the process's VmHWM (its high-water mark; exec resets it, so the shell's
    # fork does not count). Approximate, a lower bound: growth in the last few milliseconds
    # before exit (rendering the output) can be missed.
    measure="VmHWM polling (approximate)"
fi

# peak_rss FILE -> prints "KB SECONDS" for `leastpriv permissions FILE ...`.
peak_rss() {
    local file=$1
    if [ "$measure" = "GNU time" ]; then
        /usr/bin/time -o "$tmp/time.out" -f '%M %e' \
            "$cli" permissions "$file" --region "$region" --account "$account" >/dev/null
        cat "$tmp/time.out"
        return
    fi
    local start=$EPOCHREALTIME hwm=0 v pid
    "$cli" permissions "$file" --region "$region" --account "$account" >/dev/null &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
        if [ -n "$v" ] && [ "$v" -gt "$hwm" ]; then hwm=$v; fi
        sleep 0.005
    done
    wait "$pid"
    awk -v a="$start" -v b="$EPOCHREALTIME" -v k="$hwm" 'BEGIN { printf "%d %.2f\n", k, b - a }'
}

say "CLI peak memory (leastpriv permissions FILE --region $region --account $account > /dev/null; $measure)"
printf '%-11s %10s %12s %8s %10s   %10s %12s %8s %10s   %6s\n' \
    format events "peak RSS KB" seconds "events/s" events "peak RSS KB" seconds "events/s" ratio
for f in events.edn:mulog-edn events.mulog.jsonl:mulog-json calls.jsonl:jsonl; do
    file=${f%%:*}
    name=${f##*:}
    out=$(peak_rss "$tmp/small/$file")
    read -r s_kb s_s <<<"$out"
    out=$(peak_rss "$tmp/large/$file")
    read -r l_kb l_s <<<"$out"
    awk -v n="$name" -v se="$small" -v sk="$s_kb" -v ss="$s_s" \
        -v le="$events" -v lk="$l_kb" -v ls="$l_s" 'BEGIN {
        sr = (ss > 0) ? se / ss : 0; lr = (ls > 0) ? le / ls : 0
        printf "%-11s %10d %12d %8.2f %10.0f   %10d %12d %8.2f %10.0f   %5.2fx\n",
            n, se, sk, ss, sr, le, lk, ls, lr, lk / sk }'
done
echo
echo "ratio = peak RSS at $events events / peak RSS at $small events; the resources (and so the"
echo "distinct permissions) are the same in both, so a ratio near 1 means memory does not grow with events."
