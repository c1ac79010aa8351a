#!/usr/bin/env bash
# Idempotent set-up for vpmd on Debian 12: packages, DPDK driver-SDK headers, hugepages.
# Safe to run again and again; each step checks before it acts. Prints one line per step.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sdk_root="$top/.sdk"          # ignored by git: nothing of DPDK is committed
hugepages_wanted=${VPMD_HUGEPAGES:-1024}   # 2 MiB pages: 2 GiB, room for two EAL processes

say() { printf 'setup: %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else return 1; fi
}

packages=(build-essential g++ meson ninja-build pkg-config dpkg-dev xz-utils
          dpdk dpdk-dev libdpdk-dev libtbb-dev libgtest-dev libgmock-dev libbenchmark-dev valgrind bc python3
          qemu-system-x86 iproute2 clang-14 libclang-rt-14-dev)

install_packages() {
    local missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then say "packages present"; return; fi
    say "installing: ${missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

enable_deb_src() {
    # apt-get source needs deb-src entries; deb822 sources list them in the Types: line.
    if apt-get indextargets --format '$(CREATED_BY)' 2>/dev/null | grep -q '^Sources$'; then
        say "deb-src present"; return
    fi
    local f=/etc/apt/sources.list.d/debian.sources
    if [ -f "$f" ]; then
        as_root sed -i 's/^Types: deb$/Types: deb deb-src/' "$f"
    else
        grep -h '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' | as_root tee /etc/apt/sources.list.d/vpmd-deb-src.list >/dev/null
    fi
    say "deb-src enabled"
    as_root apt-get update -q
}

# Driver-SDK headers Debian's libdpdk-dev does not ship, from the source of the installed version.
sdk_headers=(lib/ethdev/ethdev_driver.h lib/ethdev/ethdev_vdev.h lib/ethdev/ethdev_pci.h
             drivers/bus/vdev/bus_vdev_driver.h drivers/bus/pci/bus_pci_driver.h
             lib/eal/include/dev_driver.h lib/eal/include/bus_driver.h)

fetch_sdk_headers() {
    local version upstream dest
    version=$(dpkg-query -W -f='${Version}' libdpdk-dev)
    upstream=${version%%-*}
    dest="$sdk_root/dpdk-$version/include"
    if [ -f "$dest/.complete" ]; then
        say "DPDK $version SDK headers present"
    else
        enable_deb_src
        local work; work=$(mktemp -d)
        (cd "$work" && apt-get source --download-only -q "dpdk=$version" >/dev/null 2>&1) || {
            say "apt-get source dpdk=$version failed"; rm -rf "$work"; exit 1; }
        mkdir -p "$dest"
        local members=()
        for h in "${sdk_headers[@]}"; do members+=("dpdk-stable-$upstream/$h"); done
        tar -xJf "$work"/dpdk_"$upstream".orig.tar.xz -C "$work" "${members[@]}"
        for h in "${sdk_headers[@]}"; do cp "$work/dpdk-stable-$upstream/$h" "$dest/"; done
        rm -rf "$work"
        touch "$dest/.complete"
        say "DPDK $version SDK headers fetched into $dest"
    fi
    ln -sfn "dpdk-$version/include" "$sdk_root/include"
}

setup_hugepages() {
    local nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
    if [ "$(id -u)" -ne 0 ]; then
        say "not root: no hugepages; runs fall back to EAL --no-huge (slower, still correct)"; return
    fi
    if ! grep -q '^[^ ]* /dev/hugepages hugetlbfs' /proc/mounts; then
        mkdir -p /dev/hugepages
        mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || {
            say "cannot mount hugetlbfs: runs fall back to EAL --no-huge"; return; }
    fi
    if [ "$(cat "$nr")" -lt "$hugepages_wanted" ]; then
        echo "$hugepages_wanted" > "$nr" 2>/dev/null || true
    fi
    local got; got=$(cat "$nr")
    if [ "$got" -lt 64 ]; then
        say "only $got hugepages reserved: runs fall back to EAL --no-huge"
    else
        say "$got x 2 MiB hugepages on /dev/hugepages"
    fi
}

# The VM test tier's guest: a Debian kernel and busybox, downloaded (not installed) into .vm/.
build_guest() {
    local at
    at=$("$top/tests/vm/guest.sh" "$top/.vm") || { say "cannot build the test guest (tests/vm/guest.sh)"; exit 1; }
    say "test guest (kernel + initramfs) in $at"
}

install_packages
fetch_sdk_headers
setup_hugepages
build_guest
