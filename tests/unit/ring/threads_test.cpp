// Driver view and device view on two threads, as in production (PMD lcore vs backend
// thread): every buffer's bytes written by one side must be what the other side reads,
// every buffer comes back exactly once (in ring order with IN_ORDER), nothing is lost or
// invented. Run under ThreadSanitizer by the test command (build-tsan): any access the
// ring's ordering helpers fail to order shows up there as a data race.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "mock/ring_pair.hpp"

using namespace vpmd::ring;
using namespace vpmd::test;

namespace {

constexpr uint32_t ring_size = 64;
constexpr uint32_t total = 50000;
constexpr uint32_t tag_len = 8;

template <class Tag, bool InOrder>
void two_threads(bool event_idx) {
    using Pair = RingPair<Tag, uint32_t, InOrder>;
    uint64_t f = feature::version_1 | (InOrder ? feature::in_order : 0) | (event_idx ? feature::event_idx : 0);
    Pair p(ring_size, f, 0, ring_size);
    ASSERT_EQ(p.init(), SetupError::ok);
    std::atomic<bool> failed{false};
    std::atomic<uint32_t> device_seen{0};

    // Device: takes a buffer, checks the driver's tag, answers with its own, returns it.
    std::thread device([&] {
        typename Pair::Chain c;
        uint32_t next = 0;
        while (next < total && !failed.load(std::memory_order_relaxed)) {
            if (!p.dev.take(c)) {
                std::this_thread::yield();
                continue;
            }
            uint32_t seq = 0;
            std::memcpy(&seq, c.segs[0].ptr, 4);
            if ((InOrder && seq != next) || c.segs[0].len < tag_len) {
                failed = true;
                break;
            }
            const uint32_t answer = ~seq;
            std::memcpy(static_cast<char *>(c.segs[0].ptr) + 4, &answer, 4);
            if (!p.dev.put_used(c, tag_len)) {
                failed = true;
                break;
            }
            p.dev.publish_used();
            (void)p.dev.needs_interrupt();
            ++next;
            device_seen.store(next, std::memory_order_relaxed);
        }
    });

    // Driver: posts buffers tagged with a sequence number, collects and checks answers.
    std::vector<uint8_t> back(total, 0);
    uint32_t posted = 0, collected = 0, expect = 0;
    while (collected < total && !failed.load(std::memory_order_relaxed)) {
        while (posted < total && p.q.free_descs() > 0) {
            const uint32_t buf = posted % ring_size; // one buffer per slot: never reused early
            std::memcpy(p.buf(buf), &posted, 4);
            const Segment s = p.seg(buf, 64, true);
            if (p.q.add_burst(&s, &posted, 1) != 1) {
                break;
            }
            ++posted;
        }
        p.q.publish();
        (void)p.q.needs_notify();
        Used<uint32_t> out[16];
        const uint16_t n = p.q.collect(out, 16);
        for (uint16_t i = 0; i < n; ++i) {
            const uint32_t seq = out[i].cookie;
            uint32_t answer = 0;
            std::memcpy(&answer, p.buf(seq % ring_size) + 4, 4);
            if (seq >= total || back[seq] || out[i].len != tag_len || answer != ~seq || (InOrder && seq != expect)) {
                failed = true;
            }
            back[seq] = 1;
            ++expect;
        }
        collected += n;
        if (n == 0) {
            std::this_thread::yield();
        }
    }
    device.join();
    EXPECT_FALSE(failed.load());
    EXPECT_EQ(collected, total);
    EXPECT_EQ(p.q.broken(), Broken::none) << to_string(p.q.broken());
    EXPECT_EQ(p.dev.broken(), Broken::none) << to_string(p.dev.broken());
}

TEST(RingThreads, SplitAnyOrder) { two_threads<SplitLayoutTag, false>(false); }
TEST(RingThreads, SplitInOrderEventIdx) { two_threads<SplitLayoutTag, true>(true); }
TEST(RingThreads, PackedAnyOrderEventIdx) { two_threads<PackedLayoutTag, false>(true); }
TEST(RingThreads, PackedInOrder) { two_threads<PackedLayoutTag, true>(false); }

} // namespace
