// The one concept both ring layouts meet, so the PMD and tests are written once over it,
// and the include that brings in the whole ring core.
#pragma once

#include <concepts>

#include "dataplane/ring/packed_device.hpp"
#include "dataplane/ring/packed_queue.hpp"
#include "dataplane/ring/split_device.hpp"
#include "dataplane/ring/split_queue.hpp"

namespace vpmd::ring {

// Everything the PMD, the mediated control queue and the tests call on a driver view.
template <class Q>
concept DriverQueue = requires(Q q, const Q cq, const QueueConfig &cfg, DmaRegion r, PrivateMem pm,
                               const Segment *segs, typename Q::cookie_type cookie,
                               const typename Q::cookie_type *cookies, Used<typename Q::cookie_type> *out,
                               uint16_t n) {
    { Q::packed } -> std::convertible_to<bool>;
    { Q::in_order } -> std::convertible_to<bool>;
    { Q::valid_size(n) } -> std::same_as<bool>;
    { Q::ring_bytes(n) } -> std::same_as<size_t>;
    { Q::private_bytes(n) } -> std::same_as<size_t>;
    { q.init(cfg, r, r, pm) } -> std::same_as<SetupError>;
    { q.add_chain(segs, n, cookie, ChainMode::chained) } -> std::same_as<bool>;
    { q.add_burst(segs, cookies, n) } -> std::same_as<uint16_t>;
    { q.add_each(cookies, n, [](uint16_t) { return Segment{}; }) } -> std::same_as<uint16_t>;
    { q.publish() } -> std::same_as<void>;
    { q.needs_notify() } -> std::same_as<bool>;
    { q.collect(out, n) } -> std::same_as<uint16_t>;
    { q.collect_each(n, [](uint16_t, typename Q::cookie_type, uint32_t) {}) } -> std::same_as<uint16_t>;
    { q.detach_unused([](typename Q::cookie_type) {}) } -> std::same_as<uint32_t>;
    { cq.ready(n) } -> std::same_as<uint16_t>;
    { q.disable_interrupts() } -> std::same_as<void>;
    { q.enable_interrupts() } -> std::same_as<bool>;
    { q.reset() } -> std::same_as<bool>;
    { cq.free_descs() } -> std::same_as<uint32_t>;
    { cq.in_flight() } -> std::same_as<uint32_t>;
    { cq.size() } -> std::same_as<uint32_t>;
    { cq.broken() } -> std::same_as<Broken>;
    { cq.error_count() } -> std::same_as<uint64_t>;
    { cq.ignored_lens() } -> std::same_as<uint64_t>;
    { cq.desc_addr() } -> std::same_as<uint64_t>;
    { cq.driver_area_addr() } -> std::same_as<uint64_t>;
    { cq.device_area_addr() } -> std::same_as<uint64_t>;
    { cq.avail_index() } -> std::same_as<uint16_t>;
    { cq.next_id() } -> std::same_as<uint16_t>;
    { cq.used_index() } -> std::same_as<uint16_t>;
};

template <class D>
concept DeviceQueue = requires(D d, const D cd, typename D::Chain &c, const typename D::Chain *cs, uint32_t len,
                               uint16_t n) {
    { d.take(c) } -> std::same_as<bool>;
    { d.put_used(c, len) } -> std::same_as<bool>;
    { d.put_used_batch(cs, n, len) } -> std::same_as<bool>;
    { d.publish_used() } -> std::same_as<void>;
    { d.needs_interrupt() } -> std::same_as<bool>;
    { d.disable_notify() } -> std::same_as<void>;
    { d.enable_notify() } -> std::same_as<bool>;
    { d.restore(n, n) } -> std::same_as<void>;
    { cd.broken() } -> std::same_as<Broken>;
};

// Identity translation over one arena: what tests and in-process devices use.
struct ArenaTranslator {
    char *base = nullptr;
    uint64_t device_base = 0;
    size_t len = 0;
    void *operator()(uint64_t addr, uint32_t n) const {
        if (addr < device_base || addr - device_base > len || len - (addr - device_base) < n) {
            return nullptr;
        }
        return base + (addr - device_base);
    }
};

static_assert(DriverQueue<SplitQueue<void *>>);
static_assert(DriverQueue<SplitQueue<void *, true>>);
static_assert(DriverQueue<PackedQueue<void *>>);
static_assert(DriverQueue<PackedQueue<void *, true>>);
static_assert(DeviceQueue<SplitDevice<ArenaTranslator>>);
static_assert(DeviceQueue<PackedDevice<ArenaTranslator>>);

} // namespace vpmd::ring
