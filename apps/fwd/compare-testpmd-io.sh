#!/usr/bin/env bash
# io forwarding Mpps: vpmd-fwd (net_vpmd) vs dpdk-testpmd (net_virtio_user) vs dpdk-testpmd -d the net_vpmd
# plugin, each against the same two-process net_vhost testpmd backend, alternating so noise hits all.
# Usage: [BUILD=build] apps/fwd/compare-testpmd-io.sh [seconds per run] [rounds]
set -uo pipefail
secs=${1:-10}; rounds=${2:-2}
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BUILD:-build}
fwd=$top/$build/apps/fwd/vpmd-fwd
plugin=$top/$build/drivers/net/vpmd/librte_net_vpmd.so
sock=/tmp/vpmd-measure-$$.sock
mem=(--single-file-segments -m 256)
backend() {
    rm -f "$sock"
    timeout -s INT $((secs + 8)) dpdk-testpmd --lcores '0@0,1@0' --no-pci "${mem[@]}" --file-prefix=msB$$ \
        --vdev "net_vhost0,iface=$sock" -- --forward-mode=io --nb-cores=1 --stats-period=100 >/tmp/vpmd-compare-io-backend.log 2>&1 &
    bpid=$!
    for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
}
stop_backend() { kill -INT "$bpid" 2>/dev/null; wait "$bpid" 2>/dev/null; rm -f "$sock"; }
mean_testpmd() { grep -o "Rx-pps: *[0-9]*" "$1" | awk 'NR > 2 { s += $2; n++ } END { printf "%.2f", n ? s / n / 1e6 : 0 }'; }
mean_fwd() { grep -E "^\[ .*net_vpmd0" "$1" | awk 'NR > 2 { for (i = 1; i <= NF; i++) if ($i == "rx") { s += $(i+1); n++; break } } END { printf "%.2f", n ? s / n : 0 }'; }
printf '%-34s %s\n' "round driver/app" "Mpps (io, 64 B, mean of per-second rx after 2 s)"
for r in $(seq "$rounds"); do
    backend
    timeout -s INT $((secs + 20)) "$fwd" --lcores '0@1,1@1' --no-pci "${mem[@]}" --file-prefix=msF$$ \
        --vdev "net_vpmd0,path=$sock" -- --forward-mode=io --nb-cores=1 --tx-first --duration=$secs --stats-period=1 \
        --json=/tmp/vpmd-compare-io-fwd-$r.json >/tmp/vpmd-compare-io-fwd-$r.log 2>&1
    stop_backend
    printf '%-34s %s  (JSON whole-run rx %s)\n' "$r vpmd-fwd net_vpmd" "$(mean_fwd /tmp/vpmd-compare-io-fwd-$r.log)" \
        "$(python3 -c "import json;print('%.2f'%[p for p in json.load(open('/tmp/vpmd-compare-io-fwd-$r.json'))['ports'] if p['name']=='net_vpmd0'][0]['rx_mpps'])")"
    backend
    timeout -s INT "$secs" dpdk-testpmd --lcores '0@1,1@1' --no-pci "${mem[@]}" --file-prefix=msU$$ \
        --vdev "net_virtio_user0,path=$sock" -- --forward-mode=io --nb-cores=1 --tx-first --stats-period=1 \
        >/tmp/vpmd-compare-io-vu-$r.log 2>&1
    stop_backend
    printf '%-34s %s\n' "$r testpmd net_virtio_user" "$(mean_testpmd /tmp/vpmd-compare-io-vu-$r.log)"
    backend
    timeout -s INT "$secs" dpdk-testpmd --lcores '0@1,1@1' --no-pci "${mem[@]}" --file-prefix=msP$$ -d "$plugin" \
        --vdev "net_vpmd0,path=$sock" -- --forward-mode=io --nb-cores=1 --tx-first --stats-period=1 \
        >/tmp/vpmd-compare-io-tp-$r.log 2>&1
    stop_backend
    printf '%-34s %s\n' "$r testpmd -d plugin net_vpmd" "$(mean_testpmd /tmp/vpmd-compare-io-tp-$r.log)"
done
rm -f /dev/hugepages/msB$$* /dev/hugepages/msF$$* /dev/hugepages/msU$$* /dev/hugepages/msP$$*
rm -rf /var/run/dpdk/msB$$ /var/run/dpdk/msF$$ /var/run/dpdk/msU$$ /var/run/dpdk/msP$$
