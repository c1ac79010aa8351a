// net_vpmd end to end against DPDK's vhost (net_vhost in this process): frames arrive
// byte for byte both ways for every ring variant, 4 queue pairs through the mediated
// control queue, stop/start and close/reopen with the mempool full again, a backend that
// dies, a server-mode reconnect, and bad devargs. Each ring variant runs the burst
// functions of every instruction set this CPU has (vectorized=0/avx2, auto: AVX-512 under
// a 512-bit EAL SIMD width, set at run time).
#define ALLOW_EXPERIMENTAL_API 1 // rte_vect_set_max_simd_bitwidth
extern "C" { // DPDK 22.11's rte_vect.h declares its functions without C linkage for C++
#include <rte_vect.h>
}

#include <cstdio>

#include "dataplane/ring/simd.hpp"

#include "integration/eal_env.hpp"
#include "integration/net/vpmd_harness.hpp"

using namespace vpmd::test;

namespace {

constexpr unsigned pool_size = 8191;

// One pool per test process: ports come and go, the pool must always be full again.
rte_mempool *pool() { return test_pool("vpmd_it_pool", pool_size, 256); }

// Pool fill level once the per-lcore caches are flushed back.
unsigned available() { return pool_available(pool()); }

struct Variant {
    const char *name;
    const char *args;
    bool mrg;
    vpmd::ring::Simd isa = vpmd::ring::Simd::avx512; // what vectorized= asks for (auto: the widest)
};

// The burst mode a port on `isa` reports, or nullptr when this CPU cannot run it; auto
// (no vectorized= key) falls back to the widest the CPU has.
const char *isa_mode(const char *args, vpmd::ring::Simd isa) {
    using vpmd::ring::Simd;
    const bool forced = std::string(args).find("vectorized=") != std::string::npos;
    for (Simd s : {isa, Simd::avx2, Simd::scalar}) {
        if (vpmd::ring::cpu_runs(s)) {
            return s == Simd::avx512 ? "AVX-512" : s == Simd::avx2 ? "AVX2" : "scalar";
        }
        if (forced) {
            return nullptr;
        }
    }
    return "scalar";
}

class VpmdVariants : public ::testing::TestWithParam<Variant> {};

std::vector<Frame> frames_of(std::initializer_list<uint32_t> sizes, uint32_t seed) {
    std::vector<Frame> v;
    for (uint32_t s : sizes) {
        v.push_back(make_frame(s, seed++));
    }
    return v;
}

} // namespace

TEST_P(VpmdVariants, FramesArriveByteForByteBothWays) {
    VPMD_REQUIRE_EAL();
    ASSERT_NE(pool(), nullptr);
    const char *mode = isa_mode(GetParam().args, GetParam().isa);
    if (mode == nullptr) {
        GTEST_SKIP() << "this CPU cannot run " << GetParam().args;
    }
    ASSERT_EQ(rte_vect_set_max_simd_bitwidth(RTE_VECT_SIMD_512), 0);
    const unsigned before = available();
    {
        VhostPair p(GetParam().name, GetParam().args, 1);
        ASSERT_TRUE(p.up(pool(), 0, RTE_ETH_TX_OFFLOAD_MULTI_SEGS));
        rte_eth_burst_mode rx_mode{}, tx_mode{};
        ASSERT_EQ(rte_eth_rx_burst_mode_get(p.vpmd, 0, &rx_mode), 0);
        ASSERT_EQ(rte_eth_tx_burst_mode_get(p.vpmd, 0, &tx_mode), 0);
        EXPECT_NE(std::string(rx_mode.info).find(mode), std::string::npos) << rx_mode.info;
        EXPECT_NE(std::string(tx_mode.info).find(mode), std::string::npos) << tx_mode.info;
        const auto frames = frames_of({64, 65, 128, 255, 511, 1024, 1500, 1514, 1518, 60, 1000, 64}, 7);
        EXPECT_TRUE(same_frames(transfer(pool(), p.vpmd, p.vhost, 0, frames), frames)) << "vpmd -> vhost";
        EXPECT_TRUE(same_frames(transfer(pool(), p.vhost, p.vpmd, 0, frames), frames)) << "vhost -> vpmd";
        // Multi-segment tx: 1500-byte frames in 3 segments (chained or indirect descriptors).
        const auto chained = frames_of({1500, 1500, 700}, 99);
        EXPECT_TRUE(same_frames(transfer(pool(), p.vpmd, p.vhost, 0, chained, 512), chained)) << "multi-segment vpmd -> vhost";
        // Many frames: the rings wrap several times.
        std::vector<Frame> many;
        for (uint32_t i = 0; i < 2000; ++i) {
            many.push_back(make_frame(64 + i % 1400, i));
        }
        EXPECT_TRUE(same_frames(transfer(pool(), p.vpmd, p.vhost, 0, many), many));
        EXPECT_TRUE(same_frames(transfer(pool(), p.vhost, p.vpmd, 0, many), many));
        if (GetParam().mrg) {
            const auto jumbo = frames_of({9000, 4000, 9000}, 3);
            EXPECT_TRUE(same_frames(transfer(pool(), p.vhost, p.vpmd, 0, jumbo), jumbo)) << "9000-byte frames into mbuf chains";
            EXPECT_TRUE(same_frames(transfer(pool(), p.vpmd, p.vhost, 0, jumbo), jumbo)) << "9000-byte chains out";
        }
        EXPECT_EQ(xstat(p.vpmd, "tx_q0_broken"), 0u);
        EXPECT_EQ(xstat(p.vpmd, "rx_q0_broken"), 0u);
        rte_eth_stats st{};
        ASSERT_EQ(rte_eth_stats_get(p.vpmd, &st), 0);
        EXPECT_EQ(st.ierrors, 0u);
        EXPECT_EQ(st.oerrors, 0u);
        EXPECT_GE(st.ipackets, 2012u);
    }
    EXPECT_EQ(available(), before) << "every mbuf back in the pool after close";
}

INSTANTIATE_TEST_SUITE_P(
    Rings, VpmdVariants,
    ::testing::Values(Variant{"split", "mrg_rxbuf=0", false}, Variant{"split_mrg", "mrg_rxbuf=1", true},
                      Variant{"split_inorder", "in_order=1,mrg_rxbuf=1", true},
                      Variant{"split_noindirect", "indirect=0,mrg_rxbuf=0", false},
                      Variant{"split_smallest_ring", "queue_size=16,mrg_rxbuf=0", false},
                      Variant{"packed_inorder_small_ring", "packed_vq=1,in_order=1,queue_size=24", true},
                      Variant{"packed", "packed_vq=1,mrg_rxbuf=0", false},
                      Variant{"packed_mrg", "packed_vq=1,mrg_rxbuf=1", true},
                      Variant{"packed_inorder", "packed_vq=1,in_order=1,mrg_rxbuf=1", true},
                      Variant{"split_inorder_strict_hdr", "in_order=1,mrg_rxbuf=1,strict_tx_hdr=1", true},
                      Variant{"packed_eventidx", "packed_vq=1,event_idx=1", true},
                      Variant{"split_eventidx", "event_idx=1", true},
                      // The same layouts on the other instruction sets.
                      Variant{"split_mrg_scalar", "mrg_rxbuf=1,vectorized=0", true, vpmd::ring::Simd::scalar},
                      Variant{"split_inorder_scalar", "in_order=1,mrg_rxbuf=0,vectorized=0", false,
                              vpmd::ring::Simd::scalar},
                      Variant{"packed_scalar", "packed_vq=1,mrg_rxbuf=0,vectorized=0", false, vpmd::ring::Simd::scalar},
                      Variant{"packed_inorder_scalar", "packed_vq=1,in_order=1,mrg_rxbuf=1,vectorized=0", true,
                              vpmd::ring::Simd::scalar},
                      Variant{"split_mrg_avx2", "mrg_rxbuf=1,vectorized=avx2", true, vpmd::ring::Simd::avx2},
                      Variant{"split_inorder_avx2", "in_order=1,mrg_rxbuf=0,vectorized=avx2", false,
                              vpmd::ring::Simd::avx2},
                      Variant{"packed_avx2", "packed_vq=1,mrg_rxbuf=0,vectorized=avx2", false, vpmd::ring::Simd::avx2},
                      Variant{"packed_inorder_avx2", "packed_vq=1,in_order=1,mrg_rxbuf=1,vectorized=avx2", true,
                              vpmd::ring::Simd::avx2}),
    [](const auto &info) { return std::string(info.param.name); });

// Refills take mbufs straight from the pool (no rte_pktmbuf_reset): what an application
// left in an mbuf before freeing it must not reach the next receiver.
TEST(Vpmd, ReceivedMbufsCarryNothingFromTheirLastUse) {
    VPMD_REQUIRE_EAL();
    std::vector<rte_mbuf *> all;
    for (rte_mbuf *m; (m = rte_pktmbuf_alloc(pool())) != nullptr;) {
        all.push_back(m);
    }
    for (rte_mbuf *m : all) {
        m->ol_flags = RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED | RTE_MBUF_F_RX_L4_CKSUM_BAD;
        m->packet_type = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L4_TCP;
        m->vlan_tci = 0x123;
        m->data_off = 0;
        m->port = 77;
        m->data_len = 7;
        m->pkt_len = 7;
    }
    rte_pktmbuf_free_bulk(all.data(), unsigned(all.size()));
    const unsigned before = available();
    {
        VhostPair p("dirty", "mrg_rxbuf=0", 1);
        ASSERT_TRUE(p.up(pool()));
        const auto frames = frames_of({64, 128, 1500, 64, 60, 1000, 64, 64}, 5);
        for (const Frame &f : frames) {
            rte_mbuf *m = to_mbuf(pool(), f);
            ASSERT_NE(m, nullptr);
            ASSERT_EQ(rte_eth_tx_burst(p.vhost, 0, &m, 1), 1);
        }
        std::vector<rte_mbuf *> got;
        ASSERT_TRUE(wait_for([&] {
            rte_mbuf *out[32];
            const uint16_t n = rte_eth_rx_burst(p.vpmd, 0, out, 32);
            got.insert(got.end(), out, out + n);
            return got.size() >= frames.size();
        }));
        ASSERT_EQ(got.size(), frames.size());
        for (size_t i = 0; i < got.size(); ++i) {
            const rte_mbuf *m = got[i];
            EXPECT_EQ(from_mbuf(m), frames[i]) << i;
            EXPECT_EQ(m->data_off, RTE_PKTMBUF_HEADROOM) << i;
            EXPECT_EQ(m->port, p.vpmd) << i;
            EXPECT_EQ(m->ol_flags, 0u) << i;
            EXPECT_EQ(m->packet_type, 0u) << i;
            EXPECT_EQ(m->vlan_tci, 0u) << i;
            EXPECT_EQ(m->nb_segs, 1u) << i;
            EXPECT_EQ(m->next, nullptr) << i;
            EXPECT_EQ(rte_mbuf_refcnt_read(m), 1u) << i;
        }
        rte_pktmbuf_free_bulk(got.data(), unsigned(got.size()));
    }
    EXPECT_EQ(available(), before);
}

TEST(Vpmd, FourQueuePairsThroughTheControlQueue) {
    VPMD_REQUIRE_EAL();
    VhostPair p("mq", "", 4);
    ASSERT_TRUE(p.up(pool()));
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(p.vpmd, &info), 0);
    EXPECT_GE(info.max_rx_queues, 4);
    for (uint16_t q = 0; q < 4; ++q) {
        const auto frames = frames_of({64, 300, 1500}, q * 10);
        EXPECT_TRUE(same_frames(transfer(pool(), p.vpmd, p.vhost, q, frames), frames)) << "queue " << q << " out";
        EXPECT_TRUE(same_frames(transfer(pool(), p.vhost, p.vpmd, q, frames), frames)) << "queue " << q << " in";
    }
    // The pairs went through the mediated control queue.
    int n = rte_eth_xstats_get_names(p.vpmd, nullptr, 0);
    ASSERT_GT(n, 0);
    std::vector<rte_eth_xstat_name> names(n);
    std::vector<rte_eth_xstat> vals(n);
    ASSERT_EQ(rte_eth_xstats_get_names(p.vpmd, names.data(), n), n);
    ASSERT_EQ(rte_eth_xstats_get(p.vpmd, vals.data(), n), n);
    uint64_t cq_ok = 0;
    for (int i = 0; i < n; ++i) {
        if (std::string(names[i].name) == "cq_commands_ok") {
            cq_ok = vals[i].value;
        }
    }
    EXPECT_GE(cq_ok, 1u);
}

TEST(Vpmd, StopStartAndCloseReopenKeepThePoolFull) {
    VPMD_REQUIRE_EAL();
    const unsigned before = available();
    VhostPair p("cycles", "", 1);
    ASSERT_TRUE(p.up(pool()));
    for (int cycle = 0; cycle < 3; ++cycle) {
        const auto frames = frames_of({64, 1000}, cycle);
        ASSERT_TRUE(same_frames(transfer(pool(), p.vpmd, p.vhost, 0, frames), frames)) << "cycle " << cycle;
        ASSERT_TRUE(same_frames(transfer(pool(), p.vhost, p.vpmd, 0, frames), frames)) << "cycle " << cycle;
        ASSERT_EQ(rte_eth_dev_stop(p.vpmd), 0);
        // The vhost port still holds its own posted nothing: only ours were posted.
        EXPECT_EQ(available(), before) << "after stop, cycle " << cycle;
        rte_mbuf *m = nullptr;
        EXPECT_EQ(rte_eth_rx_burst(p.vpmd, 0, &m, 1), 0) << "a stopped port returns nothing";
        ASSERT_EQ(rte_eth_dev_start(p.vpmd), 0);
        ASSERT_TRUE(wait_for([&] { return link_is(p.vpmd, true) && link_is(p.vhost, true); }));
    }
    // rte_eth_dev_reset: the backend is reset and renegotiated; the port is set up again.
    ASSERT_EQ(rte_eth_dev_reset(p.vpmd), 0);
    EXPECT_EQ(available(), before) << "after reset";
    ASSERT_EQ(p.start_vpmd(pool()), 0);
    ASSERT_TRUE(wait_for([&] { return link_is(p.vpmd, true) && link_is(p.vhost, true); }));
    {
        const auto frames = frames_of({64, 900}, 77);
        EXPECT_TRUE(same_frames(transfer(pool(), p.vpmd, p.vhost, 0, frames), frames)) << "after reset";
        EXPECT_TRUE(same_frames(transfer(pool(), p.vhost, p.vpmd, 0, frames), frames)) << "after reset";
    }
    // A reset talks to a live backend: the watcher must not take it for a lost one.
    EXPECT_EQ(xstat(p.vpmd, "backend_losses"), 0u);
    EXPECT_EQ(xstat(p.vpmd, "reconnects"), 0u);
    for (int cycle = 0; cycle < 2; ++cycle) {
        p.close_vpmd();
        EXPECT_EQ(available(), before) << "after close, cycle " << cycle;
        ASSERT_EQ(p.probe_vpmd(), 0);
        ASSERT_EQ(p.start_vpmd(pool()), 0);
        ASSERT_TRUE(wait_for([&] { return link_is(p.vpmd, true) && link_is(p.vhost, true); }));
        const auto frames = frames_of({128, 1400}, 50 + cycle);
        EXPECT_TRUE(same_frames(transfer(pool(), p.vpmd, p.vhost, 0, frames), frames)) << "reopen " << cycle;
        EXPECT_TRUE(same_frames(transfer(pool(), p.vhost, p.vpmd, 0, frames), frames)) << "reopen " << cycle;
    }
}

// Tx reclaims late (only when the ring runs short), so sent mbufs wait in the ring;
// rte_eth_tx_done_cleanup hands back exactly what the device has finished with.
TEST(Vpmd, TxDoneCleanupReturnsWhatTheDeviceFinished) {
    VPMD_REQUIRE_EAL();
    VhostPair p("cleanup", "", 1);
    ASSERT_TRUE(p.up(pool()));
    const auto frames = frames_of({64, 128, 256, 512, 1024, 64, 64, 64, 64, 64}, 5);
    for (const Frame &f : frames) {
        rte_mbuf *m = to_mbuf(pool(), f, 2048);
        ASSERT_NE(m, nullptr);
        ASSERT_EQ(rte_eth_tx_burst(p.vpmd, 0, &m, 1), 1);
    }
    std::vector<Frame> got;
    ASSERT_TRUE(wait_for([&] {
        rte_mbuf *rx[32];
        const uint16_t n = rte_eth_rx_burst(p.vhost, 0, rx, 32);
        for (uint16_t i = 0; i < n; ++i) {
            got.push_back(from_mbuf(rx[i]));
            rte_pktmbuf_free(rx[i]);
        }
        return got.size() >= frames.size();
    }));
    EXPECT_TRUE(same_frames(got, frames));
    const unsigned held = available();
    EXPECT_EQ(rte_eth_tx_done_cleanup(p.vpmd, 0, 4), 4);
    EXPECT_EQ(available(), held + 4);
    EXPECT_EQ(rte_eth_tx_done_cleanup(p.vpmd, 0, 0), int(frames.size()) - 4);
    EXPECT_EQ(available(), held + frames.size());
    EXPECT_EQ(rte_eth_tx_done_cleanup(p.vpmd, 0, 0), 0) << "nothing left to free";
    EXPECT_EQ(rte_eth_tx_done_cleanup(p.vpmd, 5, 0), -EINVAL) << "a queue never set up";
}

TEST(Vpmd, BackendLossSetsLinkDownAndLosesNoMbuf) {
    VPMD_REQUIRE_EAL();
    const unsigned before = available();
    VhostPair p("loss", "", 1);
    ASSERT_TRUE(p.up(pool()));
    const auto frames = frames_of({64, 512}, 1);
    ASSERT_TRUE(same_frames(transfer(pool(), p.vpmd, p.vhost, 0, frames), frames));
    // Frames in flight towards a device that is about to vanish.
    for (int i = 0; i < 50; ++i) {
        rte_mbuf *m = to_mbuf(pool(), make_frame(100, i));
        if (rte_eth_tx_burst(p.vpmd, 0, &m, 1) != 1) {
            rte_pktmbuf_free(m);
        }
    }
    p.close_vhost();
    ASSERT_TRUE(wait_for([&] { return link_is(p.vpmd, false); })) << "link must go down";
    // The port keeps answering: bursts, stats, info, link.
    rte_mbuf *rx[8];
    EXPECT_EQ(rte_eth_rx_burst(p.vpmd, 0, rx, 8), 0);
    rte_mbuf *m = to_mbuf(pool(), make_frame(64, 1));
    if (rte_eth_tx_burst(p.vpmd, 0, &m, 1) == 0) {
        rte_pktmbuf_free(m);
    }
    rte_eth_stats st{};
    EXPECT_EQ(rte_eth_stats_get(p.vpmd, &st), 0);
    rte_eth_dev_info info{};
    EXPECT_EQ(rte_eth_dev_info_get(p.vpmd, &info), 0);
    p.close_vpmd();
    EXPECT_EQ(available(), before) << "mbufs posted to the dead backend came back";
}

TEST(Vpmd, ServerModeBackendRestartResumesTraffic) {
    VPMD_REQUIRE_EAL();
    const unsigned before = available();
    {
        VhostPair p("server", "", 1, /*vpmd_server=*/true);
        ASSERT_TRUE(p.up(pool()));
        auto frames = frames_of({64, 1200}, 5);
        ASSERT_TRUE(same_frames(transfer(pool(), p.vpmd, p.vhost, 0, frames), frames));
        for (int round = 0; round < 2; ++round) {
            p.close_vhost();
            ASSERT_TRUE(wait_for([&] { return link_is(p.vpmd, false); })) << "round " << round;
            ASSERT_EQ(p.start_vhost(pool()), 0);
            ASSERT_TRUE(wait_for([&] { return link_is(p.vpmd, true) && link_is(p.vhost, true); }))
                << "backend reconnected, round " << round;
            frames = frames_of({64, 700, 1500}, 20 + round);
            EXPECT_TRUE(same_frames(transfer(pool(), p.vpmd, p.vhost, 0, frames), frames)) << "after reconnect " << round;
            EXPECT_TRUE(same_frames(transfer(pool(), p.vhost, p.vpmd, 0, frames), frames)) << "after reconnect " << round;
        }
    }
    EXPECT_EQ(available(), before);
}

TEST(Vpmd, BadDevargsFailTheProbeWithOneClearLine) {
    VPMD_REQUIRE_EAL();
    struct Case {
        const char *args;
        const char *expect;
    } cases[] = {
        {"path=/tmp/x,queues=0", "'queues'"},
        {"path=/tmp/x,packed_vq=7", "'packed_vq'"},
        {"path=/tmp/x,frobnicate=1", "unknown devarg 'frobnicate'"},
        {"queues=2", "'path' is required"},
        {"path=/tmp/vpmd-it-nobody-listens.sock", "cannot reach the vhost-user device"},
        {"path=/tmp/x,vectorized=sse9", "'vectorized'"},
        // Under EAL's default 256-bit SIMD width (set below), AVX-512 is not allowed.
        {"path=/tmp/x,vectorized=avx512",
         vpmd::ring::cpu_runs(vpmd::ring::Simd::avx512) ? "--force-max-simd-bitwidth=512" : "lacks AVX-512"},
    };
    ASSERT_EQ(rte_vect_set_max_simd_bitwidth(RTE_VECT_SIMD_256), 0);
    for (const auto &c : cases) {
        char *buf = nullptr;
        size_t len = 0;
        FILE *log = open_memstream(&buf, &len);
        FILE *old = rte_log_get_stream();
        rte_openlog_stream(log);
        const int rc = rte_vdev_init("net_vpmd_bad", c.args);
        rte_openlog_stream(old);
        fclose(log);
        const std::string text(buf, len);
        free(buf);
        EXPECT_NE(rc, 0) << c.args;
        EXPECT_NE(text.find(c.expect), std::string::npos) << c.args << " logged: " << text;
        uint16_t port;
        EXPECT_FALSE(port_by_name("net_vpmd_bad", port)) << "no port left behind";
    }
}
