// vpmd-fwd's own options (after `--`): testpmd's names and meanings, plus --duration,
// --json, --embedded and --vpmd-args. Pure C++ (no EAL): bad input is an error value with
// one clear line, checked before EAL starts.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vpmd/expected.hpp"

namespace vpmd::fwd {

enum class Topology { paired, chained, loop };

struct EthPeer {
    uint16_t port = 0;
    std::array<uint8_t, 6> mac{};
};

// Why these limits: testpmd's MAX_PKT_BURST is 512; 8 segments per generated packet keep
// the per-burst segment allocation on the stack; 1024 queues is more than any port here.
inline constexpr uint16_t max_burst = 512;
inline constexpr size_t max_tx_segments = 8;
inline constexpr uint16_t max_queues = 1024;
// Ethernet + IPv4 + UDP: what txonly, flowgen and --tx-first write into every packet.
inline constexpr uint32_t udp_headers_len = 14 + 20 + 8;

struct FwdOptions {
    std::string forward_mode = "io";
    unsigned nb_cores = 1;
    uint16_t rxq = 1;
    uint16_t txq = 1;
    uint16_t rxd = 0; // 0: the driver's preferred ring size
    uint16_t txd = 0;
    uint16_t burst = 32;
    std::vector<uint16_t> txpkts{64};
    bool tx_first = false;
    double stats_period = 1.0; // seconds; 0 = no live stats
    Topology topology = Topology::paired;
    std::vector<EthPeer> eth_peers;
    uint32_t total_num_mbufs = 0; // 0: sized from the ports' rings and lcores
    uint32_t max_pkt_len = 0;     // 0: the driver's default MTU
    double duration = 0;          // seconds; 0 = until SIGINT/SIGTERM
    bool duration_given = false;
    std::string json;
    bool embedded = false;
    std::string vpmd_args; // extra devargs for the embedded net_vpmd port
    bool help = false;

    [[nodiscard]] uint32_t tx_pkt_len() const;
};

[[nodiscard]] std::string_view topology_name(Topology t);

// `modes`: the forwarding modes this build has (the engine registry's names).
[[nodiscard]] Expected<FwdOptions, std::string> parse_options(std::span<const std::string> args,
                                                              std::span<const std::string_view> modes);

// True if `arg` is (or starts with) one of our option names: lets a user omit `--` when
// giving app options only.
[[nodiscard]] bool is_app_option(std::string_view arg);

[[nodiscard]] std::string usage(std::span<const std::string_view> modes);

} // namespace vpmd::fwd
