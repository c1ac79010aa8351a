// flowgen: like txonly, but each packet goes to the next of 1024 destination addresses
// (a fresh IPv4 checksum per packet), and received packets are counted and freed
// (testpmd's flowgen.c).
#include <rte_byteorder.h>
#include <rte_ip.h>

#include <cstring>

#include "apps/fwd/engine.hpp"

namespace vpmd::fwd {
namespace {

// testpmd's cfg_n_flows: enough flows to spread over RSS queues and flow tables.
constexpr uint32_t nb_flows = 1024;

uint32_t flowgen_burst(void *arg) noexcept {
    Stream &s = *static_cast<Stream *>(arg);
    rte_mbuf *pkts[max_burst];
    uint64_t bytes = 0;
    const uint16_t nb_rx = rx_burst_counted(s, pkts, bytes);
    if (nb_rx != 0) {
        rte_pktmbuf_free_bulk(pkts, nb_rx);
    }
    const uint16_t n = alloc_shaped(s, pkts, s.burst);
    alignas(8) uint8_t hdr[udp_headers_len];
    std::memcpy(hdr, s.hdr, sizeof(hdr));
    auto *ip = reinterpret_cast<rte_ipv4_hdr *>(hdr + sizeof(rte_ether_hdr));
    const uint32_t dst_base = rte_be_to_cpu_32(ip->dst_addr);
    for (uint16_t i = 0; i < n; ++i) {
        ip->dst_addr = rte_cpu_to_be_32(dst_base + s.flow);
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        write_headers(pkts[i], hdr, udp_headers_len);
        s.flow = s.flow + 1 == nb_flows ? 0 : s.flow + 1;
    }
    if (n != 0) {
        tx_burst_counted(s, pkts, n, uint64_t(n) * s.pkt_len);
    }
    return uint32_t(nb_rx) + n;
}

const Engine flowgen_engine{"flowgen", true, flowgen_burst};
VPMD_FWD_ENGINE(flowgen_engine);

} // namespace
} // namespace vpmd::fwd
