// The instruction set a queue's bursts use, fixed when the queue is set up (the PMD picks
// it from CPU flags and EAL's max SIMD bitwidth). Scalar takes used entries one by one;
// the vector sets also check them in cache-line groups of four: four used entries and the
// four buffers they name, every id, length and flag checked in lanes. A group with
// anything odd in it is left to the scalar path, which takes it entry by entry and
// decides (marks the queue broken, or waits), so every variant accepts exactly what the
// scalar one does.
#pragma once

#include <cstdint>
#include <string_view>

#include "dataplane/ring/barriers.hpp"
#include "dataplane/ring/layout.hpp"

namespace vpmd::ring {

enum class Simd : uint8_t { scalar, avx2, avx512 };
inline constexpr Simd all_simd[] = {Simd::scalar, Simd::avx2, Simd::avx512};

[[nodiscard]] constexpr std::string_view simd_name(Simd s) {
    switch (s) {
    case Simd::scalar: return "scalar";
    case Simd::avx2: return "avx2";
    case Simd::avx512: return "avx512";
    }
    return "?";
}

// Whether this CPU has the instructions of S (what a variant needs before it is chosen;
// the PMD also asks EAL's max SIMD bitwidth).
[[nodiscard]] inline bool cpu_runs(Simd s) {
#if defined(__x86_64__)
    switch (s) {
    case Simd::scalar: return true;
    case Simd::avx2: return __builtin_cpu_supports("avx2");
    case Simd::avx512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    }
    return false;
#else
    return s == Simd::scalar;
#endif
}

// Descriptors per group: one 64-byte cache line of packed descriptors or buffer states.
inline constexpr uint16_t simd_group = 4;

// The group kernels of one instruction set. Each is compiled for its ISA only (target
// attributes, not a global -march: the baseline build runs on any x86-64-v2 CPU) and is
// inlined into the bursts compiled for that ISA. `st` points at the four consecutive
// 16-byte buffer states (writable at byte 0, ndesc at byte 4: see BufferState) of the ids
// a group names. All return false, having changed nothing, for a group they do not take.
// An ISA defines the kernels of the paths its flags below turn on.
//
//   packed_in_order(d, st, used_bits, first, lens): IN_ORDER packed, slots d[0..3] all
//     used under the wrap counter's flag bits, ids first..first+3, each a one-descriptor
//     buffer in flight, len <= writable; lens[] gets the four lengths.
//   split_in_order(u, st, first, lens): IN_ORDER split, used entries u[0..3] (already
//     published by the used index) name first..first+3, same buffer checks.
//   packed_used(d, used_bits, size, ids, lens): any order, slots d[0..3] used with ids
//     below size (the caller checks each buffer as it releases it, so a repeated id
//     is caught as not in flight).
//   split_used(u, size, ids, lens): any order, split: ids below size.
//   store4(d, w): writes four 16-byte descriptors, each given as two 64-bit words.

template <Simd S>
struct SimdGroup {
    // Which paths take groups (each ISA says where its kernels pay).
    static constexpr bool packed_in_order_groups = false;
    static constexpr bool split_in_order_groups = false;
    static constexpr bool packed_any_groups = false;
    static constexpr bool split_any_groups = false;
    static constexpr bool group_stores = false;
};

} // namespace vpmd::ring

#if defined(__x86_64__)
#include "dataplane/ring/simd_avx2.hpp"
#include "dataplane/ring/simd_avx512.hpp"
#else
// No vector variants here: their burst tables build as scalar code and are never chosen.
#define VPMD_TARGET_AVX2 gnu::unused
#define VPMD_TARGET_AVX512 gnu::unused
#endif
