// The bridge's MAC learning table: open addressing over one fixed array of 64-bit words, a
// word holding (valid, port, MAC) so a reader never sees a MAC with another entry's port.
// Any lcore learns and looks up without locks; only the control plane ages entries out
// (they become tombstones, which learners never reuse, so a MAC has at most one slot). When
// tombstones pile up the control plane copies the live entries into a fresh table and swaps
// it in (Published<MacTable>): what is learned during the copy is simply learned again.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace bridge {

using Mac = uint64_t; // 48 bits, first byte of the address in the most significant position

inline Mac mac_from(const uint8_t *p) noexcept {
    Mac m = 0;
    for (int i = 0; i < 6; ++i) {
        m = (m << 8) | p[i];
    }
    return m;
}
inline bool is_multicast(Mac m) noexcept { return (m >> 40) & 1; } // I/G bit; broadcast too

class MacTable {
public:
    static constexpr int no_port = -1;

    // `capacity`: rounded up to a power of two; learning stops at 3/4 full (probe lengths
    // stay short) until aging frees room.
    explicit MacTable(size_t capacity) : mask_(round_up(capacity) - 1), slots_(std::make_unique<Slot[]>(mask_ + 1)) {}

    // Data path, any lcore. false: the table is full, `mac` was not learned.
    bool learn(Mac mac, uint16_t port, uint32_t now) noexcept {
        const uint64_t want = live_bit | (uint64_t(port & port_mask) << 48) | mac;
        for (size_t i = 0, h = hash(mac); i <= mask_; ++i) {
            Slot &s = slots_[(h + i) & mask_];
            uint64_t w = s.word.load(std::memory_order_acquire);
            if (w == empty) {
                if (used_.load(std::memory_order_relaxed) >= limit()) {
                    return false;
                }
                if (s.word.compare_exchange_strong(w, want, std::memory_order_acq_rel)) {
                    s.seen.store(now, std::memory_order_relaxed);
                    used_.fetch_add(1, std::memory_order_relaxed);
                    return true;
                }
                // Another lcore took the slot first: `w` is what it wrote; look at it below.
            }
            if ((w & live_bit) != 0 && (w & mac_mask) == mac) {
                while (w != want && (w & live_bit) != 0 && (w & mac_mask) == mac &&
                       !s.word.compare_exchange_weak(w, want, std::memory_order_acq_rel)) {
                }
                if (s.seen.load(std::memory_order_relaxed) != now) { // no store, no line bounce
                    s.seen.store(now, std::memory_order_relaxed);
                }
                return true;
            }
        }
        return false;
    }

    // Data path, any lcore: the port `mac` was learned on, or no_port.
    [[nodiscard]] int lookup(Mac mac) const noexcept {
        for (size_t i = 0, h = hash(mac); i <= mask_; ++i) {
            const uint64_t w = slots_[(h + i) & mask_].word.load(std::memory_order_acquire);
            if (w == empty) {
                return no_port;
            }
            if ((w & live_bit) != 0 && (w & mac_mask) == mac) {
                return int((w >> 48) & port_mask);
            }
        }
        return no_port;
    }

    // Control path (one thread): entries not seen for more than `max_age` become
    // tombstones. Returns how many.
    size_t age(uint32_t now, uint32_t max_age) {
        size_t n = 0;
        for (size_t i = 0; i <= mask_; ++i) {
            Slot &s = slots_[i];
            uint64_t w = s.word.load(std::memory_order_acquire);
            if ((w & live_bit) != 0 && now - s.seen.load(std::memory_order_relaxed) > max_age &&
                s.word.compare_exchange_strong(w, tombstone, std::memory_order_acq_rel)) {
                ++n;
            }
        }
        tombstones_ += n;
        return n;
    }

    // Calls fn(mac, port, seen) for every live entry. Control path.
    template <class F>
    void each(F &&fn) const {
        for (size_t i = 0; i <= mask_; ++i) {
            const uint64_t w = slots_[i].word.load(std::memory_order_acquire);
            if ((w & live_bit) != 0) {
                fn(Mac(w & mac_mask), uint16_t((w >> 48) & port_mask), slots_[i].seen.load(std::memory_order_relaxed));
            }
        }
    }

    [[nodiscard]] size_t capacity() const { return mask_ + 1; }
    [[nodiscard]] size_t live() const { return used_.load(std::memory_order_relaxed) - tombstones_; }
    [[nodiscard]] size_t tombstones() const { return tombstones_; }

private:
    static constexpr uint64_t empty = 0;
    static constexpr uint64_t tombstone = 1; // not live, not empty: probing goes on past it
    static constexpr uint64_t live_bit = 1ull << 63;
    static constexpr uint64_t port_mask = 0x7fff;
    static constexpr uint64_t mac_mask = (1ull << 48) - 1;

    struct Slot {
        std::atomic<uint64_t> word{empty};
        std::atomic<uint32_t> seen{0};
    };

    static size_t round_up(size_t n) {
        size_t p = 16;
        while (p < n) {
            p <<= 1;
        }
        return p;
    }
    [[nodiscard]] size_t hash(Mac m) const noexcept { return size_t((m * 0x9e3779b97f4a7c15ull) >> 20); }
    [[nodiscard]] size_t limit() const { return (mask_ + 1) / 4 * 3; }

    size_t mask_;
    std::unique_ptr<Slot[]> slots_;
    std::atomic<size_t> used_{0}; // live + tombstones
    size_t tombstones_ = 0;       // control plane only
};

} // namespace bridge
