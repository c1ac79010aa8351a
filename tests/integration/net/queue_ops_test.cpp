// Queue operations against DPDK's vhost (net_vhost in this process), every ring variant:
// rte_eth_rx_queue_count and rx/tx descriptor status say what the device did without
// collecting anything; one queue stops (its mbufs back in the pool) and starts again
// while the others keep forwarding; a deferred queue starts only when asked.
#include "integration/eal_env.hpp"
#include "integration/net/vpmd_harness.hpp"

using namespace vpmd::test;

namespace {

constexpr unsigned pool_size = 8191;
rte_mempool *pool() { return test_pool("vpmd_qops_pool", pool_size, 0); }
unsigned available() { return pool_available(pool()); }

struct Variant {
    const char *name;
    const char *args;
};

std::vector<Frame> frames(size_t n, uint32_t len, uint32_t seed) {
    std::vector<Frame> f;
    for (size_t i = 0; i < n; ++i) {
        f.push_back(make_frame(len, seed + uint32_t(i)));
    }
    return f;
}

class QueueOps : public ::testing::TestWithParam<Variant> {
protected:
    void SetUp() override {
        VPMD_REQUIRE_EAL();
        ASSERT_NE(pool(), nullptr);
        before_ = available();
    }
    void TearDown() override {
        p_.reset();
        if (EalEnv::instance()->ready()) { // else SetUp skipped, and there is no pool to count
            EXPECT_EQ(available(), before_) << "every mbuf back in the pool";
        }
    }
    void make(uint16_t pairs) {
        p_ = std::make_unique<VhostPair>(std::string("qops_") + GetParam().name + std::to_string(pairs),
                                         GetParam().args, pairs);
    }
    // The device (net_vhost) sends: done when this returns (its enqueue is synchronous).
    void device_sends(uint16_t queue, const std::vector<Frame> &fs) {
        for (const Frame &f : fs) {
            rte_mbuf *m = to_mbuf(pool(), f);
            ASSERT_NE(m, nullptr);
            ASSERT_EQ(rte_eth_tx_burst(p_->vhost, queue, &m, 1), 1) << "the device could not send";
        }
    }
    std::vector<Frame> vpmd_receives(uint16_t queue, uint16_t max) {
        std::vector<Frame> got;
        rte_mbuf *rx[32];
        while (got.size() < max) {
            // Whole bursts: a mergeable packet needs all its buffers collected in one.
            const uint16_t n = rte_eth_rx_burst(p_->vpmd, queue, rx, 32);
            if (n == 0) {
                break;
            }
            for (uint16_t i = 0; i < n; ++i) {
                got.push_back(from_mbuf(rx[i]));
                rte_pktmbuf_free(rx[i]);
            }
        }
        return got;
    }
    // Both directions of one queue pair, byte for byte.
    ::testing::AssertionResult pair_forwards(uint16_t queue, uint32_t seed) {
        const auto fs = frames(40, 200, seed);
        if (auto r = same_frames(transfer(pool(), p_->vpmd, p_->vhost, queue, fs), fs); !r) {
            return r << " (net_vpmd -> device, queue " << queue << ")";
        }
        if (auto r = same_frames(transfer(pool(), p_->vhost, p_->vpmd, queue, fs), fs); !r) {
            return r << " (device -> net_vpmd, queue " << queue << ")";
        }
        return ::testing::AssertionSuccess();
    }
    // Rx buffers posted on a queue, as its descriptor status tells (DONE or AVAIL).
    uint32_t rx_posted(uint16_t queue) {
        uint32_t n = 0;
        for (uint16_t off = 0;; ++off) {
            const int st = rte_eth_rx_descriptor_status(p_->vpmd, queue, off);
            if (st != RTE_ETH_RX_DESC_DONE && st != RTE_ETH_RX_DESC_AVAIL) {
                return n;
            }
            ++n;
        }
    }
    uint8_t rx_state(uint16_t queue) {
        rte_eth_rxq_info qi{};
        EXPECT_EQ(rte_eth_rx_queue_info_get(p_->vpmd, queue, &qi), 0);
        return qi.queue_state;
    }
    uint8_t tx_state(uint16_t queue) {
        rte_eth_txq_info qi{};
        EXPECT_EQ(rte_eth_tx_queue_info_get(p_->vpmd, queue, &qi), 0);
        return qi.queue_state;
    }

    std::unique_ptr<VhostPair> p_;
    unsigned before_ = 0;
};

} // namespace

TEST_P(QueueOps, RxQueueCountAndDescriptorStatusSayWhatTheDeviceFilled) {
    make(1);
    ASSERT_TRUE(p_->up(pool()));
    EXPECT_EQ(rte_eth_rx_queue_count(p_->vpmd, 0), 0);
    const uint32_t posted = rx_posted(0);
    EXPECT_GT(posted, 100u) << "the ring is filled at start";
    const auto fs = frames(20, 64, 1);
    device_sends(0, fs);
    EXPECT_EQ(rte_eth_rx_queue_count(p_->vpmd, 0), 20);
    EXPECT_EQ(rte_eth_rx_queue_count(p_->vpmd, 0), 20) << "counting collects nothing";
    for (uint16_t off = 0; off < 20; ++off) {
        EXPECT_EQ(rte_eth_rx_descriptor_status(p_->vpmd, 0, off), RTE_ETH_RX_DESC_DONE) << off;
    }
    EXPECT_EQ(rte_eth_rx_descriptor_status(p_->vpmd, 0, 20), RTE_ETH_RX_DESC_AVAIL);
    EXPECT_EQ(rte_eth_rx_descriptor_status(p_->vpmd, 0, uint16_t(posted - 1)), RTE_ETH_RX_DESC_AVAIL);
    EXPECT_EQ(rte_eth_rx_descriptor_status(p_->vpmd, 0, 256), -EINVAL) << "past the ring";

    std::vector<Frame> got;
    rte_mbuf *rx[8];
    ASSERT_EQ(rte_eth_rx_burst(p_->vpmd, 0, rx, 8), 8);
    for (rte_mbuf *m : rx) {
        got.push_back(from_mbuf(m));
        rte_pktmbuf_free(m);
    }
    EXPECT_EQ(rte_eth_rx_queue_count(p_->vpmd, 0), 12);
    EXPECT_EQ(rte_eth_rx_descriptor_status(p_->vpmd, 0, 11), RTE_ETH_RX_DESC_DONE);
    EXPECT_EQ(rte_eth_rx_descriptor_status(p_->vpmd, 0, 12), RTE_ETH_RX_DESC_AVAIL);
    for (const Frame &f : vpmd_receives(0, 100)) {
        got.push_back(f);
    }
    EXPECT_TRUE(same_frames(got, fs));
    EXPECT_EQ(rte_eth_rx_queue_count(p_->vpmd, 0), 0);

    // A frame larger than one buffer fills two (mergeable rx buffers, the default).
    device_sends(0, frames(1, 3000, 99));
    EXPECT_EQ(rte_eth_rx_queue_count(p_->vpmd, 0), 2);
    EXPECT_TRUE(same_frames(vpmd_receives(0, 1), frames(1, 3000, 99)));
}

TEST_P(QueueOps, TxDescriptorStatusSaysWhatTheDeviceTook) {
    make(1);
    ASSERT_TRUE(p_->up(pool()));
    EXPECT_EQ(rte_eth_tx_descriptor_status(p_->vpmd, 0, 255), RTE_ETH_TX_DESC_DONE) << "an empty ring";
    const auto fs = frames(10, 64, 7);
    for (const Frame &f : fs) {
        rte_mbuf *m = to_mbuf(pool(), f);
        ASSERT_EQ(rte_eth_tx_burst(p_->vpmd, 0, &m, 1), 1);
    }
    // 10 one-descriptor packets the device has not taken: the last 10 offsets.
    EXPECT_EQ(rte_eth_tx_descriptor_status(p_->vpmd, 0, 0), RTE_ETH_TX_DESC_DONE);
    EXPECT_EQ(rte_eth_tx_descriptor_status(p_->vpmd, 0, 245), RTE_ETH_TX_DESC_DONE);
    for (uint16_t off = 246; off < 256; ++off) {
        EXPECT_EQ(rte_eth_tx_descriptor_status(p_->vpmd, 0, off), RTE_ETH_TX_DESC_FULL) << off;
    }
    EXPECT_EQ(rte_eth_tx_descriptor_status(p_->vpmd, 0, 256), -EINVAL);
    std::vector<Frame> got;
    ASSERT_TRUE(wait_for([&] {
        rte_mbuf *rx[32];
        const uint16_t n = rte_eth_rx_burst(p_->vhost, 0, rx, 32);
        for (uint16_t i = 0; i < n; ++i) {
            got.push_back(from_mbuf(rx[i]));
            rte_pktmbuf_free(rx[i]);
        }
        return got.size() >= fs.size();
    }));
    EXPECT_TRUE(same_frames(got, fs));
    for (uint16_t off = 246; off < 256; ++off) {
        EXPECT_EQ(rte_eth_tx_descriptor_status(p_->vpmd, 0, off), RTE_ETH_TX_DESC_DONE) << off;
    }
}

// Over vhost-user a queue stops by SET_VRING_ENABLE 0: the device leaves the ring alone,
// what it completed is freed at the stop, what it holds stays posted and is taken up where
// it stopped when the queue starts again.
TEST_P(QueueOps, OneQueueStopsAndStartsWhileTheOthersForward) {
    make(2);
    ASSERT_TRUE(p_->up(pool()));
    ASSERT_TRUE(pair_forwards(0, 100));
    ASSERT_TRUE(pair_forwards(1, 200));

    // Rx queue 1 stops with 5 frames received and not collected: they are dropped.
    device_sends(1, frames(5, 100, 250));
    ASSERT_EQ(rte_eth_rx_queue_count(p_->vpmd, 1), 5);
    const unsigned free_before = available();
    ASSERT_EQ(rte_eth_dev_rx_queue_stop(p_->vpmd, 1), 0);
    EXPECT_EQ(rx_state(1), RTE_ETH_QUEUE_STATE_STOPPED);
    EXPECT_EQ(rx_state(0), RTE_ETH_QUEUE_STATE_STARTED);
    EXPECT_EQ(available(), free_before + 5) << "the received buffers are freed at the stop";
    EXPECT_EQ(rte_eth_dev_rx_queue_stop(p_->vpmd, 1), 0) << "stopping twice is fine";
    EXPECT_TRUE(pair_forwards(0, 300)) << "queue 0 keeps running";
    rte_mbuf *m = to_mbuf(pool(), make_frame(100, 1));
    EXPECT_EQ(rte_eth_tx_burst(p_->vhost, 1, &m, 1), 0) << "the device leaves a stopped ring alone";
    rte_pktmbuf_free(m);
    rte_mbuf *rx[4];
    EXPECT_EQ(rte_eth_rx_burst(p_->vpmd, 1, rx, 4), 0) << "a stopped queue receives nothing";
    EXPECT_EQ(rte_eth_rx_queue_count(p_->vpmd, 1), 0);

    ASSERT_EQ(rte_eth_dev_rx_queue_start(p_->vpmd, 1), 0);
    EXPECT_EQ(rx_state(1), RTE_ETH_QUEUE_STATE_STARTED);
    EXPECT_TRUE(pair_forwards(1, 400)) << "queue 1 runs again, without the frames dropped at its stop";
    EXPECT_TRUE(pair_forwards(0, 500));

    // Tx queue 1 stops with 5 frames the device has not taken: they wait in the ring, the
    // device does not see them, bursts send nothing; after the start they go out first.
    const auto held = frames(5, 120, 550);
    for (const Frame &f : held) {
        m = to_mbuf(pool(), f);
        ASSERT_EQ(rte_eth_tx_burst(p_->vpmd, 1, &m, 1), 1);
    }
    ASSERT_EQ(rte_eth_dev_tx_queue_stop(p_->vpmd, 1), 0);
    EXPECT_EQ(tx_state(1), RTE_ETH_QUEUE_STATE_STOPPED);
    EXPECT_EQ(rte_eth_rx_burst(p_->vhost, 1, rx, 4), 0) << "the device leaves a stopped ring alone";
    m = to_mbuf(pool(), make_frame(100, 2));
    EXPECT_EQ(rte_eth_tx_burst(p_->vpmd, 1, &m, 1), 0) << "a stopped queue sends nothing";
    rte_pktmbuf_free(m);
    EXPECT_TRUE(pair_forwards(0, 600));
    ASSERT_EQ(rte_eth_dev_tx_queue_start(p_->vpmd, 1), 0);
    std::vector<Frame> got;
    ASSERT_TRUE(wait_for([&] {
        rte_eth_tx_burst(p_->vpmd, 1, nullptr, 0); // kicks the device
        const uint16_t n = rte_eth_rx_burst(p_->vhost, 1, rx, 4);
        for (uint16_t i = 0; i < n; ++i) {
            got.push_back(from_mbuf(rx[i]));
            rte_pktmbuf_free(rx[i]);
        }
        return got.size() >= held.size();
    }));
    EXPECT_TRUE(same_frames(got, held));
    EXPECT_TRUE(pair_forwards(1, 700));

    // A port stop and start brings every queue back, stopped ones included.
    ASSERT_EQ(rte_eth_dev_rx_queue_stop(p_->vpmd, 1), 0);
    ASSERT_EQ(rte_eth_dev_stop(p_->vpmd), 0);
    ASSERT_EQ(rte_eth_dev_start(p_->vpmd), 0);
    ASSERT_TRUE(wait_for([&] { return link_is(p_->vpmd, true) && link_is(p_->vhost, true); }));
    EXPECT_EQ(rx_state(1), RTE_ETH_QUEUE_STATE_STARTED);
    EXPECT_TRUE(pair_forwards(1, 800));
}

TEST_P(QueueOps, ADeferredQueueStartsOnlyWhenAsked) {
    make(2);
    ASSERT_EQ(p_->start_vhost(pool()), 0);
    ASSERT_EQ(p_->probe_vpmd(), 0);
    rte_eth_conf conf{};
    ASSERT_EQ(rte_eth_dev_configure(p_->vpmd, 2, 2, &conf), 0);
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(p_->vpmd, &info), 0);
    rte_eth_rxconf rxc = info.default_rxconf;
    rte_eth_txconf txc = info.default_txconf;
    for (uint16_t q = 0; q < 2; ++q) {
        rxc.rx_deferred_start = q == 1;
        txc.tx_deferred_start = q == 1;
        ASSERT_EQ(rte_eth_rx_queue_setup(p_->vpmd, q, 0, SOCKET_ID_ANY, &rxc, pool()), 0);
        ASSERT_EQ(rte_eth_tx_queue_setup(p_->vpmd, q, 0, SOCKET_ID_ANY, &txc), 0);
    }
    rte_eth_rxq_info qi{};
    ASSERT_EQ(rte_eth_rx_queue_info_get(p_->vpmd, 1, &qi), 0);
    EXPECT_EQ(qi.conf.rx_deferred_start, 1);
    const unsigned free_before = available();
    ASSERT_EQ(rte_eth_dev_start(p_->vpmd), 0);
    ASSERT_TRUE(wait_for([&] { return link_is(p_->vpmd, true) && link_is(p_->vhost, true); }));
    EXPECT_EQ(rx_state(1), RTE_ETH_QUEUE_STATE_STOPPED);
    EXPECT_EQ(tx_state(1), RTE_ETH_QUEUE_STATE_STOPPED);
    EXPECT_EQ(rx_state(0), RTE_ETH_QUEUE_STATE_STARTED);
    EXPECT_EQ(rx_posted(1), 0u) << "nothing posted on a deferred queue";
    EXPECT_EQ(free_before - available(), rx_posted(0)) << "only queue 0 took buffers";
    EXPECT_TRUE(pair_forwards(0, 900));
    rte_mbuf *m = to_mbuf(pool(), make_frame(100, 3));
    EXPECT_EQ(rte_eth_tx_burst(p_->vpmd, 1, &m, 1), 0) << "a deferred tx queue sends nothing";
    rte_pktmbuf_free(m);

    ASSERT_EQ(rte_eth_dev_rx_queue_start(p_->vpmd, 1), 0);
    ASSERT_EQ(rte_eth_dev_tx_queue_start(p_->vpmd, 1), 0);
    EXPECT_EQ(rx_state(1), RTE_ETH_QUEUE_STATE_STARTED);
    EXPECT_TRUE(pair_forwards(1, 1000));
    EXPECT_TRUE(pair_forwards(0, 1100));
}

INSTANTIATE_TEST_SUITE_P(Rings, QueueOps,
                         ::testing::Values(Variant{"split", ""}, Variant{"split_inorder", "in_order=1"},
                                           Variant{"packed", "packed_vq=1"},
                                           Variant{"packed_inorder", "packed_vq=1,in_order=1"}),
                         [](const auto &i) { return std::string(i.param.name); });
