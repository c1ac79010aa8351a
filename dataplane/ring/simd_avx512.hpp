// AVX-512 (F, BW, VL, DQ) group kernels (see simd.hpp): one 64-byte load holds four packed
// descriptors or four buffer states, and each check is one lane-masked compare on the
// 32-bit lanes; lane 4i+k is dword k of entry i.
#pragma once

#include <immintrin.h>

#include "dataplane/ring/simd.hpp"

#define VPMD_TARGET_AVX512 gnu::target("avx512f,avx512bw,avx512vl,avx512dq")

namespace vpmd::ring {

template <>
struct SimdGroup<Simd::avx512> {
    // Every group path (valgrind cannot run AVX-512, so no instruction counts here: one
    // load and one masked compare per check cost less than AVX2's two halves). The
    // stores write each cache line of descriptors whole; vpmd-perf measured them neutral.
    static constexpr bool packed_in_order_groups = true;
    static constexpr bool split_in_order_groups = true;
    static constexpr bool packed_any_groups = true;
    static constexpr bool split_any_groups = true;
    static constexpr bool group_stores = true;

    static constexpr __mmask16 dw0 = 0x1111, dw1 = 0x2222, dw3 = 0x8888;

    // Every dword of entry i holds first + i.
    [[VPMD_TARGET_AVX512]] static __m512i per_entry(uint32_t first) {
        return _mm512_add_epi32(_mm512_set1_epi32(int(first)),
                                _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0));
    }
    [[VPMD_TARGET_AVX512]] static __m512i low16(__m512i v) { return _mm512_and_si512(v, _mm512_set1_epi32(0xffff)); }

    // The four buffer states: each one descriptor in flight, and the length in dword 0 of
    // each entry of `lens` no more than its writable bytes.
    [[VPMD_TARGET_AVX512]] static bool buffers_ok(const void *st, __m512i lens) {
        const __m512i s = _mm512_loadu_si512(st);
        return (_mm512_mask_cmpneq_epi32_mask(dw1, low16(s), _mm512_set1_epi32(1)) |
                _mm512_mask_cmpgt_epu32_mask(dw0, lens, s)) == 0;
    }

    // All four flags used under the wrap counter; then the acquire fence, so the ids and
    // lengths are read (again) only after flags that say they are written.
    [[VPMD_TARGET_AVX512]] static bool load_used(const PackedDesc *d, uint16_t used_bits, __m512i &v) {
        const __m512i flags = _mm512_and_si512(_mm512_loadu_si512(d),
                                               _mm512_set1_epi32(int(uint32_t(desc_f_avail | desc_f_used) << 16)));
        if (_mm512_mask_cmpneq_epi32_mask(dw3, flags, _mm512_set1_epi32(int(uint32_t(used_bits) << 16))) != 0) {
            return false;
        }
        acquire_fence();
        v = _mm512_loadu_si512(d);
        return true;
    }

    [[VPMD_TARGET_AVX512]] static bool packed_in_order(const PackedDesc *d, const void *st, uint16_t used_bits,
                                                        uint16_t first, uint32_t *lens) {
        __m512i v;
        if (!load_used(d, used_bits, v)) {
            return false;
        }
        const __m512i len = _mm512_maskz_shuffle_epi32(0xffff, v, _MM_PERM_CCCC); // dword 2 across its entry
        if (_mm512_mask_cmpneq_epi32_mask(dw3, low16(v), per_entry(first)) != 0 || !buffers_ok(st, len)) {
            return false;
        }
        _mm512_mask_compressstoreu_epi32(lens, dw0, len);
        return true;
    }

    [[VPMD_TARGET_AVX512]] static bool split_in_order(const SplitUsedElem *u, const void *st, uint16_t first,
                                                       uint32_t *lens) {
        // Entry i gets len_i in dword 0 and id_i in dword 1.
        const __m512i idx = _mm512_set_epi32(0, 0, 6, 7, 0, 0, 4, 5, 0, 0, 2, 3, 0, 0, 0, 1);
        // (The maskz forms: GCC 12 warns that the plain ones' undefined source is uninitialized.)
        const __m512i all = _mm512_maskz_loadu_epi32(0x00ff, u); // the four entries, zeros above
        const __m512i p = _mm512_maskz_permutexvar_epi32(0xffff, idx, all);
        if (_mm512_mask_cmpneq_epi32_mask(dw1, p, per_entry(first)) != 0 || !buffers_ok(st, p)) {
            return false;
        }
        _mm512_mask_compressstoreu_epi32(lens, dw0, p);
        return true;
    }

    [[VPMD_TARGET_AVX512]] static bool packed_used(const PackedDesc *d, uint16_t used_bits, uint32_t size,
                                                    uint32_t *ids, uint32_t *lens) {
        __m512i v;
        if (!load_used(d, used_bits, v)) {
            return false;
        }
        const __m512i id = low16(v);
        if (_mm512_mask_cmpge_epu32_mask(dw3, id, _mm512_set1_epi32(int(size))) != 0) {
            return false;
        }
        _mm512_mask_compressstoreu_epi32(ids, dw3, id);
        _mm512_mask_compressstoreu_epi32(lens, 0x4444, v);
        return true;
    }

    [[VPMD_TARGET_AVX512]] static bool split_used(const SplitUsedElem *u, uint32_t size, uint32_t *ids,
                                                   uint32_t *lens) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(u));
        if (_mm256_mask_cmpge_epu32_mask(0x55, v, _mm256_set1_epi32(int(size))) != 0) {
            return false;
        }
        _mm256_mask_compressstoreu_epi32(ids, 0x55, v);
        _mm256_mask_compressstoreu_epi32(lens, 0xaa, v);
        return true;
    }

    // Four descriptors, each given as its two little-endian words (packed: addr, then
    // len | id << 32 | flags << 48), in one store.
    [[VPMD_TARGET_AVX512]] static void store4(void *d, const uint64_t (&w)[8]) {
        _mm512_storeu_si512(d, _mm512_set_epi64(int64_t(w[7]), int64_t(w[6]), int64_t(w[5]), int64_t(w[4]),
                                                int64_t(w[3]), int64_t(w[2]), int64_t(w[1]), int64_t(w[0])));
    }
};

} // namespace vpmd::ring
