// vpmd-perf's packet format: an Ethernet header, then a header with a magic, sequence
// number, TX timestamp (TSC) and checksum, then a fixed fill pattern (so frames are built
// by copying a template, not byte by byte).
// Every packet is checked where it ends up: a run that loses, reorders or corrupts
// packets is reported as failed, not as fast.
#pragma once

#include <cstdint>
#include <cstring>

namespace vpmd::perf {

inline constexpr uint32_t payload_magic = 0x76706d64; // "vpmd"
inline constexpr uint16_t eth_hdr_len = 14;
inline constexpr uint16_t min_frame = 64;

struct PerfHdr {
    uint32_t magic;
    uint32_t csum; // over seq, tsc, length and the sampled fill bytes
    uint64_t seq;
    uint64_t tsc;
    uint32_t len; // whole frame length
};
inline constexpr uint16_t perf_off = eth_hdr_len;
inline constexpr uint16_t fill_off = perf_off + sizeof(PerfHdr);
// Fill bytes checked on every packet: one per this many bytes (one per cache line at
// 64), so big frames are checked without reading them whole; every `full_check_every`th
// packet is checked byte for byte.
inline constexpr uint32_t fill_stride = 32;
inline constexpr uint64_t full_check_every = 16;

inline uint8_t fill_byte(uint32_t i) { return uint8_t((i * 7) ^ (i >> 8) ^ 0x5a); }

inline uint32_t mix(uint32_t h, uint64_t v) {
    h ^= uint32_t(v) + 0x9e3779b9u + (h << 6) + (h >> 2);
    h ^= uint32_t(v >> 32) + 0x9e3779b9u + (h << 6) + (h >> 2);
    return h;
}

inline uint32_t sampled_csum(const uint8_t *frame, uint32_t len, uint64_t seq, uint64_t tsc) {
    uint32_t h = mix(mix(mix(0x12345678u, seq), tsc), len);
    for (uint32_t i = fill_off; i < len; i += fill_stride) {
        h = mix(h, frame[i]);
    }
    return h;
}

// The frame without its PerfHdr: destination broadcast (any receive filter passes).
inline void build_template(uint8_t *frame, uint32_t len) {
    std::memset(frame, 0xff, 6);
    const uint8_t src[6] = {0x02, 0x76, 0x70, 0x6d, 0x64, 0x01};
    std::memcpy(frame + 6, src, 6);
    frame[12] = 0x88;
    frame[13] = 0xb5;
    std::memset(frame + perf_off, 0, sizeof(PerfHdr));
    for (uint32_t i = fill_off; i < len; ++i) {
        frame[i] = fill_byte(i);
    }
}

// The header for a frame copied from `tmpl` (its fill bytes are the template's).
inline PerfHdr make_hdr(const uint8_t *tmpl, uint32_t len, uint64_t seq, uint64_t tsc) {
    PerfHdr h{payload_magic, 0, seq, tsc, len};
    h.csum = sampled_csum(tmpl, len, seq, tsc);
    return h;
}

// Stamps a frame copied from the template.
inline void stamp_frame(uint8_t *frame, uint32_t len, uint64_t seq, uint64_t tsc) {
    PerfHdr h{payload_magic, 0, seq, tsc, len};
    h.csum = sampled_csum(frame, len, seq, tsc);
    std::memcpy(frame + perf_off, &h, sizeof(h));
}

enum class Check { ok, bad_magic, bad_len, bad_csum, bad_fill };

// Checks a received frame (contiguous bytes); returns what is wrong, if anything.
inline Check check_frame(const uint8_t *frame, uint32_t len, PerfHdr &h) {
    if (len < min_frame) {
        return Check::bad_len;
    }
    std::memcpy(&h, frame + perf_off, sizeof(h));
    if (h.magic != payload_magic) {
        return Check::bad_magic;
    }
    if (h.len != len) {
        return Check::bad_len;
    }
    if (h.csum != sampled_csum(frame, len, h.seq, h.tsc)) {
        return Check::bad_csum;
    }
    if (h.seq % full_check_every == 0) {
        for (uint32_t i = fill_off; i < len; ++i) {
            if (frame[i] != fill_byte(i)) {
                return Check::bad_fill;
            }
        }
    }
    return Check::ok;
}

} // namespace vpmd::perf
