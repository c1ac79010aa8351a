// EventMonitor (include/vpmd/events.hpp): ethdev callbacks run on whatever thread the driver
// raises them (net_vpmd: its watcher), so they only push onto a lock-free queue; broken
// queues have no ethdev event and are found by reading each watched port's queue reports.
// Both reach the handler from deliver(), on the control plane.
#include "vpmd/events.hpp"

#include <rte_ethdev.h>

#include <tbb/concurrent_queue.h>

#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>
#include <vector>

#include "drivers/net/vpmd/inspect.hpp"

namespace vpmd {

const char *to_string(PortEvent::Kind kind) {
    switch (kind) {
    case PortEvent::Kind::link_up: return "link up";
    case PortEvent::Kind::link_down: return "link down";
    case PortEvent::Kind::queue_broken: return "queue broken";
    case PortEvent::Kind::removed: return "removed";
    }
    return "?";
}

namespace {
constexpr rte_eth_event_type watched_events[] = {RTE_ETH_EVENT_INTR_LSC, RTE_ETH_EVENT_INTR_RMV};
}

struct EventMonitor::Impl {
    Handler handler;
    tbb::concurrent_queue<PortEvent> raised; // from ethdev callbacks, any thread
    std::mutex mu;                           // one deliver() at a time; guards what follows
    std::vector<uint16_t> ports;
    std::map<uint16_t, bool> link_told; // the link state last delivered, per port
    std::set<std::tuple<uint16_t, bool, uint16_t>> broken_reported; // (port, rx, queue)
    bool closed = false;

    static int on_event(uint16_t port, rte_eth_event_type type, void *arg, void *) {
        auto *self = static_cast<Impl *>(arg);
        PortEvent e;
        e.port = port;
        if (type == RTE_ETH_EVENT_INTR_RMV) {
            e.kind = PortEvent::Kind::removed;
        } else {
            rte_eth_link l{};
            (void)rte_eth_link_get_nowait(port, &l);
            e.kind = l.link_status == RTE_ETH_LINK_UP ? PortEvent::Kind::link_up : PortEvent::Kind::link_down;
        }
        self->raised.push(std::move(e));
        return 0;
    }

    void deliver() {
        std::lock_guard lock(mu);
        if (closed) {
            return;
        }
        PortEvent e;
        while (raised.try_pop(e)) {
            if (e.kind == PortEvent::Kind::removed || tell_link(e.port, e.kind == PortEvent::Kind::link_up)) {
                handler(e);
            }
        }
        for (uint16_t port : ports) {
            // Ports that raise no LSC event (or were configured without) are read here.
            rte_eth_link l{};
            if (rte_eth_link_get_nowait(port, &l) == 0 && tell_link(port, l.link_status == RTE_ETH_LINK_UP)) {
                handler(PortEvent{l.link_status == RTE_ETH_LINK_UP ? PortEvent::Kind::link_up
                                                                   : PortEvent::Kind::link_down,
                                  port, true, 0, {}});
            }
            for (const pmd::QueueReport &r : pmd::queue_reports(port).value_or(std::vector<pmd::QueueReport>{})) {
                const auto key = std::make_tuple(port, r.rx, r.queue);
                if (r.broken == ring::Broken::none) {
                    broken_reported.erase(key); // set up again: a later break is news
                } else if (broken_reported.insert(key).second) {
                    handler(PortEvent{PortEvent::Kind::queue_broken, port, r.rx, r.queue,
                                      std::string(ring::to_string(r.broken))});
                }
            }
        }
    }

    // Whether a link state is news for the handler (a flap seen by the callback and a state
    // read here are one event each, never twice).
    bool tell_link(uint16_t port, bool up) {
        auto [it, first] = link_told.try_emplace(port, up);
        if (!first && it->second == up) {
            return false;
        }
        it->second = up;
        return true;
    }

    void unregister(uint16_t port) {
        for (rte_eth_event_type t : watched_events) {
            // -EAGAIN: the callback is running right now; it is short, so wait it out.
            while (rte_eth_dev_callback_unregister(port, t, on_event, this) == -EAGAIN) {
                std::this_thread::yield();
            }
        }
    }
};

EventMonitor::EventMonitor(runtime::ControlPlane &cp, Handler handler, std::chrono::milliseconds period)
    : impl_(std::make_shared<Impl>()) {
    impl_->handler = std::move(handler);
    // The job keeps the state alive: the control plane has no way to drop a job.
    cp.every(period, [impl = impl_] { impl->deliver(); });
}

EventMonitor::~EventMonitor() {
    std::lock_guard lock(impl_->mu);
    for (uint16_t port : impl_->ports) {
        impl_->unregister(port);
    }
    impl_->ports.clear();
    impl_->closed = true;
}

Result<void> EventMonitor::watch(uint16_t port_id) {
    if (!rte_eth_dev_is_valid_port(port_id)) {
        return unexpected(Error{-ENODEV, "no port " + std::to_string(port_id)});
    }
    std::lock_guard lock(impl_->mu);
    for (uint16_t p : impl_->ports) {
        if (p == port_id) {
            return {};
        }
    }
    for (rte_eth_event_type t : watched_events) {
        if (int rc = rte_eth_dev_callback_register(port_id, t, Impl::on_event, impl_.get()); rc != 0) {
            impl_->unregister(port_id);
            return unexpected(Error{rc, "port " + std::to_string(port_id) + ": cannot register for events"});
        }
    }
    impl_->ports.push_back(port_id);
    rte_eth_link l{};
    if (rte_eth_link_get_nowait(port_id, &l) == 0) {
        impl_->link_told[port_id] = l.link_status == RTE_ETH_LINK_UP; // only changes are events
    }
    return {};
}

void EventMonitor::deliver() { impl_->deliver(); }

} // namespace vpmd
