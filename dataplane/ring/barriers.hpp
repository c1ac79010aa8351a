// The only places where ring memory ordering is decided: acquire loads of what the peer
// publishes, release stores of what we publish, single-copy reads of peer-written fields,
// and the store-load fence before reading the peer's suppression state.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>
#include <type_traits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace vpmd::ring {

static_assert(std::endian::native == std::endian::little,
              "virtio 1.x rings are little-endian; a big-endian port needs byte swaps here");

// Weak: the peer is a CPU sharing coherent memory (vhost-user backend, software device).
// Platform: the peer is hardware behind the platform's DMA ordering (VIRTIO_F_ORDER_PLATFORM).
enum class Ordering : uint8_t { weak, platform };

template <class T>
[[nodiscard]] inline T load_acquire(const T &field) {
    static_assert(std::is_integral_v<T>);
    return std::atomic_ref<T>(const_cast<T &>(field)).load(std::memory_order_acquire);
}

template <class T>
inline void store_release(T &field, T value) {
    static_assert(std::is_integral_v<T>);
    std::atomic_ref<T>(field).store(value, std::memory_order_release);
}

// Reads a field the peer may be rewriting right now exactly once, so a value that was
// validated is the value used (no compiler re-read between check and use).
template <class T>
[[nodiscard]] inline T read_once(const T &field) {
    static_assert(std::is_integral_v<T>);
    return std::atomic_ref<T>(const_cast<T &>(field)).load(std::memory_order_relaxed);
}

template <class T>
inline void write_once(T &field, T value) {
    static_assert(std::is_integral_v<T>);
    std::atomic_ref<T>(field).store(value, std::memory_order_relaxed);
}

// Orders a plain (vector) load of the peer's flags before the loads that follow it: what
// the SIMD group checks use, as one acquire load per descriptor would cost four. On x86
// loads are not reordered with loads, so this only stops the compiler.
inline void acquire_fence() { std::atomic_thread_fence(std::memory_order_acquire); }

// Orders our earlier publish before a later read of the peer's suppression state: the
// classic virtio_mb() without which a needed notification can be missed.
inline void full_fence(Ordering order) {
#if defined(__x86_64__)
    if (order == Ordering::platform) {
        _mm_mfence(); // also orders write-combining and non-temporal stores to device memory
        return;
    }
    // Between CPUs on write-back memory a locked instruction orders store->load as well as
    // mfence does and costs a fraction of it (g++ emits mfence for a seq_cst fence). The
    // address below the red zone is private to this thread.
    asm volatile("lock; addl $0, -128(%%rsp)" ::: "memory", "cc");
#else
    (void)order;
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

} // namespace vpmd::ring
