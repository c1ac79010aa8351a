// The DMA device of EAL's default VFIO container: ring memory is an IOVA-contiguous
// memzone, and the device is given IOVAs (rte_mem_virt2iova), whatever --iova-mode says.
// EAL maps all of its memory into that container, so mbufs go by their buf_iova.
#pragma once

#include <atomic>
#include <map>
#include <mutex>

#include "dataplane/dma/dma_device.hpp"

struct rte_memzone;

namespace vpmd::dma {

class EalIovaDma final : public DmaDevice {
public:
    explicit EalIovaDma(int socket_id = -1) : DmaDevice(AddrMode::iova), socket_id_(socket_id) {}
    ~EalIovaDma() override;

    [[nodiscard]] std::string_view name() const override { return "eal-vfio"; }
    [[nodiscard]] Expected<ring::DmaRegion, int> alloc(size_t len, size_t align = ring::cache_line) override;
    void free(const ring::DmaRegion &region) override;
    // The IOVA of [va, va + len) when it lies in EAL memory and is IOVA-contiguous.
    [[nodiscard]] Expected<uint64_t, int> translate(const void *va, size_t len) const override;

private:
    int socket_id_;
    std::mutex lock_;
    std::map<void *, const rte_memzone *> zones_;
};

} // namespace vpmd::dma
