// Ports of a vpmd-fwd run: configure/start/stop/close any ethdev port, the embedded
// backend (net_vhost in process + net_vpmd hot-plugged on it), and the mbuf pool.
#pragma once

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <cstdint>
#include <string>
#include <vector>

#include "apps/fwd/options.hpp"
#include "vpmd/expected.hpp"

namespace vpmd::fwd {

using Status = Expected<void, std::string>;

enum class PortRole {
    forward, // part of the forwarding topology
    echo,    // the embedded vhost side: returns on itself whatever it receives
};

struct Port {
    uint16_t id = 0;
    std::string name;
    std::string driver;
    PortRole role = PortRole::forward;
    rte_ether_addr mac{};
    uint16_t rxq = 1;
    uint16_t txq = 1;
    uint16_t rxd = 0; // as configured (after the driver's adjustment)
    uint16_t txd = 0;
    bool started = false;
    // csum mode, where the driver offers them (forwarding ports only): the driver reports
    // the L4 checksum state of what it receives, the device fills in what is sent.
    bool rx_csum = false;
    bool tx_csum = false;
};

// mbufs the pool needs for these ports' rings, lcores' caches and bursts in flight.
[[nodiscard]] uint32_t pool_size_for(const std::vector<Port> &ports, const FwdOptions &o, unsigned lcores);
// Data room of every mbuf: the default 2 KiB unless a --txpkts segment needs more.
[[nodiscard]] uint16_t mbuf_data_room(const FwdOptions &o);

// Configures rings, offloads (MULTI_SEGS when the port has it, SCATTER for --max-pkt-len
// beyond one mbuf), promiscuous mode; then starts the port.
Status configure_and_start(Port &p, const FwdOptions &o, rte_mempool *pool);
// Stops and closes (idempotent); errors are logged, not fatal: shutdown goes on.
void stop_and_close(Port &p);
// Receives and frees whatever the port still holds in its rx queues; returns the count.
uint64_t drain_rx(const Port &p);

Port describe_port(uint16_t id, PortRole role, const FwdOptions &o);

// The embedded backend: a net_vhost port (server, iface=/tmp/vpmd-fwd-<pid>.sock) and a
// net_vpmd port hot-plugged on it with rte_dev_probe once the vhost port has started.
class Embedded {
public:
    Embedded();
    ~Embedded(); // removes what is left, and the socket file
    Embedded(const Embedded &) = delete;
    Embedded &operator=(const Embedded &) = delete;

    // Creates, configures and starts the vhost port.
    Expected<Port, std::string> start_vhost(const FwdOptions &o, rte_mempool *pool);
    // Hot-plugs net_vpmd on the socket (after start_vhost), configures and starts it.
    Expected<Port, std::string> attach_vpmd(const FwdOptions &o, rte_mempool *pool);
    // Detaches both devices (ports must be closed) and removes the socket file.
    void remove();
    [[nodiscard]] const std::string &socket() const { return sock_; }

private:
    std::string sock_;
    std::string vhost_name_;
    std::string vpmd_name_;
    bool vhost_created_ = false;
    bool vpmd_created_ = false;
};

} // namespace vpmd::fwd
