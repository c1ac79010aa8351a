// The burst-function table: each ring type (layout x IN_ORDER) x address mode (x mergeable
// for rx) instantiated once under a name of its own, so a profiler says which path runs
// (rx_packed_inorder_mrg_iova ...); a port picks its pair when it starts (DPDK's
// set_rxtx_funcs idea). The rx mode is the rx DMA device's, the tx mode the tx one's.
#include "drivers/net/vpmd/rxtx.hpp"

#include "drivers/net/vpmd/adapter.hpp"

namespace vpmd::pmd {

namespace {

using dma::AddrMode;

// One named function per table entry; the template body is inlined into it.
#define VPMD_RX(name, Ring, Mode, Mrg)                                                                            \
    uint16_t rx_##name(void *q, rte_mbuf **p, uint16_t n) { return rx_burst<Ring, AddrMode::Mode, Mrg>(q, p, n); }
#define VPMD_RX_ALL(layout, Ring)                                                                                 \
    VPMD_RX(layout##_va, Ring, va, false)                                                                         \
    VPMD_RX(layout##_iova, Ring, iova, false)                                                                     \
    VPMD_RX(layout##_mrg_va, Ring, va, true)                                                                      \
    VPMD_RX(layout##_mrg_iova, Ring, iova, true)
#define VPMD_TX(name, Ring, Mode)                                                                                 \
    uint16_t tx_##name(void *q, rte_mbuf **p, uint16_t n) { return tx_burst<Ring, AddrMode::Mode>(q, p, n); }
#define VPMD_TX_ALL(layout, Ring)                                                                                 \
    VPMD_TX(layout##_va, Ring, va)                                                                                \
    VPMD_TX(layout##_iova, Ring, iova)

VPMD_RX_ALL(split, SplitRing)
VPMD_RX_ALL(split_inorder, SplitRingInOrder)
VPMD_RX_ALL(packed, PackedRing)
VPMD_RX_ALL(packed_inorder, PackedRingInOrder)
VPMD_TX_ALL(split, SplitRing)
VPMD_TX_ALL(split_inorder, SplitRingInOrder)
VPMD_TX_ALL(packed, PackedRing)
VPMD_TX_ALL(packed_inorder, PackedRingInOrder)

#undef VPMD_RX
#undef VPMD_RX_ALL
#undef VPMD_TX
#undef VPMD_TX_ALL

// [packed][in_order][mrg][iova]
constexpr eth_rx_burst_t rx_table[2][2][2][2] = {
    {{{rx_split_va, rx_split_iova}, {rx_split_mrg_va, rx_split_mrg_iova}},
     {{rx_split_inorder_va, rx_split_inorder_iova}, {rx_split_inorder_mrg_va, rx_split_inorder_mrg_iova}}},
    {{{rx_packed_va, rx_packed_iova}, {rx_packed_mrg_va, rx_packed_mrg_iova}},
     {{rx_packed_inorder_va, rx_packed_inorder_iova}, {rx_packed_inorder_mrg_va, rx_packed_inorder_mrg_iova}}},
};

// [packed][in_order][iova]
constexpr eth_tx_burst_t tx_table[2][2][2] = {
    {{tx_split_va, tx_split_iova}, {tx_split_inorder_va, tx_split_inorder_iova}},
    {{tx_packed_va, tx_packed_iova}, {tx_packed_inorder_va, tx_packed_inorder_iova}},
};

} // namespace

void select_bursts(Adapter &ad) {
    const int rx_iova = ad.dma(transport::QueueRole::rx).addr_mode() == AddrMode::iova;
    const int tx_iova = ad.dma(transport::QueueRole::tx).addr_mode() == AddrMode::iova;
    ad.dev->rx_pkt_burst = rx_table[ad.packed()][ad.in_order()][ad.port->mrg()][rx_iova];
    ad.dev->tx_pkt_burst = tx_table[ad.packed()][ad.in_order()][tx_iova];
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
