// net_vpmd data queues: an rx or tx queue over one ring layout, its memory, counters and
// the gate that lets the control path take a queue away from the data path safely.
#pragma once

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <atomic>
#include <bit>
#include <cstdint>

#include "dataplane/dma/dma_device.hpp"
#include "dataplane/net/offload.hpp"
#include "dataplane/net/virtio_net.hpp"
#include "dataplane/ring/queue.hpp"
#include "drivers/net/vpmd/port.hpp"

namespace vpmd::pmd {

// Buffers handled per internal step (stack arrays of tx gathering, refill and reclaim);
// larger tx bursts loop.
inline constexpr uint16_t step_max = 64;
// Rx refill waits until this many descriptors are free, so refills are batched: whole
// cache lines of descriptors the device has finished with. Without IN_ORDER the larger
// batch measured 2-5% better in vpmd-perf's paired 64-byte loopback and rxonly turns
// (split and packed), with IN_ORDER the smaller one did by as much.
inline constexpr uint16_t refill_batch_in_order = 32;
inline constexpr uint16_t refill_batch_any_order = 64;

// Frame size histogram bins (xstats): <=64, 65-127, 128-255, 256-511, 512-1023,
// 1024-1518, >=1519.
inline constexpr int hist_bins = 7;
inline int size_bin(uint32_t len) {
    if (len <= 64) {
        return 0;
    }
    if (len > 1518) {
        return 6;
    }
    if (len >= 1024) {
        return 5;
    }
    return int(std::bit_width(len)) - 6;
}

struct alignas(64) QueueStats {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    uint64_t errors = 0;  // malformed from the device (rx) / unsendable (tx)
    uint64_t dropped = 0; // rx: filtered out or freed on stop/reconnect; tx: freed unsent
    uint64_t hist[hist_bins] = {};
};

// Data path vs control path: a burst marks itself busy and backs off when paused; the
// control path pauses, makes every CPU's busy store visible (membarrier), and waits for
// the burst in progress to end. Costs the burst two plain stores and a load, no fence.
struct Gate {
    std::atomic<uint32_t> busy{0};
    std::atomic<uint32_t> paused{0};

    bool enter() {
        busy.store(1, std::memory_order_relaxed);
        std::atomic_signal_fence(std::memory_order_seq_cst);
        if (paused.load(std::memory_order_relaxed)) [[unlikely]] {
            busy.store(0, std::memory_order_release);
            return false;
        }
        return true;
    }
    void leave() { busy.store(0, std::memory_order_release); }
};

// What the rx path lets through when the port is not promiscuous (from the mediator).
struct HotFilter {
    bool active = false; // false: everything passes (promiscuous, no VLAN filter)
    bool allmulti = false;
    bool nobcast = false;
    bool vlan_active = false;
    uint8_t mac[6] = {};
    uint16_t n_uc = 0, n_mc = 0;
    uint8_t uc[16][6] = {};
    uint8_t mc[64][6] = {};
    uint64_t vlans[64] = {}; // bitmap of 4096 VLAN ids
};

struct Adapter;

struct QueueBase {
    Gate gate;
    Adapter *ad = nullptr;
    QueueSlot slot; // the control core's view; bursts kick through slot.notifier
    uint16_t port_id = 0;
    uint64_t *nombuf = nullptr; // the port's rx_mbuf_alloc_failed
    // From the queue's DMA device (the transport's, by role): its memory and address mode.
    dma::DmaDevice *dma = nullptr;
    dma::AddrMode mode = dma::AddrMode::va;
    ring::DmaRegion ring_mem{};
    ring::DmaRegion side_mem{}; // tx: headers + indirect tables
    void *priv_mem = nullptr;   // the ring's private state, NUMA-local
    uint32_t size = 0;
    QueueStats stats;
    // rx: offload headers that did not fit their frame; tx: offload requests the frame could
    // not carry. Both dropped, and counted in stats.errors too.
    uint64_t offload_errors = 0;
    uint64_t oversize = 0; // rx: frames above the MTU, dropped (also in errors)
    bool broken_reported = false; // the watcher logged this queue's break (control path only)
    bool deferred = false;        // rx/tx_deferred_start: not started with the port
};

template <ring::DriverQueue Ring>
struct RxQueue : QueueBase {
    Ring ring;
    rte_mempool *mp = nullptr;
    // data_off, refcnt, nb_segs and port of a received mbuf, as one 8-byte word (the
    // mbuf's rearm_data): refills take mbufs straight from the pool, with no
    // rte_pktmbuf_reset, and a completion sets what reset would have, in a few stores
    // (DPDK's vector rx paths do the same). 0: the pool's mbufs need the reset (pinned
    // external buffers keep a flag in ol_flags), and refills use rte_pktmbuf_alloc_bulk.
    uint64_t rearm = 0;
    const HotFilter *filter = nullptr;
    uint32_t refill_at = refill_batch_in_order; // free descriptors that trigger a refill
    // Mergeable rx: a packet still waiting for num_buffers more buffers.
    rte_mbuf *mrg_head = nullptr;
    rte_mbuf *mrg_tail = nullptr;
    uint16_t mrg_left = 0;
    // GUEST_CSUM negotiated: headers may carry checksum and GSO information (offload.hpp).
    bool offload = false;
    bool lro = false; // GUEST_TSO4/6 negotiated
    bool vlan_strip = false; // RTE_ETH_RX_OFFLOAD_VLAN_STRIP, in software
    // Longest frame taken (MTU + Ethernet header + one VLAN tag); LRO packets are exempt.
    uint32_t max_frame = RTE_ETHER_MAX_VLAN_FRAME_LEN;
    // rx_queue_intr_enable/disable's last word, put back on the ring whenever it restarts
    // (its memory is zeroed, which would mean "interrupts on").
    bool intr_enabled = false;
};

template <ring::DriverQueue Ring>
struct TxQueue : QueueBase {
    Ring ring;
    // Headers for packets whose own headroom cannot take one, indexed by buffer id.
    uint8_t *hdr_va = nullptr;
    uint64_t hdr_dev = 0;
    bool indirect = false;
    bool keep_num_buffers = true; // devarg strict_tx_hdr=0 (see net::clear_tx_hdr)
    // The ol_flags this queue turns into header fields (0: no tx offload configured); a
    // packet with any of them takes the slow path.
    uint64_t ol_mask = 0;
    bool tso4 = false, tso6 = false; // HOST_TSO4/6 negotiated
};
// Tx reclaims late and little, as DPDK's packed virtio PMD does: only when the ring lacks
// room for the burst plus tx_reclaim_slack descriptors, and then at most the burst or
// tx_reclaim_batch buffers, whichever is more. The ring stays nearly full of finished
// buffers; each reclaim retires the oldest, whose lines the device left long ago, and
// hands the application a few mbufs it reuses at once. Measured with vpmd-perf's paired
// turns at 64 B against reclaiming everything once half the ring was out (and, for packed
// IN_ORDER, once 32 were): packed txonly 0.95-0.99x -> 1.03-1.17x of net_virtio_user,
// split txonly and all loopback rows unchanged within the noise.
inline constexpr uint32_t tx_reclaim_slack = 8;
inline constexpr uint16_t tx_reclaim_batch = 32;

inline constexpr uint32_t tx_hdr_slot = 16;     // bytes per header slot (12 used)
inline constexpr uint16_t tx_max_indirect = 32; // segments per indirect table

// The four ring types of the burst table: layout x IN_ORDER policy.
using SplitRing = ring::SplitQueue<rte_mbuf *, false>;
using SplitRingInOrder = ring::SplitQueue<rte_mbuf *, true>;
using PackedRing = ring::PackedQueue<rte_mbuf *, false>;
using PackedRingInOrder = ring::PackedQueue<rte_mbuf *, true>;

} // namespace vpmd::pmd
