// Per-lcore and per-queue counters: each block sits on its own cache line and has exactly
// one writer (the lcore that polls it); readers on the control path sum them when asked.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace vpmd::runtime {

// Single-writer counter. The owner adds with a relaxed load and store (a plain add, no
// lock prefix); a reader's relaxed load sees some recent value, never a torn one.
class Counter {
public:
    void add(uint64_t n) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    [[nodiscard]] uint64_t read() const noexcept { return v_.load(std::memory_order_relaxed); }
    // Control path, with the writer stopped.
    void reset() noexcept { v_.store(0, std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> v_{0};
};

// Plain values of one queue's counters, as read (or summed) on the control path.
struct QueueTotals {
    uint64_t rx_packets = 0;
    uint64_t rx_bytes = 0;
    uint64_t tx_packets = 0;
    uint64_t tx_bytes = 0;
    uint64_t drops = 0;     // packets given up: tx ring full, no room downstream
    uint64_t errors = 0;    // packets the poller could not process (malformed, ...)
    uint64_t nombuf = 0;    // buffers a poller wanted and the pool did not have
    uint64_t bad_csum = 0;  // received packets with a wrong checksum (csum forwarding)

    QueueTotals &operator+=(const QueueTotals &o);
    [[nodiscard]] QueueTotals operator-(const QueueTotals &o) const; // o taken earlier
    bool operator==(const QueueTotals &) const = default;
};

// One (port, queue) as polled by one lcore. The fields mirror QueueTotals.
struct alignas(64) QueueCounters {
    Counter rx_packets, rx_bytes, tx_packets, tx_bytes, drops, errors, nombuf, bad_csum;

    [[nodiscard]] QueueTotals read() const;
    void reset();
};
static_assert(sizeof(QueueCounters) == 64, "one cache line per queue block");

// Cycles as measured by the loop: busy = rounds in which some poller did work.
struct LcoreTotals {
    unsigned lcore = 0;
    uint64_t busy_cycles = 0;
    uint64_t idle_cycles = 0;
    uint64_t rounds = 0;
    uint64_t busy_rounds = 0;
    uint64_t work = 0; // sum of what the pollers returned (packets)

    LcoreTotals &operator+=(const LcoreTotals &o);
    [[nodiscard]] LcoreTotals operator-(const LcoreTotals &o) const;
    // 0 when no work was done (not NaN).
    [[nodiscard]] double busy_cycles_per_unit() const;
    [[nodiscard]] double busy_fraction() const;
};

struct alignas(64) LcoreCounters {
    Counter busy_cycles, idle_cycles, rounds, busy_rounds, work;

    [[nodiscard]] LcoreTotals read(unsigned lcore) const;
    void reset();
};
static_assert(sizeof(LcoreCounters) == 64);

struct QueueKey {
    uint16_t port = 0;
    uint16_t queue = 0;
    auto operator<=>(const QueueKey &) const = default;
};

// Totals of one key (a queue, or a whole port with queue = 0xffff).
struct KeyedTotals {
    QueueKey key;
    QueueTotals totals;
};

// Every per-queue counter block of a run, keyed by (lcore, port, queue). Blocks are
// created on the control path before the loops start and never move afterwards, so a
// poller may keep a plain pointer to its block; reads may run while loops run.
class CounterTable {
public:
    static constexpr uint16_t all_queues = 0xffff;

    // The block for this key, created on first request. Control path only.
    QueueCounters &slot(unsigned lcore, uint16_t port, uint16_t queue);

    // Sums, sorted by key. A queue polled from two lcores (rx on one, tx on another) is
    // one entry.
    [[nodiscard]] std::vector<KeyedTotals> by_queue() const;
    [[nodiscard]] std::vector<KeyedTotals> by_port() const; // key.queue == all_queues
    [[nodiscard]] QueueTotals total() const;
    [[nodiscard]] QueueTotals lcore_total(unsigned lcore) const;
    [[nodiscard]] size_t size() const { return slots_.size(); }
    void reset();

private:
    struct Slot {
        unsigned lcore;
        QueueKey key;
        std::unique_ptr<QueueCounters> counters; // stable address, own cache line
    };
    std::vector<Slot> slots_;
};

} // namespace vpmd::runtime
