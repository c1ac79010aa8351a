// The scalar burst table, and the choice of a port's bursts (DPDK's set_rxtx_funcs idea):
// ring type, address mode (the rx DMA device's for rx, the tx one's for tx) and instruction
// set. Also tx_prepare and the queue queries.
// rte_vect_get_max_simd_bitwidth is still experimental in DPDK 22.11.
#define ALLOW_EXPERIMENTAL_API 1
#include "drivers/net/vpmd/burst_table.hpp"

#include <rte_cpuflags.h>
#include <rte_errno.h>
#include <rte_net.h>
extern "C" { // DPDK 22.11's rte_vect.h declares its functions without C linkage for C++
#include <rte_vect.h>
}

#include "drivers/net/vpmd/adapter.hpp"

namespace vpmd::pmd {

VPMD_DEFINE_BURSTS(bursts_scalar, ring::Simd::scalar, )

namespace {

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

namespace {

bool cpu_has(ring::Simd s) {
    switch (s) {
    case ring::Simd::scalar: return true;
    case ring::Simd::avx2: return ring::cpu_runs(s) && rte_cpu_get_flag_enabled(RTE_CPUFLAG_AVX2) == 1;
    case ring::Simd::avx512:
        return ring::cpu_runs(s) && rte_cpu_get_flag_enabled(RTE_CPUFLAG_AVX512F) == 1 &&
               rte_cpu_get_flag_enabled(RTE_CPUFLAG_AVX512BW) == 1 &&
               rte_cpu_get_flag_enabled(RTE_CPUFLAG_AVX512VL) == 1 &&
               rte_cpu_get_flag_enabled(RTE_CPUFLAG_AVX512DQ) == 1;
    }
    return false;
}
constexpr uint16_t bits_of(ring::Simd s) { return s == ring::Simd::avx512 ? 512 : s == ring::Simd::avx2 ? 256 : 64; }

} // namespace

SimdChoice choose_simd(Devargs::Vectorized v) {
    using V = Devargs::Vectorized;
    const uint16_t allowed = rte_vect_get_max_simd_bitwidth();
    if (v == V::scalar) {
        return {ring::Simd::scalar, {}};
    }
    if (v == V::automatic) {
        for (ring::Simd s : {ring::Simd::avx512, ring::Simd::avx2}) {
            if (cpu_has(s) && allowed >= bits_of(s)) {
                return {s, {}};
            }
        }
        return {ring::Simd::scalar, {}};
    }
    const ring::Simd s = v == V::avx512 ? ring::Simd::avx512 : ring::Simd::avx2;
    if (!cpu_has(s)) {
        return {s, "vectorized=" + std::string(ring::simd_name(s)) + ": this CPU lacks " +
                       (s == ring::Simd::avx512 ? "AVX-512 (F, BW, VL, DQ)" : "AVX2") +
                       "; use vectorized=1 (the widest it has) or 0"};
    }
    if (allowed < bits_of(s)) {
        return {s, "vectorized=" + std::string(ring::simd_name(s)) + ": EAL allows SIMD up to " +
                       std::to_string(allowed) + " bits; add --force-max-simd-bitwidth=" +
                       std::to_string(bits_of(s)) + " to the EAL arguments"};
    }
    return {s, {}};
}

// rte_eth_{rx,tx}_burst_mode_get: which of the table's functions the port runs.
std::string burst_mode(const Adapter &ad, bool rx) {
    std::string m = ad.packed() ? "packed" : "split";
    m += ad.in_order() ? " in-order" : "";
    m += rx && ad.port->mrg() ? " mrg_rxbuf" : "";
    m += ad.simd == ring::Simd::scalar ? " scalar" : ad.simd == ring::Simd::avx2 ? " AVX2" : " AVX-512";
    return m;
}

void select_bursts(Adapter &ad) {
    const int rx_iova = ad.dma(transport::QueueRole::rx).addr_mode() == dma::AddrMode::iova;
    const int tx_iova = ad.dma(transport::QueueRole::tx).addr_mode() == dma::AddrMode::iova;
    const BurstTable &t = ad.simd == ring::Simd::avx512 ? bursts_avx512
                          : ad.simd == ring::Simd::avx2 ? bursts_avx2
                                                        : bursts_scalar;
    ad.dev->rx_pkt_burst = t.rx[ad.packed()][ad.in_order()][ad.port->mrg()][rx_iova];
    ad.dev->tx_pkt_burst = t.tx[ad.packed()][ad.in_order()][tx_iova];
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
