#!/usr/bin/env bash
# Instructions per packet of the ring core under callgrind, repeatable on a noisy machine:
# runs vpmd-ringbench single-threaded for N and 2N packets and divides the difference by
# N, so start-up cost cancels out. Usage: callgrind-ring.sh [N] (default 200000).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${1:-200000}
bench="$top/build/apps/ringbench/vpmd-ringbench"
[ -x "$bench" ] || "$top/scripts/build.sh" build
count() { # layout burst packets [extra]
    local out; out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bench" --single-thread \
        --layout="$1" --bursts="$2" --packets="$3" ${4:-} 2>"$out" >/dev/null
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out"; rm -f "$out"
}
printf '%-8s %-9s %6s %14s\n' layout mode burst instr/packet
for layout in split packed; do
    for mode in "" --in-order; do
        for burst in 1 8 32 64; do
            a=$(count "$layout" "$burst" "$n" "$mode")
            b=$(count "$layout" "$burst" $((2 * n)) "$mode")
            printf '%-8s %-9s %6s %14.1f\n' "$layout" "${mode:-any}" "$burst" "$(echo "($b - $a) / $n" | bc -l)"
        done
    done
done
