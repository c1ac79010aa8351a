// The burst-function table: every layout x address mode (x mergeable) instantiated once;
// a port picks its pair when it starts (DPDK's set_rxtx_funcs idea).
#include "drivers/net/vpmd/rxtx.hpp"

#include "drivers/net/vpmd/adapter.hpp"

namespace vpmd::pmd {

namespace {

using dma::AddrMode;

template <class Ring, AddrMode Mode>
constexpr eth_rx_burst_t rx_for(bool mrg) {
    return mrg ? &rx_burst<Ring, Mode, true> : &rx_burst<Ring, Mode, false>;
}

// [packed][iova][mrg]
constexpr eth_rx_burst_t rx_table[2][2][2] = {
    {{rx_for<SplitRing, AddrMode::va>(false), rx_for<SplitRing, AddrMode::va>(true)},
     {rx_for<SplitRing, AddrMode::iova>(false), rx_for<SplitRing, AddrMode::iova>(true)}},
    {{rx_for<PackedRing, AddrMode::va>(false), rx_for<PackedRing, AddrMode::va>(true)},
     {rx_for<PackedRing, AddrMode::iova>(false), rx_for<PackedRing, AddrMode::iova>(true)}},
};

// [packed][iova]
constexpr eth_tx_burst_t tx_table[2][2] = {
    {&tx_burst<SplitRing, AddrMode::va>, &tx_burst<SplitRing, AddrMode::iova>},
    {&tx_burst<PackedRing, AddrMode::va>, &tx_burst<PackedRing, AddrMode::iova>},
};

} // namespace

void select_bursts(Adapter &ad) {
    const int iova = ad.dma.addr_mode() == AddrMode::iova;
    ad.dev->rx_pkt_burst = rx_table[ad.packed()][iova][ad.mrg];
    ad.dev->tx_pkt_burst = tx_table[ad.packed()][iova];
}

int tx_done_cleanup(void *txq, uint32_t free_cnt) {
    if (txq == nullptr) {
        return -EINVAL; // ethdev passes an unchecked queue id: one never set up
    }
    int rc = 0;
    with_txq(*static_cast<QueueBase *>(txq)->ad, txq, [&](auto *q) { rc = tx_done_cleanup_on(q, free_cnt); });
    return rc;
}

} // namespace vpmd::pmd
