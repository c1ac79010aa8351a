#!/usr/bin/env bash
# io forwarding Mpps of net_vpmd vs DPDK's net_virtio_user, each inside stock dpdk-testpmd
# against the same net_vhost testpmd backend, alternating runs so machine noise hits both.
# Usage: compare-testpmd.sh [seconds per run] [rounds] [extra devargs, e.g. packed_vq=1]
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
secs=${1:-10}
rounds=${2:-2}
extra=${3:-}
plugin="$top/build/drivers/net/vpmd/librte_net_vpmd.so"
[ -f "$plugin" ] || "$top/scripts/build.sh" build
sock=/tmp/vpmd-compare-$$.sock
mem=(--single-file-segments -m 512)
grep -q ' /dev/hugepages hugetlbfs' /proc/mounts || mem=(--no-huge -m 512)

run_one() { # driver-devargs
    rm -f "$sock"
    timeout -s INT $((secs + 6)) dpdk-testpmd --lcores '0@0,1@0' --no-pci "${mem[@]}" --file-prefix=cmpB$$ \
        --vdev "net_vhost0,iface=$sock" -- --forward-mode=io --nb-cores=1 --stats-period=100 \
        >/tmp/vpmd-compare-backend.log 2>&1 &
    local backend=$!
    for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
    timeout -s INT "$secs" dpdk-testpmd --lcores '0@1,1@1' --no-pci "${mem[@]}" --file-prefix=cmpF$$ \
        -d "$plugin" --vdev "$1" -- --forward-mode=io --nb-cores=1 --tx-first --stats-period=1 \
        >"/tmp/vpmd-compare-front-${1%%0,*}.log" 2>&1 || true
    kill -INT "$backend" 2>/dev/null || true
    wait "$backend" 2>/dev/null || true
    # Mean of the per-second Rx-pps lines, skipping the first two (start-up).
    grep -o "Rx-pps: *[0-9]*" "/tmp/vpmd-compare-front-${1%%0,*}.log" | awk 'NR > 2 { s += $2; n++ }
        END { if (n) printf "%.2f\n", s / n / 1e6; else print "0 (no traffic: see /tmp/vpmd-compare-*.log)" }'
}

printf '%-18s %s\n' driver "Mpps (io fwd, 64 B, ${secs}s runs)"
for r in $(seq "$rounds"); do
    v=$(run_one "net_vpmd0,path=$sock${extra:+,$extra}")
    u=$(run_one "net_virtio_user0,path=$sock${extra:+,$extra}")
    printf '%-18s %s\n' "net_vpmd" "$v" "net_virtio_user" "$u"
done
rm -f "$sock"
