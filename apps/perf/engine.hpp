// vpmd-perf engine: for one scenario, bring up one device per driver under test (DPDK's
// vhost library behind a net_vhost port, served from its own lcore in this process, or by
// a dpdk-testpmd process on that lcore's CPU) and the driver ports, run the driver loops in
// interleaved slices, check every packet and every mbuf, tear down.
#pragma once

#include <rte_mempool.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "apps/perf/options.hpp"
#include "apps/perf/report.hpp"

namespace vpmd::perf {

enum class Driver { vpmd, virtio_user };
const char *to_string(Driver d);

// One driver's run: the report's sample plus how long it was measured.
struct RunResult : Sample {
    double seconds = 0;
};

struct EngineContext {
    // A driver-side pool per driver (by Driver's value), so that what a run does not give
    // back is that driver's, not the one it is compared with; the devices share theirs.
    std::array<rte_mempool *, 2> driver_pools{};
    rte_mempool *device_pool = nullptr;
    [[nodiscard]] rte_mempool *driver_pool(Driver d) const { return driver_pools[size_t(d)]; }
    // Where a scenario's lanes run (Scenario::lanes()): lane 0's driver is the main lcore;
    // lane i polls its share of the queue pairs on lanes[i].driver, served by the device
    // loop on lanes[i].device. main() makes as many as the largest --spread scenario needs.
    struct Lane {
        unsigned driver = 0;
        unsigned device = 0;
    };
    std::vector<Lane> lanes{Lane{}};
    uint64_t corrupt_every = 0;
    uint32_t ring_size = 256;
    uint32_t window = 0; // loopback packets in flight per queue; 0: the device mode's default
    uint32_t run_id = 0; // makes port names and sockets unique
    // Driver and device steps alternate on one lcore: slower, but deterministic, so
    // `valgrind --tool=callgrind` counts instructions per packet of each driver.
    bool single_thread = false;
    // Two-process scenarios: the device process's CPU (lane 0's device lcore's) and memory mode.
    unsigned device_cpu = 1;
    bool huge = true;
};

struct Timing {
    double seconds = 1;        // measured time per driver
    double slice_seconds = 0;  // drivers take turns this long (0: one turn each)
    uint64_t packets = 0;      // instead of time: a fixed count per driver, one turn each
};

// One run of every driver in `drivers` (results in that order). All ports are up for the
// whole run and the drivers take turns, so a slow phase of the machine hits them alike.
std::vector<RunResult> run_scenario(EngineContext &ctx, const Scenario &s, const std::vector<Driver> &drivers,
                                    const Timing &t);

} // namespace vpmd::perf
