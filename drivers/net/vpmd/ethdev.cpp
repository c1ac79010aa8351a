// net_vpmd: the ethdev operations and the vdev driver (probe/remove). Control path only;
// the burst functions live in rxtx.hpp.
// rte_intr_instance_alloc and the interrupt-handle setters are experimental in DPDK 22.11.
#define ALLOW_EXPERIMENTAL_API
#include <ethdev_driver.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_malloc.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <new>
#include <vector>

#include "drivers/net/vpmd/adapter.hpp"
#include "drivers/net/vpmd/ethdev.hpp"
#include "drivers/net/vpmd/inspect.hpp"
#include "drivers/net/vpmd/rxtx.hpp"

namespace vpmd::pmd {

namespace {

// Bytes of an mbuf a packet may use when it arrives in one buffer.
uint32_t rx_buf_room(const rte_mempool *mp) {
    return rte_pktmbuf_data_room_size(const_cast<rte_mempool *>(mp)) - RTE_PKTMBUF_HEADROOM;
}

// Largest frame: with MRG_RXBUF a packet spans buffers; 9728 is what jumbo ports take.
constexpr uint32_t max_rx_pktlen_mrg = 9728;
constexpr uint32_t max_rx_pktlen_single = RTE_MBUF_DEFAULT_DATAROOM;
constexpr uint16_t max_mac_addrs = 16;
// A coalesced TCP packet (GUEST_TSO): 64 KiB of IP packet behind its Ethernet header.
constexpr uint32_t max_lro_pktlen = 65535 + RTE_ETHER_HDR_LEN;

int ctrl_send(Adapter &ad, uint8_t cls, uint8_t cmd, std::span<const uint8_t> data) {
    if (!ad.cq) {
        return -ENOTSUP;
    }
    const int rc = ad.cq->send(cls, cmd, data);
    if (rc != 0) {
        log(RTE_LOG_ERR, "%s: control command class %u cmd %u failed: %s", ad.name.c_str(), cls, cmd,
            rc == -ETIMEDOUT ? "timed out" : rc == -EIO ? "refused or queue broken" : strerror(-rc));
    }
    return rc;
}

// ---- queues ---------------------------------------------------------------------------

template <class Q>
void free_queue(Q *q) {
    q->dma->free(q->ring_mem);
    q->dma->free(q->side_mem);
    rte_free(q->priv_mem);
    q->~Q();
    rte_free(q);
}

void rx_queue_release(rte_eth_dev *dev, uint16_t qid) {
    Adapter &ad = *adapter_of(dev);
    void *q = dev->data->rx_queues[qid];
    if (q == nullptr) {
        return;
    }
    with_rxq(ad, q, [&](auto *rq) {
        rq->ring.detach_unused([](rte_mbuf *m) { rte_pktmbuf_free(m); });
        if (rq->mrg_head != nullptr) {
            rte_pktmbuf_free(rq->mrg_head);
        }
        free_queue(rq);
    });
    dev->data->rx_queues[qid] = nullptr;
}

void tx_queue_release(rte_eth_dev *dev, uint16_t qid) {
    Adapter &ad = *adapter_of(dev);
    void *q = dev->data->tx_queues[qid];
    if (q == nullptr) {
        return;
    }
    with_txq(ad, q, [&](auto *tq) {
        tq->ring.detach_unused([](rte_mbuf *m) { rte_pktmbuf_free(m); });
        free_queue(tq);
    });
    dev->data->tx_queues[qid] = nullptr;
}

uint32_t pick_size(Adapter &ad, uint16_t nb_desc) {
    return nb_desc == 0 ? ad.args.queue_size : nb_desc;
}

int check_size(Adapter &ad, uint32_t size, const char *what, uint16_t qid) {
    const bool ok = ad.packed() ? PackedRing::valid_size(size) : SplitRing::valid_size(size);
    if (!ok || size < 16) {
        log(RTE_LOG_ERR, "%s: %s queue %u: %u descriptors: allowed 16..32768%s", ad.name.c_str(), what, qid, size,
            ad.packed() ? "" : ", a power of two (split ring)");
        return -EINVAL;
    }
    return 0;
}

// Allocates the queue object and the ring's private state on the NUMA node asked, and lays
// the ring out in memory of the role's DMA device (the transport's): what that device's
// consumer can reach, at the addresses it understands.
template <class Q>
Q *make_queue(Adapter &ad, transport::QueueRole role, uint16_t qid, uint32_t size, unsigned socket, size_t side_len,
              ring::DmaRegion &side, int &rc) {
    void *mem = rte_zmalloc_socket("vpmd_queue", sizeof(Q), RTE_CACHE_LINE_SIZE, int(socket));
    if (mem == nullptr) {
        rc = -ENOMEM;
        return nullptr;
    }
    Q *q = new (mem) Q();
    using Ring = decltype(q->ring);
    q->dma = &ad.dma(role);
    q->mode = q->dma->addr_mode();
    q->priv_mem = rte_zmalloc_socket("vpmd_ring_state", Ring::private_bytes(size), RTE_CACHE_LINE_SIZE, int(socket));
    auto ring_mem = q->dma->alloc(Ring::ring_bytes(size), 4096);
    if (ring_mem) {
        q->ring_mem = *ring_mem;
    }
    if (q->priv_mem == nullptr || !ring_mem) {
        rc = q->priv_mem == nullptr ? -ENOMEM : ring_mem.error();
        free_queue(q); // gives back whichever of the two was had
        return nullptr;
    }
    if (side_len != 0) {
        auto s = q->dma->alloc(side_len, 4096);
        if (!s) {
            free_queue(q);
            rc = s.error();
            return nullptr;
        }
        side = *s;
        q->side_mem = side;
    }
    q->ad = &ad;
    q->size = size;
    q->slot.role = role;
    q->slot.queue_id = qid;
    q->slot.index = uint16_t(role == transport::QueueRole::rx ? 2 * qid : 2 * qid + 1);
    q->slot.size = size;
    q->port_id = ad.dev->data->port_id;
    q->nombuf = &ad.dev->data->rx_mbuf_alloc_failed;
    q->gate.paused.store(ad.port->started() ? 0 : 1); // stopped ports do not burst
    rc = 0;
    return q;
}

// After ring.init: the device addresses the transport hands to the device.
template <class Q>
void note_ring_addresses(Q *q) {
    q->slot.desc_addr = q->ring.desc_addr();
    q->slot.driver_area_addr = q->ring.driver_area_addr();
    q->slot.device_area_addr = q->ring.device_area_addr();
}

ring::PrivateMem private_mem_of(const QueueBase *q, size_t len) { return ring::PrivateMem{q->priv_mem, len}; }

// RxQueue::rearm for mbufs of `mp` received on `port`, or 0 where the pool's mbufs need
// rte_pktmbuf_reset.
uint64_t rearm_word(rte_mempool *mp, uint16_t port) {
    if (rte_pktmbuf_priv_flags(mp) & RTE_PKTMBUF_POOL_F_PINNED_EXT_BUF) {
        return 0;
    }
    static_assert(offsetof(rte_mbuf, refcnt) == offsetof(rte_mbuf, data_off) + 2 &&
                  offsetof(rte_mbuf, nb_segs) == offsetof(rte_mbuf, data_off) + 4 &&
                  offsetof(rte_mbuf, port) == offsetof(rte_mbuf, data_off) + 6);
    rte_mbuf t{};
    t.data_off = RTE_PKTMBUF_HEADROOM;
    t.refcnt = 1;
    t.nb_segs = 1;
    t.port = port;
    uint64_t w;
    std::memcpy(&w, &t.data_off, sizeof(w));
    return w;
}

int rx_queue_setup(rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned socket, const rte_eth_rxconf *conf,
                   rte_mempool *mp) {
    Adapter &ad = *adapter_of(dev);
    const uint32_t size = pick_size(ad, nb_desc);
    if (int rc = check_size(ad, size, "rx", qid); rc != 0) {
        return rc;
    }
    if (rte_pktmbuf_data_room_size(mp) < RTE_PKTMBUF_HEADROOM + 64) {
        log(RTE_LOG_ERR, "%s: rx queue %u: mempool %s data room %u too small: need %u + 64", ad.name.c_str(), qid,
            mp->name, rte_pktmbuf_data_room_size(mp), RTE_PKTMBUF_HEADROOM);
        return -EINVAL;
    }
    if (!ad.port->mrg() && uint32_t(dev->data->mtu) + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN > rx_buf_room(mp)) {
        log(RTE_LOG_ERR, "%s: rx queue %u: MTU %u does not fit mempool buffers of %u bytes without mrg_rxbuf=1",
            ad.name.c_str(), qid, dev->data->mtu, rx_buf_room(mp));
        return -EINVAL;
    }
    rx_queue_release(dev, qid);
    int rc = 0;
    auto build = [&](auto tag) -> void * {
        using Q = RxQueue<decltype(tag)>;
        using Ring = decltype(tag);
        ring::DmaRegion side{};
        Q *q = make_queue<Q>(ad, transport::QueueRole::rx, qid, size, socket, 0, side, rc);
        if (q == nullptr) {
            return nullptr;
        }
        ring::QueueConfig cfg{size, ad.port->ring_features() & ~ring::feature::indirect_desc, 0, ring::Ordering::weak};
        if (auto e = q->ring.init(cfg, q->ring_mem, {}, private_mem_of(q, Ring::private_bytes(size)));
            e != ring::SetupError::ok) {
            log(RTE_LOG_ERR, "%s: rx queue %u: %s", ad.name.c_str(), qid, ring::to_string(e).data());
            free_queue(q);
            rc = -EINVAL;
            return nullptr;
        }
        note_ring_addresses(q);
        q->ring.disable_interrupts(); // poll mode: no used-buffer notifications wanted
        q->mp = mp;
        q->rearm = rearm_word(mp, dev->data->port_id);
        q->filter = &ad.filter;
        q->deferred = conf != nullptr && conf->rx_deferred_start;
        // At most half the ring, or a small ring would never refill.
        q->refill_at = std::min<uint32_t>(Ring::in_order ? refill_batch_in_order : refill_batch_any_order, size / 2);
        return q;
    };
    void *q = with_ring_type(ad, build);
    if (q == nullptr) {
        log(RTE_LOG_ERR, "%s: rx queue %u setup failed: %s", ad.name.c_str(), qid, strerror(-rc));
        return rc;
    }
    dev->data->rx_queues[qid] = q;
    return 0;
}

int tx_queue_setup(rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned socket, const rte_eth_txconf *conf) {
    Adapter &ad = *adapter_of(dev);
    const uint32_t size = pick_size(ad, nb_desc);
    if (int rc = check_size(ad, size, "tx", qid); rc != 0) {
        return rc;
    }
    tx_queue_release(dev, qid);
    const bool indirect = ad.port->ring_features() & ring::feature::indirect_desc;
    const size_t hdr_len = ring::align_up(size_t(size) * tx_hdr_slot, 64);
    const size_t ind_len = indirect ? size_t(size) * tx_max_indirect * 16 : 0;
    int rc = 0;
    auto build = [&](auto tag) -> void * {
        using Q = TxQueue<decltype(tag)>;
        using Ring = decltype(tag);
        ring::DmaRegion side{};
        Q *q = make_queue<Q>(ad, transport::QueueRole::tx, qid, size, socket, hdr_len + ind_len, side, rc);
        if (q == nullptr) {
            return nullptr;
        }
        ring::QueueConfig cfg{size, ad.port->ring_features(), uint16_t(indirect ? tx_max_indirect : 0),
                              ring::Ordering::weak};
        const ring::DmaRegion ind{static_cast<char *>(side.va) + hdr_len, side.device_addr + hdr_len, ind_len};
        if (auto e = q->ring.init(cfg, q->ring_mem, ind, private_mem_of(q, Ring::private_bytes(size)));
            e != ring::SetupError::ok) {
            log(RTE_LOG_ERR, "%s: tx queue %u: %s", ad.name.c_str(), qid, ring::to_string(e).data());
            free_queue(q);
            rc = -EINVAL;
            return nullptr;
        }
        note_ring_addresses(q);
        q->ring.disable_interrupts();
        q->hdr_va = static_cast<uint8_t *>(side.va);
        q->hdr_dev = side.device_addr;
        q->indirect = indirect;
        q->keep_num_buffers = !ad.args.strict_tx_hdr;
        q->deferred = conf != nullptr && conf->tx_deferred_start;
        return q;
    };
    void *q = with_ring_type(ad, build);
    if (q == nullptr) {
        log(RTE_LOG_ERR, "%s: tx queue %u setup failed: %s", ad.name.c_str(), qid, strerror(-rc));
        return rc;
    }
    dev->data->tx_queues[qid] = q;
    return 0;
}

// rte_eth_rx/tx_burst_mode_get: the burst functions the port runs (rxtx.cpp).
int burst_mode_get(rte_eth_dev *dev, rte_eth_burst_mode *mode, bool rx) {
    const std::string m = burst_mode(*adapter_of(dev), rx);
    mode->flags = 0;
    snprintf(mode->info, sizeof(mode->info), "%s", m.c_str());
    return 0;
}
int rx_burst_mode_get(rte_eth_dev *dev, uint16_t, rte_eth_burst_mode *mode) { return burst_mode_get(dev, mode, true); }
int tx_burst_mode_get(rte_eth_dev *dev, uint16_t, rte_eth_burst_mode *mode) { return burst_mode_get(dev, mode, false); }

// rte_eth_rx/tx_queue_info_get (ethdev adds the queue's state).
void rxq_info_get(rte_eth_dev *dev, uint16_t qid, rte_eth_rxq_info *qi) {
    Adapter &ad = *adapter_of(dev);
    with_rxq(ad, dev->data->rx_queues[qid], [&](auto *q) {
        qi->mp = q->mp;
        qi->nb_desc = uint16_t(q->size);
        qi->scattered_rx = ad.port->mrg();
        qi->rx_buf_size = uint16_t(rx_buf_room(q->mp));
        qi->conf.rx_deferred_start = q->deferred;
        qi->conf.offloads = dev->data->dev_conf.rxmode.offloads;
    });
}
void txq_info_get(rte_eth_dev *dev, uint16_t qid, rte_eth_txq_info *qi) {
    Adapter &ad = *adapter_of(dev);
    with_txq(ad, dev->data->tx_queues[qid], [&](auto *q) {
        qi->nb_desc = uint16_t(q->size);
        qi->conf.tx_deferred_start = q->deferred;
        qi->conf.offloads = dev->data->dev_conf.txmode.offloads;
    });
}

// ---- device ---------------------------------------------------------------------------

// The virtio-net features the configured offloads need (what the device offers of TSO4/6:
// dev_info announced TSO or LRO when it offered either).
uint64_t offload_features(const Adapter &ad, const rte_eth_conf &conf) {
    const uint64_t rx = conf.rxmode.offloads, tx = conf.txmode.offloads, offered = ad.port->offered();
    uint64_t f = 0;
    if (tx & (RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM)) {
        f |= net::feature::csum;
    }
    if (tx & RTE_ETH_TX_OFFLOAD_TCP_TSO) {
        const uint64_t tso = offered & (net::feature::host_tso4 | net::feature::host_tso6);
        f |= net::feature::csum | (tso != 0 ? tso : net::feature::host_tso4 | net::feature::host_tso6);
    }
    if (rx & (RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)) {
        f |= net::feature::guest_csum;
    }
    if (rx & RTE_ETH_RX_OFFLOAD_TCP_LRO) {
        const uint64_t tso = offered & (net::feature::guest_tso4 | net::feature::guest_tso6);
        f |= net::feature::guest_csum | (tso != 0 ? tso : net::feature::guest_tso4 | net::feature::guest_tso6);
    }
    return f;
}

// The longest frame an MTU lets in: the Ethernet header and one VLAN tag on top.
uint32_t max_frame_of(uint16_t mtu) { return uint32_t(mtu) + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN; }

// What each queue's burst does with offloads, from the configuration and what was
// negotiated (at start: the features hold until the port is configured again).
void apply_offloads(Adapter &ad) {
    rte_eth_dev *dev = ad.dev;
    const uint64_t f = ad.port->features(), rx = dev->data->dev_conf.rxmode.offloads,
                   tx = dev->data->dev_conf.txmode.offloads;
    for (uint16_t i = 0; i < dev->data->nb_rx_queues; ++i) {
        with_rxq(ad, dev->data->rx_queues[i], [&](auto *q) {
            q->offload = (f & net::feature::guest_csum) != 0;
            q->lro = (rx & RTE_ETH_RX_OFFLOAD_TCP_LRO) && (f & (net::feature::guest_tso4 | net::feature::guest_tso6));
            q->vlan_strip = rx & RTE_ETH_RX_OFFLOAD_VLAN_STRIP;
            q->max_frame = max_frame_of(dev->data->mtu);
        });
    }
    uint64_t mask = (tx & RTE_ETH_TX_OFFLOAD_VLAN_INSERT) ? RTE_MBUF_F_TX_VLAN : 0;
    if ((tx & (RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM)) && (f & net::feature::csum)) {
        mask |= RTE_MBUF_F_TX_L4_MASK;
    }
    if ((tx & RTE_ETH_TX_OFFLOAD_TCP_TSO) && (f & (net::feature::host_tso4 | net::feature::host_tso6))) {
        mask |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_L4_MASK;
    }
    for (uint16_t i = 0; i < dev->data->nb_tx_queues; ++i) {
        with_txq(ad, dev->data->tx_queues[i], [&](auto *q) {
            q->ol_mask = mask;
            q->tso4 = f & net::feature::host_tso4;
            q->tso6 = f & net::feature::host_tso6;
        });
    }
}

// ---- rx interrupts ----------------------------------------------------------------------

// rte_eth_dev_rx_intr_ctl_q reads the ethdev's interrupt handle: one eventfd per rx queue
// (the transport's, stable until close), vector RXTX_OFFSET + i for queue i; EAL reads the
// eventfd's counter when it fires.
// A vdev port's handle is ours, made here and filled with the transport's eventfds. A PCI
// port's belongs to its bus device: its efds are the MSI-X eventfds the transport routed
// (rx queue i on efds[i], MSI-X vector 1 + i), so only the vector list is ours.
int setup_rx_interrupts(Adapter &ad, uint16_t nrx) {
    rte_eth_dev *dev = ad.dev;
    std::vector<int> fds;
    for (uint16_t i = 0; i < nrx; ++i) {
        auto fd = ad.port->transport().interrupt_fd(uint16_t(2 * i));
        if (!fd) {
            log(RTE_LOG_ERR, "%s: rx interrupts: %s", ad.name.c_str(), fd.error().what.c_str());
            return fd.error().code;
        }
        fds.push_back(*fd);
    }
    if (dev->intr_handle == nullptr) {
        ad.own_intr = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
        if (ad.own_intr == nullptr) {
            return -ENOMEM;
        }
        dev->intr_handle = ad.own_intr;
    }
    rte_intr_handle *h = dev->intr_handle;
    if (h == ad.own_intr) {
        for (uint16_t i = 0; i < nrx; ++i) {
            if (rte_intr_efds_index_set(h, i, fds[i]) != 0) {
                return -rte_errno;
            }
        }
        if (rte_intr_nb_efd_set(h, nrx) != 0 || rte_intr_max_intr_set(h, nrx + 1) != 0 ||
            rte_intr_type_set(h, RTE_INTR_HANDLE_VDEV) != 0 ||
            rte_intr_efd_counter_size_set(h, sizeof(uint64_t)) != 0) {
            return -rte_errno;
        }
    } else {
        for (uint16_t i = 0; i < nrx; ++i) {
            if (rte_intr_efds_index_get(h, i) != fds[i]) {
                log(RTE_LOG_ERR, "%s: rx interrupts: the bus device's interrupt handle does not hold rx queue %u's "
                    "MSI-X eventfd", ad.name.c_str(), i);
                return -EIO;
            }
        }
    }
    rte_intr_vec_list_free(h);
    if (rte_intr_vec_list_alloc(h, "vpmd_rx_intr", nrx) != 0) {
        return -rte_errno;
    }
    for (uint16_t i = 0; i < nrx; ++i) {
        if (rte_intr_vec_list_index_set(h, i, RTE_INTR_VEC_RXTX_OFFSET + i) != 0) {
            return -rte_errno;
        }
    }
    return 0;
}

void free_rx_interrupts(Adapter &ad) {
    if (ad.dev->intr_handle != nullptr && ad.dev->intr_handle != ad.own_intr) {
        rte_intr_vec_list_free(ad.dev->intr_handle); // the bus device's handle: only the list is ours
    }
    if (ad.own_intr != nullptr) {
        rte_intr_vec_list_free(ad.own_intr);
        rte_intr_instance_free(ad.own_intr);
        if (ad.dev->intr_handle == ad.own_intr) {
            ad.dev->intr_handle = nullptr;
        }
        ad.own_intr = nullptr;
    }
}

// Used-buffer notifications on: the device signals the queue's eventfd for what it
// completes from now on. What it completed before is signalled here, so a sleeper that
// enabled interrupts after its last empty poll does not sleep through it.
int rx_queue_intr_enable(rte_eth_dev *dev, uint16_t qid) {
    Adapter &ad = *adapter_of(dev);
    bool waiting = false;
    with_rxq(ad, dev->data->rx_queues[qid], [&](auto *q) {
        q->intr_enabled = true;
        waiting = q->ring.enable_interrupts();
    });
    if (waiting) {
        const int fd = rte_intr_efds_index_get(dev->intr_handle, qid);
        if (fd >= 0) {
            (void)eventfd_write(fd, 1);
        }
    }
    return 0;
}

int rx_queue_intr_disable(rte_eth_dev *dev, uint16_t qid) {
    Adapter &ad = *adapter_of(dev);
    with_rxq(ad, dev->data->rx_queues[qid], [](auto *q) {
        q->intr_enabled = false;
        q->ring.disable_interrupts();
    });
    return 0;
}

uint16_t max_pairs(const Adapter &ad) {
    const uint32_t dev = ad.port->device_pairs();
    return uint16_t(dev == 0 ? ad.args.queues : std::min<uint32_t>(ad.args.queues, dev));
}

int dev_configure(rte_eth_dev *dev) {
    Adapter &ad = *adapter_of(dev);
    const rte_eth_conf &conf = dev->data->dev_conf;
    const uint16_t nrx = dev->data->nb_rx_queues;
    const uint16_t ntx = dev->data->nb_tx_queues;
    if (nrx != ntx) {
        log(RTE_LOG_ERR, "%s: %u rx and %u tx queues: virtio-net needs queue pairs (equal counts)", ad.name.c_str(),
            nrx, ntx);
        return -EINVAL;
    }
    if (nrx > max_pairs(ad)) {
        log(RTE_LOG_ERR, "%s: %u queue pairs asked, %u available (queues= devarg and backend)", ad.name.c_str(), nrx,
            max_pairs(ad));
        return -EINVAL;
    }
    if (conf.rxmode.mq_mode != RTE_ETH_MQ_RX_NONE) {
        if (!(ad.port->offered() & net::feature::rss)) {
            log(RTE_LOG_ERR, "%s: rx mq_mode %d (RSS) needs VIRTIO_NET_F_RSS, which the device does not offer",
                ad.name.c_str(), conf.rxmode.mq_mode);
        } else {
            log(RTE_LOG_ERR, "%s: rx mq_mode %d: the device offers VIRTIO_NET_F_RSS, but net_vpmd does not "
                "drive it yet", ad.name.c_str(), conf.rxmode.mq_mode);
        }
        return -ENOTSUP;
    }
    if ((conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_TCP_LRO) && !ad.port->mrg()) {
        log(RTE_LOG_ERR, "%s: rx offload tcp_lro needs mergeable rx buffers (mrg_rxbuf=1): coalesced packets are "
            "up to 64 KiB", ad.name.c_str());
        return -EINVAL;
    }
    if (int rc = ad.port->set_offloads(offload_features(ad, conf)); rc != 0) {
        return rc;
    }
    if (conf.intr_conf.rxq) {
        if (int rc = setup_rx_interrupts(ad, nrx); rc != 0) {
            return rc;
        }
    } else {
        free_rx_interrupts(ad);
    }
    if (ad.cq) {
        const uint16_t pairs = nrx;
        const uint8_t data[2] = {uint8_t(pairs & 0xff), uint8_t(pairs >> 8)};
        if (int rc = ctrl_send(ad, net::ctrl::mq, net::ctrl::mq_vq_pairs_set, data); rc != 0) {
            return rc;
        }
    } else if (int rc = apply_queue_pairs(ad, nrx); rc != 0) {
        return rc;
    }
    return 0;
}

uint8_t queue_state(const void *q) {
    return q != nullptr && !static_cast<const QueueBase *>(q)->slot.stopped ? RTE_ETH_QUEUE_STATE_STARTED
                                                                           : RTE_ETH_QUEUE_STATE_STOPPED;
}

int dev_start(rte_eth_dev *dev) {
    Adapter &ad = *adapter_of(dev);
    std::lock_guard lock(ad.port->lock());
    for (uint16_t i = 0; i < dev->data->nb_rx_queues; ++i) {
        if (dev->data->rx_queues[i] == nullptr || dev->data->tx_queues[i] == nullptr) {
            log(RTE_LOG_ERR, "%s: queue pair %u not set up", ad.name.c_str(), i);
            return -EINVAL;
        }
    }
    select_bursts(ad);
    apply_offloads(ad);
    // Deferred queues stay stopped (and off the device) until rte_eth_dev_*_queue_start.
    bool any_deferred = false;
    each_base(ad, [&](QueueBase &q) {
        q.slot.stopped = q.deferred;
        any_deferred |= q.deferred;
    });
    if (any_deferred && ad.port->transport().queue_stop() == transport::QueueStop::none) {
        log(RTE_LOG_ERR, "%s: deferred queue start needs a device that starts queues alone (virtio-pci: "
            "VIRTIO_F_RING_RESET)", ad.name.c_str());
        return -ENOTSUP;
    }
    if (int rc = ad.port->start(); rc != 0) {
        return rc;
    }
    for (uint16_t i = 0; i < dev->data->nb_rx_queues; ++i) {
        dev->data->rx_queue_state[i] = queue_state(dev->data->rx_queues[i]);
        dev->data->tx_queue_state[i] = queue_state(dev->data->tx_queues[i]);
    }
    return 0;
}

// Starts or stops one queue; the ethdev state follows only when the port did it.
int queue_switch(rte_eth_dev *dev, void *q, uint8_t &state, bool start) {
    Adapter &ad = *adapter_of(dev);
    if (q == nullptr) {
        return -EINVAL;
    }
    QueueSlot &slot = static_cast<QueueBase *>(q)->slot;
    if (int rc = start ? ad.port->start_queue(slot) : ad.port->stop_queue(slot); rc != 0) {
        return rc;
    }
    state = start ? RTE_ETH_QUEUE_STATE_STARTED : RTE_ETH_QUEUE_STATE_STOPPED;
    return 0;
}
int rx_queue_stop(rte_eth_dev *dev, uint16_t qid) {
    return queue_switch(dev, dev->data->rx_queues[qid], dev->data->rx_queue_state[qid], false);
}
int tx_queue_stop(rte_eth_dev *dev, uint16_t qid) {
    return queue_switch(dev, dev->data->tx_queues[qid], dev->data->tx_queue_state[qid], false);
}
int rx_queue_start(rte_eth_dev *dev, uint16_t qid) {
    return queue_switch(dev, dev->data->rx_queues[qid], dev->data->rx_queue_state[qid], true);
}
int tx_queue_start(rte_eth_dev *dev, uint16_t qid) {
    return queue_switch(dev, dev->data->tx_queues[qid], dev->data->tx_queue_state[qid], true);
}

int dev_stop(rte_eth_dev *dev) {
    Adapter &ad = *adapter_of(dev);
    ad.port->stop();
    for (uint16_t i = 0; i < dev->data->nb_rx_queues; ++i) {
        dev->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
    }
    for (uint16_t i = 0; i < dev->data->nb_tx_queues; ++i) {
        dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
    }
    return 0;
}

// rte_eth_dev_reset: the port was stopped; reset the device and negotiate again, so the
// application can configure it afresh. A device that will not take it is detached and
// the watcher attaches again.
int dev_reset(rte_eth_dev *dev) {
    Adapter &ad = *adapter_of(dev);
    if (ad.port->started()) {
        dev_stop(dev);
    }
    return ad.port->reset();
}

int dev_close(rte_eth_dev *dev) {
    if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
        return 0;
    }
    Adapter *ad = adapter_of(dev);
    if (ad == nullptr) {
        return 0;
    }
    if (ad->port->started()) {
        dev_stop(dev);
    }
    ad->port->stop_watcher();
    for (uint16_t i = 0; i < dev->data->nb_rx_queues; ++i) {
        rx_queue_release(dev, i);
    }
    for (uint16_t i = 0; i < dev->data->nb_tx_queues; ++i) {
        tx_queue_release(dev, i);
    }
    free_rx_interrupts(*ad);
    delete ad; // the control queue, then the port: its transport closes
    *static_cast<Adapter **>(dev->data->dev_private) = nullptr;
    return 0;
}

int dev_infos_get(rte_eth_dev *dev, rte_eth_dev_info *info) {
    Adapter &ad = *adapter_of(dev);
    info->max_rx_queues = max_pairs(ad);
    info->max_tx_queues = max_pairs(ad);
    info->max_rx_pktlen = ad.port->mrg() ? max_rx_pktlen_mrg : max_rx_pktlen_single;
    info->min_rx_bufsize = RTE_PKTMBUF_HEADROOM + 64;
    info->max_mtu = uint16_t(info->max_rx_pktlen - RTE_ETHER_HDR_LEN - RTE_ETHER_CRC_LEN);
    if (const auto &m = ad.port->device_info().mtu; m && *m >= RTE_ETHER_MIN_MTU) {
        info->max_mtu = std::min(info->max_mtu, *m); // VIRTIO_NET_F_MTU: the device's limit
    }
    info->min_mtu = RTE_ETHER_MIN_MTU;
    info->max_mac_addrs = ad.cq ? max_mac_addrs : 1;
    // Offloads: what the device offered at the last negotiation (none before the first).
    const uint64_t offered = ad.port->offered();
    info->rx_offload_capa = ad.port->mrg() ? RTE_ETH_RX_OFFLOAD_SCATTER : 0;
    info->rx_offload_capa |= ad.cq ? RTE_ETH_RX_OFFLOAD_VLAN_FILTER : 0;
    info->rx_offload_capa |= RTE_ETH_RX_OFFLOAD_VLAN_STRIP;
    if (offered & net::feature::guest_csum) {
        info->rx_offload_capa |= RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
        if (ad.port->mrg() && (offered & (net::feature::guest_tso4 | net::feature::guest_tso6))) {
            info->rx_offload_capa |= RTE_ETH_RX_OFFLOAD_TCP_LRO;
            info->max_lro_pkt_size = max_lro_pktlen;
        }
    }
    info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_VLAN_INSERT;
    if (offered & net::feature::csum) {
        info->tx_offload_capa |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
        if (offered & (net::feature::host_tso4 | net::feature::host_tso6)) {
            info->tx_offload_capa |= RTE_ETH_TX_OFFLOAD_TCP_TSO;
        }
    }
    info->rx_queue_offload_capa = 0;
    info->tx_queue_offload_capa = 0;
    const uint16_t align = ad.packed() ? 1 : 16;
    info->rx_desc_lim = rte_eth_desc_lim{32768, 16, align, 0, 0};
    // Segments of one tx packet: an indirect table (or the ring's step) less the header's.
    const uint16_t segs = uint16_t(ad.port->ring_features() & ring::feature::indirect_desc
                                       ? tx_max_indirect - 1
                                       : std::min<uint32_t>(step_max, ad.args.queue_size) - 1);
    info->tx_desc_lim = rte_eth_desc_lim{32768, 16, align, segs, segs};
    info->default_rxportconf.ring_size = uint16_t(ad.args.queue_size);
    info->default_txportconf.ring_size = uint16_t(ad.args.queue_size);
    info->default_rxportconf.burst_size = 32;
    info->default_txportconf.burst_size = 32;
    info->speed_capa = RTE_ETH_LINK_SPEED_FIXED;
    return 0;
}

int link_update(rte_eth_dev *dev, int) {
    Adapter &ad = *adapter_of(dev);
    rte_eth_link link{};
    const bool up = ad.port->link_up();
    link.link_speed = up ? ad.args.speed : RTE_ETH_SPEED_NUM_NONE;
    link.link_duplex = RTE_ETH_LINK_FULL_DUPLEX;
    link.link_autoneg = RTE_ETH_LINK_FIXED;
    link.link_status = up ? RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN;
    return rte_eth_linkstatus_set(dev, &link);
}

int rx_mode(Adapter &ad, uint8_t cmd, bool on) {
    const uint8_t v = on ? 1 : 0;
    const int rc = ctrl_send(ad, net::ctrl::rx, cmd, std::span<const uint8_t>(&v, 1));
    if (rc == 0) {
        refresh_filter(ad);
    }
    return rc;
}

int promisc_enable(rte_eth_dev *dev) { return rx_mode(*adapter_of(dev), net::ctrl::rx_promisc, true); }
int promisc_disable(rte_eth_dev *dev) { return rx_mode(*adapter_of(dev), net::ctrl::rx_promisc, false); }
int allmulti_enable(rte_eth_dev *dev) { return rx_mode(*adapter_of(dev), net::ctrl::rx_allmulti, true); }
int allmulti_disable(rte_eth_dev *dev) { return rx_mode(*adapter_of(dev), net::ctrl::rx_allmulti, false); }

int mac_addr_set(rte_eth_dev *dev, rte_ether_addr *mac) {
    Adapter &ad = *adapter_of(dev);
    if (ad.cq) {
        if (int rc = ctrl_send(ad, net::ctrl::mac, net::ctrl::mac_addr_set, mac->addr_bytes); rc != 0) {
            return rc;
        }
    }
    dev->data->mac_addrs[0] = *mac;
    refresh_filter(ad);
    return 0;
}

// Sends the whole secondary address list (entries 1..) as the MAC table.
int send_mac_table(Adapter &ad, const rte_ether_addr *extra, int skip_index) {
    std::vector<uint8_t> uc, mc;
    uint32_t nuc = 0, nmc = 0;
    auto add = [&](const rte_ether_addr &a) {
        auto &v = rte_is_multicast_ether_addr(&a) ? mc : uc;
        (rte_is_multicast_ether_addr(&a) ? nmc : nuc)++;
        v.insert(v.end(), a.addr_bytes, a.addr_bytes + 6);
    };
    for (int i = 1; i < max_mac_addrs; ++i) {
        const rte_ether_addr &a = ad.dev->data->mac_addrs[i];
        if (i != skip_index && !rte_is_zero_ether_addr(&a)) {
            add(a);
        }
    }
    if (extra != nullptr) {
        add(*extra);
    }
    std::vector<uint8_t> data(4);
    std::memcpy(data.data(), &nuc, 4);
    data.insert(data.end(), uc.begin(), uc.end());
    data.resize(data.size() + 4);
    std::memcpy(data.data() + data.size() - 4, &nmc, 4);
    data.insert(data.end(), mc.begin(), mc.end());
    const int rc = ctrl_send(ad, net::ctrl::mac, net::ctrl::mac_table_set, data);
    if (rc == 0) {
        refresh_filter(ad);
    }
    return rc;
}

int mac_addr_add(rte_eth_dev *dev, rte_ether_addr *mac, uint32_t index, uint32_t) {
    Adapter &ad = *adapter_of(dev);
    if (index == 0 || index >= max_mac_addrs) {
        return -EINVAL;
    }
    return send_mac_table(ad, mac, int(index));
}

void mac_addr_remove(rte_eth_dev *dev, uint32_t index) {
    Adapter &ad = *adapter_of(dev);
    (void)send_mac_table(ad, nullptr, int(index));
}

int vlan_filter_set(rte_eth_dev *dev, uint16_t vid, int on) {
    Adapter &ad = *adapter_of(dev);
    const uint8_t data[2] = {uint8_t(vid & 0xff), uint8_t(vid >> 8)};
    const int rc = ctrl_send(ad, net::ctrl::vlan, on ? net::ctrl::vlan_add : net::ctrl::vlan_del, data);
    if (rc == 0) {
        refresh_filter(ad);
    }
    return rc;
}

int mtu_set(rte_eth_dev *dev, uint16_t mtu) {
    Adapter &ad = *adapter_of(dev);
    const uint32_t frame = uint32_t(mtu) + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
    const uint32_t max = ad.port->mrg() ? max_rx_pktlen_mrg : max_rx_pktlen_single;
    if (frame > max) {
        log(RTE_LOG_ERR, "%s: MTU %u: frames of %u bytes exceed %u%s", ad.name.c_str(), mtu, frame, max,
            ad.port->mrg() ? "" : " (mrg_rxbuf=1 allows jumbo frames)");
        return -EINVAL;
    }
    if (const auto &m = ad.port->device_info().mtu; m && mtu > *m) {
        log(RTE_LOG_ERR, "%s: MTU %u: the device takes at most %u (VIRTIO_NET_F_MTU)", ad.name.c_str(), mtu, *m);
        return -EINVAL;
    }
    ad.mtu = mtu;
    // Started queues take it at once (a plain store the next burst reads).
    for (uint16_t i = 0; i < dev->data->nb_rx_queues; ++i) {
        if (auto *q = dev->data->rx_queues[i]) {
            with_rxq(ad, q, [&](auto *rq) { rq->max_frame = max_frame_of(mtu); });
        }
    }
    return 0;
}

// VLAN stripping is done in software; ethdev has updated rxmode.offloads already.
int vlan_offload_set(rte_eth_dev *dev, int mask) {
    Adapter &ad = *adapter_of(dev);
    if (mask & RTE_ETH_VLAN_STRIP_MASK) {
        const bool on = dev->data->dev_conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_VLAN_STRIP;
        for (uint16_t i = 0; i < dev->data->nb_rx_queues; ++i) {
            if (auto *q = dev->data->rx_queues[i]) {
                with_rxq(ad, q, [&](auto *rq) { rq->vlan_strip = on; });
            }
        }
    }
    if ((mask & RTE_ETH_VLAN_FILTER_MASK) && !ad.cq &&
        (dev->data->dev_conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_VLAN_FILTER)) {
        log(RTE_LOG_ERR, "%s: VLAN filtering needs the control queue (cq=1)", ad.name.c_str());
        return -ENOTSUP;
    }
    return 0;
}

// ---- stats ----------------------------------------------------------------------------

int stats_get(rte_eth_dev *dev, rte_eth_stats *s) {
    for (uint16_t i = 0; i < dev->data->nb_rx_queues; ++i) {
        const auto *q = static_cast<const QueueBase *>(dev->data->rx_queues[i]);
        if (q == nullptr) {
            continue;
        }
        s->ipackets += q->stats.packets;
        s->ibytes += q->stats.bytes;
        s->ierrors += q->stats.errors;
        s->imissed += q->stats.dropped;
        if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
            s->q_ipackets[i] = q->stats.packets;
            s->q_ibytes[i] = q->stats.bytes;
            s->q_errors[i] = q->stats.errors;
        }
    }
    for (uint16_t i = 0; i < dev->data->nb_tx_queues; ++i) {
        const auto *q = static_cast<const QueueBase *>(dev->data->tx_queues[i]);
        if (q == nullptr) {
            continue;
        }
        s->opackets += q->stats.packets;
        s->obytes += q->stats.bytes;
        s->oerrors += q->stats.errors;
        if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
            s->q_opackets[i] = q->stats.packets;
            s->q_obytes[i] = q->stats.bytes;
        }
    }
    return 0;
}

int stats_reset(rte_eth_dev *dev) {
    for (uint16_t i = 0; i < dev->data->nb_rx_queues; ++i) {
        if (auto *q = static_cast<QueueBase *>(dev->data->rx_queues[i])) {
            q->stats = QueueStats{};
            q->offload_errors = 0;
            q->oversize = 0;
        }
    }
    for (uint16_t i = 0; i < dev->data->nb_tx_queues; ++i) {
        if (auto *q = static_cast<QueueBase *>(dev->data->tx_queues[i])) {
            q->stats = QueueStats{};
            q->offload_errors = 0;
        }
    }
    return 0;
}

constexpr const char *hist_names[hist_bins] = {"size_64_or_less", "size_65_to_127", "size_128_to_255",
                                               "size_256_to_511", "size_512_to_1023", "size_1024_to_1518",
                                               "size_1519_or_more"};
constexpr int per_queue_xstats = 4 + hist_bins + 4; // packets bytes errors dropped, hist, broken, ring_errors, stale lens, offload errors
constexpr int device_xstats = 5;

// Calls fn("rx"|"tx", index, queue base, broken, ring errors, stale lengths) for every
// set-up queue, rx first: what xstats and queue_reports() read.
template <class F>
void each_queue_health(rte_eth_dev *dev, F &&fn) {
    const Adapter &ad = *adapter_of(dev);
    for (uint16_t i = 0; i < dev->data->nb_rx_queues; ++i) {
        if (void *q = dev->data->rx_queues[i]) {
            with_rxq(ad, q, [&](auto *rq) {
                fn("rx", i, rq, rq->ring.broken(), rq->ring.error_count(), rq->ring.ignored_lens());
            });
        }
    }
    for (uint16_t i = 0; i < dev->data->nb_tx_queues; ++i) {
        if (void *q = dev->data->tx_queues[i]) {
            with_txq(ad, q, [&](auto *tq) {
                fn("tx", i, tq, tq->ring.broken(), tq->ring.error_count(), tq->ring.ignored_lens());
            });
        }
    }
}

// Walks every xstat in a fixed order: fn(name, value).
template <class F>
void each_xstat(rte_eth_dev *dev, F &&fn) {
    Adapter &ad = *adapter_of(dev);
    char name[RTE_ETH_XSTATS_NAME_SIZE];
    auto queue = [&](const char *dir, uint16_t i, const QueueBase *q, ring::Broken broken, uint64_t ring_errors,
                     uint64_t stale_lens) {
        const uint64_t v[4] = {q->stats.packets, q->stats.bytes, q->stats.errors, q->stats.dropped};
        const char *n[4] = {"packets", "bytes", "errors", "dropped"};
        for (int k = 0; k < 4; ++k) {
            snprintf(name, sizeof(name), "%s_q%u_%s", dir, i, n[k]);
            fn(name, v[k]);
        }
        for (int b = 0; b < hist_bins; ++b) {
            snprintf(name, sizeof(name), "%s_q%u_%s_packets", dir, i, hist_names[b]);
            fn(name, q->stats.hist[b]);
        }
        snprintf(name, sizeof(name), "%s_q%u_broken", dir, i);
        fn(name, uint64_t(broken));
        snprintf(name, sizeof(name), "%s_q%u_ring_errors", dir, i);
        fn(name, ring_errors);
        snprintf(name, sizeof(name), "%s_q%u_stale_len_completions", dir, i);
        fn(name, stale_lens);
        snprintf(name, sizeof(name), "%s_q%u_offload_errors", dir, i);
        fn(name, q->offload_errors);
        if (dir[0] == 'r') {
            snprintf(name, sizeof(name), "%s_q%u_oversize", dir, i);
            fn(name, q->oversize);
        }
    };
    each_queue_health(dev, queue);
    fn("cq_commands_ok", ad.cq ? ad.cq->mediator().commands_ok() : 0);
    fn("cq_commands_failed", ad.cq ? ad.cq->mediator().commands_failed() : 0);
    fn("backend_losses", ad.port->losses());
    fn("reconnects", ad.port->reconnects());
    fn("mem_table_updates", ad.port->memory_syncs());
}

int xstats_count(rte_eth_dev *dev) {
    int n = device_xstats;
    for (uint16_t i = 0; i < dev->data->nb_rx_queues; ++i) {
        n += dev->data->rx_queues[i] ? per_queue_xstats + 1 : 0; // + oversize
    }
    for (uint16_t i = 0; i < dev->data->nb_tx_queues; ++i) {
        n += dev->data->tx_queues[i] ? per_queue_xstats : 0;
    }
    return n;
}

int xstats_get_names(rte_eth_dev *dev, rte_eth_xstat_name *names, unsigned size) {
    const int n = xstats_count(dev);
    if (names == nullptr || size < unsigned(n)) {
        return n;
    }
    unsigned i = 0;
    each_xstat(dev, [&](const char *name, uint64_t) { snprintf(names[i++].name, RTE_ETH_XSTATS_NAME_SIZE, "%s", name); });
    return n;
}

int xstats_get(rte_eth_dev *dev, rte_eth_xstat *xs, unsigned n) {
    const int total = xstats_count(dev);
    if (xs == nullptr || n < unsigned(total)) {
        return total;
    }
    unsigned i = 0;
    each_xstat(dev, [&](const char *, uint64_t v) {
        xs[i].id = i;
        xs[i].value = v;
        ++i;
    });
    return total;
}

int xstats_reset(rte_eth_dev *dev) { return stats_reset(dev); }

const eth_dev_ops vpmd_ops = [] {
    eth_dev_ops o{};
    o.dev_configure = dev_configure;
    o.dev_start = dev_start;
    o.dev_stop = dev_stop;
    o.dev_close = dev_close;
    o.dev_reset = dev_reset;
    o.dev_infos_get = dev_infos_get;
    o.link_update = link_update;
    o.promiscuous_enable = promisc_enable;
    o.promiscuous_disable = promisc_disable;
    o.allmulticast_enable = allmulti_enable;
    o.allmulticast_disable = allmulti_disable;
    o.mac_addr_set = mac_addr_set;
    o.mac_addr_add = mac_addr_add;
    o.mac_addr_remove = mac_addr_remove;
    o.vlan_filter_set = vlan_filter_set;
    o.mtu_set = mtu_set;
    o.vlan_offload_set = vlan_offload_set;
    o.stats_get = stats_get;
    o.stats_reset = stats_reset;
    o.xstats_get = xstats_get;
    o.xstats_get_names = xstats_get_names;
    o.xstats_reset = xstats_reset;
    o.rx_queue_setup = rx_queue_setup;
    o.tx_queue_setup = tx_queue_setup;
    o.rx_queue_release = rx_queue_release;
    o.tx_queue_release = tx_queue_release;
    o.tx_done_cleanup = tx_done_cleanup;
    o.rxq_info_get = rxq_info_get;
    o.txq_info_get = txq_info_get;
    o.rx_burst_mode_get = rx_burst_mode_get;
    o.tx_burst_mode_get = tx_burst_mode_get;
    o.rx_queue_start = rx_queue_start;
    o.rx_queue_stop = rx_queue_stop;
    o.tx_queue_start = tx_queue_start;
    o.tx_queue_stop = tx_queue_stop;
    o.rx_queue_intr_enable = rx_queue_intr_enable;
    o.rx_queue_intr_disable = rx_queue_intr_disable;
    return o;
}();

} // namespace

void Adapter::report_broken() {
    each_queue_health(dev, [&](const char *dir, uint16_t i, const QueueBase *cq, ring::Broken broken, uint64_t errors,
                               uint64_t) {
        auto *q = const_cast<QueueBase *>(cq);
        if (broken == ring::Broken::none) {
            q->broken_reported = false; // restarted: a later break is news
        } else if (!q->broken_reported) {
            q->broken_reported = true;
            log(RTE_LOG_ERR, "%s: %s queue %u broken: %s (%lu invalid device writes); it stays stopped until the "
                "port is restarted", name.c_str(), dir, i, std::string(ring::to_string(broken)).c_str(), errors);
        }
    });
}

std::optional<std::vector<QueueReport>> queue_reports(uint16_t port_id) {
    if (!rte_eth_dev_is_valid_port(port_id) || rte_eth_devices[port_id].dev_ops != &vpmd_ops) {
        return std::nullopt;
    }
    std::vector<QueueReport> out;
    each_queue_health(&rte_eth_devices[port_id],
                      [&](const char *dir, uint16_t i, const QueueBase *q, ring::Broken broken, uint64_t errors,
                          uint64_t) {
                          out.push_back(QueueReport{dir[0] == 'r', i, broken, errors, q->stats.packets,
                                                    q->stats.bytes, q->stats.errors, q->stats.dropped});
                      });
    return out;
}

std::optional<PortReport> port_report(uint16_t port_id) {
    if (!rte_eth_dev_is_valid_port(port_id) || rte_eth_devices[port_id].dev_ops != &vpmd_ops) {
        return std::nullopt;
    }
    const Adapter &ad = *adapter_of(&rte_eth_devices[port_id]);
    return PortReport{ad.name,          ad.packed(),           ad.in_order(),       ad.port->features(),
                      ad.port->link_up(), ad.port->reconnects(), ad.port->losses()};
}

// ---- port creation (every bus's probe ends here) ---------------------------------------

uint64_t ring_features_of(const Devargs &a) {
    uint64_t f = 0;
    f |= a.packed_vq ? ring::feature::ring_packed : 0;
    f |= a.in_order ? ring::feature::in_order : 0;
    f |= a.event_idx ? ring::feature::event_idx : 0;
    f |= a.indirect ? ring::feature::indirect_desc : 0;
    return f;
}

rte_eth_dev *allocate_ethdev(const std::string &name, size_t private_size, int numa_node) {
    // ethdev reads the driver's name through dev->device: a port with no bus device gets
    // one of its own, kept in its private data (freed with it when the port is released).
    static rte_driver driver = [] {
        rte_driver d{};
        d.name = "net_vpmd";
        return d;
    }();
    struct Private {
        alignas(RTE_CACHE_LINE_SIZE) rte_device device;
        char name[RTE_ETH_NAME_MAX_LEN];
    };
    const size_t head = RTE_ALIGN_CEIL(private_size, RTE_CACHE_LINE_SIZE);
    rte_eth_dev *dev = rte_eth_dev_allocate(name.c_str());
    if (dev == nullptr) {
        return nullptr;
    }
    auto *mem = static_cast<char *>(rte_zmalloc_socket(name.c_str(), head + sizeof(Private), RTE_CACHE_LINE_SIZE,
                                                       numa_node));
    if (mem == nullptr) {
        rte_eth_dev_release_port(dev);
        return nullptr;
    }
    auto *priv = new (mem + head) Private{};
    snprintf(priv->name, sizeof(priv->name), "%s", name.c_str());
    priv->device.name = priv->name;
    priv->device.driver = &driver;
    priv->device.numa_node = numa_node;
    dev->data->dev_private = mem;
    dev->device = &priv->device;
    dev->data->numa_node = numa_node;
    return dev;
}

int create_port(PortRequest req, const EthdevAllocator &alloc) {
    const std::string name = req.name;
    const SimdChoice simd = choose_simd(req.args.vectorized);
    if (!simd.error.empty()) {
        log(RTE_LOG_ERR, "%s: %s", name.c_str(), simd.error.c_str());
        return -ENOTSUP;
    }
    auto ad = std::make_unique<Adapter>();
    ad->name = name;
    ad->args = req.args;
    ad->simd = simd.simd;
    PortOptions po;
    po.ring_features = ring_features_of(req.args);
    po.mrg_rxbuf = req.args.mrg_rxbuf;
    po.queues = req.args.queues;
    po.device_arrives_later = req.device_arrives_later;
    po.attach_timeout = std::chrono::milliseconds(req.args.connect_timeout_ms);
    po.attach_hint = std::move(req.attach_hint);
    ad->port = std::make_unique<PortControl>(name, std::move(req.transport), po, *ad);
    if (int rc = ad->port->open(); rc != 0) {
        return rc; // the port's destructor closes the transport
    }

    rte_eth_dev *dev = alloc(sizeof(Adapter *));
    if (dev == nullptr) {
        log(RTE_LOG_ERR, "%s: cannot allocate the ethdev", name.c_str());
        return -ENOMEM;
    }
    ad->dev = dev;
    dev->data->mac_addrs = static_cast<rte_ether_addr *>(
        rte_zmalloc_socket(name.c_str(), sizeof(rte_ether_addr) * max_mac_addrs, 0, req.numa_node));
    if (dev->data->mac_addrs == nullptr) {
        rte_eth_dev_release_port(dev);
        return -ENOMEM;
    }
    if (ad->args.have_mac) {
        std::memcpy(dev->data->mac_addrs[0].addr_bytes, ad->args.mac.data(), 6);
    } else if (const auto &mac = ad->port->device_info().mac) {
        std::memcpy(dev->data->mac_addrs[0].addr_bytes, mac->data(), 6);
    } else {
        rte_eth_random_addr(dev->data->mac_addrs[0].addr_bytes);
    }
    if (ad->args.cq) {
        int err = 0;
        Adapter *raw = ad.get();
        ad->cq = mediated::ControlQueue::create(
            64, ad->port->ring_features() | ring::feature::version_1, ad->args.queues,
            [raw](uint16_t pairs) { return apply_queue_pairs(*raw, pairs); },
            ad->dma(transport::QueueRole::control), &err);
        if (!ad->cq) {
            log(RTE_LOG_ERR, "%s: control queue: %s", name.c_str(), strerror(-err));
            rte_eth_dev_release_port(dev);
            return err;
        }
        ad->cq->mediator().set_relay([raw](uint8_t cls, uint8_t cmd, std::span<const uint8_t> data) {
            return raw->port->device_command(cls, cmd, data);
        });
        const auto &m = dev->data->mac_addrs[0].addr_bytes;
        (void)ad->cq->send(net::ctrl::mac, net::ctrl::mac_addr_set, std::span<const uint8_t>(m, 6));
    }
    refresh_filter(*ad);
    dev->dev_ops = &vpmd_ops;
    dev->data->dev_flags |= RTE_ETH_DEV_INTR_LSC;
    dev->data->mtu = RTE_ETHER_MTU;
    select_bursts(*ad);
    Adapter *raw = ad.release();
    *static_cast<Adapter **>(dev->data->dev_private) = raw;
    raw->port->start_watcher();
    rte_eth_dev_probing_finish(dev);
    log(RTE_LOG_INFO, "%s: %s %s, %s ring%s%s, %s bursts, %u queue pair(s), data queues on DMA device %s (%s), "
        "features 0x%lx, device %s",
        name.c_str(), std::string(raw->port->transport().kind()).c_str(), raw->port->transport().where().c_str(),
        raw->packed() ? "packed" : "split", raw->in_order() ? ", in-order" : "", raw->port->mrg() ? ", mrg_rxbuf" : "",
        std::string(ring::simd_name(raw->simd)).c_str(), raw->args.queues,
        std::string(raw->dma(transport::QueueRole::rx).name()).c_str(),
        std::string(dma::to_string(raw->dma(transport::QueueRole::rx).addr_mode())).c_str(),
        (unsigned long)raw->port->features(), raw->port->attached() ? "attached" : "awaited");
    return dev->data->port_id;
}

} // namespace vpmd::pmd
