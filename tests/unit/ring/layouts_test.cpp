// Behaviour both ring layouts share, run against each: add/publish/take/put/collect,
// chained and indirect buffers, full ring, in-order batches, wrap-around, reset, detach.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "mock/ring_pair.hpp"

using namespace vpmd::ring;
using namespace vpmd::test;

template <class Tag>
class Layouts : public ::testing::Test {};
using LayoutTags = ::testing::Types<SplitLayoutTag, PackedLayoutTag>;
TYPED_TEST_SUITE(Layouts, LayoutTags);

namespace {
constexpr uint64_t v1 = feature::version_1;

template <class Pair>
void device_echo_all(Pair &p, uint32_t len_written) {
    typename Pair::Chain c;
    while (p.dev.take(c)) {
        const uint32_t len = std::min(len_written, c.writable_len);
        ASSERT_TRUE(p.dev.put_used(c, len));
    }
    p.dev.publish_used();
}
} // namespace

TYPED_TEST(Layouts, InOrderPolicyMustMatchWhatWasNegotiated) {
    RingPair<TypeParam> p(8, v1);
    typename TypeParam::template Queue<uint32_t, false> any_order;
    typename TypeParam::template Queue<uint32_t, true> in_order;
    QueueConfig cfg = p.cfg();
    EXPECT_EQ(in_order.init(cfg, p.region(0, 8192)), SetupError::in_order_mismatch);
    cfg.features |= feature::in_order;
    EXPECT_EQ(any_order.init(cfg, p.region(0, 8192)), SetupError::in_order_mismatch);
    EXPECT_EQ(in_order.init(cfg, p.region(0, 8192)), SetupError::ok);
}

// The PMD gives the ring NUMA-local memory for its bookkeeping: the queue must keep its
// private state there (a posted cookie shows up in it), and refuse too little of it.
TYPED_TEST(Layouts, PrivateStateLivesInTheMemoryGiven) {
    RingPair<TypeParam> p(8, v1);
    using Q = typename RingPair<TypeParam>::Queue;
    const size_t need = Q::private_bytes(8);
    std::vector<uint64_t> priv(need / 8 + 1, 0);
    Q q;
    EXPECT_EQ(q.init(p.cfg(), p.region(0, 8192), {}, PrivateMem{priv.data(), need - 1}),
              SetupError::private_memory_small);
    ASSERT_EQ(q.init(p.cfg(), p.region(0, 8192), {}, PrivateMem{priv.data(), need}), SetupError::ok);
    const uint32_t cookie = 0xc0ffee42u;
    const Segment s = p.seg(0, 64, true);
    ASSERT_EQ(q.add_burst(&s, &cookie, 1), 1);
    const auto *words = reinterpret_cast<const uint32_t *>(priv.data());
    EXPECT_NE(std::find(words, words + need / 4, cookie), words + need / 4);
    std::vector<uint32_t> back;
    q.detach_unused([&](uint32_t c) { back.push_back(c); });
    EXPECT_EQ(back, std::vector<uint32_t>{cookie});
}

TYPED_TEST(Layouts, SetupRejectsBadMemoryAndIndirectWithoutFeature) {
    RingPair<TypeParam> p(8, v1);
    using Q = typename RingPair<TypeParam>::Queue;
    QueueConfig cfg = p.cfg();
    Q q;
    EXPECT_EQ(q.init(cfg, p.region(0, Q::ring_bytes(8) - 1)), SetupError::ring_memory_small);
    EXPECT_EQ(q.init(cfg, DmaRegion{}), SetupError::ring_memory_small);
    DmaRegion odd = p.region(0, 8192);
    odd.va = static_cast<char *>(odd.va) + 8;
    EXPECT_EQ(q.init(cfg, odd), SetupError::ring_memory_misaligned);
    cfg.max_indirect = 4;
    EXPECT_EQ(q.init(cfg, p.region(0, 8192), p.region(8192, 4096)), SetupError::indirect_not_negotiated);
    cfg.features |= feature::indirect_desc;
    EXPECT_EQ(q.init(cfg, p.region(0, 8192), p.region(8192, 8 * 4 * 16 - 1)), SetupError::indirect_memory_small);
    cfg.size = 0;
    EXPECT_EQ(q.init(cfg, p.region(0, 8192)), SetupError::bad_size);
    cfg.size = 32769;
    EXPECT_EQ(q.init(cfg, p.region(0, 8192)), SetupError::bad_size);
}

TYPED_TEST(Layouts, SingleSegmentRoundTripCarriesDataAndLengths) {
    RingPair<TypeParam> p(16, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    std::vector<Segment> segs;
    std::vector<uint32_t> cookies;
    for (uint32_t i = 0; i < 10; ++i) {
        segs.push_back(p.seg(i, 1000 + i, true));
        cookies.push_back(100 + i);
    }
    ASSERT_EQ(p.q.add_burst(segs.data(), cookies.data(), 10), 10);
    typename RingPair<TypeParam>::Chain c;
    EXPECT_FALSE(p.dev.take(c)) << "device must see nothing before publish";
    p.q.publish();
    for (uint32_t i = 0; i < 10; ++i) {
        ASSERT_TRUE(p.dev.take(c));
        ASSERT_EQ(c.nsegs, 1);
        EXPECT_EQ(c.segs[0].ptr, p.buf(i));
        EXPECT_EQ(c.writable_len, 1000 + i);
        std::memset(c.segs[0].ptr, int(i), 64 + i);
        ASSERT_TRUE(p.dev.put_used(c, 64 + i));
    }
    EXPECT_FALSE(p.dev.take(c));
    Used<uint32_t> out[16];
    EXPECT_EQ(p.q.collect(out, 16), 0) << "driver must see nothing before publish_used";
    p.dev.publish_used();
    ASSERT_EQ(p.q.collect(out, 16), 10);
    for (uint32_t i = 0; i < 10; ++i) {
        EXPECT_EQ(out[i].cookie, 100 + i);
        EXPECT_EQ(out[i].len, 64 + i);
        EXPECT_EQ(p.buf(i)[63 + i], char(i));
    }
    EXPECT_EQ(p.q.in_flight(), 0u);
    EXPECT_EQ(p.q.free_descs(), 16u);
    EXPECT_EQ(p.q.broken(), Broken::none);
}

TYPED_TEST(Layouts, ChainedAndIndirectBuffersKeepSegmentOrder) {
    RingPair<TypeParam> p(8, v1 | feature::indirect_desc, 8);
    ASSERT_EQ(p.init(), SetupError::ok);
    // A tx-like header + two readable parts, then writable space: the rx/tx mix of a
    // control command (readable request, writable ack).
    const Segment segs[4] = {p.seg(0, 12, false), p.seg(1, 100, false), p.seg(2, 200, false), p.seg(3, 1, true)};
    ASSERT_TRUE(p.q.add_chain(segs, 4, 7, ChainMode::chained));
    EXPECT_EQ(p.q.free_descs(), 4u);
    ASSERT_TRUE(p.q.add_chain(segs, 4, 8, ChainMode::indirect));
    EXPECT_EQ(p.q.free_descs(), 3u) << "an indirect buffer takes one ring descriptor";
    p.q.publish();
    typename RingPair<TypeParam>::Chain chains[2];
    for (auto &c : chains) {
        ASSERT_TRUE(p.dev.take(c));
        ASSERT_EQ(c.nsegs, 4);
        for (int s = 0; s < 4; ++s) {
            EXPECT_EQ(c.segs[s].ptr, p.buf(s));
            EXPECT_EQ(c.segs[s].len, segs[s].len);
            EXPECT_EQ(c.segs[s].device_writes, segs[s].device_writes);
        }
        EXPECT_EQ(c.readable_len, 312u);
        EXPECT_EQ(c.writable_len, 1u);
        ASSERT_TRUE(p.dev.put_used(c, 1));
    }
    EXPECT_EQ(chains[0].ndesc, 4);
    EXPECT_EQ(chains[1].ndesc, 1);
    p.dev.publish_used();
    EXPECT_FALSE(p.dev.put_used(chains[0], 2)) << "device view must refuse a length past the writable part";
    EXPECT_EQ(p.dev.broken(), Broken::used_len_bad_put);
    Used<uint32_t> out[4];
    ASSERT_EQ(p.q.collect(out, 4), 2);
    EXPECT_EQ(out[0].cookie, 7u);
    EXPECT_EQ(out[1].cookie, 8u);
    EXPECT_EQ(p.q.free_descs(), 8u);
}

TYPED_TEST(Layouts, FullRingAddsWhatFitsAndNeverOverwrites) {
    RingPair<TypeParam> p(8, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    std::vector<Segment> segs;
    std::vector<uint32_t> cookies(12);
    std::iota(cookies.begin(), cookies.end(), 0u);
    for (uint32_t i = 0; i < 12; ++i) {
        segs.push_back(p.seg(i, 64, false));
    }
    EXPECT_EQ(p.q.add_burst(segs.data(), cookies.data(), 12), 8);
    EXPECT_EQ(p.q.free_descs(), 0u);
    EXPECT_EQ(p.q.add_burst(segs.data(), cookies.data(), 1), 0);
    EXPECT_FALSE(p.q.add_chain(segs.data(), 1, 99));
    p.q.publish();
    // The device completes two; a 3-segment chain still does not fit, a 2-segment one does.
    typename RingPair<TypeParam>::Chain c;
    for (int i = 0; i < 2; ++i) {
        ASSERT_TRUE(p.dev.take(c));
        ASSERT_TRUE(p.dev.put_used(c, 0));
    }
    p.dev.publish_used();
    Used<uint32_t> out[8];
    ASSERT_EQ(p.q.collect(out, 8), 2);
    EXPECT_FALSE(p.q.add_chain(segs.data(), 3, 50));
    EXPECT_TRUE(p.q.add_chain(segs.data(), 2, 51));
    p.q.publish();
    std::vector<uint32_t> seen;
    while (p.dev.take(c)) {
        seen.push_back(c.nsegs);
        ASSERT_TRUE(p.dev.put_used(c, 0));
    }
    p.dev.publish_used();
    EXPECT_EQ(seen, (std::vector<uint32_t>{1, 1, 1, 1, 1, 1, 2}));
    ASSERT_EQ(p.q.collect(out, 8), 7);
    EXPECT_EQ(out[6].cookie, 51u);
}

TYPED_TEST(Layouts, InOrderBatchCompletesEverythingUpToTheLastId) {
    RingPair<TypeParam, uint32_t, true> p(16, v1 | feature::in_order);
    ASSERT_EQ(p.init(), SetupError::ok);
    std::vector<Segment> segs;
    std::vector<uint32_t> cookies;
    // Buffers the device only reads (tx): a batch needs no per-buffer lengths.
    for (uint32_t i = 0; i < 6; ++i) {
        segs.push_back(p.seg(i, 500, false));
        cookies.push_back(i);
    }
    ASSERT_EQ(p.q.add_burst(segs.data(), cookies.data(), 6), 6);
    const Segment two[2] = {p.seg(7, 10, false), p.seg(8, 10, false)};
    ASSERT_TRUE(p.q.add_chain(two, 2, 6)); // a chained one inside the batch
    p.q.publish();
    typename RingPair<TypeParam>::Chain chains[7];
    for (auto &c : chains) {
        ASSERT_TRUE(p.dev.take(c));
    }
    ASSERT_TRUE(p.dev.put_used_batch(chains, 4, 0)); // buffers 0..3 in one used entry
    ASSERT_TRUE(p.dev.put_used_batch(chains + 4, 3, 0));
    p.dev.publish_used();
    Used<uint32_t> out[8];
    // Room for 3 only: the rest of the batch must come on the next call, not be lost.
    ASSERT_EQ(p.q.collect(out, 3), 3);
    EXPECT_EQ(out[0].cookie, 0u);
    EXPECT_EQ(out[2].cookie, 2u);
    ASSERT_EQ(p.q.collect(out, 8), 4);
    EXPECT_EQ(out[0].cookie, 3u);
    EXPECT_EQ(out[3].cookie, 6u);
    EXPECT_EQ(p.q.in_flight(), 0u);
    EXPECT_EQ(p.q.free_descs(), 16u);
    EXPECT_EQ(p.q.broken(), Broken::none);
}

// Indices far past 2^16 (and, packed, wrap counters flipping thousands of times) with a
// size that does not divide 2^16 for packed.
TYPED_TEST(Layouts, WrapAroundFarPast65536) {
    const uint32_t size = TypeParam::packed ? 7 : 8;
    RingPair<TypeParam> p(size, v1, 0, 16);
    ASSERT_EQ(p.init(), SetupError::ok);
    uint32_t next_cookie = 0, expect_cookie = 0;
    typename RingPair<TypeParam>::Chain c;
    Used<uint32_t> out[8];
    for (uint32_t round = 0; round < 100000; ++round) {
        const uint16_t n = uint16_t(1 + round % 5);
        for (uint16_t i = 0; i < n; ++i) {
            const Segment s = p.seg(next_cookie, 64, true);
            ASSERT_EQ(p.q.add_burst(&s, &next_cookie, 1), 1);
            ++next_cookie;
        }
        p.q.publish();
        while (p.dev.take(c)) {
            ASSERT_TRUE(p.dev.put_used(c, 33));
        }
        p.dev.publish_used();
        const uint16_t got = p.q.collect(out, 8);
        ASSERT_EQ(got, n) << "round " << round;
        for (uint16_t i = 0; i < got; ++i) {
            ASSERT_EQ(out[i].cookie, expect_cookie++);
            ASSERT_EQ(out[i].len, 33u);
        }
    }
    EXPECT_GT(next_cookie, 3u * 65536);
    EXPECT_EQ(p.q.broken(), Broken::none);
    EXPECT_EQ(p.q.avail_index(), p.q.used_index());
}

TYPED_TEST(Layouts, DetachUnusedReturnsExactlyWhatIsOutstanding) {
    RingPair<TypeParam> p(16, v1 | feature::indirect_desc, 4);
    ASSERT_EQ(p.init(), SetupError::ok);
    std::vector<Segment> segs;
    std::vector<uint32_t> cookies;
    for (uint32_t i = 0; i < 8; ++i) {
        segs.push_back(p.seg(i, 64, true));
        cookies.push_back(1000 + i);
    }
    ASSERT_EQ(p.q.add_burst(segs.data(), cookies.data(), 8), 8);
    ASSERT_TRUE(p.q.add_chain(segs.data(), 3, 2000, ChainMode::chained));
    ASSERT_TRUE(p.q.add_chain(segs.data(), 3, 3000, ChainMode::indirect));
    p.q.publish();
    typename RingPair<TypeParam>::Chain c;
    for (int i = 0; i < 3; ++i) { // the device completes 1000..1002
        ASSERT_TRUE(p.dev.take(c));
        ASSERT_TRUE(p.dev.put_used(c, 1));
    }
    p.dev.publish_used();
    Used<uint32_t> out[4];
    ASSERT_EQ(p.q.collect(out, 4), 3);
    EXPECT_FALSE(p.q.reset()) << "reset must refuse while buffers are posted";
    std::multiset<uint32_t> detached;
    EXPECT_EQ(p.q.detach_unused([&](uint32_t ck) { detached.insert(ck); }), 7u);
    EXPECT_EQ(detached, (std::multiset<uint32_t>{1003, 1004, 1005, 1006, 1007, 2000, 3000}));
    EXPECT_EQ(p.q.in_flight(), 0u);
    EXPECT_EQ(p.q.free_descs(), 16u);
    // The queue starts over: a fresh device sees the next buffer at position 0.
    EXPECT_TRUE(p.q.reset());
    p.dev.init(p.cfg(), p.ring(), ArenaTranslator{p.ring(), arena_device_base, 1 << 20});
    ASSERT_EQ(p.q.add_burst(segs.data(), cookies.data(), 1), 1);
    p.q.publish();
    ASSERT_TRUE(p.dev.take(c));
    EXPECT_EQ(c.segs[0].ptr, p.buf(0));
}

TYPED_TEST(Layouts, NotifyHonoursDeviceSuppressionWithoutEventIdx) {
    RingPair<TypeParam> p(8, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    const Segment s = p.seg(0, 64, false);
    uint32_t ck = 1;
    EXPECT_FALSE(p.q.needs_notify()) << "nothing published: no kick";
    ASSERT_EQ(p.q.add_burst(&s, &ck, 1), 1);
    p.q.publish();
    EXPECT_TRUE(p.q.needs_notify());
    EXPECT_FALSE(p.q.needs_notify()) << "no new buffers since the last decision";
    p.dev.disable_notify();
    ASSERT_EQ(p.q.add_burst(&s, &ck, 1), 1);
    p.q.publish();
    EXPECT_FALSE(p.q.needs_notify()) << "device asked not to be kicked";
    EXPECT_TRUE(p.dev.enable_notify()) << "re-enabling must report the buffers already waiting";
    ASSERT_EQ(p.q.add_burst(&s, &ck, 1), 1);
    p.q.publish();
    EXPECT_TRUE(p.q.needs_notify());
}

TYPED_TEST(Layouts, InterruptHonoursDriverSuppressionWithoutEventIdx) {
    RingPair<TypeParam> p(8, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    const Segment s = p.seg(0, 64, true);
    uint32_t ck = 1;
    ASSERT_EQ(p.q.add_burst(&s, &ck, 1), 1);
    ASSERT_EQ(p.q.add_burst(&s, &ck, 1), 1);
    p.q.publish();
    typename RingPair<TypeParam>::Chain c;
    ASSERT_TRUE(p.dev.take(c));
    ASSERT_TRUE(p.dev.put_used(c, 1));
    p.dev.publish_used();
    EXPECT_TRUE(p.dev.needs_interrupt());
    p.q.disable_interrupts();
    ASSERT_TRUE(p.dev.take(c));
    ASSERT_TRUE(p.dev.put_used(c, 1));
    p.dev.publish_used();
    EXPECT_FALSE(p.dev.needs_interrupt()) << "driver asked for no interrupts";
    EXPECT_TRUE(p.q.enable_interrupts()) << "used buffers are waiting: caller must poll";
    Used<uint32_t> out[2];
    EXPECT_EQ(p.q.collect(out, 2), 2);
    EXPECT_FALSE(p.q.enable_interrupts());
}
