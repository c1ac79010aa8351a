// VhostUserDma: rte_zmalloc'ed ring memory, checked to be fd-backed so the backend can map it.
#include "dataplane/dma/vhost_user_dma.hpp"

#include <cerrno>

#include <rte_malloc.h>
#include <rte_memory.h>

namespace vpmd::dma {

namespace {

bool byte_is_shared(const void *p) {
    const rte_memseg_list *msl = rte_mem_virt2memseg_list(p);
    if (msl == nullptr || msl->external != 0) {
        return false;
    }
    const rte_memseg *ms = rte_mem_virt2memseg(p, msl);
    return ms != nullptr && rte_memseg_get_fd(ms) >= 0;
}

} // namespace

bool in_shared_eal_memory(const void *va, size_t len) {
    if (va == nullptr || len == 0) {
        return false;
    }
    const auto *first = static_cast<const char *>(va);
    return byte_is_shared(first) && byte_is_shared(first + len - 1);
}

Expected<ring::DmaRegion, int> VhostUserDma::alloc(size_t len, size_t align) {
    if (!valid_alloc_request(len, align)) {
        return unexpected(-EINVAL);
    }
    const size_t bytes = round_up(len, align);
    void *va = rte_zmalloc_socket("vpmd_vhost_ring", bytes, static_cast<unsigned>(align), socket_id_);
    if (va == nullptr) {
        return unexpected(-ENOMEM);
    }
    if (!in_shared_eal_memory(va, bytes)) {
        rte_free(va);
        return unexpected(-ENOTSUP);
    }
    return ring::DmaRegion{va, reinterpret_cast<uintptr_t>(va), bytes};
}

void VhostUserDma::free(const ring::DmaRegion &region) {
    rte_free(region.va);
}

Expected<uint64_t, int> VhostUserDma::translate(const void *va, size_t len) const {
    if (!in_shared_eal_memory(va, len)) {
        return unexpected(-EFAULT);
    }
    return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(va));
}

} // namespace vpmd::dma
