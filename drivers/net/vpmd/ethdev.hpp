// Creating a net_vpmd port from a transport, whatever the bus: each bus's probe (vdev:
// vhost-user) parses its devargs, builds the transport and ends here; so can an
// application or a test that brings a transport of its own.
#pragma once

#include <ethdev_driver.h>

#include <functional>
#include <memory>
#include <string>

#include "drivers/net/vpmd/devargs.hpp"
#include "drivers/transport/transport.hpp"

namespace vpmd::pmd {

struct PortRequest {
    std::string name;
    Devargs args; // the ring and port choices; transport keys were used to build `transport`
    std::unique_ptr<transport::Transport> transport;
    bool device_arrives_later = false; // do not attach at probe (vhost-user server mode)
    std::string attach_hint;           // appended to the error line when attaching fails
    int numa_node = SOCKET_ID_ANY;
};

// Allocates the ethdev with room for `private_size` bytes of private data.
using EthdevAllocator = std::function<rte_eth_dev *(size_t private_size)>;

// Attaches and negotiates (unless the device arrives later), allocates the ethdev, sets up
// the mediated control queue and starts the watcher. Returns the port id, or a negative
// errno after one log line saying why; nothing is left behind then.
int create_port(PortRequest req, const EthdevAllocator &alloc);

// An ethdev with no bus device behind it, for ports built from an application's transport.
rte_eth_dev *allocate_ethdev(const std::string &name, size_t private_size, int numa_node);

} // namespace vpmd::pmd
