// Quiescent-state-based reclamation for tables the data path reads without locks (the ACL,
// the MAC table): each dataplane lcore is a reader that says "I hold nothing" once per poll;
// the control plane publishes a new table, then waits until every online reader has said so
// before it frees the old one. A reader that is offline (not running) is never waited for.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

namespace bridge {

class Qsbr {
public:
    explicit Qsbr(unsigned readers) : n_(readers), slots_(std::make_unique<Slot[]>(readers)) {}

    [[nodiscard]] unsigned readers() const { return n_; }

    // Reader r starts taking references (its loop begins). Full fence: a synchronize()
    // either sees this reader online or this reader sees what was published before it.
    void online(unsigned r) noexcept {
        slots_[r].seen.store(epoch_.load(std::memory_order_relaxed), std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);
    }
    // Reader r holds no reference (between polls). Release: its reads of old tables happen
    // before the writer that sees this value frees them.
    void quiescent(unsigned r) noexcept {
        slots_[r].seen.store(epoch_.load(std::memory_order_acquire), std::memory_order_release);
    }
    // Reader r stops (its loop ends); synchronize() no longer waits for it.
    void offline(unsigned r) noexcept { slots_[r].seen.store(offline_mark, std::memory_order_release); }

    // Control path: returns once every reader online now has passed a quiescent point, so
    // none still holds a table unpublished before this call.
    void synchronize() {
        const uint64_t e = epoch_.fetch_add(1, std::memory_order_seq_cst) + 1;
        std::atomic_thread_fence(std::memory_order_seq_cst);
        for (unsigned r = 0; r < n_; ++r) {
            while (slots_[r].seen.load(std::memory_order_acquire) < e) {
                std::this_thread::yield();
            }
        }
    }

private:
    static constexpr uint64_t offline_mark = UINT64_MAX;
    struct alignas(64) Slot {
        std::atomic<uint64_t> seen{offline_mark};
    };
    std::atomic<uint64_t> epoch_{0};
    unsigned n_;
    std::unique_ptr<Slot[]> slots_;
};

// A table readers take with one acquire load and the control plane replaces whole: no reader
// ever sees a half-updated one. `retire(old)` runs once no reader can hold `old`.
template <class T>
class Published {
public:
    Published(Qsbr &q, std::unique_ptr<T> first) : q_(q), cur_(first.release()) {}
    ~Published() { delete cur_.load(std::memory_order_relaxed); }
    Published(const Published &) = delete;
    Published &operator=(const Published &) = delete;

    // Data path: valid until the caller's next quiescent().
    [[nodiscard]] const T *get() const noexcept { return cur_.load(std::memory_order_acquire); }
    [[nodiscard]] T *get_mut() noexcept { return cur_.load(std::memory_order_acquire); }

    // Control path (one writer at a time): publishes `next`, waits for the readers, and
    // hands back the old table, which no reader holds any more.
    std::unique_ptr<T> replace(std::unique_ptr<T> next) {
        T *old = cur_.exchange(next.release(), std::memory_order_acq_rel);
        q_.synchronize();
        return std::unique_ptr<T>(old);
    }

private:
    Qsbr &q_;
    std::atomic<T *> cur_;
};

} // namespace bridge
