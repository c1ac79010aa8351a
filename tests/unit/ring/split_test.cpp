// Split-ring specifics: size rules and EVENT_IDX decisions (avail_event / used_event)
// exactly at and around the 16-bit wrap.
#include <gtest/gtest.h>

#include "mock/ring_pair.hpp"

using namespace vpmd::ring;
using namespace vpmd::test;

namespace {
constexpr uint64_t ev = feature::version_1 | feature::event_idx;
using Pair = RingPair<SplitLayoutTag>;

uint16_t *avail_event_of(Pair &p, uint32_t size) {
    const auto l = SplitLayout::of(size);
    return reinterpret_cast<uint16_t *>(p.ring() + l.used + 4 + 8 * size);
}
uint16_t *used_event_of(Pair &p, uint32_t size) {
    const auto l = SplitLayout::of(size);
    return reinterpret_cast<uint16_t *>(p.ring() + l.avail + 4 + 2 * size);
}

// Moves both sides' indices to `start` by posting/completing one buffer at a time.
void advance_to(Pair &p, uint16_t start) {
    while (p.q.avail_index() != start) {
        ASSERT_TRUE(round_trip_one(p));
    }
}
} // namespace

TEST(SplitQueue, SizesArePowersOfTwoUpTo32768) {
    EXPECT_TRUE(SplitQueue<int>::valid_size(1));
    EXPECT_TRUE(SplitQueue<int>::valid_size(256));
    EXPECT_TRUE(SplitQueue<int>::valid_size(32768));
    EXPECT_FALSE(SplitQueue<int>::valid_size(0));
    EXPECT_FALSE(SplitQueue<int>::valid_size(3));
    EXPECT_FALSE(SplitQueue<int>::valid_size(1000));
    EXPECT_FALSE(SplitQueue<int>::valid_size(65536));
    Pair p(16, feature::version_1);
    QueueConfig cfg = p.cfg();
    cfg.size = 12;
    SplitQueue<uint32_t> q;
    EXPECT_EQ(q.init(cfg, p.region(0, 1 << 16)), SetupError::bad_size);
}

// The driver kicks exactly when its burst moves avail idx past avail_event, wherever
// that lies relative to 2^16.
TEST(SplitQueue, EventIdxNotifyExactlyWhenCrossingAvailEvent) {
    for (uint16_t start : {uint16_t(0), uint16_t(65530), uint16_t(65535), uint16_t(32767)}) {
        for (uint16_t burst = 1; burst <= 6; ++burst) {
            for (int16_t off = -2; off < 9; ++off) {
                Pair p(8, ev);
                ASSERT_EQ(p.init(), SetupError::ok);
                advance_to(p, start);
                const uint16_t event = uint16_t(start + off);
                *avail_event_of(p, 8) = event;
                const Segment s = p.seg(0, 64, false);
                uint32_t ck = 0;
                for (uint16_t i = 0; i < burst; ++i) {
                    ASSERT_EQ(p.q.add_burst(&s, &ck, 1), 1);
                }
                p.q.publish();
                const bool expected = off >= 0 && off < burst;
                EXPECT_EQ(p.q.needs_notify(), expected) << "start " << start << " burst " << burst << " off " << off;
            }
        }
    }
}

TEST(SplitQueue, EventIdxInterruptExactlyWhenCrossingUsedEvent) {
    for (uint16_t start : {uint16_t(0), uint16_t(65533), uint16_t(65535)}) {
        for (uint16_t burst = 1; burst <= 5; ++burst) {
            for (int16_t off = -1; off < 7; ++off) {
                Pair p(8, ev);
                ASSERT_EQ(p.init(), SetupError::ok);
                advance_to(p, start);
                const Segment s = p.seg(0, 64, true);
                uint32_t ck = 0;
                for (uint16_t i = 0; i < burst; ++i) {
                    ASSERT_EQ(p.q.add_burst(&s, &ck, 1), 1);
                }
                p.q.publish();
                *used_event_of(p, 8) = uint16_t(start + off);
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

// enable_interrupts() publishes used_event = where the driver will read next, so the
// very next completion interrupts; disable parks it out of reach of the next burst.
TEST(SplitQueue, EventIdxEnableDisableInterrupts) {
    Pair p(8, ev);
    ASSERT_EQ(p.init(), SetupError::ok);
    advance_to(p, 65534);
    const Segment s = p.seg(0, 64, true);
    uint32_t ck = 0;
    Pair::Chain c;
    p.q.disable_interrupts();
    ASSERT_EQ(p.q.add_burst(&s, &ck, 1), 1);
    p.q.publish();
    ASSERT_TRUE(p.dev.take(c));
    ASSERT_TRUE(p.dev.put_used(c, 0));
    p.dev.publish_used();
    EXPECT_FALSE(p.dev.needs_interrupt());
    EXPECT_TRUE(p.q.enable_interrupts()) << "a completion is already waiting";
    Used<uint32_t> out[1];
    ASSERT_EQ(p.q.collect(out, 1), 1);
    EXPECT_FALSE(p.q.enable_interrupts());
    ASSERT_EQ(p.q.add_burst(&s, &ck, 1), 1);
    p.q.publish();
    ASSERT_TRUE(p.dev.take(c));
    ASSERT_TRUE(p.dev.put_used(c, 0));
    p.dev.publish_used();
    EXPECT_TRUE(p.dev.needs_interrupt());
}

// With EVENT_IDX the device asks for a kick at a chosen index; enable_notify puts it at
// the next buffer it will take.
TEST(SplitQueue, DeviceEnableNotifyAsksForTheNextBuffer) {
    Pair p(8, ev);
    ASSERT_EQ(p.init(), SetupError::ok);
    advance_to(p, 65535);
    EXPECT_FALSE(p.dev.enable_notify());
    EXPECT_EQ(*avail_event_of(p, 8), 65535);
    const Segment s = p.seg(0, 64, false);
    uint32_t ck = 0;
    ASSERT_EQ(p.q.add_burst(&s, &ck, 1), 1);
    p.q.publish();
    EXPECT_TRUE(p.q.needs_notify());
    ASSERT_EQ(p.q.add_burst(&s, &ck, 1), 1);
    p.q.publish();
    EXPECT_FALSE(p.q.needs_notify()) << "device has not re-armed: no second kick";
}

// Without IN_ORDER, buffers the device completes in order are handed out again in the same
// order (the free list is FIFO): the avail ring's entries repeat lap after lap, so its
// lines are not rewritten. A LIFO free list reversed them every lap.
TEST(SplitQueue, InOrderCompletionsKeepTheAvailRingUnchanged) {
    constexpr uint32_t size = 8;
    Pair p(size, feature::version_1);
    ASSERT_EQ(p.init(), SetupError::ok);
    const auto *avail = reinterpret_cast<const uint16_t *>(p.ring() + SplitLayout::of(size).avail + 4);
    const std::vector<uint16_t> first = lap_in_order(p, size);
    ASSERT_EQ(first.size(), size);
    // After publish the avail ring holds the heads in order; the next laps rewrite nothing.
    EXPECT_EQ(std::vector<uint16_t>(avail, avail + size), first);
    for (int lap = 1; lap < 4; ++lap) {
        EXPECT_EQ(lap_in_order(p, size), first) << "lap " << lap;
        EXPECT_EQ(std::vector<uint16_t>(avail, avail + size), first) << "lap " << lap;
    }
}
