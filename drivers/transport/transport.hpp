// The transport seam: the one small interface net_vpmd's control path talks to, whatever
// carries the virtio device (vhost-user socket, virtio-pci over VFIO, a test double). On
// the hot path only the Notifier crosses it, as a plain value: no virtual call per burst.
#pragma once

#include <unistd.h>

#include <array>
#include <cerrno>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "dataplane/dma/dma_device.hpp"
#include "vpmd/expected.hpp"

namespace vpmd::transport {

// Errors of every transport: a negative errno for the DPDK boundary and one line saying
// what went wrong, for the log.
struct Error {
    int code = -EIO;
    std::string what;
};

template <class T>
using Result = Expected<T, Error>;
using Status = Expected<void, Error>;

[[nodiscard]] inline Unexpected<Error> fail(int code, std::string what) {
    return Unexpected<Error>{Error{code, std::move(what)}};
}

// Which consumer a queue serves: each role may get its own DMA device.
enum class QueueRole : uint8_t {
    rx,
    tx,
    control,
};

constexpr std::string_view to_string(QueueRole r) {
    return r == QueueRole::rx ? "rx" : r == QueueRole::tx ? "tx" : "control";
}

// How the driver tells the device a queue has new buffers, as a value the burst function
// uses directly. eventfd: write 1 (vhost-user kick). mmio: a store to the queue's notify
// address of its index, or with NOTIFICATION_DATA of index | next avail (with wrap) << 16.
struct Notifier {
    enum class Kind : uint8_t { none, eventfd, mmio };
    Kind kind = Kind::none;
    bool with_data = false;   // mmio: VIRTIO_F_NOTIFICATION_DATA negotiated
    uint16_t queue_index = 0; // virtqueue index written (mmio)
    int fd = -1;              // eventfd
    volatile void *addr = nullptr; // mmio notify address (16-bit store, 32-bit with data)

    // next_avail: split, the avail index; packed, the next slot with the wrap counter in
    // bit 15 (what the ring's avail_index() gives).
    void fire(uint16_t next_avail) const noexcept {
        switch (kind) {
        case Kind::eventfd: {
            const uint64_t one = 1;
            [[maybe_unused]] const ssize_t n = ::write(fd, &one, sizeof(one));
            break;
        }
        case Kind::mmio:
            if (with_data) {
                *static_cast<volatile uint32_t *>(addr) = uint32_t(queue_index) | (uint32_t(next_avail) << 16);
            } else {
                *static_cast<volatile uint16_t *>(addr) = queue_index;
            }
            break;
        case Kind::none: break;
        }
    }
};

// What the device says about itself (virtio-net device config, or what the transport
// knows instead). Absent fields: the device does not say.
struct DeviceInfo {
    uint32_t max_queue_pairs = 1;
    std::optional<std::array<uint8_t, 6>> mac;
    std::optional<uint16_t> mtu;
    std::optional<bool> link_up;
};

// One virtqueue as the device must see it: device addresses of its three areas (from the
// queue's DMA device) and where the device starts reading.
struct QueueSetup {
    QueueRole role = QueueRole::rx;
    uint16_t index = 0;            // virtqueue index: rx queue q = 2q, tx queue q = 2q + 1
    uint16_t size = 0;             // descriptors (split: power of two)
    uint64_t desc_addr = 0;
    uint64_t driver_area_addr = 0; // split: avail ring; packed: driver event suppression
    uint64_t device_area_addr = 0; // split: used ring; packed: device event suppression
    uint16_t avail_base = 0;       // next avail index the device reads (packed: < 2^15)
    bool wrap_counter = true;      // packed: the device's wrap counter at avail_base
    bool packed = false;
};

// How a transport stops one queue while the others run.
enum class QueueStop : uint8_t {
    // It cannot: stop_queue() may stop them all (virtio-pci without RING_RESET).
    none,
    // stop_queue() resets that queue alone and the device gives up every buffer in it;
    // setup_queue() brings it back from index 0 (virtio-pci with RING_RESET).
    reset,
    // enable_queue(false) makes the device leave the ring alone (and answers only then);
    // buffers it holds stay its own, enable_queue(true) resumes where it stopped. Needs no
    // new set-up (vhost-user SET_VRING_ENABLE; its GET_VRING_BASE would stop DPDK's whole
    // vhost device: every other ring of the port stays idle until the device restarts).
    disable,
};

// What the control path learns while waiting for the device.
enum class Event : uint8_t {
    none,           // nothing happened within the wait
    lost,           // the device went away (backend closed, surprise removal)
    config_changed, // device config (link, MTU ...) may have changed: read it again
};

// Bring-up order (what the PMD does): attach -> negotiate -> device_info -> sync_memory ->
// setup_queue + notifier + enable_queue for each queue -> driver_ok. Stop: stop_queue for
// each. reset() returns the device to its initial state: negotiate again.
//
// Threads: every call comes from one control thread at a time (the PMD's lock); only the
// Notifier values are used on dataplane lcores, and they stay valid until close().
class Transport {
public:
    virtual ~Transport() = default;
    Transport() = default;
    Transport(const Transport &) = delete;
    Transport &operator=(const Transport &) = delete;

    // "vhost-user", "virtio-pci": for logs and telemetry.
    [[nodiscard]] virtual std::string_view kind() const = 0;
    // Where the device is: a socket path, a PCI address.
    [[nodiscard]] virtual std::string where() const = 0;

    // ---- presence -----------------------------------------------------------------------
    // Makes the device reachable: connect or accept (vhost-user), nothing to do when the
    // device is always there (PCI). Waits up to timeout. Negotiated state starts afresh.
    virtual Status attach(std::chrono::milliseconds timeout) = 0;
    [[nodiscard]] virtual bool attached() const = 0;
    // Waits up to timeout for something to happen to an attached device.
    virtual Event wait_event(std::chrono::milliseconds timeout) = 0;
    // True while the device is still gone: confirms a `lost` event under the PMD's lock
    // (an API call may have answered on, or dropped, the connection since).
    [[nodiscard]] virtual bool gone() const = 0;
    // Lets go of a device that went away, or gives up on one; attach() may follow.
    virtual void detach() = 0;
    // Whether the device may come back by itself (a vhost-user backend restarting): the
    // PMD then keeps waiting in attach() after a loss.
    [[nodiscard]] virtual bool may_come_back() const = 0;

    // ---- negotiation --------------------------------------------------------------------
    // Returns wanted & offered (without transport-only bits), FEATURES_OK accepted.
    virtual Result<uint64_t> negotiate(uint64_t wanted) = 0;
    // What the device offered at the last negotiate() (without transport-only bits); what
    // the PMD may ask for next time (offloads the application turns on at configure).
    [[nodiscard]] virtual uint64_t offered() const = 0;
    virtual Result<DeviceInfo> device_info() = 0;

    // ---- memory -------------------------------------------------------------------------
    // Makes the memory of the queues' DMA devices reachable (vhost-user: the memory table).
    virtual Status sync_memory() = 0;
    // True when memory changed since the last sync_memory() (EAL hotplug): sync again.
    [[nodiscard]] virtual bool memory_stale() = 0;
    // The DMA device queues of this role are created with: ring memory and addresses.
    [[nodiscard]] virtual dma::DmaDevice &dma(QueueRole role) = 0;

    // ---- queues -------------------------------------------------------------------------
    virtual Status setup_queue(const QueueSetup &q) = 0;
    // How to kick queue `index` once set up; stays valid until close().
    virtual Result<Notifier> notifier(uint16_t index) = 0;
    // -ENOTSUP when the transport cannot disable a ring (the queue then stays enabled).
    virtual Status enable_queue(uint16_t index, bool enable) = 0;
    // The device stops the queue; it needs setup_queue() again to run.
    virtual Status stop_queue(uint16_t index) = 0;
    // How one queue stops while the others run (per-queue stop, deferred start).
    [[nodiscard]] virtual QueueStop queue_stop() const = 0;
    // An fd that becomes readable when the device signals used buffers on queue `index`
    // (interrupt mode; the ring's notification suppression decides whether it does). Valid
    // until close(), across reconnects and before setup_queue(). -ENOTSUP where the
    // transport has none.
    virtual Result<int> interrupt_fd(uint16_t index) = 0;

    // ---- the device's control queue -----------------------------------------------------
    // Relays a control command (virtio-net class, command, data) that the mediated control
    // queue accepted to the device's own control queue: now, or, while the device is not
    // running, when it next is (and again after every reset). A transport whose device has
    // no control queue accepts it as is: the PMD applies the mediator's state itself.
    virtual Status device_command(uint8_t cls, uint8_t cmd, std::span<const uint8_t> data) = 0;

    // ---- device status ------------------------------------------------------------------
    virtual Status driver_ok() = 0;
    virtual Status reset() = 0;
    // Lets go of everything (connections, mappings, eventfds). Idempotent.
    virtual void close() = 0;
};

} // namespace vpmd::transport
