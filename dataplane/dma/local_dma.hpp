// The local DMA device: plain private memory, addressed by VA, for a consumer inside this
// process (the software-mediated control queue). Needs no EAL.
#pragma once

#include "dataplane/dma/dma_device.hpp"

namespace vpmd::dma {

class LocalDma final : public DmaDevice {
public:
    LocalDma() : DmaDevice(AddrMode::va) {}

    [[nodiscard]] std::string_view name() const override { return "local"; }
    [[nodiscard]] Expected<ring::DmaRegion, int> alloc(size_t len, size_t align = ring::cache_line) override;
    void free(const ring::DmaRegion &region) override;
    // Everything in this process is reachable by an in-process consumer: identity.
    [[nodiscard]] Expected<uint64_t, int> translate(const void *va, size_t len) const override;
};

} // namespace vpmd::dma
