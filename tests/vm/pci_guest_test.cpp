// Runs inside the QEMU guest of tests/vm/run.sh: net_vpmd_pci on vfio-bound virtio-net PCI
// functions behind an emulated IOMMU. The guest has two pairs of functions, each pair wired
// back to back by the host (split ring, then packed=on); frames cross each pair both ways
// byte for byte, through stop/start (no mbuf lost) and a device reset.
// The fifth function has two queue pairs (mq=on) on a host backend that sends every frame
// back on the queue it came in: both pairs must carry traffic, which the device allows only
// after the MQ command reached it through the shadow control queue.
// A sixth function, where the host could make a tap, has two queue pairs on it: the host
// sends every frame back and the tap returns it on the queue it came in on.
// Usage: vpmd_vm_pci_test BDF_SPLIT_A BDF_SPLIT_B BDF_PACKED_A BDF_PACKED_B BDF_MQ [BDF_TAP]
#define ALLOW_EXPERIMENTAL_API // rte_epoll_wait
#include <gtest/gtest.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_mbuf.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "net/vpmd_harness.hpp"

namespace vpmd::test {
namespace {

std::vector<std::string> g_bdfs;
rte_mempool *g_pool = nullptr;
std::string g_probe_log; // what the drivers logged while EAL probed the devices

uint16_t port_of(const std::string &bdf) {
    uint16_t p = RTE_MAX_ETHPORTS;
    EXPECT_EQ(rte_eth_dev_get_port_by_name(bdf.c_str(), &p), 0) << bdf << " was not probed by net_vpmd_pci";
    return p;
}

std::vector<Frame> frames(uint32_t seed) {
    std::vector<Frame> v;
    for (uint32_t i = 0; i < 48; ++i) {
        v.push_back(make_frame(60 + (i * 131) % 1455, seed + i));
    }
    return v;
}

struct Pair {
    const char *name;
    size_t first; // index into g_bdfs
};

class PciPair : public ::testing::TestWithParam<Pair> {
protected:
    void SetUp() override {
        ASSERT_GE(g_bdfs.size(), GetParam().first + 2);
        a = port_of(g_bdfs[GetParam().first]);
        b = port_of(g_bdfs[GetParam().first + 1]);
        ASSERT_LT(a, RTE_MAX_ETHPORTS);
        ASSERT_LT(b, RTE_MAX_ETHPORTS);
        rte_eth_dev_info info{};
        ASSERT_EQ(rte_eth_dev_info_get(a, &info), 0);
        ASSERT_STREQ(info.driver_name, "net_vpmd_pci");
    }
    void bring_up() {
        for (uint16_t p : {a, b}) {
            ASSERT_EQ(configure_port(p, 1, g_pool), 0);
            ASSERT_EQ(rte_eth_dev_start(p), 0);
        }
        ASSERT_TRUE(wait_for([&] { return link_is(a, true) && link_is(b, true); }));
    }
    void both_ways(uint32_t seed) {
        const auto fa = frames(seed);
        ASSERT_TRUE(same_frames(transfer(g_pool, a, b, 0, fa), fa)) << "a -> b";
        const auto fb = frames(seed + 1000);
        ASSERT_TRUE(same_frames(transfer(g_pool, b, a, 0, fb, 512), fb)) << "b -> a, chained";
    }
    void stop_both() {
        ASSERT_EQ(rte_eth_dev_stop(a), 0);
        ASSERT_EQ(rte_eth_dev_stop(b), 0);
    }
    uint16_t a = RTE_MAX_ETHPORTS, b = RTE_MAX_ETHPORTS;
};

TEST_P(PciPair, FramesCrossBothWaysByteForByte) {
    const unsigned before = pool_available(g_pool);
    ASSERT_NO_FATAL_FAILURE(bring_up());
    ASSERT_NO_FATAL_FAILURE(both_ways(1));
    ASSERT_NO_FATAL_FAILURE(stop_both());
    EXPECT_EQ(pool_available(g_pool), before) << "mbufs lost at stop";
    // Started again (the device went through reset at stop): traffic flows again.
    ASSERT_EQ(rte_eth_dev_start(a), 0);
    ASSERT_EQ(rte_eth_dev_start(b), 0);
    ASSERT_NO_FATAL_FAILURE(both_ways(2));
    ASSERT_NO_FATAL_FAILURE(stop_both());
    EXPECT_EQ(pool_available(g_pool), before) << "mbufs lost at the second stop";
}

TEST_P(PciPair, DeviceResetThenTrafficAgain) {
    ASSERT_NO_FATAL_FAILURE(bring_up());
    ASSERT_NO_FATAL_FAILURE(stop_both());
    ASSERT_EQ(rte_eth_dev_reset(a), 0);
    ASSERT_NO_FATAL_FAILURE(bring_up());
    ASSERT_NO_FATAL_FAILURE(both_ways(3));
    ASSERT_NO_FATAL_FAILURE(stop_both());
}

// The mediated control queue relays to the device's own (shadow control queue): with
// promiscuous mode off, the device itself drops frames for a foreign MAC (they never reach
// our rx path, whose software filter would count them in imissed), lets frames for the
// port's MAC through, and keeps doing so after a stop/start and after device resets.
TEST_P(PciPair, RxModeIsRelayedToTheDeviceAndSurvivesItsReset) {
    ASSERT_NO_FATAL_FAILURE(bring_up());
    rte_ether_addr mac_b{};
    ASSERT_EQ(rte_eth_macaddr_get(b, &mac_b), 0);
    auto to = [](std::vector<Frame> v, const uint8_t *dst) {
        for (auto &f : v) {
            std::memcpy(f.data(), dst, 6);
        }
        return v;
    };
    const uint8_t foreign[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    ASSERT_EQ(rte_eth_promiscuous_disable(b), 0);
    for (int round = 0; round < 3; ++round) {
        ASSERT_EQ(rte_eth_stats_reset(b), 0);
        const auto lost = to(frames(10 + round), foreign);
        EXPECT_TRUE(transfer(g_pool, a, b, 0, lost, 2048, std::chrono::milliseconds(1500)).empty())
            << "round " << round << ": frames for a foreign MAC reached a non-promiscuous port";
        rte_eth_stats st{};
        ASSERT_EQ(rte_eth_stats_get(b, &st), 0);
        EXPECT_EQ(st.imissed, 0u) << "round " << round << ": the software filter dropped them, not the device";
        const auto mine = to(frames(20 + round), mac_b.addr_bytes);
        ASSERT_TRUE(same_frames(transfer(g_pool, a, b, 0, mine), mine)) << "round " << round;
        // Round 0 ends with a stop/start (with RING_RESET only the queues are reset), rounds 1
        // and 2 with a device reset, after which the device has forgotten its RX mode and is
        // told again through the relay (ethdev restores it at start; the transport replays
        // what it holds after DRIVER_OK).
        ASSERT_NO_FATAL_FAILURE(stop_both());
        if (round == 0) {
            ASSERT_EQ(rte_eth_dev_start(a), 0);
            ASSERT_EQ(rte_eth_dev_start(b), 0);
            ASSERT_TRUE(wait_for([&] { return link_is(a, true) && link_is(b, true); }));
        } else {
            ASSERT_EQ(rte_eth_dev_reset(b), 0);
            ASSERT_NO_FATAL_FAILURE(bring_up());
        }
    }
    ASSERT_EQ(rte_eth_promiscuous_enable(b), 0);
    const auto any = to(frames(30), foreign);
    ASSERT_TRUE(same_frames(transfer(g_pool, a, b, 0, any), any)) << "promiscuous again: everything arrives";
    ASSERT_NO_FATAL_FAILURE(stop_both());
}

// Takes the events already pending on this thread's epoll set.
void flush_events() {
    rte_epoll_event ev[4];
    while (rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, 4, 0) > 0) {
    }
}

// Rx interrupts over MSI-X (VFIO): a power-aware loop as l3fwd-power runs it (poll; when
// empty, enable the queue's interrupt, sleep in rte_epoll_wait, disable, poll again) on b,
// while a thread sends from a in bursts with pauses. Every sleep must end by the interrupt
// (a timeout means a lost wakeup), and every frame arrives, in order, byte for byte.
TEST_P(PciPair, PowerAwareLoopSleepsOnMsixAndLosesNothing) {
    const unsigned before = pool_available(g_pool);
    ASSERT_EQ(configure_port(a, 1, g_pool), 0);
    ASSERT_EQ(configure_port(b, 1, g_pool, 256, 0, 0, true), 0);
    ASSERT_EQ(rte_eth_dev_start(a), 0);
    ASSERT_EQ(rte_eth_dev_start(b), 0);
    ASSERT_TRUE(wait_for([&] { return link_is(a, true) && link_is(b, true); }));
    ASSERT_EQ(rte_eth_dev_rx_intr_ctl_q(b, 0, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_ADD, nullptr), 0);
    rte_epoll_event ev[1];
    flush_events();
    ASSERT_EQ(rte_eth_dev_rx_intr_enable(b, 0), 0);
    if (rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, 1, 300) != 0) {
        rte_mbuf *rx[32];
        const uint16_t n = rte_eth_rx_burst(b, 0, rx, 32);
        rte_eth_stats st{};
        rte_eth_stats_get(b, &st);
        ADD_FAILURE() << "woken with no traffic; " << n << " frames waiting, first len " << (n ? rx[0]->pkt_len : 0)
                      << " ipackets " << st.ipackets << " imissed " << st.imissed << " ierrors " << st.ierrors;
        rte_pktmbuf_free_bulk(rx, n);
    }
    ASSERT_EQ(rte_eth_dev_rx_intr_disable(b, 0), 0);
    std::vector<Frame> sent;
    for (uint32_t i = 0; i < 160; ++i) {
        sent.push_back(make_frame(60 + (i * 37) % 1400, 500 + i));
    }
    std::atomic<bool> stop{false};
    std::thread sender([&] {
        for (size_t at = 0; at < sent.size() && !stop.load(); at += 16) {
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
            if (!send_all(g_pool, a, 0, sent.data() + at, 16, &stop)) {
                ADD_FAILURE() << "the pool ran dry";
                return;
            }
        }
    });
    std::vector<Frame> got;
    unsigned wakeups = 0, timeouts = 0;
    rte_mbuf *rx[32];
    while (got.size() < sent.size() && timeouts == 0) {
        const uint16_t n = rte_eth_rx_burst(b, 0, rx, 32);
        for (uint16_t i = 0; i < n; ++i) {
            got.push_back(from_mbuf(rx[i]));
            rte_pktmbuf_free(rx[i]);
        }
        if (n != 0) {
            continue;
        }
        EXPECT_EQ(rte_eth_dev_rx_intr_enable(b, 0), 0);
        if (rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, 1, 10000) == 1) {
            ++wakeups;
        } else {
            ++timeouts;
        }
        EXPECT_EQ(rte_eth_dev_rx_intr_disable(b, 0), 0);
    }
    stop.store(true);
    sender.join();
    EXPECT_EQ(timeouts, 0u) << "slept through traffic: the MSI-X vector did not reach the eventfd";
    EXPECT_GE(wakeups, 1u);
    EXPECT_TRUE(same_frames(got, sent));
    ASSERT_EQ(rte_eth_dev_rx_intr_ctl_q(b, 0, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_DEL, nullptr), 0);
    ASSERT_NO_FATAL_FAILURE(stop_both());
    ASSERT_EQ(configure_port(b, 1, g_pool), 0); // poll mode again for the tests after this one
    EXPECT_EQ(pool_available(g_pool), before) << "mbufs lost";
}

INSTANTIATE_TEST_SUITE_P(Rings, PciPair, ::testing::Values(Pair{"split", 0}, Pair{"packed", 2}),
                         [](const auto &info) { return std::string(info.param.name); });

// dma=own on the first function: its data queues are on a VFIO container of its own
// (IOVA = VA), its peer's on EAL's (IOVA); the byte-for-byte tests above crossed both.
TEST(PciDma, EachFunctionSaysWhichContainerItsQueuesUse) {
    ASSERT_GE(g_bdfs.size(), 2u);
    auto line_of = [](const std::string &bdf) {
        const size_t at = g_probe_log.find(bdf + ": virtio-pci");
        return at == std::string::npos ? std::string() : g_probe_log.substr(at, g_probe_log.find('\n', at) - at);
    };
    EXPECT_NE(line_of(g_bdfs[0]).find("DMA device own-vfio (va)"), std::string::npos) << line_of(g_bdfs[0]);
    EXPECT_NE(line_of(g_bdfs[1]).find("DMA device eal-vfio (iova)"), std::string::npos) << line_of(g_bdfs[1]);
}

// The second function's device says its MTU (QEMU host_mtu=1500, VIRTIO_NET_F_MTU): the
// port takes no larger one.
TEST(PciDeviceConfig, TheDevicesMtuLimitsThePort) {
    ASSERT_GE(g_bdfs.size(), 2u);
    const uint16_t b = port_of(g_bdfs[1]);
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(b, &info), 0);
    EXPECT_EQ(info.max_mtu, 1500);
    EXPECT_NE(rte_eth_dev_set_mtu(b, 1600), 0);
    EXPECT_EQ(rte_eth_dev_set_mtu(b, 1400), 0);
    EXPECT_EQ(rte_eth_dev_set_mtu(b, 1500), 0);
    rte_eth_dev_info other{};
    ASSERT_EQ(rte_eth_dev_info_get(port_of(g_bdfs[0]), &other), 0);
    EXPECT_GT(other.max_mtu, 1500) << "a device without F_MTU keeps the PMD's own limit";
}

uint64_t eal_memory_bytes() {
    uint64_t total = 0;
    rte_memseg_walk([](const rte_memseg_list *, const rte_memseg *ms, void *arg) {
        *static_cast<uint64_t *>(arg) += ms->len;
        return 0;
    }, &total);
    return total;
}

// Memory EAL adds after the probe (a new mempool) must be mapped into the own container
// too, or the device faults on every buffer from it.
TEST(PciDma, MemoryAddedLaterIsReachableThroughTheOwnContainer) {
    ASSERT_GE(g_bdfs.size(), 2u);
    const uint16_t a = port_of(g_bdfs[0]), b = port_of(g_bdfs[1]);
    const uint64_t before = eal_memory_bytes();
    rte_mempool *late = rte_pktmbuf_pool_create("vm_late_pool", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(late, nullptr);
    ASSERT_GT(eal_memory_bytes(), before) << "the new pool did not make EAL allocate memory: no test";
    // a (own container) receives into and sends from the new memory.
    ASSERT_EQ(configure_port(a, 1, late), 0);
    ASSERT_EQ(configure_port(b, 1, g_pool), 0);
    ASSERT_EQ(rte_eth_dev_start(a), 0);
    ASSERT_EQ(rte_eth_dev_start(b), 0);
    ASSERT_TRUE(wait_for([&] { return link_is(a, true) && link_is(b, true); }));
    const auto out = frames(60);
    EXPECT_TRUE(same_frames(transfer(late, a, b, 0, out), out)) << "sent from memory added later";
    const auto in = frames(70);
    EXPECT_TRUE(same_frames(transfer(g_pool, b, a, 0, in), in)) << "received into memory added later";
    ASSERT_EQ(rte_eth_dev_stop(a), 0);
    ASSERT_EQ(rte_eth_dev_stop(b), 0);
    ASSERT_EQ(configure_port(a, 1, g_pool), 0); // the other tests use the first pool
}

TEST(PciMultiQueue, BothQueuePairsCarryTrafficAfterTheMqCommand) {
    ASSERT_GE(g_bdfs.size(), 5u);
    const uint16_t p = port_of(g_bdfs[4]);
    ASSERT_LT(p, RTE_MAX_ETHPORTS);
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(p, &info), 0);
    ASSERT_GE(info.max_rx_queues, 2) << "the device's two queue pairs were not negotiated";
    const unsigned before = pool_available(g_pool);
    ASSERT_EQ(configure_port(p, 2, g_pool), 0);
    ASSERT_EQ(rte_eth_dev_start(p), 0);
    ASSERT_TRUE(wait_for([&] { return link_is(p, true); }));
    for (uint16_t q : {uint16_t(1), uint16_t(0)}) {
        const auto f = frames(40 + q);
        ASSERT_TRUE(same_frames(transfer(g_pool, p, p, q, f), f)) << "queue pair " << q;
    }
    ASSERT_EQ(rte_eth_dev_stop(p), 0);
    EXPECT_EQ(pool_available(g_pool), before) << "mbufs lost at stop";
    // Started again (queues reset), then after a device reset: the MQ setting holds, then
    // is replayed.
    ASSERT_EQ(rte_eth_dev_start(p), 0);
    ASSERT_TRUE(wait_for([&] { return link_is(p, true); }));
    const auto f = frames(50);
    ASSERT_TRUE(same_frames(transfer(g_pool, p, p, 1, f), f)) << "queue pair 1 after a stop/start";
    ASSERT_EQ(rte_eth_dev_stop(p), 0);
    ASSERT_EQ(rte_eth_dev_reset(p), 0);
    ASSERT_EQ(configure_port(p, 2, g_pool), 0);
    ASSERT_EQ(rte_eth_dev_start(p), 0);
    ASSERT_TRUE(wait_for([&] { return link_is(p, true); }));
    const auto g = frames(55);
    ASSERT_TRUE(same_frames(transfer(g_pool, p, p, 1, g), g)) << "queue pair 1 after a device reset";
    ASSERT_EQ(rte_eth_dev_stop(p), 0);
}

// Each rx queue has its own MSI-X vector: with both queues of a two-pair function asleep in
// one epoll set, traffic on queue q wakes the sleeper with queue q's event. The
// function is the tap one (the host reflects each frame, and the tap returns it on the
// queue it came from): QEMU under TCG cannot unmask a vhost-user device's vectors.
TEST(PciMultiQueue, EachRxQueueWakesOnItsOwnMsixVector) {
    if (g_bdfs.size() < 6) {
        GTEST_SKIP() << "no multi-queue tap function: the host could not make a tap (needs root, /dev/net/tun)";
    }
    const uint16_t p = port_of(g_bdfs[5]);
    ASSERT_LT(p, RTE_MAX_ETHPORTS);
    ASSERT_EQ(configure_port(p, 2, g_pool, 256, 0, 0, true), 0);
    ASSERT_EQ(rte_eth_dev_start(p), 0);
    ASSERT_TRUE(wait_for([&] { return link_is(p, true); }));
    static int tags[2];
    for (uint16_t q = 0; q < 2; ++q) {
        ASSERT_EQ(rte_eth_dev_rx_intr_ctl_q(p, q, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_ADD, &tags[q]), 0);
    }
    for (uint16_t q : {uint16_t(1), uint16_t(0), uint16_t(1)}) {
        // A burst may be signalled more than once (the device completes buffers while the
        // sleeper wakes): the events left from the last round are not this round's.
        flush_events();
        ASSERT_EQ(rte_eth_dev_rx_intr_enable(p, 0), 0);
        ASSERT_EQ(rte_eth_dev_rx_intr_enable(p, 1), 0);
        const auto f = frames(60 + q);
        uint16_t sent = 0;
        for (const Frame &fr : f) {
            rte_mbuf *m = to_mbuf(g_pool, fr);
            ASSERT_NE(m, nullptr);
            if (rte_eth_tx_burst(p, q, &m, 1) == 1) {
                ++sent;
            } else {
                rte_pktmbuf_free(m);
            }
        }
        ASSERT_GT(sent, 0);
        unsigned mine = 0, other = 0;
        const auto wake_by = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (mine == 0 && std::chrono::steady_clock::now() < wake_by) {
            rte_epoll_event ev[2];
            const int n = rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, 2, 1000);
            for (int i = 0; i < n; ++i) {
                ++(ev[i].epdata.data == &tags[q] ? mine : other);
            }
        }
        // The other queue's eventfd may still hear the last round's burst (its last signal
        // can trail the used ring the poll saw); this queue's must hear this one.
        EXPECT_GE(mine, 1u) << "traffic on queue " << q << " did not wake it (the other queue woke " << other
                            << " times)";
        ASSERT_EQ(rte_eth_dev_rx_intr_disable(p, 0), 0);
        ASSERT_EQ(rte_eth_dev_rx_intr_disable(p, 1), 0);
        uint16_t got = 0;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        rte_mbuf *rx[32];
        while (got < sent && std::chrono::steady_clock::now() < until) {
            const uint16_t k = rte_eth_rx_burst(p, q, rx, 32);
            got = uint16_t(got + k);
            rte_pktmbuf_free_bulk(rx, k);
        }
        EXPECT_EQ(got, sent) << "queue " << q;
    }
    for (uint16_t q = 0; q < 2; ++q) {
        ASSERT_EQ(rte_eth_dev_rx_intr_ctl_q(p, q, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_DEL, &tags[q]), 0);
    }
    ASSERT_EQ(rte_eth_dev_stop(p), 0);
}

} // namespace
} // namespace vpmd::test

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    std::vector<std::string> eal = {"vpmd_vm_pci_test", "-l", "0-1", "-n", "1", "--file-prefix", "vpmdvm"};
    for (int i = 1; i < argc; ++i) {
        vpmd::test::g_bdfs.emplace_back(argv[i]);
        // The second pair is the packed one; the fifth and sixth functions have two queue pairs. The
        // first function's queues live in a VFIO container of their own (IOVA = VA), its
        // peer's in EAL's: every frame of the split pair crosses both IOMMU domains.
        const char *extra = i >= 5 ? ",queues=2" : i >= 3 ? ",packed_vq=1" : i == 1 ? ",dma=own" : "";
        eal.insert(eal.end(), {"-a", argv[i] + std::string(extra)});
    }
    eal.insert(eal.end(), {"--log-level", "pmd.net.vpmd:info"});
    std::vector<char *> args;
    for (auto &s : eal) {
        args.push_back(s.data());
    }
    char *buf = nullptr;
    size_t len = 0;
    FILE *log = open_memstream(&buf, &len);
    rte_openlog_stream(log);
    const int eal_rc = rte_eal_init(int(args.size()), args.data());
    rte_openlog_stream(stderr);
    fclose(log);
    vpmd::test::g_probe_log.assign(buf, len);
    free(buf);
    fputs(vpmd::test::g_probe_log.c_str(), stderr);
    if (eal_rc < 0) {
        fprintf(stderr, "VPMD-VM: EAL init failed\n");
        return 1;
    }
    vpmd::test::g_pool = rte_pktmbuf_pool_create("vm_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (vpmd::test::g_pool == nullptr) {
        fprintf(stderr, "VPMD-VM: no mempool\n");
        return 1;
    }
    const int rc = RUN_ALL_TESTS();
    uint16_t p;
    RTE_ETH_FOREACH_DEV(p) {
        (void)rte_eth_dev_stop(p);
        rte_eth_dev_close(p);
    }
    rte_eal_cleanup();
    return rc;
}
