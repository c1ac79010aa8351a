// net_vpmd per-port state (the ethdev's private data) and the control-path operations on
// it: negotiation with the backend, bringing queues up and down, pausing the data path,
// the link/reconnect watcher. Only ethdev.cpp and control.cpp touch it.
#pragma once

#include <ethdev_driver.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "dataplane/dma/eal_mem_table.hpp"
#include "dataplane/dma/vhost_user_dma.hpp"
#include "drivers/net/vpmd/devargs.hpp"
#include "drivers/net/vpmd/queues.hpp"
#include "drivers/transport/mediated/control_queue.hpp"
#include "drivers/transport/vhost_user/device.hpp"

namespace vpmd::pmd {

int log_type();
void log(uint32_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct Adapter {
    Devargs args;
    rte_eth_dev *dev = nullptr;
    std::string name;

    std::unique_ptr<vhost_user::VhostUserDevice> vu;
    dma::VhostUserDma dma;
    std::unique_ptr<dma::MemEventWatch> mem_watch;
    std::unique_ptr<mediated::ControlQueue> cq;

    // Serialises the transport and queue set-up between API calls and the watcher. Never
    // held while waiting for a control-queue command (its MQ hook takes it).
    std::recursive_mutex ctl;

    uint64_t ring_features = 0; // ring-relevant bits every queue is laid out with
    uint64_t features = 0;      // negotiated with the backend (0 while not connected)
    uint32_t backend_pairs = 0; // what the backend supports (0: unknown yet)
    uint16_t active_pairs = 1;  // set through the control queue
    bool mrg = false;
    uint16_t mtu = RTE_ETHER_MTU;
    std::atomic<bool> started{false};
    std::atomic<bool> link_up{false};
    HotFilter filter;

    std::thread watcher;
    std::atomic<bool> watcher_stop{false};
    std::atomic<uint64_t> reconnects{0};
    std::atomic<uint64_t> mem_table_updates{0};
    std::atomic<uint64_t> backend_losses{0};

    bool packed() const { return ring_features & ring::feature::ring_packed; }
    bool connected() const { return vu && vu->connected(); }
};

inline Adapter *adapter_of(rte_eth_dev *dev) { return *static_cast<Adapter **>(dev->data->dev_private); }

// Calls fn(RxQueue<Ring>*) with the queue's real type.
template <class F>
void with_rxq(Adapter &ad, void *q, F &&fn) {
    if (ad.packed()) {
        fn(static_cast<RxQueue<PackedRing> *>(q));
    } else {
        fn(static_cast<RxQueue<SplitRing> *>(q));
    }
}
template <class F>
void with_txq(Adapter &ad, void *q, F &&fn) {
    if (ad.packed()) {
        fn(static_cast<TxQueue<PackedRing> *>(q));
    } else {
        fn(static_cast<TxQueue<SplitRing> *>(q));
    }
}

// control.cpp
int negotiate(Adapter &ad, bool first);
int backend_start(Adapter &ad);     // mem table, vrings, enables, DRIVER_OK; link up
void backend_stop(Adapter &ad);     // GET_VRING_BASE on every vring we set up
void pause_queues(Adapter &ad);     // the data path stops touching every queue
void resume_queues(Adapter &ad);
void drain_queues(Adapter &ad);     // every posted mbuf back to its pool; rings restart
void fill_rx_queues(Adapter &ad);
int apply_queue_pairs(Adapter &ad, uint16_t pairs); // MQ hook
void refresh_filter(Adapter &ad);   // mediator state -> the rx path's HotFilter
void set_link(Adapter &ad, bool up);
void start_watcher(Adapter &ad);
void stop_watcher(Adapter &ad);
void select_bursts(Adapter &ad);
int tx_done_cleanup(void *txq, uint32_t free_cnt); // eth_dev_ops, any layout

} // namespace vpmd::pmd
