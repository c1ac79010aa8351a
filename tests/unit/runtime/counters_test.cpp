// Counter blocks: layout, sums by queue/port/lcore, deltas, and reads racing one writer.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "vpmd/runtime/counters.hpp"

using namespace vpmd::runtime;

TEST(Counters, OneCacheLinePerBlock) {
    static_assert(alignof(QueueCounters) == 64 && sizeof(QueueCounters) == 64);
    static_assert(alignof(LcoreCounters) == 64 && sizeof(LcoreCounters) == 64);
    CounterTable t;
    auto &a = t.slot(1, 0, 0);
    auto &b = t.slot(1, 0, 1);
    auto &c = t.slot(2, 1, 0);
    for (auto *p : {&a, &b, &c}) {
        EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
    }
    // Same key, same block; blocks do not move when more are added.
    EXPECT_EQ(&t.slot(1, 0, 0), &a);
    for (uint16_t q = 2; q < 100; ++q) {
        t.slot(3, 5, q);
    }
    EXPECT_EQ(&t.slot(1, 0, 1), &b);
    EXPECT_EQ(t.size(), 3u + 98u);
}

TEST(Counters, SumsByQueuePortLcore) {
    CounterTable t;
    // Port 0 queue 0: rx on lcore 1, tx on lcore 2 (one queue, two writers, two blocks).
    t.slot(1, 0, 0).rx_packets.add(10);
    t.slot(1, 0, 0).rx_bytes.add(640);
    t.slot(2, 0, 0).tx_packets.add(7);
    t.slot(2, 0, 0).drops.add(3);
    t.slot(2, 0, 1).rx_packets.add(5);
    t.slot(2, 1, 0).tx_bytes.add(100);
    t.slot(2, 1, 0).bad_csum.add(2);

    const auto q = t.by_queue();
    ASSERT_EQ(q.size(), 3u);
    EXPECT_EQ(q[0].key, (QueueKey{0, 0}));
    EXPECT_EQ(q[0].totals.rx_packets, 10u);
    EXPECT_EQ(q[0].totals.rx_bytes, 640u);
    EXPECT_EQ(q[0].totals.tx_packets, 7u);
    EXPECT_EQ(q[0].totals.drops, 3u);
    EXPECT_EQ(q[1].key, (QueueKey{0, 1}));
    EXPECT_EQ(q[1].totals.rx_packets, 5u);
    EXPECT_EQ(q[2].key, (QueueKey{1, 0}));
    EXPECT_EQ(q[2].totals.bad_csum, 2u);

    const auto p = t.by_port();
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0].key.queue, CounterTable::all_queues);
    EXPECT_EQ(p[0].totals.rx_packets, 15u);
    EXPECT_EQ(p[1].totals.tx_bytes, 100u);

    EXPECT_EQ(t.total().rx_packets, 15u);
    EXPECT_EQ(t.total().drops, 3u);
    EXPECT_EQ(t.lcore_total(1).rx_packets, 10u);
    EXPECT_EQ(t.lcore_total(2).rx_packets, 5u);
    EXPECT_EQ(t.lcore_total(9), QueueTotals{});

    t.reset();
    EXPECT_EQ(t.total(), QueueTotals{});
}

TEST(Counters, DeltasAndRatios) {
    QueueTotals a, b;
    a.rx_packets = 100;
    a.tx_bytes = 5000;
    b.rx_packets = 40;
    b.tx_bytes = 1000;
    const QueueTotals d = a - b;
    EXPECT_EQ(d.rx_packets, 60u);
    EXPECT_EQ(d.tx_bytes, 4000u);

    LcoreTotals l;
    EXPECT_EQ(l.busy_cycles_per_unit(), 0.0); // no work: 0, not NaN
    EXPECT_EQ(l.busy_fraction(), 0.0);
    l.busy_cycles = 300;
    l.idle_cycles = 100;
    l.work = 10;
    EXPECT_DOUBLE_EQ(l.busy_cycles_per_unit(), 30.0);
    EXPECT_DOUBLE_EQ(l.busy_fraction(), 0.75);
    LcoreTotals m = l;
    m += l;
    EXPECT_EQ((m - l).busy_cycles, 300u);
}

// One writer adds, one reader sums: the reader sees a non-decreasing sequence ending at
// the exact total (a torn or lost update would break one of the two).
TEST(Counters, ReaderRacingOneWriterSeesMonotonicValues) {
    CounterTable t;
    QueueCounters &c = t.slot(1, 0, 0);
    constexpr uint64_t n = 200000;
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (uint64_t i = 0; i < n; ++i) {
            c.rx_packets.add(1);
            c.rx_bytes.add(64);
        }
        done.store(true);
    });
    uint64_t last = 0;
    while (!done.load()) {
        const uint64_t v = t.total().rx_packets;
        ASSERT_GE(v, last);
        last = v;
    }
    writer.join();
    EXPECT_EQ(t.total().rx_packets, n);
    EXPECT_EQ(t.total().rx_bytes, 64 * n);
}
