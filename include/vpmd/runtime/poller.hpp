// A poller: one unit of dataplane work (one burst on one queue, say) that a worker lcore
// calls in its loop. A plain function pointer and a context: one indirect call per burst,
// no allocation, no virtual dispatch, and trivially copyable into a worker's list.
#pragma once

#include <cstdint>

namespace vpmd::runtime {

// Returns the work done in this call (packets, descriptors, ...); 0 means idle. The loop
// counts cycles of rounds with work as busy and sums the returned values per lcore.
using PollFn = uint32_t (*)(void *ctx) noexcept;

struct Poller {
    PollFn fn = nullptr;
    void *ctx = nullptr;
    const char *name = ""; // for logs and stats only, never used on the data path

    uint32_t operator()() const noexcept { return fn(ctx); }
};

// Adapts any object with `uint32_t poll() noexcept` into a Poller; the object must
// outlive the runtime's run (the poller keeps a plain pointer to it).
template <class T>
[[nodiscard]] Poller make_poller(T &obj, const char *name = "") {
    return Poller{[](void *ctx) noexcept -> uint32_t { return static_cast<T *>(ctx)->poll(); }, &obj, name};
}

} // namespace vpmd::runtime
