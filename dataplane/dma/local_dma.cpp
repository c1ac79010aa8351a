// LocalDma: aligned, zeroed heap memory; the device address is the pointer itself.
#include "dataplane/dma/local_dma.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace vpmd::dma {

Expected<ring::DmaRegion, int> LocalDma::alloc(size_t len, size_t align) {
    if (!valid_alloc_request(len, align)) {
        return unexpected(-EINVAL);
    }
    // aligned_alloc wants the size to be a multiple of the alignment.
    const size_t bytes = round_up(len, align);
    void *va = std::aligned_alloc(align, bytes);
    if (va == nullptr) {
        return unexpected(-ENOMEM);
    }
    std::memset(va, 0, bytes);
    return ring::DmaRegion{va, reinterpret_cast<uintptr_t>(va), bytes};
}

void LocalDma::free(const ring::DmaRegion &region) {
    std::free(region.va);
}

Expected<uint64_t, int> LocalDma::translate(const void *va, size_t len) const {
    if (va == nullptr || len == 0) {
        return unexpected(-EFAULT);
    }
    return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(va));
}

} // namespace vpmd::dma
