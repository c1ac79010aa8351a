#!/usr/bin/env bash
# The VM tier: boots a QEMU guest (TCG; q35 with an emulated intel-iommu) with five or six
# modern virtio-net PCI functions: two pairs wired back to back over UDP on the host's
# loopback (split ring, then packed=on), one with two queue pairs (mq=on) on a vhost-user
# backend on the host, and, where the host can make one, one with two queue pairs on a tap. It runs a test binary from the build folder inside the guest.
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
# A fifth function, mq=on, is a vhost-user netdev served on the host by DPDK's net_vhost
# (dpdk-testpmd, io forwarding looped back on the port: queue q returns on queue q).
vu_sock="$build/vm-vhost.sock"
rm -f "$vu_sock"
host_pid=
host_in="$build/vm-host-testpmd.in"
tap=vpmdq$$ tap_pid='' tapnic=''
cleanup() {
    [ -z "$host_pid" ] || kill "$host_pid" 2>/dev/null || true
    [ -z "$tap_pid" ] || kill "$tap_pid" 2>/dev/null || true
    [ -z "$tapnic" ] || ip link del "$tap" 2>/dev/null || true
    rm -f "$vu_sock" "$host_in"
}
trap cleanup EXIT
# testpmd runs until its stdin says so: a fifo this script holds open (no helper process
# that could outlive it and keep the test runner's pipes open).
rm -f "$host_in"; mkfifo "$host_in"; exec 3<>"$host_in"
timeout -k 5 300 dpdk-testpmd --lcores '0@0,1@0' --no-pci --no-huge -m 512 \
    --file-prefix="vpmd-vmhost-$$" --log-level='lib.vhost.*:error' \
    --vdev "net_vhost0,iface=$vu_sock,queues=2,iommu-support=1" -- \
    --rxq=2 --txq=2 --nb-cores=1 --total-num-mbufs=4096 --forward-mode=io --port-topology=loop \
    < "$host_in" > "$build/vm-host-testpmd.log" 2>&1 &
host_pid=$!
for _ in $(seq 200); do [ -S "$vu_sock" ] && break; sleep 0.1; done
[ -S "$vu_sock" ] || { echo "run.sh: the host's vhost-user backend did not come up" >&2; cat "$build/vm-host-testpmd.log" >&2; exit 1; }

# A sixth function, mq=on, on a multi-queue tap, where the host lets us make one (root and
# /dev/net/tun): a reflector on the host sends every frame back, and the tap's flow
# steering returns it on the queue it was sent from. QEMU's own virtio-net serves it (no
# vhost): rx interrupts need that under TCG, since QEMU 7.2 crashes (NULL vector_irqfd in
# kvm_virtio_pci_irqfd_use) when a vector of a vhost-user device is unmasked without KVM.
if ip tuntap add dev "$tap" mode tap multi_queue 2>/dev/null; then
    tapnic="-netdev tap,id=tq,ifname=$tap,script=no,downscript=no,queues=2,vhost=off \
            -device virtio-net-pci,disable-legacy=on,iommu_platform=on,romfile=,addr=0x8,netdev=tq,mq=on,vectors=6"
    sysctl -qw "net.ipv6.conf.$tap.disable_ipv6=1" 2>/dev/null || true # no host frames of its own
    ip link set "$tap" up
    timeout -k 5 300 python3 -c '
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
while True:
    frame, addr = s.recvfrom(65536)
    if addr[2] != socket.PACKET_OUTGOING:
        s.send(frame)' "$tap" 2>"$build/vm-tap.log" &
    tap_pid=$!
else
    echo "run.sh: no multi-queue tap here (needs root and /dev/net/tun): the MSI-X multi-queue test is skipped"
fi

nic() { # addr netdev-id local-port peer-port [extra]
    echo "-device virtio-net-pci,disable-legacy=on,iommu_platform=on,romfile=,addr=$1,netdev=$2$5" \
         "-netdev socket,id=$2,udp=127.0.0.1:$4,localaddr=127.0.0.1:$3"
}
# Boots the guest and waits for it to power off. Returns 2 if it did not reach its init
# within boot_limit seconds: under TCG a boot very rarely stalls before init (about one
# in fifteen here, before any test ran), and that is retried once; a test failure is not.
boot_limit=${VPMD_VM_BOOT_LIMIT:-90}
boot() {
    rm -f "$log"
    # shellcheck disable=SC2046,SC2086
    timeout -k 5 280 qemu-system-x86_64 -accel tcg -cpu Nehalem -smp 2 -m 1024 -nographic -no-reboot \
        -object memory-backend-memfd,id=mem,size=1024M,share=on \
        -machine q35,kernel-irqchip=split,memory-backend=mem -device intel-iommu,intremap=on,caching-mode=on \
        $(nic 0x3 s0 "$p0" "$p1" "") $(nic 0x4 s1 "$p1" "$p0" ",host_mtu=1500") \
        $(nic 0x5 k0 "$p2" "$p3" ",packed=on") $(nic 0x6 k1 "$p3" "$p2" ",packed=on") \
        -chardev socket,id=vuc,path="$vu_sock" -netdev vhost-user,id=vu,chardev=vuc,queues=2 \
        -device virtio-net-pci,disable-legacy=on,iommu_platform=on,romfile=,addr=0x7,netdev=vu,mq=on,vectors=6 \
        $tapnic \
        -virtfs local,path=/usr,mount_tag=hostusr,security_model=none,readonly=on \
        -virtfs local,path="$build",mount_tag=vpmd,security_model=none \
        -kernel "$guest/vmlinux" -initrd "$guest/initrd.gz" \
        -append "console=ttyS0 quiet intel_iommu=on iommu=pt vpmd_test=$rel$fwd" </dev/null > "$log" 2>&1 &
    local qemu=$! waited=0
    until grep -q 'VPMD-VM: devices' "$log" 2>/dev/null || ! kill -0 "$qemu" 2>/dev/null; do
        if [ "$waited" -ge $((boot_limit * 10)) ]; then
            kill "$qemu" 2>/dev/null || true
            wait "$qemu" 2>/dev/null || true
            return 2
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    wait "$qemu" 2>/dev/null || true
    return 0
}
for attempt in 1 2; do
    rc=0
    boot || rc=$?
    [ "$rc" = 2 ] || break
    echo "run.sh: the guest did not reach its init within ${boot_limit} s (attempt $attempt)"
done
tr -d '\r' < "$log" | grep -E 'VPMD-VM|\[ *(RUN|OK|FAILED|PASSED) *\]|Failure|vpmd:|Probe PCI|RX-packets|Mpps' || true
grep -q 'VPMD-VM-PASS' "$log"
