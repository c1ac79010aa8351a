// What the control plane may ask a net_vpmd port beyond rte_ethdev: each queue's health.
// Plain C++ (no DPDK header), for the embedding API and telemetry. Control path only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/ring/common.hpp"

namespace vpmd::pmd {

struct QueueReport {
    bool rx = true;
    uint16_t queue = 0;
    ring::Broken broken = ring::Broken::none;
    uint64_t ring_errors = 0;
    uint64_t packets = 0, bytes = 0, errors = 0, dropped = 0; // as the xstats count them
};

struct PortReport {
    std::string name;
    bool packed = false, in_order = false;
    uint64_t features = 0; // negotiated with the device (0 while it is away)
    bool link_up = false;
    uint64_t reconnects = 0, backend_losses = 0;
};

// Every set-up rx then tx queue of the port; nullopt when the port is not net_vpmd's.
std::optional<std::vector<QueueReport>> queue_reports(uint16_t port_id);
std::optional<PortReport> port_report(uint16_t port_id);

} // namespace vpmd::pmd
