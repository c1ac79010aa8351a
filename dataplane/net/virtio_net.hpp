// virtio-net device definitions (virtio 1.2 section 5.1): feature bits, the per-packet
// header, and control-queue classes, commands and acks. Pure C++, no DPDK.
#pragma once

#include <cstdint>
#include <cstring>

namespace vpmd::net {

namespace feature {
inline constexpr uint64_t csum = 1ULL << 0;
inline constexpr uint64_t guest_csum = 1ULL << 1;
inline constexpr uint64_t mtu = 1ULL << 3;
inline constexpr uint64_t mac = 1ULL << 5;
inline constexpr uint64_t mrg_rxbuf = 1ULL << 15;
inline constexpr uint64_t status = 1ULL << 16;
inline constexpr uint64_t ctrl_vq = 1ULL << 17;
inline constexpr uint64_t ctrl_rx = 1ULL << 18;
inline constexpr uint64_t ctrl_vlan = 1ULL << 19;
inline constexpr uint64_t mq = 1ULL << 22;
inline constexpr uint64_t ctrl_mac_addr = 1ULL << 23;
} // namespace feature

// With VERSION_1 the header is always 12 bytes (num_buffers is present, 1 without MRG_RXBUF).
struct NetHdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;
};
static_assert(sizeof(NetHdr) == 12);
inline constexpr uint16_t net_hdr_size = sizeof(NetHdr);

// Makes the header in front of a packet a plain "no offloads" tx header, writing only when
// it is not one already: recycled mbufs keep a zero header, so the line stays clean and
// the device reads it without pulling a dirty line from the driver's core.
// num_buffers is a receive field the spec calls unused on transmit, yet still says the
// driver MUST zero; the device that received the mbuf left 1 there, and zeroing it makes
// both cores write the line for every forwarded packet. keep_num_buffers leaves it (as
// DPDK's virtio PMD does); false zeroes it too.
inline void clear_tx_hdr(uint8_t *h, bool keep_num_buffers) {
    uint64_t a;
    uint32_t b;
    std::memcpy(&a, h, 8);
    std::memcpy(&b, h + 8, 4); // csum_offset, num_buffers (little-endian)
    if (keep_num_buffers) {
        b &= 0xffffu;
    }
    if ((a | b) != 0) [[unlikely]] {
        std::memset(h, 0, net_hdr_size);
    }
}

// Control queue: a readable {class, cmd} header, readable command data, a writable ack.
struct CtrlHdr {
    uint8_t cls;
    uint8_t cmd;
};
inline constexpr uint8_t ctrl_ok = 0;
inline constexpr uint8_t ctrl_err = 1;

namespace ctrl {
inline constexpr uint8_t rx = 0;
inline constexpr uint8_t rx_promisc = 0;
inline constexpr uint8_t rx_allmulti = 1;
inline constexpr uint8_t rx_alluni = 2;
inline constexpr uint8_t rx_nomulti = 3;
inline constexpr uint8_t rx_nouni = 4;
inline constexpr uint8_t rx_nobcast = 5;

inline constexpr uint8_t mac = 1;
inline constexpr uint8_t mac_table_set = 0;
inline constexpr uint8_t mac_addr_set = 1;

inline constexpr uint8_t vlan = 2;
inline constexpr uint8_t vlan_add = 0;
inline constexpr uint8_t vlan_del = 1;

inline constexpr uint8_t mq = 4;
inline constexpr uint8_t mq_vq_pairs_set = 0;
inline constexpr uint16_t mq_vq_pairs_min = 1;
inline constexpr uint16_t mq_vq_pairs_max = 0x8000;
} // namespace ctrl

} // namespace vpmd::net
