// The forwarding-engine interface (testpmd's struct fwd_engine): a mode is one file in
// modes/ that defines an Engine and registers it with VPMD_FWD_ENGINE; nothing else
// changes to add one. A stream is one rx (port, queue) -> tx (port, queue) pair polled by
// one lcore; the engine's burst function is the runtime poller for it.
#pragma once

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "apps/fwd/options.hpp"
#include "vpmd/runtime/counters.hpp"

namespace vpmd::fwd {

// Everything a burst reads, on cache lines of its own (one writer: the stream's lcore).
struct alignas(RTE_CACHE_LINE_SIZE) Stream {
    uint16_t rx_port = 0;
    uint16_t rx_queue = 0;
    uint16_t tx_port = 0;
    uint16_t tx_queue = 0;
    uint16_t burst = 32;
    uint16_t nb_segs = 1;   // generated packets: segments, lengths in seg_len
    uint32_t pkt_len = 64;  // generated packets: total length
    rte_mempool *pool = nullptr;
    runtime::QueueCounters *rx_ctr = nullptr;
    runtime::QueueCounters *tx_ctr = nullptr;
    rte_ether_addr src{};   // the tx port's MAC
    rte_ether_addr dst{};   // the tx port's peer (--eth-peer)
    uint32_t flow = 0;      // flowgen: next flow
    bool rx_csum = false;   // csum: the rx port reports L4 checksum state in ol_flags
    bool tx_csum = false;   // csum: the tx port's device fills in L4 checksums
    uint16_t seg_len[max_tx_segments]{};
    alignas(8) uint8_t hdr[udp_headers_len]{}; // txonly/flowgen: Ethernet + IPv4 + UDP template
};

struct Engine {
    std::string_view name;
    // false for modes that only send (txonly): their streams' rx queues are not polled.
    bool polls_rx = true;
    // Data path: one burst; returns the packets handled (the poller's work).
    uint32_t (*burst)(void *stream) noexcept = nullptr;
};

void register_engine(const Engine *e);
[[nodiscard]] const Engine *find_engine(std::string_view name);
[[nodiscard]] std::vector<std::string_view> engine_names(); // sorted

#define VPMD_FWD_ENGINE(engine) \
    [[maybe_unused]] static const bool engine##_registered = (::vpmd::fwd::register_engine(&(engine)), true)

// ---- helpers shared by the modes (inline: the burst functions stay call-free) ----

// Receives one burst and counts it on the rx queue.
[[nodiscard]] inline uint16_t rx_burst_counted(Stream &s, rte_mbuf **pkts, uint64_t &bytes) noexcept {
    const uint16_t n = rte_eth_rx_burst(s.rx_port, s.rx_queue, pkts, s.burst);
    bytes = 0;
    if (n == 0) {
        return 0;
    }
    for (uint16_t i = 0; i < n; ++i) {
        bytes += pkts[i]->pkt_len;
    }
    s.rx_ctr->rx_packets.add(n);
    s.rx_ctr->rx_bytes.add(bytes);
    return n;
}

// Sends `n` packets of `bytes` in all; what the tx ring does not take is freed and counted
// as drops (testpmd without --retry).
inline void tx_burst_counted(Stream &s, rte_mbuf **pkts, uint16_t n, uint64_t bytes) noexcept {
    const uint16_t sent = rte_eth_tx_burst(s.tx_port, s.tx_queue, pkts, n);
    if (sent < n) [[unlikely]] {
        for (uint16_t i = sent; i < n; ++i) {
            bytes -= pkts[i]->pkt_len;
        }
        rte_pktmbuf_free_bulk(pkts + sent, n - sent);
        s.tx_ctr->drops.add(n - sent);
    }
    s.tx_ctr->tx_packets.add(sent);
    s.tx_ctr->tx_bytes.add(bytes);
}

// Generated packets (txonly, flowgen, --tx-first): see packet.cpp.
// Fills s.hdr and the shape fields from the stream's addresses and `seg_lens`.
void prepare_udp_stream(Stream &s, const std::vector<uint16_t> &seg_lens);
// Allocates up to `n` packets shaped as s.seg_len (segments chained, lengths set, header
// not written); counts pool shortfalls as nombuf. Returns how many were made.
[[nodiscard]] uint16_t alloc_shaped(Stream &s, rte_mbuf **pkts, uint16_t n) noexcept;
// Copies `len` bytes into the packet from offset 0, across segments.
void write_headers(rte_mbuf *m, const uint8_t *src, uint32_t len) noexcept;
// One burst of txonly packets (for --tx-first too); returns packets sent.
uint32_t send_udp_burst(Stream &s) noexcept;

} // namespace vpmd::fwd
