// VhostUserDevice against DPDK's own vhost library in this process: negotiation, memory
// table, 1 and 4 queue pairs, a descriptor we post dequeued by rte_vhost_dequeue_burst,
// stop bases, back-end loss, server-mode reconnect, and clear errors.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <array>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_vhost.h>

#include "dataplane/dma/eal_mem_table.hpp"
#include "dataplane/dma/vhost_user_dma.hpp"
#include "dataplane/ring/layout.hpp"
#include "drivers/transport/vhost_user/device.hpp"
#include "tests/integration/eal_env.hpp"

namespace vpmd::vhost_user {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t f_version_1 = 1ULL << 32;
constexpr uint64_t f_net_mq = 1ULL << 22;
constexpr uint64_t f_mrg_rxbuf = 1ULL << 15;
constexpr uint64_t f_access_platform = 1ULL << 33; // offered only with RTE_VHOST_USER_IOMMU_SUPPORT
constexpr uint16_t ring_size = 256;
constexpr uint32_t net_hdr_len = 12; // virtio_net_hdr with num_buffers (VERSION_1)
constexpr uint32_t frame_len = 60;
// Generous: nothing here waits on timing except to bound a failure.
constexpr auto event_timeout = 10s;

bool path_exists(const std::string &p) {
    struct stat sb;
    return ::lstat(p.c_str(), &sb) == 0;
}

// ---- the device side: DPDK vhost, one socket path per instance ---------------------------

class VhostSide;
std::mutex registry_mu;
std::map<std::string, VhostSide *> registry;

class VhostSide {
public:
    VhostSide(std::string path, uint64_t flags) : path_(std::move(path)), flags_(flags) {}
    ~VhostSide() { stop(); }

    bool start() {
        {
            std::lock_guard lk(registry_mu);
            registry[path_] = this;
        }
        if (rte_vhost_driver_register(path_.c_str(), flags_) != 0) {
            return false;
        }
        registered_ = true;
        static const rte_vhost_device_ops ops = make_ops();
        return rte_vhost_driver_callback_register(path_.c_str(), &ops) == 0 &&
               rte_vhost_driver_start(path_.c_str()) == 0;
    }
    // Closes the connection and (in vhost server mode) the socket: the back-end goes away.
    void stop() {
        if (registered_) {
            rte_vhost_driver_unregister(path_.c_str());
            registered_ = false;
        }
        std::lock_guard lk(registry_mu);
        registry.erase(path_);
    }

    // vid of the running device, or -1 if new_device did not come in time.
    int wait_new_device(uint64_t count = 1) {
        std::unique_lock lk(mu_);
        if (!cv_.wait_for(lk, event_timeout, [&] { return new_devices_ >= count; })) {
            return -1;
        }
        return vid_;
    }
    bool wait_destroyed(uint64_t count = 1) {
        std::unique_lock lk(mu_);
        return cv_.wait_for(lk, event_timeout, [&] { return destroyed_ >= count; });
    }
    uint64_t new_devices() {
        std::lock_guard lk(mu_);
        return new_devices_;
    }
    bool vring_enabled(uint16_t q) {
        std::lock_guard lk(mu_);
        return enabled_.count(q) != 0 && enabled_[q];
    }
    // vring_state_changed runs after the back-end acked the request: wait for it.
    bool wait_vring_state(uint16_t q, bool enabled) {
        std::unique_lock lk(mu_);
        return cv_.wait_for(lk, event_timeout, [&] { return enabled_.count(q) != 0 && enabled_[q] == enabled; });
    }
    const std::string &path() const { return path_; }

private:
    static rte_vhost_device_ops make_ops() {
        rte_vhost_device_ops ops{};
        ops.new_device = [](int vid) { return with(vid, [&](VhostSide &s) { s.on_new(vid); }); };
        ops.destroy_device = [](int vid) { with(vid, [](VhostSide &s) { s.on_destroy(); }); };
        ops.vring_state_changed = [](int vid, uint16_t q, int enable) {
            return with(vid, [&](VhostSide &s) { s.on_state(q, enable != 0); });
        };
        return ops;
    }
    template <class F>
    static int with(int vid, F &&f) {
        char name[PATH_MAX];
        if (rte_vhost_get_ifname(vid, name, sizeof(name)) != 0) {
            return -1;
        }
        VhostSide *s = nullptr;
        {
            std::lock_guard lk(registry_mu);
            auto it = registry.find(name);
            s = it == registry.end() ? nullptr : it->second;
        }
        if (s != nullptr) {
            f(*s);
        }
        return 0;
    }
    void on_new(int vid) {
        std::lock_guard lk(mu_);
        vid_ = vid;
        ++new_devices_;
        cv_.notify_all();
    }
    void on_destroy() {
        std::lock_guard lk(mu_);
        ++destroyed_;
        cv_.notify_all();
    }
    void on_state(uint16_t q, bool enable) {
        std::lock_guard lk(mu_);
        enabled_[q] = enable;
        cv_.notify_all();
    }

    std::string path_;
    uint64_t flags_;
    bool registered_ = false;
    std::mutex mu_;
    std::condition_variable cv_;
    int vid_ = -1;
    uint64_t new_devices_ = 0;
    uint64_t destroyed_ = 0;
    std::map<uint16_t, bool> enabled_;
};

// ---- the driver side: split rings laid out by hand in EAL memory -------------------------

struct Ring {
    ring::DmaRegion mem;
    ring::SplitLayout layout;
    uint16_t avail_idx = 0;

    ring::SplitDesc *desc() const { return static_cast<ring::SplitDesc *>(mem.va); }
    uint16_t *avail() const { return reinterpret_cast<uint16_t *>(static_cast<char *>(mem.va) + layout.avail); }
    uint16_t *used() const { return reinterpret_cast<uint16_t *>(static_cast<char *>(mem.va) + layout.used); }
    ring::SplitUsedElem *used_ring() const { return reinterpret_cast<ring::SplitUsedElem *>(used() + 2); }
    QueueSetup setup(uint16_t index) const {
        return QueueSetup{index, ring_size, mem.device_addr, mem.device_addr + layout.avail,
                          mem.device_addr + layout.used, avail_idx, true, false};
    }
    // Posts one device-readable buffer and publishes it (release store of avail->idx).
    void post(uint16_t head, uint64_t addr, uint32_t len) {
        desc()[head] = ring::SplitDesc{addr, len, 0, 0};
        avail()[2 + (avail_idx % ring_size)] = head;
        ++avail_idx;
        __atomic_store_n(&avail()[1], avail_idx, __ATOMIC_RELEASE);
    }
};

class VhostUserIntegration : public ::testing::Test {
protected:
    void SetUp() override {
        VPMD_REQUIRE_EAL();
        path_ = "/tmp/vpmd-it-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".sock";
        ::unlink(path_.c_str());
    }
    void TearDown() override {
        for (Ring &r : rings_) {
            dma_.free(r.mem);
        }
        rings_.clear();
        if (pool_ != nullptr) {
            rte_mempool_free(pool_);
        }
        rte_free(buffer_);
    }

    DeviceOptions opts(Mode mode) const {
        DeviceOptions o;
        o.path = path_;
        o.mode = mode;
        return o;
    }

    // Memory table, 2 * pairs rings, enables, DRIVER_OK; stops at the first error with a
    // gtest failure saying which (callers wrap it in ASSERT_NO_FATAL_FAILURE).
    // bases: where each vring resumes (a restarted back-end); none given: index 0.
    void bring_up(VhostUserDevice &dev, uint16_t pairs, const std::vector<uint16_t> &bases = {}) {
        auto table = dma::collect_mem_table();
        ASSERT_TRUE(table) << "collect_mem_table: " << table.error();
        ASSERT_EQ(table->skipped_runs, 0u);
        auto st = dev.set_mem_table(table->regions);
        ASSERT_TRUE(st) << describe(st.error());
        for (uint16_t i = 0; i < 2 * pairs; ++i) {
            if (rings_.size() <= i) {
                auto mem = dma_.alloc(ring::SplitLayout::of(ring_size).total, 4096);
                ASSERT_TRUE(mem) << mem.error();
                rings_.push_back(Ring{*mem, ring::SplitLayout::of(ring_size)});
            }
            QueueSetup setup = rings_[i].setup(i);
            if (i < bases.size()) {
                setup.avail_base = bases[i];
            }
            auto q = dev.setup_queue(setup);
            ASSERT_TRUE(q) << describe(q.error());
            auto e = dev.enable_queue(i, true);
            ASSERT_TRUE(e) << describe(e.error());
        }
        auto ok = dev.driver_ok();
        ASSERT_TRUE(ok) << describe(ok.error());
    }

    // A frame after a zeroed virtio-net header, in EAL memory the back-end can reach.
    uint64_t make_frame() {
        buffer_ = static_cast<uint8_t *>(rte_zmalloc("vpmd_it_frame", net_hdr_len + frame_len, 64));
        EXPECT_NE(buffer_, nullptr);
        for (uint32_t i = 0; i < frame_len; ++i) {
            buffer_[net_hdr_len + i] = static_cast<uint8_t>(0xa0 + i);
        }
        auto addr = dma_.translate(buffer_, net_hdr_len + frame_len);
        EXPECT_TRUE(addr);
        return addr.value_or(0);
    }

    rte_mempool *pool() {
        if (pool_ == nullptr) {
            const std::string name = "vpmd_it_" + std::to_string(::getpid());
            pool_ = rte_pktmbuf_pool_create(name.c_str(), 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
        }
        return pool_;
    }

    std::string path_;
    dma::VhostUserDma dma_;
    std::vector<Ring> rings_;
    rte_mempool *pool_ = nullptr;
    uint8_t *buffer_ = nullptr;
};

TEST_F(VhostUserIntegration, OnePairNegotiatesAndDequeuesWhatWePost) {
    VhostSide vhost(path_, 0);
    ASSERT_TRUE(vhost.start());
    VhostUserDevice dev(opts(Mode::client));
    auto c = dev.connect(event_timeout);
    ASSERT_TRUE(c) << describe(c.error());

    auto f = dev.negotiate(f_version_1 | f_mrg_rxbuf | f_access_platform);
    ASSERT_TRUE(f) << describe(f.error());
    uint64_t offered = 0;
    ASSERT_EQ(rte_vhost_driver_get_features(path_.c_str(), &offered), 0);
    EXPECT_EQ(*f & ~offered, 0u) << "negotiated features not offered";
    EXPECT_EQ(*f, f_version_1 | f_mrg_rxbuf); // what we asked for, less what is not offered
    uint64_t offered_pf = 0;
    ASSERT_EQ(rte_vhost_driver_get_protocol_features(path_.c_str(), &offered_pf), 0);
    EXPECT_EQ(dev.protocol_features() & ~offered_pf, 0u);
    EXPECT_TRUE(dev.has_protocol(pf::mq));
    EXPECT_TRUE(dev.has_protocol(pf::reply_ack));
    EXPECT_TRUE(dev.has_protocol(pf::status));
    EXPECT_FALSE(dev.has_protocol(pf::configure_mem_slots)); // DPDK 22.11 vhost lacks it
    auto pairs = dev.queue_pairs();
    ASSERT_TRUE(pairs);
    EXPECT_GE(*pairs, 1u);

    ASSERT_NO_FATAL_FAILURE(bring_up(dev, 1));
    const int vid = vhost.wait_new_device();
    ASSERT_GE(vid, 0) << "new_device did not fire";

    uint64_t negotiated = 0;
    ASSERT_EQ(rte_vhost_get_negotiated_features(vid, &negotiated), 0);
    EXPECT_EQ(negotiated, *f | f_protocol_features);
    uint64_t negotiated_pf = 0;
    ASSERT_EQ(rte_vhost_get_negotiated_protocol_features(vid, &negotiated_pf), 0);
    EXPECT_EQ(negotiated_pf, dev.protocol_features());
    EXPECT_EQ(rte_vhost_get_vring_num(vid), 2);
    for (uint16_t i = 0; i < 2; ++i) {
        rte_vhost_vring vr{};
        ASSERT_EQ(rte_vhost_get_vhost_vring(vid, i, &vr), 0);
        EXPECT_EQ(vr.size, ring_size);
        // The back-end mapped our memory through the table: same bytes, its own address.
        ASSERT_NE(vr.desc, nullptr);
        rings_[i].desc()[ring_size - 1].addr = 0x5eed0000u + i;
        const auto *theirs = reinterpret_cast<const ring::SplitDesc *>(vr.desc);
        EXPECT_NE(static_cast<const void *>(theirs), rings_[i].mem.va); // its own mapping
        EXPECT_EQ(theirs[ring_size - 1].addr, 0x5eed0000u + i);
        rings_[i].desc()[ring_size - 1].addr = 0;
    }

    // TX ring (vring 1): one frame; DPDK's vhost must read it through our table.
    const uint64_t frame = make_frame();
    rings_[1].post(3, frame, net_hdr_len + frame_len);
    dev.notify(1);
    std::array<rte_mbuf *, 4> pkts{};
    uint16_t n = 0;
    for (int tries = 0; tries < 1000 && n == 0; ++tries) { // polls; ends at once when it works
        n = rte_vhost_dequeue_burst(vid, 1, pool(), pkts.data(), pkts.size());
        if (n == 0) {
            std::this_thread::sleep_for(1ms);
        }
    }
    ASSERT_EQ(n, 1);
    EXPECT_EQ(rte_pktmbuf_pkt_len(pkts[0]), frame_len);
    EXPECT_EQ(std::memcmp(rte_pktmbuf_mtod(pkts[0], uint8_t *), buffer_ + net_hdr_len, frame_len), 0);
    rte_pktmbuf_free(pkts[0]);
    EXPECT_EQ(__atomic_load_n(&rings_[1].used()[1], __ATOMIC_ACQUIRE), 1);
    EXPECT_EQ(rings_[1].used_ring()[0].id, 3u);

    uint16_t last_avail = 0, last_used = 0;
    ASSERT_EQ(rte_vhost_get_vring_base(vid, 1, &last_avail, &last_used), 0);
    EXPECT_EQ(last_avail, 1);

    // Stop: the back-end reports where it was; destroy_device follows.
    auto b1 = dev.stop_queue(1);
    ASSERT_TRUE(b1) << describe(b1.error());
    EXPECT_EQ(b1->index, 1);
    auto b0 = dev.stop_queue(0);
    ASSERT_TRUE(b0) << describe(b0.error());
    EXPECT_EQ(b0->index, 0);
    EXPECT_TRUE(vhost.wait_destroyed());

    dev.close();
    vhost.stop();
    EXPECT_FALSE(path_exists(path_)) << "vhost left its socket behind";
}

TEST_F(VhostUserIntegration, FourPairsAllReachTheBackend) {
    VhostSide vhost(path_, 0);
    ASSERT_TRUE(vhost.start());
    VhostUserDevice dev(opts(Mode::client));
    ASSERT_TRUE(dev.connect(event_timeout));
    auto f = dev.negotiate(f_version_1 | f_net_mq);
    ASSERT_TRUE(f) << describe(f.error());
    ASSERT_NE(*f & f_net_mq, 0u);
    auto pairs = dev.queue_pairs();
    ASSERT_TRUE(pairs);
    ASSERT_GE(*pairs, 4u);

    ASSERT_NO_FATAL_FAILURE(bring_up(dev, 4));
    const int vid = vhost.wait_new_device();
    ASSERT_GE(vid, 0);
    EXPECT_EQ(rte_vhost_get_vring_num(vid), 8);
    for (uint16_t i = 0; i < 8; ++i) {
        rte_vhost_vring vr{};
        ASSERT_EQ(rte_vhost_get_vhost_vring(vid, i, &vr), 0) << "vring " << i;
        EXPECT_EQ(vr.size, ring_size);
        EXPECT_GE(vr.kickfd, 0);
        EXPECT_GE(vr.callfd, 0);
    }
    for (uint16_t i = 0; i < 8; ++i) {
        EXPECT_TRUE(vhost.vring_enabled(i)) << "vring " << i;
    }

    // Disabling the second pair reaches the back-end as vring_state_changed.
    ASSERT_TRUE(dev.enable_queue(6, false));
    ASSERT_TRUE(dev.enable_queue(7, false));
    EXPECT_TRUE(vhost.wait_vring_state(6, false));
    EXPECT_TRUE(vhost.wait_vring_state(7, false));

    // Ring 7 (tx of pair 3) works like ring 1 once enabled again.
    ASSERT_TRUE(dev.enable_queue(7, true));
    ASSERT_TRUE(vhost.wait_vring_state(7, true));
    const uint64_t frame = make_frame();
    rings_[7].post(0, frame, net_hdr_len + frame_len);
    dev.notify(7);
    std::array<rte_mbuf *, 2> pkts{};
    uint16_t n = 0;
    for (int tries = 0; tries < 1000 && n == 0; ++tries) {
        n = rte_vhost_dequeue_burst(vid, 7, pool(), pkts.data(), pkts.size());
        if (n == 0) {
            std::this_thread::sleep_for(1ms);
        }
    }
    ASSERT_EQ(n, 1);
    rte_pktmbuf_free(pkts[0]);

    for (uint16_t i = 0; i < 8; ++i) {
        auto b = dev.stop_queue(i);
        ASSERT_TRUE(b) << describe(b.error());
        EXPECT_EQ(b->index, i == 7 ? 1 : 0) << "vring " << i;
    }
}

TEST_F(VhostUserIntegration, BaseGivenAtSetupIsWhereTheBackendStarts) {
    VhostSide vhost(path_, 0);
    ASSERT_TRUE(vhost.start());
    VhostUserDevice dev(opts(Mode::client));
    ASSERT_TRUE(dev.connect(event_timeout));
    ASSERT_TRUE(dev.negotiate(f_version_1));
    rings_.clear();
    for (uint16_t i = 0; i < 2; ++i) {
        auto mem = dma_.alloc(ring::SplitLayout::of(ring_size).total, 4096);
        ASSERT_TRUE(mem);
        rings_.push_back(Ring{*mem, ring::SplitLayout::of(ring_size), 1000});
        // A resumed ring: the indices in memory agree with the base.
        rings_[i].avail()[1] = 1000;
        rings_[i].used()[1] = 1000;
    }
    ASSERT_NO_FATAL_FAILURE(bring_up(dev, 1));
    const int vid = vhost.wait_new_device();
    ASSERT_GE(vid, 0);
    uint16_t last_avail = 0, last_used = 0;
    ASSERT_EQ(rte_vhost_get_vring_base(vid, 1, &last_avail, &last_used), 0);
    EXPECT_EQ(last_avail, 1000);
    EXPECT_EQ(last_used, 1000);
    auto b = dev.stop_queue(1);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->index, 1000);
}

TEST_F(VhostUserIntegration, BackendGoingAwayIsDetected) {
    VhostSide vhost(path_, 0);
    ASSERT_TRUE(vhost.start());
    VhostUserDevice dev(opts(Mode::client));
    ASSERT_TRUE(dev.connect(event_timeout));
    ASSERT_TRUE(dev.negotiate(f_version_1));
    ASSERT_NO_FATAL_FAILURE(bring_up(dev, 1));
    ASSERT_GE(vhost.wait_new_device(), 0);
    EXPECT_FALSE(dev.peer_gone());

    vhost.stop(); // unregisters: closes our connection and removes its socket
    EXPECT_TRUE(dev.peer_gone(event_timeout));
    auto st = dev.enable_queue(0, true);
    ASSERT_FALSE(st);
    EXPECT_TRUE(st.error().code == Errc::disconnected || st.error().code == Errc::io) << describe(st.error());
    EXPECT_FALSE(dev.connected());
    dev.notify(1); // harmless after the loss: the eventfd is still ours
    EXPECT_FALSE(path_exists(path_));
}

TEST_F(VhostUserIntegration, ServerModeAcceptsAndResumesFromGivenBasesAfterBackendRestart) {
    VhostUserDevice dev(opts(Mode::server));
    ASSERT_TRUE(dev.listen());
    EXPECT_TRUE(path_exists(path_));
    auto vhost = std::make_unique<VhostSide>(path_, RTE_VHOST_USER_CLIENT);
    ASSERT_TRUE(vhost->start());
    auto c = dev.connect(event_timeout);
    ASSERT_TRUE(c) << describe(c.error());
    ASSERT_TRUE(dev.negotiate(f_version_1 | f_net_mq));
    ASSERT_NO_FATAL_FAILURE(bring_up(dev, 1));
    const int vid = vhost->wait_new_device();
    ASSERT_GE(vid, 0);

    // Post one frame and let the back-end consume it, so the restart has state to keep.
    const uint64_t frame = make_frame();
    rings_[1].post(0, frame, net_hdr_len + frame_len);
    std::array<rte_mbuf *, 2> pkts{};
    uint16_t n = 0;
    for (int tries = 0; tries < 1000 && n == 0; ++tries) {
        n = rte_vhost_dequeue_burst(vid, 1, pool(), pkts.data(), pkts.size());
        if (n == 0) {
            std::this_thread::sleep_for(1ms);
        }
    }
    ASSERT_EQ(n, 1);
    rte_pktmbuf_free(pkts[0]);

    // The back-end process "restarts".
    vhost.reset();
    ASSERT_TRUE(dev.peer_gone(event_timeout));
    dev.disconnect();
    // Resume where the device last published: used index of each ring, from memory.
    std::vector<uint16_t> bases;
    for (uint16_t i = 0; i < 2; ++i) {
        bases.push_back(__atomic_load_n(&rings_[i].used()[1], __ATOMIC_ACQUIRE));
    }
    EXPECT_EQ(bases[1], 1);

    vhost = std::make_unique<VhostSide>(path_, RTE_VHOST_USER_CLIENT);
    ASSERT_TRUE(vhost->start());
    auto c2 = dev.connect(event_timeout);
    ASSERT_TRUE(c2) << describe(c2.error());
    ASSERT_TRUE(dev.negotiate(f_version_1 | f_net_mq));
    ASSERT_NO_FATAL_FAILURE(bring_up(dev, 1, bases));
    const int vid2 = vhost->wait_new_device();
    ASSERT_GE(vid2, 0);
    uint16_t last_avail = 0, last_used = 0;
    ASSERT_EQ(rte_vhost_get_vring_base(vid2, 1, &last_avail, &last_used), 0);
    EXPECT_EQ(last_avail, 1);

    // The restarted back-end sees the next frame, not the old one again.
    buffer_[net_hdr_len] = 0x42;
    rings_[1].post(1, frame, net_hdr_len + frame_len);
    n = 0;
    for (int tries = 0; tries < 1000 && n == 0; ++tries) {
        n = rte_vhost_dequeue_burst(vid2, 1, pool(), pkts.data(), pkts.size());
        if (n == 0) {
            std::this_thread::sleep_for(1ms);
        }
    }
    ASSERT_EQ(n, 1);
    EXPECT_EQ(rte_pktmbuf_mtod(pkts[0], uint8_t *)[0], 0x42);
    rte_pktmbuf_free(pkts[0]);

    vhost.reset();
    dev.close();
    EXPECT_FALSE(path_exists(path_)) << "server socket not unlinked on close";
}

TEST_F(VhostUserIntegration, BadPathAndNoBackendAreClearErrors) {
    VhostUserDevice missing(opts(Mode::client));
    auto st = missing.connect(200ms);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::connect_failed);
    EXPECT_EQ(to_errno(st.error()), -ENOENT);

    DeviceOptions bad = opts(Mode::client);
    bad.path = "/nonexistent-dir/vpmd.sock";
    VhostUserDevice nodir(bad);
    auto st2 = nodir.connect(100ms);
    ASSERT_FALSE(st2);
    EXPECT_EQ(st2.error().code, Errc::connect_failed);

    DeviceOptions srv = opts(Mode::server);
    srv.path = "/nonexistent-dir/vpmd.sock";
    VhostUserDevice noserver(srv);
    auto st3 = noserver.connect(100ms);
    ASSERT_FALSE(st3);
    EXPECT_EQ(st3.error().code, Errc::listen_failed);

    VhostUserDevice waiting(opts(Mode::server));
    auto st4 = waiting.connect(200ms);
    ASSERT_FALSE(st4);
    EXPECT_EQ(st4.error().code, Errc::accept_timeout);
    waiting.close();
    EXPECT_FALSE(path_exists(path_));
}

} // namespace
} // namespace vpmd::vhost_user
