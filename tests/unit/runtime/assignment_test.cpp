// Queue-to-lcore assignment: balance, both policies, and every refusal.
#include <gtest/gtest.h>

#include <set>

#include "vpmd/runtime/assignment.hpp"

using namespace vpmd::runtime;

namespace {

std::vector<QueueKey> queues(uint16_t ports, uint16_t per_port) {
    std::vector<QueueKey> v;
    for (uint16_t p = 0; p < ports; ++p) {
        for (uint16_t q = 0; q < per_port; ++q) {
            v.push_back(QueueKey{p, q});
        }
    }
    return v;
}

// Every item exactly once, and share sizes differing by at most one.
void expect_partition(const Assignment &a, size_t items) {
    std::multiset<size_t> seen;
    size_t lo = SIZE_MAX, hi = 0;
    for (const auto &s : a.shares) {
        seen.insert(s.items.begin(), s.items.end());
        lo = std::min(lo, s.items.size());
        hi = std::max(hi, s.items.size());
    }
    ASSERT_EQ(seen.size(), items);
    for (size_t i = 0; i < items; ++i) {
        EXPECT_EQ(seen.count(i), 1u) << "item " << i;
    }
    EXPECT_LE(hi - lo, 1u);
}

} // namespace

TEST(Assignment, BlocksAreContiguousAndBalanced) {
    const auto q = queues(2, 3); // 6 items
    const std::vector<unsigned> lcores{1, 2, 3, 4};
    auto a = assign_queues(q, lcores);
    ASSERT_TRUE(a) << a.error();
    ASSERT_EQ(a->shares.size(), 4u);
    EXPECT_EQ(a->idle_lcores, 0u);
    expect_partition(*a, q.size());
    // 6 over 4: the first two lcores take one extra, in order.
    EXPECT_EQ(a->shares[0].lcore, 1u);
    EXPECT_EQ(a->shares[0].items, (std::vector<size_t>{0, 1}));
    EXPECT_EQ(a->shares[1].items, (std::vector<size_t>{2, 3}));
    EXPECT_EQ(a->shares[2].items, (std::vector<size_t>{4}));
    EXPECT_EQ(a->shares[3].items, (std::vector<size_t>{5}));
}

TEST(Assignment, RoundRobinSpreadsQueuesOfOnePort) {
    const auto q = queues(1, 5);
    const std::vector<unsigned> lcores{7, 3};
    auto a = assign_queues(q, lcores, AssignPolicy::round_robin);
    ASSERT_TRUE(a) << a.error();
    expect_partition(*a, q.size());
    EXPECT_EQ(a->shares[0].lcore, 7u);
    EXPECT_EQ(a->shares[0].items, (std::vector<size_t>{0, 2, 4}));
    EXPECT_EQ(a->shares[1].items, (std::vector<size_t>{1, 3}));
}

TEST(Assignment, MoreLcoresThanQueuesLeavesSomeIdle) {
    const auto q = queues(1, 2);
    const std::vector<unsigned> lcores{1, 2, 3, 4, 5};
    for (auto policy : {AssignPolicy::blocks, AssignPolicy::round_robin}) {
        auto a = assign_queues(q, lcores, policy);
        ASSERT_TRUE(a) << a.error();
        EXPECT_EQ(a->shares.size(), 2u);
        EXPECT_EQ(a->idle_lcores, 3u);
        expect_partition(*a, q.size());
    }
}

TEST(Assignment, ManyShapesArePartitions) {
    for (uint16_t ports = 1; ports <= 4; ++ports) {
        for (uint16_t per = 1; per <= 8; ++per) {
            for (unsigned n = 1; n <= 6; ++n) {
                std::vector<unsigned> lcores;
                for (unsigned l = 0; l < n; ++l) {
                    lcores.push_back(l + 1);
                }
                const auto q = queues(ports, per);
                for (auto policy : {AssignPolicy::blocks, AssignPolicy::round_robin}) {
                    auto a = assign_queues(q, lcores, policy);
                    ASSERT_TRUE(a) << a.error();
                    expect_partition(*a, q.size());
                    EXPECT_EQ(a->shares.size() + a->idle_lcores, n);
                }
            }
        }
    }
}

TEST(Assignment, Refusals) {
    const auto q = queues(1, 2);
    const std::vector<unsigned> none;
    const std::vector<unsigned> one{1};
    EXPECT_FALSE(assign_queues(q, none));
    EXPECT_FALSE(assign_queues(std::vector<QueueKey>{}, one));
    const std::vector<unsigned> twice{1, 2, 1};
    auto a = assign_queues(q, twice);
    ASSERT_FALSE(a);
    EXPECT_NE(a.error().find("lcore"), std::string::npos);
    const std::vector<QueueKey> dup{{0, 0}, {1, 0}, {0, 0}};
    auto b = assign_queues(dup, one);
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().find("twice"), std::string::npos);
}
