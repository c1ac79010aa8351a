#!/usr/bin/env bash
# vpmd-bridge vs vpmd-fwd io on the same two net_vpmd ports: a dpdk-testpmd backend with two
# net_vhost ports in io mode (it sends the first bursts), and each app forwarding between
# the ports in turn, alternating so the machine's speed phases hit both. 64 B frames.
# Usage: BRIDGE=<built vpmd-bridge> [BUILD=build] apps/bridge/compare-fwd.sh [seconds] [rounds]
set -uo pipefail
secs=${1:-10}; rounds=${2:-2}
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fwd=$top/${BUILD:-build}/apps/fwd/vpmd-fwd
bridge=${BRIDGE:?set BRIDGE to a vpmd-bridge binary}
a=/tmp/vpmd-brcmp-$$-a.sock; b=/tmp/vpmd-brcmp-$$-b.sock
mem=(--single-file-segments -m 512)
backend() {
    rm -f "$a" "$b"
    timeout -s INT $((secs + 10)) dpdk-testpmd --lcores '0@0,1@0' --no-pci "${mem[@]}" --file-prefix=bcB$$ \
        --vdev "net_vhost0,iface=$a" --vdev "net_vhost1,iface=$b" -- --forward-mode=io --nb-cores=1 \
        --tx-first --stats-period=100 >/tmp/vpmd-brcmp-backend.log 2>&1 &
    bpid=$!
    for _ in $(seq 50); do [ -S "$a" ] && [ -S "$b" ] && break; sleep 0.1; done
}
stop_backend() { kill -INT "$bpid" 2>/dev/null; wait "$bpid" 2>/dev/null; rm -f "$a" "$b"; }
printf '%-24s %s\n' "round app" "Mpps forwarded (rx of both ports, whole run)"
for r in $(seq "$rounds"); do
    backend
    timeout -s INT $((secs + 20)) "$fwd" --lcores '0@1,1@1' --no-pci "${mem[@]}" --file-prefix=bcF$$ \
        --vdev "net_vpmd0,path=$a" --vdev "net_vpmd1,path=$b" -- --forward-mode=io --nb-cores=1 \
        --duration=$secs --json=/tmp/vpmd-brcmp-fwd.json >/tmp/vpmd-brcmp-fwd-$r.log 2>&1
    stop_backend
    printf '%-24s %s\n' "$r vpmd-fwd io" "$(python3 -c "import json;print('%.2f'%sum(p['rx_mpps'] for p in json.load(open('/tmp/vpmd-brcmp-fwd.json'))['ports']))")"
    backend
    timeout -s INT $((secs + 20)) "$bridge" --lcores '0@1,1@1' --no-pci "${mem[@]}" --file-prefix=bcR$$ -- \
        --port "net_vpmd0,path=$a" --port "net_vpmd1,path=$b" --duration $secs >/tmp/vpmd-brcmp-bridge-$r.log 2>&1
    stop_backend
    printf '%-24s %s\n' "$r vpmd-bridge" "$(grep -o 'rx [0-9]* packets ([0-9.]* Mpps)' /tmp/vpmd-brcmp-bridge-$r.log | grep -o '[0-9.]* Mpps')"
done
