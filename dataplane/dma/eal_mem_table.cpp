// collect_mem_table walks memseg runs segment by segment, because without
// --single-file-segments every 2 MiB page has its own fd and a run must split there.
#include "dataplane/dma/eal_mem_table.hpp"

#include <cerrno>
#include <unistd.h>
#include <sys/eventfd.h>

#include <rte_eal_memconfig.h>
#include <rte_errno.h>
#include <rte_fbarray.h>
#include <rte_memory.h>

namespace vpmd::dma {

namespace {

int add_contig_run(const rte_memseg_list *msl, const rte_memseg *first, size_t len, void *arg) {
    auto *table = static_cast<MemTable *>(arg);
    if (msl->external != 0) {
        table->skipped_runs += 1;
        table->skipped_bytes += len;
        return 0;
    }
    int idx = rte_fbarray_find_idx(&msl->memseg_arr, first);
    if (idx < 0) {
        return -1;
    }
    for (size_t done = 0; done < len; done += msl->page_sz, ++idx) {
        const auto *ms = static_cast<const rte_memseg *>(rte_fbarray_get(&msl->memseg_arr, static_cast<unsigned>(idx)));
        if (ms == nullptr) {
            return -1;
        }
        const int fd = rte_memseg_get_fd_thread_unsafe(ms);
        size_t offset = 0;
        if (fd < 0 || rte_memseg_get_fd_offset_thread_unsafe(ms, &offset) < 0) {
            table->skipped_runs += 1;
            table->skipped_bytes += ms->len;
            continue;
        }
        append_run(table->regions, ms->addr_64, ms->len, fd, offset);
    }
    return 0;
}

void on_mem_event(rte_mem_event, const void *, size_t, void *arg) {
    static_cast<MemEventWatch *>(arg)->note_event();
}

} // namespace

Expected<MemTable, int> collect_mem_table() {
    MemTable table;
    rte_mcfg_mem_read_lock();
    const int rc = rte_memseg_contig_walk_thread_unsafe(add_contig_run, &table);
    rte_mcfg_mem_read_unlock();
    if (rc < 0) {
        return unexpected(-EFAULT);
    }
    if (table.regions.empty()) {
        return unexpected(-ENODEV);
    }
    return table;
}

Expected<std::unique_ptr<MemEventWatch>, int> MemEventWatch::create(std::string name) {
    const int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0) {
        return unexpected(-errno);
    }
    std::unique_ptr<MemEventWatch> watch(new MemEventWatch(std::move(name), efd));
    if (rte_mem_event_callback_register(watch->name_.c_str(), on_mem_event, watch.get()) == 0) {
        watch->registered_ = true;
    } else if (rte_errno != ENOTSUP) {
        // ENOTSUP is legacy memory: nothing will ever change, an inactive watch is right.
        return unexpected(-rte_errno);
    }
    return watch;
}

MemEventWatch::~MemEventWatch() {
    if (registered_) {
        rte_mem_event_callback_unregister(name_.c_str(), this);
    }
    if (event_fd_ >= 0) {
        ::close(event_fd_);
    }
}

void MemEventWatch::note_event() {
    generation_.fetch_add(1, std::memory_order_release);
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(event_fd_, &one, sizeof(one));
}

bool MemEventWatch::consume() {
    uint64_t count = 0;
    return ::read(event_fd_, &count, sizeof(count)) == static_cast<ssize_t>(sizeof(count)) && count != 0;
}

} // namespace vpmd::dma
