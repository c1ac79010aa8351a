#!/usr/bin/env bash
# Instructions per packet in each driver's burst functions (rx + tx), counted by callgrind
# on vpmd-perf's single-thread mode: repeatable on a noisy machine, where Mpps is not.
# Usage: callgrind-pmd.sh [packets] [vpmd-perf scenario options...]
#   e.g. callgrind-pmd.sh 50000 --layout=packed --in-order=0
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${1:-50000}
shift || true
perf="$top/build/apps/perf/vpmd-perf"
[ -x "$perf" ] || "$top/scripts/build.sh" build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scenario=("$@")
[ ${#scenario[@]} -gt 0 ] || scenario=(--layout=split)
# One run with both drivers; DPDK's plugins carry no symbols, so each driver is counted
# by where its code lives: net_vpmd's burst functions (vpmd::pmd::, with what they inline)
# and everything inside librte_net_virtio.so. Calls out to the mempool library count for
# neither, so the two figures cover the same ground.
# Instructions of each driver for a run of `1` x n packets: setup costs cancel when the
# n-packet run is subtracted from the 2n-packet run.
measure() { # packets -> "vpmd virtio" instruction totals
    local out="$work/cg.$1.out"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$perf" --no-pci --lcores 0@0 --no-huge -m 512 \
        --file-prefix="vpmd-cg-$$" --log-level='lib.vhost.*:error' --log-level='pmd.net.vpmd.*:warning' -- \
        --single-thread --repeats=1 --packets="$1" --compare "${scenario[@]}" >"$work/log" 2>&1 || {
        cat "$work/log" >&2; exit 1; }
    # --auto=no: a -g build would otherwise add source annotation lines to the sum. The
    # link watcher (PortControl::watch_once and its thread) runs by wall time, not per packet: left out.
    callgrind_annotate --auto=no --threshold=100 "$out" 2>/dev/null | awk '
        /^ *[0-9,]+ / { v = $1; gsub(",", "", v);
            if ($0 ~ /vpmd::pmd::/ && $0 !~ /::watch|start_watcher/) a += v; else if ($0 ~ /librte_net_virtio\.so/) b += v }
        END { printf "%d %d\n", a, b }'
}
read -r a1 b1 < <(measure "$n")
read -r a2 b2 < <(measure $((2 * n)))
echo "scenario: ${scenario[*]}; instructions per forwarded packet (rx + tx burst functions, loopback, single thread)"
printf '%-16s %8.1f\n' net_vpmd "$(echo "($a2 - $a1) / $n" | bc -l)" net_virtio_user "$(echo "($b2 - $b1) / $n" | bc -l)"
