// The burst-function table: each ring type (layout x IN_ORDER) x address mode (x mergeable
// for rx) instantiated once under a name of its own, so a profiler says which path runs
// (rx_packed_inorder_mrg_iova ...); a port picks its pair when it starts (DPDK's
// set_rxtx_funcs idea). The rx mode is the rx DMA device's, the tx mode the tx one's.
#include "drivers/net/vpmd/rxtx.hpp"

#include <rte_errno.h>
#include <rte_net.h>

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

// [packed][in_order]: the queue queries of the same ring type.
struct Queries {
    eth_rx_queue_count_t rx_count;
    eth_rx_descriptor_status_t rx_status;
    eth_tx_descriptor_status_t tx_status;
};
template <class Ring>
constexpr Queries queries_of{rx_queue_count<Ring>, rx_descriptor_status<Ring>, tx_descriptor_status<Ring>};
constexpr Queries query_table[2][2] = {
    {queries_of<SplitRing>, queries_of<SplitRingInOrder>},
    {queries_of<PackedRing>, queries_of<PackedRingInOrder>},
};

} // namespace

// rte_eth_tx_prepare: what the device needs of a packet asking for checksum or
// segmentation offload, done before the burst. A virtio device completes the L4 checksum
// from csum_start over the whole packet, so the field must hold the pseudo-header sum
// (without the length for TSO, as every segment gets its own), the way Intel NICs want
// it: DPDK's own helper writes that. The IPv4 header checksum is the application's (virtio
// has no offload for it), so its flag is left out and the header untouched. Returns the
// packets that are ready; at the first that is not, rte_errno says why.
uint16_t tx_prepare(void *, rte_mbuf **pkts, uint16_t nb) {
    for (uint16_t i = 0; i < nb; ++i) {
        rte_mbuf *m = pkts[i];
        const uint64_t f = m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG);
        if (f == 0) {
            continue;
        }
        const uint64_t l4 = f & RTE_MBUF_F_TX_L4_MASK;
        const bool tso = f & RTE_MBUF_F_TX_TCP_SEG;
        if ((l4 != 0 && l4 != RTE_MBUF_F_TX_TCP_CKSUM && l4 != RTE_MBUF_F_TX_UDP_CKSUM) ||
            (tso && (m->tso_segsz == 0 || m->l4_len < sizeof(rte_tcp_hdr)))) {
            rte_errno = l4 == RTE_MBUF_F_TX_SCTP_CKSUM ? ENOTSUP : EINVAL;
            return i;
        }
        // The helper writes the L4 checksum field, which must lie in the first segment.
        const uint32_t field = uint32_t(m->l2_len) + m->l3_len + (l4 == RTE_MBUF_F_TX_UDP_CKSUM ? 8 : 18);
        if (field > m->data_len || !RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1) {
            rte_errno = EINVAL;
            return i;
        }
        if (int rc = rte_net_intel_cksum_flags_prepare(m, m->ol_flags & ~RTE_MBUF_F_TX_IP_CKSUM); rc != 0) {
            rte_errno = -rc;
            return i;
        }
    }
    return nb;
}

void select_bursts(Adapter &ad) {
    const int rx_iova = ad.dma(transport::QueueRole::rx).addr_mode() == AddrMode::iova;
    const int tx_iova = ad.dma(transport::QueueRole::tx).addr_mode() == AddrMode::iova;
    ad.dev->rx_pkt_burst = rx_table[ad.packed()][ad.in_order()][ad.port->mrg()][rx_iova];
    ad.dev->tx_pkt_burst = tx_table[ad.packed()][ad.in_order()][tx_iova];
    ad.dev->tx_pkt_prepare = tx_prepare;
    const Queries &qs = query_table[ad.packed()][ad.in_order()];
    ad.dev->rx_queue_count = qs.rx_count;
    ad.dev->rx_descriptor_status = qs.rx_status;
    ad.dev->tx_descriptor_status = qs.tx_status;
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
