// A hostile back-end through the real PMD: DPDK's net_vhost negotiates and serves normally,
// then the test, holding the back-end's own mapping of the rings (rte_vhost_get_vhost_vring),
// writes what a malicious or broken device would: used ids out of range or twice, lengths
// beyond the buffer, a used index jumping, packed flags fitting neither state, num_buffers
// too large or never completed. Under rte_eth_rx/tx_burst net_vpmd must mark the queue
// broken with its reason (xstats and one log line) or count the bad packet, keep the
// process alive, and have every mbuf back in its pool after stop. Each layout runs the
// scalar, AVX2 and AVX-512 bursts (the last under a 512-bit EAL SIMD width, set at run time).
#define ALLOW_EXPERIMENTAL_API 1 // rte_vect_set_max_simd_bitwidth
#include <gtest/gtest.h>
extern "C" { // DPDK 22.11's rte_vect.h declares its functions without C linkage for C++
#include <rte_vect.h>
}

#include <rte_eth_vhost.h>
#include <rte_log.h>
#include <rte_vhost.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <string>

#include "dataplane/net/virtio_net.hpp"
#include "dataplane/ring/common.hpp"
#include "dataplane/ring/layout.hpp"
#include "dataplane/ring/simd.hpp"
#include "eal_env.hpp"
#include "net/vpmd_harness.hpp"

namespace vpmd::test {
namespace {

using ring::Broken;
constexpr unsigned pool_size = 4095;
constexpr uint16_t rx_vq = 0, tx_vq = 1; // the driver's rx and tx virtqueues
constexpr uint16_t packed_used_bits = ring::desc_f_avail | ring::desc_f_used;

rte_mempool *pool() { return test_pool("vpmd_hostile_pool", pool_size); }


// The back-end's view of one virtqueue, and the writes a hostile device would make.
struct DeviceRing {
    rte_vhost_vring vr{};
    uint16_t last_avail = 0, last_used = 0; // the back-end's positions (packed: wrap in bit 15)
    bool packed = false;

    bool open(int vid, uint16_t q, bool is_packed) {
        packed = is_packed;
        return rte_vhost_get_vhost_vring(vid, q, &vr) == 0 &&
               rte_vhost_get_vring_base(vid, q, &last_avail, &last_used) == 0;
    }
    // Split.
    uint16_t *used_idx() { return reinterpret_cast<uint16_t *>(vr.used) + 1; }
    ring::SplitUsedElem *used_ring() { return reinterpret_cast<ring::SplitUsedElem *>(reinterpret_cast<char *>(vr.used) + 4); }
    uint16_t avail_head(uint16_t k) {
        const auto *ring = reinterpret_cast<const uint16_t *>(vr.avail) + 2;
        return ring[uint16_t(last_avail + k) % vr.size];
    }
    void push_used(uint32_t id, uint32_t len) {
        const uint16_t idx = __atomic_load_n(used_idx(), __ATOMIC_ACQUIRE);
        used_ring()[idx % vr.size] = ring::SplitUsedElem{id, len};
        __atomic_store_n(used_idx(), uint16_t(idx + 1), __ATOMIC_RELEASE);
    }
    // Packed: the k-th slot from the back-end's used position.
    ring::PackedDesc *desc() { return reinterpret_cast<ring::PackedDesc *>(vr.desc_packed); }
    uint16_t slot(uint16_t k) const { return uint16_t(((last_used & 0x7fff) + k) % vr.size); }
    uint16_t used_flags(uint16_t k) const {
        const bool wrap = ((last_used >> 15) & 1) ^ ((((last_used & 0x7fff) + k) / vr.size) & 1);
        return wrap ? packed_used_bits : 0;
    }
    void mark_used(uint16_t k, uint16_t id, uint32_t len) {
        ring::PackedDesc &d = desc()[slot(k)];
        d.id = id;
        d.len = len;
        __atomic_store_n(&d.flags, used_flags(k), __ATOMIC_RELEASE);
    }
    // The driver's buffer of the next available entry (its VA: this process is the driver).
    uint8_t *next_buffer() {
        const uint64_t addr =
            packed ? desc()[slot(0)].addr : reinterpret_cast<const ring::SplitDesc *>(vr.desc)[avail_head(0)].addr;
        return reinterpret_cast<uint8_t *>(uintptr_t(addr));
    }
    uint16_t next_id() { return packed ? desc()[slot(0)].id : avail_head(0); }
};

struct HostileCase {
    bool packed;
    ring::Simd isa;
};

class Hostile : public ::testing::TestWithParam<HostileCase> {
protected:
    void SetUp() override {
        if (!EalEnv::instance()->ready()) {
            GTEST_SKIP() << EalEnv::instance()->skip_reason();
        }
        (void)log_capture();
        ASSERT_NE(pool(), nullptr);
        // "TxUsedIdTwice/packed": one port name per test and layout, as its log lines show.
        const char *tag = ::testing::UnitTest::GetInstance()->current_test_info()->name();
        std::string t(tag);
        for (char &c : t) {
            c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
        }
        name_ = "net_vpmd_" + t;
        if (!ring::cpu_runs(GetParam().isa)) {
            GTEST_SKIP() << "this CPU has no " << ring::simd_name(GetParam().isa);
        }
        ASSERT_EQ(rte_vect_set_max_simd_bitwidth(RTE_VECT_SIMD_512), 0);
        const std::string args = std::string(GetParam().packed ? "packed_vq=1," : "") + "vectorized=" +
                                 (GetParam().isa == ring::Simd::scalar ? "0" : std::string(ring::simd_name(GetParam().isa)));
        pair_ = std::make_unique<VhostPair>(t, args.c_str(), 1);
        ASSERT_TRUE(pair_->up(pool()));
        // Live rings first: frames both ways, every completion collected.
        const std::vector<Frame> frames = {make_frame(64, 1), make_frame(300, 2), make_frame(1500, 3)};
        ASSERT_TRUE(same_frames(transfer(pool(), pair_->vpmd, pair_->vhost, 0, frames), frames));
        ASSERT_TRUE(same_frames(transfer(pool(), pair_->vhost, pair_->vpmd, 0, frames), frames));
        rte_eth_tx_burst(pair_->vpmd, 0, nullptr, 0);
        vid_ = rte_eth_vhost_get_vid_from_port_id(pair_->vhost);
        ASSERT_GE(vid_, 0);
    }
    void TearDown() override {
        if (pair_) {
            pair_->close_vpmd();
            pair_->close_vhost();
            EXPECT_EQ(pool_available(pool()), pool_size) << "mbufs lost";
        }
    }

    DeviceRing ring(uint16_t q) {
        DeviceRing r;
        EXPECT_TRUE(r.open(vid_, q, GetParam().packed));
        return r;
    }
    // Sends `n` frames from the driver that the back-end never dequeues.
    void post_tx(uint16_t n) {
        for (uint16_t i = 0; i < n; ++i) {
            rte_mbuf *m = to_mbuf(pool(), make_frame(80, 100 + i));
            ASSERT_NE(m, nullptr);
            ASSERT_EQ(rte_eth_tx_burst(pair_->vpmd, 0, &m, 1), 1);
        }
    }
    // Completes the next rx buffer with a 60-byte frame whose header claims `num_buffers`.
    void complete_rx_claiming(uint16_t num_buffers) {
        DeviceRing r = ring(rx_vq);
        net::NetHdr h{};
        h.num_buffers = num_buffers;
        std::memcpy(r.next_buffer(), &h, sizeof(h));
        const uint32_t len = uint32_t(net::net_hdr_size + 60);
        if (r.packed) {
            r.mark_used(0, r.next_id(), len);
        } else {
            r.push_used(r.next_id(), len);
        }
    }
    uint16_t rx_once() {
        rte_mbuf *out[32];
        const uint16_t n = rte_eth_rx_burst(pair_->vpmd, 0, out, 32);
        rte_pktmbuf_free_bulk(out, n);
        return n;
    }
    // The queue is broken for `why`, says so in xstats and once in the log, refuses work.
    void expect_broken(const char *dir, Broken why) {
        const std::string q = std::string(dir) + "_q0";
        EXPECT_EQ(xstat(pair_->vpmd, q + "_broken"), uint64_t(why)) << "want " << ring::to_string(why);
        EXPECT_GE(xstat(pair_->vpmd, q + "_ring_errors"), 1u);
        const std::string line = name_ + ": " + dir + " queue 0 broken: " + std::string(ring::to_string(why));
        EXPECT_TRUE(wait_for([&] { return log_count(line) >= 1; })) << "no log line: " << line;
        // More bursts, more watcher periods: still one line.
        for (int i = 0; i < 3; ++i) {
            rte_eth_tx_burst(pair_->vpmd, 0, nullptr, 0);
            EXPECT_EQ(rx_once(), 0);
            std::this_thread::sleep_for(50ms);
        }
        EXPECT_EQ(log_count(line), 1u) << "logged more than once";
        // Telemetry says it too, by port.
        const std::string port = std::to_string(pair_->vpmd);
        const std::string health = telemetry("/vpmd/queues," + port);
        EXPECT_EQ(telemetry_field(health, std::string(dir) + "0", "broken"), ring::to_string(why)) << health;
        EXPECT_NE(telemetry_field(health, std::string(dir) + "0", "ring_errors"), "0") << health;
        const std::string ports = telemetry("/vpmd/ports");
        EXPECT_EQ(telemetry_field(ports, port, "name"), name_) << ports;
        EXPECT_EQ(telemetry_field(ports, port, "layout"), GetParam().packed ? "packed" : "split") << ports;
        EXPECT_EQ(telemetry("/vpmd/queues,999").find("\"broken\""), std::string::npos) << "no such port";
        if (std::string(dir) == "tx") {
            rte_mbuf *m = to_mbuf(pool(), make_frame(80, 9));
            ASSERT_NE(m, nullptr);
            EXPECT_EQ(rte_eth_tx_burst(pair_->vpmd, 0, &m, 1), 0) << "a broken queue takes no more";
            rte_pktmbuf_free(m);
        }
    }

    std::unique_ptr<VhostPair> pair_;
    std::string name_; // the net_vpmd port's, as its log lines start
    int vid_ = -1;
};

TEST_P(Hostile, TxUsedIdOutOfRange) {
    post_tx(1);
    DeviceRing r = ring(tx_vq);
    if (r.packed) {
        r.mark_used(0, uint16_t(r.vr.size + 7), 0);
    } else {
        r.push_used(r.vr.size + 7, 0);
    }
    rte_eth_tx_burst(pair_->vpmd, 0, nullptr, 0); // reclaim: reads the bad entry
    expect_broken("tx", Broken::used_id_out_of_range);
}

TEST_P(Hostile, TxUsedIdTwice) {
    post_tx(2);
    DeviceRing r = ring(tx_vq);
    const uint16_t id = r.next_id();
    if (r.packed) {
        r.mark_used(1, id, 0); // the second slot first: the driver must not see it before the first
        r.mark_used(0, id, 0);
    } else {
        r.push_used(id, 0);
        r.push_used(id, 0);
    }
    rte_eth_tx_burst(pair_->vpmd, 0, nullptr, 0);
    expect_broken("tx", Broken::used_id_not_in_flight);
}

// Four completions in one cache line (what the SIMD bursts check as a group), the third
// repeating the first's id: the two before it are genuine, then the queue is broken, as
// the scalar path decides entry by entry.
TEST_P(Hostile, TxGroupOfFourWithARepeatedId) {
    post_tx(8);
    DeviceRing r = ring(tx_vq);
    const uint16_t at = r.packed ? r.slot(0) : uint16_t(r.last_used % r.vr.size);
    const uint16_t skip = uint16_t((4 - at % 4) % 4); // completed one by one, up to a group boundary
    auto id_of = [&](uint16_t k) { return r.packed ? r.desc()[r.slot(k)].id : r.avail_head(k); };
    uint16_t ids[8];
    for (uint16_t k = 0; k < 8; ++k) {
        ids[k] = id_of(k);
    }
    ids[skip + 2] = ids[skip];
    for (uint16_t k = 0; k < skip + 4; ++k) {
        if (r.packed) {
            r.mark_used(k, ids[k], 0);
        } else {
            r.push_used(ids[k], 0);
        }
    }
    rte_eth_tx_burst(pair_->vpmd, 0, nullptr, 0);
    expect_broken("tx", Broken::used_id_not_in_flight);
}

TEST_P(Hostile, RxLengthBeyondTheBuffer) {
    DeviceRing r = ring(rx_vq);
    if (r.packed) {
        r.mark_used(0, r.next_id(), 1u << 20);
    } else {
        r.push_used(r.next_id(), 1u << 20);
    }
    EXPECT_EQ(rx_once(), 0);
    expect_broken("rx", Broken::used_len_too_long);
}

// Split: the used index jumps; packed: flags fit neither state.
TEST_P(Hostile, RxIndexJumpOrBadFlags) {
    DeviceRing r = ring(rx_vq);
    Broken want;
    if (r.packed) {
        // "used" without "avail" in this lap: neither posted nor used.
        __atomic_store_n(&r.desc()[r.slot(0)].flags, uint16_t(r.used_flags(0) ^ ring::desc_f_avail), __ATOMIC_RELEASE);
        want = Broken::packed_flags_invalid;
    } else {
        __atomic_store_n(r.used_idx(), uint16_t(*r.used_idx() + 1000), __ATOMIC_RELEASE);
        want = Broken::used_idx_jump;
    }
    EXPECT_EQ(rx_once(), 0);
    expect_broken("rx", want);
}

// num_buffers larger than the ring: the packet is dropped and counted, the queue lives on.
TEST_P(Hostile, RxNumBuffersLargerThanTheRing) {
    complete_rx_claiming(60000);
    const uint64_t errors = xstat(pair_->vpmd, "rx_q0_errors");
    EXPECT_EQ(rx_once(), 0);
    EXPECT_EQ(xstat(pair_->vpmd, "rx_q0_errors"), errors + 1);
    EXPECT_EQ(xstat(pair_->vpmd, "rx_q0_broken"), 0u) << "valid ring values, a bad packet: not a broken ring";
}

// num_buffers promising more buffers than ever come: the partial packet is held, never
// delivered, and given back at stop (TearDown checks the pool).
TEST_P(Hostile, RxNumBuffersNeverCompleted) {
    complete_rx_claiming(3);
    EXPECT_EQ(rx_once(), 0);
    EXPECT_EQ(rx_once(), 0);
    EXPECT_EQ(xstat(pair_->vpmd, "rx_q0_broken"), 0u);
}

INSTANTIATE_TEST_SUITE_P(Layouts, Hostile,
                         ::testing::Values(HostileCase{false, ring::Simd::scalar}, HostileCase{true, ring::Simd::scalar},
                                           HostileCase{false, ring::Simd::avx2}, HostileCase{true, ring::Simd::avx2},
                                           HostileCase{false, ring::Simd::avx512}, HostileCase{true, ring::Simd::avx512}),
                         [](const auto &info) {
                             return std::string(info.param.packed ? "packed_" : "split_") +
                                    std::string(ring::simd_name(info.param.isa));
                         });

} // namespace
} // namespace vpmd::test
