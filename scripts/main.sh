#!/usr/bin/env bash
# The README's main command: set up, build, and benchmark net_vpmd against DPDK's
# net_virtio_user on an in-process vhost device (Mpps table). Extra arguments go to
# vpmd-perf (e.g. --full, --layout=packed, --csv=results.csv).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/scripts/setup.sh"
"$top/scripts/build.sh" build
exec "$top/build/apps/perf/vpmd-perf" --compare --best "$@"
