// dataplane/net/offload.hpp: every field of the tx header from a request, every rx header
// case against real frames, malformed headers from the device refused without a read past
// the frame (the frames are exact-size heap buffers: ASan sees any overrun), and the
// Internet checksum.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "dataplane/net/offload.hpp"

using namespace vpmd::net;

namespace {

// An Ethernet frame with optional VLAN tags, IPv4 (ihl words) or IPv6, TCP or UDP, and
// `payload` bytes.
std::vector<uint8_t> frame(int ip, uint8_t proto, uint32_t payload, int vlans = 0, int ihl = 5, int tcp_words = 5) {
    std::vector<uint8_t> f(12, 0x02);
    for (int i = 0; i < vlans; ++i) {
        f.insert(f.end(), {0x81, 0x00, 0x00, uint8_t(10 + i)});
    }
    const uint32_t l4 = proto == ip_proto_tcp ? uint32_t(tcp_words) * 4 : proto == ip_proto_udp ? 8 : 0;
    if (ip == 4) {
        f.insert(f.end(), {0x08, 0x00});
        const size_t at = f.size();
        f.resize(at + size_t(ihl) * 4, 0);
        f[at] = uint8_t(0x40 | ihl);
        f[at + 9] = proto;
    } else {
        f.insert(f.end(), {0x86, 0xdd});
        const size_t at = f.size();
        f.resize(at + 40, 0);
        f[at] = 0x60;
        f[at + 6] = proto;
    }
    const size_t at = f.size();
    f.resize(at + l4 + payload, 0x33);
    if (proto == ip_proto_tcp) {
        f[at + 12] = uint8_t(tcp_words << 4);
    }
    return f;
}

// The frame copied into a heap block of exactly its size.
struct Exact {
    std::unique_ptr<uint8_t[]> p;
    size_t n;
    explicit Exact(const std::vector<uint8_t> &v, size_t len) : p(new uint8_t[len]), n(len) {
        std::memcpy(p.get(), v.data(), len);
    }
    std::span<const uint8_t> span() const { return {p.get(), n}; }
};

NetHdr hdr(uint8_t flags, uint8_t gso_type, uint16_t gso_size, uint16_t start, uint16_t off) {
    NetHdr h{};
    h.flags = flags;
    h.gso_type = gso_type;
    h.gso_size = gso_size;
    h.csum_start = start;
    h.csum_offset = off;
    return h;
}

// ---- transmit ---------------------------------------------------------------------------

TEST(TxHdr, NoRequestIsAPlainHeader) {
    NetHdr h;
    std::memset(&h, 0xee, sizeof(h));
    ASSERT_EQ(make_tx_hdr(TxRequest{}, 60, h), TxHdrError::ok);
    EXPECT_EQ(h.flags, 0);
    EXPECT_EQ(h.gso_type, gso::none);
    EXPECT_EQ(h.hdr_len, 0);
    EXPECT_EQ(h.gso_size, 0);
    EXPECT_EQ(h.csum_start, 0);
    EXPECT_EQ(h.csum_offset, 0);
    EXPECT_EQ(h.num_buffers, 0xeeee); // left to the caller
}

TEST(TxHdr, TcpAndUdpChecksumPointAtTheirFields) {
    NetHdr h{};
    TxRequest r;
    r.csum = TxRequest::L4::tcp;
    r.l2_len = 18;
    r.l3_len = 20;
    ASSERT_EQ(make_tx_hdr(r, 100, h), TxHdrError::ok);
    EXPECT_EQ(h.flags, hdr_flag::needs_csum);
    EXPECT_EQ(h.csum_start, 38);
    EXPECT_EQ(h.csum_offset, 16);
    EXPECT_EQ(h.gso_type, gso::none);
    r.csum = TxRequest::L4::udp;
    r.l3_len = 40;
    ASSERT_EQ(make_tx_hdr(r, 100, h), TxHdrError::ok);
    EXPECT_EQ(h.csum_start, 58);
    EXPECT_EQ(h.csum_offset, 6);
}

TEST(TxHdr, TsoFillsEveryGsoField) {
    for (const bool v6 : {false, true}) {
        NetHdr h{};
        TxRequest r;
        r.tso = true; // implies the TCP checksum even without csum = tcp
        r.ipv6 = v6;
        r.l2_len = 14;
        r.l3_len = v6 ? 40 : 20;
        r.l4_len = 32;
        r.segsz = 1448;
        ASSERT_EQ(make_tx_hdr(r, 9000, h), TxHdrError::ok);
        EXPECT_EQ(h.flags, hdr_flag::needs_csum);
        EXPECT_EQ(h.gso_type, v6 ? gso::tcpv6 : gso::tcpv4);
        EXPECT_EQ(h.gso_size, 1448);
        EXPECT_EQ(h.hdr_len, 14 + r.l3_len + 32);
        EXPECT_EQ(h.csum_start, 14 + r.l3_len);
        EXPECT_EQ(h.csum_offset, tcp_csum_offset);
    }
}

TEST(TxHdr, RequestsTheFrameCannotHoldAreRefused) {
    NetHdr h{};
    TxRequest r;
    r.csum = TxRequest::L4::tcp;
    r.l2_len = 14;
    r.l3_len = 20;
    EXPECT_EQ(make_tx_hdr(r, 34 + 17, h), TxHdrError::csum_beyond_frame); // field ends at 52
    EXPECT_EQ(make_tx_hdr(r, 34 + 18, h), TxHdrError::ok);
    r.tso = true;
    r.segsz = 100;
    r.l4_len = 19;
    EXPECT_EQ(make_tx_hdr(r, 1000, h), TxHdrError::no_l4_for_tso);
    r.l4_len = 20;
    r.segsz = 0;
    EXPECT_EQ(make_tx_hdr(r, 1000, h), TxHdrError::zero_segsz);
    r.segsz = 100;
    r.l4_len = 60;
    EXPECT_EQ(make_tx_hdr(r, 90, h), TxHdrError::headers_beyond_frame);
    EXPECT_EQ(make_tx_hdr(r, 94, h), TxHdrError::ok);
}

// ---- frames -------------------------------------------------------------------------------

TEST(ParseFrame, FindsEachLayer) {
    struct Case {
        int ip, vlans, ihl, words;
        uint8_t proto;
        uint16_t l2, l3, l4;
    } cases[] = {
        {4, 0, 5, 5, ip_proto_tcp, 14, 20, 20}, {4, 1, 5, 8, ip_proto_tcp, 18, 20, 32},
        {4, 2, 7, 5, ip_proto_udp, 22, 28, 8},  {6, 0, 5, 5, ip_proto_udp, 14, 40, 8},
        {6, 1, 5, 15, ip_proto_tcp, 18, 40, 60}, {4, 0, 5, 5, 1 /* ICMP */, 14, 20, 0},
    };
    for (const auto &c : cases) {
        const auto v = frame(c.ip, c.proto, 10, c.vlans, c.ihl, c.words);
        const FrameLayout f = parse_frame(Exact(v, v.size()).span());
        EXPECT_EQ(f.ip, c.ip);
        EXPECT_EQ(f.proto, c.proto);
        EXPECT_EQ(f.l2_len, c.l2);
        EXPECT_EQ(f.l3_len, c.l3);
        EXPECT_EQ(f.l4_len, c.l4);
    }
}

TEST(ParseFrame, FragmentsAndOddHeadersHaveNoL4) {
    auto v = frame(4, ip_proto_tcp, 10);
    v[14 + 6] = 0x20; // more fragments
    EXPECT_FALSE(parse_frame(v).l4_known());
    v = frame(4, ip_proto_tcp, 10);
    v[14] = 0x44; // ihl 4: not a valid IPv4 header
    EXPECT_EQ(parse_frame(v).ip, 0);
    v = frame(4, ip_proto_tcp, 10);
    v[14 + 20 + 12] = 0x40; // data offset 4 words
    EXPECT_FALSE(parse_frame(v).l4_known());
    v = frame(4, ip_proto_tcp, 0);
    v[12] = 0x08;
    v[13] = 0x06; // ARP
    EXPECT_EQ(parse_frame(v).ip, 0);
}

// Every prefix of every frame: the parser stops at the end, and never claims a layer
// that does not fit.
TEST(ParseFrame, EveryTruncationStaysInside) {
    for (const int ip : {4, 6}) {
        for (const uint8_t proto : {ip_proto_tcp, ip_proto_udp}) {
            for (int vlans = 0; vlans <= 2; ++vlans) {
                const auto v = frame(ip, proto, 0, vlans, 6, 6);
                for (size_t len = 0; len <= v.size(); ++len) {
                    const FrameLayout f = parse_frame(Exact(v, len).span());
                    EXPECT_LE(size_t(f.l2_len) + f.l3_len + f.l4_len, len);
                    EXPECT_EQ(f.l4_known(), len == v.size()) << "len " << len;
                }
            }
        }
    }
}

// ---- receive ------------------------------------------------------------------------------

TEST(RxHdr, PlainHeaderSaysNothing) {
    const auto v = frame(4, ip_proto_tcp, 100);
    RxInfo i;
    ASSERT_EQ(read_rx_hdr(NetHdr{}, v, uint32_t(v.size()), true, i), RxHdrError::ok);
    EXPECT_EQ(i.l4, RxInfo::Csum::unknown);
    EXPECT_FALSE(i.lro);
    EXPECT_FALSE(i.sw_csum);
}

TEST(RxHdr, DataValidIsGoodOnlyForTcpAndUdp) {
    RxInfo i;
    for (const uint8_t proto : {ip_proto_tcp, ip_proto_udp}) {
        const auto v = frame(6, proto, 100);
        ASSERT_EQ(read_rx_hdr(hdr(hdr_flag::data_valid, 0, 0, 0, 0), v, uint32_t(v.size()), true, i), RxHdrError::ok);
        EXPECT_EQ(i.l4, RxInfo::Csum::good);
    }
    const auto icmp = frame(4, 1, 100);
    ASSERT_EQ(read_rx_hdr(hdr(hdr_flag::data_valid, 0, 0, 0, 0), icmp, uint32_t(icmp.size()), true, i),
              RxHdrError::ok);
    EXPECT_EQ(i.l4, RxInfo::Csum::unknown);
}

TEST(RxHdr, NeedsCsumAtTheL4FieldIsNone) {
    RxInfo i;
    const auto v = frame(4, ip_proto_tcp, 100, 1);
    ASSERT_EQ(read_rx_hdr(hdr(hdr_flag::needs_csum, 0, 0, 38, 16), v, uint32_t(v.size()), false, i), RxHdrError::ok);
    EXPECT_EQ(i.l4, RxInfo::Csum::none);
    EXPECT_FALSE(i.sw_csum);
    const auto u = frame(6, ip_proto_udp, 100);
    ASSERT_EQ(read_rx_hdr(hdr(hdr_flag::needs_csum, 0, 0, 54, 6), u, uint32_t(u.size()), false, i), RxHdrError::ok);
    EXPECT_EQ(i.l4, RxInfo::Csum::none);
}

TEST(RxHdr, NeedsCsumElsewhereIsFinishedInSoftware) {
    RxInfo i;
    const auto v = frame(4, 47 /* GRE */, 100);
    ASSERT_EQ(read_rx_hdr(hdr(hdr_flag::needs_csum, 0, 0, 40, 10), v, uint32_t(v.size()), false, i), RxHdrError::ok);
    EXPECT_TRUE(i.sw_csum);
    EXPECT_EQ(i.csum_start, 40);
    EXPECT_EQ(i.csum_offset, 10);
    EXPECT_EQ(i.l4, RxInfo::Csum::unknown);
    // TCP, but the device points at another offset: not what we can vouch for.
    const auto t = frame(4, ip_proto_tcp, 100);
    ASSERT_EQ(read_rx_hdr(hdr(hdr_flag::needs_csum, 0, 0, 34, 6), t, uint32_t(t.size()), false, i), RxHdrError::ok);
    EXPECT_TRUE(i.sw_csum);
}

TEST(RxHdr, ChecksumFieldPastTheFrameIsRefused) {
    RxInfo i;
    const auto v = frame(4, 47, 20); // 54 bytes
    EXPECT_EQ(read_rx_hdr(hdr(hdr_flag::needs_csum, 0, 0, 50, 2), v, 54, false, i), RxHdrError::ok);
    EXPECT_EQ(read_rx_hdr(hdr(hdr_flag::needs_csum, 0, 0, 50, 3), v, 54, false, i), RxHdrError::csum_beyond_frame);
    EXPECT_EQ(read_rx_hdr(hdr(hdr_flag::needs_csum, 0, 0, 0xffff, 0xffff), v, 54, false, i),
              RxHdrError::csum_beyond_frame);
    // Within the frame but past the first segment: cannot be finished here.
    EXPECT_EQ(read_rx_hdr(hdr(hdr_flag::needs_csum, 0, 0, 50, 3), std::span(v).first(54), 2000, false, i),
              RxHdrError::csum_beyond_frame);
}

TEST(RxHdr, TcpGsoIsLro) {
    for (const int ip : {4, 6}) {
        RxInfo i;
        const auto v = frame(ip, ip_proto_tcp, 3000);
        const uint16_t start = ip == 4 ? 34 : 54;
        ASSERT_EQ(read_rx_hdr(hdr(hdr_flag::needs_csum, ip == 4 ? gso::tcpv4 : gso::tcpv6, 1448, start, 16), v,
                              uint32_t(v.size()), true, i),
                  RxHdrError::ok);
        EXPECT_TRUE(i.lro);
        EXPECT_EQ(i.segsz, 1448);
        EXPECT_EQ(i.l4, RxInfo::Csum::none);
    }
}

TEST(RxHdr, BadGsoIsRefused) {
    RxInfo i;
    const auto v4 = frame(4, ip_proto_tcp, 3000);
    const auto n = uint32_t(v4.size());
    EXPECT_EQ(read_rx_hdr(hdr(0, gso::tcpv4, 1448, 0, 0), v4, n, false, i), RxHdrError::bad_gso_type); // not negotiated
    EXPECT_EQ(read_rx_hdr(hdr(0, gso::tcpv4 | gso::ecn, 1448, 0, 0), v4, n, true, i), RxHdrError::bad_gso_type);
    EXPECT_EQ(read_rx_hdr(hdr(0, gso::udp, 1448, 0, 0), v4, n, true, i), RxHdrError::bad_gso_type);
    EXPECT_EQ(read_rx_hdr(hdr(0, 2, 1448, 0, 0), v4, n, true, i), RxHdrError::bad_gso_type);
    EXPECT_EQ(read_rx_hdr(hdr(0, gso::tcpv4, 0, 0, 0), v4, n, true, i), RxHdrError::zero_gso_size);
    EXPECT_EQ(read_rx_hdr(hdr(0, gso::tcpv6, 1448, 0, 0), v4, n, true, i), RxHdrError::gso_not_tcp);
    const auto u = frame(4, ip_proto_udp, 3000);
    EXPECT_EQ(read_rx_hdr(hdr(0, gso::tcpv4, 1448, 0, 0), u, uint32_t(u.size()), true, i), RxHdrError::gso_not_tcp);
}

// Any header the device may write, on any prefix of a frame: either refused, or every
// offset it hands back lies inside what was given.
TEST(RxHdr, RandomHeadersNeverPointOutside) {
    std::mt19937 rng(7);
    const auto v = frame(4, ip_proto_tcp, 64, 1);
    for (int iter = 0; iter < 200000; ++iter) {
        NetHdr h{};
        h.flags = uint8_t(rng() & 7);
        h.gso_type = uint8_t(std::array<uint8_t, 6>{0, 1, 3, 4, 0x81, uint8_t(rng())}[rng() % 6]);
        h.gso_size = uint16_t(rng() % 3 == 0 ? 0 : rng());
        h.csum_start = uint16_t(rng() % 2 ? rng() % 160 : rng());
        h.csum_offset = uint16_t(rng() % 2 ? rng() % 40 : rng());
        const size_t len = rng() % (v.size() + 1);
        const Exact e(v, len);
        RxInfo i;
        if (read_rx_hdr(h, e.span(), uint32_t(len), rng() & 1, i) == RxHdrError::ok && i.sw_csum) {
            ASSERT_LE(size_t(i.csum_start) + i.csum_offset + 2, len);
        }
    }
}

// ---- checksum -----------------------------------------------------------------------------

TEST(Checksum, Rfc1071Example) {
    const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    Checksum c;
    c.add(d);
    EXPECT_EQ(c.folded(), 0xddf2);
    EXPECT_EQ(c.field(), 0x220d);
}

TEST(Checksum, AnySplitGivesTheSameSum) {
    std::mt19937 rng(3);
    std::vector<uint8_t> d(1001);
    for (auto &b : d) {
        b = uint8_t(rng());
    }
    Checksum whole;
    whole.add(d);
    for (int iter = 0; iter < 200; ++iter) {
        Checksum parts;
        size_t at = 0;
        while (at < d.size()) {
            const size_t n = std::min<size_t>(d.size() - at, rng() % 9);
            parts.add(std::span(d).subspan(at, n));
            at += n;
        }
        ASSERT_EQ(parts.folded(), whole.folded());
    }
}

TEST(Checksum, FieldMakesTheSumVerify) {
    // As NEEDS_CSUM hands it over: the field holds the pseudo-header's partial sum, and the
    // sum from csum_start over the field and the rest completes it.
    std::vector<uint8_t> d = frame(4, ip_proto_udp, 37);
    const uint16_t pseudo = 0x1234;
    store_be16(d.data() + 34 + 6, pseudo);
    Checksum c;
    c.add(std::span(d).subspan(34));
    store_be16(d.data() + 34 + 6, c.field());
    Checksum check; // a receiver: pseudo-header plus the segment as sent
    const uint8_t ph[2] = {uint8_t(pseudo >> 8), uint8_t(pseudo)};
    check.add(ph);
    check.add(std::span(d).subspan(34));
    EXPECT_EQ(check.folded(), 0xffff);
}

} // namespace
