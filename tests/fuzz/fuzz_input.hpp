// Reads a libFuzzer input as a stream of choices; past the end every read is 0, so any
// input is a complete program. Targets check their invariants with FUZZ_REQUIRE(), which
// traps: libFuzzer reports that as a crash with the input that caused it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace vpmd::fuzz {

class Input {
public:
    Input(const uint8_t *data, size_t size) : p_(data), n_(size) {}
    [[nodiscard]] bool empty() const { return n_ == 0; }
    [[nodiscard]] size_t left() const { return n_; }
    uint8_t byte() {
        if (n_ == 0) {
            return 0;
        }
        --n_;
        return *p_++;
    }
    uint16_t u16() { return uint16_t(byte() | byte() << 8); }
    uint32_t u32() { return uint32_t(u16()) | uint32_t(u16()) << 16; }
    // Up to `max` bytes into `out`; how many were there.
    size_t bytes(void *out, size_t max) {
        const size_t k = max < n_ ? max : n_;
        std::memcpy(out, p_, k);
        p_ += k;
        n_ -= k;
        return k;
    }

private:
    const uint8_t *p_;
    size_t n_;
};

// Traps with the failed check's place on stderr, so a crash report says which invariant
// (a macro: clang 14 with libstdc++ has no std::source_location).
inline void require_at(bool ok, const char *file, int line) {
    if (!ok) {
        std::fprintf(stderr, "fuzz invariant failed: %s:%d\n", file, line);
        __builtin_trap();
    }
}
#define FUZZ_REQUIRE(cond) ::vpmd::fuzz::require_at((cond), __FILE__, __LINE__)

} // namespace vpmd::fuzz
