// Live stats, summary and JSON of vpmd-fwd.
#include "apps/fwd/report.hpp"

#include <rte_cycles.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "apps/fwd/json.hpp"

namespace vpmd::fwd {

namespace {

std::string mac_str(const rte_ether_addr &a) {
    char buf[RTE_ETHER_ADDR_FMT_SIZE];
    rte_ether_format_addr(buf, sizeof(buf), &a);
    return buf;
}

runtime::QueueTotals port_totals(const Sample &s, uint16_t port) {
    runtime::QueueTotals t;
    for (const auto &q : s.queues) {
        if (q.key.port == port) {
            t += q.totals;
        }
    }
    return t;
}

runtime::QueueTotals queue_totals(const Sample &s, uint16_t port, uint16_t queue) {
    for (const auto &q : s.queues) {
        if (q.key.port == port && q.key.queue == queue) {
            return q.totals;
        }
    }
    return {};
}

runtime::LcoreTotals lcore_of(const Sample &s, unsigned lcore) {
    for (const auto &l : s.lcores) {
        if (l.lcore == lcore) {
            return l;
        }
    }
    runtime::LcoreTotals z;
    z.lcore = lcore;
    return z;
}

double per_sec(uint64_t n, double secs) {
    return secs > 0 ? double(n) / secs : 0.0;
}

std::string role_name(PortRole r) {
    return r == PortRole::echo ? "echo" : "forward";
}

} // namespace

Sample take_sample(const std::vector<Port> &ports, const runtime::Runtime &rt) {
    Sample s;
    s.tsc = rte_get_tsc_cycles();
    for (const Port &p : ports) {
        rte_eth_stats st{};
        rte_eth_stats_get(p.id, &st);
        s.eth.push_back(st);
    }
    s.queues = rt.queues().by_queue();
    s.lcores = rt.lcore_totals();
    return s;
}

LiveStats::LiveStats(const std::vector<Port> &ports, const runtime::Runtime &rt, Sample start, uint64_t tsc_hz)
    : ports_(ports), rt_(rt), prev_(std::move(start)), start_tsc_(prev_.tsc), hz_(tsc_hz) {}

void LiveStats::tick() {
    Sample now = take_sample(ports_, rt_);
    const double dt = double(now.tsc - prev_.tsc) / double(hz_);
    const double t = double(now.tsc - start_tsc_) / double(hz_);
    std::string out;
    char line[512];
    for (size_t i = 0; i < ports_.size(); ++i) {
        const Port &p = ports_[i];
        const auto d = port_totals(now, p.id) - port_totals(prev_, p.id);
        const uint64_t ierr = now.eth[i].ierrors - prev_.eth[i].ierrors;
        const uint64_t oerr = now.eth[i].oerrors - prev_.eth[i].oerrors;
        const uint64_t missed = now.eth[i].imissed - prev_.eth[i].imissed;
        std::snprintf(line, sizeof(line),
                      "[%7.1f s] port %u %-14s rx %8.3f Mpps %7.3f Gbps  tx %8.3f Mpps %7.3f Gbps  drops %lu  "
                      "errors %lu\n",
                      t, p.id, p.name.c_str(), per_sec(d.rx_packets, dt) / 1e6, per_sec(d.rx_bytes * 8, dt) / 1e9,
                      per_sec(d.tx_packets, dt) / 1e6, per_sec(d.tx_bytes * 8, dt) / 1e9,
                      (unsigned long)(d.drops + missed), (unsigned long)(d.errors + ierr + oerr));
        out += line;
        for (uint16_t q = 0; q < std::max(p.rxq, p.txq); ++q) {
            const auto dq = queue_totals(now, p.id, q) - queue_totals(prev_, p.id, q);
            std::snprintf(line, sizeof(line), "%12s q%-3u rx %8.3f Mpps  tx %8.3f Mpps  drops %lu  errors %lu\n", "",
                          q, per_sec(dq.rx_packets, dt) / 1e6, per_sec(dq.tx_packets, dt) / 1e6,
                          (unsigned long)dq.drops, (unsigned long)dq.errors);
            out += line;
        }
    }
    for (const auto &l : now.lcores) {
        const auto d = l - lcore_of(prev_, l.lcore);
        std::snprintf(line, sizeof(line), "%12s lcore %-3u busy %5.1f %%  %7.1f busy cycles/packet\n", "", l.lcore,
                      100.0 * d.busy_fraction(), d.busy_cycles_per_unit());
        out += line;
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    prev_ = std::move(now);
}

void print_summary(const RunInfo &run, const std::vector<Port> &ports, const Sample &end) {
    const double secs = run.seconds;
    if (run.embedded) {
        for (const Port &p : ports) {
            if (p.role == PortRole::forward && p.driver == "net_vpmd") {
                const auto t = port_totals(end, p.id);
                std::printf("vpmd-fwd: %s forwarding on %s over vhost-user (%s, %s): %.3f Mpps rx, %.3f Mpps tx over "
                            "%.1f s\n",
                            run.options->forward_mode.c_str(), p.name.c_str(), run.embedded_socket.c_str(),
                            run.no_huge ? "--no-huge" : "hugepages", per_sec(t.rx_packets, secs) / 1e6,
                            per_sec(t.tx_packets, secs) / 1e6, secs);
            }
        }
    }
    std::printf("---- summary: %s, %.2f s, stopped by %s ----\n", run.options->forward_mode.c_str(), secs,
                run.stopped_by.c_str());
    for (size_t i = 0; i < ports.size(); ++i) {
        const Port &p = ports[i];
        const auto t = port_totals(end, p.id);
        const rte_eth_stats &e = end.eth[i];
        std::printf("port %u %s (%s, %s): rx %lu pkts %.3f Mpps  tx %lu pkts %.3f Mpps  drops %lu  errors %lu  "
                    "(ethdev: ipackets %lu opackets %lu imissed %lu ierrors %lu oerrors %lu rx_nombuf %lu)\n",
                    p.id, p.name.c_str(), p.driver.c_str(), role_name(p.role).c_str(), (unsigned long)t.rx_packets,
                    per_sec(t.rx_packets, secs) / 1e6, (unsigned long)t.tx_packets, per_sec(t.tx_packets, secs) / 1e6,
                    (unsigned long)t.drops, (unsigned long)t.errors, (unsigned long)e.ipackets,
                    (unsigned long)e.opackets, (unsigned long)e.imissed, (unsigned long)e.ierrors,
                    (unsigned long)e.oerrors, (unsigned long)e.rx_nombuf);
    }
    for (const auto &l : end.lcores) {
        std::printf("lcore %u: busy %.1f %%, %.1f busy cycles/packet, %lu packets\n", l.lcore,
                    100.0 * l.busy_fraction(), l.busy_cycles_per_unit(), (unsigned long)l.work);
    }
    std::printf("mempool: %u mbufs, %lu in use after ports closed%s\n", run.pool_size,
                (unsigned long)run.pool_in_use_at_exit, run.pool_in_use_at_exit == 0 ? "" : "  <-- LEAK");
    std::fflush(stdout);
}

Expected<void, std::string> write_json(const std::string &path, const RunInfo &run, const std::vector<Port> &ports,
                                       const Sample &end) {
    const FwdOptions &o = *run.options;
    const double secs = run.seconds;
    JsonWriter j;
    j.begin_object();
    j.value("app", "vpmd-fwd");
    j.begin_object("options");
    j.value("forward_mode", o.forward_mode);
    j.value("nb_cores", o.nb_cores);
    j.value("rxq", unsigned(o.rxq));
    j.value("txq", unsigned(o.txq));
    j.value("rxd", unsigned(o.rxd));
    j.value("txd", unsigned(o.txd));
    j.value("burst", unsigned(o.burst));
    j.begin_array("txpkts");
    for (uint16_t s : o.txpkts) {
        j.value({}, unsigned(s));
    }
    j.end_array();
    j.value("tx_first", o.tx_first);
    j.value("stats_period", o.stats_period);
    j.value("port_topology", std::string(topology_name(o.topology)));
    j.begin_array("eth_peers");
    for (const EthPeer &p : o.eth_peers) {
        j.begin_object();
        j.value("port", unsigned(p.port));
        rte_ether_addr a;
        std::memcpy(a.addr_bytes, p.mac.data(), 6);
        j.value("mac", mac_str(a));
        j.end_object();
    }
    j.end_array();
    j.value("total_num_mbufs", o.total_num_mbufs);
    j.value("max_pkt_len", o.max_pkt_len);
    j.value("duration", o.duration);
    j.value("embedded", run.embedded);
    j.value("vpmd_args", o.vpmd_args);
    j.begin_array("eal_args");
    for (const auto &a : run.eal_args) {
        j.value({}, a);
    }
    j.end_array();
    j.end_object();

    j.value("no_huge", run.no_huge);
    j.value("seconds", secs);
    j.value("stopped_by", run.stopped_by);
    j.value("tsc_hz", run.tsc_hz);
    if (run.embedded) {
        j.value("embedded_socket", run.embedded_socket);
    }

    runtime::QueueTotals fwd;
    j.begin_array("ports");
    for (size_t i = 0; i < ports.size(); ++i) {
        const Port &p = ports[i];
        const auto t = port_totals(end, p.id);
        if (p.role == PortRole::forward) {
            fwd += t;
        }
        j.begin_object();
        j.value("id", unsigned(p.id));
        j.value("name", p.name);
        j.value("driver", p.driver);
        j.value("role", role_name(p.role));
        j.value("mac", mac_str(p.mac));
        j.value("rxq", unsigned(p.rxq));
        j.value("txq", unsigned(p.txq));
        j.value("rx_packets", t.rx_packets);
        j.value("rx_bytes", t.rx_bytes);
        j.value("tx_packets", t.tx_packets);
        j.value("tx_bytes", t.tx_bytes);
        j.value("drops", t.drops);
        j.value("errors", t.errors);
        j.value("nombuf", t.nombuf);
        j.value("bad_csum", t.bad_csum);
        j.value("rx_mpps", per_sec(t.rx_packets, secs) / 1e6);
        j.value("tx_mpps", per_sec(t.tx_packets, secs) / 1e6);
        j.value("rx_gbps", per_sec(t.rx_bytes * 8, secs) / 1e9);
        j.value("tx_gbps", per_sec(t.tx_bytes * 8, secs) / 1e9);
        const rte_eth_stats &e = end.eth[i];
        j.begin_object("ethdev");
        j.value("ipackets", uint64_t(e.ipackets));
        j.value("opackets", uint64_t(e.opackets));
        j.value("ibytes", uint64_t(e.ibytes));
        j.value("obytes", uint64_t(e.obytes));
        j.value("imissed", uint64_t(e.imissed));
        j.value("ierrors", uint64_t(e.ierrors));
        j.value("oerrors", uint64_t(e.oerrors));
        j.value("rx_nombuf", uint64_t(e.rx_nombuf));
        j.end_object();
        j.begin_array("queues");
        for (uint16_t q = 0; q < std::max(p.rxq, p.txq); ++q) {
            const auto qt = queue_totals(end, p.id, q);
            j.begin_object();
            j.value("queue", unsigned(q));
            j.value("rx_packets", qt.rx_packets);
            j.value("rx_bytes", qt.rx_bytes);
            j.value("tx_packets", qt.tx_packets);
            j.value("tx_bytes", qt.tx_bytes);
            j.value("drops", qt.drops);
            j.value("errors", qt.errors);
            j.value("nombuf", qt.nombuf);
            j.value("bad_csum", qt.bad_csum);
            j.value("rx_mpps", per_sec(qt.rx_packets, secs) / 1e6);
            j.value("tx_mpps", per_sec(qt.tx_packets, secs) / 1e6);
            j.end_object();
        }
        j.end_array();
        j.end_object();
    }
    j.end_array();

    j.begin_array("lcores");
    for (const LcoreInfo &li : run.lcores) {
        const auto l = lcore_of(end, li.lcore);
        j.begin_object();
        j.value("lcore", li.lcore);
        j.value("busy_cycles", l.busy_cycles);
        j.value("idle_cycles", l.idle_cycles);
        j.value("busy_fraction", l.busy_fraction());
        j.value("packets", l.work);
        j.value("busy_cycles_per_packet", l.busy_cycles_per_unit());
        j.begin_array("streams");
        for (const auto &s : li.streams) {
            j.value({}, s);
        }
        j.end_array();
        j.end_object();
    }
    j.end_array();

    j.begin_object("totals");
    j.value("forward_rx_packets", fwd.rx_packets);
    j.value("forward_tx_packets", fwd.tx_packets);
    j.value("forward_rx_mpps", per_sec(fwd.rx_packets, secs) / 1e6);
    j.value("forward_tx_mpps", per_sec(fwd.tx_packets, secs) / 1e6);
    j.value("drops", fwd.drops);
    j.value("errors", fwd.errors);
    j.end_object();

    j.begin_object("mempool");
    j.value("size", run.pool_size);
    j.value("mbuf_data_room", unsigned(run.mbuf_data_room));
    j.value("in_use_at_exit", run.pool_in_use_at_exit);
    j.value("drained_at_stop", run.drained_at_stop);
    j.end_object();
    j.end_object();

    FILE *f = std::fopen(path.c_str(), "w");
    if (f == nullptr) {
        return unexpected("--json=" + path + ": " + std::strerror(errno));
    }
    const std::string &s = j.str();
    const bool ok = std::fwrite(s.data(), 1, s.size(), f) == s.size() && std::fputc('\n', f) != EOF;
    if (std::fclose(f) != 0 || !ok) {
        return unexpected("--json=" + path + ": write failed");
    }
    return {};
}

} // namespace vpmd::fwd
