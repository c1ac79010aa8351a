// The embedding API (include/vpmd/port.hpp, events.hpp) against DPDK's net_vhost in this
// process: ports opened by devargs and typed configs carry frames byte for byte, stats and
// queue health read through the API, errors come back as values that say why and leave no
// port behind, ownership follows the Port object, and link and broken-queue events reach an
// EventMonitor's handler.
#include <gtest/gtest.h>

#include <rte_eth_vhost.h>
#include <rte_vhost.h>

#include <atomic>
#include <vector>

#include "eal_env.hpp"
#include "net/vpmd_harness.hpp"
#include "vpmd/events.hpp"
#include "vpmd/port.hpp"

namespace vpmd::test {
namespace {

constexpr unsigned pool_size = 4095;

rte_mempool *pool() { return test_pool("vpmd_api_pool", pool_size); }

class Api : public ::testing::Test {
protected:
    void SetUp() override {
        if (!EalEnv::instance()->ready()) {
            GTEST_SKIP() << EalEnv::instance()->skip_reason();
        }
        ASSERT_NE(pool(), nullptr);
        ports_before_ = rte_eth_dev_count_avail();
    }
    void TearDown() override {
        if (pool() != nullptr && EalEnv::instance()->ready()) {
            EXPECT_EQ(pool_available(pool()), pool_size) << "mbufs lost";
        }
    }
    // A started net_vhost port on a fresh socket.
    std::unique_ptr<VhostPair> device(const char *tag) {
        auto p = std::make_unique<VhostPair>(tag, "", 1);
        EXPECT_EQ(p->start_vhost(pool()), 0);
        return p;
    }
    static vpmd::QueueConfig queues() {
        vpmd::QueueConfig q;
        q.pool = pool();
        return q;
    }
    static ::testing::AssertionResult up(vpmd::Port &p) {
        if (auto r = p.configure(queues()); !r) {
            return ::testing::AssertionFailure() << r.error().what;
        }
        if (auto r = p.start(); !r) {
            return ::testing::AssertionFailure() << r.error().what;
        }
        if (!wait_for([&] { return p.link() && p.link()->up; })) {
            return ::testing::AssertionFailure() << "link did not come up";
        }
        return ::testing::AssertionSuccess();
    }
    uint16_t ports_before_ = 0;
};

uint64_t xstat_of(const std::vector<vpmd::Xstat> &xs, const std::string &name) {
    for (const auto &x : xs) {
        if (x.name == name) {
            return x.value;
        }
    }
    return ~0ull;
}

TEST_F(Api, PortsFromDevargsAndTypedConfigCarryFramesAndCountThem) {
    for (bool typed : {false, true}) {
        auto dev = device(typed ? "api_typed" : "api_devargs");
        vpmd::PortConfig cfg;
        cfg.transport = vpmd::VhostUserConfig{dev->socket()};
        auto port = typed ? vpmd::Port::open(cfg) : vpmd::Port::open("net_vpmd_api_d,path=" + dev->socket());
        ASSERT_TRUE(port) << port.error().what;
        EXPECT_TRUE(port->is_vpmd());
        EXPECT_EQ(port->driver(), "net_vpmd");
        ASSERT_TRUE(up(*port));
        const std::vector<Frame> frames = {make_frame(64, 1), make_frame(700, 2), make_frame(1500, 3)};
        EXPECT_TRUE(same_frames(transfer(pool(), port->id(), dev->vhost, 0, frames), frames));
        EXPECT_TRUE(same_frames(transfer(pool(), dev->vhost, port->id(), 0, frames), frames));
        auto st = port->stats();
        ASSERT_TRUE(st);
        EXPECT_EQ(st->tx_packets, 3u);
        EXPECT_EQ(st->rx_packets, 3u);
        EXPECT_EQ(st->rx_bytes, 64u + 700 + 1500);
        auto xs = port->xstats();
        ASSERT_TRUE(xs);
        EXPECT_EQ(xstat_of(*xs, "rx_q0_packets"), 3u);
        EXPECT_EQ(xstat_of(*xs, "tx_q0_packets"), 3u);
        auto qs = port->queue_states();
        ASSERT_TRUE(qs);
        ASSERT_EQ(qs->size(), 2u);
        EXPECT_TRUE((*qs)[0].rx);
        EXPECT_FALSE((*qs)[1].rx);
        for (const auto &q : *qs) {
            EXPECT_FALSE(q.broken) << q.reason;
        }
        ASSERT_TRUE(port->reset_stats());
        EXPECT_EQ(port->stats()->rx_packets, 0u);
        // Any DPDK port can be attached; it is not ours, so it has no queue states.
        auto other = vpmd::Port::attach(dev->vhost);
        ASSERT_TRUE(other);
        EXPECT_FALSE(other->is_vpmd());
        EXPECT_TRUE(other->queue_states()->empty());
        port->close();
        dev->close_vhost();
    }
    EXPECT_EQ(rte_eth_dev_count_avail(), ports_before_);
}

TEST_F(Api, ErrorsAreValuesThatSayWhyAndLeaveNoPortBehind) {
    struct Case {
        std::string devargs;
        int code;
        const char *says;
    } cases[] = {
        {"net_vpmd_bad,path=/tmp/x.sock,queues=zero", -EINVAL, "queues"},
        {"net_vpmd_bad,path=/tmp/x.sock,colour=blue", -EINVAL, "colour"},
        {",path=/tmp/x.sock", -EINVAL, "no device name"},
    };
    for (const Case &c : cases) {
        auto r = vpmd::Port::open(c.devargs);
        ASSERT_FALSE(r) << c.devargs;
        EXPECT_EQ(r.error().code, c.code) << c.devargs;
        EXPECT_NE(r.error().what.find(c.says), std::string::npos) << c.devargs << ": " << r.error().what;
    }
    // Nothing listens there: the driver's own reason, not only an errno.
    auto none = vpmd::Port::open("net_vpmd_none,path=/tmp/vpmd-api-nobody-" + std::to_string(::getpid()) + ".sock");
    ASSERT_FALSE(none);
    EXPECT_LT(none.error().code, 0);
    EXPECT_NE(none.error().what.find("cannot open net_vpmd_none: "), std::string::npos) << none.error().what;
    EXPECT_NE(none.error().what.find("vpmd-api-nobody"), std::string::npos) << "the reason names the socket: "
                                                                           << none.error().what;
    vpmd::PortConfig empty;
    empty.transport = vpmd::VhostUserConfig{};
    auto e = vpmd::Port::open(empty);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().what, "vhost-user port: no socket path");
    EXPECT_FALSE(vpmd::Port::attach(RTE_MAX_ETHPORTS - 1));
    EXPECT_EQ(rte_eth_dev_count_avail(), ports_before_);

    auto dev = device("api_nopool");
    auto port = vpmd::Port::open("net_vpmd_api_np,path=" + dev->socket());
    ASSERT_TRUE(port) << port.error().what;
    vpmd::QueueConfig q; // no pool
    auto c = port->configure(q);
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().what.find("rx queues need a mempool"), std::string::npos) << c.error().what;
}

TEST_F(Api, OwnershipFollowsThePortObject) {
    auto dev = device("api_own");
    const std::string args = "net_vpmd_api_own,path=" + dev->socket();
    {
        auto a = vpmd::Port::open(args);
        ASSERT_TRUE(a) << a.error().what;
        vpmd::Port b = std::move(*a); // a is empty now: its destructor closes nothing
        EXPECT_TRUE(rte_eth_dev_is_valid_port(b.id()));
    }
    // The owner's destructor removed the device: the same name opens again.
    auto again = vpmd::Port::open(args);
    ASSERT_TRUE(again) << again.error().what;
    const uint16_t id = again->id();
    again->close();
    EXPECT_FALSE(rte_eth_dev_is_valid_port(id));
    {
        auto attached = vpmd::Port::attach(dev->vhost);
        ASSERT_TRUE(attached);
    }
    EXPECT_TRUE(rte_eth_dev_is_valid_port(dev->vhost)) << "an attached port outlives its Port";
}

TEST(ApiDevargs, TypedConfigsBecomeTheDevargsLineTheyStandFor) {
    vpmd::PortConfig v;
    v.transport = vpmd::VhostUserConfig{"/run/a.sock", true, 5};
    v.name = "net_vpmd7";
    v.queue_pairs = 2;
    v.queue_size = 1024;
    v.packed = true;
    v.in_order = false;
    v.mac = "02:00:00:00:00:01";
    v.extra = "event_idx=1";
    EXPECT_EQ(vpmd::to_devargs(v), "net_vpmd7,path=/run/a.sock,server=1,connect_timeout=5,queues=2,queue_size=1024,"
                                   "packed_vq=1,in_order=0,mac=02:00:00:00:00:01,event_idx=1");
    vpmd::PortConfig p;
    p.transport = vpmd::PciConfig{"0000:00:04.0", true};
    EXPECT_EQ(vpmd::to_devargs(p), "0000:00:04.0,queues=1,dma=own");
    vpmd::PortConfig anon;
    anon.transport = vpmd::VhostUserConfig{"/s"};
    const std::string line = vpmd::to_devargs(anon);
    EXPECT_EQ(line.rfind("net_vpmd_app", 0), 0u) << line;
    EXPECT_NE(line.find(",path=/s,queues=1"), std::string::npos) << line;
}

TEST_F(Api, EventMonitorDeliversLinkChangesAndBrokenQueuesOnce) {
    auto dev = device("api_events");
    auto port = vpmd::Port::open("net_vpmd_api_ev,path=" + dev->socket() + ",connect_timeout=10");
    ASSERT_TRUE(port) << port.error().what;
    ASSERT_TRUE(up(*port));
    runtime::ControlPlane cp(1); // not running: deliver() is called here instead
    std::vector<vpmd::PortEvent> seen;
    vpmd::EventMonitor mon(cp, [&](const vpmd::PortEvent &e) { seen.push_back(e); });
    ASSERT_TRUE(mon.watch(port->id()));
    EXPECT_FALSE(mon.watch(RTE_MAX_ETHPORTS - 1));
    auto saw = [&](vpmd::PortEvent::Kind k) {
        return wait_for([&] {
            mon.deliver();
            for (const auto &e : seen) {
                if (e.kind == k && e.port == port->id()) {
                    return true;
                }
            }
            return false;
        });
    };
    // The back-end goes: link down; it comes back: link up (the port reconnects).
    dev->close_vhost();
    EXPECT_TRUE(saw(vpmd::PortEvent::Kind::link_down));
    ASSERT_EQ(dev->start_vhost(pool()), 0);
    EXPECT_TRUE(saw(vpmd::PortEvent::Kind::link_up));
    seen.clear();

    // The device writes an out-of-range used id on the tx ring, in its own mapping.
    rte_mbuf *m = to_mbuf(pool(), make_frame(80, 7));
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(rte_eth_tx_burst(port->id(), 0, &m, 1), 1);
    const int vid = rte_eth_vhost_get_vid_from_port_id(dev->vhost);
    ASSERT_GE(vid, 0);
    rte_vhost_vring vr{};
    ASSERT_EQ(rte_vhost_get_vhost_vring(vid, 1, &vr), 0);
    auto *used = reinterpret_cast<uint16_t *>(vr.used);
    const uint16_t idx = __atomic_load_n(&used[1], __ATOMIC_ACQUIRE);
    auto *elems = reinterpret_cast<uint32_t *>(used + 2);
    elems[2 * (idx % vr.size)] = vr.size + 3; // id
    elems[2 * (idx % vr.size) + 1] = 0;       // len
    __atomic_store_n(&used[1], uint16_t(idx + 1), __ATOMIC_RELEASE);
    rte_eth_tx_burst(port->id(), 0, nullptr, 0); // the reclaim reads it
    ASSERT_TRUE(saw(vpmd::PortEvent::Kind::queue_broken));
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_FALSE(seen[0].rx);
    EXPECT_EQ(seen[0].queue, 0u);
    EXPECT_EQ(seen[0].reason, "used id out of range");
    mon.deliver();
    mon.deliver();
    EXPECT_EQ(seen.size(), 1u) << "a break is reported once";
    auto qs = port->queue_states();
    ASSERT_TRUE(qs);
    EXPECT_TRUE((*qs)[1].broken);
    EXPECT_EQ((*qs)[1].reason, "used id out of range");
    EXPECT_GE((*qs)[1].ring_errors, 1u);
    port->close();
    dev->close_vhost();
}

} // namespace
} // namespace vpmd::test
