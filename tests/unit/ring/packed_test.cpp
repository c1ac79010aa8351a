// Packed-ring specifics: sizes that are not powers of two, the wrap bit in saved
// positions, and DESC-mode event suppression exactly at and around wrap-counter flips.
#include <gtest/gtest.h>

#include "mock/ring_pair.hpp"

using namespace vpmd::ring;
using namespace vpmd::test;

namespace {
constexpr uint64_t ev = feature::version_1 | feature::event_idx;
using Pair = RingPair<PackedLayoutTag>;

PackedEvent *driver_event_of(Pair &p, uint32_t size) {
    return reinterpret_cast<PackedEvent *>(p.ring() + PackedLayout::of(size).driver_event);
}
PackedEvent *device_event_of(Pair &p, uint32_t size) {
    return reinterpret_cast<PackedEvent *>(p.ring() + PackedLayout::of(size).device_event);
}

// Slot and wrap bit of an absolute position (wrap counters start at 1).
uint16_t off_wrap(uint64_t pos, uint32_t size) {
    const uint16_t wrap = (pos / size) % 2 == 0 ? 1 : 0;
    return uint16_t((pos % size) | (wrap << 15));
}

void advance(Pair &p, uint64_t steps) {
    for (uint64_t i = 0; i < steps; ++i) {
        ASSERT_TRUE(round_trip_one(p));
    }
}
} // namespace

TEST(PackedQueue, AnySizeUpTo32768) {
    EXPECT_TRUE(PackedQueue<int>::valid_size(1));
    EXPECT_TRUE(PackedQueue<int>::valid_size(1000));
    EXPECT_TRUE(PackedQueue<int>::valid_size(32768));
    EXPECT_FALSE(PackedQueue<int>::valid_size(0));
    EXPECT_FALSE(PackedQueue<int>::valid_size(32769));
    Pair p(1000, feature::version_1);
    ASSERT_EQ(p.init(), SetupError::ok);
    EXPECT_EQ(p.q.free_descs(), 1000u);
}

TEST(PackedQueue, SavedPositionsCarryTheWrapBit) {
    Pair p(5, feature::version_1);
    ASSERT_EQ(p.init(), SetupError::ok);
    EXPECT_EQ(p.q.avail_index(), 0x8000);
    advance(p, 7);
    EXPECT_EQ(p.q.avail_index(), 2) << "slot 2, wrap counter flipped to 0";
    EXPECT_EQ(p.q.used_index(), 2);
    EXPECT_EQ(p.dev.last_avail(), 2);
    advance(p, 5);
    EXPECT_EQ(p.q.avail_index(), 0x8002);
    // A device view restored at the saved positions carries on where the old one stopped.
    Pair::Device fresh;
    fresh.init(p.cfg(), p.ring(), ArenaTranslator{p.ring(), arena_device_base, 1 << 20});
    fresh.restore(p.q.avail_index(), p.q.used_index());
    const Segment s = p.seg(1, 64, true);
    uint32_t ck = 42;
    ASSERT_EQ(p.q.add_burst(&s, &ck, 1), 1);
    p.q.publish();
    Pair::Chain c;
    ASSERT_TRUE(fresh.take(c));
    ASSERT_TRUE(fresh.put_used(c, 9));
    fresh.publish_used();
    Used<uint32_t> out[1];
    ASSERT_EQ(p.q.collect(out, 1), 1);
    EXPECT_EQ(out[0].cookie, 42u);
    EXPECT_EQ(out[0].len, 9u);
}

TEST(PackedQueue, DescEventNotifyExactlyWhenCrossing) {
    constexpr uint32_t size = 7;
    for (uint64_t start : {0ull, 5ull, 6ull, 7ull, 13ull, 20ull}) {
        for (uint16_t burst = 1; burst <= 5; ++burst) {
            for (int off = -2; off < 9; ++off) {
                if (int64_t(start) + off < 0) {
                    continue;
                }
                Pair p(size, ev, 0, 8);
                ASSERT_EQ(p.init(), SetupError::ok);
                advance(p, start);
                write_event(*device_event_of(p, size), event_flags_desc, off_wrap(start + off, size));
                const Segment s = p.seg(0, 64, false);
                uint32_t ck = 0;
                for (uint16_t i = 0; i < burst; ++i) {
                    ASSERT_EQ(p.q.add_burst(&s, &ck, 1), 1);
                }
                p.q.publish();
                EXPECT_EQ(p.q.needs_notify(), off >= 0 && off < burst)
                    << "start " << start << " burst " << burst << " off " << off;
            }
        }
    }
}

TEST(PackedQueue, DescEventInterruptExactlyWhenCrossing) {
    constexpr uint32_t size = 7;
    for (uint64_t start : {0ull, 6ull, 7ull, 12ull}) {
        for (uint16_t burst = 1; burst <= 5; ++burst) {
            for (int off = -1; off < 8; ++off) {
                if (int64_t(start) + off < 0) {
                    continue;
                }
                Pair p(size, ev, 0, 8);
                ASSERT_EQ(p.init(), SetupError::ok);
                advance(p, start);
                const Segment s = p.seg(0, 64, true);
                uint32_t ck = 0;
                for (uint16_t i = 0; i < burst; ++i) {
                    ASSERT_EQ(p.q.add_burst(&s, &ck, 1), 1);
                }
                p.q.publish();
                write_event(*driver_event_of(p, size), event_flags_desc, off_wrap(start + off, size));
                Pair::Chain c;
                while (p.dev.take(c)) {
                    ASSERT_TRUE(p.dev.put_used(c, 0));
                }
                p.dev.publish_used();
                EXPECT_EQ(p.dev.needs_interrupt(), off >= 0 && off < burst)
                    << "start " << start << " burst " << burst << " off " << off;
            }
        }
    }
}

// A chained buffer counts all its descriptors when deciding whether the event passed.
TEST(PackedQueue, DescEventCountsEveryDescriptorOfAChain) {
    Pair p(8, ev);
    ASSERT_EQ(p.init(), SetupError::ok);
    write_event(*device_event_of(p, 8), event_flags_desc, off_wrap(2, 8));
    const Segment segs[3] = {p.seg(0, 10, false), p.seg(1, 10, false), p.seg(2, 10, false)};
    ASSERT_TRUE(p.q.add_chain(segs, 3, 1));
    p.q.publish();
    EXPECT_TRUE(p.q.needs_notify()) << "slots 0..2 were published; event at 2";
}

TEST(PackedQueue, DisabledEventsNeverFire) {
    Pair p(8, ev);
    ASSERT_EQ(p.init(), SetupError::ok);
    p.dev.disable_notify();
    p.q.disable_interrupts();
    const Segment s = p.seg(0, 64, true);
    uint32_t ck = 0;
    for (int round = 0; round < 20; ++round) {
        ASSERT_EQ(p.q.add_burst(&s, &ck, 1), 1);
        p.q.publish();
        EXPECT_FALSE(p.q.needs_notify());
        Pair::Chain c;
        ASSERT_TRUE(p.dev.take(c));
        ASSERT_TRUE(p.dev.put_used(c, 0));
        p.dev.publish_used();
        EXPECT_FALSE(p.dev.needs_interrupt());
        Used<uint32_t> out[1];
        ASSERT_EQ(p.q.collect(out, 1), 1);
    }
}

// Without IN_ORDER, ids the device completes in order are handed out again in the same
// order (FIFO free list): the id of each slot stays the same lap after lap. A LIFO list
// reversed them every lap.
TEST(PackedQueue, InOrderCompletionsKeepIdsInPlace) {
    constexpr uint32_t size = 8;
    Pair p(size, feature::version_1 | feature::ring_packed);
    ASSERT_EQ(p.init(), SetupError::ok);
    const std::vector<uint16_t> first = lap_in_order(p, size);
    ASSERT_EQ(first.size(), size);
    for (int lap = 1; lap < 4; ++lap) {
        EXPECT_EQ(lap_in_order(p, size), first) << "lap " << lap;
    }
}

// Regression: with IN_ORDER the device completed two buffers as one batch (one used
// descriptor, the last id) and a collect of at most 1 stopped inside it. A poller that then
// arms interrupts must hear "completions waiting", or it sleeps on a finished buffer.
TEST(PackedQueue, InOrderBatchHalfCollectedStillReportsWorkWhenArmingInterrupts) {
    RingPair<PackedLayoutTag, uint32_t, true> p(8, feature::version_1 | feature::in_order);
    ASSERT_EQ(p.init(), SetupError::ok);
    const Segment segs[2] = {p.seg(0, 100, false), p.seg(1, 100, false)};
    const uint32_t cookies[2] = {10, 11};
    ASSERT_EQ(p.q.add_burst(segs, cookies, 2), 2);
    p.q.publish();
    PackedLayoutTag::Device::Chain c[2];
    ASSERT_TRUE(p.dev.take(c[0]));
    ASSERT_TRUE(p.dev.take(c[1]));
    ASSERT_TRUE(p.dev.put_used_batch(c, 2, 0));
    p.dev.publish_used();
    Used<uint32_t> out[2];
    ASSERT_EQ(p.q.collect(out, 1), 1);
    EXPECT_EQ(out[0].cookie, 10u);
    EXPECT_TRUE(p.q.enable_interrupts()) << "the second buffer of the batch is done";
    ASSERT_EQ(p.q.collect(out, 2), 1);
    EXPECT_EQ(out[0].cookie, 11u);
    EXPECT_FALSE(p.q.enable_interrupts()) << "nothing left";
}
