// vpmd-perf command line: the scenario matrix, drivers, repeats and outputs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vpmd::perf {

enum class Direction { loopback, txonly, rxonly };
const char *to_string(Direction d);
// The offload scenarios send TCP/IPv4 frames asking for the TCP checksum (csum) or for
// segmentation into tso_mss-byte segments (tso); the device checks it got the request.
enum class Offload { none, csum, tso };
const char *to_string(Offload o);
inline constexpr uint16_t tso_mss = 1448;

struct Scenario {
    std::string layout; // split | packed
    bool in_order = true;
    bool mrg = true;
    uint16_t burst = 32;
    uint32_t size = 64;
    Direction dir = Direction::loopback;
    uint16_t queues = 1;
    Offload offload = Offload::none;
    // The device is a separate dpdk-testpmd process (net_vhost, one forwarding lcore), as
    // a user's two-process set-up has it; false: DPDK's vhost library in this process.
    bool two_process = false;
    // Best against best: each driver on its fastest devargs for the layout, measured by
    // instructions per packet (net_vpmd: IN_ORDER, no mergeable rx) or by DPDK's own path
    // choice (net_virtio_user: vectorized=1, no mergeable rx, IN_ORDER on packed only: its
    // SIMD split rx needs it off), under --force-max-simd-bitwidth=512. in_order/mrg are
    // net_vpmd's.
    bool best = false;
    // net_vpmd's vectorized= devarg (1: the widest SIMD the CPU and EAL allow).
    std::string vectorized = "1";
    // --spread: each queue pair has a driver lcore and a device lcore of its own (lanes());
    // false: one driver lcore polls every queue pair, one device lcore serves them all.
    bool spread = false;

    uint16_t lanes() const { return spread ? queues : uint16_t(1); }
    std::string name() const;
    std::string vec_suffix() const; // " vec=avx2" unless vectorized is the default
    // e.g. "split io1 mrg1 b32 64B loopback q1" ("split best ..."), + " tcp-csum", " 2proc",
    // " spread" (more than one queue pair), vec_suffix()
};

inline constexpr double max_soak_seconds = 7 * 24 * 3600;

struct Options {
    std::vector<std::string> layouts{"split", "packed"};
    std::vector<bool> in_order{true};
    std::vector<bool> mrg{true};
    std::vector<uint16_t> bursts{32};
    std::vector<uint32_t> sizes{64};
    std::vector<Direction> dirs{Direction::loopback};
    std::vector<uint16_t> queues{1};
    std::vector<std::string> vectorized{"1"};
    std::vector<Offload> offloads{Offload::none};
    std::vector<bool> two_process{false}; // --device=inproc[,process]
    uint32_t repeats = 5; // the machine is bimodal: 5 runs give the median a majority
    double seconds = 1.0;
    // Drivers take turns this long within a run: much shorter than the machine's speed
    // phases (seconds), much longer than a switch (microseconds).
    double slice_seconds = 0.05;
    uint64_t packets = 0; // fixed count per run (callgrind); 0 = timed
    uint32_t ring_size = 256;
    uint32_t window = 0; // loopback packets in flight per queue (0: 512, half a ring with --device=process)
    bool compare = false;   // also run DPDK's net_virtio_user
    bool best = false;      // also each layout's best-vs-best scenario (see Scenario::best)
    bool ring_only = false; // ring core only, no packets
    bool full = false;
    uint64_t corrupt_every = 0; // test hook: the device corrupts every Nth packet
    double soak_seconds = 0;    // > 0: soak each scenario this long instead of measuring
    double reconnect_every = 10; // soak: seconds of traffic between back-end restarts (0: none)
    bool single_thread = false; // driver and device on one lcore (for callgrind)
    bool spread = false;        // a driver and a device lcore per queue pair (Scenario::spread)
    std::string csv, json, svg;
    std::vector<std::string> eal; // EAL arguments given before "--"
};

// Parses app arguments (after "--"); returns false with a one-line message in `error`.
bool parse_options(int argc, char **argv, Options &o, std::string &error);
std::vector<Scenario> expand(const Options &o);
std::string usage();

} // namespace vpmd::perf
