#!/usr/bin/env bash
# Builds the test guest once: a Debian kernel (booted uncompressed, which saves ~2.5 s of
# decompression under TCG) and an initramfs with busybox, the virtio/vfio/9p modules and
# init. Usage: guest.sh CACHE_DIR  (prints the folder holding vmlinux and initrd.gz).
# Needs apt (the packages are downloaded, not installed), python3 and cpio from busybox.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${1:?usage: guest.sh CACHE_DIR}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$kpkg" ] || { echo "guest.sh: no linux-image-amd64 in the apt lists (apt-get update?)" >&2; exit 1; }
kv=${kpkg#linux-image-}
stamp="$kv $(sha1sum "$here/init" "$here/guest.sh" | sha1sum | cut -c1-12)"
if [ -f "$cache/stamp" ] && [ "$(cat "$cache/stamp")" = "$stamp" ] && [ -f "$cache/vmlinux" ] && [ -f "$cache/initrd.gz" ]; then
    echo "$cache"; exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && timeout 600 apt-get download -q "$kpkg" busybox-static >/dev/null 2>&1) || {
    echo "guest.sh: apt-get download $kpkg busybox-static failed" >&2; exit 1; }
dpkg-deb -x "$work"/linux-image-*.deb "$work/k"
dpkg-deb -x "$work"/busybox-static_*.deb "$work/bb"
python3 - "$work/k/boot/vmlinuz-$kv" "$cache/vmlinux" <<'PY'
import lzma, sys
d = open(sys.argv[1], 'rb').read()
o = d.find(b'\xfd7zXZ\x00')
open(sys.argv[2], 'wb').write(lzma.LZMADecompressor().decompress(d[o:]))
PY
root="$work/root"
mkdir -p "$root"/{bin,modules,proc,sys,dev,tmp,usr,etc,vpmd}
cp "$work/bb/bin/busybox" "$root/bin/"
cp "$here/init" "$root/init"
# The driver libraries dpdk-testpmd links (the reference run exposes just these and net_virtio).
ldd /usr/bin/dpdk-testpmd 2>/dev/null | awk '/pmds-/{print $1}' | sed 's/^librte_//; s/\.so\.23$//' > "$root/testpmd-pmds.list"
chmod +x "$root/init"
m="$work/k/lib/modules/$kv/kernel"
for f in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
         drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci virt/lib/irqbypass drivers/vfio/vfio \
         drivers/vfio/vfio_iommu_type1 drivers/vfio/vfio_virqfd drivers/vfio/pci/vfio-pci-core \
         drivers/vfio/pci/vfio-pci fs/netfs/netfs fs/fscache/fscache net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p; do
    cp "$m/$f.ko" "$root/modules/"
done
(cd "$root" && find . | "$work/bb/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1 > "$cache/initrd.gz")
echo "$stamp" > "$cache/stamp"
echo "$cache"
