// Test-only mock device: a driver view and a device view over one arena of plain memory
// (ring, indirect tables, packet buffers), with device addresses deliberately different
// from our pointers so a missed translation shows up. No EAL, no hardware.
#pragma once

#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "dataplane/ring/queue.hpp"

namespace vpmd::test {

using namespace vpmd::ring;

// A driver view whose add/collect calls take the bursts' instruction set S (the PMD passes
// it per call; tests get it from the type, so every test over a tag can run each variant).
template <class Q, Simd S>
struct SimdQueue : Q {
    using Cookie = typename Q::cookie_type;
    static constexpr Simd simd = S;
    uint16_t add_burst(const Segment *segs, const Cookie *cookies, uint16_t n) {
        return Q::template add_each<S>(cookies, n, [segs](uint16_t i) { return segs[i]; });
    }
    template <class SegOf>
    uint16_t add_each(const Cookie *cookies, uint16_t n, SegOf &&seg_of) {
        return Q::template add_each<S>(cookies, n, std::forward<SegOf>(seg_of));
    }
    uint16_t collect(Used<Cookie> *out, uint16_t max) {
        return Q::template collect_each<S>(max, [out](uint16_t i, Cookie c, uint32_t len) { out[i] = Used<Cookie>{c, len}; });
    }
    template <class Sink>
    uint16_t collect_each(uint16_t max, Sink &&sink) {
        return Q::template collect_each<S>(max, std::forward<Sink>(sink));
    }
};

template <Simd S = Simd::scalar>
struct SplitTag {
    template <class C, bool InOrder>
    using Queue = SimdQueue<SplitQueue<C, InOrder>, S>;
    using Device = SplitDevice<ArenaTranslator, 64>;
    static constexpr bool packed = false;
    static constexpr Simd simd = S;
};
template <Simd S = Simd::scalar>
struct PackedTag {
    template <class C, bool InOrder>
    using Queue = SimdQueue<PackedQueue<C, InOrder>, S>;
    using Device = PackedDevice<ArenaTranslator, 64>;
    static constexpr bool packed = true;
    static constexpr Simd simd = S;
};
using SplitLayoutTag = SplitTag<>;
using PackedLayoutTag = PackedTag<>;

inline constexpr uint64_t arena_device_base = 0x7f0000100000ULL; // not equal to any VA
inline constexpr uint32_t buffer_bytes = 2048;

// InOrder: the queue type's IN_ORDER policy; features must then carry feature::in_order.
template <class Tag, class Cookie = uint32_t, bool InOrder = false>
class RingPair {
public:
    using Queue = typename Tag::template Queue<Cookie, InOrder>;
    using Device = typename Tag::Device;
    using Chain = typename Device::Chain;

    RingPair(uint32_t size, uint64_t features, uint16_t max_indirect = 0, uint32_t nbufs = 0)
        : size_(size), nbufs_(nbufs ? nbufs : size * 4) {
        cfg_.size = size;
        cfg_.features = features;
        cfg_.max_indirect = max_indirect;
        ring_len_ = align_up(Queue::ring_bytes(size), 4096);
        ind_len_ = align_up(size_t(size) * max_indirect * 16, 4096);
        total_ = ring_len_ + ind_len_ + size_t(nbufs_) * buffer_bytes;
        arena_ = static_cast<char *>(std::aligned_alloc(4096, total_));
        std::memset(arena_, 0, total_);
        tr_ = ArenaTranslator{arena_, arena_device_base, total_};
    }
    ~RingPair() { std::free(arena_); }
    RingPair(const RingPair &) = delete;
    RingPair &operator=(const RingPair &) = delete;

    SetupError init() {
        const DmaRegion ind = cfg_.max_indirect ? region(ring_len_, ind_len_) : DmaRegion{};
        const SetupError e = q.init(cfg_, region(0, ring_len_), ind);
        if (e == SetupError::ok) {
            dev.init(cfg_, arena_, tr_);
        }
        return e;
    }

    DmaRegion region(size_t off, size_t len) const { return DmaRegion{arena_ + off, arena_device_base + off, len}; }

    // Packet buffer i: a segment as the driver posts it, and our pointer to its bytes.
    Segment seg(uint32_t i, uint32_t len, bool device_writes) const {
        return Segment{arena_device_base + buf_off(i), len, device_writes};
    }
    char *buf(uint32_t i) const { return arena_ + buf_off(i); }

    char *ring() const { return arena_; }
    // The device's view of the whole arena (ring, indirect tables, buffers), bounds included.
    const ArenaTranslator &translator() const { return tr_; }
    const QueueConfig &cfg() const { return cfg_; }
    uint32_t nbufs() const { return nbufs_; }

    Queue q;
    Device dev;

private:
    size_t buf_off(uint32_t i) const { return ring_len_ + ind_len_ + size_t(i % nbufs_) * buffer_bytes; }

    QueueConfig cfg_{};
    uint32_t size_;
    uint32_t nbufs_;
    size_t ring_len_ = 0, ind_len_ = 0, total_ = 0;
    char *arena_ = nullptr;
    ArenaTranslator tr_{};
};

// One buffer through both views and back, with every notify/interrupt decision taken:
// moves all indices (and packed wrap counters) one step. Returns false on any hiccup.
template <class Pair>
bool round_trip_one(Pair &p) {
    const Segment s = p.seg(0, 64, true);
    uint32_t ck = 0;
    typename Pair::Chain c;
    Used<uint32_t> out[1];
    if (p.q.add_burst(&s, &ck, 1) != 1) {
        return false;
    }
    p.q.publish();
    (void)p.q.needs_notify();
    if (!p.dev.take(c) || !p.dev.put_used(c, 0)) {
        return false;
    }
    p.dev.publish_used();
    (void)p.dev.needs_interrupt();
    return p.q.collect(out, 1) == 1;
}

// One lap of a ring of `size`: posts `size` single buffers (cookies 0..size-1), the device
// completes them in ring order, the driver collects them. Returns each buffer's id as the
// driver handed it out (next_id()), or an empty vector on any hiccup.
template <class Pair>
std::vector<uint16_t> lap_in_order(Pair &p, uint32_t size) {
    std::vector<uint16_t> ids;
    for (uint32_t i = 0; i < size; ++i) {
        ids.push_back(p.q.next_id());
        const Segment s = p.seg(i, 64, true);
        uint32_t ck = i;
        if (p.q.add_burst(&s, &ck, 1) != 1) {
            return {};
        }
    }
    p.q.publish();
    for (uint32_t i = 0; i < size; ++i) {
        typename Pair::Chain c;
        if (!p.dev.take(c) || !p.dev.put_used(c, 10)) {
            return {};
        }
    }
    p.dev.publish_used();
    std::vector<Used<uint32_t>> out(size);
    if (p.q.collect(out.data(), uint16_t(size)) != size) {
        return {};
    }
    for (uint32_t i = 0; i < size; ++i) {
        if (out[i].cookie != i) {
            return {};
        }
    }
    return ids;
}

} // namespace vpmd::test
