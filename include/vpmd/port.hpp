// The embedding API's port: open a net_vpmd port (vhost-user or virtio-pci, by devargs or a
// typed config) or take any DPDK port, set up its queues, start and stop it, read its stats,
// link and queue health. Control path only; the data path is plain rte_eth_rx/tx_burst on
// id(), and any rte_eth_* call on id() stays allowed. Errors are values, never exceptions.
// Needs EAL initialised (rte_eal_init) before the first call. Every field has a default, so
// designated initializers may name only what they set.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "vpmd/expected.hpp"

struct rte_mempool;

namespace vpmd {

struct Error {
    int code = 0;     // negative errno
    std::string what{}; // one line: what failed and why
};
template <class T>
using Result = Expected<T, Error>;

// A vhost-user backend's socket: we connect to it, or listen on it with `server`.
struct VhostUserConfig {
    std::string path{};
    bool server = false;
    uint32_t connect_timeout_s = 0; // client: keep retrying this long
};
// A virtio-net PCI function bound to vfio-pci, by address ("0000:00:04.0").
struct PciConfig {
    std::string address{};
    bool own_dma = false; // data queues in an IOMMU domain of their own (devargs dma=own)
};

struct PortConfig {
    std::variant<VhostUserConfig, PciConfig> transport{};
    std::string name{};            // vhost-user: the vdev's name, "net_vpmd..." (empty: one is chosen)
    uint16_t queue_pairs = 1;
    uint16_t queue_size = 0;     // 0: the driver's default
    std::optional<bool> packed{};  // unset: the driver's default
    std::optional<bool> in_order{};
    std::optional<bool> mrg_rxbuf{};
    std::string mac{};             // "02:00:00:00:00:01"; empty: the device's
    std::string extra{};           // further devargs, "key=value,..."
};

// The devargs line a config stands for ("net_vpmd3,path=/run/a.sock,queues=2", or
// "0000:00:04.0,dma=own"): what --vdev / -a would take.
std::string to_devargs(const PortConfig &config);

struct QueueConfig {
    uint16_t rx_queues = 1;
    uint16_t tx_queues = 1;
    uint16_t rx_ring = 0;        // 0: the driver's default
    uint16_t tx_ring = 0;
    rte_mempool *pool = nullptr; // rx buffers (required when rx_queues > 0)
    int socket = -1;             // NUMA node of the rings; -1: any
    uint64_t rx_offloads = 0;    // RTE_ETH_RX_OFFLOAD_*
    uint64_t tx_offloads = 0;    // RTE_ETH_TX_OFFLOAD_*
    bool promiscuous = false;
    bool link_events = true;     // ask for LSC events where the driver raises them (EventMonitor)
};

struct PortStats {
    uint64_t rx_packets = 0, rx_bytes = 0, rx_missed = 0, rx_errors = 0, rx_nombuf = 0;
    uint64_t tx_packets = 0, tx_bytes = 0, tx_errors = 0;
};
struct Xstat {
    std::string name{};
    uint64_t value = 0;
};
struct Link {
    bool up = false;
    uint32_t speed_mbps = 0;
    bool full_duplex = false;
};
// One queue's health as the driver sees it (net_vpmd ports only).
struct QueueState {
    bool rx = true;
    uint16_t queue = 0;
    bool broken = false;
    std::string reason{};       // why the device's writes were refused ("used id out of range")
    uint64_t ring_errors = 0; // invalid device writes seen
};

class Port {
public:
    // Probes a device from its devargs line, as --vdev / -a would take it:
    // "net_vpmd0,path=/run/a.sock,queues=2", "0000:00:04.0,dma=own", or any other DPDK
    // device. The port is owned: the destructor stops and removes it.
    static Result<Port> open(std::string_view devargs);
    static Result<Port> open(const PortConfig &config);
    // A port that already exists (from EAL's --vdev / -a, or another library); not owned:
    // close() and the destructor leave it in place.
    static Result<Port> attach(uint16_t port_id);

    Port(Port &&other) noexcept;
    Port &operator=(Port &&other) noexcept;
    Port(const Port &) = delete;
    Port &operator=(const Port &) = delete;
    ~Port();

    [[nodiscard]] uint16_t id() const { return id_; }
    [[nodiscard]] const std::string &name() const { return name_; }
    [[nodiscard]] const std::string &driver() const { return driver_; }
    [[nodiscard]] bool is_vpmd() const;

    // Configures the queues and sets every one up (the port must be stopped).
    Result<void> configure(const QueueConfig &config);
    Result<void> start();
    Result<void> stop();
    // Stops and (if owned) removes the device; the Port is empty afterwards.
    void close();

    [[nodiscard]] Result<Link> link() const;
    [[nodiscard]] Result<PortStats> stats() const;
    [[nodiscard]] Result<std::vector<Xstat>> xstats() const;
    Result<void> reset_stats();
    // Every rx and tx queue's state; empty for ports that are not net_vpmd.
    [[nodiscard]] Result<std::vector<QueueState>> queue_states() const;

private:
    Port(uint16_t id, bool owned);
    uint16_t id_;
    bool owned_ = false;
    std::string name_, driver_, device_, bus_; // device_ on bus_: what close() removes
};

// The ports of this process that net_vpmd drives.
std::vector<uint16_t> vpmd_ports();

} // namespace vpmd
