// vpmd-perf --soak: net_vpmd in loopback for a long time with every frame checked
// (sequence number, checksum, fill), its back-end (net_vhost, in process) torn down and
// started again every few seconds of traffic; counts what was lost, corrupted or
// reordered, and checks that mbufs and fds come back.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "apps/perf/engine.hpp"

namespace vpmd::perf {

struct SoakPlan {
    double seconds = 60;         // of traffic (restarts come on top)
    double reconnect_every = 10; // seconds of traffic between restarts; 0: none
};

struct SoakResult {
    uint64_t packets = 0;  // frames that came back intact
    double seconds = 0;    // of traffic
    uint32_t restarts = 0; // back-end restarts done
    uint64_t driver_reconnects = 0; // as net_vpmd's xstat "reconnects" counts them
    // Frames in flight when the back-end went away: a back-end without INFLIGHT_SHMFD
    // (DPDK 22.11's net_vhost) cannot give them back. Bounded by what the rings hold.
    uint64_t lost_in_flight = 0;
    uint64_t lost = 0; // any other frame that never came back: an error
    uint64_t reordered = 0, corrupted = 0;
    long mbufs_missing = 0; // driver and device pools at the end against the start
    long fds_leaked = 0;    // open fds after the last restart against after the first connect
    std::string error;      // empty when everything above is as it must be
    [[nodiscard]] bool ok() const { return error.empty(); }
};

// Called after each restart with its number and what it cost (link down and back up).
using SoakProgress = std::function<void(uint32_t restart, double down_ms, double up_ms, const SoakResult &so_far)>;

struct SoakRow {
    std::string scenario;
    SoakResult result;
};
std::string to_json(const std::string &header, const std::vector<SoakRow> &rows);

SoakResult run_soak(EngineContext &ctx, const Scenario &s, const SoakPlan &plan, const SoakProgress &progress);

} // namespace vpmd::perf
