// vpmd-perf: a self-contained benchmark. It starts its own device side (DPDK's vhost
// library, in process on another lcore, or with --device=process a dpdk-testpmd on that
// lcore's CPU) and measures net_vpmd, and with --compare DPDK's
// net_virtio_user on its own identical device with the same settings, the two taking turns
// in short slices within each run.
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_version.h>

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "apps/perf/engine.hpp"
#include "apps/perf/report.hpp"
#include "apps/perf/soak.hpp"
#include "apps/ringbench/ring_bench.hpp"

using namespace vpmd::perf;

namespace {

constexpr unsigned pool_mbufs = 32767;

std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind("model name", 0) == 0) {
            return line.substr(line.find(':') + 2);
        }
    }
    return "unknown CPU";
}

bool hugepages_mounted() {
    std::ifstream f("/proc/mounts");
    std::string line;
    while (std::getline(f, line)) {
        if (line.find(" /dev/hugepages hugetlbfs") != std::string::npos) {
            return true;
        }
    }
    return false;
}

bool write_file(const std::string &path, const std::string &text) {
    if (path.empty()) {
        return true;
    }
    std::ofstream f(path);
    f << text;
    if (!f) {
        std::fprintf(stderr, "vpmd-perf: cannot write %s\n", path.c_str());
        return false;
    }
    return true;
}

// The default --lcores: lane i's driver on lcore 2i, its device on lcore 2i + 1, placed
// round the CPUs this process may run on (0@0,1@1 for one lane on CPUs 0 and 1); with
// fewer CPUs than lcores several lcores share one, which spreads correctly but cannot
// scale.
std::string default_lcores(uint16_t lanes) {
    std::vector<int> cpus;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        for (int c = 0; c < CPU_SETSIZE; ++c) {
            if (CPU_ISSET(c, &set)) {
                cpus.push_back(c);
            }
        }
    }
    if (cpus.size() < 2) {
        cpus = {0, 1};
    }
    std::string l;
    for (unsigned i = 0; i < 2u * lanes; ++i) {
        l += (i ? "," : "") + std::to_string(i) + "@" + std::to_string(cpus[i % cpus.size()]);
    }
    return l;
}

std::string options_line(int argc, char **argv) {
    std::string s;
    for (int i = 0; i < argc; ++i) {
        s += (i ? " " : "") + std::string(argv[i]);
    }
    return s.empty() ? "(defaults)" : s;
}

std::string lanes_text(const EngineContext &ctx) {
    if (ctx.lanes.size() == 1) {
        return "driver lcore " + std::to_string(ctx.lanes[0].driver) + ", device lcore " +
               std::to_string(ctx.lanes[0].device);
    }
    std::string t = "lanes (driver/device lcore):";
    for (size_t i = 0; i < ctx.lanes.size(); ++i) {
        t += (i ? ", " : " ") + std::to_string(ctx.lanes[i].driver) + "/" + std::to_string(ctx.lanes[i].device);
    }
    return t;
}

int finish(Report &rep, const Options &o) {
    summarize(rep);
    std::printf("\n%s\n%s", rep.header.c_str(), to_table(rep).c_str());
    bool ok = write_file(o.csv, to_csv(rep)) && write_file(o.json, to_json(rep)) && write_file(o.svg, to_svg(rep));
    const Verdict v = verdict(rep);
    if (v.peer_failed != 0) {
        std::printf("note: net_virtio_user failed %zu of its %zu rows (see status); they are left out of the "
                    "ratios and of the exit status, which is net_vpmd's\n",
                    v.peer_failed, v.peer_rows);
    }
    ok = ok && v.ok;
    return ok ? 0 : 1;
}

void free_pools(EngineContext &ctx) {
    for (rte_mempool *&mp : ctx.driver_pools) {
        rte_mempool_free(mp);
        mp = nullptr;
    }
    rte_mempool_free(ctx.device_pool);
    ctx.device_pool = nullptr;
}

// The ring core alone: no EAL, no packets (the driver's ceiling).
int ring_only(const Options &o, const std::string &opts) {
    Report rep;
    rep.header = "vpmd-perf ring-only: ring core, descriptors only; CPU " + cpu_model() + "; options: " + opts;
    for (const auto &layout : o.layouts) {
        for (bool io : o.in_order) {
            for (uint16_t b : o.bursts) {
                Row row;
                row.scenario = layout + " io" + std::to_string(io) + " b" + std::to_string(b) + " ring-only";
                row.driver = "ring-core";
                for (uint32_t r = 0; r < o.repeats; ++r) {
                    vpmd::bench::RingBenchConfig c;
                    c.size = o.ring_size;
                    c.burst = b;
                    c.seconds = o.seconds;
                    c.packets = o.packets;
                    c.in_order = io;
                    const auto res = vpmd::bench::run_ring_bench(layout, c);
                    Sample s;
                    s.ok = res.ok;
                    s.error = res.error;
                    s.mpps = res.mpps();
                    s.packets = res.packets;
                    row.runs.push_back(s);
                    std::printf("[ring] %-28s run %u/%u: %8.2f Mpps\n", row.scenario.c_str(), r + 1, o.repeats, s.mpps);
                    std::fflush(stdout);
                }
                rep.rows.push_back(row);
            }
        }
    }
    return finish(rep, o);
}

// --soak: each scenario's long loopback run with restarts; one summary line each.
int soak(EngineContext &ctx, const Options &o, const std::string &header) {
    bool ok = true;
    std::vector<SoakRow> rows;
    for (const Scenario &s : expand(o)) {
        SoakPlan plan;
        plan.seconds = o.soak_seconds;
        plan.reconnect_every = o.reconnect_every;
        const std::string name = s.name();
        const SoakResult r = run_soak(ctx, s, plan, [&](uint32_t n, double down_ms, double up_ms, const SoakResult &x) {
            std::printf("[soak %s] restart %u: link down after %.0f ms, up %.0f ms later; so far %llu frames, "
                        "%llu lost in flight, %llu lost, %llu reordered, %llu corrupted\n",
                        name.c_str(), n, down_ms, up_ms, (unsigned long long)x.packets,
                        (unsigned long long)x.lost_in_flight, (unsigned long long)x.lost,
                        (unsigned long long)x.reordered, (unsigned long long)x.corrupted);
            std::fflush(stdout);
        });
        std::printf("soak %s: %llu frames in %.0f s (%.2f Mpps), %u restarts (net_vpmd reconnected %llu times), "
                    "%llu lost in flight at restarts, %llu lost, %llu reordered, %llu corrupted, "
                    "%ld mbufs missing, %ld fds leaked: %s\n",
                    name.c_str(), (unsigned long long)r.packets, r.seconds,
                    r.seconds > 0 ? double(r.packets) / r.seconds / 1e6 : 0.0, r.restarts,
                    (unsigned long long)r.driver_reconnects, (unsigned long long)r.lost_in_flight,
                    (unsigned long long)r.lost, (unsigned long long)r.reordered, (unsigned long long)r.corrupted,
                    r.mbufs_missing, r.fds_leaked, r.ok() ? "ok" : ("FAILED: " + r.error).c_str());
        std::fflush(stdout);
        ok = ok && r.ok();
        rows.push_back({name, r});
    }
    ok = write_file(o.json, to_json(header, rows)) && ok;
    return ok ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
    // EAL arguments before "--" (as testpmd); without them vpmd-perf picks its own.
    int split = -1;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--") == 0) {
            split = i;
            break;
        }
    }
    Options o;
    std::string err;
    const int app_first = split < 0 ? 1 : split + 1;
    if (!parse_options(argc - app_first, argv + app_first, o, err)) {
        if (err == usage()) { // --help
            std::printf("%s", err.c_str());
            return 0;
        }
        std::fprintf(stderr, "vpmd-perf: %s\n", err.c_str());
        return 2;
    }
    if (!o.ring_only && expand(o).empty()) {
        std::fprintf(stderr, "vpmd-perf: no scenario to run: frames over 1518 bytes need --mrg=1\n");
        return 2;
    }
    const std::string opts = options_line(argc - app_first, argv + app_first);
    if (o.ring_only) {
        return ring_only(o, opts);
    }
    const bool huge = hugepages_mounted();
    uint16_t lanes = 1;
    for (const Scenario &s : expand(o)) {
        lanes = std::max(lanes, s.lanes());
    }
    std::vector<std::string> eal{argv[0]};
    if (split >= 0) {
        for (int i = 1; i < split; ++i) {
            eal.emplace_back(argv[i]);
        }
    } else {
        eal.insert(eal.end(), {"--lcores", default_lcores(lanes), "--no-pci", "--file-prefix=vpmd-perf-" + std::to_string(getpid()),
                               "--log-level=lib.vhost.*:error", "--log-level=pmd.net.virtio.*:error",
                               "--log-level=pmd.net.vhost:error", "--log-level=pmd.net.vpmd.*:warning", "-m", "1024"});
        eal.emplace_back(huge ? "--single-file-segments" : "--no-huge");
    }
    // net_virtio's AVX-512 packed path, and ours, need EAL to allow 512-bit SIMD (unless
    // the EAL arguments given say otherwise).
    const bool has_width = std::any_of(eal.begin(), eal.end(), [](const std::string &a) {
        return a.rfind("--force-max-simd-bitwidth", 0) == 0;
    });
    if (!has_width &&
        (o.best || std::find(o.vectorized.begin(), o.vectorized.end(), "avx512") != o.vectorized.end())) {
        eal.emplace_back("--force-max-simd-bitwidth=512");
    }
    std::vector<char *> eargv;
    for (auto &s : eal) {
        eargv.push_back(s.data());
    }
    if (rte_eal_init(int(eargv.size()), eargv.data()) < 0) {
        std::fprintf(stderr, "vpmd-perf: EAL init failed (EAL arguments: see --help of dpdk-testpmd)\n");
        return 2;
    }
    EngineContext ctx;
    // Lane 0's driver is the main lcore; then the workers in order: lane 0's device, lane
    // 1's driver, its device, ...
    std::vector<unsigned> lcores{rte_lcore_id()};
    for (unsigned l = rte_get_next_lcore(-1, 1, 0); l < RTE_MAX_LCORE; l = rte_get_next_lcore(l, 1, 0)) {
        lcores.push_back(l);
    }
    ctx.lanes.clear();
    for (size_t i = 0; i + 1 < lcores.size() && ctx.lanes.size() < lanes; i += 2) {
        ctx.lanes.push_back({lcores[i], lcores[i + 1]});
    }
    if (ctx.lanes.empty()) {
        ctx.lanes.push_back({lcores[0], RTE_MAX_LCORE}); // --single-thread needs no device lcore
    }
    const unsigned device_lcore = ctx.lanes[0].device;
    ctx.corrupt_every = o.corrupt_every;
    ctx.single_thread = o.single_thread;
    ctx.ring_size = o.ring_size;
    ctx.window = o.window;
    ctx.huge = huge;
    if (device_lcore < RTE_MAX_LCORE) {
        const int cpu = rte_lcore_to_cpu_id(int(device_lcore));
        ctx.device_cpu = cpu >= 0 ? unsigned(cpu) : device_lcore;
    }
    if (device_lcore >= RTE_MAX_LCORE && !ctx.single_thread) {
        std::fprintf(stderr, "vpmd-perf: needs two lcores (driver and device), e.g. --lcores 0@0,1@1\n");
        rte_eal_cleanup();
        return 2;
    }
    if (ctx.lanes.size() < lanes) {
        std::fprintf(stderr,
                     "vpmd-perf: --spread with %u queue pairs needs %u lcores (a driver and a device lcore per "
                     "queue pair); the EAL arguments give %zu, e.g. --lcores %s\n",
                     unsigned(lanes), 2u * lanes, lcores.size(), default_lcores(lanes).c_str());
        rte_eal_cleanup();
        return 2;
    }
    for (Driver d : {Driver::vpmd, Driver::virtio_user}) {
        if (d == Driver::vpmd || o.compare) {
            // Short names: the pool's memzones add a prefix and suffix within 32 bytes.
            ctx.driver_pools[size_t(d)] =
                rte_pktmbuf_pool_create(d == Driver::vpmd ? "perf_drv_vpmd" : "perf_drv_virtio", pool_mbufs, 256,
                                        0, RTE_MBUF_DEFAULT_BUF_SIZE, int(rte_socket_id()));
        }
    }
    ctx.device_pool = rte_pktmbuf_pool_create("perf_device", pool_mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                              int(rte_socket_id()));
    if (ctx.driver_pool(Driver::vpmd) == nullptr || (o.compare && ctx.driver_pool(Driver::virtio_user) == nullptr) ||
        ctx.device_pool == nullptr) {
        std::fprintf(stderr, "vpmd-perf: cannot create mbuf pools (more memory: -m)\n");
        rte_eal_cleanup();
        return 2;
    }
    if (o.soak_seconds > 0) {
        const std::string header = std::string("vpmd-perf soak: ") + rte_version() + "; " +
                                   (huge ? "hugepages" : "--no-huge") + "; options: " + opts;
        std::printf("%s\n", header.c_str());
        const int rc = soak(ctx, o, header);
        free_pools(ctx);
        rte_eal_cleanup();
        return rc;
    }
    Report rep;
    rep.header = std::string("vpmd-perf: ") + rte_version() + "; CPU " + cpu_model() + "; memory: " +
                 (split >= 0 ? "as the EAL arguments say" : huge ? "hugepages (--single-file-segments)"
                                                                 : "--no-huge (no hugetlbfs mounted: slower)") +
                 "; " + lanes_text(ctx) + "; options: " + opts;
    std::printf("%s\n", rep.header.c_str());
    std::vector<Driver> drivers{Driver::vpmd};
    if (o.compare) {
        drivers.push_back(Driver::virtio_user);
    }
    const auto scenarios = expand(o);
    const size_t total = scenarios.size() * drivers.size() * o.repeats;
    size_t done = 0;
    for (const Scenario &s : scenarios) {
        std::vector<Row> rows(drivers.size());
        for (size_t di = 0; di < drivers.size(); ++di) {
            rows[di].scenario = s.name();
            rows[di].driver = to_string(drivers[di]);
            rows[di].size = s.size;
        }
        // Every run interleaves the drivers in short slices so slow phases hit both alike.
        Timing t;
        t.seconds = o.seconds;
        t.slice_seconds = o.slice_seconds;
        t.packets = o.packets;
        for (uint32_t r = 0; r < o.repeats; ++r) {
            const std::vector<RunResult> res = run_scenario(ctx, s, drivers, t);
            for (size_t di = 0; di < drivers.size(); ++di) {
                const RunResult &x = res[di];
                rows[di].runs.push_back(x); // the sample part
                std::printf("[%3zu/%zu] %-40s %-16s run %u/%u: %8.2f Mpps %s\n", ++done, total, s.name().c_str(),
                            to_string(drivers[di]), r + 1, o.repeats, x.mpps,
                            x.ok ? "ok" : ("FAILED: " + x.error).c_str());
            }
            std::fflush(stdout);
        }
        rep.rows.insert(rep.rows.end(), rows.begin(), rows.end());
    }
    const int rc = finish(rep, o);
    free_pools(ctx);
    rte_eal_cleanup();
    return rc;
}
