// Checksum and segmentation offloads end to end against DPDK's vhost (net_vhost, tso=1, in
// this process): what net_vpmd's dev_info offers, tx checksums the device completes, TSO
// requests the device receives with their segment size, rx checksum and LRO information
// turned into ol_flags, bad requests dropped and counted, and the configurations that
// cannot work refused with the reason. Split and packed rings.
#define ALLOW_EXPERIMENTAL_API // rte_ipv4/6_udptcp_cksum_verify: header-only
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "drivers/net/vpmd/inspect.hpp"
#include "integration/eal_env.hpp"
#include "integration/net/vpmd_harness.hpp"

using namespace vpmd::test;

namespace {

constexpr unsigned pool_size = 8191;
rte_mempool *pool() { return test_pool("vpmd_offload_pool", pool_size, 256); }
unsigned available() { return pool_available(pool()); }

constexpr uint64_t tx_csum = RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
constexpr uint64_t rx_csum = RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;

// Ethernet + IPv4/IPv6 + TCP/UDP + payload, IP header complete; the L4 checksum field holds
// the pseudo-header sum, as DPDK asks of an application that offloads it.
struct L4Frame {
    Frame f;
    uint16_t l2 = RTE_ETHER_HDR_LEN, l3 = 0, l4 = 0;
    bool v6 = false, tcp = true;
};

L4Frame l4_frame(bool v6, bool tcp, uint32_t payload, uint32_t seed, uint64_t phdr_flags = 0) {
    L4Frame r;
    r.v6 = v6;
    r.tcp = tcp;
    r.l3 = v6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
    r.l4 = tcp ? sizeof(rte_tcp_hdr) : sizeof(rte_udp_hdr);
    r.f = make_frame(r.l2 + r.l3 + r.l4 + payload, seed);
    uint8_t *d = r.f.data();
    d[12] = v6 ? 0x86 : 0x08;
    d[13] = v6 ? 0xdd : 0x00;
    const uint8_t proto = tcp ? IPPROTO_TCP : IPPROTO_UDP;
    const uint16_t l4_len = uint16_t(r.l4 + payload);
    void *ip = d + r.l2;
    if (v6) {
        auto *h = static_cast<rte_ipv6_hdr *>(ip);
        std::memset(h, 0, sizeof(*h));
        h->vtc_flow = rte_cpu_to_be_32(6u << 28);
        h->payload_len = rte_cpu_to_be_16(l4_len);
        h->proto = proto;
        h->hop_limits = 64;
        h->src_addr[15] = 1;
        h->dst_addr[15] = 2;
    } else {
        auto *h = static_cast<rte_ipv4_hdr *>(ip);
        std::memset(h, 0, sizeof(*h));
        h->version_ihl = 0x45;
        h->total_length = rte_cpu_to_be_16(uint16_t(r.l3 + l4_len));
        h->time_to_live = 64;
        h->next_proto_id = proto;
        h->src_addr = rte_cpu_to_be_32(0x0a000001);
        h->dst_addr = rte_cpu_to_be_32(0x0a000002);
        h->hdr_checksum = rte_ipv4_cksum(h);
    }
    uint8_t *l4 = d + r.l2 + r.l3;
    const uint16_t phdr = v6 ? rte_ipv6_phdr_cksum(static_cast<rte_ipv6_hdr *>(ip), phdr_flags)
                             : rte_ipv4_phdr_cksum(static_cast<rte_ipv4_hdr *>(ip), phdr_flags);
    if (tcp) {
        auto *t = reinterpret_cast<rte_tcp_hdr *>(l4);
        std::memset(t, 0, sizeof(*t));
        t->src_port = rte_cpu_to_be_16(1000);
        t->dst_port = rte_cpu_to_be_16(2000);
        t->sent_seq = rte_cpu_to_be_32(seed);
        t->data_off = 5 << 4;
        t->tcp_flags = RTE_TCP_ACK_FLAG;
        t->rx_win = rte_cpu_to_be_16(65535);
        t->cksum = phdr;
    } else {
        auto *u = reinterpret_cast<rte_udp_hdr *>(l4);
        u->src_port = rte_cpu_to_be_16(1000);
        u->dst_port = rte_cpu_to_be_16(2000);
        u->dgram_len = rte_cpu_to_be_16(l4_len);
        u->dgram_cksum = phdr;
    }
    return r;
}

// 0 when the frame's L4 checksum verifies (DPDK's own check, over contiguous bytes).
int l4_verify(const Frame &f, bool v6, uint16_t l3) {
    const uint8_t *ip = f.data() + RTE_ETHER_HDR_LEN;
    return v6 ? rte_ipv6_udptcp_cksum_verify(reinterpret_cast<const rte_ipv6_hdr *>(ip), ip + l3)
              : rte_ipv4_udptcp_cksum_verify(reinterpret_cast<const rte_ipv4_hdr *>(ip), ip + l3);
}

// What net_vpmd negotiated with its device.
uint64_t port_features(uint16_t port) {
    const auto r = vpmd::pmd::port_report(port);
    return r ? r->features : ~0ULL;
}

uint16_t csum_field_at(const L4Frame &r) { return uint16_t(r.l2 + r.l3 + (r.tcp ? 16 : 6)); }

// Equal except for the two bytes of the L4 checksum field.
::testing::AssertionResult same_but_csum(const Frame &got, const L4Frame &sent) {
    if (got.size() != sent.f.size()) {
        return ::testing::AssertionFailure() << got.size() << " bytes arrived, " << sent.f.size() << " sent";
    }
    const size_t at = csum_field_at(sent);
    for (size_t b = 0; b < got.size(); ++b) {
        if ((b < at || b > at + 1) && got[b] != sent.f[b]) {
            return ::testing::AssertionFailure() << "differs at byte " << b;
        }
    }
    return ::testing::AssertionSuccess();
}

rte_mbuf *offload_mbuf(const L4Frame &r, uint64_t flags, uint16_t segsz = 0, uint16_t seg = 2048) {
    rte_mbuf *m = to_mbuf(pool(), r.f, seg);
    if (m != nullptr) {
        m->ol_flags = flags | (r.v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4);
        m->l2_len = r.l2;
        m->l3_len = r.l3;
        m->l4_len = r.l4;
        m->tso_segsz = segsz;
    }
    return m;
}

// Sends one mbuf on `from` and returns the first packet `to` receives (nullptr if none).
rte_mbuf *one_way(uint16_t from, uint16_t to, rte_mbuf *m) {
    if (rte_eth_tx_burst(from, 0, &m, 1) != 1) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    rte_mbuf *got = nullptr;
    wait_for([&] {
        rte_eth_tx_burst(from, 0, nullptr, 0);
        return rte_eth_rx_burst(to, 0, &got, 1) == 1;
    });
    return got;
}

struct Layout {
    const char *name;
    const char *args;
};

class Offload : public ::testing::TestWithParam<Layout> {
protected:
    void SetUp() override {
        VPMD_REQUIRE_EAL();
        ASSERT_NE(pool(), nullptr);
        before_ = available();
    }
    void TearDown() override {
        pair_.reset();
        if (EalEnv::instance()->ready()) { // else SetUp skipped, and there is no pool to count
            EXPECT_EQ(available(), before_) << "every mbuf back in the pool";
        }
    }
    // net_vhost with tso=1 (HOST_TSO4/6 offered) unless told otherwise.
    VhostPair &pair(const char *vhost_args = "tso=1") {
        pair_ = std::make_unique<VhostPair>(std::string("ol_") + GetParam().name, GetParam().args, 1);
        pair_->vhost_args = vhost_args;
        return *pair_;
    }
    std::unique_ptr<VhostPair> pair_;
    unsigned before_ = 0;
};

} // namespace

TEST_P(Offload, DevInfoOffersWhatTheDeviceDoes) {
    VhostPair &p = pair();
    ASSERT_EQ(p.start_vhost(pool()), 0);
    ASSERT_EQ(p.probe_vpmd(), 0);
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(p.vpmd, &info), 0);
    EXPECT_EQ(info.tx_offload_capa & (tx_csum | RTE_ETH_TX_OFFLOAD_TCP_TSO), tx_csum | RTE_ETH_TX_OFFLOAD_TCP_TSO);
    EXPECT_EQ(info.rx_offload_capa & (rx_csum | RTE_ETH_RX_OFFLOAD_TCP_LRO), rx_csum | RTE_ETH_RX_OFFLOAD_TCP_LRO);
    EXPECT_EQ(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM, 0u) << "virtio has no IPv4 checksum offload";
    EXPECT_GT(info.max_lro_pkt_size, 9728u);
    EXPECT_EQ(info.tx_desc_lim.nb_seg_max, 31) << "an indirect table of 32, one for the header";
}

TEST_P(Offload, WithoutHostTsoThereIsNoTxTso) {
    VhostPair &p = pair("tso=0");
    ASSERT_EQ(p.start_vhost(pool()), 0);
    ASSERT_EQ(p.probe_vpmd(), 0);
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(p.vpmd, &info), 0);
    EXPECT_EQ(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO, 0u);
    EXPECT_EQ(info.tx_offload_capa & tx_csum, tx_csum);
    EXPECT_NE(configure_port(p.vpmd, 1, pool(), 0, 0, RTE_ETH_TX_OFFLOAD_TCP_TSO), 0);
}

// The device finishes what net_vpmd's header asked for: net_vhost (no rx checksum offload
// configured) completes the checksum and says GOOD; without the header the pseudo-header
// sum stays in place and the check fails. (net_vhost places TCP/UDP checksums by the
// parsed protocol, not by csum_offset: the offsets are checked in tests/unit/net/offload.)
TEST_P(Offload, TxChecksumsAreCompletedByTheDevice) {
    VhostPair &p = pair();
    ASSERT_TRUE(p.up(pool(), 0, tx_csum));
    uint32_t seed = 1;
    for (const bool v6 : {false, true}) {
        for (const bool tcp : {true, false}) {
            for (const uint32_t payload : {0u, 1u, 17u, 1000u, 1400u}) {
                const L4Frame r = l4_frame(v6, tcp, payload, seed++);
                ASSERT_NE(l4_verify(r.f, v6, r.l3), 0) << "sent without a valid checksum";
                rte_mbuf *got = one_way(p.vpmd, p.vhost,
                                        offload_mbuf(r, tcp ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM));
                ASSERT_NE(got, nullptr) << (v6 ? "v6" : "v4") << (tcp ? " tcp " : " udp ") << payload;
                const Frame f = from_mbuf(got);
                EXPECT_EQ(l4_verify(f, v6, r.l3), 0) << (v6 ? "v6" : "v4") << (tcp ? " tcp " : " udp ") << payload;
                EXPECT_TRUE(same_but_csum(f, r));
                EXPECT_EQ(got->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
                rte_pktmbuf_free(got);
            }
        }
    }
    // Multi-segment mbufs take the same header.
    const L4Frame r = l4_frame(false, true, 3000, 77);
    rte_mbuf *got = one_way(p.vpmd, p.vhost, offload_mbuf(r, RTE_MBUF_F_TX_TCP_CKSUM, 0, 700));
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(l4_verify(from_mbuf(got), false, r.l3), 0);
    rte_pktmbuf_free(got);
}

// What testpmd's csum engine does: leave the L4 field as it is and call rte_eth_tx_prepare,
// which puts the pseudo-header sum there for the device to complete.
TEST_P(Offload, TxPrepareReadiesTheChecksumField) {
    VhostPair &p = pair();
    ASSERT_TRUE(p.up(pool(), 0, tx_csum | RTE_ETH_TX_OFFLOAD_TCP_TSO));
    for (const bool v6 : {false, true}) {
        for (const bool tcp : {true, false}) {
            L4Frame r = l4_frame(v6, tcp, 300, v6 ? 50 : 51);
            r.f[csum_field_at(r)] ^= 0xa5; // whatever the application left there
            rte_mbuf *m = offload_mbuf(r, tcp ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM);
            ASSERT_EQ(rte_eth_tx_prepare(p.vpmd, 0, &m, 1), 1);
            rte_mbuf *got = one_way(p.vpmd, p.vhost, m);
            ASSERT_NE(got, nullptr);
            EXPECT_EQ(l4_verify(from_mbuf(got), v6, r.l3), 0) << (v6 ? "v6" : "v4") << (tcp ? " tcp" : " udp");
            rte_pktmbuf_free(got);
        }
    }
    // What the device cannot do is refused, with the reason in rte_errno.
    const L4Frame r = l4_frame(false, true, 100, 52);
    rte_mbuf *bad[2] = {offload_mbuf(r, RTE_MBUF_F_TX_SCTP_CKSUM), offload_mbuf(r, RTE_MBUF_F_TX_TCP_SEG, 0)};
    EXPECT_EQ(rte_eth_tx_prepare(p.vpmd, 0, bad, 2), 0);
    EXPECT_EQ(rte_errno, ENOTSUP);
    EXPECT_EQ(rte_eth_tx_prepare(p.vpmd, 0, bad + 1, 1), 0);
    EXPECT_EQ(rte_errno, EINVAL);
    rte_pktmbuf_free(bad[0]);
    rte_pktmbuf_free(bad[1]);
}

// A TSO request reaches the device as one GSO packet with its segment size (what the
// device segments on its wire; net_vhost reports it as LRO with tso_segsz).
TEST_P(Offload, TsoReachesTheDeviceWithItsSegmentSize) {
    VhostPair &p = pair();
    ASSERT_TRUE(p.up(pool(), 0, RTE_ETH_TX_OFFLOAD_TCP_TSO | tx_csum | RTE_ETH_TX_OFFLOAD_MULTI_SEGS));
    for (const bool v6 : {false, true}) {
        const L4Frame r = l4_frame(v6, true, 4000, v6 ? 5 : 4, RTE_MBUF_F_TX_TCP_SEG);
        for (const uint16_t seg : {uint16_t(2048), uint16_t(1000)}) {
            rte_mbuf *got = one_way(p.vpmd, p.vhost, offload_mbuf(r, RTE_MBUF_F_TX_TCP_SEG, 1000, seg));
            ASSERT_NE(got, nullptr) << (v6 ? "v6" : "v4");
            EXPECT_TRUE(got->ol_flags & RTE_MBUF_F_RX_LRO) << (v6 ? "v6" : "v4");
            EXPECT_EQ(got->tso_segsz, 1000u);
            EXPECT_TRUE(same_but_csum(from_mbuf(got), r));
            rte_pktmbuf_free(got);
        }
    }
}

// The device's header arrives as ol_flags: a partial checksum (NEEDS_CSUM at the TCP/UDP
// field) is L4_CKSUM_NONE, the packet type is parsed, and the data is what was sent.
TEST_P(Offload, RxChecksumInformationBecomesOlFlags) {
    VhostPair &p = pair();
    ASSERT_TRUE(p.up(pool(), rx_csum, 0));
    uint32_t seed = 40;
    for (const bool v6 : {false, true}) {
        for (const bool tcp : {true, false}) {
            const L4Frame r = l4_frame(v6, tcp, 500, seed++);
            rte_mbuf *got = one_way(p.vhost, p.vpmd,
                                    offload_mbuf(r, tcp ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM));
            ASSERT_NE(got, nullptr);
            EXPECT_EQ(got->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_NONE);
            EXPECT_EQ(got->packet_type & RTE_PTYPE_L4_MASK, tcp ? RTE_PTYPE_L4_TCP : RTE_PTYPE_L4_UDP);
            EXPECT_EQ(got->packet_type & RTE_PTYPE_L3_MASK, v6 ? RTE_PTYPE_L3_IPV6 : RTE_PTYPE_L3_IPV4_EXT_UNKNOWN);
            EXPECT_TRUE(same_but_csum(from_mbuf(got), r));
            rte_pktmbuf_free(got);
        }
    }
    // A packet sent without an offload request carries no flags.
    const L4Frame r = l4_frame(false, true, 100, 9);
    rte_mbuf *got = one_way(p.vhost, p.vpmd, offload_mbuf(r, 0));
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(got->ol_flags & (RTE_MBUF_F_RX_L4_CKSUM_MASK | RTE_MBUF_F_RX_LRO), 0u);
    rte_pktmbuf_free(got);
}

// A GSO packet from the device (net_vhost sends a TSO request as one) is delivered whole
// in an mbuf chain, flagged LRO with the segment size.
TEST_P(Offload, LroPacketsArriveWholeWithTheirSegmentSize) {
    VhostPair &p = pair();
    ASSERT_TRUE(p.up(pool(), RTE_ETH_RX_OFFLOAD_TCP_LRO | rx_csum | RTE_ETH_RX_OFFLOAD_SCATTER, 0));
    for (const bool v6 : {false, true}) {
        const L4Frame r = l4_frame(v6, true, 20000, 60, RTE_MBUF_F_TX_TCP_SEG);
        rte_mbuf *got = one_way(p.vhost, p.vpmd, offload_mbuf(r, RTE_MBUF_F_TX_TCP_SEG, 1448, 1500));
        ASSERT_NE(got, nullptr);
        EXPECT_TRUE(got->ol_flags & RTE_MBUF_F_RX_LRO);
        EXPECT_EQ(got->tso_segsz, 1448u);
        EXPECT_GT(got->nb_segs, 1);
        EXPECT_EQ(got->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_NONE);
        EXPECT_TRUE(same_but_csum(from_mbuf(got), r));
        rte_pktmbuf_free(got);
    }
}

// Requests a frame cannot carry never reach the device: dropped, counted, mbuf freed.
TEST_P(Offload, BadTxRequestsAreDroppedAndCounted) {
    VhostPair &p = pair();
    ASSERT_TRUE(p.up(pool(), 0, tx_csum | RTE_ETH_TX_OFFLOAD_TCP_TSO));
    const L4Frame r = l4_frame(false, true, 100, 3);
    rte_mbuf *bad[3] = {offload_mbuf(r, RTE_MBUF_F_TX_TCP_CKSUM), offload_mbuf(r, RTE_MBUF_F_TX_TCP_SEG, 0),
                        offload_mbuf(r, RTE_MBUF_F_TX_SCTP_CKSUM)};
    bad[0]->l3_len = 200;  // the checksum field would lie past the frame
    ASSERT_EQ(rte_eth_tx_burst(p.vpmd, 0, bad, 3), 3) << "consumed (dropped)";
    EXPECT_EQ(xstat(p.vpmd, "tx_q0_offload_errors"), 3u);
    rte_eth_stats st{};
    ASSERT_EQ(rte_eth_stats_get(p.vpmd, &st), 0);
    EXPECT_EQ(st.oerrors, 3u);
    EXPECT_EQ(st.opackets, 0u);
    // And the queue still works.
    rte_mbuf *got = one_way(p.vpmd, p.vhost, offload_mbuf(r, RTE_MBUF_F_TX_TCP_CKSUM));
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(l4_verify(from_mbuf(got), false, r.l3), 0);
    rte_pktmbuf_free(got);
}

// Configurations that cannot work fail configure with the reason in the log.
TEST_P(Offload, ImpossibleConfigurationsAreRefusedByName) {
    VhostPair &p = pair();
    ASSERT_EQ(p.start_vhost(pool()), 0);
    ASSERT_EQ(p.probe_vpmd(), 0);
    log_capture();
    const size_t before = log_count("needs VIRTIO_NET_F_RSS, which the device does not offer");
    rte_eth_conf conf{};
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    EXPECT_EQ(rte_eth_dev_configure(p.vpmd, 1, 1, &conf), -ENOTSUP);
    EXPECT_EQ(log_count("needs VIRTIO_NET_F_RSS, which the device does not offer"), before + 1) << log_text();
}

// Offloads turned on after the first negotiation are negotiated (device reset), and off
// again: the features follow the configuration.
TEST_P(Offload, ReconfiguringNegotiatesAgain) {
    VhostPair &p = pair();
    ASSERT_TRUE(p.up(pool()));
    auto features = [&] { return port_features(p.vpmd); };
    constexpr uint64_t csum_bits = (1ULL << 0) | (1ULL << 1);
    EXPECT_EQ(features() & csum_bits, 0u);
    ASSERT_EQ(rte_eth_dev_stop(p.vpmd), 0);
    ASSERT_EQ(configure_port(p.vpmd, 1, pool(), 0, rx_csum, tx_csum), 0);
    ASSERT_EQ(rte_eth_dev_start(p.vpmd), 0);
    EXPECT_EQ(features() & csum_bits, csum_bits);
    ASSERT_TRUE(wait_for([&] { return link_is(p.vpmd, true) && link_is(p.vhost, true); }));
    const L4Frame r = l4_frame(false, false, 64, 8);
    rte_mbuf *got = one_way(p.vpmd, p.vhost, offload_mbuf(r, RTE_MBUF_F_TX_UDP_CKSUM));
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(l4_verify(from_mbuf(got), false, r.l3), 0);
    rte_pktmbuf_free(got);
    ASSERT_EQ(rte_eth_dev_stop(p.vpmd), 0);
    ASSERT_EQ(configure_port(p.vpmd, 1, pool()), 0);
    EXPECT_EQ(features() & csum_bits, 0u);
}

INSTANTIATE_TEST_SUITE_P(Rings, Offload,
                         ::testing::Values(Layout{"split", "mrg_rxbuf=1"}, Layout{"packed", "packed_vq=1,mrg_rxbuf=1"},
                                           Layout{"split_inorder", "in_order=1,mrg_rxbuf=1"},
                                           Layout{"packed_inorder", "packed_vq=1,in_order=1,mrg_rxbuf=1"}),
                         [](const auto &info) { return std::string(info.param.name); });

TEST(OffloadConfig, LroNeedsMergeableBuffers) {
    VPMD_REQUIRE_EAL();
    VhostPair p("ol_nomrg", "mrg_rxbuf=0", 1);
    p.vhost_args = "tso=1";
    ASSERT_EQ(p.start_vhost(pool()), 0);
    ASSERT_EQ(p.probe_vpmd(), 0);
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(p.vpmd, &info), 0);
    EXPECT_EQ(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_LRO, 0u) << "no LRO offered without mrg_rxbuf";
    EXPECT_EQ(info.rx_offload_capa & rx_csum, rx_csum);
}

// ---- VLAN, MTU and the receive filter --------------------------------------------------

namespace {

Frame tagged(const Frame &f, uint16_t vid) {
    Frame t(f.size() + 4);
    std::memcpy(t.data(), f.data(), 12);
    const uint8_t tag[4] = {0x81, 0x00, uint8_t(vid >> 8), uint8_t(vid)};
    std::memcpy(t.data() + 12, tag, 4);
    std::memcpy(t.data() + 16, f.data() + 12, f.size() - 12);
    return t;
}

Frame to(const Frame &f, const rte_ether_addr &dst) {
    Frame t = f;
    std::memcpy(t.data(), dst.addr_bytes, 6);
    return t;
}

// Frames from the device that net_vpmd delivers, in order (waits for `expect`, or a
// short while when fewer are expected).
std::vector<Frame> receive(VhostPair &p, const std::vector<Frame> &frames, size_t expect) {
    return transfer(pool(), p.vhost, p.vpmd, 0, frames, 2048,
                    expect == frames.size() ? wait_limit : std::chrono::milliseconds(300));
}

class RxPath : public Offload {};

} // namespace

TEST_P(RxPath, VlanStripAndInsertInSoftware) {
    VhostPair &p = pair();
    ASSERT_TRUE(p.up(pool(), RTE_ETH_RX_OFFLOAD_VLAN_STRIP, RTE_ETH_TX_OFFLOAD_VLAN_INSERT));
    const Frame plain = make_frame(200, 5);
    rte_mbuf *m = to_mbuf(pool(), tagged(plain, 100));
    rte_mbuf *got = one_way(p.vhost, p.vpmd, m);
    ASSERT_NE(got, nullptr);
    EXPECT_TRUE(same_frames({from_mbuf(got)}, {plain})) << "tag stripped";
    EXPECT_EQ(got->vlan_tci, 100);
    EXPECT_EQ(got->ol_flags & (RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED),
              RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED);
    rte_pktmbuf_free(got);
    // Strip off at run time: the tag stays in the frame.
    ASSERT_EQ(rte_eth_dev_set_vlan_offload(p.vpmd, 0), 0);
    got = one_way(p.vhost, p.vpmd, to_mbuf(pool(), tagged(plain, 100)));
    ASSERT_NE(got, nullptr);
    EXPECT_TRUE(same_frames({from_mbuf(got)}, {tagged(plain, 100)}));
    rte_pktmbuf_free(got);
    // Insert: the device sees the tag (also with a checksum request behind it).
    m = to_mbuf(pool(), plain);
    m->ol_flags = RTE_MBUF_F_TX_VLAN;
    m->vlan_tci = 300;
    got = one_way(p.vpmd, p.vhost, m);
    ASSERT_NE(got, nullptr);
    EXPECT_TRUE(same_frames({from_mbuf(got)}, {tagged(plain, 300)}));
    rte_pktmbuf_free(got);
}

// Insertion in front of a checksum request (net_vhost finds the TCP header by parsing, so
// this checks that both reach the device, not csum_start's shift by the tag).
TEST_P(RxPath, VlanInsertWithAChecksumRequest) {
    VhostPair &p = pair();
    ASSERT_TRUE(p.up(pool(), 0, RTE_ETH_TX_OFFLOAD_VLAN_INSERT | tx_csum));
    const L4Frame r = l4_frame(false, true, 300, 21);
    rte_mbuf *m = offload_mbuf(r, RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_VLAN);
    m->vlan_tci = 7;
    rte_mbuf *got = one_way(p.vpmd, p.vhost, m);
    ASSERT_NE(got, nullptr);
    Frame f = from_mbuf(got);
    rte_pktmbuf_free(got);
    ASSERT_EQ(f.size(), r.f.size() + 4);
    EXPECT_EQ(f[12], 0x81);
    f.erase(f.begin() + 12, f.begin() + 16);
    EXPECT_EQ(l4_verify(f, false, r.l3), 0);
}

TEST_P(RxPath, FramesAboveTheMtuAreDroppedAndCounted) {
    VhostPair &p = pair();
    ASSERT_TRUE(p.up(pool()));
    ASSERT_EQ(rte_eth_dev_set_mtu(p.vpmd, 1000), 0);
    // 1000 + 14 (+ 4 for a tag) passes; one byte more does not.
    const std::vector<Frame> fit = {make_frame(1014, 1), tagged(make_frame(1014, 2), 5)};
    EXPECT_TRUE(same_frames(receive(p, fit, 2), fit));
    const std::vector<Frame> over = {make_frame(1015 + 4, 3), make_frame(1500, 4)};
    EXPECT_EQ(receive(p, over, 0).size(), 0u);
    EXPECT_EQ(xstat(p.vpmd, "rx_q0_oversize"), 2u);
    ASSERT_EQ(rte_eth_dev_set_mtu(p.vpmd, 1500), 0);
    const std::vector<Frame> again = {make_frame(1500, 4)};
    EXPECT_TRUE(same_frames(receive(p, again, 1), again));
}

// The mediated control queue's filter state in the rx path: promiscuous, unicast and
// multicast address tables, allmulticast, VLAN filter.
TEST_P(RxPath, ReceiveFilterFollowsTheControlQueue) {
    VhostPair &p = pair();
    ASSERT_TRUE(p.up(pool(), RTE_ETH_RX_OFFLOAD_VLAN_FILTER, 0));
    rte_ether_addr own{}, other{}, extra{}, mc{};
    ASSERT_EQ(rte_eth_macaddr_get(p.vpmd, &own), 0);
    other = own;
    other.addr_bytes[5] ^= 0x55;
    extra = own;
    extra.addr_bytes[4] ^= 0x11;
    const uint8_t mcb[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x07};
    std::memcpy(mc.addr_bytes, mcb, 6);
    const Frame base = make_frame(100, 9);
    const Frame f_own = to(base, own), f_other = to(base, other), f_extra = to(base, extra), f_mc = to(base, mc);

    ASSERT_EQ(rte_eth_promiscuous_disable(p.vpmd), 0);
    ASSERT_EQ(rte_eth_allmulticast_disable(p.vpmd), 0);
    EXPECT_TRUE(same_frames(receive(p, {f_other, f_own, base, f_mc, f_extra}, 2), {f_own, base}))
        << "own address and broadcast only";
    ASSERT_EQ(rte_eth_dev_mac_addr_add(p.vpmd, &extra, 0), 0);
    ASSERT_EQ(rte_eth_dev_mac_addr_add(p.vpmd, &mc, 0), 0);
    EXPECT_TRUE(same_frames(receive(p, {f_other, f_extra, f_mc}, 2), {f_extra, f_mc})) << "address tables";
    ASSERT_EQ(rte_eth_dev_mac_addr_remove(p.vpmd, &extra), 0);
    ASSERT_EQ(rte_eth_dev_mac_addr_remove(p.vpmd, &mc), 0);
    EXPECT_TRUE(same_frames(receive(p, {f_extra, f_mc, f_own}, 1), {f_own})) << "removed again";
    ASSERT_EQ(rte_eth_allmulticast_enable(p.vpmd), 0);
    EXPECT_TRUE(same_frames(receive(p, {f_mc, f_other}, 1), {f_mc})) << "allmulticast";
    ASSERT_EQ(rte_eth_promiscuous_enable(p.vpmd), 0);
    EXPECT_TRUE(same_frames(receive(p, {f_other}, 1), {f_other})) << "promiscuous";
    EXPECT_GE(xstat(p.vpmd, "rx_q0_dropped"), 6u);

    // VLAN filter: once an id is added, tagged frames of other ids are dropped.
    ASSERT_EQ(rte_eth_dev_vlan_filter(p.vpmd, 100, 1), 0);
    const Frame t100 = tagged(base, 100), t101 = tagged(base, 101);
    EXPECT_TRUE(same_frames(receive(p, {t101, t100, base}, 2), {t100, base}));
    ASSERT_EQ(rte_eth_dev_vlan_filter(p.vpmd, 100, 0), 0);
    EXPECT_TRUE(same_frames(receive(p, {t101}, 1), {t101})) << "no VLAN filtered once the table is empty";

    // A new primary address (CTRL_MAC_ADDR_SET through the control queue): frames to it
    // pass, to the old one no longer.
    ASSERT_EQ(rte_eth_promiscuous_disable(p.vpmd), 0);
    rte_ether_addr fresh = own;
    fresh.addr_bytes[3] ^= 0x22;
    ASSERT_EQ(rte_eth_dev_default_mac_addr_set(p.vpmd, &fresh), 0);
    const Frame f_fresh = to(base, fresh);
    EXPECT_TRUE(same_frames(receive(p, {f_own, f_fresh}, 1), {f_fresh})) << "new primary address";
}

INSTANTIATE_TEST_SUITE_P(Rings, RxPath,
                         ::testing::Values(Layout{"split", "mrg_rxbuf=1"}, Layout{"packed", "packed_vq=1,mrg_rxbuf=0"}),
                         [](const auto &info) { return std::string(info.param.name); });
