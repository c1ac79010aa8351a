// A free-running 16-bit ring index that wraps at 2^16, as virtio's split-ring indices do.
// Ordering comparisons are meaningless on a wrapping counter, so the type offers none:
// only distances (this - older), which are always computed the right way round.
#pragma once

#include <cstdint>

namespace vpmd::ring {

class Idx16 {
public:
    constexpr Idx16() = default;
    constexpr explicit Idx16(uint16_t v) : v_(v) {}

    [[nodiscard]] constexpr uint16_t raw() const { return v_; }

    // Distance travelled from an older index to this one, modulo 2^16.
    [[nodiscard]] constexpr uint16_t since(Idx16 older) const {
        return static_cast<uint16_t>(v_ - older.v_);
    }
    [[nodiscard]] constexpr Idx16 operator+(uint16_t n) const {
        return Idx16(static_cast<uint16_t>(v_ + n));
    }
    [[nodiscard]] constexpr Idx16 operator-(uint16_t n) const {
        return Idx16(static_cast<uint16_t>(v_ - n));
    }
    constexpr Idx16 &operator+=(uint16_t n) { return *this = *this + n; }
    constexpr Idx16 &operator++() { return *this += 1; }
    constexpr bool operator==(const Idx16 &) const = default;

private:
    uint16_t v_ = 0;
};

// virtio's event test: does moving an index from `old_idx` to `new_idx` pass `event`,
// i.e. is event in [old, new)? Written on wrapping indices so it holds across 2^16.
[[nodiscard]] constexpr bool need_event(Idx16 event, Idx16 new_idx, Idx16 old_idx) {
    return static_cast<uint16_t>(new_idx.since(event) - 1) < new_idx.since(old_idx);
}

} // namespace vpmd::ring
