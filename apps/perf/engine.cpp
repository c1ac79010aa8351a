// vpmd-perf engine: one measured run of a scenario: every driver's pair up, warm-up,
// interleaved slices, drain, teardown, results.
#include "apps/perf/engine.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <vector>

#include "apps/perf/device_process.hpp"
#include "apps/perf/loops.hpp"
#include "vpmd/runtime/eal_launcher.hpp"
#include "vpmd/runtime/runtime.hpp"

namespace vpmd::perf {

const char *to_string(Driver d) { return d == Driver::vpmd ? "net_vpmd" : "net_virtio_user"; }

using namespace detail;

namespace {

// One slice of every lane of a pair at once: lane 0 on this (the main) lcore, the others
// launched on their driver lcores; returns when all have ended. False when a lane's
// lcore cannot be launched (it is busy: a bug of ours, not the machine's).
struct LaneSlice {
    DriverLoop *loop = nullptr;
    uint64_t end = 0, until = 0;
    bool measuring = false;
    static int run(void *arg) {
        auto *a = static_cast<LaneSlice *>(arg);
        a->loop->run_slice(a->end, a->measuring, a->until);
        return 0;
    }
};

bool run_lanes(const EngineContext &ctx, Pair &p, uint64_t end, bool measuring, uint64_t until) {
    std::vector<LaneSlice> args(p.lanes.size());
    const uint64_t per_lane = until == 0 ? 0 : (until + p.lanes.size() - 1) / p.lanes.size();
    bool ok = true;
    size_t launched = 1;
    for (size_t i = 0; i < p.lanes.size(); ++i) {
        args[i] = LaneSlice{&p.lanes[i].loop, end, per_lane, measuring};
    }
    for (; launched < p.lanes.size() && ok; ++launched) {
        ok = rte_eal_remote_launch(LaneSlice::run, &args[launched], ctx.lanes[launched].driver) == 0;
    }
    LaneSlice::run(&args[0]);
    for (size_t i = 1; i < launched - (ok ? 0 : 1); ++i) {
        rte_eal_wait_lcore(ctx.lanes[i].driver);
    }
    return ok;
}

} // namespace

std::vector<RunResult> run_scenario(EngineContext &ctx, const Scenario &s, const std::vector<Driver> &drivers,
                                    const Timing &t) {
    std::vector<Pair> pairs(drivers.size());
    const Template tmpl = make_template(s);
    bool up = true;
    // Every mbuf a run takes is back in its pool once the drivers' ports are gone (the
    // PMDs return what they posted, the loops free what they hold).
    std::vector<unsigned> driver_pool0(pairs.size());
    for (size_t i = 0; i < pairs.size(); ++i) {
        driver_pool0[i] = rte_mempool_avail_count(ctx.driver_pool(drivers[i]));
    }
    const unsigned device_pool0 = rte_mempool_avail_count(ctx.device_pool);
    for (size_t i = 0; i < pairs.size(); ++i) {
        pairs[i].driver = drivers[i];
        name_pair(ctx, pairs[i]);
    }
    // Two processes: one testpmd serves every pair's socket; it must listen before the
    // drivers connect. Its frames (driver rxonly) are its own, so they go unchecked.
    DeviceProcess proc;
    if (s.two_process) {
        DeviceProcessConfig pc;
        for (const Pair &p : pairs) {
            pc.socks.push_back(p.sock);
        }
        pc.queues = s.queues;
        pc.dir = s.dir;
        pc.size = s.size;
        pc.cpu = ctx.device_cpu;
        pc.huge = ctx.huge;
        pc.name = "vpmd-perf-dev-" + std::to_string(getpid()) + "-" + std::to_string(ctx.run_id);
        std::string err;
        if (!proc.start(pc, err)) {
            for (Pair &p : pairs) {
                p.error = err;
            }
            up = false;
        }
    }
    for (size_t i = 0; i < pairs.size() && up; ++i) {
        Pair &p = pairs[i];
        up = bring_up(ctx, s, p, s.two_process) && prepare_loops(ctx, s, tmpl, p);
        for (LaneLoops &lane : p.lanes) {
            lane.loop.verify_rx = !(s.two_process && s.dir == Direction::rxonly);
            if (ctx.window != 0) {
                lane.loop.window = ctx.window;
            } else if (s.two_process) {
                lane.loop.window = std::min<uint32_t>(window_per_queue, ctx.ring_size / 2);
            }
        }
    }
    // The device side runs on the runtime the forwarding app uses: one worker per lane,
    // one poller each.
    const uint16_t lanes = s.lanes();
    std::vector<DeviceSwitch> sw(lanes);
    runtime::EalLauncher launcher;
    runtime::Runtime rt(launcher);
    if (up && lanes > ctx.lanes.size()) {
        for (Pair &p : pairs) {
            p.error = "needs " + std::to_string(2 * lanes) + " lcores (a driver and a device lcore per lane)";
        }
        up = false;
    }
    if (up && !ctx.single_thread && !s.two_process) {
        runtime::Status st;
        for (uint16_t i = 0; i < lanes && st; ++i) {
            st = rt.add_worker(ctx.lanes[i].device,
                               {runtime::make_poller(sw[i], "vhost device")});
        }
        if (st) {
            st = rt.start();
        }
        if (!st) {
            for (Pair &p : pairs) {
                p.error = "device lcore: " + st.error();
            }
            up = false;
        }
    }
    auto serve = [&](Pair &p) {
        for (uint16_t i = 0; i < lanes; ++i) {
            sw[i].active.store(&p.lanes[i].dev, std::memory_order_release);
        }
    };
    if (up) {
        const uint64_t hz = rte_get_tsc_hz();
        auto slice = [&](Pair &p, double secs, bool measuring, uint64_t until = 0) {
            serve(p);
            if (!run_lanes(ctx, p, rte_rdtsc() + uint64_t(secs * double(hz)), measuring, until) &&
                p.error.empty()) {
                p.error = "a driver lane's lcore could not be launched";
            }
        };
        if (t.packets != 0) {
            // A fixed packet count (callgrind) counts every packet: no warm-up, one pass each.
            for (Pair &p : pairs) {
                slice(p, 0, true, t.packets);
            }
        } else {
            for (Pair &p : pairs) {
                slice(p, warmup_seconds, false);
            }
            // Interleaved slices: a phase of the machine (seconds long) hits every driver alike.
            const double step = t.slice_seconds > 0 ? std::min(t.slice_seconds, t.seconds) : t.seconds;
            for (double done = 0; done < t.seconds - 1e-9; done += step) {
                const double len = std::min(step, t.seconds - done);
                for (Pair &p : pairs) {
                    slice(p, len, true);
                }
            }
        }
        for (Pair &p : pairs) {
            serve(p);
            for (LaneLoops &lane : p.lanes) {
                lane.loop.drain(); // from the main lcore: the lane's own has finished its turn
            }
        }
    }
    if (up && !ctx.single_thread && !s.two_process) {
        rt.stop(); // returns once the worker loop has ended
    }
    for (Pair &p : pairs) {
        for (LaneLoops &lane : p.lanes) {
            lane.dev.release();
        }
        if (up && s.dir == Direction::rxonly) {
            // Whatever the device had already queued still arrives: drain it unchecked.
            rte_mbuf *pkts[64];
            for (int i = 0; i < 1000; ++i) {
                for (uint16_t qi = 0; qi < s.queues; ++qi) {
                    rte_pktmbuf_free_bulk(pkts, rte_eth_rx_burst(p.dport, qi, pkts, 64));
                }
            }
        }
        p.remove();
    }
    proc.stop(); // after the drivers left: none of them sees its device go
    const long missing_device = long(device_pool0) - long(rte_mempool_avail_count(ctx.device_pool));
    std::vector<RunResult> out;
    for (size_t i = 0; i < pairs.size(); ++i) {
        Pair &p = pairs[i];
        if (p.error.empty() && !up) {
            p.error = "not run: another driver's bring-up failed";
        }
        const long missing = long(driver_pool0[i]) - long(rte_mempool_avail_count(ctx.driver_pool(p.driver)));
        if (p.error.empty() && missing != 0) {
            p.error = std::to_string(missing) + " mbufs of its pool not back after the run (the port is gone)";
        }
        if (p.error.empty() && missing_device != 0) {
            // The devices share one pool: no telling whose they were.
            p.error = std::to_string(missing_device) + " mbufs of the device pool not back after the run";
        }
        out.push_back(result_of(p, s.size));
    }
    return out;
}

} // namespace vpmd::perf
