#!/usr/bin/env bash
# Configures (once) and builds a meson build folder: build.sh [folder] [meson options...]
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${1:-build}
shift || true
cd "$top"
if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >/dev/null
fi
ninja -C "$dir" "-j$(nproc)" | tail -n 1
