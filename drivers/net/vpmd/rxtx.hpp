// net_vpmd burst functions, written once over the ring concept and instantiated per ring
// type (layout x IN_ORDER) x address mode (x mergeable for rx) x instruction set in
// rxtx.cpp and rxtx_<isa>.cpp, where each gets its own name; the port picks one at start.
// The instruction set S reaches the ring's add/collect calls only (ring/simd.hpp).
// Hot path: no allocation except mbufs, no logging, no virtual calls, no locks.
#pragma once

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf_ptype.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <cstring>

#include "dataplane/dma/mbuf_addr.hpp"
#include "drivers/net/vpmd/queues.hpp"

// Each instruction set's file compiles this header for its ISA: in a namespace of its own
// (rxtx_<isa>.cpp define VPMD_BURST_ISA), so no function here is emitted twice under one
// name and the linker can never hand baseline callers a copy built for AVX.
#ifndef VPMD_BURST_ISA
#define VPMD_BURST_ISA baseline
#endif

namespace vpmd::pmd {
inline namespace VPMD_BURST_ISA {

using net::net_hdr_size;

// The device is told through the transport's notifier, a plain value (eventfd or MMIO).
template <class Q>
inline void kick(const Q *q) {
    q->slot.notifier.fire(q->ring.avail_index());
}

inline bool vlan_allowed(const HotFilter &f, uint16_t vid) { return (f.vlans[vid >> 6] >> (vid & 63)) & 1; }

// Software receive filter for a non-promiscuous port (the mediated control queue's state).
inline bool filter_accept(const HotFilter &f, const rte_mbuf *m) {
    if (m->data_len < 14) {
        return false;
    }
    const auto *d = rte_pktmbuf_mtod(m, const uint8_t *);
    if (f.vlan_active && d[12] == 0x81 && d[13] == 0x00 && m->data_len >= 16 &&
        !vlan_allowed(f, uint16_t(((d[14] << 8) | d[15]) & 0xfff))) {
        return false;
    }
    if (!f.active) {
        return true;
    }
    if (d[0] & 1) {
        static constexpr uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        if (std::memcmp(d, bcast, 6) == 0) {
            return !f.nobcast;
        }
        if (f.allmulti) {
            return true;
        }
        for (uint16_t i = 0; i < f.n_mc; ++i) {
            if (std::memcmp(d, f.mc[i], 6) == 0) {
                return true;
            }
        }
        return false;
    }
    if (std::memcmp(d, f.mac, 6) == 0) {
        return true;
    }
    for (uint16_t i = 0; i < f.n_uc; ++i) {
        if (std::memcmp(d, f.uc[i], 6) == 0) {
            return true;
        }
    }
    return false;
}

// Posts fresh mbufs once a batch worth of descriptors is free (all of them when `all`).
template <class Ring, dma::AddrMode Mode, ring::Simd S = ring::Simd::scalar>
void rx_refill(RxQueue<Ring> *q, bool all = false) {
    uint32_t free = q->ring.free_descs();
    if (free < q->refill_at && !(all && free > 0)) {
        return;
    }
    bool added = false;
    while (free > 0) {
        const uint16_t k = uint16_t(std::min<uint32_t>(free, step_max));
        rte_mbuf *mbufs[step_max];
        // Straight from the pool where the completion sets what a reset would (RxQueue::rearm).
        const int got = q->rearm != 0 ? rte_mempool_get_bulk(q->mp, reinterpret_cast<void **>(mbufs), k)
                                      : rte_pktmbuf_alloc_bulk(q->mp, mbufs, k);
        if (got != 0) [[unlikely]] {
            *q->nombuf += k;
            break;
        }
        q->ring.template add_each<S>(mbufs, k, [mbufs](uint16_t j) {
            const rte_mbuf *m = mbufs[j];
            // The device writes the virtio-net header just before the packet data.
            return ring::Segment{dma::mbuf_buf_addr<Mode>(m) + RTE_PKTMBUF_HEADROOM - net_hdr_size,
                                 uint32_t(m->buf_len - RTE_PKTMBUF_HEADROOM + net_hdr_size), true};
        });
        free -= k;
        added = true;
    }
    if (added) {
        q->ring.publish();
        if (q->ring.needs_notify()) {
            kick(q);
        }
    }
}

// NEEDS_CSUM somewhere other than a TCP/UDP checksum field: the sum from csum_start over
// every segment, stored where the header says (read_rx_hdr checked it is in the first).
inline void rx_finish_csum(rte_mbuf *m, const net::RxInfo &info) {
    net::Checksum c;
    uint32_t skip = info.csum_start;
    for (rte_mbuf *s = m; s != nullptr; s = s->next) {
        const auto *d = rte_pktmbuf_mtod(s, const uint8_t *);
        if (skip >= s->data_len) {
            skip -= s->data_len;
            continue;
        }
        c.add(std::span<const uint8_t>(d + skip, s->data_len - skip));
        skip = 0;
    }
    net::store_be16(rte_pktmbuf_mtod_offset(m, uint8_t *, info.csum_start + info.csum_offset), c.field());
}

inline uint32_t ptype_of(const net::FrameLayout &f) {
    uint32_t t = f.l2_len > RTE_ETHER_HDR_LEN ? RTE_PTYPE_L2_ETHER_VLAN : RTE_PTYPE_L2_ETHER;
    if (f.ip == 4) {
        t |= RTE_PTYPE_L3_IPV4_EXT_UNKNOWN;
    } else if (f.ip == 6) {
        t |= RTE_PTYPE_L3_IPV6;
    }
    if (f.l4_known()) {
        t |= f.proto == net::ip_proto_tcp ? RTE_PTYPE_L4_TCP : RTE_PTYPE_L4_UDP;
    }
    return t;
}

// With GUEST_CSUM: what the device's header says about the packet, as ol_flags. A header
// that does not fit its frame drops the packet (counted), never a read outside it.
// Out of line: the burst loop stays small for ports without offloads.
template <class Ring>
[[gnu::noinline]] bool rx_offload(RxQueue<Ring> *q, rte_mbuf *m) {
    net::NetHdr h; // one read: the device may still be writing its memory
    std::memcpy(&h, rte_pktmbuf_mtod_offset(m, const uint8_t *, -int(net_hdr_size)), sizeof(h));
    if ((h.flags | h.gso_type) == 0) {
        return true;
    }
    net::RxInfo info;
    const auto e = net::read_rx_hdr(h, {rte_pktmbuf_mtod(m, const uint8_t *), m->data_len}, m->pkt_len, q->lro,
                                    info);
    if (e != net::RxHdrError::ok) [[unlikely]] {
        ++q->offload_errors;
        ++q->stats.errors;
        rte_pktmbuf_free(m);
        return false;
    }
    if (info.sw_csum) {
        rx_finish_csum(m, info);
    }
    m->packet_type = ptype_of(info.frame);
    m->ol_flags |= info.l4 == net::RxInfo::Csum::good   ? RTE_MBUF_F_RX_L4_CKSUM_GOOD
                   : info.l4 == net::RxInfo::Csum::none ? RTE_MBUF_F_RX_L4_CKSUM_NONE
                                                        : RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN;
    if (info.lro) {
        m->ol_flags |= RTE_MBUF_F_RX_LRO;
        m->tso_segsz = info.segsz;
    }
    return true;
}

// What a burst does to each packet besides counting it, read from the queue once per
// burst. `slow`: anything beyond the MTU check (filter, offloads, VLAN strip).
struct RxOpts {
    bool filtering = false;
    bool offload = false;
    bool vlan_strip = false;
    bool slow = false;
    uint32_t max_frame = UINT32_MAX;
    template <class Q>
    static RxOpts of(const Q *q) {
        const bool filtering = q->filter->active || q->filter->vlan_active;
        return RxOpts{filtering, q->offload, q->vlan_strip, filtering || q->offload || q->vlan_strip, q->max_frame};
    }
};

template <class Ring>
inline bool rx_oversize(RxQueue<Ring> *q, rte_mbuf *m, const RxOpts &o) {
    if (m->pkt_len > o.max_frame && !(m->ol_flags & RTE_MBUF_F_RX_LRO)) [[unlikely]] {
        ++q->oversize;
        ++q->stats.errors;
        rte_pktmbuf_free(m);
        return true;
    }
    return false;
}

template <class Ring>
inline void rx_count_out(RxQueue<Ring> *q, rte_mbuf *m, rte_mbuf **out, uint16_t &k) {
    ++q->stats.packets;
    q->stats.bytes += m->pkt_len;
    ++q->stats.hist[size_bin(m->pkt_len)];
    out[k++] = m;
}

// rx_emit for a port that filters, offloads or strips VLAN tags: out of line, so the
// burst loop of a plain port stays as small as it was before these existed.
template <class Ring>
[[gnu::noinline]] bool rx_emit_slow(RxQueue<Ring> *q, rte_mbuf *m, const RxOpts &o, rte_mbuf **out, uint16_t &k) {
    if (o.offload && !rx_offload(q, m)) {
        return false;
    }
    if (rx_oversize(q, m, o)) {
        return false;
    }
    if (o.filtering && !filter_accept(*q->filter, m)) {
        ++q->stats.dropped;
        rte_pktmbuf_free(m);
        return false;
    }
    if (o.vlan_strip) {
        rte_vlan_strip(m); // after the filter, which reads the tag; sets vlan_tci and RX_VLAN(_STRIPPED)
    }
    rx_count_out(q, m, out, k);
    return true;
}

template <class Ring>
inline bool rx_emit(RxQueue<Ring> *q, rte_mbuf *m, const RxOpts &o, rte_mbuf **out, uint16_t &k) {
    if (o.slow) [[unlikely]] {
        return rx_emit_slow(q, m, o, out, k);
    }
    if (rx_oversize(q, m, o)) {
        return false;
    }
    rx_count_out(q, m, out, k);
    return true;
}

// The first (or only) buffer of a packet: data follows the virtio-net header. False, and
// the mbuf freed and counted, when the device returned no more than a header.
template <class Ring>
inline bool rx_first_buffer(RxQueue<Ring> *q, rte_mbuf *m, uint32_t len) {
    if (len <= net_hdr_size) [[unlikely]] {
        ++q->stats.errors;
        rte_pktmbuf_free(m);
        return false;
    }
    if (q->rearm != 0) [[likely]] {
        // Fresh from the pool (rx_refill): next is NULL, refcnt and nb_segs 1 there, as the
        // mempool keeps them; one store sets data_off, refcnt, nb_segs and port, and the rest
        // of what rte_pktmbuf_reset clears that a receiver reads follows.
        std::memcpy(&m->data_off, &q->rearm, sizeof(q->rearm));
        m->ol_flags = 0;
        m->packet_type = 0;
        m->vlan_tci = 0;
    } else {
        m->data_off = RTE_PKTMBUF_HEADROOM;
        m->port = q->port_id;
    }
    m->data_len = uint16_t(len - net_hdr_size);
    m->pkt_len = len - net_hdr_size;
    // The device just wrote the frame from another core, and every application reads at
    // least its Ethernet header next. Starting that fetch here overlaps the misses of a
    // whole burst instead of taking them one by one in the application: in vpmd-perf's
    // 64-byte loopback its own per-packet work fell from ~90 to ~45 cycles.
    rte_prefetch0(rte_pktmbuf_mtod(m, const void *));
    return true;
}

// One buffer per packet: header + data in a single mbuf.
template <class Ring>
inline void rx_deliver(RxQueue<Ring> *q, rte_mbuf *m, uint32_t len, rte_mbuf **out, uint16_t &k, const RxOpts &o) {
    if (rx_first_buffer(q, m, len)) {
        rx_emit(q, m, o, out, k);
    }
}

// MRG_RXBUF: the first buffer's header says how many buffers the packet spans; the rest
// are chained behind it, possibly across bursts.
template <class Ring>
inline void rx_deliver_mrg(RxQueue<Ring> *q, rte_mbuf *m, uint32_t len, rte_mbuf **out, uint16_t &k,
                           const RxOpts &o) {
    if (q->mrg_left == 0) {
        if (!rx_first_buffer(q, m, len)) [[unlikely]] {
            return;
        }
        const auto *h = rte_pktmbuf_mtod_offset(m, const net::NetHdr *, -int(net_hdr_size));
        const uint16_t nbuf = h->num_buffers;
        if (nbuf == 0 || nbuf > q->size) [[unlikely]] {
            ++q->stats.errors;
            rte_pktmbuf_free(m);
            return;
        }
        if (nbuf == 1) {
            rx_emit(q, m, o, out, k);
            return;
        }
        q->mrg_head = q->mrg_tail = m;
        q->mrg_left = uint16_t(nbuf - 1);
        return;
    }
    // Continuation buffers carry data from their first byte.
    m->data_off = RTE_PKTMBUF_HEADROOM - net_hdr_size;
    m->data_len = uint16_t(len);
    rte_mbuf *head = q->mrg_head;
    q->mrg_tail->next = m;
    q->mrg_tail = m;
    ++head->nb_segs;
    head->pkt_len += len;
    if (--q->mrg_left == 0) {
        q->mrg_head = q->mrg_tail = nullptr;
        rx_emit(q, head, o, out, k);
    }
}

template <class Ring, dma::AddrMode Mode, bool Mrg, ring::Simd S>
[[gnu::always_inline]] inline uint16_t rx_burst(void *rxq, rte_mbuf **pkts, uint16_t nb) {
    auto *q = static_cast<RxQueue<Ring> *>(rxq);
    if (!q->gate.enter()) [[unlikely]] {
        return 0;
    }
    const RxOpts o = RxOpts::of(q);
    // Each completion is checked by the ring and delivered in the same pass; a packet
    // needs at least one buffer, so `nb` buffers never yield more than `nb` packets.
    uint16_t n = 0;
    q->ring.template collect_each<S>(nb, [&](uint16_t, rte_mbuf *m, uint32_t len) {
        if constexpr (Mrg) {
            rx_deliver_mrg(q, m, len, pkts, n, o);
        } else {
            rx_deliver(q, m, len, pkts, n, o);
        }
    });
    rx_refill<Ring, Mode, S>(q);
    q->gate.leave();
    return n;
}

// refcnt and nb_segs, next to each other in the mbuf, as one word: both 1 is 0x00010001.
static_assert(offsetof(rte_mbuf, nb_segs) == offsetof(rte_mbuf, refcnt) + sizeof(uint16_t));
inline constexpr uint32_t refcnt1_seg1 = 0x00010001;
inline uint32_t refcnt_and_segs(const rte_mbuf *m) {
    uint32_t w; // a plain read: the mbuf is this queue's (a relaxed refcnt read, as rte_mbuf_refcnt_read)
    std::memcpy(&w, &m->refcnt, sizeof(w));
    return w;
}
inline constexpr uint64_t mbuf_not_direct = RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;

// Returns sent mbufs to their pools (n <= step_max). What tx_can_push took (direct,
// unshared, one segment) is exactly what rte_pktmbuf_free_bulk would hand back untouched,
// so it goes straight to the mempool in runs per pool, inline; anything else takes the
// full free.
inline void tx_free(rte_mbuf *const *mbufs, uint16_t n) {
    rte_mbuf *run[step_max];
    rte_mempool *pool = nullptr;
    uint16_t k = 0;
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf *m = mbufs[i];
        if (refcnt_and_segs(m) == refcnt1_seg1 && (m->ol_flags & mbuf_not_direct) == 0) [[likely]] {
            if (m->pool != pool) {
                if (k != 0) {
                    rte_mempool_put_bulk(pool, reinterpret_cast<void **>(run), k);
                }
                pool = m->pool;
                k = 0;
            }
            run[k++] = m;
        } else {
            rte_pktmbuf_free(m);
        }
    }
    if (k != 0) {
        rte_mempool_put_bulk(pool, reinterpret_cast<void **>(run), k);
    }
}

// Frees up to `budget` mbufs the device has finished sending, oldest first; returns how
// many.
template <class Ring, ring::Simd S = ring::Simd::scalar>
uint32_t tx_reclaim(TxQueue<Ring> *q, uint32_t budget) {
    rte_mbuf *done[step_max];
    uint32_t total = 0;
    while (total < budget && q->ring.in_flight() != 0) {
        const uint16_t want = uint16_t(std::min<uint32_t>(budget - total, step_max));
        const uint16_t got =
            q->ring.template collect_each<S>(want, [&done](uint16_t i, rte_mbuf *m, uint32_t) { done[i] = m; });
        tx_free(done, got);
        total += got;
        if (got < want) {
            break;
        }
    }
    return total;
}

// rte_eth_tx_done_cleanup: frees up to free_cnt sent mbufs (0: all), from the queue's
// own lcore like a burst.
template <class Ring>
int tx_done_cleanup_on(TxQueue<Ring> *q, uint32_t free_cnt) {
    if (!q->gate.enter()) [[unlikely]] {
        return -EAGAIN;
    }
    const uint32_t n = tx_reclaim(q, free_cnt == 0 ? q->size : free_cnt);
    q->gate.leave();
    return int(n);
}

// rte_eth_rx_queue_count: received buffers waiting to be collected by the next bursts
// (one per ring buffer: a mergeable packet counts each of its buffers). From the queue's
// own lcore, like a burst; 0 while the control path holds the queue.
template <class Ring>
uint32_t rx_queue_count(void *rxq) {
    auto *q = static_cast<RxQueue<Ring> *>(rxq);
    if (!q->gate.enter()) [[unlikely]] {
        return 0;
    }
    const uint32_t n = q->ring.ready(uint16_t(q->size));
    q->gate.leave();
    return n;
}

// rte_eth_rx_descriptor_status: offset counts buffers from the next one a burst collects.
// DONE: the device filled it; AVAIL: posted, not filled yet; UNAVAIL: not posted (waiting
// for a refill, or the queue is stopped).
template <class Ring>
int rx_descriptor_status(void *rxq, uint16_t offset) {
    auto *q = static_cast<RxQueue<Ring> *>(rxq);
    if (offset >= q->size) {
        return -EINVAL;
    }
    if (!q->gate.enter()) [[unlikely]] {
        return RTE_ETH_RX_DESC_UNAVAIL;
    }
    int st = RTE_ETH_RX_DESC_UNAVAIL;
    if (q->ring.ready(uint16_t(offset + 1)) > offset) {
        st = RTE_ETH_RX_DESC_DONE;
    } else if (offset < q->ring.in_flight()) {
        st = RTE_ETH_RX_DESC_AVAIL;
    }
    q->gate.leave();
    return st;
}

// rte_eth_tx_descriptor_status: offset counts from the next free descriptor. The free
// descriptors come first (DONE: reusable), then the buffers in flight, oldest first: DONE
// once the device completed them (their mbufs are freed at a later burst), else FULL.
// A stopped queue holds nothing: DONE throughout.
template <class Ring>
int tx_descriptor_status(void *txq, uint16_t offset) {
    auto *q = static_cast<TxQueue<Ring> *>(txq);
    if (offset >= q->size) {
        return -EINVAL;
    }
    if (!q->gate.enter()) [[unlikely]] {
        return q->slot.stopped ? RTE_ETH_TX_DESC_DONE : RTE_ETH_TX_DESC_UNAVAIL;
    }
    const uint32_t free = q->ring.free_descs();
    int st = RTE_ETH_TX_DESC_DONE;
    if (offset >= free) {
        const uint32_t k = offset - free; // in-flight buffers ahead of this one
        st = q->ring.ready(uint16_t(k + 1)) > k ? RTE_ETH_TX_DESC_DONE : RTE_ETH_TX_DESC_FULL;
    }
    q->gate.leave();
    return st;
}

// The header fits in front of the data, nobody else sees that memory, and it asks for no
// offload this queue carries out. `slow_flags`: the queue's offload flags and
// mbuf_not_direct (one test for both).
inline bool tx_can_push(const rte_mbuf *m, uint64_t slow_flags) {
    return refcnt_and_segs(m) == refcnt1_seg1 && (m->ol_flags & slow_flags) == 0 && m->data_off >= net_hdr_size;
}

// The header for a packet that asks for checksum or segmentation offload; false when the
// request does not fit the frame or asks for what was not negotiated.
template <class Ring>
inline bool tx_offload_hdr(TxQueue<Ring> *q, const rte_mbuf *m, uint8_t *dst) {
    net::TxRequest r;
    const uint64_t f = m->ol_flags & q->ol_mask & ~RTE_MBUF_F_TX_VLAN;
    const uint64_t l4 = f & RTE_MBUF_F_TX_L4_MASK;
    r.csum = l4 == RTE_MBUF_F_TX_TCP_CKSUM   ? net::TxRequest::L4::tcp
             : l4 == RTE_MBUF_F_TX_UDP_CKSUM ? net::TxRequest::L4::udp
                                             : net::TxRequest::L4::none;
    r.tso = f & RTE_MBUF_F_TX_TCP_SEG;
    r.ipv6 = m->ol_flags & RTE_MBUF_F_TX_IPV6;
    r.l2_len = uint16_t(m->l2_len);
    r.l3_len = uint16_t(m->l3_len);
    r.l4_len = uint16_t(m->l4_len);
    r.segsz = uint16_t(m->tso_segsz);
    if ((l4 != 0 && r.csum == net::TxRequest::L4::none) || (r.tso && !(r.ipv6 ? q->tso6 : q->tso4))) {
        return false; // SCTP, or a TSO the device did not take for this IP version
    }
    net::NetHdr h;
    if (net::make_tx_hdr(r, m->pkt_len, h) != net::TxHdrError::ok) {
        return false;
    }
    h.num_buffers = 0;
    std::memcpy(dst, &h, sizeof(h));
    return true;
}

enum class SlowTx { added, full, dropped };

// Multi-segment or shared mbufs: header from the queue's slot for this buffer id (or
// pushed in front when possible), then one segment per mbuf segment.
template <class Ring, dma::AddrMode Mode>
SlowTx tx_add_slow(TxQueue<Ring> *q, rte_mbuf *m) {
    if (m->ol_flags & q->ol_mask & RTE_MBUF_F_TX_VLAN) {
        // In software, as the device has no VLAN offload: the tag goes in front of the
        // data, and offsets of offloads behind it move with it.
        if (rte_vlan_insert(&m) != 0) [[unlikely]] {
            ++q->offload_errors;
            return SlowTx::dropped; // shared or indirect mbuf, or no headroom for the tag
        }
        m->l2_len += RTE_VLAN_HLEN;
    }
    const bool push = RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 && rte_pktmbuf_headroom(m) >= net_hdr_size;
    const uint32_t nsegs = m->nb_segs + (push ? 0u : 1u);
    const bool indirect = q->indirect && nsegs <= tx_max_indirect;
    if (nsegs > (indirect ? tx_max_indirect : q->size) || nsegs > step_max) [[unlikely]] {
        return SlowTx::dropped;
    }
    ring::Segment segs[step_max];
    uint16_t n = 0;
    const rte_mbuf *seg = m;
    const bool offload = (m->ol_flags & q->ol_mask & ~RTE_MBUF_F_TX_VLAN) != 0;
    uint8_t *hdr = push ? rte_pktmbuf_mtod(m, uint8_t *) - net_hdr_size
                        : q->hdr_va + size_t(q->ring.next_id()) * tx_hdr_slot;
    if (offload) {
        if (!tx_offload_hdr(q, m, hdr)) [[unlikely]] {
            ++q->offload_errors;
            return SlowTx::dropped;
        }
    } else {
        net::clear_tx_hdr(hdr, q->keep_num_buffers);
    }
    if (push) {
        segs[n++] = ring::Segment{dma::mbuf_data_addr<Mode>(m) - net_hdr_size, uint32_t(m->data_len + net_hdr_size),
                                  false};
        seg = m->next;
    } else {
        segs[n++] = ring::Segment{q->hdr_dev + uint64_t(q->ring.next_id()) * tx_hdr_slot, net_hdr_size, false};
    }
    for (; seg != nullptr; seg = seg->next) {
        segs[n++] = ring::Segment{dma::mbuf_data_addr<Mode>(seg), seg->data_len, false};
    }
    return q->ring.add_chain(segs, n, m, indirect ? ring::ChainMode::indirect : ring::ChainMode::chained)
               ? SlowTx::added
               : SlowTx::full;
}

template <class Ring>
inline void tx_count(TxQueue<Ring> *q, const rte_mbuf *m) {
    ++q->stats.packets;
    q->stats.bytes += m->pkt_len;
    ++q->stats.hist[size_bin(m->pkt_len)];
}

template <class Ring, dma::AddrMode Mode, ring::Simd S>
[[gnu::always_inline]] inline uint16_t tx_burst(void *txq, rte_mbuf **pkts, uint16_t nb) {
    auto *q = static_cast<TxQueue<Ring> *>(txq);
    if (!q->gate.enter()) [[unlikely]] {
        return 0;
    }
    // Late and little (see tx_reclaim_slack); a burst of no packets reclaims all it can.
    if (nb == 0) {
        tx_reclaim<Ring, S>(q, q->size);
    } else if (q->ring.free_descs() < uint32_t(nb) + tx_reclaim_slack) {
        tx_reclaim<Ring, S>(q, std::max<uint32_t>(nb, tx_reclaim_batch));
    }
    uint16_t done = 0; // packets consumed: placed in the ring or dropped as unsendable
    bool full = false;
    const uint64_t slow_flags = q->ol_mask | mbuf_not_direct;
    while (done < nb && !full) {
        // A run of simple packets, one descriptor each, goes in with one add_each.
        uint16_t run = 0;
        while (done + run < nb && tx_can_push(pkts[done + run], slow_flags)) {
            ++run;
        }
        if (run != 0) {
            rte_mbuf **first = pkts + done;
            // add_each asks for each segment once, for exactly the buffers it adds: the
            // count goes with it.
            const uint16_t added = q->ring.template add_each<S>(first, run, [first, q](uint16_t j) {
                rte_mbuf *m = first[j];
                net::clear_tx_hdr(rte_pktmbuf_mtod(m, uint8_t *) - net_hdr_size, q->keep_num_buffers);
                tx_count(q, m);
                return ring::Segment{dma::mbuf_data_addr<Mode>(m) - net_hdr_size,
                                     uint32_t(m->data_len + net_hdr_size), false};
            });
            done += added;
            full = added < run;
            continue;
        }
        rte_mbuf *m = pkts[done];
        switch (tx_add_slow<Ring, Mode>(q, m)) {
        case SlowTx::added: tx_count(q, m); ++done; break;
        case SlowTx::dropped: ++q->stats.errors; rte_pktmbuf_free(m); ++done; break;
        case SlowTx::full: full = true; break;
        }
    }
    if (done != 0) {
        q->ring.publish();
        if (q->ring.needs_notify()) {
            kick(q);
        }
    }
    q->gate.leave();
    return done;
}

} // namespace VPMD_BURST_ISA
} // namespace vpmd::pmd
