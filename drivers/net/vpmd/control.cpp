// net_vpmd control path: negotiation, backend bring-up/tear-down, the data-path gate,
// receive-filter refresh, and the watcher thread (link state, backend loss, reconnect,
// memory hotplug). Runs on the application's control thread or the watcher, never on a
// dataplane lcore.
#include <linux/membarrier.h>
#include <poll.h>
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

// How often the watcher looks at the socket, EAL memory and (server/reconnect) accepts.
constexpr auto watch_period = 100ms;

const char *describe(const vhost_user::Error &e, std::string &buf) {
    buf = vhost_user::describe(e);
    return buf.c_str();
}

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

template <class F>
void each_queue(Adapter &ad, F &&fn) {
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

vhost_user::QueueSetup queue_setup(const QueueBase &q, uint64_t desc, uint64_t drv, uint64_t devarea, bool packed) {
    vhost_user::QueueSetup s;
    s.index = q.vring;
    s.size = uint16_t(q.size);
    s.desc_addr = desc;
    s.driver_area_addr = drv;
    s.device_area_addr = devarea;
    s.avail_base = 0;
    s.wrap_counter = true;
    s.packed = packed;
    return s;
}

int send_mem_table(Adapter &ad) {
    auto table = dma::collect_mem_table();
    if (!table) {
        log(RTE_LOG_ERR, "%s: cannot build the vhost-user memory table (%s)", ad.name.c_str(),
            strerror(-table.error()));
        return table.error();
    }
    if (table->skipped_runs != 0) {
        log(RTE_LOG_WARNING, "%s: %u EAL memory runs (%lu bytes) have no fd; buffers there are unreachable",
            ad.name.c_str(), table->skipped_runs, (unsigned long)table->skipped_bytes);
    }
    std::string why;
    if (auto st = ad.vu->set_mem_table(table->regions); !st) {
        log(RTE_LOG_ERR, "%s: %s", ad.name.c_str(), describe(st.error(), why));
        return vhost_user::to_errno(st.error());
    }
    return 0;
}

} // namespace

int negotiate(Adapter &ad, bool first) {
    std::string why;
    uint64_t wanted = ring::feature::version_1 | ad.ring_features;
    if (ad.args.mrg_rxbuf) {
        wanted |= net::feature::mrg_rxbuf;
    }
    if (ad.args.queues > 1) {
        wanted |= net::feature::mq;
    }
    auto got = ad.vu->negotiate(wanted);
    if (!got) {
        log(RTE_LOG_ERR, "%s: feature negotiation failed: %s", ad.name.c_str(), describe(got.error(), why));
        return vhost_user::to_errno(got.error());
    }
    const uint64_t f = *got;
    if (!(f & ring::feature::version_1)) {
        log(RTE_LOG_ERR, "%s: backend does not offer VERSION_1 (legacy virtio is not supported)", ad.name.c_str());
        return -ENOTSUP;
    }
    // Ring layout bits are fixed when queues are laid out: on the first connection we may
    // still drop indirect tables the backend lacks; afterwards the bits must match.
    const uint64_t missing = ad.ring_features & ~f;
    if (missing & ring::feature::indirect_desc && first) {
        ad.ring_features &= ~ring::feature::indirect_desc;
    }
    if (ad.ring_features & ~f) {
        log(RTE_LOG_ERR, "%s: backend does not offer ring features 0x%lx asked for (packed_vq/in_order/event_idx/"
            "indirect)", ad.name.c_str(), (unsigned long)(ad.ring_features & ~f));
        return -ENOTSUP;
    }
    const bool mrg = f & net::feature::mrg_rxbuf;
    if (first) {
        ad.mrg = mrg;
    } else if (mrg != ad.mrg) {
        log(RTE_LOG_ERR, "%s: backend changed MRG_RXBUF across a reconnect", ad.name.c_str());
        return -ENOTSUP;
    }
    auto pairs = ad.vu->queue_pairs();
    if (!pairs) {
        log(RTE_LOG_ERR, "%s: %s", ad.name.c_str(), describe(pairs.error(), why));
        return vhost_user::to_errno(pairs.error());
    }
    ad.backend_pairs = *pairs;
    if (ad.backend_pairs < ad.args.queues) {
        log(RTE_LOG_WARNING, "%s: backend has %u queue pairs, queues=%u asked; using %u", ad.name.c_str(),
            ad.backend_pairs, ad.args.queues, ad.backend_pairs);
    }
    ad.features = f;
    return 0;
}

int backend_start(Adapter &ad) {
    std::lock_guard lock(ad.ctl);
    if (!ad.connected()) {
        return 0; // the watcher brings the queues up when a backend arrives
    }
    if (int rc = send_mem_table(ad); rc != 0) {
        return rc;
    }
    std::string why;
    int rc = 0;
    const bool packed = ad.packed();
    each_queue(ad, [&](QueueBase &q) {
        if (rc != 0) {
            return;
        }
        vhost_user::QueueSetup s;
        const bool is_rx = (q.vring & 1) == 0;
        auto fill = [&](auto *typed) {
            s = queue_setup(q, typed->ring.desc_addr(), typed->ring.driver_area_addr(),
                            typed->ring.device_area_addr(), packed);
        };
        if (is_rx) {
            with_rxq(ad, &q, fill);
        } else {
            with_txq(ad, &q, fill);
        }
        log(RTE_LOG_DEBUG, "%s: vring %u size %u desc 0x%lx driver 0x%lx device 0x%lx", ad.name.c_str(), q.vring,
            s.size, (unsigned long)s.desc_addr, (unsigned long)s.driver_area_addr, (unsigned long)s.device_area_addr);
        if (auto st = ad.vu->setup_queue(s); !st) {
            log(RTE_LOG_ERR, "%s: vring %u: %s", ad.name.c_str(), q.vring, describe(st.error(), why));
            rc = vhost_user::to_errno(st.error());
            return;
        }
        q.kick_fd = ad.vu->kick_fd(q.vring);
        q.set_up_at_backend = true;
        const bool on = q.queue_id < ad.active_pairs;
        if (auto st = ad.vu->enable_queue(q.vring, on); !st && st.error().code != vhost_user::Errc::not_supported) {
            log(RTE_LOG_ERR, "%s: vring %u enable: %s", ad.name.c_str(), q.vring, describe(st.error(), why));
            rc = vhost_user::to_errno(st.error());
        }
    });
    if (rc != 0) {
        return rc;
    }
    if (auto st = ad.vu->driver_ok(); !st) {
        log(RTE_LOG_ERR, "%s: %s", ad.name.c_str(), describe(st.error(), why));
        return vhost_user::to_errno(st.error());
    }
    return 0;
}

void backend_stop(Adapter &ad) {
    std::lock_guard lock(ad.ctl);
    each_queue(ad, [&](QueueBase &q) {
        if (q.set_up_at_backend && ad.connected()) {
            (void)ad.vu->stop_queue(q.vring); // errors: the backend is gone, nothing to stop
        }
        q.set_up_at_backend = false;
    });
}

void pause_queues(Adapter &ad) {
    each_queue(ad, [](QueueBase &q) { q.gate.paused.store(1, std::memory_order_relaxed); });
    membarrier_all();
    each_queue(ad, [](QueueBase &q) {
        while (q.gate.busy.load(std::memory_order_acquire) != 0) {
            std::this_thread::yield(); // a burst is bounded: this ends within one burst
        }
    });
}

void resume_queues(Adapter &ad) {
    each_queue(ad, [](QueueBase &q) { q.gate.paused.store(0, std::memory_order_release); });
}

void drain_queues(Adapter &ad) {
    rte_eth_dev_data *d = ad.dev->data;
    for (uint16_t i = 0; i < d->nb_rx_queues; ++i) {
        if (d->rx_queues[i] == nullptr) {
            continue;
        }
        with_rxq(ad, d->rx_queues[i], [](auto *q) {
            q->ring.detach_unused([](rte_mbuf *m) { rte_pktmbuf_free(m); });
            if (q->mrg_head != nullptr) {
                rte_pktmbuf_free(q->mrg_head);
                ++q->stats.dropped;
                q->mrg_head = q->mrg_tail = nullptr;
                q->mrg_left = 0;
            }
        });
    }
    for (uint16_t i = 0; i < d->nb_tx_queues; ++i) {
        if (d->tx_queues[i] == nullptr) {
            continue;
        }
        with_txq(ad, d->tx_queues[i], [](auto *q) {
            q->ring.detach_unused([q](rte_mbuf *m) {
                ++q->stats.dropped; // posted but never confirmed sent
                rte_pktmbuf_free(m);
            });
        });
    }
}

void set_link(Adapter &ad, bool up) {
    if (ad.link_up.exchange(up) == up) {
        return;
    }
    rte_eth_link link{};
    link.link_speed = up ? ad.args.speed : RTE_ETH_SPEED_NUM_NONE;
    link.link_duplex = RTE_ETH_LINK_FULL_DUPLEX;
    link.link_autoneg = RTE_ETH_LINK_FIXED;
    link.link_status = up ? RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN;
    rte_eth_linkstatus_set(ad.dev, &link);
    log(RTE_LOG_INFO, "%s: link %s", ad.name.c_str(), up ? "up" : "down");
    if (ad.dev->data->dev_conf.intr_conf.lsc) {
        rte_eth_dev_callback_process(ad.dev, RTE_ETH_EVENT_INTR_LSC, nullptr);
    }
}

int apply_queue_pairs(Adapter &ad, uint16_t pairs) {
    std::lock_guard lock(ad.ctl);
    if (ad.backend_pairs != 0 && pairs > ad.backend_pairs) {
        return -EINVAL;
    }
    ad.active_pairs = pairs;
    if (!ad.connected()) {
        return 0;
    }
    int rc = 0;
    each_queue(ad, [&](QueueBase &q) {
        if (!q.set_up_at_backend || rc != 0) {
            return;
        }
        auto st = ad.vu->enable_queue(q.vring, q.queue_id < pairs);
        if (!st && st.error().code != vhost_user::Errc::not_supported) {
            rc = vhost_user::to_errno(st.error());
        }
    });
    return rc;
}

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
    pause_queues(ad);
    ad.filter = h;
    resume_queues(ad);
}

void fill_rx_queues(Adapter &ad) {
    rte_eth_dev_data *d = ad.dev->data;
    for (uint16_t i = 0; i < d->nb_rx_queues; ++i) {
        if (d->rx_queues[i] != nullptr) {
            with_rxq(ad, d->rx_queues[i], [&](auto *q) {
                using Ring = std::remove_reference_t<decltype(q->ring)>;
                rx_refill<Ring, dma::AddrMode::va>(q, true);
            });
        }
    }
}

namespace {

// The backend went away: link down, every posted mbuf back to its pool, rings restart so
// a new backend starts from a clean ring (in-flight packets of the dead one are dropped).
void on_backend_lost(Adapter &ad) {
    std::lock_guard lock(ad.ctl);
    // The watcher saw the socket without the lock; an API call (dev_reset, close) may have
    // dropped or answered on it since. Only a socket still there and still hung up counts.
    if (!ad.connected() || !ad.vu->peer_gone(std::chrono::milliseconds(0))) {
        return;
    }
    ad.backend_losses.fetch_add(1);
    log(RTE_LOG_WARNING, "%s: vhost-user backend at %s went away", ad.name.c_str(), ad.args.path.c_str());
    set_link(ad, false);
    pause_queues(ad);
    drain_queues(ad);
    each_queue(ad, [](QueueBase &q) { q.set_up_at_backend = false; });
    ad.vu->disconnect();
    ad.features = 0;
}

// A backend is (back): negotiate, and if the port runs, set the queues up and resume.
void on_backend_found(Adapter &ad) {
    std::lock_guard lock(ad.ctl);
    const bool first = ad.backend_pairs == 0;
    if (negotiate(ad, first) != 0) {
        ad.vu->disconnect();
        return;
    }
    if (!first) {
        ad.reconnects.fetch_add(1);
    }
    if (!ad.started.load()) {
        return;
    }
    pause_queues(ad);
    drain_queues(ad); // normally empty already; restarts rings at index 0
    fill_rx_queues(ad);
    if (backend_start(ad) != 0) {
        ad.vu->disconnect();
        return;
    }
    resume_queues(ad);
    set_link(ad, true);
}

void watch(Adapter *ad) {
    while (!ad->watcher_stop.load()) {
        if (ad->connected()) {
            if (ad->vu->peer_gone(watch_period)) {
                on_backend_lost(*ad);
            }
            if (ad->mem_watch && ad->mem_watch->consume() && ad->started.load()) {
                std::lock_guard lock(ad->ctl);
                if (ad->connected() && send_mem_table(*ad) == 0) {
                    ad->mem_table_updates.fetch_add(1);
                }
            }
            continue;
        }
        // Not connected: server mode accepts the next backend; client mode retries.
        {
            std::unique_lock lock(ad->ctl);
            if (auto st = ad->vu->connect(watch_period); st) {
                lock.unlock();
                on_backend_found(*ad);
                continue;
            }
        }
        if (!ad->args.server) {
            std::this_thread::sleep_for(watch_period);
        }
    }
}

} // namespace

void start_watcher(Adapter &ad) {
    ad.watcher_stop = false;
    ad.watcher = std::thread(watch, &ad);
}

void stop_watcher(Adapter &ad) {
    ad.watcher_stop = true;
    if (ad.watcher.joinable()) {
        ad.watcher.join();
    }
}

} // namespace vpmd::pmd
