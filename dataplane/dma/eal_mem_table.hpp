// EAL memory as a vhost-user memory table (one region per fd-backed, VA- and file-contiguous
// run of memsegs), and a watch that says when EAL memory grew or shrank so the table is resent.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vpmd/expected.hpp"
#include "dataplane/dma/mem_region.hpp"

namespace vpmd::dma {

struct MemTable {
    std::vector<MemRegion> regions;
    // Runs a backend in another process cannot map: no fd (external memory, or EAL's
    // anonymous fallback when memfd_create is missing). Nonzero means buffers there are
    // unreachable; callers log it.
    uint32_t skipped_runs = 0;
    uint64_t skipped_bytes = 0;
};

// Walks the allocated EAL memory under the memory read lock. Must not be called from a
// memory event callback (EAL holds the write lock there). Errors: -ENODEV when EAL memory
// holds no fd-backed segment at all (nothing a backend could map).
[[nodiscard]] Expected<MemTable, int> collect_mem_table();

// Counts EAL memory events (hotplug allocations and frees) and makes them pollable: fd()
// is an eventfd that becomes readable after an event. In legacy memory mode (--no-huge,
// --legacy-mem) EAL memory never changes and EAL refuses the callback; the watch is then
// made anyway with active() false and never fires.
class MemEventWatch {
public:
    // name must be unique among this process's memory event callbacks (EAL's rule).
    [[nodiscard]] static Expected<std::unique_ptr<MemEventWatch>, int> create(std::string name);
    ~MemEventWatch();
    MemEventWatch(const MemEventWatch &) = delete;
    MemEventWatch &operator=(const MemEventWatch &) = delete;

    [[nodiscard]] bool active() const { return registered_; }
    [[nodiscard]] int fd() const { return event_fd_; }
    // Events seen since creation.
    [[nodiscard]] uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
    // True when an event came since the last call (and drains fd()): time to resend.
    [[nodiscard]] bool consume();
    // What the EAL callback calls (with EAL's memory lock held): count and wake only.
    void note_event();

private:
    MemEventWatch(std::string name, int event_fd) : name_(std::move(name)), event_fd_(event_fd) {}

    std::string name_;
    int event_fd_ = -1;
    bool registered_ = false;
    std::atomic<uint64_t> generation_{0};
};

} // namespace vpmd::dma
