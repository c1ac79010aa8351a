#!/usr/bin/env bash
# The README's main command: set up, build, and run the ring-core benchmark (Mpps).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/scripts/setup.sh"
"$top/scripts/build.sh" build
exec "$top/build/apps/ringbench/vpmd-ringbench" "$@"
