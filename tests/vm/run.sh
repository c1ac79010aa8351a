#!/usr/bin/env bash
# The VM tier: boots a QEMU guest (TCG; q35 with an emulated intel-iommu) with four modern
# virtio-net PCI functions, wired back to back in pairs over UDP on the host's loopback
# (split ring, then packed=on), and runs a test binary from the build folder inside it.
# Usage: run.sh BUILD_DIR TEST_BINARY (the binary's path, inside BUILD_DIR). The guest also
# runs vpmd-fwd on a PCI pair, and DPDK's net_virtio on the same pair as the reference.
# Judged by the markers in the serial log (QEMU exits 0 whatever happened); every step is
# bounded in time and QEMU is killed on exit.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR TEST_BINARY}" && pwd)
test_bin=$(realpath "${2:?usage: run.sh BUILD_DIR TEST_BINARY}")
rel=${test_bin#"$build"/}
[ "$rel" != "$test_bin" ] || { echo "run.sh: $test_bin is not inside $build" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "run.sh: qemu-system-x86_64 missing (scripts/setup.sh installs it)" >&2; exit 1; }
guest=$("$here/guest.sh" "$top/.vm")
log="$build/vm-serial.log"
rm -f "$log" "$build"/vm-*.log "$build/vm-fwd.json"
fwd=; [ -x "$build/apps/fwd/vpmd-fwd" ] && fwd=" vpmd_fwd=apps/fwd/vpmd-fwd"
# Four UDP ports on 127.0.0.1 for the two back-to-back pairs: free ones, from the kernel.
read -r p0 p1 p2 p3 < <(python3 -c '
import socket
s = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
nic() { # addr netdev-id local-port peer-port [extra]
    echo "-device virtio-net-pci,disable-legacy=on,iommu_platform=on,romfile=,addr=$1,netdev=$2$5" \
         "-netdev socket,id=$2,udp=127.0.0.1:$4,localaddr=127.0.0.1:$3"
}
# shellcheck disable=SC2046
timeout -k 5 280 qemu-system-x86_64 -accel tcg -cpu Nehalem -smp 2 -m 1024 -nographic -no-reboot \
    -machine q35,kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=on \
    $(nic 0x3 s0 "$p0" "$p1" "") $(nic 0x4 s1 "$p1" "$p0" "") \
    $(nic 0x5 k0 "$p2" "$p3" ",packed=on") $(nic 0x6 k1 "$p3" "$p2" ",packed=on") \
    -virtfs local,path=/usr,mount_tag=hostusr,security_model=none,readonly=on \
    -virtfs local,path="$build",mount_tag=vpmd,security_model=none \
    -kernel "$guest/vmlinux" -initrd "$guest/initrd.gz" \
    -append "console=ttyS0 quiet intel_iommu=on iommu=pt vpmd_test=$rel$fwd" </dev/null > "$log" 2>&1 || true
tr -d '\r' < "$log" | grep -E 'VPMD-VM|\[ *(RUN|OK|FAILED|PASSED) *\]|Failure|vpmd:|Probe PCI|RX-packets|Mpps' || true
grep -q 'VPMD-VM-PASS' "$log"
