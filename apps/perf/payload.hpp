// vpmd-perf's packet format: an Ethernet header, then a header with a magic, sequence
// number, TX timestamp (TSC) and checksum, then a fixed fill pattern (so frames are built
// by copying a template, not byte by byte).
// Every packet is checked where it ends up: a run that loses, reorders or corrupts
// packets is reported as failed, not as fast.
#pragma once

#include <cstdint>
#include <cstring>

#include "dataplane/net/offload.hpp"

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
// TCP frames (the offload scenarios): Ethernet, IPv4 and TCP headers come first.
inline constexpr uint16_t ipv4_hdr_len = 20, tcp_hdr_len = 20;
inline constexpr uint16_t tcp_perf_off = eth_hdr_len + ipv4_hdr_len + tcp_hdr_len;
// Where the PerfHdr sits and where the checked fill starts, by frame kind.
struct FrameFormat {
    uint16_t hdr_off = perf_off;
    uint16_t fill() const { return uint16_t(hdr_off + sizeof(PerfHdr)); }
};
// Fill bytes checked on every packet: one per this many bytes (one per cache line at
// 64), so big frames are checked without reading them whole; every `full_check_every`th
// packet is checked byte for byte.
inline constexpr uint32_t fill_stride = 32;
inline constexpr uint64_t full_check_every = 16;

inline uint8_t fill_byte(uint32_t i) { return uint8_t((i * 7) ^ (i >> 8) ^ 0x5a); }

// One step of the frame hash: xor, an odd multiply, an xor-shift. For a fixed state it is
// a bijection of the input and for a fixed input one of the state, so a change to any
// single input always changes the 64-bit state. A step is four instructions, and a
// template's part is hashed once (fill_hash): the packet build and check run on every
// packet, and would otherwise weigh on the rate as much as a driver's own work.
inline uint64_t fold(uint64_t h, uint64_t v) {
    h = (h ^ v) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

// The part of the hash a frame's template fixes: its length and its sampled fill bytes.
inline uint64_t fill_hash(const uint8_t *frame, uint32_t len, FrameFormat fmt = {}) {
    uint64_t h = fold(0x12345678u, len);
    uint64_t word = 0; // the samples, eight to a step (how many is fixed by len)
    unsigned n = 0;
    for (uint32_t i = fmt.fill(); i < len; i += fill_stride) {
        word = word << 8 | frame[i];
        if (++n == 8) {
            h = fold(h, word);
            word = 0;
            n = 0;
        }
    }
    return fold(h, word);
}

// The checksum: the fill's hash, then the sequence number and the timestamp.
inline uint32_t finish_csum(uint64_t fill, uint64_t seq, uint64_t tsc) {
    const uint64_t h = fold(fold(fill, seq), tsc);
    return uint32_t(h ^ (h >> 32));
}

inline uint32_t sampled_csum(const uint8_t *frame, uint32_t len, uint64_t seq, uint64_t tsc,
                             FrameFormat fmt = {}) {
    return finish_csum(fill_hash(frame, len, fmt), seq, tsc);
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

// The header for a frame copied from a template whose fill_hash is `fill`.
inline PerfHdr make_hdr(uint64_t fill, uint32_t len, uint64_t seq, uint64_t tsc) {
    return PerfHdr{payload_magic, finish_csum(fill, seq, tsc), seq, tsc, len};
}

// A TCP/IPv4 frame (10.0.0.1:1000 -> 10.0.0.2:2000, ACK) around the PerfHdr and fill. The
// IPv4 checksum is complete; the TCP checksum field holds the pseudo-header sum, as DPDK
// asks of an application that offloads it (without the length for TSO, whose segments
// each have their own).
inline void build_tcp_template(uint8_t *frame, uint32_t len, bool tso) {
    std::memset(frame, 0xff, 6);
    const uint8_t src[6] = {0x02, 0x76, 0x70, 0x6d, 0x64, 0x01};
    std::memcpy(frame + 6, src, 6);
    frame[12] = 0x08;
    frame[13] = 0x00;
    uint8_t *ip = frame + eth_hdr_len;
    std::memset(ip, 0, ipv4_hdr_len + tcp_hdr_len);
    const uint16_t total = uint16_t(len - eth_hdr_len);
    ip[0] = 0x45;
    ip[2] = uint8_t(total >> 8);
    ip[3] = uint8_t(total);
    ip[8] = 64;
    ip[9] = 6; // TCP
    const uint8_t addrs[8] = {10, 0, 0, 1, 10, 0, 0, 2};
    std::memcpy(ip + 12, addrs, 8);
    net::Checksum ipc;
    ipc.add({ip, ipv4_hdr_len});
    net::store_be16(ip + 10, ipc.field());
    uint8_t *tcp = ip + ipv4_hdr_len;
    tcp[0] = 0x03; tcp[1] = 0xe8; // 1000
    tcp[2] = 0x07; tcp[3] = 0xd0; // 2000
    tcp[12] = 5 << 4;
    tcp[13] = 0x10; // ACK
    tcp[14] = 0xff; tcp[15] = 0xff;
    const uint16_t l4 = uint16_t(total - ipv4_hdr_len);
    const uint8_t pseudo[4] = {0, 6, uint8_t(tso ? 0 : l4 >> 8), uint8_t(tso ? 0 : l4)};
    net::Checksum ph; // the sum itself, not inverted: the device completes it
    ph.add(addrs);
    ph.add(pseudo);
    net::store_be16(tcp + 16, ph.folded());
    const FrameFormat fmt{tcp_perf_off};
    std::memset(frame + fmt.hdr_off, 0, sizeof(PerfHdr));
    for (uint32_t i = fmt.fill(); i < len; ++i) {
        frame[i] = fill_byte(i);
    }
}

enum class Check { ok, bad_magic, bad_len, bad_csum, bad_fill };

// Checks a received frame (contiguous bytes); returns what is wrong, if anything.
inline Check check_frame(const uint8_t *frame, uint32_t len, PerfHdr &h, FrameFormat fmt = {}) {
    if (len < min_frame || len < fmt.fill()) {
        return Check::bad_len;
    }
    std::memcpy(&h, frame + fmt.hdr_off, sizeof(h));
    if (h.magic != payload_magic) {
        return Check::bad_magic;
    }
    if (h.len != len) {
        return Check::bad_len;
    }
    if (h.csum != sampled_csum(frame, len, h.seq, h.tsc, fmt)) {
        return Check::bad_csum;
    }
    if (h.seq % full_check_every == 0) {
        for (uint32_t i = fmt.fill(); i < len; ++i) {
            if (frame[i] != fill_byte(i)) {
                return Check::bad_fill;
            }
        }
    }
    return Check::ok;
}

} // namespace vpmd::perf
