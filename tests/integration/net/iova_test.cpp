// net_vpmd on a transport whose DMA device speaks IOVAs that are not VAs (device address =
// VA + 2^52, mbuf buf_iova rewritten to match): the port is created through create_port()
// with a test transport, an in-process device serves its rings through a translator that
// accepts only those IOVAs, and frames go both ways byte for byte. Any VA posted anywhere
// (ring addresses, the first rx fill, refills, tx headers, indirect tables) is caught.
#include <gtest/gtest.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <atomic>
#include <cstring>
#include <vector>

#include "dataplane/net/virtio_net.hpp"
#include "dataplane/ring/queue.hpp"
#include "drivers/net/vpmd/ethdev.hpp"
#include "eal_env.hpp"
#include "mock/fake_transport.hpp"
#include "net/vpmd_harness.hpp"

namespace vpmd::test {
namespace {

using namespace std::chrono_literals;

// The device's view of memory: only addresses of the offset DMA device translate.
struct IovaOnly {
    std::atomic<uint64_t> *vas_seen;
    void *operator()(uint64_t addr, uint32_t) const {
        if (addr < offset_dma_base) {
            vas_seen->fetch_add(1);
            return nullptr;
        }
        return reinterpret_cast<void *>(uintptr_t(addr - offset_dma_base));
    }
};

rte_mempool *iova_pool() {
    static rte_mempool *mp = [] {
        rte_mempool *p = rte_pktmbuf_pool_create("vpmd_iova_pool", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                                 SOCKET_ID_ANY);
        if (p != nullptr) {
            // What an IOMMU-mapped device would see: every buffer at its IOVA, not its VA.
            rte_mempool_obj_iter(
                p,
                [](rte_mempool *, void *, void *obj, unsigned) {
                    auto *m = static_cast<rte_mbuf *>(obj);
                    m->buf_iova = OffsetDma::to_device(m->buf_addr);
                },
                nullptr);
        }
        return p;
    }();
    return mp;
}

struct Layout {
    const char *name;
    bool packed;
    bool in_order;
};

class IovaTransport : public ::testing::TestWithParam<Layout> {};

template <class Device>
void run_traffic(uint16_t port, FakeDeviceState &dev, const ring::QueueConfig &cfg, std::atomic<uint64_t> &vas) {
    const transport::QueueSetup *rxs = nullptr, *txs = nullptr;
    for (const auto &s : dev.setups) {
        if (s.index == 0) {
            rxs = &s;
        } else if (s.index == 1) {
            txs = &s;
        }
    }
    ASSERT_NE(rxs, nullptr);
    ASSERT_NE(txs, nullptr);
    for (const auto *s : {rxs, txs}) {
        EXPECT_GE(s->desc_addr, offset_dma_base) << "ring handed to the device at a VA";
        EXPECT_GE(s->driver_area_addr, offset_dma_base);
        EXPECT_GE(s->device_area_addr, offset_dma_base);
    }
    const IovaOnly tr{&vas};
    Device rx, tx;
    rx.init(cfg, tr(rxs->desc_addr, 0), tr);
    tx.init(cfg, tr(txs->desc_addr, 0), tr);

    std::vector<Frame> sent, got;
    for (uint32_t round = 0; round < 40; ++round) {
        // Sizes and segmentations vary: single-segment (header pushed in the headroom) and
        // chained (header from the queue's header slots, maybe an indirect table).
        std::vector<rte_mbuf *> burst;
        for (uint32_t k = 0; k < 4; ++k) {
            const uint32_t len = 60 + (round * 97 + k * 331) % 1450;
            Frame f = make_frame(len, round * 4 + k);
            rte_mbuf *m = to_mbuf(iova_pool(), f, (k % 2) ? 256 : 2048);
            ASSERT_NE(m, nullptr);
            burst.push_back(m);
            sent.push_back(std::move(f));
        }
        ASSERT_EQ(rte_eth_tx_burst(port, 0, burst.data(), uint16_t(burst.size())), burst.size());
        typename Device::Chain c;
        while (tx.take(c)) {
            std::vector<uint8_t> bytes;
            for (uint16_t i = 0; i < c.nsegs; ++i) {
                const auto *p = static_cast<const uint8_t *>(c.segs[i].ptr);
                bytes.insert(bytes.end(), p, p + c.segs[i].len);
            }
            ASSERT_GE(bytes.size(), net::net_hdr_size);
            Frame f(bytes.begin() + net::net_hdr_size, bytes.end());
            ASSERT_TRUE(tx.put_used(c, 0));
            typename Device::Chain r;
            ASSERT_TRUE(rx.take(r)) << "no rx buffer posted";
            ASSERT_GE(r.writable_len, f.size() + net::net_hdr_size);
            auto *dst = static_cast<uint8_t *>(r.segs[0].ptr);
            std::memset(dst, 0, net::net_hdr_size);
            std::memcpy(dst + net::net_hdr_size, f.data(), f.size());
            ASSERT_TRUE(rx.put_used(r, uint32_t(f.size() + net::net_hdr_size)));
        }
        tx.publish_used();
        rx.publish_used();
        rte_mbuf *in[8];
        uint16_t n = 0;
        for (int tries = 0; tries < 4 && n == 0; ++tries) {
            n = rte_eth_rx_burst(port, 0, in, 8);
        }
        for (uint16_t i = 0; i < n; ++i) {
            got.push_back(from_mbuf(in[i]));
            rte_pktmbuf_free(in[i]);
        }
    }
    EXPECT_EQ(rx.broken(), ring::Broken::none) << ring::to_string(rx.broken());
    EXPECT_EQ(tx.broken(), ring::Broken::none) << ring::to_string(tx.broken());
    ASSERT_EQ(got.size(), sent.size());
    for (size_t i = 0; i < sent.size(); ++i) {
        ASSERT_EQ(got[i], sent[i]) << "frame " << i;
    }
}

TEST_P(IovaTransport, NoVaIsEverPostedAndFramesCrossByteForByte) {
    VPMD_REQUIRE_EAL();
    const Layout l = GetParam();
    ASSERT_NE(iova_pool(), nullptr);
    const unsigned before = pool_available(iova_pool());
    auto dev = std::make_shared<FakeDeviceState>();
    dev->offered = ring::feature::version_1 | ring::feature::indirect_desc |
                   (l.packed ? ring::feature::ring_packed : 0) | (l.in_order ? ring::feature::in_order : 0);
    pmd::PortRequest req;
    req.name = std::string("net_vpmd_iova_") + l.name;
    std::string args = "path=/unused,mrg_rxbuf=0";
    args += l.packed ? ",packed_vq=1" : "";
    args += l.in_order ? ",in_order=1" : "";
    ASSERT_TRUE(pmd::parse_devargs(args, req.args).ok);
    req.transport = std::make_unique<FakeTransport>(dev);
    const std::string name = req.name;
    const int port = pmd::create_port(std::move(req), [&](size_t sz) { return pmd::allocate_ethdev(name, sz, SOCKET_ID_ANY); });
    ASSERT_GE(port, 0);
    ASSERT_EQ(configure_port(uint16_t(port), 1, iova_pool()), 0);
    ASSERT_EQ(rte_eth_dev_start(uint16_t(port)), 0);
    EXPECT_TRUE(link_is(uint16_t(port), true));

    std::atomic<uint64_t> vas{0};
    ring::QueueConfig cfg;
    cfg.size = 256;
    cfg.features = dev->offered;
    if (l.packed) {
        run_traffic<ring::PackedDevice<IovaOnly>>(uint16_t(port), *dev, cfg, vas);
    } else {
        run_traffic<ring::SplitDevice<IovaOnly>>(uint16_t(port), *dev, cfg, vas);
    }
    EXPECT_EQ(vas.load(), 0u) << "a VA was handed to a device that speaks IOVAs";
    EXPECT_NE(dev->doorbells[1], 0) << "tx never kicked through the transport's notifier";

    ASSERT_EQ(rte_eth_dev_stop(uint16_t(port)), 0);
    EXPECT_EQ(pool_available(iova_pool()), before) << "mbufs lost";
    ASSERT_EQ(rte_eth_dev_close(uint16_t(port)), 0);
    EXPECT_EQ(dev->calls.back(), "close");
}

INSTANTIATE_TEST_SUITE_P(Layouts, IovaTransport,
                         ::testing::Values(Layout{"split", false, false}, Layout{"split_inorder", false, true},
                                           Layout{"packed", true, false}, Layout{"packed_inorder", true, true}),
                         [](const auto &info) { return std::string(info.param.name); });

} // namespace
} // namespace vpmd::test
