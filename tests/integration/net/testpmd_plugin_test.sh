#!/usr/bin/env bash
# The stock dpdk-testpmd loads net_vpmd as a plugin (-d librte_net_vpmd.so) and forwards
# traffic with a net_vhost testpmd in another process; dpdk-pmdinfo.py reads the plugin.
# Usage: testpmd_plugin_test.sh <plugin .so>   (VPMD_TEST_MEMORY=nohuge|huge)
set -uo pipefail
plugin=$1
tag="vpmd-tp-$$"
sock="/tmp/$tag.sock"
logs=$(mktemp -d)
pids=()
plugin_dir=
cleanup() {
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; done
    sleep 0.5
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$sock" "$logs" /dev/hugepages/"$tag"* /var/run/dpdk/"$tag"* ${plugin_dir:+"$plugin_dir"} 2>/dev/null
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$logs"/*; do echo "--- $f"; tail -n 30 "$f"; done; exit 1; }

if [ "${VPMD_TEST_MEMORY:-nohuge}" = huge ]; then
    if ! grep -q ' /dev/hugepages hugetlbfs' /proc/mounts; then echo "SKIP: no hugetlbfs"; exit 77; fi
    mem=(--single-file-segments -m 256)
else
    mem=(--no-huge -m 256)
fi

dpdk-pmdinfo.py "$plugin" | grep -q '"name": "net_vpmd"' || fail "dpdk-pmdinfo.py does not list net_vpmd"

# EAL refuses -d plugins below a world-writable directory (a checkout under /tmp): load a
# copy from a private folder in that case.
world_writable_above() {
    local d
    d=$(dirname "$(readlink -f "$1")")
    while [ "$d" != / ]; do
        [ -n "$(find "$d" -maxdepth 0 -perm -0002)" ] && return 0
        d=$(dirname "$d")
    done
    return 1
}
if world_writable_above "$plugin"; then
    plugin_dir=$(mktemp -d "${HOME:-/root}/.vpmd-plugin.XXXXXX") || fail "no private folder for the plugin"
    cp "$plugin" "$plugin_dir/"
    plugin="$plugin_dir/$(basename "$plugin")"
fi

dpdk-testpmd --lcores '0@0,1@0' --no-pci "${mem[@]}" --file-prefix="${tag}b" \
    --vdev "net_vhost0,iface=$sock" -- --forward-mode=io --nb-cores=1 --stats-period=1 \
    --total-num-mbufs=8192 >"$logs/backend" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || fail "backend did not create $sock"

dpdk-testpmd --lcores '0@1,1@1' --no-pci "${mem[@]}" --file-prefix="${tag}f" -d "$plugin" \
    --vdev "net_vpmd0,path=$sock" -- --forward-mode=io --nb-cores=1 --tx-first --stats-period=1 \
    --total-num-mbufs=8192 >"$logs/front" 2>&1 &
front=$!
pids+=($front)
# Wait (generously) until packets have gone round, then stop the front cleanly.
for _ in $(seq 150); do
    grep -q 'RX-packets: [1-9]' "$logs/front" && break
    kill -0 "$front" 2>/dev/null || break
    sleep 0.1
done
kill -INT "$front"
wait "$front"
rx=$(grep -A2 'Forward statistics for port 0' "$logs/front" | sed -n 's/.*RX-packets: *\([0-9]*\).*/\1/p' | head -1)
tx=$(grep -A3 'Forward statistics for port 0' "$logs/front" | sed -n 's/.*TX-packets: *\([0-9]*\).*/\1/p' | head -1)
grep -q 'Port 0 Link up' "$logs/front" || fail "net_vpmd link never came up"
[ "${rx:-0}" -gt 0 ] || fail "testpmd with net_vpmd received nothing"
[ "${tx:-0}" -gt 0 ] || fail "testpmd with net_vpmd sent nothing"
grep -q 'Bye' "$logs/front" || fail "testpmd did not close the port and exit cleanly"
echo "PASS: forwarded rx=$rx tx=$tx through net_vpmd loaded as a plugin"
