// One shareable piece of our memory as a vhost-user backend maps it (an fd, an offset in
// it, and the addresses it has for us), and how adjacent pieces of one file merge. Pure.
#pragma once

#include <cstdint>
#include <vector>

namespace vpmd::dma {

// Field for field the vhost-user memory region, plus the fd that goes with it in
// SCM_RIGHTS. For virtio-user the "guest physical" address is our VA: descriptors carry
// VAs and the backend translates them through this table.
struct MemRegion {
    uint64_t guest_phys_addr = 0;
    uint64_t size = 0;
    uint64_t userspace_addr = 0;
    uint64_t mmap_offset = 0;
    int fd = -1; // borrowed from EAL: never closed by the table's users

    friend bool operator==(const MemRegion &, const MemRegion &) = default;
};

// Appends the run [va, va + len), found at offset in fd, to table. A run that continues
// the last region (same fd, next VA, next file offset) extends it instead, which keeps
// tables from --single-file-segments and --no-huge at one region per memseg list.
inline void append_run(std::vector<MemRegion> &table, uint64_t va, uint64_t len, int fd, uint64_t offset) {
    if (!table.empty()) {
        MemRegion &last = table.back();
        if (last.fd == fd && last.userspace_addr + last.size == va && last.mmap_offset + last.size == offset) {
            last.size += len;
            return;
        }
    }
    table.push_back(MemRegion{va, len, va, offset, fd});
}

} // namespace vpmd::dma
