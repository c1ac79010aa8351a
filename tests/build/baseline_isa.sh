#!/usr/bin/env bash
# The baseline build must run on any x86-64-v2 CPU: only the SIMD burst variants may hold
# AVX instructions. Fails, naming the functions, if any other function in the given shared
# objects has a VEX/EVEX-encoded vector instruction or touches a ymm/zmm or mask register
# (an inline function emitted by a SIMD file and kept by the linker for everyone, say). A SIMD function is one whose name carries
# its variant: _avx2/_avx512 bursts, what rxtx.hpp defines in the avx2/avx512 namespaces,
# or a template instantiated for Simd 1 (avx2) / 2 (avx512).
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 LIB.so..."; exit 2; }
bad=0
for so in "$@"; do
    out=$(objdump -d --no-show-raw-insn -C "$so" | awk '
        /^[0-9a-f]+ <.*>:$/ { fn = $0; sub(/^[0-9a-f]+ </, "", fn); sub(/>:$/, "", fn); simd = fn ~ /_avx(2|512)\(|::avx(2|512)::|\(vpmd::ring::Simd\)[12]|SimdGroup/; next }
        /\tv[a-z0-9]+ .*%[xyz]mm[0-9]|%[yz]mm[0-9]|%k[1-7]/ { if (!simd && !(fn in seen)) { seen[fn] = 1; print fn } }')
    simd_fns=$(objdump -d --no-show-raw-insn -C "$so" | grep -cE '^[0-9a-f]+ <.*_avx(2|512)\(' || true)
    if [ "$simd_fns" -eq 0 ]; then
        echo "FAIL $so: no SIMD burst functions found (is the check looking at the right names?)"
        bad=1
    fi
    if [ -n "$out" ]; then
        echo "FAIL $so: AVX registers outside the SIMD variants in:"
        echo "$out" | head -20 | sed 's/^/  /'
        bad=1
    else
        echo "ok $so: $simd_fns SIMD burst functions, no AVX elsewhere"
    fi
done
exit $bad
