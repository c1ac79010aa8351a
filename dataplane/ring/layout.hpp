// Ring layouts and flag values of the virtio 1.2 spec (sections 2.7 split, 2.8 packed),
// and the sizes of the memory a queue needs. Shared memory: both sides read and write it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vpmd::ring {

// Feature bits that change ring behaviour (virtio 1.2, section 6).
namespace feature {
inline constexpr uint64_t indirect_desc = 1ULL << 28;
inline constexpr uint64_t event_idx = 1ULL << 29;
inline constexpr uint64_t version_1 = 1ULL << 32;
inline constexpr uint64_t access_platform = 1ULL << 33;
inline constexpr uint64_t ring_packed = 1ULL << 34;
inline constexpr uint64_t in_order = 1ULL << 35;
inline constexpr uint64_t order_platform = 1ULL << 36;
inline constexpr uint64_t notification_data = 1ULL << 38;
inline constexpr uint64_t ring_reset = 1ULL << 40;
} // namespace feature

// Descriptor flags, common to both layouts.
inline constexpr uint16_t desc_f_next = 1;
inline constexpr uint16_t desc_f_write = 2;
inline constexpr uint16_t desc_f_indirect = 4;
// Packed-only flags.
inline constexpr uint16_t desc_f_avail = 1 << 7;
inline constexpr uint16_t desc_f_used = 1 << 15;

// Split-ring suppression flags.
inline constexpr uint16_t avail_f_no_interrupt = 1;
inline constexpr uint16_t used_f_no_notify = 1;

// Packed event suppression (struct pvirtq_event_suppress flags).
inline constexpr uint16_t event_flags_enable = 0;
inline constexpr uint16_t event_flags_disable = 1;
inline constexpr uint16_t event_flags_desc = 2;
inline constexpr uint16_t event_wrap_bit = 1 << 15;

inline constexpr uint32_t max_queue_size = 32768;
inline constexpr size_t cache_line = 64;

struct SplitDesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
static_assert(sizeof(SplitDesc) == 16);

struct SplitAvail {
    uint16_t flags;
    uint16_t idx;
    // followed by uint16_t ring[size] and uint16_t used_event
};

struct SplitUsedElem {
    uint32_t id;
    uint32_t len;
};
static_assert(sizeof(SplitUsedElem) == 8);

struct SplitUsed {
    uint16_t flags;
    uint16_t idx;
    // followed by SplitUsedElem ring[size] and uint16_t avail_event
};

struct PackedDesc {
    uint64_t addr;
    uint32_t len;
    uint16_t id;
    uint16_t flags;
};
static_assert(sizeof(PackedDesc) == 16);

struct PackedEvent {
    uint16_t off_wrap;
    uint16_t flags;
};

constexpr size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

// Offsets of the three parts inside one contiguous ring allocation. Each part starts on
// its own cache line so the driver-written and device-written parts never share one.
struct SplitLayout {
    size_t desc = 0, avail = 0, used = 0, total = 0;
    static constexpr SplitLayout of(uint32_t size) {
        SplitLayout l;
        l.avail = align_up(sizeof(SplitDesc) * size, cache_line);
        l.used = align_up(l.avail + sizeof(uint16_t) * (3 + size), cache_line);
        l.total = align_up(l.used + sizeof(uint16_t) * 3 + sizeof(SplitUsedElem) * size, cache_line);
        return l;
    }
};

struct PackedLayout {
    size_t desc = 0, driver_event = 0, device_event = 0, total = 0;
    static constexpr PackedLayout of(uint32_t size) {
        PackedLayout l;
        l.driver_event = align_up(sizeof(PackedDesc) * size, cache_line);
        l.device_event = l.driver_event + cache_line;
        l.total = l.device_event + cache_line;
        return l;
    }
};

} // namespace vpmd::ring
