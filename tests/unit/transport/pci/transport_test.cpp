// The virtio-pci transport against an emulated modern virtio-net function (no EAL, no
// VFIO): capability walk, status handshake, features, queue programming, doorbells,
// device config, stop and restart, and bad devices that must fail with a clear error.
#include <gtest/gtest.h>

#include "dataplane/net/virtio_net.hpp"
#include "drivers/net/vpmd/port.hpp"
#include "drivers/transport/pci/transport.hpp"
#include "mock/fake_transport.hpp"
#include "mock/virtio_pci_device.hpp"

using namespace vpmd;
using namespace vpmd::test;
using transport::QueueRole;

namespace {

// The transport owns its Function; this one forwards to a device the test keeps, so the
// test can still look at the device after the transport rejected or closed it.
class Forward final : public pci::Function {
public:
    explicit Forward(EmulatedVirtioPci &d) : d_(d) {}
    std::string address() const override { return d_.address(); }
    bool read_config(uint32_t off, void *b, uint32_t n) const override { return d_.read_config(off, b, n); }
    bool write_config(uint32_t off, const void *b, uint32_t n) override { return d_.write_config(off, b, n); }
    uint64_t bar_length(uint8_t bar) const override { return d_.bar_length(bar); }
    uint32_t read(uint8_t bar, uint64_t off, uint8_t w) const override { return d_.read(bar, off, w); }
    void write(uint8_t bar, uint64_t off, uint8_t w, uint32_t v) override { d_.write(bar, off, w, v); }
    volatile void *notify_address(uint8_t bar, uint64_t off) override { return d_.notify_address(bar, off); }
    transport::Result<std::vector<int>> enable_msix(uint16_t n) override { return d_.enable_msix(n); }

private:
    EmulatedVirtioPci &d_;
};

struct Opened {
    std::unique_ptr<EmulatedVirtioPci> owner;
    EmulatedVirtioPci *dev = nullptr;
    std::unique_ptr<transport::Transport> t;
    transport::Error error;
};

Opened open(EmulatedVirtioPci::Knobs k = {}, bool need_iommu = true, uint64_t offered_clear = 0) {
    Opened o;
    o.owner = std::make_unique<EmulatedVirtioPci>(k);
    o.dev = o.owner.get();
    o.dev->offered &= ~offered_clear;
    auto t = pci::open_transport(std::make_unique<Forward>(*o.dev), std::make_unique<OffsetDma>(),
                                 pci::TransportOptions{need_iommu});
    if (t) {
        o.t = std::move(*t);
    } else {
        o.error = t.error();
    }
    return o;
}

transport::QueueSetup queue(uint16_t index, uint16_t size = 256) {
    transport::QueueSetup q;
    q.index = index;
    q.size = size;
    q.desc_addr = 0x1000000ULL * (index + 1);
    q.driver_area_addr = q.desc_addr + 0x1000;
    q.device_area_addr = q.desc_addr + 0x2000;
    return q;
}

constexpr uint64_t v1 = ring::feature::version_1;

transport::QueueSetup queue_of(transport::QueueRole role, uint16_t index) {
    transport::QueueSetup q = queue(index);
    q.role = role;
    return q;
}

// Whether an eventfd was signalled (reading it clears it).
bool signalled(int fd) {
    uint64_t v = 0;
    return ::read(fd, &v, sizeof(v)) == ssize_t(sizeof(v)) && v != 0;
}

} // namespace

TEST(PciTransport, HandshakeNegotiatesWhatBothSidesHavePlusTransportBits) {
    Opened o = open();
    ASSERT_TRUE(o.t) << o.error.what;
    ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
    EXPECT_EQ(o.dev->status_log.front(), 0) << "attach starts with a reset";
    auto f = o.t->negotiate(v1 | ring::feature::ring_packed | net::feature::mrg_rxbuf | net::feature::mq |
                            ring::feature::event_idx);
    ASSERT_TRUE(f) << f.error().what;
    // The device's control queue comes with MQ: the mediated control queue relays to it.
    const uint64_t want = v1 | ring::feature::ring_packed | net::feature::mrg_rxbuf | ring::feature::access_platform |
                          net::feature::mac | net::feature::status | net::feature::ctrl_vq | net::feature::mq;
    EXPECT_EQ(*f, want) << "event_idx is not offered";
    EXPECT_EQ(o.dev->driver_features, want);
    EXPECT_EQ(o.dev->status, pci::status::acknowledge | pci::status::driver | pci::status::features_ok);
    auto info = o.t->device_info();
    ASSERT_TRUE(info);
    EXPECT_EQ(info->max_queue_pairs, 1u) << "the device config says 0 pairs: taken as 1";
    ASSERT_TRUE(info->mac);
    EXPECT_EQ((*info->mac)[5], 0x56);
    EXPECT_EQ(info->link_up, true);
}

TEST(PciTransport, DeviceConfigGivesMtuAndQueuePairsWhenNegotiated) {
    Opened o = open();
    o.dev->offered |= net::feature::mtu;
    o.dev->set_config(1400, 4);
    ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
    ASSERT_TRUE(o.t->negotiate(v1 | net::feature::mq));
    auto info = o.t->device_info();
    ASSERT_TRUE(info);
    EXPECT_EQ(info->mtu, std::optional<uint16_t>(1400));
    EXPECT_EQ(info->max_queue_pairs, 4u);
    o.dev->offered &= ~net::feature::mtu;
    ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
    ASSERT_TRUE(o.t->negotiate(v1));
    info = o.t->device_info();
    ASSERT_TRUE(info);
    EXPECT_FALSE(info->mtu) << "no VIRTIO_NET_F_MTU: the config field means nothing";
    EXPECT_EQ(info->max_queue_pairs, 1u) << "MQ not asked for";
}

TEST(PciTransport, QueueSetupProgramsTheDeviceAndTheDoorbellRingsIt) {
    Opened o = open();
    ASSERT_TRUE(o.t);
    ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
    ASSERT_TRUE(o.t->negotiate(v1));
    ASSERT_TRUE(o.t->setup_queue(queue(1, 128)));
    const EmulatedQueue &q = o.dev->queues[1];
    EXPECT_EQ(q.size, 128);
    EXPECT_EQ(q.desc, queue(1).desc_addr);
    EXPECT_EQ(q.driver, queue(1).driver_area_addr);
    EXPECT_EQ(q.device, queue(1).device_area_addr);
    EXPECT_EQ(q.msix, pci::no_vector) << "we poll: no MSI-X vector";
    ASSERT_TRUE(o.t->enable_queue(1, true));
    EXPECT_EQ(q.enable, 1);
    EXPECT_FALSE(o.t->enable_queue(1, false)) << "virtio-pci cannot disable a queue";
    auto n = o.t->notifier(1);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->kind, transport::Notifier::Kind::mmio);
    n->fire(5);
    // queue 1's notify_off is 1, the multiplier 4: its doorbell is 4 bytes in.
    EXPECT_EQ(o.dev->notify_word(4) & 0xffff, 1u);
    EXPECT_FALSE(o.t->notifier(2)) << "a queue never set up has no doorbell";
    ASSERT_TRUE(o.t->driver_ok());
    EXPECT_TRUE(o.dev->status & pci::status::driver_ok);
}

TEST(PciTransport, NotificationDataPutsTheAvailIndexInTheDoorbell) {
    Opened o = open();
    o.dev->offered |= ring::feature::notification_data;
    ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
    auto f = o.t->negotiate(v1);
    ASSERT_TRUE(f);
    EXPECT_TRUE(*f & ring::feature::notification_data);
    ASSERT_TRUE(o.t->setup_queue(queue(2)));
    auto n = o.t->notifier(2);
    ASSERT_TRUE(n);
    n->fire(0x8007);
    EXPECT_EQ(o.dev->notify_word(8), 2u | (0x8007u << 16));
}

TEST(PciTransport, StoppedQueuesAreSetUpAgainAfterAReset) {
    Opened o = open();
    ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
    ASSERT_TRUE(o.t->negotiate(v1 | net::feature::mrg_rxbuf));
    ASSERT_TRUE(o.t->setup_queue(queue(0)));
    ASSERT_TRUE(o.t->enable_queue(0, true));
    ASSERT_TRUE(o.t->driver_ok());
    ASSERT_TRUE(o.t->stop_queue(0));
    EXPECT_EQ(o.dev->status, 0) << "stopping queues resets the device";
    EXPECT_EQ(o.dev->queues[0].enable, 0);
    ASSERT_TRUE(o.t->stop_queue(1)); // already stopped: nothing more
    ASSERT_TRUE(o.t->setup_queue(queue(0)));
    EXPECT_EQ(o.dev->status, pci::status::acknowledge | pci::status::driver | pci::status::features_ok);
    EXPECT_TRUE(o.dev->driver_features & net::feature::mrg_rxbuf) << "the same features again";
}

TEST(PciTransport, WithRingResetAStoppedQueueComesBackWhileTheDeviceRuns) {
    Opened o = open();
    o.dev->offered |= ring::feature::ring_reset;
    ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
    auto f = o.t->negotiate(v1);
    ASSERT_TRUE(f);
    EXPECT_TRUE(*f & ring::feature::ring_reset);
    ASSERT_TRUE(o.t->setup_queue(queue(0)));
    ASSERT_TRUE(o.t->enable_queue(0, true));
    ASSERT_TRUE(o.t->driver_ok());
    const size_t status_writes = o.dev->status_log.size();
    ASSERT_TRUE(o.t->stop_queue(0));
    EXPECT_EQ(o.dev->queue_resets, 1u);
    EXPECT_EQ(o.dev->queues[0].enable, 0);
    EXPECT_TRUE(o.dev->status & pci::status::driver_ok) << "only the queue was reset";
    ASSERT_TRUE(o.t->setup_queue(queue(0, 128)));
    ASSERT_TRUE(o.t->enable_queue(0, true));
    ASSERT_TRUE(o.t->driver_ok());
    EXPECT_EQ(o.dev->queues[0].size, 128);
    EXPECT_EQ(o.dev->queues[0].enable, 1);
    EXPECT_EQ(o.dev->status_log.size(), status_writes) << "no device reset, no renegotiation";
}

TEST(PciTransport, WithRingResetAQueueLeftOutAtDriverOkIsSetUpLaterWhileTheDeviceRuns) {
    Opened o = open();
    o.dev->offered |= ring::feature::ring_reset;
    ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
    ASSERT_TRUE(o.t->negotiate(v1));
    EXPECT_EQ(o.t->queue_stop(), transport::QueueStop::reset);
    ASSERT_TRUE(o.t->setup_queue(queue(0)));
    ASSERT_TRUE(o.t->enable_queue(0, true));
    ASSERT_TRUE(o.t->driver_ok()); // queue 1 deferred
    const size_t status_writes = o.dev->status_log.size();
    ASSERT_TRUE(o.t->setup_queue(queue(1)));
    ASSERT_TRUE(o.t->enable_queue(1, true));
    EXPECT_EQ(o.dev->queues[1].enable, 1);
    EXPECT_EQ(o.dev->queues[0].enable, 1) << "the running queue untouched";
    EXPECT_EQ(o.dev->status_log.size(), status_writes) << "no device reset";
}

TEST(PciTransport, WithoutRingResetQueuesDoNotStopAlone) {
    Opened o = open();
    ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
    ASSERT_TRUE(o.t->negotiate(v1));
    EXPECT_EQ(o.t->queue_stop(), transport::QueueStop::none);
}

TEST(PciTransport, EventsReportNeedsResetAndConfigChanges) {
    Opened o = open();
    ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
    ASSERT_TRUE(o.t->negotiate(v1));
    EXPECT_EQ(o.t->wait_event(std::chrono::milliseconds(0)), transport::Event::none);
    o.dev->link_up(false);
    EXPECT_EQ(o.t->wait_event(std::chrono::milliseconds(0)), transport::Event::config_changed);
    auto info = o.t->device_info();
    ASSERT_TRUE(info);
    EXPECT_EQ(info->link_up, false);
    o.dev->status |= pci::status::needs_reset;
    EXPECT_EQ(o.t->wait_event(std::chrono::milliseconds(0)), transport::Event::lost);
    EXPECT_TRUE(o.t->gone());
    o.t->detach();
    EXPECT_EQ(o.dev->status, 0);
    ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
    EXPECT_FALSE(o.t->gone());
}

TEST(PciTransport, BadDevicesFailWithAClearErrorAndAreLeftAlone) {
    struct Case {
        EmulatedVirtioPci::Knobs k;
        int code;
        const char *says;
    };
    EmulatedVirtioPci::Knobs no_common, small_bar, no_caps;
    no_common.no_common = true;
    small_bar.bar_len = 0x2800; // notify region at 0x3000 is not mapped
    no_caps.no_cap_list = true;
    for (const Case &c : {Case{no_common, -ENODEV, "missing virtio capability: common"},
                          Case{small_bar, -EINVAL, "lies outside BAR 4"},
                          Case{no_caps, -ENODEV, "no PCI capability list"}}) {
        Opened o = open(c.k);
        EXPECT_FALSE(o.t);
        EXPECT_EQ(o.error.code, c.code);
        EXPECT_NE(o.error.what.find(c.says), std::string::npos) << o.error.what;
        EXPECT_TRUE(o.dev->status_log.empty()) << "a rejected device is not touched";
    }
}

TEST(PciTransport, NegotiationFailuresAreClear) {
    { // legacy-only
        Opened o = open({}, true, ring::feature::version_1);
        ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
        auto f = o.t->negotiate(v1);
        ASSERT_FALSE(f);
        EXPECT_EQ(f.error().code, -ENOTSUP);
        EXPECT_NE(f.error().what.find("VERSION_1"), std::string::npos);
        EXPECT_TRUE(o.dev->status & pci::status::failed);
    }
    { // would bypass the IOMMU
        Opened o = open({}, true, ring::feature::access_platform);
        ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
        auto f = o.t->negotiate(v1);
        ASSERT_FALSE(f);
        EXPECT_NE(f.error().what.find("ACCESS_PLATFORM"), std::string::npos);
    }
    { // FEATURES_OK refused
        EmulatedVirtioPci::Knobs k;
        k.refuse_features_ok = true;
        Opened o = open(k);
        ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
        auto f = o.t->negotiate(v1);
        ASSERT_FALSE(f);
        EXPECT_NE(f.error().what.find("refused features"), std::string::npos);
    }
}

TEST(PciTransport, QueueSizesAndNotifyOffsetsFromTheDeviceAreChecked) {
    EmulatedVirtioPci::Knobs k;
    k.bad_notify_off = 0x4000; // x4 lands far outside the 4 KiB notify region
    Opened o = open(k);
    ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
    ASSERT_TRUE(o.t->negotiate(v1));
    auto big = o.t->setup_queue(queue(0, 512));
    ASSERT_FALSE(big);
    EXPECT_NE(big.error().what.find("at most 256"), std::string::npos) << big.error().what;
    o.dev->queues[0].max_size = 0;
    o.dev->queues[0].size = 0;
    auto none = o.t->setup_queue(queue(0));
    ASSERT_FALSE(none);
    auto off = o.t->setup_queue(queue(1));
    ASSERT_FALSE(off);
    EXPECT_NE(off.error().what.find("notify offset"), std::string::npos) << off.error().what;
    EXPECT_FALSE(o.t->setup_queue(queue(7))) << "beyond num_queues";
}

// The control core over the PCI transport: bring-up, stop (device reset) and start again.
namespace {
class Slots final : public pmd::DataPath {
public:
    Slots() {
        for (uint16_t i = 0; i < 2; ++i) {
            pmd::QueueSlot s;
            s.role = i == 0 ? QueueRole::rx : QueueRole::tx;
            s.index = i;
            s.size = 256;
            s.desc_addr = queue(i).desc_addr;
            s.driver_area_addr = queue(i).driver_area_addr;
            s.device_area_addr = queue(i).device_area_addr;
            slots.push_back(s);
        }
    }
    void each_queue(const std::function<void(pmd::QueueSlot &)> &fn) override {
        for (auto &s : slots) {
            fn(s);
        }
    }
    void pause() override {}
    void resume() override {}
    void drain() override {}
    void fill() override {}
    void pause_queue(pmd::QueueSlot &) override {}
    void resume_queue(pmd::QueueSlot &) override {}
    void drain_queue(pmd::QueueSlot &) override {}
    void fill_queue(pmd::QueueSlot &) override {}
    void reclaim_queue(pmd::QueueSlot &) override {}
    void link_changed(bool up) override { links.push_back(up); }
    std::vector<pmd::QueueSlot> slots;
    std::vector<bool> links;
};
} // namespace

TEST(PciTransport, ThePortControlCoreBringsTheDeviceUpStopsAndRestartsIt) {
    Opened o = open();
    EmulatedVirtioPci *dev = o.dev;
    Slots dp;
    {
        pmd::PortOptions po;
        po.ring_features = ring::feature::ring_packed;
        pmd::PortControl port("pci0", std::move(o.t), po, dp);
        ASSERT_EQ(port.open(), 0);
        ASSERT_EQ(port.start(), 0);
        EXPECT_TRUE(dev->status & pci::status::driver_ok);
        EXPECT_EQ(dev->queues[0].enable, 1);
        EXPECT_EQ(dev->queues[1].enable, 1);
        EXPECT_EQ(dp.slots[1].notifier.kind, transport::Notifier::Kind::mmio);
        port.stop();
        EXPECT_EQ(dev->status, 0);
        ASSERT_EQ(port.start(), 0);
        EXPECT_TRUE(dev->status & pci::status::driver_ok);
        EXPECT_EQ(dev->queues[1].enable, 1);
        EXPECT_EQ(dp.links, (std::vector<bool>{true, false, true}));
    }
    EXPECT_EQ(dev->status, 0) << "closing the port leaves the device reset";
}

// Rx interrupts over MSI-X: rx queue q is given vector q + 1, routed to its own eventfd;
// tx and control queues get no vector. The vectors are written again whenever a queue is
// set up again (a device reset forgets them).
TEST(PciTransport, EachRxQueueGetsItsOwnMsixVectorAndEventfd) {
    Opened o = open();
    o.dev->queues.resize(5); // two queue pairs and the control queue
    o.dev->set_config(0, 2);
    ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
    ASSERT_TRUE(o.t->negotiate(v1 | net::feature::mq));
    ASSERT_TRUE(o.t->device_info()); // the control queue is queue 4
    auto fd0 = o.t->interrupt_fd(0);
    auto fd1 = o.t->interrupt_fd(2);
    ASSERT_TRUE(fd0) << fd0.error().what;
    ASSERT_TRUE(fd1) << fd1.error().what;
    EXPECT_NE(*fd0, *fd1);
    EXPECT_EQ(o.dev->msix_routed(), 2u) << "one vector per rx queue of the device";
    auto tx = o.t->interrupt_fd(1);
    ASSERT_FALSE(tx);
    EXPECT_EQ(tx.error().code, -EINVAL);
    EXPECT_FALSE(o.t->interrupt_fd(4)) << "the control queue is not an rx queue";
    EXPECT_EQ(*o.t->interrupt_fd(2), *fd1) << "asked again: the same eventfd";
    for (int round = 0; round < 2; ++round) {
        ASSERT_TRUE(o.t->setup_queue(queue_of(QueueRole::rx, 0)));
        ASSERT_TRUE(o.t->setup_queue(queue_of(QueueRole::tx, 1)));
        ASSERT_TRUE(o.t->setup_queue(queue_of(QueueRole::rx, 2)));
        ASSERT_TRUE(o.t->setup_queue(queue_of(QueueRole::tx, 3)));
        EXPECT_EQ(o.dev->queues[0].msix, 1) << "round " << round;
        EXPECT_EQ(o.dev->queues[2].msix, 2) << "round " << round;
        EXPECT_EQ(o.dev->queues[1].msix, pci::no_vector) << "tx queues are polled";
        EXPECT_EQ(o.dev->queues[3].msix, pci::no_vector);
        for (uint16_t i = 0; i < 4; ++i) {
            ASSERT_TRUE(o.t->enable_queue(i, true));
        }
        ASSERT_TRUE(o.t->driver_ok());
        EXPECT_EQ(o.dev->queues[4].msix, pci::no_vector) << "the control queue is polled";
        o.dev->signal(o.dev->queues[2].msix);
        EXPECT_TRUE(signalled(*fd1)) << "queue 2's vector reaches rx queue 1's eventfd";
        EXPECT_FALSE(signalled(*fd0));
        o.dev->signal(o.dev->queues[0].msix);
        EXPECT_TRUE(signalled(*fd0));
        EXPECT_FALSE(signalled(*fd1));
        // Without RING_RESET, stopping a queue resets the device: its vectors are gone
        // until the queues are set up again (the next round).
        ASSERT_TRUE(o.t->stop_queue(0));
        EXPECT_EQ(o.dev->queues[0].msix, pci::no_vector);
    }
}

TEST(PciTransport, RxInterruptsWithoutUsableMsixAreRefusedByName) {
    struct Case {
        const char *name;
        EmulatedVirtioPci::Knobs k;
        uint16_t queue;
        int code;
        const char *says;
    };
    EmulatedVirtioPci::Knobs none, undeliverable, small;
    none.msix_vectors = 0;
    undeliverable.msix_delivery = false;
    small.msix_vectors = 2; // vector 0 and one more: rx queue 0 only
    for (const Case &c : {Case{"no capability", none, 0, -ENOTSUP, "no MSI-X capability"},
                          Case{"no delivery", undeliverable, 0, -ENOTSUP, "MSI-X delivery"},
                          Case{"too few vectors", small, 2, -ENOSPC, "needs MSI-X vector 2"}}) {
        Opened o = open(c.k);
        o.dev->queues.resize(5);
        o.dev->set_config(0, 2);
        ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
        ASSERT_TRUE(o.t->negotiate(v1 | net::feature::mq));
        ASSERT_TRUE(o.t->device_info());
        auto fd = o.t->interrupt_fd(c.queue);
        ASSERT_FALSE(fd) << c.name;
        EXPECT_EQ(fd.error().code, c.code) << c.name;
        EXPECT_NE(fd.error().what.find(c.says), std::string::npos) << c.name << ": " << fd.error().what;
    }
    EmulatedVirtioPci::Knobs refuse;
    refuse.refuse_vectors = true;
    Opened o = open(refuse);
    ASSERT_TRUE(o.t->attach(std::chrono::milliseconds(0)));
    ASSERT_TRUE(o.t->negotiate(v1));
    ASSERT_TRUE(o.t->interrupt_fd(0));
    auto st = o.t->setup_queue(queue_of(QueueRole::rx, 0));
    ASSERT_FALSE(st) << "a vector the device did not take would leave the sleeper deaf";
    EXPECT_EQ(st.error().code, -ENOSPC);
    EXPECT_NE(st.error().what.find("did not take MSI-X vector 1"), std::string::npos) << st.error().what;
    EXPECT_TRUE(o.t->setup_queue(queue_of(QueueRole::tx, 1))) << "a polled queue needs no vector";
}
