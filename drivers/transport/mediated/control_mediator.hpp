// The software-mediated control virtqueue: the control queue's rings live in local memory
// and this mediator, using the ring core's device view, serves them in process. Each
// command is validated, applied (queue pairs through a backend hook; MAC, RX mode and
// VLAN filters into filter state) and acked or nacked. Pure C++; no DPDK.
#pragma once

#include <array>
#include <atomic>
#include <bitset>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <variant>
#include <vector>

#include "dataplane/net/virtio_net.hpp"
#include "dataplane/ring/queue.hpp"

namespace vpmd::mediated {

using MacAddr = std::array<uint8_t, 6>;

// What the receive side should let through; the PMD applies it when not promiscuous.
struct RxFilter {
    bool promisc = true; // virtio-net default: a device starts promiscuous
    bool allmulti = false;
    bool alluni = false;
    bool nomulti = false;
    bool nouni = false;
    bool nobcast = false;
    MacAddr mac{};
    std::vector<MacAddr> unicast;
    std::vector<MacAddr> multicast;
    std::bitset<4096> vlans; // empty = no VLAN filtering
};

// Limits that keep a hostile or buggy driver from making us allocate without bound.
inline constexpr uint32_t max_command_bytes = 64 * 1024;
inline constexpr uint32_t max_mac_entries = 1024;

// Applies MQ_VQ_PAIRS_SET to the real backend; returns 0 or a negative errno.
using QueuePairsHook = std::function<int(uint16_t pairs)>;
// Relays a command the mediator accepted to the device's own control queue (a shadow
// control queue, e.g. virtio-pci's); nonzero: the device refused it, and the command is
// nacked and undone here, so local state never differs from the device's.
using RelayHook = std::function<int(uint8_t cls, uint8_t cmd, std::span<const uint8_t> data)>;

class ControlMediator {
public:
    using Translate = ring::ArenaTranslator;
    using Split = ring::SplitDevice<Translate, 16>;
    using Packed = ring::PackedDevice<Translate, 16>;

    // `ring_va` holds the control queue laid out by the driver view with `cfg`; `memory`
    // is the whole local region commands and acks live in.
    ControlMediator(const ring::QueueConfig &cfg, void *ring_va, Translate memory, uint16_t max_pairs,
                    QueuePairsHook pairs_hook);
    ~ControlMediator();
    ControlMediator(const ControlMediator &) = delete;
    ControlMediator &operator=(const ControlMediator &) = delete;

    // Every later command is also relayed through `relay` (see RelayHook).
    void set_relay(RelayHook relay);

    // Serves every available command now; returns how many were handled.
    uint32_t serve();

    // Serves on its own thread, woken by writes to `kick_fd` (an eventfd). stop() joins.
    void start(int kick_fd);
    void stop();

    RxFilter filter() const;
    uint16_t queue_pairs() const { return pairs_.load(); }
    ring::Broken broken() const;
    uint64_t commands_ok() const { return ok_.load(); }
    uint64_t commands_failed() const { return failed_.load(); }

private:
    uint8_t apply(uint8_t cls, uint8_t cmd, std::span<const uint8_t> data);
    uint8_t apply_local(uint8_t cls, uint8_t cmd, std::span<const uint8_t> data);
    uint8_t apply_rx(uint8_t cmd, std::span<const uint8_t> data);
    uint8_t apply_mac(uint8_t cmd, std::span<const uint8_t> data);
    uint8_t apply_vlan(uint8_t cmd, std::span<const uint8_t> data);
    uint8_t apply_mq(uint8_t cmd, std::span<const uint8_t> data);
    template <class Dev>
    uint32_t serve_on(Dev &dev);

    std::variant<Split, Packed> dev_;
    uint16_t max_pairs_;
    QueuePairsHook pairs_hook_;
    RelayHook relay_;
    mutable std::mutex mu_; // guards filter_ and serialises serve()
    RxFilter filter_;
    std::atomic<uint16_t> pairs_{1};
    std::atomic<uint64_t> ok_{0}, failed_{0};
    std::vector<uint8_t> scratch_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
};

} // namespace vpmd::mediated
