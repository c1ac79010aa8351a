// vpmd-perf results: per scenario and driver, the median of the repeats with min/max, and
// the outputs (table, CSV, JSON, SVG chart). Pure C++: unit-testable without EAL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apps/perf/options.hpp"

namespace vpmd::perf {

struct Sample {
    bool ok = false;
    std::string error;
    double mpps = 0, gbps = 0, cycles_per_packet = 0, p50_us = 0, p99_us = 0, p999_us = 0;
    uint64_t packets = 0, lost = 0, reordered = 0, corrupted = 0;
    // Per lane (Scenario::lanes()), in lane order: the lcore its driver loop ran on, and
    // the packets it counted.
    struct Lane {
        unsigned lcore = 0;
        uint64_t packets = 0;
    };
    std::vector<Lane> lanes;
};

struct Row {
    std::string scenario;
    std::string driver;
    uint32_t size = 64;
    std::vector<Sample> runs;
    // Filled by summarize():
    bool ok = false;
    std::string error;
    double median = 0, min = 0, max = 0;
    double gbps = 0, cycles_per_packet = 0, p50_us = 0, p99_us = 0, p999_us = 0;
    std::optional<double> ratio; // vpmd median / net_virtio_user median, same scenario
};

struct Report {
    std::string header; // DPDK version, CPU, memory mode, options
    std::vector<Row> rows;
};

// Medians, min/max, and the vpmd / net_virtio_user ratio of each scenario.
void summarize(Report &r);
// The run's exit status: every row of net_vpmd (and of the ring core) ok. A failed row of
// the comparison driver (net_virtio_user) is shown as FAILED and has no ratio, but does
// not fail the run: DPDK's driver failing on its own (its AVX-512 packed path corrupts
// frames now and then on this machine) is not a failure of ours.
struct Verdict {
    bool ok = true;
    size_t peer_failed = 0, peer_rows = 0;
};
Verdict verdict(const Report &r); // after summarize()
std::string to_table(const Report &r);
std::string to_csv(const Report &r);
std::string to_json(const Report &r);
std::string json_escape(const std::string &s); // the body of a JSON string
std::string to_svg(const Report &r);

} // namespace vpmd::perf
