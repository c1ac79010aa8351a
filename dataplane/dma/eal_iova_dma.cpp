// EalIovaDma: memzones reserved IOVA-contiguous, found again by address on free.
#include "dataplane/dma/eal_iova_dma.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <rte_memory.h>
#include <rte_memzone.h>

namespace vpmd::dma {

EalIovaDma::~EalIovaDma() {
    for (auto &[va, mz] : zones_) {
        rte_memzone_free(mz);
    }
}

Expected<ring::DmaRegion, int> EalIovaDma::alloc(size_t len, size_t align) {
    if (!valid_alloc_request(len, align)) {
        return unexpected(-EINVAL);
    }
    static std::atomic<uint32_t> next{0};
    char name[RTE_MEMZONE_NAMESIZE];
    snprintf(name, sizeof(name), "vpmd_iova_%u", next.fetch_add(1));
    const rte_memzone *mz = rte_memzone_reserve_aligned(name, round_up(len, align), socket_id_,
                                                        RTE_MEMZONE_IOVA_CONTIG, unsigned(align));
    if (mz == nullptr) {
        return unexpected(-ENOMEM);
    }
    if (mz->iova == RTE_BAD_IOVA) {
        rte_memzone_free(mz);
        return unexpected(-EFAULT);
    }
    std::memset(mz->addr, 0, mz->len);
    std::lock_guard g(lock_);
    zones_[mz->addr] = mz;
    return ring::DmaRegion{mz->addr, mz->iova, mz->len};
}

void EalIovaDma::free(const ring::DmaRegion &region) {
    if (region.va == nullptr) {
        return;
    }
    std::lock_guard g(lock_);
    if (auto it = zones_.find(region.va); it != zones_.end()) {
        rte_memzone_free(it->second);
        zones_.erase(it);
    }
}

Expected<uint64_t, int> EalIovaDma::translate(const void *va, size_t len) const {
    if (va == nullptr || len == 0) {
        return unexpected(-EFAULT);
    }
    const rte_iova_t first = rte_mem_virt2iova(va);
    const rte_iova_t last = rte_mem_virt2iova(static_cast<const char *>(va) + len - 1);
    if (first == RTE_BAD_IOVA || last == RTE_BAD_IOVA || last - first != len - 1) {
        return unexpected(-EFAULT);
    }
    return first;
}

} // namespace vpmd::dma
