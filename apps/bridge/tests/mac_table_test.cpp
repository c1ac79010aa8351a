// The MAC learning table: learning, moves, aging, a full table, and learners on two threads.
#include <gtest/gtest.h>

#include <thread>

#include "../src/mac_table.hpp"

namespace bridge {
namespace {

constexpr Mac mac(uint32_t n) { return 0x020000000000ull | n; }

TEST(MacTable, LearnsLooksUpAndFollowsAMove) {
    MacTable t(64);
    EXPECT_EQ(t.lookup(mac(1)), MacTable::no_port);
    ASSERT_TRUE(t.learn(mac(1), 3, 10));
    ASSERT_TRUE(t.learn(mac(2), 1, 10));
    EXPECT_EQ(t.lookup(mac(1)), 3);
    EXPECT_EQ(t.lookup(mac(2)), 1);
    ASSERT_TRUE(t.learn(mac(1), 2, 11)); // the station moved
    EXPECT_EQ(t.lookup(mac(1)), 2);
    EXPECT_EQ(t.live(), 2u);
}

TEST(MacTable, AgesOutWhatWasNotSeenAndKeepsTheRest) {
    MacTable t(64);
    ASSERT_TRUE(t.learn(mac(1), 0, 100));
    ASSERT_TRUE(t.learn(mac(2), 1, 100));
    ASSERT_TRUE(t.learn(mac(2), 1, 150)); // seen again
    EXPECT_EQ(t.age(200, 60), 1u);
    EXPECT_EQ(t.lookup(mac(1)), MacTable::no_port);
    EXPECT_EQ(t.lookup(mac(2)), 1);
    EXPECT_EQ(t.live(), 1u);
    // Learned again after aging: a fresh slot, found past the tombstone.
    ASSERT_TRUE(t.learn(mac(1), 4, 201));
    EXPECT_EQ(t.lookup(mac(1)), 4);
}

TEST(MacTable, StopsLearningWhenFullButStillUpdatesWhatItKnows) {
    MacTable t(16); // learns 12
    uint32_t learned = 0;
    for (uint32_t i = 0; i < 40; ++i) {
        learned += t.learn(mac(i), uint16_t(i % 4), 1) ? 1 : 0;
    }
    EXPECT_EQ(learned, 12u);
    EXPECT_EQ(t.live(), 12u);
    EXPECT_TRUE(t.learn(mac(0), 7, 2)); // known: a move still lands
    EXPECT_EQ(t.lookup(mac(0)), 7);
    for (uint32_t i = 12; i < 40; ++i) {
        EXPECT_EQ(t.lookup(mac(i)), MacTable::no_port);
    }
}

TEST(MacTable, TwoLearnersOfTheSameStationsMakeOneEntryEach) {
    MacTable t(1 << 12);
    auto learner = [&](uint16_t port) {
        for (int round = 0; round < 20; ++round) {
            for (uint32_t i = 0; i < 1000; ++i) {
                t.learn(mac(i), port, uint32_t(round));
            }
        }
    };
    std::thread a(learner, 1), b(learner, 2);
    a.join();
    b.join();
    EXPECT_EQ(t.live(), 1000u) << "a station was learned into two slots";
    size_t seen = 0;
    t.each([&](Mac m, uint16_t port, uint32_t) {
        ++seen;
        EXPECT_TRUE(port == 1 || port == 2);
        EXPECT_EQ(t.lookup(m), port);
    });
    EXPECT_EQ(seen, 1000u);
}

TEST(MacTable, MulticastBitIsTheFirstOctetsLowBit) {
    const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
    const uint8_t ucast[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    EXPECT_TRUE(is_multicast(mac_from(bcast)));
    EXPECT_TRUE(is_multicast(mac_from(mcast)));
    EXPECT_FALSE(is_multicast(mac_from(ucast)));
    EXPECT_EQ(mac_from(ucast), 0x020000000001ull);
}

} // namespace
} // namespace bridge
