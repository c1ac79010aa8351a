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
    // Where the groups pay on AVX2, by scripts/callgrind-pmd.sh instructions per forwarded
    // packet against scalar (64 B loopback): IN_ORDER packed rx 231.4 vs 235.5 (2026-12-07,
    // second round). Not IN_ORDER split (247.4 vs 242.9) nor any-order packed (302.7 vs
    // 294.1), whose two-half checks and lane extracts cost more than the loads they save;
    // any-order split paid (273.6 vs 277.4) until the scalar collect kept the ring state in
    // locals (246.8 vs 244.3 since); nor the stores (+10..+22: the descriptor words are
    // built with shifts, then moved into vectors, where scalar code stores the fields as
    // they are). Those kernels are AVX-512's only.
    static constexpr bool packed_in_order_groups = true;
    static constexpr bool split_in_order_groups = false;
    static constexpr bool packed_any_groups = false;
    static constexpr bool split_any_groups = false;
    static constexpr bool group_stores = false;

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
};

} // namespace vpmd::ring
