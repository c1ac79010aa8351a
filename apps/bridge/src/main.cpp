// vpmd-bridge: an L2 learning bridge with an IPv4 ACL, built on the installed vpmd package
// only (dependency('vpmd')). Ports are net_vpmd devargs opened through vpmd::Port, or ids of
// ports EAL already has (--vdev/-a). The rules file is watched: edit it and the new rules
// are swapped in without stopping the data path; a bad file keeps the old rules.
//
//   vpmd-bridge -l 0-2 --vdev net_vhost0,iface=/tmp/c.sock --
//       --port net_vpmd0,path=/tmp/a.sock --port net_vpmd1,path=/tmp/b.sock --port 0
//       --rules acl.txt --age 300 --stats 1 --duration 10          (one command line)
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "vpmd/events.hpp"
#include "vpmd/port.hpp"
#include "vpmd/runtime/control_plane.hpp"
#include "vpmd/runtime/eal_launcher.hpp"
#include "vpmd/runtime/runtime.hpp"

#include "bridge.hpp"

namespace {

namespace rt = vpmd::runtime;
using Clock = std::chrono::steady_clock;

struct Options {
    std::vector<std::string> ports;
    std::string rules;
    uint32_t age_s = 300;
    uint16_t rxq = 1;
    uint16_t ring = 0;
    uint16_t burst = 32;
    uint32_t stats_s = 0;
    uint32_t duration_s = 0;
};

const char *usage =
    "usage: vpmd-bridge [EAL options] -- --port DEVARGS|PORT_ID [--port ...] [--rules FILE] [--age SECONDS]\n"
    "       [--rxq N] [--ring N] [--burst N] [--stats SECONDS] [--duration SECONDS]\n";

bool parse_u32(const char *s, uint32_t max, uint32_t &out) {
    char *end = nullptr;
    errno = 0;
    const unsigned long v = std::strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max) {
        return false;
    }
    out = uint32_t(v);
    return true;
}

bool parse_options(int argc, char **argv, Options &o) {
    for (int i = 0; i < argc; ++i) {
        const std::string key = argv[i];
        if (i + 1 >= argc) {
            std::fprintf(stderr, "vpmd-bridge: %s needs a value\n%s", key.c_str(), usage);
            return false;
        }
        const char *val = argv[++i];
        uint32_t n = 0;
        auto number = [&](uint32_t lo, uint32_t hi) {
            if (!parse_u32(val, hi, n) || n < lo) {
                std::fprintf(stderr, "vpmd-bridge: %s: '%s' is not a number in %u..%u\n", key.c_str(), val, lo, hi);
                return false;
            }
            return true;
        };
        if (key == "--port") {
            o.ports.emplace_back(val);
        } else if (key == "--rules") {
            o.rules = val;
        } else if (key == "--age") {
            if (!number(1, 1u << 30)) return false;
            o.age_s = n;
        } else if (key == "--rxq") {
            if (!number(1, 64)) return false;
            o.rxq = uint16_t(n);
        } else if (key == "--ring") {
            if (!number(0, 4096)) return false;
            o.ring = uint16_t(n);
        } else if (key == "--burst") {
            if (!number(1, bridge::Bridge::max_burst)) return false;
            o.burst = uint16_t(n);
        } else if (key == "--stats") {
            if (!number(0, 3600)) return false;
            o.stats_s = n;
        } else if (key == "--duration") {
            if (!number(0, 1u << 30)) return false;
            o.duration_s = n;
        } else {
            std::fprintf(stderr, "vpmd-bridge: unknown option %s\n%s", key.c_str(), usage);
            return false;
        }
    }
    if (o.ports.size() < 2) {
        std::fprintf(stderr, "vpmd-bridge: give two --port or more\n%s", usage);
        return false;
    }
    return true;
}

vpmd::Result<vpmd::Port> open_port(const std::string &spec) {
    uint32_t id = 0;
    if (parse_u32(spec.c_str(), RTE_MAX_ETHPORTS - 1, id)) {
        return vpmd::Port::attach(uint16_t(id));
    }
    return vpmd::Port::open(spec);
}

// When the rules file last changed, to the nanosecond (two edits within a second both count).
int64_t mtime_ns(const std::string &path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 ? int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec : 0;
}

void print_rules(const bridge::Bridge &b) {
    for (const auto &r : b.rule_hits()) {
        std::printf("  rule %-50s %12lu\n", r.rule.c_str(), r.hits);
    }
}

} // namespace

int main(int argc, char **argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0); // whole lines, also into a pipe or a log file
    const int eal_args = rte_eal_init(argc, argv);
    if (eal_args < 0) {
        std::fprintf(stderr, "vpmd-bridge: EAL init failed: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    Options o;
    if (!parse_options(argc - eal_args - 1, argv + eal_args + 1, o)) {
        rte_eal_cleanup();
        return 2;
    }
    const std::vector<unsigned> workers = rt::eal_worker_lcores();
    if (workers.empty()) {
        std::fprintf(stderr, "vpmd-bridge: no worker lcore (give EAL -l with two lcores or more)\n");
        return 1;
    }
    std::unique_ptr<bridge::RuleSet> rules;
    {
        auto r = o.rules.empty() ? bridge::parse_rules("default allow", unsigned(workers.size()))
                                 : bridge::load_rules(o.rules, unsigned(workers.size()));
        if (!r) {
            std::fprintf(stderr, "vpmd-bridge: %s\n", r.error().c_str());
            return 1;
        }
        rules = std::move(r.value());
    }
    const unsigned nb_mbufs = unsigned(o.ports.size()) * (o.rxq + workers.size()) * 4096 + 8191;
    rte_mempool *pool = rte_pktmbuf_pool_create("bridge_pool", nb_mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                                int(rte_socket_id()));
    if (pool == nullptr) {
        std::fprintf(stderr, "vpmd-bridge: no mbuf pool: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    int rc = 0;
    {
        std::vector<vpmd::Port> ports;
        bridge::BridgeOptions bo;
        bo.rx_queues = o.rxq;
        bo.max_age_s = o.age_s;
        bo.burst = o.burst;
        for (const std::string &spec : o.ports) {
            auto p = open_port(spec);
            if (!p) {
                std::fprintf(stderr, "vpmd-bridge: %s\n", p.error().what.c_str());
                return 1;
            }
            vpmd::QueueConfig qc;
            qc.rx_queues = o.rxq;
            qc.tx_queues = uint16_t(workers.size());
            qc.rx_ring = qc.tx_ring = o.ring;
            qc.pool = pool;
            qc.promiscuous = true; // a bridge takes every frame
            if (auto r = p->configure(qc); !r) {
                std::fprintf(stderr, "vpmd-bridge: %s\n", r.error().what.c_str());
                return 1;
            }
            if (auto r = p->start(); !r) {
                std::fprintf(stderr, "vpmd-bridge: %s\n", r.error().what.c_str());
                return 1;
            }
            std::printf("vpmd-bridge: port %u %s (%s)\n", p->id(), p->name().c_str(), p->driver().c_str());
            bo.ports.push_back(p->id());
            ports.push_back(std::move(*p));
        }

        bridge::Bridge br(bo, workers, std::move(rules));
        rt::EalLauncher eal;
        rt::Runtime runtime(eal);
        if (auto r = br.attach(runtime); !r) {
            std::fprintf(stderr, "vpmd-bridge: %s\n", r.error().c_str());
            return 1;
        }
        rt::StopFlag quit;
        rt::ControlPlane::stop_on_signals(quit);
        rt::ControlPlane cp;
        vpmd::EventMonitor events(cp, [](const vpmd::PortEvent &e) {
            std::printf("vpmd-bridge: port %u: %s%s%s\n", e.port, vpmd::to_string(e.kind),
                        e.reason.empty() ? "" : ": ", e.reason.c_str());
        });
        for (const vpmd::Port &p : ports) {
            (void)events.watch(p.id());
        }
        const auto t0 = Clock::now();
        auto seconds = [&] { return uint32_t(std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - t0).count()); };
        cp.every(std::chrono::milliseconds(1000), [&] { br.tick(seconds()); });
        int64_t rules_mtime = o.rules.empty() ? 0 : mtime_ns(o.rules);
        if (!o.rules.empty()) {
            cp.every(std::chrono::milliseconds(500), [&] {
                const int64_t m = mtime_ns(o.rules);
                if (m == rules_mtime) {
                    return;
                }
                rules_mtime = m;
                auto r = bridge::load_rules(o.rules, unsigned(workers.size()));
                if (!r) {
                    std::printf("vpmd-bridge: keeping the old rules: %s\n", r.error().c_str());
                    return;
                }
                const size_t n = r.value()->rules().size();
                br.swap_rules(std::move(r.value()));
                std::printf("vpmd-bridge: rules reloaded: %zu rules\n", n);
            });
        }
        rt::QueueTotals last = runtime.queues().total();
        if (o.stats_s != 0) {
            cp.every(std::chrono::milliseconds(o.stats_s * 1000), [&] {
                const rt::QueueTotals now = runtime.queues().total();
                const rt::QueueTotals d = now - last;
                last = now;
                std::printf("vpmd-bridge: rx %.3f Mpps tx %.3f Mpps, %zu MACs\n", double(d.rx_packets) / o.stats_s / 1e6,
                            double(d.tx_packets) / o.stats_s / 1e6, br.macs());
            });
        }
        if (auto r = runtime.start(); !r) {
            std::fprintf(stderr, "vpmd-bridge: %s\n", r.error().c_str());
            return 1;
        }
        const auto started = Clock::now();
        std::optional<rt::ControlPlane::Clock::time_point> deadline;
        if (o.duration_s != 0) {
            deadline = rt::ControlPlane::Clock::now() + std::chrono::seconds(o.duration_s);
        }
        cp.run(quit, deadline);
        rc = runtime.stop();
        br.stopped();
        const double secs = std::chrono::duration<double>(Clock::now() - started).count();

        const rt::QueueTotals all = runtime.queues().total();
        std::printf("vpmd-bridge: %.1f s, rx %lu packets (%.3f Mpps), tx %lu packets (%.3f Mpps)\n", secs,
                    all.rx_packets, double(all.rx_packets) / secs / 1e6, all.tx_packets,
                    double(all.tx_packets) / secs / 1e6);
        for (const auto &p : runtime.queues().by_port()) {
            std::printf("  port %u: rx %lu tx %lu drops %lu errors %lu\n", p.key.port, p.totals.rx_packets,
                        p.totals.tx_packets, p.totals.drops, p.totals.errors);
        }
        const bridge::BridgeTotals t = br.totals();
        std::printf("  forwarded %lu flooded %lu acl_denied %lu same_port %lu not_ipv4 %lu malformed %lu "
                    "learn_full %lu tx_dropped %lu, %zu MACs, %lu rule swaps\n",
                    t.forwarded, t.flooded, t.acl_denied, t.same_port, t.not_ipv4, t.malformed, t.learn_full,
                    t.tx_dropped, br.macs(), br.rule_swaps());
        print_rules(br);
    }
    rte_mempool_free(pool);
    rte_eal_cleanup();
    return rc == 0 ? 0 : 1;
}
