// The one flag that stops every worker loop: checked once per round of polls (so a request
// reaches a loop within one burst), set from any thread or from a signal handler.
#pragma once

#include <atomic>

namespace vpmd::runtime {

// Own cache line: workers read it every round, and it must not share a line with
// anything a control thread writes often.
class alignas(64) StopFlag {
public:
    // Async-signal-safe: a lock-free atomic store, nothing else.
    void request() noexcept { stop_.store(true, std::memory_order_release); }
    [[nodiscard]] bool requested() const noexcept { return stop_.load(std::memory_order_acquire); }
    // Control path only, with no loop running.
    void clear() noexcept { stop_.store(false, std::memory_order_release); }

private:
    static_assert(std::atomic<bool>::is_always_lock_free, "signal handlers need a lock-free flag");
    std::atomic<bool> stop_{false};
};

static_assert(sizeof(StopFlag) == 64);

} // namespace vpmd::runtime
