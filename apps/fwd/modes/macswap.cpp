// macswap: swap source and destination MAC, then forward (testpmd's macswap.c).
#include "apps/fwd/engine.hpp"

namespace vpmd::fwd {
namespace {

uint32_t macswap_burst(void *arg) noexcept {
    Stream &s = *static_cast<Stream *>(arg);
    rte_mbuf *pkts[max_burst];
    uint64_t bytes = 0;
    const uint16_t n = rx_burst_counted(s, pkts, bytes);
    if (n == 0) {
        return 0;
    }
    for (uint16_t i = 0; i < n; ++i) {
        if (rte_pktmbuf_data_len(pkts[i]) < sizeof(rte_ether_hdr)) [[unlikely]] {
            s.rx_ctr->errors.add(1);
            continue;
        }
        auto *eth = rte_pktmbuf_mtod(pkts[i], rte_ether_hdr *);
        rte_ether_addr tmp;
        rte_ether_addr_copy(&eth->dst_addr, &tmp);
        rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
        rte_ether_addr_copy(&tmp, &eth->src_addr);
    }
    tx_burst_counted(s, pkts, n, bytes);
    return n;
}

const Engine macswap_engine{"macswap", true, macswap_burst};
VPMD_FWD_ENGINE(macswap_engine);

} // namespace
} // namespace vpmd::fwd
