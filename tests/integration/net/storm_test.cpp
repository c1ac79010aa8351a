// Reconnect storm: the back-end is DPDK's net_vhost in another process (dpdk-testpmd, io
// forwarding: what net_vpmd sends comes back), killed with SIGKILL while frames are in
// flight and started again, VPMD_STORM_RESTARTS times (5 in the suite; the note's run uses
// 100), in client and server mode, split and packed. After every restart traffic must
// resume byte for byte; at the end the mempool is full and no fd was leaked.
//
// net_vhost (DPDK 22.11) offers no INFLIGHT_SHMFD, so what was in flight at a crash cannot
// be recovered: the rings restart at index 0 after every posted mbuf is returned.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "eal_env.hpp"
#include "net/vpmd_harness.hpp"

namespace vpmd::test {
namespace {

constexpr unsigned pool_size = 8191;

rte_mempool *pool() { return test_pool("vpmd_storm_pool", pool_size); }

int restarts() {
    const char *e = std::getenv("VPMD_STORM_RESTARTS");
    return e != nullptr ? std::atoi(e) : 5;
}

// dpdk-testpmd with one net_vhost port in io mode, in its own process.
class Backend {
public:
    Backend(std::string sock, bool connects) : sock_(std::move(sock)), connects_(connects) {}
    ~Backend() { kill(); }

    bool start() {
        const char *bin = std::getenv("VPMD_TESTPMD");
        if (bin == nullptr) {
            return false;
        }
        if (!connects_) {
            ::unlink(sock_.c_str());
        }
        const std::string vdev = "net_vhost0,iface=" + sock_ + (connects_ ? ",client=1" : "");
        const std::string prefix = "--file-prefix=vpmd-storm-" + std::to_string(::getpid()) + "-" + std::to_string(++starts_);
        std::vector<std::string> args = {bin, "--no-pci", "--no-huge", "-m", "512", "--lcores", "0@1,1@1", prefix,
                                         "--vdev", vdev, "--", "--forward-mode=io",
                                         "--stats-period=1000", "--total-num-mbufs=8192"};
        // What it said, for a failure's post-mortem (one file per start).
        const std::string log = sock_ + "." + std::to_string(starts_) + ".testpmd.log";
        pid_ = ::fork();
        if (pid_ == 0) {
            const int null = ::open("/dev/null", O_RDONLY);
            const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(null, 0);
            ::dup2(out, 1);
            ::dup2(out, 2);
            // Nothing of ours (the listening socket, EAL's fds) may live on in the back-end.
            for (int fd = 3; fd < 1024; ++fd) {
                ::close(fd);
            }
            std::vector<char *> argv;
            for (auto &a : args) {
                argv.push_back(a.data());
            }
            argv.push_back(nullptr);
            ::execv(bin, argv.data());
            ::_exit(127);
        }
        if (pid_ < 0) {
            return false;
        }
        // A listening back-end is ready once its socket exists.
        return connects_ || wait_for([&] {
                   struct stat st{};
                   return ::stat(sock_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
               });
    }
    // "running", or how the back-end ended (for a failure message).
    std::string state() {
        int st = 0;
        if (pid_ <= 0) {
            return "not started";
        }
        if (::waitpid(pid_, &st, WNOHANG) != pid_) {
            return "running";
        }
        pid_ = -1;
        return WIFSIGNALED(st) ? "killed by signal " + std::to_string(WTERMSIG(st))
                               : "exited with " + std::to_string(WEXITSTATUS(st));
    }
    void kill() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }

private:
    std::string sock_;
    bool connects_;
    pid_t pid_ = -1;
    int starts_ = 0;
};

struct Mode {
    const char *name;
    bool vpmd_server; // we listen and the back-end connects (else the reverse)
    bool packed;
};

// Sends probe frames until one comes back: the back-end forwards again. Needed in server
// mode: there dpdk-testpmd connects while its own port is still starting, and it was seen
// to receive the first frames after a restart and transmit none of them back, although
// both sides reported the link up. Returns the probes sent (so late ones can be told
// from the frames under test).
std::vector<Frame> wait_forwarding(uint16_t port, int round) {
    std::vector<Frame> probes;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        probes.push_back(make_frame(61, 0x5000000 + uint32_t(round) * 10000 + uint32_t(probes.size())));
        rte_mbuf *mb = to_mbuf(pool(), probes.back());
        if (mb != nullptr && rte_eth_tx_burst(port, 0, &mb, 1) != 1) {
            rte_pktmbuf_free(mb);
        }
        for (int i = 0; i < 100; ++i) {
            rte_mbuf *rx[32];
            const uint16_t n = rte_eth_rx_burst(port, 0, rx, 32);
            rte_pktmbuf_free_bulk(rx, n);
            if (n != 0) {
                return probes;
            }
            std::this_thread::sleep_for(100us);
        }
    }
    return probes;
}

void storm(const Mode m) {
    if (!EalEnv::instance()->ready()) {
        GTEST_SKIP() << EalEnv::instance()->skip_reason();
    }
    if (std::getenv("VPMD_TESTPMD") == nullptr) {
        GTEST_SKIP() << "no dpdk-testpmd (VPMD_TESTPMD)";
    }
    if (std::getenv("VPMD_STORM_DEBUG") != nullptr) {
        rte_log_set_level_pattern("pmd.net.vpmd*", RTE_LOG_DEBUG);
    }
    ASSERT_NE(pool(), nullptr);
    const unsigned pool_before = pool_available(pool());
    const std::string sock = unique_socket(m.name);
    const std::string name = std::string("net_vpmd_storm_") + m.name;
    Backend backend(sock, m.vpmd_server);
    if (!m.vpmd_server) {
        ASSERT_TRUE(backend.start()) << "dpdk-testpmd did not start";
    }
    std::string args = "path=" + sock + (m.vpmd_server ? ",server=1" : ",connect_timeout=10");
    args += m.packed ? ",packed_vq=1" : "";
    ASSERT_EQ(rte_vdev_init(name.c_str(), args.c_str()), 0);
    uint16_t port = 0;
    ASSERT_TRUE(port_by_name(name, port));
    ASSERT_EQ(configure_port(port, 1, pool()), 0);
    ASSERT_EQ(rte_eth_dev_start(port), 0);
    if (m.vpmd_server) {
        ASSERT_TRUE(backend.start());
    }

    size_t fds_connected = 0;
    const int rounds = restarts();
    int resumed = 0;
    for (int r = 0; r <= rounds; ++r) {
        ASSERT_TRUE(wait_for([&] { return link_is(port, true); }, std::chrono::seconds(30))) << "round " << r;
        const std::vector<Frame> probes = wait_forwarding(port, r);
        // io forwarding: everything sent comes back, in order, byte for byte (a probe that
        // was still on its way is not one of them).
        std::vector<Frame> frames;
        for (uint32_t i = 0; i < 32; ++i) {
            frames.push_back(make_frame(60 + (i * 97 + uint32_t(r) * 31) % 1400, uint32_t(r) * 100 + i));
        }
        std::vector<Frame> got = transfer(pool(), port, port, 0, frames, 2048, std::chrono::seconds(20));
        std::erase_if(got, [&](const Frame &f) { return std::find(probes.begin(), probes.end(), f) != probes.end(); });
        ASSERT_TRUE(same_frames(got, frames)) << "traffic after restart " << r << "; the back-end is "
                                              << backend.state() << "; " << probes.size() << " probe(s) sent";
        if (r == 0) {
            fds_connected = open_fds();
        } else {
            ++resumed;
        }
        if (r == rounds) {
            break;
        }
        // Frames in flight (some sent, some on their way back) when the back-end dies.
        for (uint32_t i = 0; i < 64; ++i) {
            rte_mbuf *mb = to_mbuf(pool(), make_frame(200, 9000 + i));
            if (mb != nullptr && rte_eth_tx_burst(port, 0, &mb, 1) != 1) {
                rte_pktmbuf_free(mb);
            }
        }
        backend.kill();
        ASSERT_TRUE(wait_for([&] { return link_is(port, false); })) << "link stayed up after the kill, round " << r;
        rte_mbuf *rx[32];
        rte_pktmbuf_free_bulk(rx, rte_eth_rx_burst(port, 0, rx, 32)); // whatever made it back
        ASSERT_TRUE(backend.start()) << "restart " << r;
    }
    EXPECT_EQ(resumed, rounds);
    EXPECT_EQ(open_fds(), fds_connected) << "fds leaked over " << rounds << " reconnects";
    EXPECT_EQ(rte_eth_dev_stop(port), 0);
    EXPECT_EQ(rte_eth_dev_close(port), 0);
    EXPECT_EQ(rte_vdev_uninit(name.c_str()), 0);
    backend.kill();
    ::unlink(sock.c_str());
    EXPECT_EQ(pool_available(pool()), pool_before) << "mbufs lost over " << rounds << " restarts";
    std::printf("storm %s: %d restarts survived, traffic resumed after each\n", m.name, resumed);
}

class Storm : public ::testing::TestWithParam<Mode> {};
TEST_P(Storm, BackendKilledAndRestartedUnderTraffic) { storm(GetParam()); }
INSTANTIATE_TEST_SUITE_P(Modes, Storm,
                         ::testing::Values(Mode{"client_split", false, false}, Mode{"client_packed", false, true},
                                           Mode{"server_split", true, false}, Mode{"server_packed", true, true}),
                         [](const auto &info) { return std::string(info.param.name); });

} // namespace
} // namespace vpmd::test
