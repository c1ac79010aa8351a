// Rx interrupt mode against DPDK's vhost (net_vhost in this process): a power-aware loop
// as l3fwd-power runs it (poll; when empty, enable the queue's interrupt, sleep in
// rte_epoll_wait, disable, poll again) sleeps while there is no traffic, wakes when the
// device completes buffers, and loses nothing; buffers completed before the interrupt was
// enabled wake it at once. Every ring variant the notification suppression differs in.
#define ALLOW_EXPERIMENTAL_API // rte_epoll_wait
#include <rte_interrupts.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "integration/eal_env.hpp"
#include "integration/net/vpmd_harness.hpp"

using namespace vpmd::test;

namespace {

constexpr unsigned pool_size = 4095;
rte_mempool *pool() { return test_pool("vpmd_intr_pool", pool_size, 0); }
unsigned available() { return pool_available(pool()); }

struct Variant {
    const char *name;
    const char *args;
};

class RxInterrupts : public ::testing::TestWithParam<Variant> {
protected:
    void SetUp() override {
        VPMD_REQUIRE_EAL();
        ASSERT_NE(pool(), nullptr);
        before_ = available();
        p_ = std::make_unique<VhostPair>(std::string("intr_") + GetParam().name, GetParam().args, 1);
        ASSERT_EQ(p_->start_vhost(pool()), 0);
        ASSERT_EQ(p_->probe_vpmd(), 0);
        rte_eth_conf conf{};
        conf.intr_conf.rxq = 1;
        ASSERT_EQ(rte_eth_dev_configure(p_->vpmd, 1, 1, &conf), 0);
        ASSERT_EQ(rte_eth_rx_queue_setup(p_->vpmd, 0, 0, SOCKET_ID_ANY, nullptr, pool()), 0);
        ASSERT_EQ(rte_eth_tx_queue_setup(p_->vpmd, 0, 0, SOCKET_ID_ANY, nullptr), 0);
        ASSERT_EQ(rte_eth_dev_start(p_->vpmd), 0);
        ASSERT_TRUE(wait_for([&] { return link_is(p_->vpmd, true) && link_is(p_->vhost, true); }));
        ASSERT_EQ(rte_eth_dev_rx_intr_ctl_q(p_->vpmd, 0, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_ADD, nullptr), 0);
    }
    void TearDown() override {
        if (p_ && p_->vpmd != RTE_MAX_ETHPORTS) {
            (void)rte_eth_dev_rx_intr_ctl_q(p_->vpmd, 0, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_DEL, nullptr);
        }
        p_.reset();
        EXPECT_EQ(available(), before_) << "every mbuf back in the pool";
    }
    // Sleeps on the queue's interrupt up to `ms`; true when woken by it.
    bool sleep_on_interrupt(int ms) {
        rte_epoll_event ev[1];
        const int n = rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, 1, ms);
        return n == 1;
    }
    // Sends frames from the device side (net_vhost's enqueue is done when this returns);
    // gives up when `stop` is set (the receiver stopped polling: the ring stays full).
    void device_sends(const std::vector<Frame> &frames, const std::atomic<bool> *stop = nullptr) {
        ASSERT_TRUE(send_all(pool(), p_->vhost, 0, frames.data(), frames.size(), stop)) << "the pool ran dry";
    }
    std::vector<Frame> poll_all() {
        std::vector<Frame> got;
        rte_mbuf *rx[32];
        for (uint16_t n; (n = rte_eth_rx_burst(p_->vpmd, 0, rx, 32)) != 0;) {
            for (uint16_t i = 0; i < n; ++i) {
                got.push_back(from_mbuf(rx[i]));
                rte_pktmbuf_free(rx[i]);
            }
        }
        return got;
    }
    std::unique_ptr<VhostPair> p_;
    unsigned before_ = 0;
};

std::vector<Frame> frames(uint32_t n, uint32_t seed) {
    std::vector<Frame> v;
    for (uint32_t i = 0; i < n; ++i) {
        v.push_back(make_frame(64 + (i * 37) % 1400, seed + i));
    }
    return v;
}

} // namespace

TEST_P(RxInterrupts, NoTrafficNoWakeup) {
    ASSERT_EQ(rte_eth_dev_rx_intr_enable(p_->vpmd, 0), 0);
    EXPECT_FALSE(sleep_on_interrupt(200)) << "woken with nothing received";
    ASSERT_EQ(rte_eth_dev_rx_intr_disable(p_->vpmd, 0), 0);
}

// Completed while interrupts were off: enabling them must not leave the sleeper asleep.
TEST_P(RxInterrupts, WhatArrivedBeforeEnablingWakesAtOnce) {
    const auto sent = frames(5, 1);
    device_sends(sent);
    ASSERT_EQ(rte_eth_dev_rx_intr_enable(p_->vpmd, 0), 0);
    EXPECT_TRUE(sleep_on_interrupt(5000)) << "slept through buffers already completed";
    ASSERT_EQ(rte_eth_dev_rx_intr_disable(p_->vpmd, 0), 0);
    EXPECT_TRUE(same_frames(poll_all(), sent));
}

// A backend restart zeroes the rings; each queue keeps the interrupt setting it had: a
// queue in poll mode is not signalled for every burst from then on, and one left enabled
// still wakes its sleeper.
TEST_P(RxInterrupts, AReturningDeviceFindsEachQueuesInterruptSettingAsItWas) {
    p_->close_vhost();
    ASSERT_TRUE(wait_for([&] { return link_is(p_->vpmd, false); }));
    ASSERT_EQ(p_->start_vhost(pool()), 0);
    ASSERT_TRUE(wait_for([&] { return link_is(p_->vpmd, true) && link_is(p_->vhost, true); }));
    // DPDK's vhost signals once unconditionally on the first completion after a ring
    // starts when EVENT_IDX is on (it has no last-signalled index yet): a spurious wakeup
    // the spec allows. One frame takes it; the ones after must not signal.
    const auto warm = frames(1, 199);
    device_sends(warm);
    (void)sleep_on_interrupt(0);
    EXPECT_TRUE(same_frames(poll_all(), warm));
    const auto sent = frames(5, 200);
    device_sends(sent);
    EXPECT_FALSE(sleep_on_interrupt(100)) << "signalled in poll mode after the device returned";
    EXPECT_TRUE(same_frames(poll_all(), sent));

    ASSERT_EQ(rte_eth_dev_rx_intr_enable(p_->vpmd, 0), 0);
    p_->close_vhost();
    ASSERT_TRUE(wait_for([&] { return link_is(p_->vpmd, false); }));
    ASSERT_EQ(p_->start_vhost(pool()), 0);
    ASSERT_TRUE(wait_for([&] { return link_is(p_->vpmd, true) && link_is(p_->vhost, true); }));
    device_sends(sent);
    EXPECT_TRUE(sleep_on_interrupt(5000)) << "interrupts enabled before the restart stayed off after it";
    ASSERT_EQ(rte_eth_dev_rx_intr_disable(p_->vpmd, 0), 0);
    EXPECT_TRUE(same_frames(poll_all(), sent));
}

// The l3fwd-power loop against a device sending in bursts with pauses from another thread:
// every frame arrives in order, and the loop slept at least once in between.
TEST_P(RxInterrupts, PowerAwareLoopWakesOnTrafficAndLosesNothing) {
    const auto sent = frames(300, 100);
    std::atomic<bool> stop{false};
    std::thread device([&] {
        for (size_t at = 0; at < sent.size() && !stop.load(); at += 30) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            device_sends(std::vector<Frame>(sent.begin() + long(at), sent.begin() + long(at + 30)), &stop);
        }
    });
    std::vector<Frame> got;
    unsigned wakeups = 0, timeouts = 0;
    while (got.size() < sent.size() && timeouts == 0) {
        auto burst = poll_all();
        if (!burst.empty()) {
            got.insert(got.end(), burst.begin(), burst.end());
            continue;
        }
        EXPECT_EQ(rte_eth_dev_rx_intr_enable(p_->vpmd, 0), 0);
        if (sleep_on_interrupt(5000)) {
            ++wakeups;
        } else {
            ++timeouts; // the device sent and the loop was not woken: a lost wakeup
        }
        EXPECT_EQ(rte_eth_dev_rx_intr_disable(p_->vpmd, 0), 0);
    }
    stop.store(true);
    device.join();
    auto rest = poll_all();
    got.insert(got.end(), rest.begin(), rest.end());
    EXPECT_EQ(timeouts, 0u) << "slept through traffic";
    EXPECT_GE(wakeups, 1u);
    EXPECT_TRUE(same_frames(got, sent));
}

INSTANTIATE_TEST_SUITE_P(Rings, RxInterrupts,
                         ::testing::Values(Variant{"split", "mrg_rxbuf=1"}, Variant{"split_eventidx", "event_idx=1"},
                                           Variant{"split_inorder", "in_order=1"},
                                           Variant{"packed", "packed_vq=1"},
                                           Variant{"packed_inorder", "packed_vq=1,in_order=1"},
                                           Variant{"packed_eventidx", "packed_vq=1,event_idx=1"}),
                         [](const auto &info) { return std::string(info.param.name); });

TEST(RxInterruptsConfig, TheInterruptHandleIsReleasedWithThePort) {
    VPMD_REQUIRE_EAL();
    rte_epoll_event ev[1];
    (void)rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, 1, 0); // makes this thread's epoll fd: not the port's
    { // the first vhost-user port of a process starts threads and fds that stay: not the port's either
        VhostPair warm("intr_warm", "", 1);
        ASSERT_EQ(warm.start_vhost(pool()), 0);
        ASSERT_EQ(warm.probe_vpmd(), 0);
    }
    const size_t fds = open_fds();
    {
        VhostPair p("intr_close", "", 1);
        ASSERT_EQ(p.start_vhost(pool()), 0);
        ASSERT_EQ(p.probe_vpmd(), 0);
        rte_eth_conf conf{};
        conf.intr_conf.rxq = 1;
        ASSERT_EQ(rte_eth_dev_configure(p.vpmd, 1, 1, &conf), 0);
        ASSERT_EQ(rte_eth_dev_rx_intr_ctl_q(p.vpmd, 0, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_ADD, nullptr), 0);
        ASSERT_EQ(rte_eth_dev_rx_intr_ctl_q(p.vpmd, 0, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_DEL, nullptr), 0);
        conf.intr_conf.rxq = 0; // configured again without: ethdev sees no handle
        ASSERT_EQ(rte_eth_dev_configure(p.vpmd, 1, 1, &conf), 0);
        EXPECT_EQ(rte_eth_dev_rx_intr_ctl_q(p.vpmd, 0, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_ADD, nullptr), -ENOTSUP);
    }
    EXPECT_EQ(open_fds(), fds) << "eventfds closed with the port";
}

// Link status changes reach a callback registered for RTE_ETH_EVENT_INTR_LSC (on the
// control thread), as an application with intr_conf.lsc = 1 expects: the backend going
// away is heard as link down, its return as link up, with no polling of the link.
TEST(LinkStatusInterrupt, ARegisteredCallbackHearsTheBackendGoAndReturn) {
    VPMD_REQUIRE_EAL();
    struct Heard {
        std::mutex m;
        std::condition_variable cv;
        std::vector<int> states; // link_status seen by each callback
    } heard;
    const auto on_lsc = [](uint16_t port, rte_eth_event_type, void *arg, void *) -> int {
        auto &h = *static_cast<Heard *>(arg);
        rte_eth_link link{};
        (void)rte_eth_link_get_nowait(port, &link);
        std::lock_guard<std::mutex> g(h.m);
        h.states.push_back(link.link_status);
        h.cv.notify_all();
        return 0;
    };
    const auto heard_last = [&](int status) {
        std::unique_lock<std::mutex> g(heard.m);
        return heard.cv.wait_for(g, std::chrono::seconds(10),
                                 [&] { return !heard.states.empty() && heard.states.back() == status; });
    };
    const unsigned before = available();
    {
        VhostPair p("intr_lsc", "", 1);
        ASSERT_EQ(p.start_vhost(pool()), 0);
        ASSERT_EQ(p.probe_vpmd(), 0);
        ASSERT_EQ(rte_eth_dev_callback_register(p.vpmd, RTE_ETH_EVENT_INTR_LSC, on_lsc, &heard), 0);
        rte_eth_conf conf{};
        conf.intr_conf.lsc = 1;
        ASSERT_EQ(rte_eth_dev_configure(p.vpmd, 1, 1, &conf), 0);
        ASSERT_EQ(rte_eth_rx_queue_setup(p.vpmd, 0, 0, SOCKET_ID_ANY, nullptr, pool()), 0);
        ASSERT_EQ(rte_eth_tx_queue_setup(p.vpmd, 0, 0, SOCKET_ID_ANY, nullptr), 0);
        ASSERT_EQ(rte_eth_dev_start(p.vpmd), 0);
        EXPECT_TRUE(heard_last(RTE_ETH_LINK_UP)) << "no callback when the link came up";
        p.close_vhost();
        EXPECT_TRUE(heard_last(RTE_ETH_LINK_DOWN)) << "no callback when the backend went away";
        ASSERT_EQ(p.start_vhost(pool()), 0);
        EXPECT_TRUE(heard_last(RTE_ETH_LINK_UP)) << "no callback when the backend returned";
        ASSERT_EQ(rte_eth_dev_stop(p.vpmd), 0);
        ASSERT_EQ(rte_eth_dev_callback_unregister(p.vpmd, RTE_ETH_EVENT_INTR_LSC, on_lsc, &heard), 0);
    }
    EXPECT_EQ(available(), before) << "every mbuf back in the pool";
}
