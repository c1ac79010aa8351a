// rxonly: receive and free (testpmd's rxonly.c); measures the receive path alone.
#include "apps/fwd/engine.hpp"

namespace vpmd::fwd {
namespace {

uint32_t rxonly_burst(void *arg) noexcept {
    Stream &s = *static_cast<Stream *>(arg);
    rte_mbuf *pkts[max_burst];
    uint64_t bytes = 0;
    const uint16_t n = rx_burst_counted(s, pkts, bytes);
    if (n != 0) {
        rte_pktmbuf_free_bulk(pkts, n);
    }
    return n;
}

const Engine rxonly_engine{"rxonly", true, rxonly_burst};
VPMD_FWD_ENGINE(rxonly_engine);

} // namespace
} // namespace vpmd::fwd
