// The DMA-device abstraction a queue is created with: who can reach which memory, at which
// address. Ring memory is allocated from it; buffer addresses follow its AddrMode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vpmd/expected.hpp"
#include "dataplane/ring/common.hpp"

namespace vpmd::dma {

// Which address of a buffer the device understands. Fixed when the device object is made,
// so the PMD picks its burst function once at queue setup and translates an mbuf with a
// plain field load (see mbuf_addr.hpp), never with a virtual call per packet.
//   va:   the process virtual address (vhost-user memory table, local mediator, and a VFIO
//         container of our own mapped with IOVA = VA)
//   iova: the EAL IOVA (EAL's default VFIO container, whatever --iova-mode says)
enum class AddrMode : uint8_t {
    va,
    iova,
};

constexpr std::string_view to_string(AddrMode m) {
    return m == AddrMode::va ? "va" : "iova";
}

// Errors are negative errno values: -ENOMEM (no memory), -EINVAL (bad size or alignment),
// -EFAULT (memory the device cannot reach), -ENOTSUP (memory not shareable, e.g. EAL gave
// no fd for it and the device is another process).
//
// Implementations now: LocalDma (local_dma.hpp), VhostUserDma (vhost_user_dma.hpp).
// Planned, and the reason the interface looks like this:
//   EalVfioDma: alloc = IOVA-contiguous memzone, device_addr = its IOVA, AddrMode::iova;
//               free must find the memzone again, hence free() takes the whole region.
//   OwnVfioDma: alloc = rte_malloc, device_addr = VA, AddrMode::va; keeps its container's
//               DMA map in step with EAL memory through MemEventWatch (eal_mem_table.hpp).
class DmaDevice {
public:
    virtual ~DmaDevice() = default;
    DmaDevice(const DmaDevice &) = delete;
    DmaDevice &operator=(const DmaDevice &) = delete;

    [[nodiscard]] AddrMode addr_mode() const { return mode_; }
    [[nodiscard]] virtual std::string_view name() const = 0;

    // Zeroed memory of at least len bytes, aligned to align (a power of two, at least 64)
    // both as a pointer and as a device address. Control path only.
    [[nodiscard]] virtual Expected<ring::DmaRegion, int> alloc(size_t len, size_t align = ring::cache_line) = 0;
    // Returns memory from alloc(); a default-constructed region is ignored.
    virtual void free(const ring::DmaRegion &region) = 0;

    // The device address of [va, va + len) that we did not allocate here (a header
    // buffer, a control command): -EFAULT when the device cannot reach all of it.
    // Control path; the data path uses the AddrMode instead.
    [[nodiscard]] virtual Expected<uint64_t, int> translate(const void *va, size_t len) const = 0;

protected:
    explicit DmaDevice(AddrMode mode) : mode_(mode) {}

private:
    AddrMode mode_;
};

// Checks shared by the implementations: align a power of two >= 64, len > 0 and the
// rounded-up length not overflowing.
[[nodiscard]] constexpr bool valid_alloc_request(size_t len, size_t align) {
    return len != 0 && align >= ring::cache_line && (align & (align - 1)) == 0 && len <= SIZE_MAX - align;
}

[[nodiscard]] constexpr size_t round_up(size_t len, size_t align) {
    return (len + align - 1) & ~(align - 1);
}

} // namespace vpmd::dma
