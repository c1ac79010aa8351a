// PortControl: the control path of net_vpmd over the transport seam. Runs on the
// application's control thread or the watcher, never on a dataplane lcore.
#include "drivers/net/vpmd/port.hpp"

#include <rte_log.h>

#include "dataplane/net/offload.hpp"
#include "dataplane/net/virtio_net.hpp"
#include "dataplane/ring/layout.hpp"
#include "drivers/net/vpmd/log.hpp"

namespace vpmd::pmd {

using transport::QueueRole;

PortControl::PortControl(std::string name, std::unique_ptr<transport::Transport> t, PortOptions o, DataPath &dp)
    : name_(std::move(name)), t_(std::move(t)), opts_(o), dp_(dp), ring_features_(o.ring_features),
      mrg_(o.mrg_rxbuf) {}

PortControl::~PortControl() {
    stop_watcher();
    t_->close();
}

int PortControl::failed(const char *what, const transport::Error &e) {
    log(RTE_LOG_ERR, "%s: %s: %s", name_.c_str(), what, e.what.c_str());
    return e.code;
}

int PortControl::open() {
    if (opts_.device_arrives_later) {
        return 0;
    }
    if (auto st = t_->attach(opts_.attach_timeout); !st) {
        log(RTE_LOG_ERR, "%s: cannot reach the %s device at %s: %s%s", name_.c_str(),
            std::string(t_->kind()).c_str(), t_->where().c_str(), st.error().what.c_str(), opts_.attach_hint.c_str());
        return st.error().code;
    }
    return negotiate(true);
}

int PortControl::negotiate(bool first) {
    uint64_t wanted = ring::feature::version_1 | ring_features_;
    if (opts_.mrg_rxbuf) {
        wanted |= net::feature::mrg_rxbuf;
    }
    if (opts_.queues > 1) {
        wanted |= net::feature::mq;
    }
    wanted |= offloads_;
    auto got = t_->negotiate(wanted);
    if (!got) {
        return failed("feature negotiation failed", got.error());
    }
    const uint64_t f = *got;
    offered_ = t_->offered();
    if (const uint64_t missing = offloads_ & ~f; missing != 0) {
        log(RTE_LOG_ERR, "%s: device does not offer %s, which the configured offloads need", name_.c_str(),
            net::offload_feature_names(missing).c_str());
        return -ENOTSUP;
    }
    if (!(f & ring::feature::version_1)) {
        log(RTE_LOG_ERR, "%s: device does not offer VERSION_1 (legacy virtio is not supported)", name_.c_str());
        return -ENOTSUP;
    }
    // Ring layout bits are fixed when queues are laid out: on the first attach we may
    // still drop indirect tables the device lacks; afterwards the bits must match.
    if (first && (ring_features_ & ~f & ring::feature::indirect_desc)) {
        ring_features_ &= ~ring::feature::indirect_desc;
    }
    if (ring_features_ & ~f) {
        log(RTE_LOG_ERR, "%s: device does not offer ring features 0x%lx asked for (packed_vq/in_order/event_idx/"
            "indirect)", name_.c_str(), (unsigned long)(ring_features_ & ~f));
        return -ENOTSUP;
    }
    const bool mrg = f & net::feature::mrg_rxbuf;
    if (first) {
        mrg_ = mrg;
    } else if (mrg != mrg_) {
        log(RTE_LOG_ERR, "%s: device changed MRG_RXBUF across a reconnect", name_.c_str());
        return -ENOTSUP;
    }
    auto info = t_->device_info();
    if (!info) {
        return failed("reading the device's configuration failed", info.error());
    }
    info_ = *info;
    device_pairs_ = info_.max_queue_pairs;
    if (device_pairs_ < opts_.queues) {
        log(RTE_LOG_WARNING, "%s: device has %u queue pairs, queues=%u asked; using %u", name_.c_str(),
            device_pairs_, opts_.queues, device_pairs_);
    }
    features_ = f;
    return 0;
}

int PortControl::bring_up() {
    if (auto st = t_->sync_memory(); !st) {
        return failed("making memory reachable failed", st.error());
    }
    int rc = 0;
    // A stopped queue the transport can only reset stays off the device until it starts;
    // one it can disable is set up disabled (and unfilled), as it would be after its stop.
    const bool stopped_at_device = t_->queue_stop() == transport::QueueStop::disable;
    dp_.each_queue([&](QueueSlot &q) {
        if (rc == 0 && (!q.stopped || stopped_at_device)) {
            rc = set_up_queue(q);
        }
    });
    if (rc != 0) {
        return rc;
    }
    if (auto st = t_->driver_ok(); !st) {
        return failed("DRIVER_OK refused", st.error());
    }
    return 0;
}

int PortControl::set_up_queue(QueueSlot &q) {
    transport::QueueSetup s;
    s.role = q.role;
    s.index = q.index;
    s.size = uint16_t(q.size);
    s.desc_addr = q.desc_addr;
    s.driver_area_addr = q.driver_area_addr;
    s.device_area_addr = q.device_area_addr;
    s.packed = ring_features_ & ring::feature::ring_packed; // rings restart at 0 (wrap set) after every drain
    log(RTE_LOG_DEBUG, "%s: vq %u size %u desc 0x%lx driver 0x%lx device 0x%lx", name_.c_str(), q.index, s.size,
        (unsigned long)s.desc_addr, (unsigned long)s.driver_area_addr, (unsigned long)s.device_area_addr);
    const std::string vq = "vq " + std::to_string(q.index);
    if (auto st = t_->setup_queue(s); !st) {
        return failed((vq + " setup").c_str(), st.error());
    }
    auto n = t_->notifier(q.index);
    if (!n) {
        return failed((vq + " notifier").c_str(), n.error());
    }
    q.notifier = *n;
    q.set_up = true;
    if (auto st = t_->enable_queue(q.index, q.queue_id < active_pairs_ && !q.stopped);
        !st && st.error().code != -ENOTSUP) {
        return failed((vq + " enable").c_str(), st.error());
    }
    return 0;
}

int PortControl::start() {
    std::lock_guard lock(ctl_);
    dp_.fill();
    if (t_->attached()) {
        if (int rc = bring_up(); rc != 0) {
            dp_.drain();
            return rc;
        }
    } // else the watcher brings the queues up when the device arrives
    started_ = true;
    dp_.resume();
    set_link(t_->attached());
    return 0;
}

void PortControl::stop() {
    std::lock_guard lock(ctl_);
    started_ = false;
    dp_.pause();
    dp_.each_queue([&](QueueSlot &q) {
        if (q.set_up && t_->attached()) {
            // The port stops either way (its mbufs come back below); a device that does not
            // answer is worth one line, and a timeout has dropped the connection, so the
            // other queues do not wait for it again.
            if (auto st = t_->stop_queue(q.index); !st) {
                log(RTE_LOG_WARNING, "%s: stopping vq %u: %s (stopped anyway)", name_.c_str(), q.index,
                    st.error().what.c_str());
            }
        }
        q.set_up = false;
    });
    dp_.drain(); // every posted mbuf goes back to its pool
    set_link(false);
}

int PortControl::set_queue_pairs(uint16_t pairs) {
    std::lock_guard lock(ctl_);
    if (device_pairs_ != 0 && pairs > device_pairs_) {
        return -EINVAL;
    }
    active_pairs_ = pairs;
    if (!t_->attached()) {
        return 0;
    }
    int rc = 0;
    dp_.each_queue([&](QueueSlot &q) {
        if (!q.set_up || rc != 0) {
            return;
        }
        if (auto st = t_->enable_queue(q.index, q.queue_id < pairs && !q.stopped); !st && st.error().code != -ENOTSUP) {
            rc = failed(("vq " + std::to_string(q.index) + " enable").c_str(), st.error());
        }
    });
    return rc;
}

int PortControl::stop_queue(QueueSlot &q) {
    std::lock_guard lock(ctl_);
    if (q.stopped) {
        return 0;
    }
    const bool at_device = q.set_up && t_->attached();
    const transport::QueueStop mode = t_->queue_stop();
    const std::string vq = "vq " + std::to_string(q.index);
    if (at_device && mode == transport::QueueStop::none) {
        log(RTE_LOG_ERR, "%s: the %s device at %s cannot stop %s queue %u alone (virtio-pci needs "
            "VIRTIO_F_RING_RESET); stop the port instead", name_.c_str(), std::string(t_->kind()).c_str(),
            t_->where().c_str(), std::string(transport::to_string(q.role)).c_str(), q.queue_id);
        return -ENOTSUP;
    }
    dp_.pause_queue(q);
    if (at_device && mode == transport::QueueStop::disable) {
        // The device leaves the ring alone from its answer on; what it completed is freed
        // here, what it still holds stays posted until the queue starts or the port stops.
        if (auto st = t_->enable_queue(q.index, false); !st) {
            dp_.resume_queue(q);
            return failed((vq + " disable").c_str(), st.error());
        }
        q.stopped = true;
        dp_.reclaim_queue(q);
        return 0;
    }
    if (at_device) {
        if (auto st = t_->stop_queue(q.index); !st) {
            log(RTE_LOG_WARNING, "%s: stopping %s: %s (stopped anyway)", name_.c_str(), vq.c_str(),
                st.error().what.c_str());
        }
    }
    q.set_up = false;
    q.stopped = true;
    dp_.drain_queue(q); // its mbufs back to their pool; the ring restarts at index 0
    return 0;
}

int PortControl::start_queue(QueueSlot &q) {
    std::lock_guard lock(ctl_);
    if (!q.stopped) {
        return 0;
    }
    q.stopped = false;
    if (!started_.load() || !t_->attached()) {
        return 0; // the port's start, or the device's return, brings it up with the others
    }
    dp_.fill_queue(q);
    if (q.set_up) { // disabled at the device (QueueStop::disable): it resumes where it stopped
        if (auto st = t_->enable_queue(q.index, q.queue_id < active_pairs_); !st && st.error().code != -ENOTSUP) {
            q.stopped = true;
            return failed(("vq " + std::to_string(q.index) + " enable").c_str(), st.error());
        }
    } else if (int rc = set_up_queue(q); rc != 0) {
        if (q.set_up) {
            (void)t_->stop_queue(q.index);
            q.set_up = false;
        }
        dp_.drain_queue(q);
        q.stopped = true;
        return rc;
    }
    dp_.resume_queue(q);
    return 0;
}

int PortControl::reset() {
    std::lock_guard lock(ctl_);
    if (!t_->attached()) {
        return 0;
    }
    if (auto st = t_->reset(); !st) {
        log(RTE_LOG_WARNING, "%s: device reset failed (%s): attaching again", name_.c_str(), st.error().what.c_str());
        t_->detach();
        return 0;
    }
    if (int rc = negotiate(false); rc != 0) {
        t_->detach();
        return rc;
    }
    return 0;
}

int PortControl::set_offloads(uint64_t bits) {
    std::lock_guard lock(ctl_);
    if (t_->attached() && offered_ != 0 && (bits & ~offered_) != 0) {
        log(RTE_LOG_ERR, "%s: device does not offer %s, which the configured offloads need", name_.c_str(),
            net::offload_feature_names(bits & ~offered_).c_str());
        return -ENOTSUP;
    }
    const uint64_t before = offloads_;
    offloads_ = bits;
    if (!t_->attached() || (features_ & net::feature::offload_mask) == bits) {
        return 0;
    }
    if (int rc = reset(); rc != 0) {
        offloads_ = before;
        return rc;
    }
    return 0;
}

int PortControl::device_command(uint8_t cls, uint8_t cmd, std::span<const uint8_t> data) {
    std::lock_guard lock(ctl_);
    if (auto st = t_->device_command(cls, cmd, data); !st) {
        return failed("the device refused a control command", st.error());
    }
    return 0;
}

void PortControl::set_link(bool up) {
    if (link_up_.exchange(up) == up) {
        return;
    }
    log(RTE_LOG_INFO, "%s: link %s", name_.c_str(), up ? "up" : "down");
    dp_.link_changed(up);
}

// The device went away: link down, every posted mbuf back to its pool, rings restart so a
// returning device starts from a clean ring (what was in flight is dropped).
void PortControl::on_lost() {
    std::lock_guard lock(ctl_);
    // The watcher saw the loss without the lock; an API call (reset, close) may have
    // answered on or dropped the connection since. Only a device still gone counts.
    if (!t_->attached() || !t_->gone()) {
        return;
    }
    losses_.fetch_add(1);
    log(RTE_LOG_WARNING, "%s: the %s device at %s went away", name_.c_str(), std::string(t_->kind()).c_str(),
        t_->where().c_str());
    set_link(false);
    dp_.pause();
    dp_.drain();
    dp_.each_queue([](QueueSlot &q) { q.set_up = false; });
    t_->detach();
    features_ = 0;
}

// A device is (back): negotiate, and if the port runs, set the queues up and resume.
void PortControl::on_found() {
    std::lock_guard lock(ctl_);
    const bool first = device_pairs_ == 0;
    if (negotiate(first) != 0) {
        t_->detach();
        return;
    }
    if (!first) {
        reconnects_.fetch_add(1);
    }
    if (!started_.load()) {
        return;
    }
    dp_.pause();
    dp_.drain(); // normally empty already; restarts rings at index 0
    dp_.fill();
    if (bring_up() != 0) {
        t_->detach();
        return;
    }
    dp_.resume();
    set_link(true);
}

void PortControl::watch_once() {
    if (t_->attached()) {
        switch (t_->wait_event(watch_period)) {
        case transport::Event::lost: on_lost(); break;
        case transport::Event::config_changed: {
            std::lock_guard lock(ctl_);
            if (auto info = t_->device_info(); info) {
                info_ = *info;
                set_link(started_.load() && info_.link_up.value_or(true));
            }
            break;
        }
        case transport::Event::none: break;
        }
        if (started_.load()) {
            dp_.report_broken();
        }
        if (t_->memory_stale() && started_.load()) {
            std::lock_guard lock(ctl_);
            if (t_->attached() && t_->sync_memory()) {
                memory_syncs_.fetch_add(1);
            }
        }
        return;
    }
    const auto until = std::chrono::steady_clock::now() + watch_period;
    if (t_->may_come_back()) {
        std::unique_lock lock(ctl_);
        if (t_->attach(watch_period)) {
            lock.unlock();
            on_found();
            return;
        }
    }
    std::this_thread::sleep_until(until); // attach failed at once (nobody listening): no busy loop
}

void PortControl::start_watcher() {
    watcher_stop_ = false;
    watcher_ = std::thread([this] {
        while (!watcher_stop_.load()) {
            watch_once();
        }
    });
}

void PortControl::stop_watcher() {
    watcher_stop_ = true;
    if (watcher_.joinable()) {
        watcher_.join();
    }
}

} // namespace vpmd::pmd
