// vpmd-bridge end to end, in one EAL process: ports A and B are net_vpmd ports opened through
// the installed API (vpmd::Port) over vhost-user, each served by a net_vhost port this test
// drives; port C is a net_ring port (not vpmd) whose rings the test fills and drains. The
// bridge runs on two worker lcores through vpmd's runtime. Frames are checked byte for byte.
//
// "Did not arrive" is never a timeout: after the frames under test the test sends a
// broadcast marker from the same station; the same worker and tx queue carry it, so once the
// marker is out at a port, whatever was bridged there before it is out too.
#include <gtest/gtest.h>

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "vpmd/port.hpp"
#include "vpmd/runtime/eal_launcher.hpp"
#include "vpmd/runtime/runtime.hpp"

#include "../src/bridge.hpp"

namespace bridge {
namespace {

using namespace std::chrono_literals;
using Frame = std::vector<uint8_t>;
namespace rt = vpmd::runtime;

constexpr uint16_t queues = 2; // rx queues per port, and one tx queue per worker
constexpr unsigned pool_size = 8191;
constexpr uint32_t max_age = 60;

using MacBytes = std::array<uint8_t, 6>;
constexpr MacBytes station_a = {0x02, 0, 0, 0, 0, 0xa};
constexpr MacBytes station_b = {0x02, 0, 0, 0, 0, 0xb};
constexpr MacBytes station_c = {0x02, 0, 0, 0, 0, 0xc};
constexpr MacBytes broadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

Mac as_mac(const MacBytes &m) { return mac_from(m.data()); }

// An Ethernet frame; with `udp_dport` an IPv4/UDP frame from 10.0.0.1 to 10.0.0.2, else an
// experimental EtherType. The payload is a pattern from `seed`.
Frame frame(const MacBytes &dst, const MacBytes &src, uint32_t seed, int udp_dport = -1, uint32_t len = 96) {
    Frame f(len, 0);
    std::memcpy(f.data(), dst.data(), 6);
    std::memcpy(f.data() + 6, src.data(), 6);
    size_t payload = 14;
    if (udp_dport < 0) {
        f[12] = 0x88;
        f[13] = 0xb5;
    } else {
        f[12] = 0x08;
        uint8_t *ip = f.data() + 14;
        ip[0] = 0x45;
        ip[2] = uint8_t((len - 14) >> 8);
        ip[3] = uint8_t(len - 14);
        ip[8] = 64;
        ip[9] = 17;
        const uint8_t addrs[8] = {10, 0, 0, 1, 10, 0, 0, 2};
        std::memcpy(ip + 12, addrs, 8);
        uint8_t *udp = ip + 20;
        udp[0] = 0x30;
        udp[1] = 0x39; // sport 12345
        udp[2] = uint8_t(udp_dport >> 8);
        udp[3] = uint8_t(udp_dport);
        payload = 14 + 28;
    }
    uint32_t x = seed * 2654435761u + 7;
    for (size_t i = payload; i < len; ++i) {
        x = x * 1103515245u + 12345u;
        f[i] = uint8_t(x >> 16);
    }
    return f;
}

Frame from_mbuf(rte_mbuf *m) {
    Frame f(m->pkt_len);
    const void *p = rte_pktmbuf_read(m, 0, m->pkt_len, f.data());
    if (p != f.data()) {
        std::memcpy(f.data(), p, m->pkt_len);
    }
    return f;
}

// Says how many arrived and which first differs, instead of dumping bytes.
::testing::AssertionResult same(const std::vector<Frame> &got, const std::vector<Frame> &want) {
    for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
        if (got[i] != want[i]) {
            return ::testing::AssertionFailure() << "frame " << i << " of " << want.size() << " differs (" << got.size()
                                                 << " arrived)";
        }
    }
    if (got.size() != want.size()) {
        return ::testing::AssertionFailure() << got.size() << " frames arrived, " << want.size() << " expected";
    }
    return ::testing::AssertionSuccess();
}

template <class F>
bool wait_for(F &&cond, std::chrono::milliseconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!cond()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(200us);
    }
    return true;
}

// The test's side of one bridge port: it injects frames the bridge receives on that port and
// takes the frames the bridge sends out of it.
struct Side {
    virtual ~Side() = default;
    virtual bool inject(rte_mbuf *m) = 0;
    virtual uint16_t take(rte_mbuf **out, uint16_t n) = 0;
};

// A net_vhost port: its tx reaches the vpmd port's rx queue 0, its rx queues get what the
// vpmd port sends.
struct VhostSide final : Side {
    uint16_t port = RTE_MAX_ETHPORTS;
    bool inject(rte_mbuf *m) override { return rte_eth_tx_burst(port, 0, &m, 1) == 1; }
    uint16_t take(rte_mbuf **out, uint16_t n) override {
        uint16_t got = 0;
        for (uint16_t q = 0; q < queues && got < n; ++q) {
            got += rte_eth_rx_burst(port, q, out + got, uint16_t(n - got));
        }
        return got;
    }
};

// A net_ring port: rx_rings feed its rx queues, its tx queues fill tx_rings.
struct RingSide final : Side {
    rte_ring *rx[queues] = {};
    rte_ring *tx[queues] = {};
    bool inject(rte_mbuf *m) override { return rte_ring_enqueue(rx[0], m) == 0; }
    uint16_t take(rte_mbuf **out, uint16_t n) override {
        uint16_t got = 0;
        for (uint16_t q = 0; q < queues && got < n; ++q) {
            got += uint16_t(rte_ring_dequeue_burst(tx[q], reinterpret_cast<void **>(out + got), n - got, nullptr));
        }
        return got;
    }
};

class World : public ::testing::Environment {
public:
    static World *w;

    void SetUp() override {
        w = this;
        const std::string prefix = "--file-prefix=vpmd-bridge-" + std::to_string(::getpid());
        // Two workers (lcores 1 and 2) sharing the second CPU; lcore 0 is this test.
        std::vector<std::string> args = {"bridge_test", "--no-pci", "--no-huge", "-m", "512", "--no-telemetry",
                                         "--lcores", "0@0,1@1,2@1", prefix, "--log-level=lib.vhost.*:error"};
        if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
            args[7] = "0@0,1@0,2@0";
        }
        std::vector<char *> argv;
        for (auto &a : args) {
            argv.push_back(a.data());
        }
        ASSERT_GE(rte_eal_init(int(argv.size()), argv.data()), 0);
        pool = rte_pktmbuf_pool_create("bridge_test_pool", pool_size, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
        ASSERT_NE(pool, nullptr);
        for (int i = 0; i < 2; ++i) {
            const std::string sock = "/tmp/vpmd-bridge-" + std::to_string(::getpid()) + "-" + char('a' + i) + ".sock";
            sockets.push_back(sock);
            ::unlink(sock.c_str());
            const std::string vname = std::string("net_vhost_br") + char('a' + i);
            ASSERT_EQ(rte_vdev_init(vname.c_str(), ("iface=" + sock + ",queues=2").c_str()), 0);
            ASSERT_EQ(rte_eth_dev_get_port_by_name(vname.c_str(), &vhost[i].port), 0);
            auto dev = vpmd::Port::attach(vhost[i].port);
            ASSERT_TRUE(dev);
            ASSERT_TRUE(dev->configure(qc()));
            ASSERT_TRUE(dev->start());
            vpmd::PortConfig pc;
            pc.transport = vpmd::VhostUserConfig{sock};
            pc.queue_pairs = queues;
            auto p = vpmd::Port::open(pc);
            ASSERT_TRUE(p) << p.error().what;
            ASSERT_TRUE(p->is_vpmd());
            ASSERT_TRUE(p->configure(qc(true)));
            ASSERT_TRUE(p->start());
            ports.push_back(std::move(*p));
        }
        for (uint16_t q = 0; q < queues; ++q) {
            ring.rx[q] = rte_ring_create(("br_rx" + std::to_string(q)).c_str(), 1024, SOCKET_ID_ANY, 0);
            ring.tx[q] = rte_ring_create(("br_tx" + std::to_string(q)).c_str(), 1024, SOCKET_ID_ANY, 0);
            ASSERT_NE(ring.rx[q], nullptr);
            ASSERT_NE(ring.tx[q], nullptr);
        }
        const int rp = rte_eth_from_rings("net_ring_brc", ring.rx, queues, ring.tx, queues, SOCKET_ID_ANY);
        ASSERT_GE(rp, 0);
        auto c = vpmd::Port::attach(uint16_t(rp));
        ASSERT_TRUE(c);
        ASSERT_FALSE(c->is_vpmd());
        ASSERT_TRUE(c->configure(qc(true)));
        ASSERT_TRUE(c->start());
        ports.push_back(std::move(*c));
        ASSERT_TRUE(wait_for([&] {
            for (const auto &p : ports) {
                auto l = p.link();
                if (!l || !l->up) {
                    return false;
                }
            }
            return true;
        }));

        BridgeOptions bo;
        for (const auto &p : ports) {
            bo.ports.push_back(p.id());
        }
        bo.rx_queues = queues;
        bo.max_age_s = max_age;
        bo.idle = rt::IdlePolicy{.idle_rounds_before_pause = 16, .pause_us = 20}; // two lcores share a CPU
        auto rules = parse_rules("default allow", 2);
        ASSERT_TRUE(rules);
        br = std::make_unique<Bridge>(bo, rt::eal_worker_lcores(), std::move(rules.value()));
        runtime = std::make_unique<rt::Runtime>(eal);
        auto a = br->attach(*runtime);
        ASSERT_TRUE(a) << a.error();
        ASSERT_TRUE(runtime->start());
        running = true;
    }

    void TearDown() override {
        if (running) {
            runtime->stop();
            br->stopped();
        }
        for (auto &p : ports) {
            (void)p.stop();
        }
        for (int i = 0; i < 2; ++i) {
            if (vhost[i].port != RTE_MAX_ETHPORTS) {
                (void)rte_eth_dev_stop(vhost[i].port);
            }
        }
        if (pool != nullptr) {
            rte_mempool_cache_flush(rte_mempool_default_cache(pool, rte_lcore_id()), pool);
            // Everything the bridge, the drivers and the rings took is back.
            EXPECT_EQ(rte_mempool_avail_count(pool), pool_size) << "mbufs leaked";
        }
        ports.clear();
        for (const auto &s : sockets) {
            ::unlink(s.c_str());
        }
    }

    vpmd::QueueConfig qc(bool promisc = false) const {
        vpmd::QueueConfig c;
        c.rx_queues = c.tx_queues = queues;
        c.rx_ring = c.tx_ring = 256;
        c.pool = pool;
        c.promiscuous = promisc;
        return c;
    }

    Side &side(int i) { return i < 2 ? static_cast<Side &>(vhost[i]) : ring; }

    // The bridge forgets every station (its clock jumps past the age limit).
    void forget_all() {
        clock += max_age + 1;
        br->tick(clock);
    }

    rte_mempool *pool = nullptr;
    std::vector<std::string> sockets;
    VhostSide vhost[2];
    RingSide ring;
    std::vector<vpmd::Port> ports; // A, B, C
    rt::EalLauncher eal;
    std::unique_ptr<rt::Runtime> runtime;
    std::unique_ptr<Bridge> br;
    uint32_t clock = 1;
    bool running = false;
};
World *World::w = nullptr;

// Sends frames into port `from`, then a broadcast marker from `marker_src`; returns what
// came out of each port up to and including the marker there.
std::array<std::vector<Frame>, 3> exchange(int from, const std::vector<Frame> &frames, const MacBytes &marker_src) {
    World &w = *World::w;
    static uint32_t marker_seq = 0;
    const Frame marker = frame(broadcast, marker_src, 0xfeed0000u + marker_seq++);
    std::vector<Frame> all = frames;
    all.push_back(marker);
    std::array<std::vector<Frame>, 3> got;
    std::array<bool, 3> marked{};
    marked[size_t(from)] = true; // a flood never goes back where it came from
    size_t sent = 0;
    const bool ok = wait_for([&] {
        while (sent < all.size()) {
            rte_mbuf *m = rte_pktmbuf_alloc(w.pool);
            if (m == nullptr) {
                break;
            }
            std::memcpy(rte_pktmbuf_append(m, uint16_t(all[sent].size())), all[sent].data(), all[sent].size());
            if (!w.side(from).inject(m)) {
                rte_pktmbuf_free(m);
                break;
            }
            ++sent;
        }
        for (int p = 0; p < 3; ++p) {
            rte_mbuf *out[32];
            const uint16_t n = w.side(p).take(out, 32);
            for (uint16_t i = 0; i < n; ++i) {
                Frame f = from_mbuf(out[i]);
                rte_pktmbuf_free(out[i]);
                if (marked[size_t(p)]) {
                    ADD_FAILURE() << "port " << p << ": a frame after the marker";
                } else if (f == marker) {
                    marked[size_t(p)] = true;
                } else {
                    got[size_t(p)].push_back(std::move(f));
                }
            }
        }
        return marked[0] && marked[1] && marked[2];
    });
    EXPECT_TRUE(ok) << "the marker did not reach every port";
    return got;
}

TEST(Bridge, FloodsUnknownThenForwardsToTheLearnedPortOnly) {
    World &w = *World::w;
    w.forget_all();
    const BridgeTotals t0 = w.br->totals();
    // a -> b, b unknown: flooded to B and C, byte for byte.
    std::vector<Frame> ab = {frame(station_b, station_a, 1), frame(station_b, station_a, 2, -1, 1400)};
    auto got = exchange(0, ab, station_a);
    EXPECT_TRUE(same(got[1], ab));
    EXPECT_TRUE(same(got[2], ab));
    EXPECT_EQ(w.br->learned_port(as_mac(station_a)), 0);
    // b -> a from B: a was learned on A, so only A gets it; b is learned on B.
    std::vector<Frame> ba = {frame(station_a, station_b, 3)};
    got = exchange(1, ba, station_b);
    EXPECT_TRUE(same(got[0], ba));
    EXPECT_TRUE(got[2].empty()) << "a learned destination was flooded";
    // a -> b again: only B now; and c (on the ring port) -> a: only A.
    got = exchange(0, {frame(station_b, station_a, 4)}, station_a);
    EXPECT_TRUE(same(got[1], std::vector<Frame>{frame(station_b, station_a, 4)}));
    EXPECT_TRUE(got[2].empty());
    got = exchange(2, {frame(station_a, station_c, 5)}, station_c);
    EXPECT_TRUE(same(got[0], std::vector<Frame>{frame(station_a, station_c, 5)}));
    EXPECT_TRUE(got[1].empty());
    // A frame for a station on the port it came from goes nowhere.
    got = exchange(0, {frame(station_a, station_b, 6)}, station_a);
    EXPECT_TRUE(got[1].empty());
    EXPECT_TRUE(got[2].empty());
    const BridgeTotals t = w.br->totals();
    EXPECT_EQ(t.same_port - t0.same_port, 1u);
    EXPECT_EQ(t.forwarded - t0.forwarded, 3u);
}

TEST(Bridge, AStationNotSeenForTheAgeLimitIsFloodedAgain) {
    World &w = *World::w;
    w.forget_all();
    (void)exchange(1, {frame(station_a, station_b, 10)}, station_b); // learns b on B
    ASSERT_EQ(w.br->learned_port(as_mac(station_b)), 1);
    w.clock += max_age / 2;
    w.br->tick(w.clock);
    auto got = exchange(0, {frame(station_b, station_a, 11)}, station_a);
    EXPECT_TRUE(got[2].empty()) << "b was forgotten before its age";
    w.clock += max_age + 1; // b silent for longer than the limit (a spoke since)
    w.br->tick(w.clock);
    EXPECT_EQ(w.br->learned_port(as_mac(station_b)), MacTable::no_port);
    const Frame f = frame(station_b, station_a, 12);
    got = exchange(0, {f}, station_a);
    EXPECT_TRUE(same(got[1], std::vector<Frame>{f}));
    EXPECT_TRUE(same(got[2], std::vector<Frame>{f}));
}

TEST(Bridge, AclDropsDeniedFlowsAndCountsEachRule) {
    World &w = *World::w;
    w.forget_all();
    auto rules = parse_rules("deny udp any any any 53\nallow udp any any 10.0.0.2 1000-2000\ndefault allow\n", 2);
    ASSERT_TRUE(rules);
    w.br->swap_rules(std::move(rules.value()));
    (void)exchange(1, {frame(station_a, station_b, 20)}, station_b); // b on B, so no flood below
    std::vector<Frame> in, want;
    for (uint32_t i = 0; i < 30; ++i) {
        const int dport = i % 3 == 0 ? 53 : i % 3 == 1 ? 1500 : 4000;
        in.push_back(frame(station_b, station_a, 100 + i, dport));
        if (dport != 53) {
            want.push_back(in.back());
        }
    }
    const BridgeTotals t0 = w.br->totals();
    auto got = exchange(0, in, station_a);
    EXPECT_TRUE(same(got[1], want));
    EXPECT_EQ(w.br->totals().acl_denied - t0.acl_denied, 10u);
    const auto hits = w.br->rule_hits();
    ASSERT_EQ(hits.size(), 3u); // the old set's "default allow" is merged into this one's
    EXPECT_EQ(hits[0].rule, "deny udp any any any 53");
    EXPECT_EQ(hits[0].hits, 10u);
    EXPECT_EQ(hits[1].hits, 10u);
    EXPECT_EQ(hits[2].rule, "default allow");
    EXPECT_EQ(hits[2].hits, 10u) << "non-IP frames bypass the ACL; only the 10 UDP to port 4000 count";
}

// X and Y both allow P (UDP to 7000) by different rules and deny Q (UDP to 7001); a table
// with Y's first rule and X's second would deny P. Tables swap the whole time P and Q flow.
TEST(Bridge, RulesSwappedUnderTrafficNeverDropAllowedFlows) {
    World &w = *World::w;
    const char *x = "allow udp 10.0.0.1 any any 7000\ndeny udp any any any 7000\ndefault deny\n";
    const char *y = "deny udp any any any 7001\nallow udp any any any 7000\ndefault deny\n";
    (void)exchange(1, {frame(station_a, station_b, 30)}, station_b);
    w.br->swap_rules(std::move(parse_rules(x, 2).value())); // from here on only X or Y
    std::atomic<bool> done{false};
    std::atomic<uint64_t> swaps{0};
    std::thread swapper([&] {
        for (uint64_t i = 0; !done.load(); ++i) {
            auto r = parse_rules(i % 2 ? x : y, 2);
            w.br->swap_rules(std::move(r.value()));
            swaps.fetch_add(1);
        }
    });
    struct Join { // also when an ASSERT leaves early
        std::atomic<bool> &done;
        std::thread &t;
        ~Join() {
            done = true;
            t.join();
        }
    } join{done, swapper};
    auto rule_total = [&] {
        uint64_t n = 0;
        for (const auto &h : w.br->rule_hits()) {
            n += h.hits;
        }
        return n;
    };
    const uint64_t hits0 = rule_total();
    const BridgeTotals t0 = w.br->totals();
    size_t p_sent = 0, q_sent = 0;
    for (uint32_t round = 0; round < 20; ++round) {
        std::vector<Frame> in;
        for (uint32_t i = 0; i < 40; ++i) {
            const bool p = i % 4 != 3;
            in.push_back(frame(station_b, station_a, round * 100 + i, p ? 7000 : 7001));
            ++(p ? p_sent : q_sent);
        }
        const uint64_t s0 = swaps.load();
        auto got = exchange(0, in, station_a);
        std::vector<Frame> want_round;
        for (const Frame &f : in) {
            if (f[14 + 20 + 3] == uint8_t(7000 & 0xff)) {
                want_round.push_back(f);
            }
        }
        ASSERT_TRUE(same(got[1], want_round)) << "round " << round;
        ASSERT_TRUE(wait_for([&] { return swaps.load() > s0 + 2; })) << "the swapper is stuck";
    }
    done = true;
    EXPECT_EQ(w.br->totals().acl_denied - t0.acl_denied, q_sent);
    EXPECT_GE(w.br->rule_swaps(), 40u);
    EXPECT_EQ(rule_total() - hits0, p_sent + q_sent) << "every IPv4 frame is counted by one rule of some set";
}

} // namespace
} // namespace bridge

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new bridge::World);
    return RUN_ALL_TESTS();
}
