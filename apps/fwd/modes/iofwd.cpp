// io: forward packets unchanged from the rx queue to the tx queue (testpmd's iofwd.c).
#include "apps/fwd/engine.hpp"

namespace vpmd::fwd {
namespace {

uint32_t io_burst(void *arg) noexcept {
    Stream &s = *static_cast<Stream *>(arg);
    rte_mbuf *pkts[max_burst];
    uint64_t bytes = 0;
    const uint16_t n = rx_burst_counted(s, pkts, bytes);
    if (n == 0) {
        return 0;
    }
    tx_burst_counted(s, pkts, n, bytes);
    return n;
}

const Engine io_engine{"io", true, io_burst};
VPMD_FWD_ENGINE(io_engine);

} // namespace
} // namespace vpmd::fwd
