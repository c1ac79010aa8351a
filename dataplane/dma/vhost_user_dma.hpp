// The vhost-user memory-table DMA device: ring memory comes from EAL memory, which the
// backend maps from the fds of SET_MEM_TABLE; the backend is given VAs.
#pragma once

#include "dataplane/dma/dma_device.hpp"

namespace vpmd::dma {

class VhostUserDma final : public DmaDevice {
public:
    // socket_id: NUMA node for ring memory (SOCKET_ID_ANY = -1 for any).
    explicit VhostUserDma(int socket_id = -1) : DmaDevice(AddrMode::va), socket_id_(socket_id) {}

    [[nodiscard]] std::string_view name() const override { return "vhost-user"; }
    // rte_zmalloc'ed; -ENOTSUP if EAL put it in memory without an fd (unshareable).
    [[nodiscard]] Expected<ring::DmaRegion, int> alloc(size_t len, size_t align = ring::cache_line) override;
    void free(const ring::DmaRegion &region) override;
    // VA if both ends of the range lie in fd-backed EAL memory, else -EFAULT.
    [[nodiscard]] Expected<uint64_t, int> translate(const void *va, size_t len) const override;

private:
    int socket_id_;
};

// True when [va, va + len) starts and ends in EAL memory that has an fd, i.e. is in the
// memory table a backend receives.
[[nodiscard]] bool in_shared_eal_memory(const void *va, size_t len);

} // namespace vpmd::dma
