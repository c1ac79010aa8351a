// vpmd-fwd: testpmd-like forwarding over any DPDK ports on the vpmd runtime; with no port
// given it runs the embedded backend (net_vhost in process + net_vpmd) and prints Mpps.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <glob.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "apps/fwd/eal_args.hpp"
#include "apps/fwd/engine.hpp"
#include "apps/fwd/options.hpp"
#include "apps/fwd/ports.hpp"
#include "apps/fwd/report.hpp"
#include "vpmd/runtime/assignment.hpp"
#include "vpmd/runtime/control_plane.hpp"
#include "vpmd/runtime/eal_launcher.hpp"
#include "vpmd/runtime/runtime.hpp"

namespace vpmd::fwd {
namespace {

using namespace std::chrono_literals;

// Why 10 s: the embedded run is the README's demo command; it must end by itself.
constexpr double embedded_default_seconds = 10.0;
// Links of software ports come up in milliseconds; vhost-user needs a round of messages.
constexpr auto link_wait = 10s;
constexpr auto link_watch_period = 500ms;
constexpr unsigned pool_cache_size = 256;

struct StreamPlan {
    std::unique_ptr<Stream> stream;
    const Engine *engine = nullptr;
    bool forwarding = true; // false: the embedded echo
    std::string label;
};

class App {
public:
    App(const FwdOptions &o, const EalPlan &plan, runtime::StopFlag &quit) : o_(o), plan_(plan), quit_(quit) {}

    int run() {
        auto st = setup();
        int rc = 0;
        if (!st) {
            std::fprintf(stderr, "vpmd-fwd: error: %s\n", st.error().c_str());
            rc = 1;
        } else {
            rc = forward();
        }
        teardown(rc == 0);
        if (rc == 0 && run_.pool_in_use_at_exit != 0) {
            std::fprintf(stderr, "vpmd-fwd: error: %lu mbufs still in use after the ports closed\n",
                         (unsigned long)run_.pool_in_use_at_exit);
            rc = 3;
        }
        return rc;
    }

private:
    Status setup() {
        uint16_t id = 0;
        RTE_ETH_FOREACH_DEV(id) {
            ports_.push_back(describe_port(id, PortRole::forward, o_));
        }
        embedded_mode_ = o_.embedded || ports_.empty();
        if (ports_.empty() && !o_.embedded) {
            std::printf("vpmd-fwd: no port given (no --vdev, no PCI device): embedded mode, net_vhost + net_vpmd "
                        "in process\n");
        }
        // The embedded pair alone has no traffic source: seed it as --tx-first would.
        if (embedded_mode_ && ports_.empty() && !o_.tx_first && find_engine(o_.forward_mode)->polls_rx &&
            o_.forward_mode != "flowgen") {
            tx_first_ = true;
            std::printf("vpmd-fwd: embedded pair only: --tx-first implied (nothing else would send)\n");
        }
        workers_ = runtime::eal_worker_lcores();
        if (workers_.size() < o_.nb_cores) {
            return unexpected("--nb-cores=" + std::to_string(o_.nb_cores) + " but EAL gave " +
                              std::to_string(workers_.size()) +
                              " worker lcore(s): give more with -l/--lcores (the main lcore runs the control plane)");
        }
        workers_.resize(o_.nb_cores);
        // Before sizing the pool from the queue counts: say what the driver allows.
        for (const Port &p : ports_) {
            rte_eth_dev_info info{};
            if (rte_eth_dev_info_get(p.id, &info) == 0 && (p.rxq > info.max_rx_queues || p.txq > info.max_tx_queues)) {
                return unexpected("port " + std::to_string(p.id) + " (" + p.name + "): --rxq=" +
                                  std::to_string(p.rxq) + " --txq=" + std::to_string(p.txq) +
                                  " but the driver allows " + std::to_string(info.max_rx_queues) + " rx / " +
                                  std::to_string(info.max_tx_queues) + " tx queues");
            }
        }
        if (auto st = make_pool(); !st) {
            return st;
        }
        for (Port &p : ports_) {
            if (auto st = configure_and_start(p, o_, pool_); !st) {
                return st;
            }
        }
        if (embedded_mode_) {
            embedded_ = std::make_unique<Embedded>();
            auto vhost = embedded_->start_vhost(o_, pool_);
            if (!vhost) {
                return unexpected(vhost.error());
            }
            ports_.push_back(*vhost);
            auto vpmd = embedded_->attach_vpmd(o_, pool_);
            if (!vpmd) {
                return unexpected(vpmd.error());
            }
            ports_.push_back(*vpmd);
        }
        for (const EthPeer &peer : o_.eth_peers) {
            if (std::none_of(ports_.begin(), ports_.end(), [&](const Port &p) { return p.id == peer.port; })) {
                return unexpected("--eth-peer: no port " + std::to_string(peer.port));
            }
        }
        if (auto st = wait_links(); !st) {
            return st;
        }
        if (auto st = plan_streams(); !st) {
            return st;
        }
        return assign();
    }

    Status make_pool() {
        const uint16_t room = mbuf_data_room(o_);
        uint32_t n = o_.total_num_mbufs;
        if (n == 0) {
            n = pool_size_for(ports_, o_, o_.nb_cores);
            if (embedded_mode_ && !ports_.empty()) {
                // The embedded pair's rings on top (both sizes are 2^k - 1).
                n = std::min<uint32_t>(n + pool_size_for({}, o_, 0) + 1, 1u << 26);
            }
        }
        pool_ = rte_pktmbuf_pool_create("vpmd_fwd_pool", n, pool_cache_size, 0, room, int(rte_socket_id()));
        if (pool_ == nullptr) {
            return unexpected("cannot create a pool of " + std::to_string(n) + " mbufs of " + std::to_string(room) +
                              " bytes: " + rte_strerror(rte_errno) + " (more memory: -m, or --total-num-mbufs)");
        }
        run_.pool_size = n;
        run_.mbuf_data_room = room;
        return {};
    }

    Status wait_links() {
        const auto deadline = std::chrono::steady_clock::now() + link_wait;
        for (const Port &p : ports_) {
            rte_eth_link l{};
            while (rte_eth_link_get_nowait(p.id, &l) == 0 && l.link_status == RTE_ETH_LINK_DOWN) {
                if (std::chrono::steady_clock::now() > deadline) {
                    if (p.role == PortRole::echo || p.driver == "net_vpmd") {
                        return unexpected("port " + std::to_string(p.id) + " (" + p.name + "): link still down after " +
                                          std::to_string(link_wait.count()) + " s");
                    }
                    std::printf("vpmd-fwd: port %u (%s): link down, forwarding anyway\n", p.id, p.name.c_str());
                    break;
                }
                if (quit_.requested()) {
                    return unexpected(std::string("interrupted while waiting for links"));
                }
                std::this_thread::sleep_for(2ms);
            }
        }
        return {};
    }

    rte_ether_addr peer_of(uint16_t port) const {
        for (const EthPeer &p : o_.eth_peers) {
            if (p.port == port) {
                rte_ether_addr a;
                std::memcpy(a.addr_bytes, p.mac.data(), 6);
                return a;
            }
        }
        // testpmd's default peer: locally administered 02:00:00:00:00:<port>.
        return rte_ether_addr{{0x02, 0, 0, 0, 0, uint8_t(port)}};
    }

    Stream &add_stream(const Port &rx, const Port &tx, uint16_t q, const Engine *e, bool forwarding) {
        auto s = std::make_unique<Stream>();
        s->rx_port = rx.id;
        s->rx_queue = q;
        s->tx_port = tx.id;
        s->tx_queue = q;
        s->burst = o_.burst;
        s->pool = pool_;
        s->src = tx.mac;
        s->dst = peer_of(tx.id);
        s->rx_csum = rx.rx_csum;
        s->tx_csum = tx.tx_csum;
        prepare_udp_stream(*s, o_.txpkts);
        char label[96];
        std::snprintf(label, sizeof(label), "p%uq%u->p%uq%u %.*s", rx.id, q, tx.id, q, int(e->name.size()),
                      e->name.data());
        Stream &ref = *s;
        streams_.push_back(StreamPlan{std::move(s), e, forwarding, label});
        return ref;
    }

    Status plan_streams() {
        const Engine *engine = find_engine(o_.forward_mode);
        const Engine *echo = find_engine("io");
        std::vector<const Port *> fwd;
        for (const Port &p : ports_) {
            if (p.role == PortRole::forward) {
                fwd.push_back(&p);
            }
        }
        const size_t n = fwd.size();
        if (o_.topology == Topology::paired && n % 2 == 1 && n > 1) {
            std::printf("vpmd-fwd: warning: --port-topology=paired with an odd number of ports: the last port pairs "
                        "with itself\n");
        }
        for (size_t i = 0; i < n; ++i) {
            size_t peer = i;
            switch (o_.topology) {
            case Topology::paired:
                peer = (i % 2 == 0) ? (i + 1 < n ? i + 1 : i) : i - 1;
                break;
            case Topology::chained:
                peer = (i + 1) % n;
                break;
            case Topology::loop:
                peer = i;
                break;
            }
            // Each stream owns rx queue q of its port and tx queue q of its peer (a
            // permutation of ports), so no tx queue is shared between lcores.
            const uint16_t queues = std::min(fwd[i]->rxq, fwd[peer]->txq);
            for (uint16_t q = 0; q < queues; ++q) {
                add_stream(*fwd[i], *fwd[peer], q, engine, true);
            }
        }
        for (const Port &p : ports_) {
            if (p.role == PortRole::echo) {
                for (uint16_t q = 0; q < std::min(p.rxq, p.txq); ++q) {
                    add_stream(p, p, q, echo, false);
                }
            }
        }
        if (streams_.empty()) {
            return unexpected(std::string("no stream to forward"));
        }
        return {};
    }

    Status assign() {
        std::vector<runtime::QueueKey> keys;
        for (const auto &sp : streams_) {
            keys.push_back(runtime::QueueKey{sp.stream->rx_port, sp.stream->rx_queue});
        }
        auto a = runtime::assign_queues(keys, workers_, runtime::AssignPolicy::blocks);
        if (!a) {
            return unexpected("assigning streams to lcores: " + a.error());
        }
        if (a->idle_lcores != 0) {
            std::printf("vpmd-fwd: %zu stream(s) for %u lcore(s): %zu lcore(s) stay idle\n", streams_.size(),
                        o_.nb_cores, a->idle_lcores);
        }
        for (const auto &share : a->shares) {
            std::vector<runtime::Poller> pollers;
            LcoreInfo info;
            info.lcore = share.lcore;
            for (size_t idx : share.items) {
                StreamPlan &sp = streams_[idx];
                Stream &s = *sp.stream;
                s.rx_ctr = &rt_.queues().slot(share.lcore, s.rx_port, s.rx_queue);
                s.tx_ctr = &rt_.queues().slot(share.lcore, s.tx_port, s.tx_queue);
                pollers.push_back(runtime::Poller{sp.engine->burst, &s, sp.label.c_str()});
                info.streams.push_back(sp.label);
            }
            if (auto st = rt_.add_worker(share.lcore, std::move(pollers)); !st) {
                return unexpected(st.error());
            }
            run_.lcores.push_back(std::move(info));
        }
        return {};
    }

    int forward() {
        for (const Port &p : ports_) {
            rte_eth_stats_reset(p.id);
        }
        if (o_.tx_first || tx_first_) {
            // One burst per forwarding stream from the main lcore, before the loops own
            // the queues (remote launch orders these writes before the workers' reads).
            for (auto &sp : streams_) {
                if (sp.forwarding) {
                    send_udp_burst(*sp.stream);
                }
            }
        }
        run_.tsc_hz = rte_get_tsc_hz();
        Sample start = take_sample(ports_, rt_);
        if (auto st = rt_.start(); !st) {
            std::fprintf(stderr, "vpmd-fwd: error: %s\n", st.error().c_str());
            return 1;
        }
        print_start();
        runtime::ControlPlane cp(2);
        std::optional<LiveStats> live;
        if (o_.stats_period > 0) {
            live.emplace(ports_, rt_, start, run_.tsc_hz);
            cp.every(std::chrono::milliseconds(std::max<long>(1, long(o_.stats_period * 1000))), [&] { live->tick(); });
        }
        std::vector<int> link_state(ports_.size(), -1);
        cp.every(link_watch_period, [&] { watch_links(link_state); });
        double seconds = o_.duration;
        if (!o_.duration_given && embedded_mode_) {
            seconds = embedded_default_seconds;
        }
        std::optional<runtime::ControlPlane::Clock::time_point> deadline;
        if (seconds > 0) {
            deadline = runtime::ControlPlane::Clock::now() +
                       std::chrono::duration_cast<runtime::ControlPlane::Clock::duration>(
                           std::chrono::duration<double>(seconds));
        }
        const auto exit = cp.run(quit_, deadline);
        const int wrc = rt_.stop();
        const uint64_t end_tsc = rte_get_tsc_cycles();
        run_.seconds = double(end_tsc - start.tsc) / double(run_.tsc_hz);
        const int sig = runtime::ControlPlane::caught_signal();
        run_.stopped_by = exit == runtime::ControlPlane::Exit::deadline ? "duration"
                          : sig == SIGINT                               ? "SIGINT"
                          : sig == SIGTERM                              ? "SIGTERM"
                                                                        : "request";
        end_ = take_sample(ports_, rt_);
        have_end_ = true;
        return wrc == 0 ? 0 : 1;
    }

    void print_start() {
        std::printf("vpmd-fwd: forwarding started: mode %s, %zu stream(s) on %zu lcore(s), %zu port(s), burst %u%s\n",
                    o_.forward_mode.c_str(), streams_.size(), run_.lcores.size(), ports_.size(), o_.burst,
                    o_.tx_first || tx_first_ ? ", tx-first" : "");
        for (const Port &p : ports_) {
            std::printf("vpmd-fwd:   port %u %s (%s, %s) mac %02x:%02x:%02x:%02x:%02x:%02x rxq %u txq %u\n", p.id,
                        p.name.c_str(), p.driver.c_str(), p.role == PortRole::echo ? "echo" : "forward",
                        p.mac.addr_bytes[0], p.mac.addr_bytes[1], p.mac.addr_bytes[2], p.mac.addr_bytes[3],
                        p.mac.addr_bytes[4], p.mac.addr_bytes[5], p.rxq, p.txq);
        }
        for (const LcoreInfo &l : run_.lcores) {
            std::string s;
            for (const auto &x : l.streams) {
                s += "  " + x;
            }
            std::printf("vpmd-fwd:   lcore %u:%s\n", l.lcore, s.c_str());
        }
        std::fflush(stdout);
    }

    void watch_links(std::vector<int> &state) {
        for (size_t i = 0; i < ports_.size(); ++i) {
            rte_eth_link l{};
            if (rte_eth_link_get_nowait(ports_[i].id, &l) != 0) {
                continue;
            }
            const int up = l.link_status == RTE_ETH_LINK_UP ? 1 : 0;
            if (state[i] != -1 && state[i] != up) {
                std::printf("vpmd-fwd: port %u (%s): link %s\n", ports_[i].id, ports_[i].name.c_str(),
                            up ? "up" : "down");
                std::fflush(stdout);
            }
            state[i] = up;
        }
    }

    void teardown(bool report) {
        for (const Port &p : ports_) {
            if (p.started) {
                run_.drained_at_stop += drain_rx(p);
            }
        }
        // Reverse order of start: the hot-plugged driver before its backend.
        for (auto it = ports_.rbegin(); it != ports_.rend(); ++it) {
            stop_and_close(*it);
        }
        if (embedded_) {
            embedded_->remove();
        }
        if (pool_ != nullptr) {
            run_.pool_in_use_at_exit = rte_mempool_in_use_count(pool_);
        }
        if (report && have_end_) {
            run_.options = &o_;
            run_.eal_args = plan_.eal;
            run_.no_huge = plan_.no_huge;
            run_.embedded = embedded_mode_;
            run_.embedded_socket = embedded_ ? embedded_->socket() : "";
            print_summary(run_, ports_, end_);
            if (!o_.json.empty()) {
                if (auto st = write_json(o_.json, run_, ports_, end_); !st) {
                    std::fprintf(stderr, "vpmd-fwd: error: %s\n", st.error().c_str());
                }
            }
        }
        if (pool_ != nullptr && run_.pool_in_use_at_exit == 0) {
            rte_mempool_free(pool_);
            pool_ = nullptr;
        }
    }

    const FwdOptions &o_;
    const EalPlan &plan_;
    runtime::StopFlag &quit_;
    bool embedded_mode_ = false;
    bool tx_first_ = false; // implied for the embedded pair alone
    std::vector<Port> ports_;
    std::vector<unsigned> workers_;
    rte_mempool *pool_ = nullptr;
    std::unique_ptr<Embedded> embedded_;
    std::vector<StreamPlan> streams_;
    runtime::EalLauncher launcher_;
    runtime::Runtime rt_{launcher_};
    RunInfo run_;
    Sample end_;
    bool have_end_ = false;
};

// EAL leaves hugepage files and its runtime folder behind; remove them when the prefix
// was ours (no EAL options given).
void remove_eal_leftovers(const EalPlan &plan, const std::string &runtime_dir) {
    if (!plan.defaults) {
        return;
    }
    const std::string prefix = "vpmd-fwd-" + std::to_string(::getpid());
    if (!runtime_dir.empty() && runtime_dir.find(prefix) != std::string::npos) {
        std::error_code ec;
        std::filesystem::remove_all(runtime_dir, ec);
    }
    if (!plan.no_huge) {
        glob_t g{};
        const std::string pattern = "/dev/hugepages/" + prefix + "map_*";
        if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
            for (size_t i = 0; i < g.gl_pathc; ++i) {
                ::unlink(g.gl_pathv[i]);
            }
        }
        ::globfree(&g);
    }
}

} // namespace
} // namespace vpmd::fwd

int main(int argc, char **argv) {
    using namespace vpmd::fwd;
    const EalPlan plan = plan_eal_args(argc, argv);
    const auto modes = engine_names();
    auto opts = parse_options(plan.app, modes);
    if (!opts) {
        std::fprintf(stderr, "vpmd-fwd: error: %s\n", opts.error().c_str());
        return 2;
    }
    if (opts->help) {
        std::fputs(usage(modes).c_str(), stdout);
        return 0;
    }
    if (!opts->json.empty()) {
        // Fail before EAL if the summary cannot be written, not after a long run.
        FILE *f = std::fopen(opts->json.c_str(), "w");
        if (f == nullptr) {
            std::fprintf(stderr, "vpmd-fwd: error: --json=%s: %s\n", opts->json.c_str(), std::strerror(errno));
            return 2;
        }
        std::fclose(f);
    }
    for (const auto &n : plan.notes) {
        std::printf("vpmd-fwd: %s\n", n.c_str());
    }
    std::fflush(stdout);
    // Before EAL: a signal during set-up must also end the run cleanly.
    vpmd::runtime::StopFlag quit;
    vpmd::runtime::ControlPlane::stop_on_signals(quit);

    std::vector<std::string> eal_args = plan.eal;
    std::vector<char *> eal_argv;
    for (auto &a : eal_args) {
        eal_argv.push_back(a.data());
    }
    eal_argv.push_back(nullptr);
    if (rte_eal_init(int(eal_argv.size() - 1), eal_argv.data()) < 0) {
        std::fprintf(stderr, "vpmd-fwd: error: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    const std::string runtime_dir = rte_eal_get_runtime_dir();
    int rc = 0;
    {
        App app(*opts, plan, quit);
        rc = app.run();
    }
    rte_eal_cleanup();
    remove_eal_leftovers(plan, runtime_dir);
    return rc;
}
