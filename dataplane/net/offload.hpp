// Checksum and segmentation offloads (virtio 1.2 5.1.6): what a transmit request becomes
// in the virtio-net header, and what a received header says about its frame. Pure C++,
// no DPDK: the PMD maps mbuf fields to TxRequest and RxInfo to ol_flags.
// The receive side reads a header the device wrote: every offset in it is checked against
// the frame before it is used, and a header that does not fit its frame is refused.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>

#include "dataplane/net/virtio_net.hpp"

namespace vpmd::net {

namespace feature {
inline constexpr uint64_t guest_tso4 = 1ULL << 7;
inline constexpr uint64_t guest_tso6 = 1ULL << 8;
inline constexpr uint64_t guest_ecn = 1ULL << 9;
inline constexpr uint64_t guest_ufo = 1ULL << 10;
inline constexpr uint64_t host_tso4 = 1ULL << 11;
inline constexpr uint64_t host_tso6 = 1ULL << 12;
inline constexpr uint64_t rss = 1ULL << 60;
// What set_offloads() negotiates on demand.
inline constexpr uint64_t offload_mask = csum | guest_csum | guest_tso4 | guest_tso6 | host_tso4 | host_tso6;
} // namespace feature

// "VIRTIO_NET_F_CSUM, VIRTIO_NET_F_HOST_TSO4" for the offload bits set in `bits`.
inline std::string offload_feature_names(uint64_t bits) {
    static constexpr std::pair<uint64_t, const char *> names[] = {
        {feature::csum, "CSUM"},           {feature::guest_csum, "GUEST_CSUM"}, {feature::guest_tso4, "GUEST_TSO4"},
        {feature::guest_tso6, "GUEST_TSO6"}, {feature::host_tso4, "HOST_TSO4"},  {feature::host_tso6, "HOST_TSO6"},
        {feature::rss, "RSS"}};
    std::string s;
    for (const auto &[bit, name] : names) {
        if (bits & bit) {
            s += (s.empty() ? "VIRTIO_NET_F_" : ", VIRTIO_NET_F_") + std::string(name);
        }
    }
    return s;
}

namespace hdr_flag {
inline constexpr uint8_t needs_csum = 1; // checksum from csum_start to the end, at csum_start + csum_offset
inline constexpr uint8_t data_valid = 2; // rx only: the device checked the checksum
} // namespace hdr_flag

namespace gso {
inline constexpr uint8_t none = 0;
inline constexpr uint8_t tcpv4 = 1;
inline constexpr uint8_t udp = 3;
inline constexpr uint8_t tcpv6 = 4;
inline constexpr uint8_t ecn = 0x80;
} // namespace gso

// Where the checksum field sits in each L4 header.
inline constexpr uint16_t tcp_csum_offset = 16;
inline constexpr uint16_t udp_csum_offset = 6;
inline constexpr uint16_t tcp_min_hdr = 20;
inline constexpr uint16_t udp_hdr = 8;

// ---- transmit -------------------------------------------------------------------------

// What the application asked for one packet (an mbuf's ol_flags and lengths).
struct TxRequest {
    enum class L4 : uint8_t { none, tcp, udp };
    L4 csum = L4::none; // the L4 checksum field holds the pseudo-header sum (DPDK's contract)
    bool tso = false;   // TCP segmentation: implies the TCP checksum
    bool ipv6 = false;  // for tso: TCPv6 rather than TCPv4
    uint16_t l2_len = 0, l3_len = 0, l4_len = 0;
    uint16_t segsz = 0; // tso: payload bytes per segment
};

enum class TxHdrError : uint8_t { ok, no_l4_for_tso, zero_segsz, headers_beyond_frame, csum_beyond_frame };

// Fills `h` (num_buffers left alone) for a packet of pkt_len bytes. A request the device
// could not carry out on this frame is refused, so it never leaves the driver.
inline TxHdrError make_tx_hdr(const TxRequest &r, uint32_t pkt_len, NetHdr &h) {
    h.flags = 0;
    h.gso_type = gso::none;
    h.hdr_len = 0;
    h.gso_size = 0;
    h.csum_start = 0;
    h.csum_offset = 0;
    const TxRequest::L4 l4 = r.tso ? TxRequest::L4::tcp : r.csum;
    if (l4 == TxRequest::L4::none) {
        return TxHdrError::ok;
    }
    const uint32_t start = uint32_t(r.l2_len) + r.l3_len;
    const uint16_t off = l4 == TxRequest::L4::tcp ? tcp_csum_offset : udp_csum_offset;
    if (start + off + 2 > pkt_len) {
        return TxHdrError::csum_beyond_frame;
    }
    h.flags = hdr_flag::needs_csum;
    h.csum_start = uint16_t(start);
    h.csum_offset = off;
    if (!r.tso) {
        return TxHdrError::ok;
    }
    if (r.l4_len < tcp_min_hdr) {
        return TxHdrError::no_l4_for_tso;
    }
    if (r.segsz == 0) {
        return TxHdrError::zero_segsz;
    }
    const uint32_t hdr_len = start + r.l4_len;
    if (hdr_len > pkt_len) {
        return TxHdrError::headers_beyond_frame;
    }
    h.gso_type = r.ipv6 ? gso::tcpv6 : gso::tcpv4;
    h.gso_size = r.segsz;
    h.hdr_len = uint16_t(hdr_len);
    return TxHdrError::ok;
}

// ---- frames ---------------------------------------------------------------------------

// The headers of an Ethernet frame, as far as they lie within `head` (bounds-checked).
struct FrameLayout {
    uint16_t l2_len = 0, l3_len = 0, l4_len = 0;
    uint8_t ip = 0;    // 4, 6, or 0: not IP
    uint8_t proto = 0; // 6 TCP, 17 UDP, other, 0 when unknown
    bool l4_known() const { return l4_len != 0; }
};

inline constexpr uint8_t ip_proto_tcp = 6;
inline constexpr uint8_t ip_proto_udp = 17;

inline uint16_t be16(const uint8_t *p) { return uint16_t((p[0] << 8) | p[1]); }

// Ethernet, up to two VLAN tags, IPv4 (with options) or IPv6 (no extension headers),
// TCP or UDP. Stops where the frame or `head` ends.
inline FrameLayout parse_frame(std::span<const uint8_t> head) {
    FrameLayout f;
    const size_t n = head.size();
    const uint8_t *d = head.data();
    size_t off = 12;
    if (n < off + 2) {
        return f;
    }
    uint16_t type = be16(d + off);
    for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8); ++tags) {
        off += 4;
        if (n < off + 2) {
            return f;
        }
        type = be16(d + off);
    }
    off += 2;
    f.l2_len = uint16_t(off);
    if (type == 0x0800) {
        if (n < off + 20 || (d[off] >> 4) != 4 || (d[off] & 0xf) < 5 || n < off + (d[off] & 0xfu) * 4) {
            return f;
        }
        f.ip = 4;
        f.l3_len = uint16_t((d[off] & 0xf) * 4);
        f.proto = d[off + 9];
        const uint16_t frag = be16(d + off + 6);
        if ((frag & 0x3fff) != 0) { // a fragment: no L4 header of its own to speak of
            f.proto = 0;
            return f;
        }
    } else if (type == 0x86dd) {
        if (n < off + 40 || (d[off] >> 4) != 6) {
            return f;
        }
        f.ip = 6;
        f.l3_len = 40;
        f.proto = d[off + 6];
    } else {
        return f;
    }
    off += f.l3_len;
    if (f.proto == ip_proto_tcp && n >= off + tcp_min_hdr) {
        const uint16_t len = uint16_t((d[off + 12] >> 4) * 4);
        if (len >= tcp_min_hdr && n >= off + len) {
            f.l4_len = len;
        }
    } else if (f.proto == ip_proto_udp && n >= off + udp_hdr) {
        f.l4_len = udp_hdr;
    }
    return f;
}

// ---- receive --------------------------------------------------------------------------

// What a received header says, for the PMD to turn into ol_flags.
struct RxInfo {
    enum class Csum : uint8_t {
        unknown, // nothing said (or a checksum the driver finished itself at an odd place)
        good,    // DATA_VALID on TCP/UDP: the device checked it
        none,    // NEEDS_CSUM on TCP/UDP: data intact, the checksum field not filled in
    };
    Csum l4 = Csum::unknown;
    bool lro = false;     // a coalesced TCP packet (GSO on receive)
    uint16_t segsz = 0;   // lro: the segment size the device saw
    bool sw_csum = false; // the driver must compute the checksum from csum_start to the end
                          // and store it at csum_start + csum_offset (within `head`)
    uint16_t csum_start = 0, csum_offset = 0;
    FrameLayout frame;
};

enum class RxHdrError : uint8_t {
    ok,
    bad_gso_type,      // not negotiated (ECN, UDP) or unknown
    zero_gso_size,
    gso_not_tcp,       // a TCP GSO type on a frame that is not TCP over that IP version
    csum_beyond_frame, // csum_start + csum_offset + 2 past the frame (or, to finish, past head)
};

// `head` is the frame's first segment (the headers are there: the driver posts buffers of
// at least 64 bytes of data room past the header); pkt_len the whole frame.
// tso_ok: GUEST_TSO4/6 were negotiated.
inline RxHdrError read_rx_hdr(const NetHdr &h, std::span<const uint8_t> head, uint32_t pkt_len, bool tso_ok,
                              RxInfo &out) {
    out = RxInfo{};
    out.frame = parse_frame(head);
    const FrameLayout &f = out.frame;
    const bool tcp_udp = f.l4_known() && (f.proto == ip_proto_tcp || f.proto == ip_proto_udp);
    if (h.flags & hdr_flag::needs_csum) {
        const uint32_t field = uint32_t(h.csum_start) + h.csum_offset;
        if (field + 2 > pkt_len) {
            return RxHdrError::csum_beyond_frame;
        }
        const uint16_t expected = f.proto == ip_proto_tcp ? tcp_csum_offset : udp_csum_offset;
        if (tcp_udp && h.csum_start == f.l2_len + f.l3_len && h.csum_offset == expected) {
            out.l4 = RxInfo::Csum::none;
        } else {
            if (field + 2 > head.size()) {
                return RxHdrError::csum_beyond_frame;
            }
            out.sw_csum = true;
            out.csum_start = h.csum_start;
            out.csum_offset = h.csum_offset;
        }
    } else if ((h.flags & hdr_flag::data_valid) && tcp_udp) {
        out.l4 = RxInfo::Csum::good;
    }
    if (h.gso_type == gso::none) {
        return RxHdrError::ok;
    }
    if (!tso_ok || (h.gso_type != gso::tcpv4 && h.gso_type != gso::tcpv6)) {
        return RxHdrError::bad_gso_type;
    }
    if (h.gso_size == 0) {
        return RxHdrError::zero_gso_size;
    }
    if (f.proto != ip_proto_tcp || !f.l4_known() || f.ip != (h.gso_type == gso::tcpv4 ? 4 : 6)) {
        return RxHdrError::gso_not_tcp;
    }
    out.lro = true;
    out.segsz = h.gso_size;
    if (!out.sw_csum) {
        out.l4 = RxInfo::Csum::none;
    }
    return RxHdrError::ok;
}

// ---- the Internet checksum -------------------------------------------------------------

// One's-complement sum of big-endian 16-bit words over data fed in pieces of any length
// (an odd piece carries its last byte over to the next).
class Checksum {
public:
    void add(std::span<const uint8_t> bytes) {
        size_t i = 0;
        const uint8_t *p = bytes.data();
        if (odd_ && !bytes.empty()) {
            sum_ += p[0];
            i = 1;
            odd_ = false;
        }
        for (; i + 1 < bytes.size(); i += 2) {
            sum_ += uint32_t((p[i] << 8) | p[i + 1]);
        }
        if (i < bytes.size()) {
            sum_ += uint32_t(p[i]) << 8;
            odd_ = true;
        }
    }
    // The folded sum (not inverted).
    [[nodiscard]] uint16_t folded() const {
        uint64_t s = sum_;
        while (s >> 16) {
            s = (s & 0xffff) + (s >> 16);
        }
        return uint16_t(s);
    }
    // What goes into a checksum field: the inverted sum; 0xffff rather than 0, which a UDP
    // receiver reads as "no checksum" (the two are the same in one's complement).
    [[nodiscard]] uint16_t field() const {
        const uint16_t s = folded();
        return s == 0xffff ? s : uint16_t(~s);
    }

private:
    uint64_t sum_ = 0;
    bool odd_ = false;
};

// Stores a 16-bit value big-endian at p (a checksum field).
inline void store_be16(uint8_t *p, uint16_t v) {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}

} // namespace vpmd::net
