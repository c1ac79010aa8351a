// A device (or driver) writing garbage into the rings: every kind of bad value named in
// the ring core's contract must break the queue with its reason, return only genuine
// buffers, refuse further work and still let every posted buffer be detached.
#include <gtest/gtest.h>

#include <set>

#include "mock/ring_pair.hpp"

using namespace vpmd::ring;
using namespace vpmd::test;

namespace {
constexpr uint64_t v1 = feature::version_1;
constexpr uint32_t size = 8;

using Split = RingPair<SplitLayoutTag>;
using Packed = RingPair<PackedLayoutTag>;

template <class Pair>
void post_rx(Pair &p, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) {
        const Segment s = p.seg(i, 1024, true);
        ASSERT_EQ(p.q.add_burst(&s, &i, 1), 1);
    }
    p.q.publish();
}

// After a violation: nothing more is accepted or returned; detach gives everything back.
template <class Pair>
void expect_broken_and_recoverable(Pair &p, Broken why, uint32_t still_posted) {
    Used<uint32_t> out[size];
    EXPECT_EQ(p.q.collect(out, size), 0) << "the bad entry must not be returned";
    EXPECT_EQ(p.q.broken(), why) << to_string(p.q.broken());
    EXPECT_GE(p.q.error_count(), 1u);
    EXPECT_EQ(p.q.collect(out, size), 0);
    const Segment s = p.seg(0, 64, true);
    uint32_t ck = 77;
    EXPECT_EQ(p.q.add_burst(&s, &ck, 1), 0);
    EXPECT_FALSE(p.q.add_chain(&s, 1, ck));
    std::set<uint32_t> back;
    EXPECT_EQ(p.q.detach_unused([&](uint32_t c) { back.insert(c); }), still_posted);
    EXPECT_EQ(back.size(), still_posted);
    EXPECT_EQ(p.q.broken(), Broken::none) << "detach restarts the queue";
    EXPECT_EQ(p.q.free_descs(), size);
}

struct SplitUsedView {
    uint16_t *idx;
    SplitUsedElem *ring;
    template <class Pair>
    explicit SplitUsedView(Pair &p) {
        auto *used = p.ring() + SplitLayout::of(size).used;
        idx = reinterpret_cast<uint16_t *>(used + 2);
        ring = reinterpret_cast<SplitUsedElem *>(used + 4);
    }
};

template <class Pair>
PackedDesc *packed_desc(Pair &p) {
    return reinterpret_cast<PackedDesc *>(p.ring());
}
constexpr uint16_t used_now = desc_f_avail | desc_f_used; // used in lap with wrap 1

// Adds `n` more rx buffers (cookies from `first`) without publishing them: the device cannot
// see them, so a completion naming one is forged.
template <class Pair>
void add_unpublished(Pair &p, uint32_t first, uint32_t n) {
    for (uint32_t i = first; i < first + n; ++i) {
        const Segment s = p.seg(i, 1024, true);
        ASSERT_EQ(p.q.add_burst(&s, &i, 1), 1);
    }
}
} // namespace

// ---- split, driver side -------------------------------------------------------------

TEST(SplitMalformed, UsedIdOutOfRange) {
    Split p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    post_rx(p, 2);
    SplitUsedView u(p);
    u.ring[0] = {99, 0};
    *u.idx = 1;
    expect_broken_and_recoverable(p, Broken::used_id_out_of_range, 2);
}

TEST(SplitMalformed, UsedIdNotInFlight) {
    Split p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    post_rx(p, 2);
    SplitUsedView u(p);
    u.ring[0] = {5, 0};
    *u.idx = 1;
    expect_broken_and_recoverable(p, Broken::used_id_not_in_flight, 2);
}

TEST(SplitMalformed, DoubleCompletionReturnsTheBufferOnce) {
    Split p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    post_rx(p, 2);
    SplitUsedView u(p);
    u.ring[0] = {0, 10};
    u.ring[1] = {0, 10};
    *u.idx = 2;
    Used<uint32_t> out[4];
    ASSERT_EQ(p.q.collect(out, 4), 1) << "the genuine completion comes back, the duplicate does not";
    EXPECT_EQ(out[0].cookie, 0u);
    expect_broken_and_recoverable(p, Broken::used_id_not_in_flight, 1);
}

TEST(SplitMalformed, UsedLengthLongerThanPosted) {
    Split p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    post_rx(p, 2);
    SplitUsedView u(p);
    u.ring[0] = {1, 1025};
    *u.idx = 1;
    expect_broken_and_recoverable(p, Broken::used_len_too_long, 2);
}

// Regression (found against DPDK 22.11 vhost, packed tx): a device may leave len stale on
// a buffer it only read. Nothing can be overrun there: the buffer comes back with len 0,
// counted, and the queue stays healthy. A writable buffer still gets the strict check.
TEST(SplitMalformed, RegressionStaleLenOnReadOnlyBufferIsIgnored) {
    Split p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    const Segment s = p.seg(0, 64, false);
    uint32_t ck = 5;
    ASSERT_EQ(p.q.add_burst(&s, &ck, 1), 1);
    p.q.publish();
    SplitUsedView u(p);
    u.ring[0] = {0, 76};
    *u.idx = 1;
    Used<uint32_t> out[1];
    ASSERT_EQ(p.q.collect(out, 1), 1);
    EXPECT_EQ(out[0].cookie, 5u);
    EXPECT_EQ(out[0].len, 0u);
    EXPECT_EQ(p.q.broken(), Broken::none);
    EXPECT_EQ(p.q.ignored_lens(), 1u);
}

TEST(SplitMalformed, UsedIndexJumpsPastInFlight) {
    Split p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    post_rx(p, 2);
    SplitUsedView u(p);
    *u.idx = 3;
    expect_broken_and_recoverable(p, Broken::used_idx_jump, 2);
    post_rx(p, 1);
    *u.idx = 0xffff; // "minus one": a huge jump forwards
    expect_broken_and_recoverable(p, Broken::used_idx_jump, 1);
}

TEST(SplitMalformed, InOrderBatchEndingAtUnpostedId) {
    RingPair<SplitLayoutTag, uint32_t, true> p(size, v1 | feature::in_order);
    ASSERT_EQ(p.init(), SetupError::ok);
    post_rx(p, 3);
    SplitUsedView u(p);
    u.ring[0] = {6, 0};
    *u.idx = 1;
    expect_broken_and_recoverable(p, Broken::used_id_not_in_flight, 3);
}


// Found by review (issue 14): buffers added but not yet published are invisible to the
// device; completing one must break the queue, or the next publish() hands the device an
// entry whose buffer the driver already gave back.
TEST(SplitMalformed, CompletionOfAnUnpublishedBuffer) {
    Split p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    post_rx(p, 2);
    add_unpublished(p, 2, 2); // heads 2 and 3
    SplitUsedView u(p);
    u.ring[0] = {3, 0};
    *u.idx = 1;
    expect_broken_and_recoverable(p, Broken::used_id_unpublished, 4);
}

// Found by fuzzing (tests/fuzz ring_driver, input kept in its corpus): the walk over the
// unpublished buffers stepped one descriptor per chain instead of the chain's length, so a
// buffer behind an unpublished chain was not recognised.
TEST(SplitMalformed, RegressionFuzzUnpublishedBufferBehindAChain) {
    Split p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    post_rx(p, 1); // head 0, published
    const Segment chain[3] = {p.seg(10, 64, true), p.seg(11, 64, true), p.seg(12, 64, true)};
    ASSERT_TRUE(p.q.add_chain(chain, 3, 10)); // heads 1-3, not published
    const uint16_t behind = p.q.next_id();
    add_unpublished(p, 20, 1); // head 4, not published
    SplitUsedView u(p);
    u.ring[0] = {behind, 0};
    *u.idx = 1;
    expect_broken_and_recoverable(p, Broken::used_id_unpublished, 3);
}

TEST(SplitMalformed, UsedIndexCountingUnpublishedBuffers) {
    for (bool in_order : {false, true}) {
        RingPair<SplitLayoutTag, uint32_t, false> any(size, v1);
        RingPair<SplitLayoutTag, uint32_t, true> ordered(size, v1 | feature::in_order);
        auto run = [](auto &p) {
            ASSERT_EQ(p.init(), SetupError::ok);
            post_rx(p, 2);
            add_unpublished(p, 2, 1);
            SplitUsedView u(p);
            for (uint16_t i = 0; i < 3; ++i) {
                u.ring[i] = {i, 0};
            }
            *u.idx = 3; // one more than the device can see
            expect_broken_and_recoverable(p, Broken::used_idx_jump, 3);
        };
        in_order ? run(ordered) : run(any);
    }
}

TEST(SplitMalformed, PublishedCompletionsPassWhileOthersAreUnpublished) {
    Split p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    post_rx(p, 2);
    add_unpublished(p, 2, 2);
    SplitUsedView u(p);
    u.ring[0] = {1, 10};
    u.ring[1] = {0, 20};
    *u.idx = 2;
    Used<uint32_t> out[4];
    ASSERT_EQ(p.q.collect(out, 4), 2);
    EXPECT_EQ(out[0].cookie, 1u);
    EXPECT_EQ(out[1].cookie, 0u);
    EXPECT_EQ(p.q.broken(), Broken::none) << to_string(p.q.broken());
    p.q.publish(); // now the device may complete them
    u.ring[2] = {3, 30};
    *u.idx = 3;
    ASSERT_EQ(p.q.collect(out, 4), 1);
    EXPECT_EQ(out[0].cookie, 3u);
    EXPECT_EQ(p.q.broken(), Broken::none);
}

// ---- packed, driver side ------------------------------------------------------------

TEST(PackedMalformed, FlagsFittingNeitherState) {
    for (uint16_t bad : {uint16_t(desc_f_used), uint16_t(0)}) {
        Packed p(size, v1);
        ASSERT_EQ(p.init(), SetupError::ok);
        post_rx(p, 2);
        packed_desc(p)[0].flags = bad; // (avail 0, used 1) or a stale previous-lap "used"
        expect_broken_and_recoverable(p, Broken::packed_flags_invalid, 2);
    }
}

TEST(PackedMalformed, UsedIdOutOfRange) {
    Packed p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    post_rx(p, 2);
    packed_desc(p)[0].id = 200;
    packed_desc(p)[0].flags = used_now;
    expect_broken_and_recoverable(p, Broken::used_id_out_of_range, 2);
}

TEST(PackedMalformed, UsedIdNotInFlightAndDoubleCompletion) {
    Packed p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    post_rx(p, 3);
    auto *d = packed_desc(p);
    d[0].id = 1;
    d[0].len = 0;
    d[0].flags = used_now;
    d[1].id = 1; // the same buffer again
    d[1].len = 0;
    d[1].flags = used_now;
    Used<uint32_t> out[4];
    ASSERT_EQ(p.q.collect(out, 4), 1);
    EXPECT_EQ(out[0].cookie, 1u);
    expect_broken_and_recoverable(p, Broken::used_id_not_in_flight, 2);
}

TEST(PackedMalformed, UsedLengthLongerThanPosted) {
    Packed p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    post_rx(p, 2);
    packed_desc(p)[0].id = 0;
    packed_desc(p)[0].len = 4096;
    packed_desc(p)[0].flags = used_now;
    expect_broken_and_recoverable(p, Broken::used_len_too_long, 2);
}

TEST(PackedMalformed, RegressionDpdkVhostStaleLenOnTxCompletion) {
    Packed p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    const Segment s = p.seg(0, 76, false);
    uint32_t ck = 9;
    ASSERT_EQ(p.q.add_burst(&s, &ck, 1), 1);
    p.q.publish();
    packed_desc(p)[0].flags = used_now; // id and len left as posted, as DPDK's vhost does
    Used<uint32_t> out[1];
    ASSERT_EQ(p.q.collect(out, 1), 1);
    EXPECT_EQ(out[0].cookie, 9u);
    EXPECT_EQ(out[0].len, 0u);
    EXPECT_EQ(p.q.broken(), Broken::none);
}


// The packed twins of the split cases above: the staged head holds back the whole burst.
TEST(PackedMalformed, CompletionOfAStagedBuffer) {
    Packed p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    post_rx(p, 2);
    add_unpublished(p, 2, 2); // ids 2 and 3, slots 2 and 3, slot 2 staged
    auto *d = packed_desc(p);
    d[0].id = 3;
    d[0].len = 0;
    d[0].flags = used_now;
    expect_broken_and_recoverable(p, Broken::used_id_unpublished, 4);
}

TEST(PackedMalformed, InOrderBatchReachingTheStagedHead) {
    RingPair<PackedLayoutTag, uint32_t, true> p(size, v1 | feature::in_order);
    ASSERT_EQ(p.init(), SetupError::ok);
    post_rx(p, 2);
    add_unpublished(p, 2, 1);
    auto *d = packed_desc(p);
    d[0].id = 2; // "everything up to buffer 2 is done": 2 is not even visible yet
    d[0].len = 0;
    d[0].flags = used_now;
    expect_broken_and_recoverable(p, Broken::used_id_unpublished, 3);
}

TEST(PackedMalformed, PublishedCompletionsPassWhileOthersAreStaged) {
    for (bool in_order : {false, true}) {
        RingPair<PackedLayoutTag, uint32_t, false> any(size, v1);
        RingPair<PackedLayoutTag, uint32_t, true> ordered(size, v1 | feature::in_order);
        auto run = [](auto &p) {
            ASSERT_EQ(p.init(), SetupError::ok);
            post_rx(p, 2);
            add_unpublished(p, 2, 1);
            auto *d = packed_desc(p);
            d[0].id = 1; // in order: the batch 0..1; any order: buffer 1
            d[0].len = 10;
            d[0].flags = used_now;
            Used<uint32_t> out[4];
            EXPECT_GE(p.q.collect(out, 4), 1);
            EXPECT_EQ(p.q.broken(), Broken::none) << to_string(p.q.broken());
        };
        in_order ? run(ordered) : run(any);
    }
}

TEST(PackedMalformed, GarbageIsNeverReadWhenNothingIsInFlight) {
    Packed p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    for (uint32_t i = 0; i < size; ++i) {
        packed_desc(p)[i] = PackedDesc{0xdead, 0xffffffff, 0xffff, used_now};
    }
    Used<uint32_t> out[4];
    EXPECT_EQ(p.q.collect(out, 4), 0);
    EXPECT_EQ(p.q.broken(), Broken::none);
}

// ---- device side: a driver writing garbage ------------------------------------------

namespace {
struct SplitDriverView {
    SplitDesc *desc;
    uint16_t *avail_idx;
    uint16_t *avail_ring;
    explicit SplitDriverView(Split &p) {
        const auto l = SplitLayout::of(size);
        desc = reinterpret_cast<SplitDesc *>(p.ring() + l.desc);
        avail_idx = reinterpret_cast<uint16_t *>(p.ring() + l.avail + 2);
        avail_ring = reinterpret_cast<uint16_t *>(p.ring() + l.avail + 4);
    }
};

template <class Pair>
void expect_device_broken(Pair &p, Broken why) {
    typename Pair::Chain c;
    EXPECT_FALSE(p.dev.take(c));
    EXPECT_EQ(p.dev.broken(), why) << to_string(p.dev.broken());
    EXPECT_FALSE(p.dev.take(c)) << "a broken device view takes nothing more";
}

// One readable buffer posted normally, then corrupted by `corrupt`.
template <class F>
void split_device_case(uint64_t features, Broken why, F corrupt) {
    Split p(size, v1 | features, features & feature::indirect_desc ? 4 : 0);
    ASSERT_EQ(p.init(), SetupError::ok);
    const Segment segs[2] = {p.seg(0, 64, false), p.seg(1, 64, true)};
    ASSERT_TRUE(p.q.add_chain(segs, 2, 1, features & feature::indirect_desc ? ChainMode::indirect : ChainMode::chained));
    p.q.publish();
    SplitDriverView v(p);
    corrupt(p, v);
    expect_device_broken(p, why);
}
} // namespace

TEST(SplitDeviceMalformed, HeadOutOfRange) {
    split_device_case(0, Broken::desc_index_out_of_range, [](Split &, SplitDriverView &v) { v.avail_ring[0] = 99; });
}
TEST(SplitDeviceMalformed, NextOutOfRange) {
    split_device_case(0, Broken::desc_index_out_of_range, [](Split &, SplitDriverView &v) { v.desc[0].next = 400; });
}
TEST(SplitDeviceMalformed, ChainLoops) {
    split_device_case(0, Broken::desc_chain_loop, [](Split &, SplitDriverView &v) {
        v.desc[1].flags = desc_f_next; // readable, so only the loop is wrong
        v.desc[1].next = 0;
    });
}
TEST(SplitDeviceMalformed, ReadableAfterWritable) {
    split_device_case(0, Broken::desc_order_invalid, [](Split &, SplitDriverView &v) {
        v.desc[0].flags |= desc_f_write;
        v.desc[1].flags &= uint16_t(~desc_f_write);
    });
}
TEST(SplitDeviceMalformed, AddressOutsideMemory) {
    split_device_case(0, Broken::desc_addr_invalid, [](Split &, SplitDriverView &v) { v.desc[1].addr = 0x1000; });
}
TEST(SplitDeviceMalformed, LengthRunsPastMemory) {
    split_device_case(0, Broken::desc_addr_invalid, [](Split &, SplitDriverView &v) { v.desc[1].len = 0xffffffff; });
}
TEST(SplitDeviceMalformed, AvailIndexJump) {
    split_device_case(0, Broken::avail_idx_jump, [](Split &, SplitDriverView &v) { *v.avail_idx = size + 1; });
}
TEST(SplitDeviceMalformed, IndirectWithoutFeature) {
    split_device_case(0, Broken::desc_indirect_invalid,
                      [](Split &, SplitDriverView &v) { v.desc[0].flags = desc_f_indirect; });
}
// Found by fuzzing (tests/fuzz ring_driver): an indirect table at a misaligned address was
// read through misaligned descriptor pointers (UBSan); it is refused now.
TEST(SplitDeviceMalformed, RegressionFuzzMisalignedIndirectTable) {
    split_device_case(feature::indirect_desc, Broken::desc_indirect_invalid,
                      [](Split &, SplitDriverView &v) { v.desc[0].addr += 3; });
}
TEST(SplitDeviceMalformed, IndirectWithNext) {
    split_device_case(feature::indirect_desc, Broken::desc_indirect_invalid,
                      [](Split &, SplitDriverView &v) { v.desc[0].flags |= desc_f_next; });
}
TEST(SplitDeviceMalformed, IndirectLengthNotWholeDescriptors) {
    split_device_case(feature::indirect_desc, Broken::desc_indirect_invalid,
                      [](Split &, SplitDriverView &v) { v.desc[0].len = 24; });
}
TEST(SplitDeviceMalformed, NestedIndirect) {
    split_device_case(feature::indirect_desc, Broken::desc_indirect_invalid, [](Split &p, SplitDriverView &v) {
        auto *table = reinterpret_cast<SplitDesc *>(p.ring() + (v.desc[0].addr - arena_device_base));
        table[1].flags |= desc_f_indirect;
    });
}
TEST(SplitDeviceMalformed, IndirectNextOutsideTable) {
    split_device_case(feature::indirect_desc, Broken::desc_index_out_of_range, [](Split &p, SplitDriverView &v) {
        auto *table = reinterpret_cast<SplitDesc *>(p.ring() + (v.desc[0].addr - arena_device_base));
        table[0].next = 2; // the table holds two entries
    });
}
TEST(SplitDeviceMalformed, IndirectLoop) {
    split_device_case(feature::indirect_desc, Broken::desc_chain_loop, [](Split &p, SplitDriverView &v) {
        auto *table = reinterpret_cast<SplitDesc *>(p.ring() + (v.desc[0].addr - arena_device_base));
        table[1].flags |= desc_f_next;
        table[1].next = 0;
    });
}

TEST(SplitDeviceMalformed, ChainLongerThanTheViewHolds) {
    RingPair<SplitLayoutTag> p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    SplitDevice<ArenaTranslator, 4> small;
    small.init(p.cfg(), p.ring(), ArenaTranslator{p.ring(), arena_device_base, 1 << 20});
    Segment segs[5];
    for (uint32_t i = 0; i < 5; ++i) {
        segs[i] = p.seg(i, 10, false);
    }
    ASSERT_TRUE(p.q.add_chain(segs, 5, 1));
    p.q.publish();
    SplitDevice<ArenaTranslator, 4>::Chain c;
    EXPECT_FALSE(small.take(c));
    EXPECT_EQ(small.broken(), Broken::desc_chain_too_long);
}

TEST(PackedDeviceMalformed, ChainLoopsRoundTheRing) {
    Packed p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    post_rx(p, size);
    for (uint32_t i = 0; i < size; ++i) {
        packed_desc(p)[i].flags |= desc_f_next; // every descriptor says "more follows"
    }
    expect_device_broken(p, Broken::desc_chain_loop);
}

TEST(PackedDeviceMalformed, BufferIdOutOfRange) {
    Packed p(size, v1);
    ASSERT_EQ(p.init(), SetupError::ok);
    post_rx(p, 1);
    packed_desc(p)[0].id = 1000;
    expect_device_broken(p, Broken::desc_index_out_of_range);
}

TEST(PackedDeviceMalformed, IndirectTableWithNextOrNesting) {
    for (uint16_t bad : {desc_f_next, desc_f_indirect}) {
        Packed p(size, v1 | feature::indirect_desc, 4);
        ASSERT_EQ(p.init(), SetupError::ok);
        const Segment segs[2] = {p.seg(0, 64, false), p.seg(1, 64, true)};
        ASSERT_TRUE(p.q.add_chain(segs, 2, 1, ChainMode::indirect));
        p.q.publish();
        auto *table = reinterpret_cast<PackedDesc *>(p.ring() + (packed_desc(p)[0].addr - arena_device_base));
        table[0].flags |= bad;
        expect_device_broken(p, Broken::desc_indirect_invalid);
    }
}

TEST(PackedDeviceMalformed, RegressionFuzzMisalignedIndirectTable) {
    Packed p(size, v1 | feature::indirect_desc, 4);
    ASSERT_EQ(p.init(), SetupError::ok);
    const Segment segs[2] = {p.seg(0, 64, false), p.seg(1, 64, true)};
    ASSERT_TRUE(p.q.add_chain(segs, 2, 1, ChainMode::indirect));
    p.q.publish();
    packed_desc(p)[0].addr += 3;
    expect_device_broken(p, Broken::desc_indirect_invalid);
}

TEST(PackedDeviceMalformed, IndirectWithoutFeatureOrBadLength) {
    {
        Packed p(size, v1);
        ASSERT_EQ(p.init(), SetupError::ok);
        post_rx(p, 1);
        packed_desc(p)[0].flags |= desc_f_indirect;
        expect_device_broken(p, Broken::desc_indirect_invalid);
    }
    {
        Packed p(size, v1 | feature::indirect_desc, 4);
        ASSERT_EQ(p.init(), SetupError::ok);
        const Segment segs[2] = {p.seg(0, 64, false), p.seg(1, 64, true)};
        ASSERT_TRUE(p.q.add_chain(segs, 2, 1, ChainMode::indirect));
        p.q.publish();
        packed_desc(p)[0].len = 17;
        expect_device_broken(p, Broken::desc_indirect_invalid);
    }
}
