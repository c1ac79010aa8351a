// Generated packets: the Ethernet/IPv4/UDP template testpmd's txonly sends (198.18.0.1 ->
// 198.18.0.2, UDP 9 -> 9, TTL 64), and allocation of multi-segment packets per --txpkts.
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>

#include "apps/fwd/engine.hpp"

namespace vpmd::fwd {

namespace {

// RFC 2544 benchmarking addresses, as testpmd's txonly uses.
constexpr uint32_t ip_src = (198u << 24) | (18u << 16) | 1u;
constexpr uint32_t ip_dst = (198u << 24) | (18u << 16) | 2u;
constexpr uint16_t udp_port = 9; // discard

} // namespace

void prepare_udp_stream(Stream &s, const std::vector<uint16_t> &seg_lens) {
    s.nb_segs = uint16_t(seg_lens.size());
    s.pkt_len = 0;
    for (size_t i = 0; i < seg_lens.size(); ++i) {
        s.seg_len[i] = seg_lens[i];
        s.pkt_len += seg_lens[i];
    }
    rte_ether_hdr eth{};
    rte_ether_addr_copy(&s.dst, &eth.dst_addr);
    rte_ether_addr_copy(&s.src, &eth.src_addr);
    eth.ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    rte_ipv4_hdr ip{};
    ip.version_ihl = RTE_IPV4_VHL_DEF;
    ip.time_to_live = 64;
    ip.next_proto_id = IPPROTO_UDP;
    ip.total_length = rte_cpu_to_be_16(uint16_t(s.pkt_len - sizeof(eth)));
    ip.src_addr = rte_cpu_to_be_32(ip_src);
    ip.dst_addr = rte_cpu_to_be_32(ip_dst);
    ip.hdr_checksum = rte_ipv4_cksum(&ip);
    rte_udp_hdr udp{};
    udp.src_port = rte_cpu_to_be_16(udp_port);
    udp.dst_port = rte_cpu_to_be_16(udp_port);
    udp.dgram_len = rte_cpu_to_be_16(uint16_t(s.pkt_len - sizeof(eth) - sizeof(ip)));
    udp.dgram_cksum = 0; // no UDP checksum (allowed over IPv4), as testpmd's txonly
    std::memcpy(s.hdr, &eth, sizeof(eth));
    std::memcpy(s.hdr + sizeof(eth), &ip, sizeof(ip));
    std::memcpy(s.hdr + sizeof(eth) + sizeof(ip), &udp, sizeof(udp));
}

uint16_t alloc_shaped(Stream &s, rte_mbuf **pkts, uint16_t n) noexcept {
    if (rte_pktmbuf_alloc_bulk(s.pool, pkts, n) != 0) [[unlikely]] {
        s.tx_ctr->nombuf.add(n);
        return 0;
    }
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf *head = pkts[i];
        head->data_len = s.seg_len[0];
        head->pkt_len = s.pkt_len;
        head->nb_segs = s.nb_segs;
        head->l2_len = sizeof(rte_ether_hdr);
        head->l3_len = sizeof(rte_ipv4_hdr);
        if (s.nb_segs == 1) {
            continue;
        }
        rte_mbuf *segs[max_tx_segments];
        if (rte_pktmbuf_alloc_bulk(s.pool, segs, s.nb_segs - 1) != 0) [[unlikely]] {
            // Keep the packets already complete; give back the rest.
            rte_pktmbuf_free_bulk(pkts + i, n - i);
            s.tx_ctr->nombuf.add(n - i);
            return i;
        }
        rte_mbuf *prev = head;
        for (uint16_t k = 1; k < s.nb_segs; ++k) {
            segs[k - 1]->data_len = s.seg_len[k];
            prev->next = segs[k - 1];
            prev = segs[k - 1];
        }
        prev->next = nullptr;
    }
    return n;
}

void write_headers(rte_mbuf *m, const uint8_t *src, uint32_t len) noexcept {
    while (len != 0 && m != nullptr) {
        const uint32_t n = std::min<uint32_t>(len, m->data_len);
        std::memcpy(rte_pktmbuf_mtod(m, uint8_t *), src, n);
        src += n;
        len -= n;
        m = m->next;
    }
}

uint32_t send_udp_burst(Stream &s) noexcept {
    rte_mbuf *pkts[max_burst];
    const uint16_t n = alloc_shaped(s, pkts, s.burst);
    for (uint16_t i = 0; i < n; ++i) {
        write_headers(pkts[i], s.hdr, udp_headers_len);
    }
    if (n != 0) {
        tx_burst_counted(s, pkts, n, uint64_t(n) * s.pkt_len);
    }
    return n;
}

} // namespace vpmd::fwd
