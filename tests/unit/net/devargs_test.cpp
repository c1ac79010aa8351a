// net_vpmd devargs: every accepted key parses, every bad value or unknown key fails with
// one line that names the key and what is allowed.
#include <gtest/gtest.h>

#include "drivers/net/vpmd/devargs.hpp"

using vpmd::pmd::Devargs;
using vpmd::pmd::DevargsFor;
using vpmd::pmd::parse_devargs;

TEST(Devargs, AllKeysParse) {
    Devargs d;
    const auto r = parse_devargs("path=/tmp/s,server=1,queues=4,queue_size=1024,packed_vq=1,in_order=1,mrg_rxbuf=0,"
                                 "event_idx=1,indirect=0,cq=1,mac=02:00:00:aa:bb:cc,speed=25000,connect_timeout=3,"
                                 "strict_tx_hdr=1",
                                 d);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(d.path, "/tmp/s");
    EXPECT_TRUE(d.server);
    EXPECT_EQ(d.queues, 4);
    EXPECT_EQ(d.queue_size, 1024u);
    EXPECT_TRUE(d.packed_vq);
    EXPECT_TRUE(d.in_order);
    EXPECT_FALSE(d.mrg_rxbuf);
    EXPECT_TRUE(d.event_idx);
    EXPECT_FALSE(d.indirect);
    EXPECT_TRUE(d.have_mac);
    EXPECT_EQ(d.mac[5], 0xcc);
    EXPECT_EQ(d.speed, 25000u);
    EXPECT_EQ(d.connect_timeout_ms, 3000u);
    EXPECT_TRUE(d.strict_tx_hdr);
}

TEST(Devargs, DefaultsMatchVirtioUser) {
    Devargs d;
    ASSERT_TRUE(parse_devargs("path=/tmp/s", d).ok);
    EXPECT_FALSE(d.server);
    EXPECT_EQ(d.queues, 1);
    EXPECT_EQ(d.queue_size, 256u);
    EXPECT_FALSE(d.packed_vq);
    EXPECT_TRUE(d.mrg_rxbuf);
    EXPECT_FALSE(d.strict_tx_hdr);
}

struct Bad {
    const char *args;
    const char *must_mention;
};

class DevargsBad : public ::testing::TestWithParam<Bad> {};

TEST_P(DevargsBad, FailsNamingTheKey) {
    Devargs d;
    const auto r = parse_devargs(GetParam().args, d);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find(GetParam().must_mention), std::string::npos) << r.error;
    EXPECT_EQ(r.error.find('\n'), std::string::npos) << "one line";
}

INSTANTIATE_TEST_SUITE_P(
    All, DevargsBad,
    ::testing::Values(Bad{"", "'path' is required"}, Bad{"server=1", "'path' is required"},
                      Bad{"path=/s,bogus=1", "unknown devarg 'bogus'"}, Bad{"path=/s,queues=0", "'queues'"},
                      Bad{"path=/s,queues=65", "1..64"}, Bad{"path=/s,queues=x", "'queues'"},
                      Bad{"path=/s,queue_size=8", "16..32768"}, Bad{"path=/s,queue_size=1000", "power of two"},
                      Bad{"path=/s,queue_size=99999", "'queue_size'"}, Bad{"path=/s,packed_vq=2", "0 or 1"},
                      Bad{"path=/s,in_order=yes", "'in_order'"}, Bad{"path=/s,mrg_rxbuf=", "'mrg_rxbuf'"},
                      Bad{"path=/s,mac=01:00:00:00:00:01", "unicast"}, Bad{"path=/s,mac=zz", "'mac'"},
                      Bad{"path=/s,speed=0", "'speed'"}, Bad{"path=/s,server", "needs a value"},
                      Bad{"path=/s,queues=2,cq=0", "cq=1"}, Bad{"path=/s,connect_timeout=-1", "'connect_timeout'"},
                      Bad{"path=/s,strict_tx_hdr=2", "'strict_tx_hdr'"}));

TEST(Devargs, PackedAllowsAnySize) {
    Devargs d;
    EXPECT_TRUE(parse_devargs("path=/s,packed_vq=1,queue_size=1000", d).ok);
}

TEST(Devargs, PciDevicesNeedNoPathAndRefuseVhostUserKeys) {
    Devargs d;
    const auto r = parse_devargs("packed_vq=1,queue_size=512", d, DevargsFor::pci);
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(d.packed_vq);
    for (const char *bad : {"path=/tmp/s", "server=1", "connect_timeout=3"}) {
        Devargs e;
        const auto b = parse_devargs(bad, e, DevargsFor::pci);
        EXPECT_FALSE(b.ok) << bad;
        EXPECT_NE(b.error.find("not a PCI device"), std::string::npos) << b.error;
    }
    Devargs v;
    EXPECT_FALSE(parse_devargs("packed_vq=1", v).ok) << "vhost-user still needs a path";
    Devargs own;
    ASSERT_TRUE(parse_devargs("dma=own", own, DevargsFor::pci).ok);
    EXPECT_EQ(own.dma, Devargs::Dma::own);
    EXPECT_EQ(Devargs{}.dma, Devargs::Dma::eal);
    const auto bad = parse_devargs("dma=iommu", own, DevargsFor::pci);
    EXPECT_FALSE(bad.ok);
    EXPECT_NE(bad.error.find("'dma'"), std::string::npos) << bad.error;
    const auto vu = parse_devargs("path=/s,dma=own", v);
    EXPECT_FALSE(vu.ok);
    EXPECT_NE(vu.error.find("for PCI devices"), std::string::npos) << vu.error;
}

TEST(Devargs, VectorizedNamesAnInstructionSetOrLeavesItToTheMachine) {
    using V = Devargs::Vectorized;
    EXPECT_EQ(Devargs{}.vectorized, V::automatic);
    const std::pair<const char *, V> ok[] = {
        {"1", V::automatic}, {"auto", V::automatic}, {"0", V::scalar}, {"avx2", V::avx2}, {"avx512", V::avx512}};
    for (const auto &[val, want] : ok) {
        Devargs d;
        ASSERT_TRUE(parse_devargs(std::string("path=/s,vectorized=") + val, d).ok) << val;
        EXPECT_EQ(d.vectorized, want) << val;
    }
    Devargs d;
    for (const char *bad : {"2", "sse", "AVX2", ""}) {
        const auto r = parse_devargs(std::string("path=/s,vectorized=") + bad, d);
        EXPECT_FALSE(r.ok) << bad;
        EXPECT_NE(r.error.find("'vectorized'"), std::string::npos) << r.error;
        EXPECT_NE(r.error.find("avx512"), std::string::npos) << "names what is allowed: " << r.error;
    }
}
