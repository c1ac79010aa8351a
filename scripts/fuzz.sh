#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang with ASan + UBSan, in build-fuzz/) and runs
# them. Two ways:
#   scripts/fuzz.sh --ci                 the test suite: each target fuzz_seconds (30) from its seeds
#   scripts/fuzz.sh [SECONDS] [TARGET...] each target SECONDS (default 60), corpus kept in .fuzz/
# The second prints executions, coverage and crashes per target and in total; a crash leaves
# its input in .fuzz/artifacts/ and makes the script exit non-zero.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
cxx=${FUZZ_CXX:-clang++-14}
command -v "$cxx" >/dev/null || { echo "fuzz.sh: $cxx not found (scripts/setup.sh installs clang-14)"; exit 1; }
if [ ! -f build-fuzz/build.ninja ]; then
    CXX=$cxx meson setup build-fuzz -Dfuzz=true -Dintegration_tests=false -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C build-fuzz fuzz | tail -n 1

if [ "${1:-}" = "--ci" ]; then
    exec meson test -C build-fuzz --no-rebuild --suite fuzz --print-errorlogs --num-processes 1
fi
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(ring_driver devargs vhost_codec control_mediator mrg_rx)
mkdir -p .fuzz/artifacts
total=0; crashes=0
printf '%-18s %14s %8s %8s %s\n' target executions exec/s cov result
for t in "${targets[@]}"; do
    mkdir -p ".fuzz/$t"
    log=".fuzz/$t.log"
    dict=tests/fuzz/$t.dict
    args=(-max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -artifact_prefix=.fuzz/artifacts/)
    [ -f "$dict" ] && args+=(-dict="$dict")
    set +e
    "build-fuzz/tests/fuzz/fuzz_$t" "${args[@]}" ".fuzz/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(grep -o 'number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
    result=ok
    if [ "$rc" -ne 0 ]; then
        result="CRASH (see $log)"
        crashes=$((crashes + 1))
    fi
    printf '%-18s %14s %8s %8s %s\n' "$t" "$execs" "$((execs / secs))" "$cov" "$result"
    total=$((total + execs))
done
printf '%-18s %14s, %d crash(es)\n' total "$total" "$crashes"
[ "$crashes" -eq 0 ]
