#!/usr/bin/env bash
# Instructions per packet in each driver's burst functions (rx + tx), counted by callgrind
# on vpmd-perf's single-thread mode: repeatable on a noisy machine, where Mpps is not.
# Usage: callgrind-pmd.sh [packets] [--by-lcore] [vpmd-perf scenario options...]
#   e.g. callgrind-pmd.sh 50000 --layout=packed --in-order=0
# --by-lcore also counts what each side's lcore runs per packet (two more runs): the driver
# lcore (vpmd-perf's packet build and check, the bursts, the mempool) and the device lcore
# (DPDK's vhost and net_vhost, the mempool). When the device's figure is the larger, the
# device sets the rate in a threaded run, and both drivers meet the same ceiling.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${1:-50000}
shift || true
by_lcore=0
if [ "${1:-}" = --by-lcore ]; then
    by_lcore=1
    shift
fi
perf="$top/build/apps/perf/vpmd-perf"
[ -x "$perf" ] || "$top/scripts/build.sh" build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scenario=("$@")
[ ${#scenario[@]} -gt 0 ] || scenario=(--layout=split)
# One run (of both drivers, unless the first argument is `solo`); DPDK's plugins carry no
# symbols, so each driver is counted by where its code lives: net_vpmd's burst functions
# (vpmd::pmd::, with what they inline) and everything inside librte_net_virtio.so. Calls
# out to the mempool library count for neither, so the two figures cover the same ground.
# The lcore figures are inclusive costs of the two loops' entry points (the driver's send
# and receive, the device's poll), whichever driver ran them.
# Instructions of each driver for a run of `1` x n packets: setup costs cancel when the
# n-packet run is subtracted from the 2n-packet run.
measure() { # [solo] packets -> "vpmd virtio driver-lcore device-lcore" instruction totals
    local compare=--compare
    if [ "$1" = solo ]; then
        compare=
        shift
    fi
    local out="$work/cg.$1.out"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$perf" --no-pci --lcores 0@0 --no-huge -m 512 \
        --file-prefix="vpmd-cg-$$" --log-level='lib.vhost.*:error' --log-level='pmd.net.vpmd.*:warning' -- \
        --single-thread --repeats=1 --packets="$1" $compare "${scenario[@]}" >"$work/log" 2>&1 || {
        cat "$work/log" >&2; exit 1; }
    # --auto=no: a -g build would otherwise add source annotation lines to the sum. The
    # link watcher (PortControl::watch_once and its thread) runs by wall time, not per packet: left out.
    local self incl
    self=$(callgrind_annotate --auto=no --threshold=100 "$out" 2>/dev/null | awk '
        /^ *[0-9,]+ / { v = $1; gsub(",", "", v);
            if ($0 ~ /vpmd::pmd::/ && $0 !~ /::watch|start_watcher/) a += v; else if ($0 ~ /librte_net_virtio\.so/) b += v }
        END { printf "%d %d\n", a, b }')
    incl=$(callgrind_annotate --auto=no --inclusive=yes --threshold=100 "$out" 2>/dev/null | awk '
        /^ *[0-9,]+ / { v = $1; gsub(",", "", v);
            if ($0 ~ /DriverLoop::(send|receive)\(/) d += v; else if ($0 ~ /DeviceLoop::poll\(/) e += v }
        END { printf "%d %d\n", d, e }')
    echo "$self $incl"
}
per() { echo "($2 - $1) / $n" | bc -l; }
read -r a1 b1 d1 e1 < <(measure "$n")
read -r a2 b2 d2 e2 < <(measure $((2 * n)))
echo "scenario: ${scenario[*]}; instructions per forwarded packet (rx + tx burst functions, loopback, single thread)"
printf '%-16s %8.1f\n' net_vpmd "$(per "$a1" "$a2")" net_virtio_user "$(per "$b1" "$b2")"
[ "$by_lcore" = 1 ] || exit 0
# net_vpmd alone; net_virtio_user's share of the lcores is the run of both minus that.
read -r _ _ d3 e3 < <(measure solo "$n")
read -r _ _ d4 e4 < <(measure solo $((2 * n)))
echo "per packet, inclusive: driver lcore (app + bursts + mempool) / device lcore (vhost + net_vhost + mempool)"
printf '%-16s %8.1f %8.1f\n' net_vpmd "$(per "$d3" "$d4")" "$(per "$e3" "$e4")" \
    net_virtio_user "$(per $((d1 - d3)) $((d2 - d4)))" "$(per $((e1 - e3)) $((e2 - e4)))"
