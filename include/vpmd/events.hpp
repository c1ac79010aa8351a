// Port events for an appliance's control plane: link up/down, a queue the driver marked
// broken (the device wrote something invalid), a device removed. DPDK's callbacks only queue
// the event; the handler runs as a job of the runtime's ControlPlane (oneTBB), never on a
// dataplane lcore or inside the driver's thread, so it may block, log and reconfigure.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "vpmd/port.hpp"
#include "vpmd/runtime/control_plane.hpp"

namespace vpmd {

struct PortEvent {
    enum class Kind : uint8_t { link_up, link_down, queue_broken, removed };
    Kind kind = Kind::link_up;
    uint16_t port = 0;
    bool rx = true;      // queue_broken: which direction
    uint16_t queue = 0;  // queue_broken: which queue
    std::string reason{};  // queue_broken: the driver's reason
};
const char *to_string(PortEvent::Kind kind);

class EventMonitor {
public:
    // Called for each event, one at a time; it must not call watch() or destroy the monitor.
    using Handler = std::function<void(const PortEvent &)>;

    // Delivers events every `period` through a job on `cp` (which must outlive this).
    EventMonitor(runtime::ControlPlane &cp, Handler handler,
                 std::chrono::milliseconds period = std::chrono::milliseconds(100));
    ~EventMonitor(); // unregisters every callback
    EventMonitor(const EventMonitor &) = delete;
    EventMonitor &operator=(const EventMonitor &) = delete;

    // Starts watching a port: link changes (from LSC events where the driver raises them,
    // else read each period) and removal on any port; broken queues on net_vpmd ports (each
    // queue's break is reported once). Only changes after this call are events.
    Result<void> watch(uint16_t port_id);
    // Delivers what has happened since the last call, on the calling thread. The periodic
    // job calls this; a caller with no running ControlPlane may call it itself.
    void deliver();

private:
    struct Impl;
    std::shared_ptr<Impl> impl_; // shared with the periodic job
};

} // namespace vpmd
