#!/usr/bin/env bash
# Soak: net_vpmd loopback traffic with every frame checked (sequence number, checksum,
# fill) for DURATION seconds in all, half split and half packed, its back-end (net_vhost,
# in process) torn down and restarted every RECONNECT seconds of traffic. Prints a line
# per restart and per layout (frames, lost in flight at restarts, lost, reordered,
# corrupted, mbufs missing, fds leaked) and exits non-zero on any error.
#   scripts/soak.sh DURATION [RECONNECT=10] [vpmd-perf options...]
# The test suite runs a short one (perf/soak); the JSON summary goes to soak.json.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
duration=${1:?usage: scripts/soak.sh DURATION [RECONNECT] [vpmd-perf options]}
reconnect=${2:-10}
shift $(( $# >= 2 ? 2 : 1 ))
[[ $duration =~ ^[0-9]+$ && $duration -ge 2 ]] || { echo "soak.sh: DURATION is whole seconds, at least 2"; exit 2; }
"$top/scripts/setup.sh"
"$top/scripts/build.sh" build
exec "$top/build/apps/perf/vpmd-perf" --soak=$((duration / 2)) --reconnect-every="$reconnect" \
    --layout=split,packed --json="${SOAK_JSON:-soak.json}" "$@"
