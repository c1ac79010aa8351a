// vpmd-perf --soak: long loopback runs of net_vpmd with back-end restarts under traffic.
// The driver lcore sends numbered, checksummed frames and checks each one that comes
// back; between stretches of traffic it removes the net_vhost port (its socket closes,
// as when a back-end process dies), keeps polling while net_vpmd notices, starts the
// port again and waits for both links. Frames in flight at a restart are accounted
// apart; every other missing, damaged or out-of-order frame fails the soak.
#include "apps/perf/soak.hpp"

#include <dirent.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <chrono>
#include <sstream>

#include "apps/perf/loops.hpp"
#include "apps/perf/report.hpp"
#include "vpmd/runtime/eal_launcher.hpp"
#include "vpmd/runtime/runtime.hpp"

namespace vpmd::perf {

using namespace detail;

namespace {

// Longest wait for net_vpmd to see its back-end gone, and for both links after a
// restart: far beyond the driver's watch period, short enough to end a stuck soak.
constexpr auto restart_wait = 30s;
// At the end: frames still in flight may come back until none has for this long (a
// shared machine may stall a thread for a while; a frame that is back is never late).
constexpr double drain_idle_seconds = 5;

long open_fds() {
    long n = 0;
    if (DIR *d = ::opendir("/proc/self/fd")) {
        while (::readdir(d) != nullptr) {
            ++n;
        }
        ::closedir(d);
    }
    return n;
}

uint64_t xstat(uint16_t port, const char *name) {
    uint64_t id = 0, value = 0;
    if (rte_eth_xstats_get_id_by_name(port, name, &id) != 0 || rte_eth_xstats_get_by_id(port, &id, &value, 1) != 1) {
        return 0;
    }
    return value;
}

double ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// Traffic goes on (unmeasured, still checked) until `done()` holds; false at the wait's end.
template <class Done>
bool poll_until(DriverLoop &l, Done done) {
    const auto deadline = std::chrono::steady_clock::now() + restart_wait;
    const uint64_t step = rte_get_tsc_hz() / 1000;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        l.run_slice(rte_rdtsc() + step, false);
    }
    return true;
}

// One back-end restart under traffic; false with p.error when a link does not follow.
bool restart_backend(const EngineContext &ctx, const Scenario &s, Pair &p, DeviceSwitch &sw, double &down_ms,
                     double &up_ms) {
    DriverLoop &l = p.lanes[0].loop;
    for (uint16_t q = 0; q < s.queues; ++q) {
        // From the first frame not back yet, everything sent until the link returns may
        // go down with the back-end: the window opens now (a gap can show up at once)
        // and closes at the link's return.
        l.rx_seq[q].in_flight_at_restart.emplace_back(l.rx_seq[q].expected, UINT64_MAX);
    }
    sw.idle();
    p.lanes[0].dev.release(); // frames the device held go with it
    remove_port(p.vhost);
    const auto gone = std::chrono::steady_clock::now();
    if (!poll_until(l, [&] { return !link_up(p.dport); })) {
        p.error = "net_vpmd's link stayed up after its back-end went away";
        return false;
    }
    down_ms = ms_since(gone);
    if (!start_device(ctx, s, p)) {
        return false;
    }
    p.lanes[0].dev.port = p.vport;
    sw.active.store(&p.lanes[0].dev, std::memory_order_release);
    const auto back = std::chrono::steady_clock::now();
    if (!poll_until(l, [&] { return link_up(p.dport) && link_up(p.vport); })) {
        p.error = "no link within 30 s of a back-end restart";
        return false;
    }
    up_ms = ms_since(back);
    for (uint16_t q = 0; q < s.queues; ++q) {
        l.rx_seq[q].in_flight_at_restart.back().second = l.tx_seq[q];
        l.inflight[q] = 0; // the window restarts; what was lost no longer holds it
    }
    return true;
}

// The end: no more sending; what is still on its way may come back, the rest is a gap.
void drain_all(DriverLoop &l) {
    auto outstanding = [&] {
        for (uint16_t q = 0; q < l.queues; ++q) {
            if (l.rx_seq[q].expected < l.tx_seq[q]) {
                return true;
            }
        }
        return false;
    };
    const uint64_t idle = uint64_t(drain_idle_seconds * double(rte_get_tsc_hz()));
    for (uint64_t last = rte_rdtsc(); outstanding() && rte_rdtsc() - last < idle;) {
        for (uint16_t q = 0; q < l.queues; ++q) {
            if (l.receive(q, false) != 0) {
                last = rte_rdtsc();
            }
            rte_eth_tx_burst(l.port, q, nullptr, 0);
        }
    }
    for (uint16_t q = 0; q < l.queues; ++q) {
        SeqCheck &c = l.rx_seq[q];
        if (c.expected < l.tx_seq[q]) {
            c.gap(l.tx_seq[q], l.verify.lost);
            c.expected = l.tx_seq[q];
        }
    }
}

void tally(const Pair &p, uint16_t queues, SoakResult &r) {
    const DriverLoop &l = p.lanes[0].loop;
    r.packets = l.packets;
    r.seconds = double(l.measured_tsc) / double(rte_get_tsc_hz());
    r.lost_in_flight = 0;
    for (uint16_t q = 0; q < queues; ++q) {
        r.lost_in_flight += l.rx_seq[q].excused;
    }
    r.lost = l.verify.lost;
    r.reordered = l.verify.reordered;
    r.corrupted = l.verify.corrupted;
}

std::string verdict(const Pair &p, const SoakResult &r) {
    if (!p.error.empty()) {
        return p.error;
    }
    if (r.packets == 0) {
        return "no packets moved";
    }
    if (r.lost != 0 || r.reordered != 0 || r.corrupted != 0) {
        return "integrity: " + std::to_string(r.lost) + " lost, " + std::to_string(r.reordered) + " reordered, " +
               std::to_string(r.corrupted) + " corrupted";
    }
    if (r.mbufs_missing != 0) {
        return std::to_string(r.mbufs_missing) + " mbufs not back in their pools";
    }
    if (r.fds_leaked != 0) {
        return std::to_string(r.fds_leaked) + " fds leaked over " + std::to_string(r.restarts) + " restarts";
    }
    if (r.driver_reconnects != r.restarts) {
        return "net_vpmd counted " + std::to_string(r.driver_reconnects) + " reconnects for " +
               std::to_string(r.restarts) + " restarts";
    }
    return {};
}

} // namespace

SoakResult run_soak(EngineContext &ctx, const Scenario &s, const SoakPlan &plan, const SoakProgress &progress) {
    SoakResult r;
    const long driver_pool0 = long(rte_mempool_avail_count(ctx.driver_pool(Driver::vpmd)));
    const long device_pool0 = long(rte_mempool_avail_count(ctx.device_pool));
    const Template tmpl = make_template(s);
    Pair p;
    p.driver = Driver::vpmd;
    name_pair(ctx, p);
    bool up = bring_up(ctx, s, p) && prepare_loops(ctx, s, tmpl, p, /*restarts=*/true);
    DeviceSwitch sw;
    runtime::EalLauncher launcher;
    runtime::Runtime rt(launcher);
    if (up) {
        auto st = rt.add_worker(ctx.lanes[0].device, {runtime::make_poller(sw, "vhost device")});
        if (st) {
            st = rt.start();
        }
        if (!st) {
            p.error = "device lcore: " + st.error();
            up = false;
        }
    }
    if (up) {
        sw.active.store(&p.lanes[0].dev, std::memory_order_release);
        const long fds_connected = open_fds();
        const uint64_t hz = rte_get_tsc_hz();
        const double step = plan.reconnect_every > 0 ? std::min(plan.reconnect_every, plan.seconds) : plan.seconds;
        for (double done = 0; done < plan.seconds - 1e-9 && p.error.empty();) {
            const double len = std::min(step, plan.seconds - done);
            p.lanes[0].loop.run_slice(rte_rdtsc() + uint64_t(len * double(hz)), true);
            done += len;
            double down_ms = 0, up_ms = 0;
            if (done < plan.seconds - 1e-9 && restart_backend(ctx, s, p, sw, down_ms, up_ms)) {
                ++r.restarts;
                tally(p, s.queues, r);
                if (progress) {
                    progress(r.restarts, down_ms, up_ms, r);
                }
            }
        }
        if (p.error.empty()) {
            r.fds_leaked = open_fds() - fds_connected;
        }
        drain_all(p.lanes[0].loop);
        r.driver_reconnects = xstat(p.dport, "reconnects");
        rt.stop(); // returns once the device loop has ended
    }
    p.lanes[0].dev.release();
    p.remove();
    tally(p, s.queues, r);
    r.mbufs_missing = (driver_pool0 - long(rte_mempool_avail_count(ctx.driver_pool(Driver::vpmd)))) +
                      (device_pool0 - long(rte_mempool_avail_count(ctx.device_pool)));
    r.error = verdict(p, r);
    return r;
}

std::string to_json(const std::string &header, const std::vector<SoakRow> &rows) {
    std::ostringstream o;
    o << "{\n  \"header\": \"" << json_escape(header) << "\",\n  \"soak\": [\n";
    for (size_t i = 0; i < rows.size(); ++i) {
        const SoakResult &r = rows[i].result;
        o << "    {\"scenario\": \"" << json_escape(rows[i].scenario) << "\", \"packets\": " << r.packets
          << ", \"seconds\": " << r.seconds << ", \"restarts\": " << r.restarts
          << ", \"driver_reconnects\": " << r.driver_reconnects << ", \"lost_in_flight\": " << r.lost_in_flight
          << ", \"lost\": " << r.lost << ", \"reordered\": " << r.reordered << ", \"corrupted\": " << r.corrupted
          << ", \"mbufs_missing\": " << r.mbufs_missing << ", \"fds_leaked\": " << r.fds_leaked
          << ", \"ok\": " << (r.ok() ? "true" : "false") << ", \"error\": \"" << json_escape(r.error) << "\"}"
          << (i + 1 < rows.size() ? "," : "") << "\n";
    }
    o << "  ]\n}\n";
    return o.str();
}

} // namespace vpmd::perf
