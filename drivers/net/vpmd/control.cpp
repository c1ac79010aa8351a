// net_vpmd's ethdev side of the control core (DataPath): the data-path gate, draining and
// filling rings, link events on the ethdev; and the receive-filter refresh. Runs on the
// application's control thread or the watcher, never on a dataplane lcore.
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_ethdev.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "drivers/net/vpmd/adapter.hpp"
#include "drivers/net/vpmd/rxtx.hpp"

namespace vpmd::pmd {

using namespace std::chrono_literals;

namespace {

// Makes every CPU's earlier stores (a burst's busy flag) visible to us: the other half
// of Gate. Expedited when the kernel allows it; the global command works everywhere.
void membarrier_all() {
    static const bool expedited =
        syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    if (expedited && syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0) {
        return;
    }
    if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) != 0) {
        // No membarrier at all: a full fence here plus a grace period longer than any burst.
        std::atomic_thread_fence(std::memory_order_seq_cst);
        std::this_thread::sleep_for(10ms);
    }
}

} // namespace

void Adapter::each_queue(const std::function<void(QueueSlot &)> &fn) {
    each_base(*this, [&](QueueBase &q) { fn(q.slot); });
}

namespace {

void wait_idle(QueueBase &q) {
    while (q.gate.busy.load(std::memory_order_acquire) != 0) {
        std::this_thread::yield(); // a burst is bounded: this ends within one burst
    }
}

// A mergeable packet half received when its queue stops: dropped.
template <class Q>
void drop_partial(Q *q) {
    if (q->mrg_head != nullptr) {
        rte_pktmbuf_free(q->mrg_head);
        ++q->stats.dropped;
        q->mrg_head = q->mrg_tail = nullptr;
        q->mrg_left = 0;
    }
}

// Every posted buffer of one queue back to its pool; the ring restarts at index 0.
void drain_rx(Adapter &ad, void *rxq) {
    with_rxq(ad, rxq, [](auto *q) {
        q->ring.detach_unused([](rte_mbuf *m) { rte_pktmbuf_free(m); });
        if (q->intr_enabled) {
            (void)q->ring.enable_interrupts();
        } else {
            q->ring.disable_interrupts();
        }
        drop_partial(q);
    });
}
void drain_tx(Adapter &ad, void *txq) {
    with_txq(ad, txq, [](auto *q) {
        q->ring.detach_unused([q](rte_mbuf *m) {
            ++q->stats.dropped; // posted but never confirmed sent
            rte_pktmbuf_free(m);
        });
        q->ring.disable_interrupts();
    });
}

// Posts rx buffers in the queue's own address mode (its DMA device's).
void fill_rx(Adapter &ad, void *rxq) {
    with_rxq(ad, rxq, [](auto *q) {
        using Ring = std::remove_reference_t<decltype(q->ring)>;
        if (q->mode == dma::AddrMode::iova) {
            rx_refill<Ring, dma::AddrMode::iova>(q, true);
        } else {
            rx_refill<Ring, dma::AddrMode::va>(q, true);
        }
    });
}

void *queue_of(Adapter &ad, const QueueSlot &s) {
    const rte_eth_dev_data *d = ad.dev->data;
    return s.role == transport::QueueRole::rx ? d->rx_queues[s.queue_id] : d->tx_queues[s.queue_id];
}

} // namespace

void Adapter::pause() {
    each_base(*this, [](QueueBase &q) { q.gate.paused.store(1, std::memory_order_relaxed); });
    membarrier_all();
    each_base(*this, wait_idle);
}

void Adapter::resume() {
    each_base(*this, [](QueueBase &q) {
        if (!q.slot.stopped) {
            q.gate.paused.store(0, std::memory_order_release);
        }
    });
}

void Adapter::drain() {
    rte_eth_dev_data *d = dev->data;
    for (uint16_t i = 0; i < d->nb_rx_queues; ++i) {
        if (d->rx_queues[i] != nullptr) {
            drain_rx(*this, d->rx_queues[i]);
        }
    }
    for (uint16_t i = 0; i < d->nb_tx_queues; ++i) {
        if (d->tx_queues[i] != nullptr) {
            drain_tx(*this, d->tx_queues[i]);
        }
    }
}

void Adapter::pause_queue(QueueSlot &s) {
    auto &q = *static_cast<QueueBase *>(queue_of(*this, s));
    q.gate.paused.store(1, std::memory_order_relaxed);
    membarrier_all();
    wait_idle(q);
}

void Adapter::resume_queue(QueueSlot &s) {
    static_cast<QueueBase *>(queue_of(*this, s))->gate.paused.store(0, std::memory_order_release);
}

void Adapter::drain_queue(QueueSlot &s) {
    s.role == transport::QueueRole::rx ? drain_rx(*this, queue_of(*this, s)) : drain_tx(*this, queue_of(*this, s));
}

void Adapter::reclaim_queue(QueueSlot &s) {
    if (s.role == transport::QueueRole::tx) {
        with_txq(*this, queue_of(*this, s), [](auto *q) { (void)tx_reclaim(q, q->size); });
        return;
    }
    with_rxq(*this, queue_of(*this, s), [](auto *q) {
        const auto drop = [q](uint16_t, rte_mbuf *m, uint32_t) {
            rte_pktmbuf_free(m); // received before the stop: nobody will collect it
            ++q->stats.dropped;
        };
        while (q->ring.collect_each(step_max, drop) != 0) {
        }
        drop_partial(q);
    });
}

void Adapter::fill_queue(QueueSlot &s) {
    if (s.role == transport::QueueRole::rx) {
        fill_rx(*this, queue_of(*this, s));
    }
}

void Adapter::link_changed(bool up) {
    rte_eth_link link{};
    link.link_speed = up ? args.speed : RTE_ETH_SPEED_NUM_NONE;
    link.link_duplex = RTE_ETH_LINK_FULL_DUPLEX;
    link.link_autoneg = RTE_ETH_LINK_FIXED;
    link.link_status = up ? RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN;
    rte_eth_linkstatus_set(dev, &link);
    if (dev->data->dev_conf.intr_conf.lsc) {
        rte_eth_dev_callback_process(dev, RTE_ETH_EVENT_INTR_LSC, nullptr);
    }
}

void Adapter::fill() { fill_rx_queues(*this); }

int apply_queue_pairs(Adapter &ad, uint16_t pairs) { return ad.port->set_queue_pairs(pairs); }

void refresh_filter(Adapter &ad) {
    if (!ad.cq) {
        return;
    }
    const mediated::RxFilter f = ad.cq->mediator().filter();
    HotFilter h;
    h.active = !f.promisc;
    h.allmulti = f.allmulti;
    h.nobcast = f.nobcast;
    std::memcpy(h.mac, ad.dev->data->mac_addrs[0].addr_bytes, 6);
    h.n_uc = uint16_t(std::min<size_t>(f.unicast.size(), std::size(h.uc)));
    for (uint16_t i = 0; i < h.n_uc; ++i) {
        std::memcpy(h.uc[i], f.unicast[i].data(), 6);
    }
    h.n_mc = uint16_t(std::min<size_t>(f.multicast.size(), std::size(h.mc)));
    for (uint16_t i = 0; i < h.n_mc; ++i) {
        std::memcpy(h.mc[i], f.multicast[i].data(), 6);
    }
    h.vlan_active = f.vlans.any();
    for (size_t v = 0; v < 4096; ++v) {
        if (f.vlans.test(v)) {
            h.vlans[v >> 6] |= 1ULL << (v & 63);
        }
    }
    // The rx path reads the filter without a lock: swap it in with the queues paused.
    ad.pause();
    ad.filter = h;
    ad.resume();
}

// Posts rx buffers in each running queue's own address mode (its DMA device's).
void fill_rx_queues(Adapter &ad) {
    rte_eth_dev_data *d = ad.dev->data;
    for (uint16_t i = 0; i < d->nb_rx_queues; ++i) {
        if (d->rx_queues[i] != nullptr && !static_cast<QueueBase *>(d->rx_queues[i])->slot.stopped) {
            fill_rx(ad, d->rx_queues[i]);
        }
    }
}

} // namespace vpmd::pmd
