// A PCI function as the virtio-pci transport reaches it: config space, register access
// to its BARs (MMIO) and MSI-X delivery to eventfds. The DPDK bus gives the real one
// (probe_pci.cpp, through VFIO); unit tests give an emulated virtio-pci device. Control
// path only, except notify_address(), whose pointer the burst functions store to.
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "drivers/transport/transport.hpp"

namespace vpmd::pci {

class Function {
public:
    virtual ~Function() = default;
    Function() = default;
    Function(const Function &) = delete;
    Function &operator=(const Function &) = delete;

    // "0000:00:03.0": for logs.
    [[nodiscard]] virtual std::string address() const = 0;
    // Config space bytes [off, off + len): false when they cannot be read.
    virtual bool read_config(uint32_t off, void *buf, uint32_t len) const = 0;
    virtual bool write_config(uint32_t off, const void *buf, uint32_t len) = 0;
    // Bytes of memory BAR `bar` that are mapped (0: none, or an I/O BAR).
    [[nodiscard]] virtual uint64_t bar_length(uint8_t bar) const = 0;
    // Register access within a mapped BAR; callers check bounds against bar_length().
    // width: 1, 2 or 4 bytes (64-bit registers are two 32-bit halves, low first).
    [[nodiscard]] virtual uint32_t read(uint8_t bar, uint64_t off, uint8_t width) const = 0;
    virtual void write(uint8_t bar, uint64_t off, uint8_t width, uint32_t value) = 0;
    // The address a store must go to for a notify register (the data path's doorbell).
    [[nodiscard]] virtual volatile void *notify_address(uint8_t bar, uint64_t off) = 0;
    // MSI-X: routes vectors 1..n to one eventfd each and returns them in vector order
    // (vector 0 is left to config changes, which the transport polls instead). Once per
    // function; the eventfds stay valid until it is destroyed. Fails where the function
    // cannot deliver MSI-X to eventfds (no VFIO interrupt support, INTx or MSI only).
    virtual transport::Result<std::vector<int>> enable_msix(uint16_t n) {
        (void)n;
        return transport::fail(-ENOTSUP, address() + ": MSI-X cannot be delivered to eventfds here");
    }
};

} // namespace vpmd::pci
