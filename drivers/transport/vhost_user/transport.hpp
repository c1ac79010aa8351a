// vhost-user as one implementation of the transport seam: a VhostUserDevice (the socket
// protocol), the memory-table DMA device for data queues, local memory for the mediated
// control queue, and the EAL memory watch that says when the table must be sent again.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "drivers/transport/transport.hpp"

namespace vpmd::vhost_user {

struct TransportOptions {
    std::string path;
    bool server = false;
    int socket_id = -1; // NUMA node of ring memory (-1: any)
};

// Server mode listens on the path before returning, so a backend may connect at once.
[[nodiscard]] transport::Result<std::unique_ptr<transport::Transport>> open_transport(const TransportOptions &opts);

} // namespace vpmd::vhost_user
