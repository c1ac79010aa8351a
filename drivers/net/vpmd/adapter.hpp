// net_vpmd per-port state (the ethdev's private data): the transport-neutral control core,
// the mediated control queue, the rx filter, and the data-path side of the control core
// (pause, drain, fill, link events on the ethdev). Only ethdev.cpp and control.cpp touch it.
#pragma once

#include <ethdev_driver.h>

#include <memory>
#include <string>

#include "drivers/net/vpmd/devargs.hpp"
#include "drivers/net/vpmd/log.hpp"
#include "drivers/net/vpmd/port.hpp"
#include "drivers/net/vpmd/queues.hpp"
#include "drivers/transport/mediated/control_queue.hpp"

namespace vpmd::pmd {

struct Adapter final : DataPath {
    Devargs args;
    rte_eth_dev *dev = nullptr;
    std::string name;

    std::unique_ptr<PortControl> port;
    std::unique_ptr<mediated::ControlQueue> cq;
    uint16_t mtu = RTE_ETHER_MTU;
    HotFilter filter;
    rte_intr_handle *own_intr = nullptr; // rx interrupts: the handle we made (vdev ports)
    ring::Simd simd = ring::Simd::scalar; // the bursts' instruction set (vectorized=, at probe)

    bool packed() const { return port->ring_features() & ring::feature::ring_packed; }
    bool in_order() const { return port->ring_features() & ring::feature::in_order; }
    dma::DmaDevice &dma(transport::QueueRole role) { return port->transport().dma(role); }

    // DataPath (control.cpp)
    void each_queue(const std::function<void(QueueSlot &)> &fn) override;
    void pause() override;
    void resume() override;
    void drain() override;
    void fill() override;
    void pause_queue(QueueSlot &q) override;
    void resume_queue(QueueSlot &q) override;
    void drain_queue(QueueSlot &q) override;
    void fill_queue(QueueSlot &q) override;
    void reclaim_queue(QueueSlot &q) override;
    void link_changed(bool up) override;
    void report_broken() override; // (ethdev.cpp, beside the other queue-health readers)
};

inline Adapter *adapter_of(rte_eth_dev *dev) { return *static_cast<Adapter **>(dev->data->dev_private); }

// Calls fn(QueueBase &) for every queue set up on the port.
template <class F>
void each_base(Adapter &ad, F &&fn) {
    rte_eth_dev_data *d = ad.dev->data;
    for (uint16_t i = 0; i < d->nb_rx_queues; ++i) {
        if (d->rx_queues[i] != nullptr) {
            fn(*static_cast<QueueBase *>(d->rx_queues[i]));
        }
    }
    for (uint16_t i = 0; i < d->nb_tx_queues; ++i) {
        if (d->tx_queues[i] != nullptr) {
            fn(*static_cast<QueueBase *>(d->tx_queues[i]));
        }
    }
}

// Calls fn(Q<Ring>*) with the queue's real type (layout x IN_ORDER policy). Control path.
template <template <class> class Q, class F>
void with_queue(const Adapter &ad, void *q, F &&fn) {
    if (ad.packed()) {
        ad.in_order() ? fn(static_cast<Q<PackedRingInOrder> *>(q)) : fn(static_cast<Q<PackedRing> *>(q));
    } else {
        ad.in_order() ? fn(static_cast<Q<SplitRingInOrder> *>(q)) : fn(static_cast<Q<SplitRing> *>(q));
    }
}
template <class F>
void with_rxq(const Adapter &ad, void *q, F &&fn) {
    with_queue<RxQueue>(ad, q, std::forward<F>(fn));
}
template <class F>
void with_txq(const Adapter &ad, void *q, F &&fn) {
    with_queue<TxQueue>(ad, q, std::forward<F>(fn));
}
// Calls fn(tag) with a value of the port's ring type, to build queues of it.
template <class F>
auto with_ring_type(const Adapter &ad, F &&fn) {
    if (ad.packed()) {
        return ad.in_order() ? fn(PackedRingInOrder{}) : fn(PackedRing{});
    }
    return ad.in_order() ? fn(SplitRingInOrder{}) : fn(SplitRing{});
}

// control.cpp
int apply_queue_pairs(Adapter &ad, uint16_t pairs); // MQ hook
void refresh_filter(Adapter &ad);   // mediator state -> the rx path's HotFilter
void fill_rx_queues(Adapter &ad);
// rxtx.cpp
void select_bursts(Adapter &ad);
// The instruction set for vectorized=v here (CPU flags, EAL's max SIMD bitwidth); `error`
// says why not when v insists on one that cannot run.
struct SimdChoice {
    ring::Simd simd;
    std::string error;
};
SimdChoice choose_simd(Devargs::Vectorized v);
std::string burst_mode(const Adapter &ad, bool rx);
int tx_done_cleanup(void *txq, uint32_t free_cnt); // eth_dev_ops, any layout

} // namespace vpmd::pmd
