#!/usr/bin/env bash
# Runs one fuzz target for a bounded time from its seed corpus (new inputs go to a
# temporary folder; the seeds in the tree are not touched) and prints libFuzzer's final
# stats. Exit status: libFuzzer's (non-zero on a crash, a leak or a timeout).
# usage: run_fuzz.sh TARGET SECONDS SEED_DIR [DICT]
set -uo pipefail
target=$1; secs=$2; seeds=$3; dict=${4:-}
work=$(mktemp -d /tmp/vpmd-fuzz-XXXXXX)
trap 'rm -rf "$work"' EXIT
args=(-max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/")
[ -n "$dict" ] && [ -f "$dict" ] && args+=(-dict="$dict")
"$target" "${args[@]}" "$work" "$seeds" >"$work/log" 2>&1
rc=$?
grep -E "^stat::(number_of_executed_units|peak_rss_mb)|^#[0-9]+.*DONE|cov:" "$work/log" | tail -4
if [ "$rc" -ne 0 ]; then
    tail -60 "$work/log"
    for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-*; do
        [ -f "$a" ] && { echo "artifact $(basename "$a"):"; od -An -tx1 "$a" | head -8; }
    done
fi
exit "$rc"
