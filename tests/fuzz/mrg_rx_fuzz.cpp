// Fuzz target: net_vpmd's mergeable-rx reassembly (rx_deliver_mrg in
// drivers/net/vpmd/rxtx.hpp) fed what a device may complete after the ring's own checks:
// any run of buffers, each with any length up to what was posted for it, and in the
// first buffer of each packet a header with any num_buffers. Real mbufs from an EAL
// pool (no hugepages, no shared config). Invariants: every packet handed out is a consistent
// chain (nb_segs links, pkt_len is the sum of the segments, no segment beyond its
// buffer, it started with a header that announced exactly that many buffers); a packet
// in the making never spans more buffers than the ring holds; malformed headers are
// counted, not delivered; and once the queue is drained as a stop does,
// every mbuf is back in the pool (with ASan: none freed twice).
// With checksum/GSO offloads on (the input's first byte says), the first buffer also gets
// frame bytes from the input, so the header's csum_start/csum_offset/gso fields meet
// frames of every shape in rx_offload (offload.hpp's checks, the software checksum over
// the chain): what is delivered keeps its length, LRO packets carry a segment size.
#include <rte_eal.h>
#include <rte_mbuf.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "drivers/net/vpmd/rxtx.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace {

using namespace vpmd;
using Queue = pmd::RxQueue<pmd::SplitRing>;

constexpr unsigned pool_size = 1023;
constexpr uint16_t queue_size = 64; // num_buffers above it is malformed
constexpr uint16_t max_steps = 512;

rte_mempool *pool = nullptr;

uint32_t posted_len(const rte_mbuf *m) { return uint32_t(m->buf_len - RTE_PKTMBUF_HEADROOM + net::net_hdr_size); }

// The device's view of a first buffer: the header right before the frame's data.
void write_header(rte_mbuf *m, uint16_t num_buffers, vpmd::fuzz::Input &in) {
    net::NetHdr h{};
    in.bytes(&h, sizeof(h)); // flags, gso fields: whatever the device wrote
    h.num_buffers = num_buffers;
    std::memcpy(static_cast<uint8_t *>(m->buf_addr) + RTE_PKTMBUF_HEADROOM - net::net_hdr_size, &h, sizeof(h));
}

void check_packet(const rte_mbuf *p, bool offload) {
    uint32_t sum = 0;
    uint16_t segs = 0;
    for (const rte_mbuf *s = p; s != nullptr; s = s->next) {
        FUZZ_REQUIRE(uint32_t(s->data_off) + s->data_len <= s->buf_len);
        sum += s->data_len;
        ++segs;
    }
    FUZZ_REQUIRE(segs == p->nb_segs);
    FUZZ_REQUIRE(sum == p->pkt_len);
    const auto *h = reinterpret_cast<const net::NetHdr *>(static_cast<const uint8_t *>(p->buf_addr) +
                                                         RTE_PKTMBUF_HEADROOM - net::net_hdr_size);
    FUZZ_REQUIRE(h->num_buffers == segs);
    // A checksum the driver may have finished lies within the first segment.
    FUZZ_REQUIRE(!offload || !(h->flags & net::hdr_flag::needs_csum) ||
                 uint32_t(h->csum_start) + h->csum_offset + 2 <= p->data_len);
}

void drain(Queue &q) { // as the PMD's stop does with a packet still incomplete
    if (q.mrg_head != nullptr) {
        rte_pktmbuf_free(q.mrg_head);
        q.mrg_head = q.mrg_tail = nullptr;
        q.mrg_left = 0;
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***argv) {
    static std::string prefix = "--file-prefix=vpmd-fuzz-" + std::to_string(::getpid());
    const char *args[] = {(*argv)[0], "--no-huge", "--no-pci", "--no-shconf", "-m", "64", "--log-level=*:error",
                          "--no-telemetry", prefix.c_str()};
    if (rte_eal_init(int(sizeof(args) / sizeof(args[0])), const_cast<char **>(args)) < 0) {
        std::fprintf(stderr, "mrg_rx_fuzz: EAL init failed\n");
        std::abort();
    }
    pool = rte_pktmbuf_pool_create("mrg_fuzz", pool_size, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (pool == nullptr) {
        std::fprintf(stderr, "mrg_rx_fuzz: no mbuf pool\n");
        std::abort();
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vpmd::fuzz::Input in(data, size);
    static pmd::HotFilter open_filter{};
    Queue q{};
    q.size = queue_size;
    q.filter = &open_filter;
    const uint8_t mode = in.byte();
    q.offload = mode & 1;
    q.lro = mode & 2;
    q.max_frame = UINT32_MAX; // MTU drops are not what this target is about
    uint64_t delivered = 0, errors_seen = 0;
    for (uint16_t step = 0; step < max_steps && !in.empty(); ++step) {
        rte_mbuf *m = rte_pktmbuf_alloc(pool);
        FUZZ_REQUIRE(m != nullptr); // at most one packet in the making holds mbufs
        const uint8_t kind = in.byte();
        // Length: within what was posted (the ring refuses more), biased to small values.
        uint32_t len = (kind & 0x80) ? in.u16() : in.byte();
        len = len % (posted_len(m) + 1);
        if (q.mrg_left == 0) {
            const uint16_t nb = (kind & 0x40) ? in.u16() : uint16_t(in.byte() % 8);
            write_header(m, nb, in);
            if (q.offload) { // the frame's first bytes, where the headers are parsed
                uint8_t frame[96];
                const size_t n = std::min<size_t>({sizeof(frame), len > net::net_hdr_size ? len - net::net_hdr_size : 0,
                                                   size_t(in.byte())});
                in.bytes(frame, n);
                std::memcpy(static_cast<uint8_t *>(m->buf_addr) + RTE_PKTMBUF_HEADROOM, frame, n);
            }
        }
        rte_mbuf *out[1];
        uint16_t k = 0;
        pmd::rx_deliver_mrg(&q, m, len, out, k, pmd::RxOpts::of(&q));
        FUZZ_REQUIRE(k <= 1);
        if (k == 1) {
            check_packet(out[0], q.offload);
            FUZZ_REQUIRE(!(out[0]->ol_flags & RTE_MBUF_F_RX_LRO) || (q.lro && out[0]->tso_segsz != 0));
            ++delivered;
            rte_pktmbuf_free(out[0]);
        }
        FUZZ_REQUIRE(q.stats.errors >= errors_seen); // counters only grow
        errors_seen = q.stats.errors;
        FUZZ_REQUIRE((q.mrg_left == 0) == (q.mrg_head == nullptr));
        // A packet never spans more buffers than the ring holds: else a device could make
        // one packet swallow the pool.
        FUZZ_REQUIRE(q.mrg_head == nullptr || uint32_t(q.mrg_head->nb_segs) + q.mrg_left <= queue_size);
    }
    FUZZ_REQUIRE(q.stats.packets == delivered);
    drain(q);
    FUZZ_REQUIRE(rte_mempool_avail_count(pool) == pool_size);
    return 0;
}
