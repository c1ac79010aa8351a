// net_vpmd's control core (drivers/net/vpmd/port.cpp) driven through the transport seam by
// a fake transport, with no EAL: negotiation, queue bring-up with each queue's addresses
// and notifier, queue pairs, stop, device loss and return, reset, memory and config events.
#include <gtest/gtest.h>

#include <algorithm>

#include "dataplane/net/virtio_net.hpp"
#include "dataplane/ring/layout.hpp"
#include "drivers/net/vpmd/port.hpp"
#include "mock/fake_transport.hpp"

using namespace vpmd;
using namespace vpmd::pmd;
using namespace vpmd::test;
using transport::QueueRole;

namespace {

constexpr uint64_t all_ring = ring::feature::version_1 | ring::feature::ring_packed | ring::feature::in_order |
                              ring::feature::event_idx | ring::feature::indirect_desc;

// The ethdev side, recorded: which data-path actions the core took, in order.
class FakeDataPath final : public DataPath {
public:
    explicit FakeDataPath(uint16_t pairs) {
        for (uint16_t q = 0; q < pairs; ++q) {
            for (QueueRole r : {QueueRole::rx, QueueRole::tx}) {
                QueueSlot s;
                s.role = r;
                s.queue_id = q;
                s.index = uint16_t(2 * q + (r == QueueRole::tx));
                s.size = 256;
                s.desc_addr = 0x100000ULL * (s.index + 1);
                s.driver_area_addr = s.desc_addr + 0x1000;
                s.device_area_addr = s.desc_addr + 0x2000;
                slots.push_back(s);
            }
        }
    }
    void each_queue(const std::function<void(QueueSlot &)> &fn) override {
        for (auto &s : slots) {
            fn(s);
        }
    }
    void pause() override { log.push_back("pause"); }
    void resume() override { log.push_back("resume"); }
    void drain() override { log.push_back("drain"); }
    void fill() override { log.push_back("fill"); }
    void pause_queue(QueueSlot &q) override { log.push_back("pause " + std::to_string(q.index)); }
    void resume_queue(QueueSlot &q) override { log.push_back("resume " + std::to_string(q.index)); }
    void drain_queue(QueueSlot &q) override { log.push_back("drain " + std::to_string(q.index)); }
    void fill_queue(QueueSlot &q) override { log.push_back("fill " + std::to_string(q.index)); }
    void reclaim_queue(QueueSlot &q) override { log.push_back("reclaim " + std::to_string(q.index)); }
    void link_changed(bool up) override { log.push_back(up ? "link up" : "link down"); }

    std::vector<QueueSlot> slots;
    std::vector<std::string> log;
};

class PortTest : public ::testing::Test {
protected:
    void make(uint16_t pairs, PortOptions o = {}) {
        if (o.ring_features == 0) {
            o.ring_features = ring::feature::ring_packed | ring::feature::in_order;
        }
        o.queues = pairs;
        dp = std::make_unique<FakeDataPath>(pairs);
        port = std::make_unique<PortControl>("fake0", std::make_unique<FakeTransport>(dev), o, *dp);
    }
    // Calls recorded from the `from`th on.
    std::vector<std::string> calls_since(size_t from) const {
        return {dev->calls.begin() + long(from), dev->calls.end()};
    }

    std::shared_ptr<FakeDeviceState> dev = [] {
        auto d = std::make_shared<FakeDeviceState>();
        d->offered = all_ring | net::feature::mrg_rxbuf | net::feature::mq;
        return d;
    }();
    std::unique_ptr<FakeDataPath> dp;
    std::unique_ptr<PortControl> port;
};

} // namespace

TEST_F(PortTest, OpenAttachesAndNegotiatesThroughTheTransport) {
    make(2);
    ASSERT_EQ(port->open(), 0);
    EXPECT_EQ(dev->calls, (std::vector<std::string>{"attach", "negotiate"}));
    const uint64_t want = ring::feature::version_1 | ring::feature::ring_packed | ring::feature::in_order |
                          net::feature::mrg_rxbuf | net::feature::mq;
    EXPECT_EQ(dev->wanted, want);
    EXPECT_EQ(port->features(), want);
    EXPECT_TRUE(port->mrg());
    EXPECT_EQ(port->device_pairs(), 4u);
}

TEST_F(PortTest, OpenFailsWhenTheDeviceLacksARingFeatureAndDropsOnlyIndirect) {
    dev->offered = ring::feature::version_1 | ring::feature::ring_packed; // no in_order, no indirect
    PortOptions o;
    o.ring_features = ring::feature::ring_packed | ring::feature::indirect_desc;
    make(1, o);
    ASSERT_EQ(port->open(), 0);
    EXPECT_EQ(port->ring_features(), ring::feature::ring_packed) << "indirect dropped at the first attach";
    EXPECT_FALSE(port->mrg());

    make(1); // asks for in_order too
    EXPECT_EQ(port->open(), -ENOTSUP);
}

TEST_F(PortTest, OpenReportsAnAbsentDeviceUnlessItArrivesLater) {
    dev->present = false;
    make(1);
    EXPECT_EQ(port->open(), -ECONNREFUSED);
    PortOptions later;
    later.device_arrives_later = true;
    make(1, later);
    const size_t before = dev->calls.size();
    EXPECT_EQ(port->open(), 0);
    EXPECT_EQ(dev->calls.size(), before) << "server mode does not touch the device at probe";
}

TEST_F(PortTest, StartSetsEveryQueueUpWithItsAddressesAndNotifier) {
    make(2);
    ASSERT_EQ(port->open(), 0);
    ASSERT_EQ(port->set_queue_pairs(1), 0);
    const size_t from = dev->calls.size();
    ASSERT_EQ(port->start(), 0);
    EXPECT_EQ(calls_since(from),
              (std::vector<std::string>{"sync_memory", "setup 0", "enable 0", "setup 1", "enable 1", "setup 2",
                                        "disable 2", "setup 3", "disable 3", "driver_ok"}));
    ASSERT_EQ(dev->setups.size(), 4u);
    for (size_t i = 0; i < 4; ++i) {
        const QueueSlot &s = dp->slots[i];
        const transport::QueueSetup &q = dev->setups[i];
        EXPECT_EQ(q.index, s.index);
        EXPECT_EQ(q.role, s.role);
        EXPECT_EQ(q.size, s.size);
        EXPECT_EQ(q.desc_addr, s.desc_addr);
        EXPECT_EQ(q.driver_area_addr, s.driver_area_addr);
        EXPECT_EQ(q.device_area_addr, s.device_area_addr);
        EXPECT_TRUE(q.packed);
        EXPECT_EQ(q.avail_base, 0);
        EXPECT_TRUE(s.set_up);
        // The burst's kick is the transport's notifier, used as a value.
        s.notifier.fire(7);
        EXPECT_EQ(dev->doorbells[s.index], s.index);
    }
    EXPECT_EQ(dp->log, (std::vector<std::string>{"fill", "resume", "link up"}));
    EXPECT_TRUE(port->link_up());
}

TEST_F(PortTest, QueuePairsAreEnabledAndDisabledAtTheDevice) {
    make(4);
    ASSERT_EQ(port->open(), 0);
    ASSERT_EQ(port->start(), 0);
    ASSERT_EQ(port->set_queue_pairs(2), 0);
    for (uint16_t i = 0; i < 8; ++i) {
        EXPECT_EQ(dev->enabled[i], i < 4) << "vq " << i;
    }
    EXPECT_EQ(port->set_queue_pairs(5), -EINVAL) << "more than the device has";
    EXPECT_EQ(port->active_pairs(), 2);
}

TEST_F(PortTest, StopStopsEveryQueueDrainsAndTakesTheLinkDown) {
    make(1);
    ASSERT_EQ(port->open(), 0);
    ASSERT_EQ(port->start(), 0);
    const size_t from = dev->calls.size();
    dp->log.clear();
    port->stop();
    EXPECT_EQ(calls_since(from), (std::vector<std::string>{"stop 0", "stop 1"}));
    EXPECT_EQ(dp->log, (std::vector<std::string>{"pause", "drain", "link down"}));
    EXPECT_FALSE(port->started());
    for (const auto &s : dp->slots) {
        EXPECT_FALSE(s.set_up);
    }
}

TEST_F(PortTest, AFailedQueueSetupFailsStartAndReturnsTheBuffers) {
    make(1);
    ASSERT_EQ(port->open(), 0);
    dev->fail_setup_index = 1;
    EXPECT_EQ(port->start(), -EIO);
    EXPECT_EQ(dp->log, (std::vector<std::string>{"fill", "drain"}));
    EXPECT_FALSE(port->started());
    EXPECT_EQ(dev->count("driver_ok"), 0u);
}

TEST_F(PortTest, DeviceLossDrainsAndAReturningDeviceIsSetUpAgain) {
    make(1);
    ASSERT_EQ(port->open(), 0);
    ASSERT_EQ(port->start(), 0);
    dp->log.clear();
    dev->events.push_back(transport::Event::lost);
    dev->gone = true;
    dev->present = false;
    port->watch_once();
    EXPECT_EQ(port->losses(), 1u);
    EXPECT_FALSE(port->attached());
    EXPECT_EQ(port->features(), 0u);
    EXPECT_EQ(dp->log, (std::vector<std::string>{"link down", "pause", "drain"}));
    EXPECT_EQ(dev->calls.back(), "detach");

    port->watch_once(); // nobody there yet
    EXPECT_FALSE(port->attached());
    dev->present = true;
    const size_t from = dev->calls.size();
    dp->log.clear();
    port->watch_once();
    EXPECT_TRUE(port->attached());
    EXPECT_EQ(port->reconnects(), 1u);
    EXPECT_EQ(calls_since(from), (std::vector<std::string>{"attach", "negotiate", "sync_memory", "setup 0", "enable 0",
                                                           "setup 1", "enable 1", "driver_ok"}));
    EXPECT_EQ(dp->log, (std::vector<std::string>{"pause", "drain", "fill", "resume", "link up"}));
}

TEST_F(PortTest, OneQueueStopsAloneAndStartsAgainFromIndexZero) {
    make(2); // QueueStop::reset, as virtio-pci with RING_RESET
    ASSERT_EQ(port->open(), 0);
    ASSERT_EQ(port->set_queue_pairs(2), 0);
    ASSERT_EQ(port->start(), 0);
    dp->log.clear();
    QueueSlot &rx1 = dp->slots[2];
    size_t from = dev->calls.size();
    ASSERT_EQ(port->stop_queue(rx1), 0);
    EXPECT_EQ(calls_since(from), (std::vector<std::string>{"stop 2"})) << "no other queue touched";
    EXPECT_EQ(dp->log, (std::vector<std::string>{"pause 2", "drain 2"}));
    EXPECT_TRUE(rx1.stopped);
    EXPECT_FALSE(rx1.set_up);
    EXPECT_EQ(port->stop_queue(rx1), 0) << "stopping it again does nothing";
    EXPECT_EQ(calls_since(from).size(), 1u);

    from = dev->calls.size();
    dp->log.clear();
    ASSERT_EQ(port->start_queue(rx1), 0);
    EXPECT_EQ(calls_since(from), (std::vector<std::string>{"setup 2", "enable 2"}));
    EXPECT_EQ(dp->log, (std::vector<std::string>{"fill 2", "resume 2"})) << "filled before the device sees it";
    EXPECT_EQ(dev->setups.back().avail_base, 0);
    EXPECT_EQ(dev->setups.back().desc_addr, rx1.desc_addr);
    EXPECT_FALSE(rx1.stopped);
    EXPECT_TRUE(rx1.set_up);
    EXPECT_TRUE(port->link_up()) << "the port stays up throughout";
}

TEST_F(PortTest, ADisabledQueueKeepsItsRingAndResumesWhereItStopped) {
    dev->stop_mode = transport::QueueStop::disable; // as vhost-user
    make(2);
    ASSERT_EQ(port->open(), 0);
    ASSERT_EQ(port->set_queue_pairs(2), 0);
    ASSERT_EQ(port->start(), 0);
    dp->log.clear();
    QueueSlot &tx1 = dp->slots[3];
    size_t from = dev->calls.size();
    ASSERT_EQ(port->stop_queue(tx1), 0);
    EXPECT_EQ(calls_since(from), (std::vector<std::string>{"disable 3"})) << "no GET_VRING_BASE, no reset";
    EXPECT_EQ(dp->log, (std::vector<std::string>{"pause 3", "reclaim 3"})) << "posted buffers stay";
    EXPECT_TRUE(tx1.stopped);
    EXPECT_TRUE(tx1.set_up) << "still set up at the device";
    // Queue pairs change while it is stopped: it stays disabled.
    from = dev->calls.size();
    ASSERT_EQ(port->set_queue_pairs(2), 0);
    EXPECT_FALSE(dev->enabled[3]);
    EXPECT_TRUE(dev->enabled[2]);
    from = dev->calls.size();
    dp->log.clear();
    ASSERT_EQ(port->start_queue(tx1), 0);
    EXPECT_EQ(calls_since(from), (std::vector<std::string>{"enable 3"})) << "no new set-up";
    EXPECT_EQ(dp->log, (std::vector<std::string>{"fill 3", "resume 3"}));
    EXPECT_FALSE(tx1.stopped);

    // A device that returns while a queue is stopped sets it up disabled.
    ASSERT_EQ(port->stop_queue(tx1), 0);
    dev->events.push_back(transport::Event::lost);
    dev->gone = true;
    port->watch_once();
    ASSERT_FALSE(port->attached());
    from = dev->calls.size();
    port->watch_once();
    ASSERT_TRUE(port->attached());
    const auto calls = calls_since(from);
    EXPECT_NE(std::find(calls.begin(), calls.end(), "setup 3"), calls.end());
    EXPECT_NE(std::find(calls.begin(), calls.end(), "disable 3"), calls.end());
    EXPECT_FALSE(dev->enabled[3]);
    EXPECT_TRUE(dev->enabled[1]);
}

TEST_F(PortTest, QueueStopIsRefusedWhenTheTransportCannotStopOneQueue) {
    dev->stop_mode = transport::QueueStop::none;
    make(1);
    ASSERT_EQ(port->open(), 0);
    ASSERT_EQ(port->start(), 0);
    const size_t from = dev->calls.size();
    dp->log.clear();
    EXPECT_EQ(port->stop_queue(dp->slots[1]), -ENOTSUP);
    EXPECT_TRUE(calls_since(from).empty());
    EXPECT_TRUE(dp->log.empty());
    EXPECT_FALSE(dp->slots[1].stopped);
}

TEST_F(PortTest, AStoppedQueueStaysOffTheDeviceUntilStartedEvenAcrossAReturn) {
    make(1);
    ASSERT_EQ(port->open(), 0);
    dp->slots[1].stopped = true; // a deferred tx queue
    size_t from = dev->calls.size();
    ASSERT_EQ(port->start(), 0);
    EXPECT_EQ(calls_since(from), (std::vector<std::string>{"sync_memory", "setup 0", "enable 0", "driver_ok"}));
    // The device goes away and comes back: still only the running queue.
    dev->events.push_back(transport::Event::lost);
    dev->gone = true;
    port->watch_once();
    ASSERT_FALSE(port->attached());
    from = dev->calls.size();
    port->watch_once();
    ASSERT_TRUE(port->attached());
    EXPECT_EQ(calls_since(from),
              (std::vector<std::string>{"attach", "negotiate", "sync_memory", "setup 0", "enable 0", "driver_ok"}));
    from = dev->calls.size();
    dp->log.clear();
    ASSERT_EQ(port->start_queue(dp->slots[1]), 0);
    EXPECT_EQ(calls_since(from), (std::vector<std::string>{"setup 1", "enable 1"}));
    EXPECT_EQ(dp->log, (std::vector<std::string>{"fill 1", "resume 1"}));
}

TEST_F(PortTest, AQueueThatFailsToStartIsStoppedAgainWithItsBuffersBack) {
    make(1);
    ASSERT_EQ(port->open(), 0);
    ASSERT_EQ(port->start(), 0);
    ASSERT_EQ(port->stop_queue(dp->slots[0]), 0);
    dev->fail_setup_index = 0;
    dp->log.clear();
    EXPECT_EQ(port->start_queue(dp->slots[0]), -EIO);
    EXPECT_EQ(dp->log, (std::vector<std::string>{"fill 0", "drain 0"}));
    EXPECT_TRUE(dp->slots[0].stopped);
    EXPECT_FALSE(dp->slots[0].set_up);
}

TEST_F(PortTest, ALossNotConfirmedUnderTheLockIsIgnored) {
    make(1);
    ASSERT_EQ(port->open(), 0);
    ASSERT_EQ(port->start(), 0);
    dev->events.push_back(transport::Event::lost); // but gone() says it is still there
    port->watch_once();
    EXPECT_EQ(port->losses(), 0u);
    EXPECT_TRUE(port->attached());
    EXPECT_TRUE(port->link_up());
}

TEST_F(PortTest, ResetRenegotiatesAndARefusingDeviceIsDetached) {
    make(1);
    ASSERT_EQ(port->open(), 0);
    size_t from = dev->calls.size();
    ASSERT_EQ(port->reset(), 0);
    EXPECT_EQ(calls_since(from), (std::vector<std::string>{"reset", "negotiate"}));
    dev->refuse_reset = true;
    from = dev->calls.size();
    EXPECT_EQ(port->reset(), 0);
    EXPECT_EQ(calls_since(from), (std::vector<std::string>{"reset", "detach"}));
    EXPECT_FALSE(port->attached());
}

TEST_F(PortTest, MemoryChangesAreSyncedWhileStarted) {
    make(1);
    ASSERT_EQ(port->open(), 0);
    dev->memory_stale = true;
    port->watch_once();
    EXPECT_EQ(port->memory_syncs(), 0u) << "not started: the next start syncs anyway";
    ASSERT_EQ(port->start(), 0);
    dev->memory_stale = true;
    port->watch_once();
    EXPECT_EQ(port->memory_syncs(), 1u);
    EXPECT_EQ(dev->count("sync_memory"), 2u);
}

TEST_F(PortTest, ConfigChangeReadsTheLinkFromTheDevice) {
    make(1);
    ASSERT_EQ(port->open(), 0);
    ASSERT_EQ(port->start(), 0);
    dev->link_up = false;
    dev->events.push_back(transport::Event::config_changed);
    port->watch_once();
    EXPECT_FALSE(port->link_up());
    dev->link_up = true;
    dev->events.push_back(transport::Event::config_changed);
    port->watch_once();
    EXPECT_TRUE(port->link_up());
}

TEST_F(PortTest, ClosingThePortClosesTheTransport) {
    make(1);
    ASSERT_EQ(port->open(), 0);
    port.reset();
    EXPECT_EQ(dev->calls.back(), "close");
}
