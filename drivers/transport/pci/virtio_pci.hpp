// Modern virtio-pci (virtio 1.2 section 4.1) over a pci::Function: the capability walk,
// the common configuration (status handshake, 64-bit features, queues), notify addresses
// and the virtio-net device configuration. Pure control path; no EAL. Every value the
// device gives (capability bounds, queue sizes, notify offsets) is checked before use.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "drivers/transport/device_status.hpp"
#include "drivers/transport/pci/function.hpp"
#include "drivers/transport/transport.hpp"

namespace vpmd::pci {

// Capability types (virtio_pci_cap.cfg_type).
namespace cap {
inline constexpr uint8_t vendor_id = 0x09;
inline constexpr uint8_t common = 1;
inline constexpr uint8_t notify = 2;
inline constexpr uint8_t isr = 3;
inline constexpr uint8_t device = 4;
} // namespace cap

// Device status bits, carried by SET/GET_STATUS (vhost-user) or device_status (PCI).
namespace status = transport::status;

// Offsets in the common configuration structure.
namespace common {
inline constexpr uint32_t device_feature_select = 0x00;
inline constexpr uint32_t device_feature = 0x04;
inline constexpr uint32_t driver_feature_select = 0x08;
inline constexpr uint32_t driver_feature = 0x0c;
inline constexpr uint32_t config_msix_vector = 0x10;
inline constexpr uint32_t num_queues = 0x12;
inline constexpr uint32_t device_status = 0x14;
inline constexpr uint32_t config_generation = 0x15;
inline constexpr uint32_t queue_select = 0x16;
inline constexpr uint32_t queue_size = 0x18;
inline constexpr uint32_t queue_msix_vector = 0x1a;
inline constexpr uint32_t queue_enable = 0x1c;
inline constexpr uint32_t queue_notify_off = 0x1e;
inline constexpr uint32_t queue_desc = 0x20;
inline constexpr uint32_t queue_driver = 0x28;
inline constexpr uint32_t queue_device = 0x30;
inline constexpr uint32_t queue_reset = 0x3a;
inline constexpr uint32_t min_length = 0x38; // what a virtio 1.0 device must provide
} // namespace common

inline constexpr uint16_t no_vector = 0xffff; // MSI-X: none (the queue is polled)
inline constexpr uint8_t msix_cap_id = 0x11;   // PCI capability ID of MSI-X

// Where one capability's structure lives.
struct Region {
    uint8_t bar = 0;
    uint64_t offset = 0;
    uint64_t length = 0;
};

// The virtio-net device configuration, read with the generation check.
struct NetConfig {
    std::array<uint8_t, 6> mac{};
    uint16_t status = 0; // bit 0: link up (with VIRTIO_NET_F_STATUS)
    uint16_t max_virtqueue_pairs = 1;
    uint16_t mtu = 0;
};

class VirtioPci {
public:
    // Walks the capabilities and checks each region lies inside its BAR. The device is
    // left as it was; reset() starts the handshake.
    static transport::Result<VirtioPci> open(Function &f);

    // Writes 0 and waits (bounded) until the device reads back 0.
    transport::Status reset();
    void add_status(uint8_t bits);
    [[nodiscard]] uint8_t status() const;
    // ACKNOWLEDGE | DRIVER, features, FEATURES_OK, checked: returns what was accepted.
    // `wanted` is intersected with what is offered; VERSION_1 must be offered.
    transport::Result<uint64_t> negotiate(uint64_t wanted);
    [[nodiscard]] uint64_t device_features() const;
    [[nodiscard]] uint16_t num_queues() const;
    // The largest size the device takes for queue `index` (0: no such queue).
    [[nodiscard]] uint16_t queue_max_size(uint16_t index);
    // MSI-X table entries the function has (its MSI-X capability; 0 without one).
    [[nodiscard]] uint16_t msix_vectors() const { return msix_vectors_; }
    // Programs the queue (size, addresses, the MSI-X vector its used-buffer notifications
    // go to, or no_vector) and returns its doorbell. A vector the device does not take
    // (it reads back otherwise) fails.
    transport::Result<transport::Notifier> setup_queue(const transport::QueueSetup &q, bool notification_data,
                                                       uint16_t vector = no_vector);
    transport::Status enable_queue(uint16_t index);
    // RING_RESET: resets one queue (it must be set up again).
    transport::Status reset_queue(uint16_t index);
    [[nodiscard]] uint8_t config_generation() const;
    // Reads the net config until the generation is stable (bounded).
    transport::Result<NetConfig> read_net_config() const;

private:
    explicit VirtioPci(Function &f) : f_(&f) {}
    uint32_t rd(uint32_t off, uint8_t w) const { return f_->read(common_.bar, common_.offset + off, w); }
    void wr(uint32_t off, uint8_t w, uint32_t v) { f_->write(common_.bar, common_.offset + off, w, v); }
    void wr64(uint32_t off, uint64_t v) {
        wr(off, 4, uint32_t(v));
        wr(off + 4, 4, uint32_t(v >> 32));
    }

    Function *f_;
    Region common_, notify_, device_; // the ISR capability is not used: we poll
    uint32_t notify_multiplier_ = 0;
    uint16_t msix_vectors_ = 0;
};

} // namespace vpmd::pci
