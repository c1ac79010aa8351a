// vpmd-perf engine: for one scenario and one driver, bring up the in-process device
// (DPDK's vhost library through net_vhost, on its own lcore) and the driver port, run the
// driver loop, check every packet, and tear everything down.
#pragma once

#include <rte_mempool.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "apps/perf/options.hpp"

namespace vpmd::perf {

enum class Driver { vpmd, virtio_user };
const char *to_string(Driver d);

struct RunResult {
    bool ok = false;
    std::string error;       // why the run failed (bring-up, integrity ...)
    uint64_t packets = 0;    // counted in the measured window
    double seconds = 0;
    double mpps = 0;
    double gbps = 0;
    double cycles_per_packet = 0; // driver lcore: busy TSC / packets
    double p50_us = 0, p99_us = 0, p999_us = 0; // loopback round trip
    uint64_t lost = 0, reordered = 0, corrupted = 0;
};

struct EngineContext {
    rte_mempool *driver_pool = nullptr;
    rte_mempool *device_pool = nullptr;
    unsigned driver_lcore = 0; // may be the main lcore
    unsigned device_lcore = 0;
    uint64_t corrupt_every = 0;
    uint32_t ring_size = 256;
    uint32_t run_id = 0; // makes port names and sockets unique
    // Driver and device steps alternate on one lcore: slower, but deterministic, so
    // `valgrind --tool=callgrind` counts instructions per packet of each driver.
    bool single_thread = false;
};

RunResult run_scenario(EngineContext &ctx, const Scenario &s, Driver d, double seconds, uint64_t packets);

} // namespace vpmd::perf
