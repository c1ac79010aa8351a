// Device-view pieces shared by both layouts: the chain a device takes from the ring, the
// address translator concept, and the broken state. The device view serves tests, the
// in-process control-queue mediator and the perf app's software device.
#pragma once

#include <concepts>
#include <cstdint>

#include "dataplane/ring/common.hpp"

namespace vpmd::ring {

// Maps a device address range to a pointer in this process, or nullptr if the range is
// not fully inside memory the device may touch.
template <class T>
concept AddressTranslator = requires(const T &t, uint64_t addr, uint32_t len) {
    { t(addr, len) } -> std::convertible_to<void *>;
};

struct DeviceSegment {
    void *ptr;
    uint32_t len;
    bool device_writes;
};

// One buffer taken from the available ring, its segments in order (readable first).
template <uint16_t MaxSegs>
struct DeviceChain {
    uint16_t id = 0;    // split: head index; packed: buffer id
    uint16_t ndesc = 0; // ring descriptors the buffer occupies (packed used-slot skip)
    uint16_t nsegs = 0;
    uint32_t readable_len = 0;
    uint32_t writable_len = 0;
    DeviceSegment segs[MaxSegs];
};

namespace detail {

class DeviceState {
public:
    [[nodiscard]] Broken broken() const { return broken_; }
    [[nodiscard]] bool is_broken() const { return broken_ != Broken::none; }
    [[nodiscard]] uint64_t error_count() const { return errors_; }

protected:
    [[gnu::cold, gnu::noinline]] bool fail(Broken why) {
        if (broken_ == Broken::none) {
            broken_ = why;
        }
        ++errors_;
        return false;
    }

    // Appends one segment, enforcing readable-before-writable and the view's capacity.
    template <uint16_t MaxSegs, class Translate>
    bool push_segment(DeviceChain<MaxSegs> &c, const Translate &tr, uint64_t addr, uint32_t len, bool writes) {
        if (!writes && c.writable_len != 0) {
            return fail(Broken::desc_order_invalid);
        }
        if (c.nsegs == MaxSegs) {
            return fail(Broken::desc_chain_too_long);
        }
        void *p = tr(addr, len);
        if (p == nullptr) {
            return fail(Broken::desc_addr_invalid);
        }
        c.segs[c.nsegs++] = DeviceSegment{p, len, writes};
        (writes ? c.writable_len : c.readable_len) += len;
        return true;
    }

    Broken broken_ = Broken::none;
    uint64_t errors_ = 0;
    Ordering order_ = Ordering::weak;
    bool event_idx_ = false;
    bool indirect_ = false;
};

} // namespace detail
} // namespace vpmd::ring
