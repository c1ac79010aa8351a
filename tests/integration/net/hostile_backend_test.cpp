// The real net_vpmd in front of a hostile vhost-user back-end on a unix socket
// (tests/mock/vhost_user_backend.hpp): it negotiates like a real one, then misbehaves on
// one request of the probe, the start or the stop: stalls its reply, replies with the
// wrong request code or the wrong size, closes in the middle of a reply, hangs up on
// receipt, or refuses. Each time the ethdev call fails or completes with a readable
// reason, the process lives on, no port is left half made, every mbuf is back in its
// pool and no fd is left open. (Ring-level misbehaviour through the real PMD is
// hostile_test.cpp; the protocol's own unit tests are tests/unit/transport.)
#include <gtest/gtest.h>


#include <string>
#include <vector>

#include "drivers/net/vpmd/log.hpp"
#include "eal_env.hpp"
#include "net/vpmd_harness.hpp"
#include "tests/mock/vhost_user_backend.hpp"

namespace vpmd::test {
namespace {

using vhost_user::Request;
using vhost_user::test::FakeBackend;
using vhost_user::test::FakeConfig;

constexpr unsigned pool_size = 2047;

rte_mempool *pool() { return test_pool("vpmd_hostile_be_pool", pool_size); }


enum class Misbehaviour { stall, garble, short_reply, cut, hang_up, refuse };
enum class Phase { probe, start, stop };

struct Case {
    const char *name;
    Misbehaviour what;
    Request on;
    Phase phase;
    const char *reason; // what the PMD's error must say (with the request's name)
};

void PrintTo(const Case &c, std::ostream *os) { *os << c.name; }

// The back-end's script: normal (VERSION_1, MRG_RXBUF; MQ, REPLY_ACK, STATUS, slots)
// but for one request.
FakeConfig script(const Case &c) {
    FakeConfig cfg;
    switch (c.what) {
    case Misbehaviour::stall: cfg.silent_on = c.on; break;
    case Misbehaviour::garble: cfg.garble_on = c.on; break;
    case Misbehaviour::short_reply: cfg.short_on = c.on; break;
    case Misbehaviour::cut: cfg.cut_on = c.on; break;
    case Misbehaviour::hang_up: cfg.hangup_on = c.on; break;
    case Misbehaviour::refuse: cfg.nack_on = c.on; break;
    }
    return cfg;
}

std::string request_name(Request r) { return std::string(vhost_user::to_string(r)); }

class HostileBackend : public ::testing::TestWithParam<Case> {
protected:
    void SetUp() override {
        if (!EalEnv::instance()->ready()) {
            GTEST_SKIP() << EalEnv::instance()->skip_reason();
        }
        ASSERT_NE(pool(), nullptr);
        pool_before_ = pool_available(pool());
        (void)log_capture(); // its file is open from now on
        fds_before_ = open_fds();
        (void)pmd::take_last_error();
    }
    // After the port and the back-end are gone: nothing of either may remain.
    void expect_nothing_left(const char *when) {
        EXPECT_EQ(pool_available(pool()), pool_before_) << "mbufs missing " << when;
        EXPECT_EQ(open_fds(), fds_before_) << "fds left open " << when;
    }
    unsigned pool_before_ = 0;
    size_t fds_before_ = 0;
};

TEST_P(HostileBackend, FailsWithAReasonAndLosesNothing) {
    const Case c = GetParam();
    const std::string sock = unique_socket(c.name);
    const std::string name = std::string("net_vpmd_hbe_") + c.name;
    const std::string args = "path=" + sock + ",queue_size=256";
    {
        FakeBackend be(script(c), sock, /*listen=*/true);
        ASSERT_TRUE(be.listening());
        const int probed = rte_vdev_init(name.c_str(), args.c_str());
        if (c.phase == Phase::probe) {
            EXPECT_NE(probed, 0) << "probe accepted a back-end that misbehaved on " << request_name(c.on);
            const std::string why = pmd::take_last_error();
            EXPECT_NE(why.find(request_name(c.on)), std::string::npos) << "reason: " << why;
            EXPECT_NE(why.find(c.reason), std::string::npos) << "reason: " << why;
            uint16_t port = 0;
            EXPECT_FALSE(port_by_name(name, port)) << "a port was left behind";
            if (probed == 0) {
                rte_vdev_uninit(name.c_str());
            }
        } else {
            ASSERT_EQ(probed, 0) << pmd::take_last_error();
            uint16_t port = 0;
            ASSERT_TRUE(port_by_name(name, port));
            ASSERT_EQ(configure_port(port, 1, pool()), 0);
            const int started = rte_eth_dev_start(port);
            if (c.phase == Phase::start) {
                EXPECT_NE(started, 0) << "start succeeded over a back-end that misbehaved on " << request_name(c.on);
                const std::string why = pmd::take_last_error();
                EXPECT_NE(why.find(request_name(c.on)), std::string::npos) << "reason: " << why;
                EXPECT_NE(why.find(c.reason), std::string::npos) << "reason: " << why;
                EXPECT_EQ(pool_available(pool()), pool_before_) << "the failed start kept rx buffers";
            } else {
                ASSERT_EQ(started, 0) << pmd::take_last_error();
                // Frames posted to a back-end that never takes them, and posted rx buffers.
                unsigned posted = 0;
                for (uint32_t i = 0; i < 64; ++i) {
                    rte_mbuf *m = to_mbuf(pool(), make_frame(128, i));
                    if (m != nullptr && rte_eth_tx_burst(port, 0, &m, 1) == 1) {
                        ++posted;
                    } else if (m != nullptr) {
                        rte_pktmbuf_free(m);
                    }
                }
                EXPECT_GT(posted, 0u);
                EXPECT_LT(pool_available(pool()), pool_before_);
                // The port stops either way, and says once what the back-end did.
                const std::string line = name + ": stopping vq 0: " + request_name(c.on) + ": " + c.reason;
                const size_t lines_before = log_count(line);
                EXPECT_EQ(rte_eth_dev_stop(port), 0);
                EXPECT_EQ(log_count(line), lines_before + 1) << "no warning \"" << line << "\" in\n" << log_lines(name);
                EXPECT_EQ(log_count(name + ": stopping vq 1:"), 0u) << "the other queue waited on a dead connection";
                EXPECT_EQ(pool_available(pool()), pool_before_) << "stop kept mbufs the back-end never returned";
                EXPECT_TRUE(link_is(port, false));
            }
            EXPECT_EQ(rte_eth_dev_close(port), 0);
            EXPECT_EQ(rte_vdev_uninit(name.c_str()), 0);
        }
        be.stop();
    }
    ::unlink(sock.c_str());
    expect_nothing_left("after the port and the back-end are gone");
}

// Which requests come when: the probe negotiates (features, protocol features, queue
// count, status); the start sends the memory table and sets every ring up; the
// stop reads each ring's base back.
const Case cases[] = {
    {"stall_features", Misbehaviour::stall, Request::get_features, Phase::probe, "no reply"},
    {"garble_features", Misbehaviour::garble, Request::get_features, Phase::probe, "malformed reply"},
    {"short_features", Misbehaviour::short_reply, Request::get_features, Phase::probe, "malformed reply"},
    {"cut_features", Misbehaviour::cut, Request::get_features, Phase::probe, "closed the connection"},
    {"hangup_protocol_features", Misbehaviour::hang_up, Request::get_protocol_features, Phase::probe,
     "closed the connection"},
    {"short_queue_num", Misbehaviour::short_reply, Request::get_queue_num, Phase::probe, "malformed reply"},
    {"cut_protocol_features", Misbehaviour::cut, Request::get_protocol_features, Phase::probe,
     "closed the connection"},
    {"stall_status", Misbehaviour::stall, Request::get_status, Phase::probe, "no reply"},
    {"refuse_mem_table", Misbehaviour::refuse, Request::set_mem_table, Phase::start, "refused"},
    {"hangup_mem_table", Misbehaviour::hang_up, Request::set_mem_table, Phase::start, "closed the connection"},
    {"stall_vring_addr", Misbehaviour::stall, Request::set_vring_addr, Phase::start, "no reply"},
    {"garble_vring_addr", Misbehaviour::garble, Request::set_vring_addr, Phase::start, "malformed reply"},
    {"short_vring_base", Misbehaviour::short_reply, Request::get_vring_base, Phase::stop, "malformed reply"},
    {"stall_vring_base", Misbehaviour::stall, Request::get_vring_base, Phase::stop, "no reply"},
    {"cut_vring_base", Misbehaviour::cut, Request::get_vring_base, Phase::stop, "back-end closed the connection"},
};
INSTANTIATE_TEST_SUITE_P(Script, HostileBackend, ::testing::ValuesIn(cases),
                         [](const auto &info) { return std::string(info.param.name); });

} // namespace
} // namespace vpmd::test
