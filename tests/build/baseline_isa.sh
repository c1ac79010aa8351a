#!/usr/bin/env bash
# The baseline build must run on any x86-64-v2 CPU: only the SIMD burst variants may run
# AVX instructions. A SIMD function is one whose name carries its variant: _avx2/_avx512
# bursts, what rxtx.hpp defines in the avx2/avx512 namespaces, or a template instantiated
# for Simd 1 (avx2) / 2 (avx512). Another function may hold AVX code too when only a SIMD
# file emitted it (an inline function the baseline files inlined everywhere): harmless
# while nothing but SIMD code calls it. Fails, naming them, if any non-SIMD function calls
# (directly, as a tail call or through the PLT; the first caller is named) a function with a VEX/EVEX instruction or a ymm/zmm/mask
# register, or holds such code itself while also being called from non-SIMD code.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 LIB.so..."; exit 2; }
bad=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for so in "$@"; do
    objdump -d --no-show-raw-insn -C "$so" >"$tmp"
    out=$(awk '
        function is_simd(f) { return f ~ /_avx(2|512)\(|::avx(2|512)::|\(vpmd::ring::Simd\)[12]|SimdGroup/ }
        /^[0-9a-f]+ <.*>:$/ { fn = $0; sub(/^[0-9a-f]+ </, "", fn); sub(/>:$/, "", fn); sub(/ \[clone .*\]$/, "", fn); simd = is_simd(fn); next }
        /\tv[a-z0-9]+ .*%[xyz]mm[0-9]|%[yz]mm[0-9]|%k[1-7]/ { if (!simd) avx[fn] = 1 }
        # Calls and tail calls (a jmp to the entry of another function, not to a label in this one).
        /\t(call|jmp) / && match($0, /<[^>]*>$/) {
            callee = substr($0, RSTART + 1, RLENGTH - 2)
            if (callee !~ /\+0x[0-9a-f]+$/) {
                sub(/@plt$/, "", callee); sub(/ \[clone .*\]$/, "", callee)
                if (!simd && callee != fn && !(callee in calls)) { calls[callee] = "\n      from " fn }
            }
        }
        END { for (f in avx) if (f in calls) print f calls[f] }' "$tmp")
    simd_fns=$(grep -cE '^[0-9a-f]+ <.*_avx(2|512)\(' "$tmp" || true)
    if [ "$simd_fns" -eq 0 ]; then
        echo "FAIL $so: no SIMD burst functions found (is the check looking at the right names?)"
        bad=1
    fi
    if [ -n "$out" ]; then
        echo "FAIL $so: baseline code calls functions compiled for AVX:"
        echo "$out" | head -40 | sed 's/^/  /'
        bad=1
    else
        echo "ok $so: $simd_fns SIMD burst functions; no AVX reachable from baseline code"
    fi
done
exit $bad
