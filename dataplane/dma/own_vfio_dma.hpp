// The DMA device of a VFIO container of our own (a separate IOMMU domain from EAL's): all
// of EAL's memory is mapped into it with IOVA = VA, and kept so as EAL memory grows or
// shrinks (a memory event callback maps and unmaps). Queues on it give the device VAs.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "dataplane/dma/dma_device.hpp"

namespace vpmd::dma {

class OwnVfioDma final : public DmaDevice {
public:
    // container_fd: a container from rte_vfio_container_create() with the device's group
    // bound and the device set up in it (so its IOMMU type is set). Maps EAL memory now.
    // Not owned: the creator destroys the container after this device.
    [[nodiscard]] static Expected<std::unique_ptr<OwnVfioDma>, int> create(int container_fd, int socket_id);
    ~OwnVfioDma() override;

    [[nodiscard]] std::string_view name() const override { return "own-vfio"; }
    [[nodiscard]] Expected<ring::DmaRegion, int> alloc(size_t len, size_t align = ring::cache_line) override;
    void free(const ring::DmaRegion &region) override;
    // The VA, when [va, va + len) lies in EAL memory (all of which is mapped).
    [[nodiscard]] Expected<uint64_t, int> translate(const void *va, size_t len) const override;

    [[nodiscard]] int container() const { return container_; }
    [[nodiscard]] uint64_t mapped_bytes() const { return mapped_.load(); }
    // What the memory event callback does (EAL holds its memory lock then).
    void on_event(bool alloc, const void *addr, size_t len);

private:
    OwnVfioDma(int container, int socket_id)
        : DmaDevice(AddrMode::va), container_(container), socket_id_(socket_id) {}

    int container_;
    int socket_id_;
    std::string callback_name_;
    bool callback_ = false;
    std::atomic<uint64_t> mapped_{0};
};

} // namespace vpmd::dma
