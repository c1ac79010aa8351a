// The hot-path half of the DMA device: an mbuf's address as the device sees it, chosen by
// an AddrMode template argument fixed at queue setup (no virtual call, no branch).
#pragma once

#include <cstdint>

#include <rte_mbuf.h>

#include "dataplane/dma/dma_device.hpp"

namespace vpmd::dma {

template <AddrMode Mode>
[[nodiscard]] inline uint64_t mbuf_buf_addr(const rte_mbuf *m) {
    if constexpr (Mode == AddrMode::va) {
        return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(m->buf_addr));
    } else {
        return m->buf_iova;
    }
}

// Address of the first data byte (buf + data_off): what a descriptor points at.
template <AddrMode Mode>
[[nodiscard]] inline uint64_t mbuf_data_addr(const rte_mbuf *m) {
    return mbuf_buf_addr<Mode>(m) + m->data_off;
}

} // namespace vpmd::dma
