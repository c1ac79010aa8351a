// vpmd-bridge's core: an L2 learning bridge with an IPv4 ACL between any DPDK ports (net_vpmd
// or not), run by vpmd's runtime on N worker lcores. Each worker polls its share of the rx
// queues, learns source MACs, filters IPv4 through the ACL, and forwards to the learned port
// or floods; it transmits on a tx queue of its own on every port, so nothing is locked.
// The ACL and the MAC table are swapped whole from the control plane (Published + Qsbr).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vpmd/expected.hpp"
#include "vpmd/runtime/counters.hpp"
#include "vpmd/runtime/runtime.hpp"

#include "acl.hpp"
#include "mac_table.hpp"
#include "qsbr.hpp"

struct rte_mbuf;

namespace bridge {

struct BridgeOptions {
    std::vector<uint16_t> ports;   // ethdev ids, started, rx_queues rx and one tx per worker
    uint16_t rx_queues = 1;        // per port
    uint32_t max_age_s = 300;      // a MAC not seen for this long is forgotten
    size_t mac_capacity = 1 << 16; // entries
    uint16_t burst = 32;
    vpmd::runtime::IdlePolicy idle{}; // how workers idle (default: busy polling)
};

// What the bridge did, summed over its workers.
struct BridgeTotals {
    uint64_t forwarded = 0;   // sent to the one learned port
    uint64_t flooded = 0;     // sent to every other port (unknown, broadcast, multicast)
    uint64_t acl_denied = 0;
    uint64_t same_port = 0;   // destination learned on the port it came from: dropped
    uint64_t not_ipv4 = 0;    // passed without ACL (ARP, IPv6, ...)
    uint64_t malformed = 0;   // IPv4 header cut short: dropped
    uint64_t learn_full = 0;  // table full, source not learned
    uint64_t tx_dropped = 0;  // a port's tx queue was full
};

struct RuleHits {
    std::string rule; // its text; "default allow|deny" for the default action
    uint64_t hits = 0;
};

class Bridge {
public:
    static constexpr uint16_t max_burst = 64;

    Bridge(BridgeOptions opts, std::vector<unsigned> worker_lcores, std::unique_ptr<RuleSet> rules);
    ~Bridge();
    Bridge(const Bridge &) = delete;
    Bridge &operator=(const Bridge &) = delete;

    // Control path, runtime not started: shares the rx queues among the workers and adds one
    // poller per worker lcore to `rt`. Errors: bad options, a port without enough queues.
    vpmd::Expected<void, std::string> attach(vpmd::runtime::Runtime &rt);
    // After rt.stop(): the workers hold nothing any more.
    void stopped();

    // Control plane. Publishes `rules`; returns once no worker can still use the old set,
    // whose counts are kept in the report.
    void swap_rules(std::unique_ptr<RuleSet> rules);
    // The bridge's clock in seconds (any origin, never going back): learning stamps entries
    // with it, and entries older than max_age are aged out now.
    void tick(uint32_t now_s);

    [[nodiscard]] BridgeTotals totals() const;
    // Per rule of the current set (and of earlier sets by rule text), default last.
    [[nodiscard]] std::vector<RuleHits> rule_hits() const;
    [[nodiscard]] size_t macs() const;
    [[nodiscard]] int learned_port(Mac mac) const; // a port index into opts.ports, or -1
    [[nodiscard]] uint64_t rule_swaps() const { return swaps_.load(); }
    [[nodiscard]] const BridgeOptions &options() const { return opts_; }

private:
    struct Worker;
    void fold_hits(const RuleSet &old);

    BridgeOptions opts_;
    std::vector<unsigned> lcores_;
    Qsbr qsbr_;
    Published<RuleSet> rules_;
    Published<MacTable> macs_;
    std::atomic<uint32_t> now_{0};
    std::vector<std::unique_ptr<Worker>> workers_;
    mutable std::mutex control_; // one control-plane writer at a time
    std::map<std::string, uint64_t> retired_hits_;
    std::atomic<uint64_t> swaps_{0};
};

} // namespace bridge
