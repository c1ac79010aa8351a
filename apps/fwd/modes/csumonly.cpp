// csum: rewrite MACs as mac mode does, check the IPv4 header and TCP/UDP checksums of
// IPv4 and IPv6 packets (one VLAN tag allowed), count the bad ones and recompute them,
// then forward (testpmd's csumonly.c). Where the ports offer checksum offloads, the rx
// driver's verdict (ol_flags) replaces the software check and the tx device fills in the
// L4 checksum (the field gets the pseudo-header sum and the mbuf the request).
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "apps/fwd/engine.hpp"

namespace vpmd::fwd {
namespace {

// Where the L4 checksum field sits, 0 when the packet has none we handle.
struct L4 {
    uint32_t off = 0;     // L4 header offset in the packet
    uint32_t cksum = 0;   // checksum field offset in the packet
    bool udp = false;
};

L4 l4_of(uint8_t proto, uint32_t off) {
    if (proto == IPPROTO_UDP) {
        return L4{off, off + uint32_t(offsetof(rte_udp_hdr, dgram_cksum)), true};
    }
    if (proto == IPPROTO_TCP) {
        return L4{off, off + uint32_t(offsetof(rte_tcp_hdr, cksum)), false};
    }
    return L4{};
}

// Whether the L4 checksum needs checking in software, or what the driver already said:
// GOOD verified, NONE intact data with the field not filled in (nothing to count).
enum class Verdict { check, good, bad };
Verdict rx_verdict(const Stream &s, const rte_mbuf *m) {
    if (!s.rx_csum) {
        return Verdict::check;
    }
    switch (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) {
    case RTE_MBUF_F_RX_L4_CKSUM_GOOD:
    case RTE_MBUF_F_RX_L4_CKSUM_NONE: return Verdict::good;
    case RTE_MBUF_F_RX_L4_CKSUM_BAD: return Verdict::bad;
    default: return Verdict::check;
    }
}

// Hands the L4 checksum to the tx device: pseudo-header sum in the field, the request in
// the mbuf.
void request_l4(rte_mbuf *m, uint16_t *ck, uint16_t phdr, bool udp, bool v6, uint32_t l2, uint32_t l3) {
    *ck = phdr;
    m->ol_flags = (m->ol_flags & ~(RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6)) |
                  (udp ? RTE_MBUF_F_TX_UDP_CKSUM : RTE_MBUF_F_TX_TCP_CKSUM) |
                  (v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4);
    m->l2_len = l2;
    m->l3_len = l3;
}

// Returns false for packets too short or malformed to handle (forwarded untouched).
bool fix_checksums(Stream &s, rte_mbuf *m) noexcept {
    const uint32_t len = rte_pktmbuf_data_len(m); // headers must be in the first segment
    if (len < sizeof(rte_ether_hdr)) {
        return false;
    }
    auto *eth = rte_pktmbuf_mtod(m, rte_ether_hdr *);
    rte_ether_addr_copy(&s.dst, &eth->dst_addr);
    rte_ether_addr_copy(&s.src, &eth->src_addr);
    uint32_t off = sizeof(rte_ether_hdr);
    uint16_t type = eth->ether_type;
    if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN)) {
        if (len < off + sizeof(rte_vlan_hdr)) {
            return false;
        }
        type = rte_pktmbuf_mtod_offset(m, rte_vlan_hdr *, off)->eth_proto;
        off += sizeof(rte_vlan_hdr);
    }
    bool bad = false;
    L4 l4;
    if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
        if (len < off + sizeof(rte_ipv4_hdr)) {
            return false;
        }
        auto *ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr *, off);
        const uint32_t ihl = rte_ipv4_hdr_len(ip);
        if (ihl < sizeof(rte_ipv4_hdr) || len < off + ihl || rte_be_to_cpu_16(ip->total_length) < ihl ||
            m->pkt_len < off + rte_be_to_cpu_16(ip->total_length)) {
            return false;
        }
        // A header whose one's-complement sum is all ones is intact.
        bad |= rte_raw_cksum(ip, ihl) != 0xffff;
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        // Fragments carry no complete L4 header.
        if ((ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) == 0) {
            l4 = l4_of(ip->next_proto_id, off + ihl);
        }
        if (l4.off != 0 && len >= l4.cksum + 2) {
            auto *ck = rte_pktmbuf_mtod_offset(m, uint16_t *, l4.cksum);
            const Verdict v = rx_verdict(s, m);
            // UDP over IPv4 may carry no checksum (0): nothing to check.
            if (v == Verdict::check && !(l4.udp && *ck == 0)) {
                bad |= rte_ipv4_udptcp_cksum_mbuf_verify(m, ip, uint16_t(l4.off)) != 0;
            }
            bad |= v == Verdict::bad;
            if (s.tx_csum) {
                request_l4(m, ck, rte_ipv4_phdr_cksum(ip, 0), l4.udp, false, off, ihl);
            } else {
                *ck = 0;
                *ck = rte_ipv4_udptcp_cksum_mbuf(m, ip, uint16_t(l4.off));
            }
        }
    } else if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) {
        if (len < off + sizeof(rte_ipv6_hdr)) {
            return false;
        }
        auto *ip6 = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr *, off);
        if (m->pkt_len < off + sizeof(rte_ipv6_hdr) + rte_be_to_cpu_16(ip6->payload_len)) {
            return false;
        }
        l4 = l4_of(ip6->proto, off + sizeof(rte_ipv6_hdr)); // no extension headers
        if (l4.off != 0 && len >= l4.cksum + 2) {
            auto *ck = rte_pktmbuf_mtod_offset(m, uint16_t *, l4.cksum);
            const Verdict v = rx_verdict(s, m);
            if (v == Verdict::check) {
                bad |= rte_ipv6_udptcp_cksum_mbuf_verify(m, ip6, uint16_t(l4.off)) != 0;
            }
            bad |= v == Verdict::bad;
            if (s.tx_csum) {
                request_l4(m, ck, rte_ipv6_phdr_cksum(ip6, 0), l4.udp, true, off, sizeof(rte_ipv6_hdr));
            } else {
                *ck = 0;
                *ck = rte_ipv6_udptcp_cksum_mbuf(m, ip6, uint16_t(l4.off));
            }
        }
    }
    if (bad) {
        s.rx_ctr->bad_csum.add(1);
    }
    return true;
}

uint32_t csum_burst(void *arg) noexcept {
    Stream &s = *static_cast<Stream *>(arg);
    rte_mbuf *pkts[max_burst];
    uint64_t bytes = 0;
    const uint16_t n = rx_burst_counted(s, pkts, bytes);
    if (n == 0) {
        return 0;
    }
    for (uint16_t i = 0; i < n; ++i) {
        if (!fix_checksums(s, pkts[i])) [[unlikely]] {
            s.rx_ctr->errors.add(1);
        }
    }
    tx_burst_counted(s, pkts, n, bytes);
    return n;
}

const Engine csum_engine{"csum", true, csum_burst};
VPMD_FWD_ENGINE(csum_engine);

} // namespace
} // namespace vpmd::fwd
