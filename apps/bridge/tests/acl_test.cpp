// The ACL: the rule-file grammar and its errors, first-match decisions on every field, per-rule
// counters, and rule sets swapped under a reader that must never see a half-updated one.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "../src/acl.hpp"
#include "../src/qsbr.hpp"

namespace bridge {
namespace {

constexpr uint32_t ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return uint32_t(a) << 24 | uint32_t(b) << 16 | uint32_t(c) << 8 | d;
}
FiveTuple udp(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport) {
    return FiveTuple{src, dst, 17, sport, dport, true};
}

std::unique_ptr<RuleSet> parse(std::string_view text, unsigned lcores = 1) {
    auto r = parse_rules(text, lcores);
    EXPECT_TRUE(r) << (r ? "" : r.error());
    return r ? std::move(r.value()) : nullptr;
}

TEST(Acl, EveryFieldDecides) {
    auto rs = parse("allow udp 10.0.0.0/8 1000-2000 192.168.1.1 53   # dns from inside\n"
                    "deny  tcp any any any 22\n"
                    "allow 47 any any 172.16.0.0/12 any\n"
                    "default deny\n");
    ASSERT_NE(rs, nullptr);
    ASSERT_EQ(rs->rules().size(), 3u);
    EXPECT_EQ(rs->rules()[0].text, "allow udp 10.0.0.0/8 1000-2000 192.168.1.1 53");
    const auto a = Action::allow, d = Action::deny;
    EXPECT_EQ(rs->decide(udp(ip(10, 9, 8, 7), 1500, ip(192, 168, 1, 1), 53), 0), a);
    EXPECT_EQ(rs->decide(udp(ip(11, 9, 8, 7), 1500, ip(192, 168, 1, 1), 53), 0), d);  // src prefix
    EXPECT_EQ(rs->decide(udp(ip(10, 9, 8, 7), 999, ip(192, 168, 1, 1), 53), 0), d);   // sport below
    EXPECT_EQ(rs->decide(udp(ip(10, 9, 8, 7), 2001, ip(192, 168, 1, 1), 53), 0), d);  // sport above
    EXPECT_EQ(rs->decide(udp(ip(10, 9, 8, 7), 2000, ip(192, 168, 1, 2), 53), 0), d);  // dst host
    EXPECT_EQ(rs->decide(udp(ip(10, 9, 8, 7), 2000, ip(192, 168, 1, 1), 54), 0), d);  // dport
    FiveTuple tcp = udp(ip(10, 0, 0, 1), 1500, ip(192, 168, 1, 1), 53);
    tcp.proto = 6;
    EXPECT_EQ(rs->decide(tcp, 0), d); // protocol
    FiveTuple gre{ip(1, 2, 3, 4), ip(172, 20, 0, 1), 47, 0, 0, false};
    EXPECT_EQ(rs->decide(gre, 0), a);
    gre.dst = ip(172, 32, 0, 1);
    EXPECT_EQ(rs->decide(gre, 0), d); // outside /12
    // A later fragment has no ports: a rule with ports does not match it.
    FiveTuple frag = udp(ip(10, 9, 8, 7), 0, ip(192, 168, 1, 1), 0);
    frag.has_ports = false;
    EXPECT_EQ(rs->decide(frag, 0), d);
}

TEST(Acl, FirstMatchWinsAndTheDefaultApplies) {
    auto rs = parse("deny udp 10.0.0.1 any any any\nallow udp 10.0.0.0/24 any any any\ndefault allow\n");
    ASSERT_NE(rs, nullptr);
    EXPECT_EQ(rs->decide(udp(ip(10, 0, 0, 1), 1, ip(1, 1, 1, 1), 1), 0), Action::deny);
    EXPECT_EQ(rs->decide(udp(ip(10, 0, 0, 2), 1, ip(1, 1, 1, 1), 1), 0), Action::allow);
    EXPECT_EQ(rs->decide(udp(ip(99, 0, 0, 2), 1, ip(1, 1, 1, 1), 1), 0), Action::allow);
    auto strict = parse("allow udp any any any 7\n");
    EXPECT_EQ(strict->decide(udp(1, 1, 2, 8), 0), Action::deny) << "no default line means deny";
}

TEST(Acl, CountsEveryHitPerRuleAcrossLcores) {
    auto rs = parse("allow udp any any any 1\ndeny udp any any any 2\n", 3);
    ASSERT_NE(rs, nullptr);
    for (unsigned l = 0; l < 3; ++l) {
        for (uint16_t k = 0; k < 12 * (l + 1); ++k) {
            (void)rs->decide(udp(1, 1, 2, uint16_t(1 + k % 3)), l); // ports 1, 2, 3 in turn
        }
    }
    EXPECT_EQ(rs->hits(0), 24u); // 4 + 8 + 12
    EXPECT_EQ(rs->hits(1), 24u);
    EXPECT_EQ(rs->hits(2), 24u); // default
    EXPECT_EQ(rs->total_hits(), 72u);
}

TEST(Acl, ErrorsNameTheLineAndTheField) {
    struct Case {
        const char *text;
        const char *want;
    } cases[] = {
        {"allow udp 10.0.0/8 any any any", "line 1: bad address '10.0.0/8'"},
        {"\n\nallow udp any any 1.2.3.4/33 any", "line 3: bad address '1.2.3.4/33'"},
        {"allow udp any 70000 any any", "line 1: bad port '70000'"},
        {"allow udp any 20-10 any any", "line 1: bad port '20-10'"},
        {"permit udp any any any any", "line 1: bad action 'permit'"},
        {"allow sctpp any any any any", "line 1: bad protocol 'sctpp'"},
        {"allow udp any any any", "line 1: bad rule"},
        {"allow icmp any 1 any any", "line 1: bad rule: ports need tcp, udp or any"},
        {"default maybe", "line 1: bad default"},
        {"allow udp 1.2.3.4.5 any any any", "line 1: bad address '1.2.3.4.5'"},
    };
    for (const Case &c : cases) {
        auto r = parse_rules(c.text, 1);
        ASSERT_FALSE(r) << c.text;
        EXPECT_EQ(r.error().rfind(c.want, 0), 0u) << c.text << " -> " << r.error();
    }
    auto missing = load_rules("/nonexistent/rules.txt", 1);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error(), "cannot read /nonexistent/rules.txt");
}

// X and Y both allow P, through different rules; a table holding X's second rule behind Y's
// first (what a reader of a table rewritten in place may see) denies P.
constexpr const char *table_x = "allow udp 10.0.0.1 any any 7000\ndeny udp any any any 7000\n";
constexpr const char *table_y = "deny udp any any any 7001\nallow udp any any any 7000\n";

TEST(Acl, ReaderNeverSeesAHalfUpdatedOrFreedTable) {
    Qsbr q(1);
    Published<RuleSet> table(q, parse(table_x));
    std::atomic<bool> done{false};
    std::atomic<uint64_t> decisions{0}, denied{0};
    std::thread reader([&] {
        q.online(0);
        const FiveTuple p = udp(ip(10, 0, 0, 1), 5, ip(10, 0, 0, 2), 7000);
        while (!done.load(std::memory_order_relaxed)) {
            const RuleSet *rs = table.get();
            for (int i = 0; i < 16; ++i) {
                denied += rs->decide(p, 0) == Action::deny ? 1 : 0;
                decisions.fetch_add(1, std::memory_order_relaxed);
            }
            q.quiescent(0);
        }
        q.offline(0);
    });
    for (int i = 0; i < 4000; ++i) {
        auto old = table.replace(parse(i % 2 ? table_x : table_y));
        // No reader holds `old` now: make every rule deny all, as a reuse of its memory might.
        for (Rule &r : const_cast<std::vector<Rule> &>(old->rules())) {
            r.action = Action::deny;
            r.proto = -1;
            r.src = r.src_mask = r.dst = r.dst_mask = 0;
            r.ports = false;
        }
        const uint64_t before = decisions.load();
        while (decisions.load() == before) { // the reader has moved on at least once
            std::this_thread::yield();
        }
    }
    done = true;
    reader.join();
    EXPECT_EQ(denied.load(), 0u) << "P was judged by a table that was neither X nor Y";
    EXPECT_GT(decisions.load(), 4000u);
}

TEST(Qsbr, OfflineReadersAreNotWaitedFor) {
    Qsbr q(3);
    q.synchronize(); // nobody online: returns at once
    q.online(1);
    std::atomic<bool> returned{false};
    std::thread writer([&] {
        q.synchronize();
        returned = true;
    });
    // The writer waits for reader 1 only; offline() lets it go without a quiescent point.
    q.offline(1);
    writer.join();
    EXPECT_TRUE(returned.load());
}

} // namespace
} // namespace bridge
