// OwnVfioDma: EAL memory mapped IOVA = VA into our container, segment list by segment list,
// and in step with hotplug through a memory event callback.
#include "dataplane/dma/own_vfio_dma.hpp"

#include <cerrno>
#include <cstdint>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_vfio.h>

namespace vpmd::dma {

namespace {

void on_mem_event(rte_mem_event type, const void *addr, size_t len, void *arg) {
    static_cast<OwnVfioDma *>(arg)->on_event(type == RTE_MEM_EVENT_ALLOC, addr, len);
}

// Maps one VA-contiguous run of memsegs; external memory is the application's to map.
int map_run(const rte_memseg_list *msl, const rte_memseg *ms, size_t len, void *arg) {
    if (msl->external != 0) {
        return 0;
    }
    auto *d = static_cast<OwnVfioDma *>(arg);
    d->on_event(true, ms->addr, len); // EAL's VFIO layer takes an existing mapping as done
    return 0;
}

std::atomic<uint32_t> next_id{0};

} // namespace

Expected<std::unique_ptr<OwnVfioDma>, int> OwnVfioDma::create(int container_fd, int socket_id) {
    std::unique_ptr<OwnVfioDma> d(new OwnVfioDma(container_fd, socket_id));
    d->callback_name_ = "vpmd_own_vfio_" + std::to_string(next_id.fetch_add(1));
    // Registered before the walk, so no segment that appears in between is missed (one
    // mapped twice is fine: EAL's VFIO layer takes EEXIST as done).
    if (rte_mem_event_callback_register(d->callback_name_.c_str(), on_mem_event, d.get()) == 0) {
        d->callback_ = true;
    } else if (rte_errno != ENOTSUP) { // legacy memory never changes: no callback needed
        return unexpected(-rte_errno);
    }
    rte_memseg_contig_walk(map_run, d.get());
    if (d->mapped_bytes() == 0) {
        return unexpected(-EIO); // nothing mapped: the device could reach no buffer
    }
    return d;
}

OwnVfioDma::~OwnVfioDma() {
    if (callback_) {
        rte_mem_event_callback_unregister(callback_name_.c_str(), this);
    }
}

void OwnVfioDma::on_event(bool alloc, const void *addr, size_t len) {
    const auto va = uint64_t(reinterpret_cast<uintptr_t>(addr));
    if (alloc) {
        if (rte_vfio_container_dma_map(container_, va, va, len) == 0) {
            mapped_.fetch_add(len);
        }
    } else if (rte_vfio_container_dma_unmap(container_, va, va, len) == 0) {
        mapped_.fetch_sub(len);
    }
}

Expected<ring::DmaRegion, int> OwnVfioDma::alloc(size_t len, size_t align) {
    if (!valid_alloc_request(len, align)) {
        return unexpected(-EINVAL);
    }
    void *va = rte_zmalloc_socket("vpmd_own_vfio", round_up(len, align), unsigned(align), socket_id_);
    if (va == nullptr) {
        return unexpected(-ENOMEM);
    }
    return ring::DmaRegion{va, uint64_t(reinterpret_cast<uintptr_t>(va)), round_up(len, align)};
}

void OwnVfioDma::free(const ring::DmaRegion &region) {
    rte_free(region.va);
}

Expected<uint64_t, int> OwnVfioDma::translate(const void *va, size_t len) const {
    if (va == nullptr || len == 0 || rte_mem_virt2memseg_list(va) == nullptr ||
        rte_mem_virt2memseg_list(static_cast<const char *>(va) + len - 1) == nullptr) {
        return unexpected(-EFAULT);
    }
    return uint64_t(reinterpret_cast<uintptr_t>(va));
}

} // namespace vpmd::dma
