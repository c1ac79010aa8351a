// The mediated control queue end to end without EAL: commands travel through the real
// ring (split and packed) to the mediator thread, which validates, applies and acks them.
#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

#include "dataplane/net/virtio_net.hpp"
#include "dataplane/dma/local_dma.hpp"
#include "drivers/transport/mediated/control_queue.hpp"

using namespace vpmd;
using namespace vpmd::mediated;
namespace ctrl = vpmd::net::ctrl;

class ControlQueueTest : public ::testing::TestWithParam<bool> {
protected:
    void SetUp() override {
        const uint64_t f = ring::feature::version_1 | (GetParam() ? ring::feature::ring_packed : 0);
        int err = 0;
        cq = ControlQueue::create(GetParam() ? 12 : 16, f, 4,
                                  [this](uint16_t n) {
                                      hook_calls.push_back(n);
                                      return hook_result;
                                  },
                                  dma, &err);
        ASSERT_EQ(err, 0);
        ASSERT_NE(cq, nullptr);
    }
    int send(uint8_t cls, uint8_t cmd, std::vector<uint8_t> data) { return cq->send(cls, cmd, data); }

    dma::LocalDma dma; // declared first: outlives the queue
    std::unique_ptr<ControlQueue> cq;
    std::vector<uint16_t> hook_calls;
    int hook_result = 0;
};

INSTANTIATE_TEST_SUITE_P(Layouts, ControlQueueTest, ::testing::Values(false, true),
                         [](const auto &info) { return info.param ? "packed" : "split"; });

TEST_P(ControlQueueTest, RxModeCommandsUpdateTheFilter) {
    EXPECT_TRUE(cq->mediator().filter().promisc) << "a virtio-net device starts promiscuous";
    EXPECT_EQ(send(ctrl::rx, ctrl::rx_promisc, {0}), 0);
    EXPECT_FALSE(cq->mediator().filter().promisc);
    EXPECT_EQ(send(ctrl::rx, ctrl::rx_allmulti, {1}), 0);
    EXPECT_TRUE(cq->mediator().filter().allmulti);
    EXPECT_EQ(send(ctrl::rx, ctrl::rx_allmulti, {2}), -EIO) << "only 0 and 1 are valid";
    EXPECT_EQ(send(ctrl::rx, ctrl::rx_promisc, {1, 1}), -EIO) << "exactly one byte";
    EXPECT_EQ(send(ctrl::rx, 9, {1}), -EIO) << "unknown rx command";
    EXPECT_TRUE(cq->mediator().filter().allmulti) << "a nacked command changes nothing";
    EXPECT_EQ(cq->mediator().commands_failed(), 3u);
}

TEST_P(ControlQueueTest, MacCommandsValidateTheirData) {
    EXPECT_EQ(send(ctrl::mac, ctrl::mac_addr_set, {0x02, 0, 0, 0, 0, 0x42}), 0);
    EXPECT_EQ(cq->mediator().filter().mac[5], 0x42);
    EXPECT_EQ(send(ctrl::mac, ctrl::mac_addr_set, {0x01, 0, 0x5e, 0, 0, 1}), -EIO) << "multicast";
    EXPECT_EQ(send(ctrl::mac, ctrl::mac_addr_set, {0x02, 0, 0}), -EIO) << "short";
    // One unicast, two multicast entries.
    std::vector<uint8_t> table = {1, 0, 0, 0, 0x02, 1, 2, 3, 4, 5, 2, 0, 0, 0};
    for (int i = 0; i < 2; ++i) {
        table.insert(table.end(), {0x01, 0, 0x5e, 0, 0, uint8_t(i)});
    }
    EXPECT_EQ(send(ctrl::mac, ctrl::mac_table_set, table), 0);
    EXPECT_EQ(cq->mediator().filter().unicast.size(), 1u);
    EXPECT_EQ(cq->mediator().filter().multicast.size(), 2u);
    table.push_back(0); // trailing garbage
    EXPECT_EQ(send(ctrl::mac, ctrl::mac_table_set, table), -EIO);
    EXPECT_EQ(send(ctrl::mac, ctrl::mac_table_set, {0xff, 0xff, 0xff, 0x7f}), -EIO) << "huge count";
}

TEST_P(ControlQueueTest, VlanFilterAddAndDelete) {
    EXPECT_EQ(send(ctrl::vlan, ctrl::vlan_add, {100, 0}), 0);
    EXPECT_TRUE(cq->mediator().filter().vlans.test(100));
    EXPECT_EQ(send(ctrl::vlan, ctrl::vlan_del, {100, 0}), 0);
    EXPECT_FALSE(cq->mediator().filter().vlans.test(100));
    EXPECT_EQ(send(ctrl::vlan, ctrl::vlan_add, {0x88, 0x13}), -EIO) << "vid 5000";
}

TEST_P(ControlQueueTest, QueuePairsReachTheBackendHook) {
    EXPECT_EQ(send(ctrl::mq, ctrl::mq_vq_pairs_set, {4, 0}), 0);
    EXPECT_EQ(cq->mediator().queue_pairs(), 4);
    EXPECT_EQ(send(ctrl::mq, ctrl::mq_vq_pairs_set, {5, 0}), -EIO) << "more than the device has";
    EXPECT_EQ(send(ctrl::mq, ctrl::mq_vq_pairs_set, {0, 0}), -EIO);
    hook_result = -EPIPE;
    EXPECT_EQ(send(ctrl::mq, ctrl::mq_vq_pairs_set, {2, 0}), -EIO) << "backend refused";
    EXPECT_EQ(cq->mediator().queue_pairs(), 4);
    EXPECT_EQ(hook_calls, (std::vector<uint16_t>{4, 2}));
    EXPECT_EQ(send(77, 0, {}), -EIO) << "unknown class";
}

TEST_P(ControlQueueTest, ManyCommandsWrapTheRing) {
    for (int i = 0; i < 200; ++i) {
        ASSERT_EQ(send(ctrl::rx, ctrl::rx_promisc, {uint8_t(i & 1)}), 0) << i;
    }
    EXPECT_EQ(cq->mediator().commands_ok(), 200u);
}

TEST_P(ControlQueueTest, StalledMediatorTimesOutAndQueueRefusesAfterwards) {
    cq->mediator().stop();
    EXPECT_EQ(cq->send(ctrl::rx, ctrl::rx_promisc, std::vector<uint8_t>{0}, std::chrono::milliseconds(50)),
              -ETIMEDOUT);
    EXPECT_FALSE(cq->usable());
    EXPECT_EQ(send(ctrl::rx, ctrl::rx_promisc, {0}), -EIO);
}

TEST_P(ControlQueueTest, OversizedCommandIsRefusedBeforeTheRing) {
    std::vector<uint8_t> big(max_command_bytes, 0);
    EXPECT_EQ(cq->send(ctrl::mac, ctrl::mac_table_set, big), -EINVAL);
    EXPECT_TRUE(cq->usable());
}

// A shadow control queue: accepted commands go on to the device; one it refuses is nacked
// and undone, so the mediator's state never differs from the device's.
TEST_P(ControlQueueTest, AcceptedCommandsAreRelayedAndARefusalUndoesThem) {
    std::vector<std::vector<uint8_t>> relayed;
    int relay_result = 0;
    cq->mediator().set_relay([&](uint8_t cls, uint8_t cmd, std::span<const uint8_t> data) {
        std::vector<uint8_t> c{cls, cmd};
        c.insert(c.end(), data.begin(), data.end());
        relayed.push_back(c);
        return relay_result;
    });
    EXPECT_EQ(send(ctrl::rx, ctrl::rx_promisc, {0}), 0);
    EXPECT_EQ(send(ctrl::rx, ctrl::rx_allmulti, {2}), -EIO) << "invalid: never reaches the device";
    ASSERT_EQ(relayed.size(), 1u);
    EXPECT_EQ(relayed[0], (std::vector<uint8_t>{ctrl::rx, ctrl::rx_promisc, 0}));
    EXPECT_FALSE(cq->mediator().filter().promisc);

    relay_result = -EIO; // the device refuses from now on
    EXPECT_EQ(send(ctrl::rx, ctrl::rx_promisc, {1}), -EIO);
    EXPECT_FALSE(cq->mediator().filter().promisc) << "a refused command is undone";
    EXPECT_EQ(send(ctrl::mq, ctrl::mq_vq_pairs_set, {3, 0}), -EIO);
    EXPECT_EQ(cq->mediator().queue_pairs(), 1);
    EXPECT_EQ(hook_calls, (std::vector<uint16_t>{3, 1})) << "the backend is set back to the old pair count";
}
