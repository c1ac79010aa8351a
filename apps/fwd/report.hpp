// What vpmd-fwd tells: live stats every period (per port, per queue, per lcore), the
// summary at exit and the JSON file. Runs on the control plane only.
#pragma once

#include <rte_ethdev.h>

#include <cstdint>
#include <string>
#include <vector>

#include "apps/fwd/options.hpp"
#include "apps/fwd/ports.hpp"
#include "vpmd/runtime/runtime.hpp"

namespace vpmd::fwd {

struct Sample {
    uint64_t tsc = 0;
    std::vector<rte_eth_stats> eth;               // one per port, in ports[] order
    std::vector<runtime::KeyedTotals> queues;     // app counters by (port, queue)
    std::vector<runtime::LcoreTotals> lcores;
};

[[nodiscard]] Sample take_sample(const std::vector<Port> &ports, const runtime::Runtime &rt);

// Prints the change since the previous call (or since `start`) as a few lines.
class LiveStats {
public:
    LiveStats(const std::vector<Port> &ports, const runtime::Runtime &rt, Sample start, uint64_t tsc_hz);
    void tick();

private:
    const std::vector<Port> &ports_;
    const runtime::Runtime &rt_;
    Sample prev_;
    uint64_t start_tsc_;
    uint64_t hz_;
};

struct LcoreInfo {
    unsigned lcore = 0;
    std::vector<std::string> streams; // "p0q0->p1q0 io"
};

struct RunInfo {
    const FwdOptions *options = nullptr;
    std::vector<std::string> eal_args;
    bool no_huge = false;
    bool embedded = false;
    std::string embedded_socket;
    uint64_t tsc_hz = 0;
    double seconds = 0;        // forwarding time, start to stop
    std::string stopped_by;    // "duration", "SIGINT", "SIGTERM"
    uint32_t pool_size = 0;
    uint16_t mbuf_data_room = 0;
    uint64_t pool_in_use_at_exit = 0;
    uint64_t drained_at_stop = 0;
    std::vector<LcoreInfo> lcores;
};

// Summary lines on stdout; for the embedded run the first line is the Mpps headline.
void print_summary(const RunInfo &run, const std::vector<Port> &ports, const Sample &end);
// The same as JSON; an error value if the file cannot be written.
Expected<void, std::string> write_json(const std::string &path, const RunInfo &run, const std::vector<Port> &ports,
                                       const Sample &end);

} // namespace vpmd::fwd
