#!/usr/bin/env bash
# The README's test command: set up, build, run every suite; then the unit suites again
# under AddressSanitizer + UBSan. Exits non-zero on any failure.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/scripts/setup.sh"
cd "$top"

"$top/scripts/build.sh" build
meson test -C build --print-errorlogs --num-processes 1

# Sanitizers: unit suites only (EAL's hugepage memory and ASan do not mix well).
# allocator_may_return_null: tests ask for impossible sizes and expect an error value.
"$top/scripts/build.sh" build-asan -Dbuildtype=debugoptimized -Db_sanitize=address,undefined \
    -Db_lundef=false -Dintegration_tests=false
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    meson test -C build-asan --suite unit --print-errorlogs --num-processes 1
# ThreadSanitizer: the ring's driver and device views on two threads (only that test is built).
if [ ! -f build-tsan/build.ninja ]; then
    meson setup build-tsan -Db_sanitize=thread -Db_lundef=false -Dintegration_tests=false \
        -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C build-tsan tests/unit/ring/ring_threads_test | tail -n 1
TSAN_OPTIONS=halt_on_error=1 meson test -C build-tsan --no-rebuild --print-errorlogs ring/threads

# Fuzz targets (clang, ASan + UBSan): each for a bounded time from its seed corpus.
"$top/scripts/fuzz.sh" --ci
echo "test.sh: all suites passed"
