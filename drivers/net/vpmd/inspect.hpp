// What the control plane may ask a net_vpmd port beyond rte_ethdev: each queue's health.
// Plain C++ (no DPDK header), for the embedding API and telemetry. Control path only.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "dataplane/ring/common.hpp"

namespace vpmd::pmd {

struct QueueReport {
    bool rx = true;
    uint16_t queue = 0;
    ring::Broken broken = ring::Broken::none;
    uint64_t ring_errors = 0;
};

// Every set-up rx then tx queue of the port; nullopt when the port is not net_vpmd's.
std::optional<std::vector<QueueReport>> queue_reports(uint16_t port_id);

} // namespace vpmd::pmd
