// net_vpmd's control core, transport-neutral and EAL-free: negotiation, bringing queues up
// and down through the transport seam, queue pairs, device reset, and the watcher (device
// loss, return, memory changes). It knows queues only as QueueSlots and acts on the data
// path through DataPath, so unit tests drive it with a fake transport and no EAL.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "drivers/transport/transport.hpp"

namespace vpmd::pmd {

// The control path's view of one data queue. The burst functions read `notifier`; the
// control path writes it only while the queue is paused.
struct QueueSlot {
    transport::QueueRole role = transport::QueueRole::rx;
    uint16_t queue_id = 0; // ethdev queue (pair) number
    uint16_t index = 0;    // virtqueue index: rx 2q, tx 2q + 1
    uint32_t size = 0;
    uint64_t desc_addr = 0; // device addresses of the ring's three areas
    uint64_t driver_area_addr = 0;
    uint64_t device_area_addr = 0;
    transport::Notifier notifier{};
    bool set_up = false; // the device has it (setup_queue done, not stopped since)
    // Stopped by the application (rte_eth_dev_*_queue_stop, or a deferred start) while the
    // port runs: not at the device, no buffers posted, its bursts backed off.
    bool stopped = false;
};

// What the control core needs of the data path (the ethdev layer implements it).
class DataPath {
public:
    virtual ~DataPath() = default;
    virtual void each_queue(const std::function<void(QueueSlot &)> &fn) = 0;
    // Returns once no burst touches any queue, and bursts back off until resume() (which
    // leaves stopped queues backed off).
    virtual void pause() = 0;
    virtual void resume() = 0;
    // Every posted buffer back to its pool; rings restart at index 0.
    virtual void drain() = 0;
    // Rx rings (of queues not stopped) get fresh buffers.
    virtual void fill() = 0;
    // The same for one queue (per-queue stop and start).
    virtual void pause_queue(QueueSlot &q) = 0;
    virtual void resume_queue(QueueSlot &q) = 0;
    virtual void drain_queue(QueueSlot &q) = 0;
    virtual void fill_queue(QueueSlot &q) = 0;
    // Frees what the device completed on one queue (rx: dropped, counted), leaving posted
    // buffers in place: the device still holds them.
    virtual void reclaim_queue(QueueSlot &q) = 0;
    // Called on each change only.
    virtual void link_changed(bool up) = 0;
    // Called by the watcher every period while started: say once, off the data path, which
    // queues the device broke since the last call.
    virtual void report_broken() {}
};

struct PortOptions {
    uint64_t ring_features = 0; // packed / in_order / event_idx / indirect asked for
    bool mrg_rxbuf = true;
    uint16_t queues = 1;        // queue pairs asked for
    // The device arrives later by itself (vhost-user server mode): probe does not attach.
    bool device_arrives_later = false;
    std::chrono::milliseconds attach_timeout{0};
    std::string attach_hint; // appended to the probe's error line when attach fails
};

class PortControl {
public:
    // How often the watcher looks for events, memory changes and a returning device.
    static constexpr auto watch_period = std::chrono::milliseconds(100);

    PortControl(std::string name, std::unique_ptr<transport::Transport> t, PortOptions o, DataPath &dp);
    ~PortControl();
    PortControl(const PortControl &) = delete;
    PortControl &operator=(const PortControl &) = delete;

    // Probe: attaches and negotiates, unless the device arrives later. Negative errno.
    int open();
    // Data path filled, queues set up at the device, DRIVER_OK, resumed, link up (when
    // the device is there; else the watcher does it when it comes).
    int start();
    // Paused, queues stopped at the device, drained, link down.
    void stop();
    // MQ: queues below `pairs` enabled at the device, the rest disabled.
    int set_queue_pairs(uint16_t pairs);
    // One queue of a running port stopped at the device, its bursts backed off; the others
    // keep running. QueueStop::reset: every buffer back in its pool. QueueStop::disable:
    // completed buffers freed, posted ones left with the device until start or port stop.
    // -ENOTSUP, said in the log, when the transport cannot stop a queue alone.
    int stop_queue(QueueSlot &q);
    // A stopped queue filled and back at the device (set up again from index 0, or enabled
    // again where it stopped), its bursts let through. Also how a deferred queue starts.
    int start_queue(QueueSlot &q);
    // Device reset and a fresh negotiation (port stopped). A device that refuses is
    // detached and the watcher attaches again.
    int reset();
    // Offload features (net::feature CSUM, GUEST_CSUM, HOST/GUEST_TSO4/6) the application's
    // configuration needs, negotiated from now on: at once (a device reset, port stopped)
    // when they differ from what was negotiated, else at the next attach. -ENOTSUP, with
    // the missing feature named, when the device does not offer one.
    int set_offloads(uint64_t bits);

    // Relays a command the mediated control queue accepted to the device (see
    // Transport::device_command). Negative errno when the device refuses it.
    int device_command(uint8_t cls, uint8_t cmd, std::span<const uint8_t> data);

    // One round of the watcher; the thread calls it in a loop, tests call it directly.
    void watch_once();
    void start_watcher();
    void stop_watcher();

    [[nodiscard]] transport::Transport &transport() { return *t_; }
    [[nodiscard]] std::recursive_mutex &lock() { return ctl_; }
    [[nodiscard]] const std::string &name() const { return name_; }

    [[nodiscard]] uint64_t ring_features() const { return ring_features_; }
    [[nodiscard]] uint64_t features() const { return features_; }
    // What the device offered at the last negotiation (0 before the first).
    [[nodiscard]] uint64_t offered() const { return offered_; }
    [[nodiscard]] bool mrg() const { return mrg_; }
    [[nodiscard]] bool attached() const { return t_->attached(); }
    [[nodiscard]] bool started() const { return started_.load(); }
    [[nodiscard]] bool link_up() const { return link_up_.load(); }
    [[nodiscard]] uint32_t device_pairs() const { return device_pairs_; } // 0: not known yet
    [[nodiscard]] uint16_t active_pairs() const { return active_pairs_; }
    [[nodiscard]] const transport::DeviceInfo &device_info() const { return info_; }
    [[nodiscard]] uint64_t losses() const { return losses_.load(); }
    [[nodiscard]] uint64_t reconnects() const { return reconnects_.load(); }
    [[nodiscard]] uint64_t memory_syncs() const { return memory_syncs_.load(); }

private:
    int negotiate(bool first);
    int bring_up();  // memory, queues, enables, DRIVER_OK
    int set_up_queue(QueueSlot &q); // setup_queue, notifier, enable
    void set_link(bool up);
    void on_lost();
    void on_found();
    int failed(const char *what, const transport::Error &e);

    std::string name_;
    std::unique_ptr<transport::Transport> t_;
    PortOptions opts_;
    DataPath &dp_;

    // Serialises the transport and queue set-up between API calls and the watcher. Never
    // held while waiting for a control-queue command (its MQ hook takes it).
    std::recursive_mutex ctl_;

    uint64_t ring_features_ = 0; // what every queue is laid out with
    uint64_t features_ = 0;      // negotiated (0 while detached)
    uint64_t offered_ = 0;
    uint64_t offloads_ = 0;      // offload features the configuration needs
    bool mrg_ = false;
    uint32_t device_pairs_ = 0;
    uint16_t active_pairs_ = 1;
    transport::DeviceInfo info_{};
    std::atomic<bool> started_{false};
    std::atomic<bool> link_up_{false};

    std::thread watcher_;
    std::atomic<bool> watcher_stop_{false};
    std::atomic<uint64_t> losses_{0};
    std::atomic<uint64_t> reconnects_{0};
    std::atomic<uint64_t> memory_syncs_{0};
};

} // namespace vpmd::pmd
