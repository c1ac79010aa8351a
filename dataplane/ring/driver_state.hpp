// Driver-private bookkeeping shared by the split and packed driver views: what each posted
// buffer is, the broken state, and indirect tables. Nothing here lives in shared memory,
// so a device scribbling on the ring cannot corrupt it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "dataplane/ring/common.hpp"

namespace vpmd::ring::detail {

// One entry per buffer id (split: head descriptor index; packed: buffer id).
// 16 bytes, bookkeeping first, for any cookie up to 8 bytes: the SIMD group checks (see
// simd.hpp) load four of them at once and find writable and ndesc at fixed offsets.
template <class Cookie>
struct alignas(16) BufferState {
    uint32_t writable = 0; // bytes the device may write: the bound for used.len
    uint16_t ndesc = 0;    // ring descriptors the buffer holds; 0 = not in flight
    uint16_t last = 0;     // split: last descriptor of the chain (to splice the free list)
    Cookie cookie{};
};

template <class Cookie>
class DriverState {
    // Private memory is reused and given back without running destructors.
    static_assert(std::is_trivially_destructible_v<BufferState<Cookie>>);

public:
    // Private (driver-only) memory a queue of `size` needs: its buffer states and links. A
    // caller may give it from NUMA-local memory (the PMD: rte_zmalloc_socket); it must
    // not be memory the device can reach.
    [[nodiscard]] static constexpr size_t private_bytes(uint32_t size) {
        return state_bytes(size) + align_up(sizeof(uint16_t) * size, cache_line);
    }

    [[nodiscard]] Broken broken() const { return broken_; }
    [[nodiscard]] bool is_broken() const { return broken_ != Broken::none; }
    // How many device violations this queue has seen since it was created.
    [[nodiscard]] uint64_t error_count() const { return errors_; }
    [[nodiscard]] uint32_t in_flight() const { return in_flight_; }
    // Completions of read-only buffers that carried a non-zero len (ignored, see check_len).
    [[nodiscard]] uint64_t ignored_lens() const { return ignored_lens_; }
    [[nodiscard]] uint32_t size() const { return size_; }
    [[nodiscard]] uint16_t max_indirect() const { return max_indirect_; }

protected:
    static constexpr size_t state_bytes(uint32_t size) {
        return align_up(sizeof(BufferState<Cookie>) * size, cache_line);
    }

    // in_order: the layout's InOrder policy, which must match what was negotiated (a
    // device with IN_ORDER may skip used entries an any-order driver would wait for).
    // priv: where the private state goes (private_bytes() of it); null: the heap.
    SetupError init_common(const QueueConfig &cfg, const DmaRegion &indirect, bool in_order, PrivateMem priv) {
        if (cfg.has(feature::in_order) != in_order) {
            return SetupError::in_order_mismatch;
        }
        if (cfg.max_indirect != 0) {
            if (!cfg.has(feature::indirect_desc)) {
                return SetupError::indirect_not_negotiated;
            }
            if (indirect.va == nullptr ||
                indirect.len < size_t(cfg.size) * cfg.max_indirect * 16) {
                return SetupError::indirect_memory_small;
            }
        }
        if (priv.va != nullptr && (priv.len < private_bytes(cfg.size) ||
                                   reinterpret_cast<uintptr_t>(priv.va) % alignof(BufferState<Cookie>) != 0)) {
            return SetupError::private_memory_small;
        }
        if (priv.va == nullptr) {
            heap_ = std::make_unique<std::byte[]>(private_bytes(cfg.size) + cache_line);
            const auto raw = reinterpret_cast<uintptr_t>(heap_.get());
            priv = PrivateMem{reinterpret_cast<void *>(align_up(raw, cache_line)), private_bytes(cfg.size)};
        } else {
            heap_.reset();
        }
        auto *base = static_cast<std::byte *>(priv.va);
        state_ = reinterpret_cast<BufferState<Cookie> *>(base);
        std::uninitialized_value_construct_n(state_, cfg.size);
        links_ = reinterpret_cast<uint16_t *>(base + state_bytes(cfg.size));
        std::uninitialized_value_construct_n(links_, cfg.size);
        size_ = cfg.size;
        order_ = cfg.order;
        event_idx_ = cfg.has(feature::event_idx);
        max_indirect_ = cfg.max_indirect;
        indirect_ = indirect;
        broken_ = Broken::none;
        in_flight_ = 0;
        return SetupError::ok;
    }

    // Cold: a device violation. The queue stops here; counters let the caller see it.
    [[gnu::cold, gnu::noinline]] void mark_broken(Broken why) {
        if (broken_ == Broken::none) {
            broken_ = why;
        }
        ++errors_;
    }

    // used.len against what the device may write. A buffer with nothing writable (tx)
    // gives the device nothing to overrun: its len is meaningless and reported as 0.
    // DPDK 22.11's vhost leaves len stale in packed tx completions (it writes only id and
    // flags of the first used descriptor of a batch), so rejecting it would break interop.
    bool check_len(uint32_t writable, uint32_t &len) {
        if (len <= writable) [[likely]] {
            return true;
        }
        if (writable == 0) {
            len = 0;
            ++ignored_lens_;
            return true;
        }
        mark_broken(Broken::used_len_too_long);
        return false;
    }

    // Sum of writable bytes; also says whether the chain fits the indirect table.
    static uint32_t writable_bytes(const Segment *segs, uint16_t n) {
        uint32_t w = 0;
        for (uint16_t i = 0; i < n; ++i) {
            w += segs[i].device_writes ? segs[i].len : 0;
        }
        return w;
    }

    bool use_indirect(ChainMode mode, uint16_t n) const {
        return mode == ChainMode::indirect && n <= max_indirect_;
    }

    template <class Desc>
    Desc *indirect_table(uint16_t id) const {
        return reinterpret_cast<Desc *>(static_cast<char *>(indirect_.va) +
                                        size_t(id) * max_indirect_ * sizeof(Desc));
    }
    uint64_t indirect_addr(uint16_t id) const {
        return indirect_.device_addr + uint64_t(id) * max_indirect_ * 16;
    }

    // Hands every posted buffer to `f` and forgets it. Touches only private state.
    template <class F>
    uint32_t detach_all(F &&f) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < size_; ++i) {
            if (state_[i].ndesc != 0) {
                f(state_[i].cookie);
                state_[i].ndesc = 0;
                ++n;
            }
        }
        in_flight_ = 0;
        return n;
    }

    BufferState<Cookie> *state_ = nullptr;
    uint16_t *links_ = nullptr; // split: free-list links; packed: free-id list
    std::unique_ptr<std::byte[]> heap_; // the private state when the caller gave no memory
    DmaRegion indirect_{};
    uint32_t size_ = 0;
    uint32_t in_flight_ = 0; // buffers posted and not yet returned
    uint64_t errors_ = 0;
    uint64_t ignored_lens_ = 0;
    uint16_t max_indirect_ = 0;
    Broken broken_ = Broken::none;
    Ordering order_ = Ordering::weak;
    bool event_idx_ = false;
};

} // namespace vpmd::ring::detail
