// Virtio device status bits (virtio 1.2 section 2.1): the same for every transport
// (vhost-user SET/GET_STATUS, virtio-pci device_status).
#pragma once

#include <cstdint>

namespace vpmd::transport::status {
inline constexpr uint8_t acknowledge = 1;
inline constexpr uint8_t driver = 2;
inline constexpr uint8_t driver_ok = 4;
inline constexpr uint8_t features_ok = 8;
inline constexpr uint8_t needs_reset = 0x40;
inline constexpr uint8_t failed = 0x80;
} // namespace vpmd::transport::status
