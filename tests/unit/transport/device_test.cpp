// VhostUserDevice against a scripted back-end (no EAL): request sequences and payloads,
// REPLY_ACK, memory slots past 8 regions, refusals, silence, hang-ups, and no fd left open
// afterwards.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/mman.h>

#include "drivers/transport/vhost_user/device.hpp"
#include "tests/mock/vhost_user_backend.hpp"

namespace vpmd::vhost_user {
namespace {

using namespace std::chrono_literals;
using test::FakeBackend;
using test::FakeConfig;
using test::Received;

constexpr uint64_t version_1 = 1ULL << 32;
constexpr uint64_t mrg_rxbuf = 1ULL << 15;
constexpr uint64_t ring_packed = 1ULL << 34;

size_t open_fds() {
    size_t n = 0;
    DIR *d = ::opendir("/proc/self/fd");
    while (d != nullptr && ::readdir(d) != nullptr) {
        ++n;
    }
    if (d != nullptr) {
        ::closedir(d);
    }
    return n;
}

ino_t inode_of(int fd) {
    struct stat sb {};
    EXPECT_EQ(::fstat(fd, &sb), 0);
    return sb.st_ino;
}

// Memory regions over memfds the test owns.
struct Regions {
    std::vector<UniqueFd> fds;
    std::vector<dma::MemRegion> table;
    explicit Regions(size_t n) {
        for (size_t i = 0; i < n; ++i) {
            fds.emplace_back(::memfd_create("region", MFD_CLOEXEC));
            EXPECT_EQ(::ftruncate(fds.back().get(), 4096), 0);
            const uint64_t va = 0x100000000ULL + i * 0x200000;
            table.push_back(dma::MemRegion{va, 4096, va, 0, fds.back().get()});
        }
    }
};

std::vector<Request> requests_of(const std::vector<Received> &rs) {
    std::vector<Request> out;
    for (const auto &r : rs) {
        out.push_back(r.msg.request());
    }
    return out;
}

class DeviceTest : public ::testing::Test {
protected:
    void SetUp() override {
        path_ = test::temp_socket_path(::testing::UnitTest::GetInstance()->current_test_info()->name());
    }
    void TearDown() override { ::unlink(path_.c_str()); }

    DeviceOptions client_opts(std::chrono::milliseconds reply_timeout = 5s) const {
        DeviceOptions o;
        o.path = path_;
        o.mode = Mode::client;
        o.reply_timeout = reply_timeout;
        return o;
    }

    std::string path_;
};

TEST_F(DeviceTest, NegotiatesFeaturesProtocolFeaturesAndStatus) {
    FakeBackend be(FakeConfig{}, path_, true);
    ASSERT_TRUE(be.listening());
    VhostUserDevice dev(client_opts());
    ASSERT_TRUE(dev.connect(5s));

    auto f = dev.negotiate(version_1 | ring_packed); // packed is not offered
    ASSERT_TRUE(f) << describe(f.error());
    EXPECT_EQ(*f, version_1);
    EXPECT_EQ(dev.offered_features(), version_1 | mrg_rxbuf);
    EXPECT_EQ(dev.protocol_features(), pf::mq | pf::reply_ack | pf::status | pf::configure_mem_slots);

    const auto rs = be.received();
    const std::vector<Request> want{Request::set_owner,   Request::get_features, Request::get_protocol_features,
                                    Request::set_protocol_features, Request::set_status, Request::set_features,
                                    Request::set_status,  Request::get_status};
    ASSERT_EQ(requests_of(rs), want);
    EXPECT_FALSE(rs[0].msg.needs_reply());  // REPLY_ACK not yet negotiated
    EXPECT_FALSE(rs[3].msg.needs_reply());
    EXPECT_EQ(rs[3].msg.read<uint64_t>(), dev.protocol_features());
    EXPECT_TRUE(rs[5].msg.needs_reply());
    EXPECT_EQ(rs[5].msg.read<uint64_t>(), version_1 | f_protocol_features);
    EXPECT_EQ(rs[6].msg.read<uint64_t>(), uint64_t{status::acknowledge | status::driver | status::features_ok});

    auto qp = dev.queue_pairs();
    ASSERT_TRUE(qp);
    EXPECT_EQ(*qp, 4u);
}

TEST_F(DeviceTest, ProtocolFeaturesAskedForAreMasked) {
    FakeBackend be(FakeConfig{}, path_, true);
    DeviceOptions o = client_opts();
    o.protocol_features = pf::reply_ack | pf::log_shmfd; // log_shmfd is not ours to ask
    VhostUserDevice dev(o);
    ASSERT_TRUE(dev.connect(5s));
    ASSERT_TRUE(dev.negotiate(version_1));
    EXPECT_EQ(dev.protocol_features(), pf::reply_ack);
    auto qp = dev.queue_pairs(); // without MQ: one pair, nothing asked
    ASSERT_TRUE(qp);
    EXPECT_EQ(*qp, 1u);
    EXPECT_EQ(be.received().back().msg.request(), Request::set_features);
}

TEST_F(DeviceTest, BackendWithoutProtocolFeatures) {
    FakeConfig cfg;
    cfg.features = version_1;
    FakeBackend be(cfg, path_, true);
    VhostUserDevice dev(client_opts());
    ASSERT_TRUE(dev.connect(5s));
    ASSERT_TRUE(dev.negotiate(version_1 | mrg_rxbuf));
    EXPECT_EQ(dev.features(), version_1);
    EXPECT_EQ(dev.protocol_features(), 0u);
    ASSERT_TRUE(be.wait_requests(3)); // SET_FEATURES has no reply to wait for without REPLY_ACK
    EXPECT_EQ(requests_of(be.received()),
              (std::vector<Request>{Request::set_owner, Request::get_features, Request::set_features}));
    EXPECT_FALSE(be.received().back().msg.needs_reply());

    auto st = dev.set_status(status::driver_ok);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::not_supported);
    EXPECT_TRUE(dev.driver_ok()); // nothing to send without STATUS
    EXPECT_TRUE(dev.enable_queue(0, true));
    auto dis = dev.enable_queue(0, false);
    ASSERT_FALSE(dis);
    EXPECT_EQ(dis.error().code, Errc::not_supported);
    EXPECT_TRUE(dev.connected());
}

TEST_F(DeviceTest, SplitQueueSetupSequenceAndNotify) {
    FakeBackend be(FakeConfig{}, path_, true);
    VhostUserDevice dev(client_opts());
    ASSERT_TRUE(dev.connect(5s));
    ASSERT_TRUE(dev.negotiate(version_1));
    const size_t before = be.received().size();

    const QueueSetup q{1, 256, 0x7f0000001000, 0x7f0000002000, 0x7f0000003000, 17, true, false};
    ASSERT_TRUE(dev.setup_queue(q));
    ASSERT_TRUE(dev.enable_queue(1, true));
    auto rs = be.received();
    rs.erase(rs.begin(), rs.begin() + static_cast<ptrdiff_t>(before));
    ASSERT_EQ(requests_of(rs), (std::vector<Request>{Request::set_vring_num, Request::set_vring_base,
                                                      Request::set_vring_addr, Request::set_vring_kick,
                                                      Request::set_vring_call, Request::set_vring_enable}));
    for (const auto &r : rs) {
        EXPECT_TRUE(r.msg.needs_reply()) << to_string(r.msg.request());
    }
    EXPECT_EQ(rs[0].msg.read<VringState>().num, 256u);
    EXPECT_EQ(rs[1].msg.read<VringState>().num, 17u);
    const auto addr = rs[2].msg.read<VringAddr>();
    EXPECT_EQ(addr.index, 1u);
    EXPECT_EQ(addr.desc_user_addr, q.desc_addr);
    EXPECT_EQ(addr.avail_user_addr, q.driver_area_addr);
    EXPECT_EQ(addr.used_user_addr, q.device_area_addr);
    EXPECT_EQ(rs[3].msg.read<uint64_t>(), 1u);
    ASSERT_EQ(rs[3].fd_inodes.size(), 1u);
    EXPECT_EQ(rs[3].fd_inodes[0], inode_of(dev.kick_fd(1)));
    ASSERT_EQ(rs[4].fd_inodes.size(), 1u);
    EXPECT_EQ(rs[4].fd_inodes[0], inode_of(dev.call_fd(1)));
    EXPECT_EQ(rs[5].msg.read<VringState>().num, 1u);

    dev.notify(1);
    dev.notify(1);
    uint64_t kicks = 0;
    ASSERT_EQ(::read(dev.kick_fd(1), &kicks, sizeof(kicks)), 8);
    EXPECT_EQ(kicks, 2u);
}

TEST_F(DeviceTest, PackedBaseCarriesTheWrapCounter) {
    FakeConfig cfg;
    cfg.vring_base = 0x8000 | 7;
    FakeBackend be(cfg, path_, true);
    VhostUserDevice dev(client_opts());
    ASSERT_TRUE(dev.connect(5s));
    ASSERT_TRUE(dev.negotiate(version_1));
    ASSERT_TRUE(dev.setup_queue(QueueSetup{0, 100, 0x1000, 0x2000, 0x3000, 5, false, true}));
    ASSERT_TRUE(dev.setup_queue(QueueSetup{2, 100, 0x1000, 0x2000, 0x3000, 5, true, true}));
    auto rs = be.received();
    std::vector<uint32_t> bases;
    for (const auto &r : rs) {
        if (r.msg.request() == Request::set_vring_base) {
            bases.push_back(r.msg.read<VringState>().num);
        }
    }
    EXPECT_EQ(bases, (std::vector<uint32_t>{5, 0x8005}));

    auto b = dev.stop_queue(0);
    ASSERT_TRUE(b);
    EXPECT_EQ(*b, (VringBase{7, true}));

    // Odd packed sizes are fine; split sizes must be powers of two; base < 2^15 for packed.
    EXPECT_FALSE(dev.setup_queue(QueueSetup{0, 100, 0, 0, 0, 0, true, false}));
    EXPECT_FALSE(dev.setup_queue(QueueSetup{0, 128, 0, 0, 0, 0x8000, true, true}));
    EXPECT_TRUE(dev.connected()); // argument errors keep the connection
}

TEST_F(DeviceTest, MemTableWithFds) {
    FakeBackend be(FakeConfig{}, path_, true);
    VhostUserDevice dev(client_opts());
    ASSERT_TRUE(dev.connect(5s));
    ASSERT_TRUE(dev.negotiate(version_1));
    Regions regions(3);
    ASSERT_TRUE(dev.set_mem_table(regions.table));
    const Received r = be.received().back();
    ASSERT_EQ(r.msg.request(), Request::set_mem_table);
    auto table = decode_mem_table(r.msg);
    ASSERT_TRUE(table);
    ASSERT_EQ(table->size(), 3u);
    ASSERT_EQ(r.fd_inodes.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(r.fd_inodes[i], inode_of(regions.fds[i].get()));
        EXPECT_EQ((*table)[i].guest_phys_addr, regions.table[i].guest_phys_addr);
        EXPECT_EQ((*table)[i].userspace_addr, regions.table[i].userspace_addr);
    }
}

TEST_F(DeviceTest, MoreThanEightRegionsUseMemorySlots) {
    FakeConfig cfg;
    cfg.max_mem_slots = 12;
    FakeBackend be(cfg, path_, true);
    VhostUserDevice dev(client_opts());
    ASSERT_TRUE(dev.connect(5s));
    ASSERT_TRUE(dev.negotiate(version_1));
    Regions regions(13);
    std::vector<dma::MemRegion> ten(regions.table.begin(), regions.table.begin() + 10);
    size_t mark = be.received().size();
    ASSERT_TRUE(dev.set_mem_table(ten));
    auto rs = be.received();
    ASSERT_EQ(rs.size() - mark, 11u);
    EXPECT_EQ(rs[mark].msg.request(), Request::get_max_mem_slots);
    for (size_t i = 0; i < 10; ++i) {
        const Received &r = rs[mark + 1 + i];
        ASSERT_EQ(r.msg.request(), Request::add_mem_reg);
        ASSERT_EQ(r.fd_inodes.size(), 1u);
        EXPECT_EQ(r.fd_inodes[0], inode_of(regions.fds[i].get()));
        auto w = decode_mem_reg(r.msg);
        ASSERT_TRUE(w);
        EXPECT_EQ(w->guest_phys_addr, ten[i].guest_phys_addr);
    }

    // Memory changed: region 3 went away, region 10 came. Only the difference is sent.
    std::vector<dma::MemRegion> next = ten;
    next.erase(next.begin() + 3);
    next.push_back(regions.table[10]);
    mark = be.received().size();
    ASSERT_TRUE(dev.set_mem_table(next));
    rs = be.received();
    ASSERT_EQ(rs.size() - mark, 2u);
    EXPECT_EQ(rs[mark].msg.request(), Request::rem_mem_reg);
    EXPECT_TRUE(rs[mark].fd_inodes.empty());
    EXPECT_EQ(decode_mem_reg(rs[mark].msg)->guest_phys_addr, regions.table[3].guest_phys_addr);
    EXPECT_EQ(rs[mark + 1].msg.request(), Request::add_mem_reg);

    // Past the back-end's slots: refused before anything is sent.
    mark = be.received().size();
    auto st = dev.set_mem_table(regions.table);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::too_many_regions);
    EXPECT_EQ(be.received().size(), mark);
    EXPECT_TRUE(dev.connected());
}

TEST_F(DeviceTest, MoreThanEightRegionsWithoutSlotsIsAClearError) {
    FakeConfig cfg;
    cfg.protocol_features = pf::reply_ack;
    FakeBackend be(cfg, path_, true);
    VhostUserDevice dev(client_opts());
    ASSERT_TRUE(dev.connect(5s));
    ASSERT_TRUE(dev.negotiate(version_1));
    Regions regions(9);
    auto st = dev.set_mem_table(regions.table);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::too_many_regions);
    EXPECT_EQ(to_errno(st.error()), -E2BIG);
}

TEST_F(DeviceTest, RefusedRequestIsNackAndKeepsTheConnection) {
    FakeConfig cfg;
    cfg.nack_on = Request::set_mem_table;
    FakeBackend be(cfg, path_, true);
    VhostUserDevice dev(client_opts());
    ASSERT_TRUE(dev.connect(5s));
    ASSERT_TRUE(dev.negotiate(version_1));
    Regions regions(1);
    auto st = dev.set_mem_table(regions.table);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::nack);
    EXPECT_EQ(st.error().request, Request::set_mem_table);
    EXPECT_TRUE(dev.connected());
    EXPECT_TRUE(dev.queue_pairs());
}

TEST_F(DeviceTest, SilentBackendTimesOutAndDropsTheConnection) {
    FakeConfig cfg;
    cfg.silent_on = Request::get_protocol_features;
    FakeBackend be(cfg, path_, true);
    VhostUserDevice dev(client_opts(200ms));
    ASSERT_TRUE(dev.connect(5s));
    const auto t0 = Clock::now();
    auto f = dev.negotiate(version_1);
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, Errc::timeout);
    EXPECT_EQ(f.error().request, Request::get_protocol_features);
    EXPECT_GE(Clock::now() - t0, 200ms);
    EXPECT_FALSE(dev.connected());
    auto again = dev.queue_pairs();
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::not_connected);
}

TEST_F(DeviceTest, SilentAckTimesOut) {
    FakeConfig cfg;
    cfg.silent_on = Request::set_vring_addr;
    FakeBackend be(cfg, path_, true);
    VhostUserDevice dev(client_opts(200ms));
    ASSERT_TRUE(dev.connect(5s));
    ASSERT_TRUE(dev.negotiate(version_1));
    auto st = dev.setup_queue(QueueSetup{0, 256, 0x1000, 0x2000, 0x3000, 0, true, false});
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::timeout);
    EXPECT_EQ(st.error().request, Request::set_vring_addr);
}

TEST_F(DeviceTest, GarbledReplyIsBadReply) {
    FakeConfig cfg;
    cfg.garble_on = Request::get_features;
    FakeBackend be(cfg, path_, true);
    VhostUserDevice dev(client_opts());
    ASSERT_TRUE(dev.connect(5s));
    auto f = dev.negotiate(version_1);
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, Errc::bad_reply);
    EXPECT_EQ(to_errno(f.error()), -EPROTO);
    EXPECT_FALSE(dev.connected());
}

TEST_F(DeviceTest, StatusWithoutFeaturesOkIsRejection) {
    FakeConfig cfg;
    cfg.status_mask = static_cast<uint8_t>(~status::features_ok);
    FakeBackend be(cfg, path_, true);
    VhostUserDevice dev(client_opts());
    ASSERT_TRUE(dev.connect(5s));
    auto f = dev.negotiate(version_1);
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, Errc::features_rejected);
}

TEST_F(DeviceTest, HangUpDuringARequestIsDisconnected) {
    FakeConfig cfg;
    cfg.hangup_on = Request::set_vring_addr;
    FakeBackend be(cfg, path_, true);
    VhostUserDevice dev(client_opts());
    ASSERT_TRUE(dev.connect(5s));
    ASSERT_TRUE(dev.negotiate(version_1));
    auto st = dev.setup_queue(QueueSetup{0, 256, 0x1000, 0x2000, 0x3000, 0, true, false});
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::disconnected);
    EXPECT_FALSE(dev.connected());
}

TEST_F(DeviceTest, PeerGoneIsDetectedWithoutARequest) {
    FakeBackend be(FakeConfig{}, path_, true);
    VhostUserDevice dev(client_opts());
    ASSERT_TRUE(dev.connect(5s));
    ASSERT_TRUE(dev.negotiate(version_1));
    EXPECT_FALSE(dev.peer_gone());
    EXPECT_GE(dev.socket_fd(), 0);
    be.hang_up();
    EXPECT_TRUE(dev.peer_gone(10s));
    EXPECT_TRUE(dev.connected()); // detection does not act; the PMD decides
    dev.disconnect();
    EXPECT_EQ(dev.socket_fd(), -1);
    EXPECT_TRUE(dev.peer_gone());
}

TEST_F(DeviceTest, ClientConnectTimeoutIsAClearError) {
    VhostUserDevice dev(client_opts());
    auto st = dev.connect(100ms);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::connect_failed);
    EXPECT_EQ(st.error().sys, ENOENT);
    auto f = dev.negotiate(version_1);
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, Errc::not_connected);
}

TEST_F(DeviceTest, ServerModeAcceptTimeoutAndUnlink) {
    DeviceOptions o = client_opts();
    o.mode = Mode::server;
    {
        VhostUserDevice dev(o);
        auto st = dev.connect(100ms);
        ASSERT_FALSE(st);
        EXPECT_EQ(st.error().code, Errc::accept_timeout);
        struct stat sb;
        EXPECT_EQ(::lstat(path_.c_str(), &sb), 0); // still listening
    }
    struct stat sb;
    EXPECT_NE(::lstat(path_.c_str(), &sb), 0); // unlinked by close()
}

TEST_F(DeviceTest, ResetUsesResetDeviceWhenNegotiatedElseResetOwner) {
    FakeConfig with;
    with.protocol_features |= pf::reset_device;
    {
        FakeBackend be(with, path_, true);
        VhostUserDevice dev(client_opts());
        ASSERT_TRUE(dev.connect(5s));
        ASSERT_TRUE(dev.negotiate(version_1));
        ASSERT_TRUE(dev.setup_queue(QueueSetup{0, 64, 0x1000, 0x2000, 0x3000, 0, true, false}));
        ASSERT_TRUE(dev.reset());
        EXPECT_EQ(be.received().back().msg.request(), Request::reset_device);
        EXPECT_TRUE(be.received().back().msg.needs_reply());
        EXPECT_EQ(dev.features(), 0u); // negotiate() again before use
        ::unlink(path_.c_str());
    }
    FakeBackend be(FakeConfig{}, path_, true);
    VhostUserDevice dev(client_opts());
    ASSERT_TRUE(dev.connect(5s));
    ASSERT_TRUE(dev.negotiate(version_1));
    ASSERT_TRUE(dev.reset());
    EXPECT_EQ(be.received().back().msg.request(), Request::reset_owner);
}

TEST_F(DeviceTest, NothingLeaks) {
    const size_t fds_before = open_fds();
    {
        FakeBackend be(FakeConfig{}, path_, true);
        VhostUserDevice dev(client_opts());
        ASSERT_TRUE(dev.connect(5s));
        ASSERT_TRUE(dev.negotiate(version_1));
        for (uint16_t i = 0; i < 8; ++i) {
            ASSERT_TRUE(dev.setup_queue(QueueSetup{i, 64, 0x1000, 0x2000, 0x3000, 0, true, false}));
        }
        EXPECT_GE(open_fds(), fds_before + 16);
        dev.close();
        EXPECT_EQ(dev.kick_fd(0), -1);
        be.stop();
    }
    EXPECT_EQ(open_fds(), fds_before);
}

} // namespace
} // namespace vpmd::vhost_user
