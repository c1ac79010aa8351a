// AVX2 group kernels (see simd.hpp): four packed descriptors or buffer states are two
// 32-byte loads; compares set all-ones dwords, and movemask turns them into lane bits
// (bit k of a half: dword k, so entry 0 is bits 0-3 and entry 1 bits 4-7).
#pragma once

#include <immintrin.h>

#include "dataplane/ring/simd.hpp"

#define VPMD_TARGET_AVX2 gnu::target("avx2")

namespace vpmd::ring {

template <>
struct SimdGroup<Simd::avx2> {
    static constexpr bool enabled = true;

    [[VPMD_TARGET_AVX2]] static __m256i load(const void *p) {
        return _mm256_loadu_si256(static_cast<const __m256i *>(p));
    }
    [[VPMD_TARGET_AVX2]] static unsigned bits(__m256i eq) {
        return unsigned(_mm256_movemask_ps(_mm256_castsi256_ps(eq)));
    }
    [[VPMD_TARGET_AVX2]] static __m256i low16(__m256i v) { return _mm256_and_si256(v, _mm256_set1_epi32(0xffff)); }
    // a <= b, unsigned, per dword.
    [[VPMD_TARGET_AVX2]] static __m256i le(__m256i a, __m256i b) {
        return _mm256_cmpeq_epi32(_mm256_max_epu32(a, b), b);
    }
    // Every dword of entry j (of two) holds first + j.
    [[VPMD_TARGET_AVX2]] static __m256i per_entry(uint32_t first) {
        return _mm256_add_epi32(_mm256_set1_epi32(int(first)), _mm256_set_epi32(1, 1, 1, 1, 0, 0, 0, 0));
    }

    // Two buffer states at st: one descriptor each (dword 1 low half), and the lengths in
    // dword 0 of each entry of `len` no more than writable (dword 0).
    [[VPMD_TARGET_AVX2]] static bool buffers_ok(const void *st, __m256i len) {
        const __m256i s = load(st);
        return ((bits(_mm256_cmpeq_epi32(low16(s), _mm256_set1_epi32(1))) & 0x22) |
                (bits(le(len, s)) & 0x11)) == 0x33;
    }

    [[VPMD_TARGET_AVX2]] static bool load_used(const PackedDesc *d, uint16_t used_bits, __m256i &v0, __m256i &v1) {
        const __m256i m = _mm256_set1_epi32(int(uint32_t(desc_f_avail | desc_f_used) << 16));
        const __m256i e = _mm256_set1_epi32(int(uint32_t(used_bits) << 16));
        const unsigned ok = bits(_mm256_cmpeq_epi32(_mm256_and_si256(load(d), m), e)) &
                            bits(_mm256_cmpeq_epi32(_mm256_and_si256(load(d + 2), m), e));
        if ((ok & 0x88) != 0x88) {
            return false;
        }
        acquire_fence(); // see SimdGroup<Simd::avx512>::load_used
        v0 = load(d);
        v1 = load(d + 2);
        return true;
    }

    [[VPMD_TARGET_AVX2]] static bool packed_in_order(const PackedDesc *d, const void *st, uint16_t used_bits,
                                                      uint16_t first, uint32_t *lens) {
        __m256i v0, v1;
        if (!load_used(d, used_bits, v0, v1)) {
            return false;
        }
        const unsigned ids = bits(_mm256_cmpeq_epi32(low16(v0), per_entry(first))) &
                             bits(_mm256_cmpeq_epi32(low16(v1), per_entry(first + 2u)));
        if ((ids & 0x88) != 0x88 || !buffers_ok(st, _mm256_shuffle_epi32(v0, 0xaa)) ||
            !buffers_ok(static_cast<const char *>(st) + 32, _mm256_shuffle_epi32(v1, 0xaa))) {
            return false;
        }
        lens[0] = uint32_t(_mm256_extract_epi32(v0, 2));
        lens[1] = uint32_t(_mm256_extract_epi32(v0, 6));
        lens[2] = uint32_t(_mm256_extract_epi32(v1, 2));
        lens[3] = uint32_t(_mm256_extract_epi32(v1, 6));
        return true;
    }

    [[VPMD_TARGET_AVX2]] static bool split_in_order(const SplitUsedElem *u, const void *st, uint16_t first,
                                                     uint32_t *lens) {
        const __m256i v = load(u); // id0 len0 id1 len1 ...
        const __m256i want = _mm256_add_epi32(_mm256_set1_epi32(int(first)), _mm256_set_epi32(0, 3, 0, 2, 0, 1, 0, 0));
        if ((bits(_mm256_cmpeq_epi32(v, want)) & 0x55) != 0x55) {
            return false;
        }
        // len_j to dword 0 of entry j of each half.
        const __m256i l01 = _mm256_permutevar8x32_epi32(v, _mm256_set_epi32(0, 0, 0, 3, 0, 0, 0, 1));
        const __m256i l23 = _mm256_permutevar8x32_epi32(v, _mm256_set_epi32(0, 0, 0, 7, 0, 0, 0, 5));
        if (!buffers_ok(st, l01) || !buffers_ok(static_cast<const char *>(st) + 32, l23)) {
            return false;
        }
        lens[0] = uint32_t(_mm256_extract_epi32(v, 1));
        lens[1] = uint32_t(_mm256_extract_epi32(v, 3));
        lens[2] = uint32_t(_mm256_extract_epi32(v, 5));
        lens[3] = uint32_t(_mm256_extract_epi32(v, 7));
        return true;
    }

    [[VPMD_TARGET_AVX2]] static bool packed_used(const PackedDesc *d, uint16_t used_bits, uint32_t size,
                                                  uint32_t *ids, uint32_t *lens) {
        __m256i v0, v1;
        if (!load_used(d, used_bits, v0, v1)) {
            return false;
        }
        const __m256i top = _mm256_set1_epi32(int(size - 1));
        const __m256i i0 = low16(v0), i1 = low16(v1);
        if ((bits(le(i0, top)) & bits(le(i1, top)) & 0x88) != 0x88) {
            return false;
        }
        ids[0] = uint32_t(_mm256_extract_epi32(i0, 3));
        ids[1] = uint32_t(_mm256_extract_epi32(i0, 7));
        ids[2] = uint32_t(_mm256_extract_epi32(i1, 3));
        ids[3] = uint32_t(_mm256_extract_epi32(i1, 7));
        lens[0] = uint32_t(_mm256_extract_epi32(v0, 2));
        lens[1] = uint32_t(_mm256_extract_epi32(v0, 6));
        lens[2] = uint32_t(_mm256_extract_epi32(v1, 2));
        lens[3] = uint32_t(_mm256_extract_epi32(v1, 6));
        return true;
    }

    [[VPMD_TARGET_AVX2]] static bool split_used(const SplitUsedElem *u, uint32_t size, uint32_t *ids,
                                                 uint32_t *lens) {
        const __m256i v = load(u);
        if ((bits(le(v, _mm256_set1_epi32(int(size - 1)))) & 0x55) != 0x55) {
            return false;
        }
        ids[0] = uint32_t(_mm256_extract_epi32(v, 0));
        ids[1] = uint32_t(_mm256_extract_epi32(v, 2));
        ids[2] = uint32_t(_mm256_extract_epi32(v, 4));
        ids[3] = uint32_t(_mm256_extract_epi32(v, 6));
        lens[0] = uint32_t(_mm256_extract_epi32(v, 1));
        lens[1] = uint32_t(_mm256_extract_epi32(v, 3));
        lens[2] = uint32_t(_mm256_extract_epi32(v, 5));
        lens[3] = uint32_t(_mm256_extract_epi32(v, 7));
        return true;
    }

    // Four descriptors given as words (see SimdGroup<Simd::avx512>::store4), two per store.
    [[VPMD_TARGET_AVX2]] static void store4(void *d, const uint64_t (&w)[8]) {
        _mm256_storeu_si256(static_cast<__m256i *>(d),
                            _mm256_set_epi64x(int64_t(w[3]), int64_t(w[2]), int64_t(w[1]), int64_t(w[0])));
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(static_cast<char *>(d) + 32),
                            _mm256_set_epi64x(int64_t(w[7]), int64_t(w[6]), int64_t(w[5]), int64_t(w[4])));
    }
};

} // namespace vpmd::ring
