// vpmd-perf's moving parts, shared by the measured runs (engine.cpp) and the soak
// (soak.cpp): frames, integrity checks, the device and driver loops, port bring-up.
#pragma once

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_pause.h>
#include <rte_vhost.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <climits>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "apps/perf/engine.hpp"
#include "apps/perf/payload.hpp"

namespace vpmd::perf::detail {

using namespace std::chrono_literals;

constexpr uint16_t max_queues = 8;
constexpr uint16_t dev_burst = 32;
static_assert(dev_burst <= 32, "the device marks corrupted frames of a burst in a 32-bit mask");
constexpr uint32_t window_per_queue = 512; // loopback: packets in flight per queue
constexpr double warmup_seconds = 0.2;
constexpr size_t max_latency_samples = 1 << 20;
constexpr uint64_t latency_sample_every = 8;
constexpr auto link_wait = 10s;

// ---- frames ---------------------------------------------------------------------------

// What the driver side asks of the device for each packet it sends (offload scenarios).
struct TxRequest {
    uint64_t ol_flags = 0;
    uint16_t tso_segsz = 0;
    void apply(rte_mbuf *m) const {
        m->ol_flags |= ol_flags;
        m->l2_len = eth_hdr_len;
        m->l3_len = ipv4_hdr_len;
        m->l4_len = tcp_hdr_len;
        m->tso_segsz = tso_segsz;
    }
};

// The frame every packet of a scenario is copied from, and where its PerfHdr sits.
struct Template {
    std::vector<uint8_t> bytes;
    FrameFormat fmt;
    TxRequest tx;         // what the driver asks for (none: plain frames)
    uint64_t expect_rx = 0; // ol_flags the device must see on what the driver sent
    uint64_t fill = 0;      // fill_hash of the frame (every frame of a scenario has its length)
};

inline Template make_template(const Scenario &s) {
    Template t;
    t.bytes.resize(std::max<uint32_t>(s.size, min_frame)); // sizes below are refused earlier
    if (s.offload == Offload::none) {
        build_template(t.bytes.data(), s.size);
    } else {
        const bool tso = s.offload == Offload::tso;
        build_tcp_template(t.bytes.data(), s.size, tso);
        t.fmt = FrameFormat{tcp_perf_off};
        t.tx.ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM | (tso ? RTE_MBUF_F_TX_TCP_SEG : 0);
        t.tx.tso_segsz = tso ? tso_mss : 0;
        // net_vhost with rx checksum offload on: NEEDS_CSUM arrives as L4_CKSUM_NONE, a GSO
        // request as LRO (DPDK vhost's compliant offload flags).
        t.expect_rx = tso ? RTE_MBUF_F_RX_LRO : RTE_MBUF_F_RX_L4_CKSUM_NONE;
    }
    t.fill = fill_hash(t.bytes.data(), uint32_t(t.bytes.size()), t.fmt);
    return t;
}

// Writes the header of a frame copied from the template into its first segment.
inline void stamp(rte_mbuf *head, const Template &tmpl, uint32_t len, uint64_t seq, uint64_t tsc) {
    const PerfHdr h = make_hdr(tmpl.fill, len, seq, tsc);
    rte_memcpy(rte_pktmbuf_mtod_offset(head, uint8_t *, tmpl.fmt.hdr_off), &h, sizeof(h));
}

// Copies the template into a fresh mbuf (a chain for frames beyond one buffer) and puts
// the header in; nullptr when the pool is dry.
inline rte_mbuf *make_packet(rte_mempool *mp, const Template &tmpl, uint32_t len, uint64_t seq, uint64_t tsc) {
    rte_mbuf *head = nullptr, *tail = nullptr;
    uint32_t off = 0;
    while (off < len) {
        rte_mbuf *m = rte_pktmbuf_alloc(mp);
        if (m == nullptr) {
            rte_pktmbuf_free(head);
            return nullptr;
        }
        const uint16_t n = uint16_t(std::min<uint32_t>(rte_pktmbuf_tailroom(m), len - off));
        rte_memcpy(rte_pktmbuf_append(m, n), tmpl.bytes.data() + off, n);
        off += n;
        if (head == nullptr) {
            head = tail = m;
        } else {
            tail->next = m;
            tail = m;
            ++head->nb_segs;
            head->pkt_len += n;
        }
    }
    stamp(head, tmpl, len, seq, tsc);
    return head;
}

// Builds up to n packets numbered from seq, all stamped with one TSC (they leave in one
// burst); returns how many the pool gave. Frames that fit one buffer take the pool's
// bulk path: per packet that is a template copy and a header, which keeps the packet
// source (the device in rxonly) from setting the pace with its own allocations.
inline uint16_t make_burst(rte_mempool *mp, const Template &tmpl, uint32_t len, uint64_t seq, rte_mbuf **out,
                    uint16_t n) {
    const uint64_t tsc = rte_rdtsc();
    const bool one_buffer = len + RTE_PKTMBUF_HEADROOM <= uint32_t(rte_pktmbuf_data_room_size(mp));
    if (one_buffer && rte_pktmbuf_alloc_bulk(mp, out, n) == 0) {
        for (uint16_t i = 0; i < n; ++i) {
            rte_mbuf *m = out[i]; // fresh from the pool: empty, and the frame fits (one_buffer)
            m->data_len = uint16_t(len);
            m->pkt_len = len;
            rte_memcpy(rte_pktmbuf_mtod(m, uint8_t *), tmpl.bytes.data(), len);
            stamp(m, tmpl, len, seq + i, tsc);
        }
        return n;
    }
    uint16_t built = 0;
    for (; built < n; ++built) { // chains, or a pool too low for the whole burst
        out[built] = make_packet(mp, tmpl, len, seq + built, tsc);
        if (out[built] == nullptr) {
            break;
        }
    }
    return built;
}

// Contiguous bytes of a frame (copied out only when it is a chain).
inline const uint8_t *frame_bytes(const rte_mbuf *m, std::vector<uint8_t> &scratch) {
    if (m->nb_segs == 1) {
        return rte_pktmbuf_mtod(m, const uint8_t *);
    }
    scratch.resize(m->pkt_len);
    return static_cast<const uint8_t *>(rte_pktmbuf_read(m, 0, m->pkt_len, scratch.data()));
}

// Frees a burst: straight back to the pool when every mbuf is what the pool holds
// (direct, unshared, one segment, all from one pool), which is what rte_pktmbuf_free_bulk
// would find and hand back untouched, for about half its instructions (callgrind: 23
// against 41 a packet); else through it. Both sides free every packet, and the harness
// should cost as little as it can beside the drivers it measures.
inline void free_burst(rte_mbuf *const *pkts, uint16_t n) {
    if (n == 0) {
        return;
    }
    rte_mempool *const pool = pkts[0]->pool;
    bool plain = true;
    for (uint16_t i = 0; i < n; ++i) {
        const rte_mbuf *m = pkts[i];
        plain &= m->pool == pool && m->next == nullptr && m->nb_segs == 1 &&
                 rte_mbuf_refcnt_read(m) == 1 && RTE_MBUF_DIRECT(m);
    }
    if (plain) {
        rte_mempool_put_bulk(pool, reinterpret_cast<void *const *>(pkts), n);
    } else {
        rte_pktmbuf_free_bulk(const_cast<rte_mbuf **>(pkts), n);
    }
}

// Per-queue sequence bookkeeping on the receiving side.
struct SeqCheck {
    uint64_t expected = 0;
    // The soak's back-end restarts: numbers [first, second) were in flight when the
    // device went away, and a device without INFLIGHT_SHMFD loses them; what of a gap
    // falls in such a window is counted apart (`excused`), not as lost. Empty in
    // measured runs; only a gap (cold) reads it.
    std::vector<std::pair<uint64_t, uint64_t>> in_flight_at_restart;
    uint64_t excused = 0;

    void see(uint64_t seq, uint64_t &lost, uint64_t &reordered) {
        if (seq == expected) {
            ++expected;
        } else if (seq > expected) {
            gap(seq, lost);
            expected = seq + 1;
        } else {
            ++reordered;
        }
    }
    // Numbers [expected, upto) never came: lost, or excused where a restart explains them.
    void gap(uint64_t upto, uint64_t &lost) {
        uint64_t explained = 0;
        for (const auto &[from, to] : in_flight_at_restart) {
            const uint64_t a = std::max(from, expected), b = std::min(to, upto);
            explained += b > a ? b - a : 0;
        }
        excused += explained;
        lost += upto - expected - explained;
    }
};

struct Verify {
    uint64_t lost = 0, reordered = 0, corrupted = 0;
    std::vector<uint8_t> scratch;
    FrameFormat fmt;
    uint64_t expect_ol = 0; // ol_flags every frame must carry (the device side of an offload scenario)
    // Returns the header when the frame is intact. A corrupted frame still arrived: it
    // takes the next expected number (its own cannot be trusted), so it is not also lost.
    // A frame without the offload it was sent with counts as corrupted too.
    bool check(const rte_mbuf *m, SeqCheck &seq, PerfHdr &h) {
        const uint8_t *f = frame_bytes(m, scratch);
        if (f == nullptr || check_frame(f, m->pkt_len, h, fmt) != Check::ok ||
            (m->ol_flags & expect_ol) != expect_ol) {
            ++corrupted;
            seq.see(seq.expected, lost, reordered);
            return false;
        }
        seq.see(h.seq, lost, reordered);
        return true;
    }
};

// ---- device side ----------------------------------------------------------------------

struct DeviceLoop {
    uint16_t port = 0;
    uint16_t first = 0; // serves queue pairs [first, first + queues) (its lane's share)
    uint16_t queues = 1;
    Direction dir = Direction::loopback;
    uint32_t size = 64;
    rte_mempool *mp = nullptr;
    const Template *tmpl = nullptr;
    uint64_t corrupt_every = 0;
    Verify verify; // sink: what the driver sent
    uint64_t handled = 0;

    struct Pending {
        rte_mbuf *pkts[dev_burst];
        uint16_t start = 0, count = 0;
    };

    // rxonly's packet source: one burst of frames per queue, built once and sent over
    // and over, restamped (sequence, TSC, checksum) each time and written straight into
    // the driver's rx ring by the vhost library: no allocation, free or ethdev layer per
    // packet: what the source costs is a stamp and the copy into the driver's buffer.
    struct Source {
        rte_mbuf *frames[dev_burst] = {};
        uint16_t start = 0, count = 0; // frames[start, start + count) wait to be sent
        uint32_t flipped = 0;          // bit i: frames[i] carries a corrupted fill byte
    };
    // The vhost device behind `port` (-1: not known, or not to be used). Measured runs in
    // this process know it and call the vhost library directly, as net_vhost's own bursts
    // do, minus their per-packet stats and offload fix-ups: the device then costs what
    // DPDK's vhost costs, and sets the pace less often (scripts/callgrind-pmd.sh
    // --by-lcore). The ethdev layer stays where the device can go away under traffic
    // (the soak restarts it; net_vhost keeps its bursts off a vanished device).
    int vid = -1;

    // Virtqueue 2q is queue pair q's receive queue (the driver's rx, the device's tx),
    // 2q + 1 its transmit queue.
    uint16_t device_rx(uint16_t q, rte_mbuf **pkts, uint16_t n) {
        return vid >= 0 ? rte_vhost_dequeue_burst(vid, uint16_t(2 * q + 1), mp, pkts, n)
                        : rte_eth_rx_burst(port, q, pkts, n);
    }
    // Sends (copies) what the driver's ring takes and frees it, as net_vhost does.
    uint16_t device_tx(uint16_t q, rte_mbuf **pkts, uint16_t n) {
        if (vid < 0) {
            return rte_eth_tx_burst(port, q, pkts, n);
        }
        const uint16_t sent = rte_vhost_enqueue_burst(vid, uint16_t(2 * q), pkts, n);
        free_burst(pkts, sent);
        return sent;
    }

    // Tries to send what waits; true when nothing is left waiting.
    bool flush(uint16_t q, Pending &p) {
        if (p.count != 0) {
            const uint16_t sent = device_tx(q, p.pkts + p.start, p.count);
            p.start += sent;
            p.count -= sent;
        }
        return p.count == 0;
    }

    // Sends n fresh packets now; what the ring cannot take waits in `p` (never dropped).
    uint32_t send_new(uint16_t q, Pending &p, uint16_t n) {
        corrupt(p.pkts, n);
        p.start = 0;
        p.count = n;
        flush(q, p);
        return n;
    }

    // Flips a sampled fill byte of every corrupt_every-th packet (the checksum covers it
    // in every packet); returns bit i set for each pkts[i] it changed.
    uint32_t corrupt(rte_mbuf **pkts, uint16_t n) {
        uint32_t changed = 0;
        for (uint16_t i = 0; i < n; ++i) {
            if (corrupt_every != 0 && ++handled % corrupt_every == 0) {
                flip(pkts[i]);
                changed |= 1u << i;
            }
        }
        return changed;
    }
    void flip(rte_mbuf *m) const { rte_pktmbuf_mtod(m, uint8_t *)[tmpl->fmt.fill()] ^= 0x5a; }

    // Builds every queue's source frames (rxonly); false when the pool is short.
    bool prepare_source() {
        for (uint16_t q = first; q < first + queues; ++q) {
            if (make_burst(mp, *tmpl, size, 0, source[q].frames, dev_burst) != dev_burst) {
                return false;
            }
        }
        return true;
    }

    // Sends what waits of the queue's source burst, or a freshly stamped one; returns
    // the packets the driver's ring took. Corrupted frames are mended once sent.
    uint32_t source_poll(uint16_t q) {
        Source &src = source[q];
        if (src.count == 0) {
            const uint64_t tsc = rte_rdtsc();
            for (uint16_t i = 0; i < dev_burst; ++i) {
                stamp(src.frames[i], *tmpl, size, next_seq[q] + i, tsc);
            }
            next_seq[q] += dev_burst;
            src.flipped = corrupt(src.frames, dev_burst);
            src.start = 0;
            src.count = dev_burst;
        }
        const uint16_t sent = rte_vhost_enqueue_burst(vid, uint16_t(2 * q), src.frames + src.start, src.count);
        const uint32_t done = uint32_t((uint64_t(1) << (src.start + sent)) - 1); // frames sent so far
        for (uint32_t f = src.flipped & done; f != 0; f &= f - 1) {
            flip(src.frames[std::countr_zero(f)]); // the vhost library copied it already
        }
        src.flipped &= ~done;
        src.start += sent;
        src.count -= sent;
        return sent;
    }

    Pending pending[max_queues];
    Source source[max_queues];
    SeqCheck seqs[max_queues];
    uint64_t next_seq[max_queues] = {};

    // One pass over every queue; returns the packets handled. The runtime's worker loop
    // repeats it on the device lcore; single-thread mode interleaves it with the driver.
    uint32_t poll() noexcept {
        uint32_t work = 0;
        rte_mbuf *pkts[dev_burst];
        PerfHdr h;
        for (uint16_t q = first; q < first + queues; ++q) {
            Pending &p = pending[q];
            switch (dir) {
            case Direction::loopback: {
                if (!flush(q, p)) {
                    break; // the driver's rx ring is full: never drop, retry
                }
                const uint16_t n = device_rx(q, p.pkts, dev_burst);
                if (verify.expect_ol != 0) { // offload scenarios: the request must have arrived
                    for (uint16_t i = 0; i < n; ++i) {
                        verify.corrupted += (p.pkts[i]->ol_flags & verify.expect_ol) != verify.expect_ol;
                    }
                }
                work += send_new(q, p, n);
                break;
            }
            case Direction::txonly: {
                const uint16_t n = device_rx(q, pkts, dev_burst);
                work += n;
                corrupt(pkts, n);
                for (uint16_t i = 0; i < n; ++i) {
                    verify.check(pkts[i], seqs[q], h);
                }
                free_burst(pkts, n);
                break;
            }
            case Direction::rxonly:
                work += source_poll(q);
                break;
            }
        }
        return work;
    }

    void release() {
        for (uint16_t q = first; q < first + queues; ++q) {
            rte_pktmbuf_free_bulk(pending[q].pkts + pending[q].start, pending[q].count);
            pending[q].count = 0;
            for (rte_mbuf *&m : source[q].frames) {
                rte_pktmbuf_free(m);
                m = nullptr;
            }
            source[q].count = 0;
        }
    }

};

// ---- driver side ----------------------------------------------------------------------

struct DriverLoop {
    uint16_t port = 0;
    uint16_t first = 0; // polls queue pairs [first, first + queues) (its lane's share)
    uint16_t queues = 1;
    Direction dir = Direction::loopback;
    uint16_t burst = 32;
    uint32_t size = 64;
    rte_mempool *mp = nullptr;
    const Template *tmpl = nullptr;
    DeviceLoop *inline_device = nullptr; // single-thread mode: step the device here
    bool verify_rx = true; // false: a device of another process sends frames of its own
    // Loopback: at most this many packets in flight per queue. A device of another process
    // (testpmd io) drops what finds the driver's rx ring full, so there it is half a ring.
    uint32_t window = window_per_queue;

    Verify verify;
    std::vector<uint64_t> latency_tsc;
    uint64_t packets = 0, busy_tsc = 0, measured_tsc = 0;
    uint64_t inflight[max_queues] = {};
    uint64_t tx_seq[max_queues] = {};
    SeqCheck rx_seq[max_queues];
    uint64_t slice_start = 0; // latency: only packets sent in this slice (not parked over another's)
    unsigned lcore = 0;       // where the last slice ran

    uint16_t send(uint16_t q, bool limit) {
        uint16_t k = burst;
        if (limit) {
            k = uint16_t(std::min<uint64_t>(k, window - std::min<uint64_t>(inflight[q], window)));
        }
        rte_mbuf *pkts[512];
        const uint16_t built = make_burst(mp, *tmpl, size, tx_seq[q], pkts, k);
        if (tmpl->tx.ol_flags != 0) {
            for (uint16_t i = 0; i < built; ++i) {
                tmpl->tx.apply(pkts[i]);
            }
        }
        const uint16_t sent = built ? rte_eth_tx_burst(port, q, pkts, built) : 0;
        rte_pktmbuf_free_bulk(pkts + sent, built - sent); // their numbers are reused
        tx_seq[q] += sent;
        inflight[q] += sent;
        return sent;
    }

    uint16_t receive(uint16_t q, bool measuring) {
        rte_mbuf *pkts[512];
        const uint16_t n = rte_eth_rx_burst(port, q, pkts, burst);
        const uint64_t now = rte_rdtsc();
        PerfHdr h;
        for (uint16_t i = 0; i < n && verify_rx; ++i) {
            if (verify.check(pkts[i], rx_seq[q], h) && measuring && dir == Direction::loopback &&
                h.seq % latency_sample_every == 0 && h.tsc >= slice_start &&
                latency_tsc.size() < max_latency_samples) {
                latency_tsc.push_back(now - h.tsc);
            }
        }
        free_burst(pkts, n);
        inflight[q] -= std::min<uint64_t>(inflight[q], n);
        return n;
    }

    // Polls until TSC `end`, or until `until_packets` are counted when that is not 0.
    // Packets, busy cycles and elapsed time count only when `measuring`.
    void run_slice(uint64_t end, bool measuring, uint64_t until_packets = 0) {
        lcore = rte_lcore_id();
        slice_start = rte_rdtsc();
        for (;;) {
            const uint64_t s = rte_rdtsc();
            uint32_t work = 0;
            uint64_t counted = 0;
            for (uint16_t q = first; q < first + queues; ++q) {
                if (dir != Direction::rxonly) {
                    const uint16_t sent = send(q, dir == Direction::loopback);
                    work += sent;
                    counted += dir == Direction::txonly ? sent : 0;
                }
                if (dir != Direction::txonly) {
                    const uint16_t got = receive(q, measuring);
                    work += got;
                    counted += got;
                }
            }
            const uint64_t e = rte_rdtsc();
            if (inline_device != nullptr) {
                (void)inline_device->poll();
            }
            if (measuring) {
                packets += counted;
                busy_tsc += work != 0 ? e - s : 0;
            }
            if (until_packets != 0 ? packets >= until_packets : e >= end) {
                if (measuring) {
                    measured_tsc += e - slice_start;
                }
                return;
            }
        }
    }

    // Loopback: everything sent must come back; what does not within a second is lost.
    void drain() {
        if (dir != Direction::loopback) {
            return;
        }
        const uint64_t drain_end = rte_rdtsc() + rte_get_tsc_hz();
        auto outstanding = [&] {
            uint64_t n = 0;
            for (uint16_t q = first; q < first + queues; ++q) {
                n += inflight[q];
            }
            return n;
        };
        while (outstanding() != 0 && rte_rdtsc() < drain_end) {
            if (inline_device != nullptr) {
                (void)inline_device->poll();
            }
            for (uint16_t q = first; q < first + queues; ++q) {
                receive(q, false);
                rte_eth_tx_burst(port, q, nullptr, 0);
            }
        }
        verify.lost += outstanding();
    }
};

// The device lcore serves the pair whose driver is being measured; the driver lcore
// switches it at each slice. The others keep their ring state untouched meanwhile.
struct DeviceSwitch {
    std::atomic<DeviceLoop *> active{nullptr};
    std::atomic<uint64_t> passes{0}; // written by the device lcore only
    uint32_t poll() noexcept {
        DeviceLoop *d = active.load(std::memory_order_acquire);
        const uint32_t work = d != nullptr ? d->poll() : 0;
        passes.store(passes.load(std::memory_order_relaxed) + 1, std::memory_order_release);
        return work;
    }
    // Serves nobody from now on: returns once the device lcore has finished any pass
    // that may have started with the old pair (two whole passes later). The worker must
    // be running.
    void idle() {
        active.store(nullptr, std::memory_order_release);
        const uint64_t seen = passes.load(std::memory_order_acquire);
        while (passes.load(std::memory_order_acquire) < seen + 2) {
            rte_pause();
        }
    }
};

// ---- ports ----------------------------------------------------------------------------

// `rx_off`/`tx_off`: offloads the scenario needs; -ENOTSUP when the port lacks one.
inline int configure(uint16_t port, uint16_t queues, rte_mempool *mp, uint16_t ring, uint32_t frame,
                     uint64_t rx_off = 0, uint64_t tx_off = 0) {
    rte_eth_conf conf{};
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(port, &info); rc != 0) {
        return rc;
    }
    if ((info.rx_offload_capa & rx_off) != rx_off || (info.tx_offload_capa & tx_off) != tx_off) {
        return -ENOTSUP;
    }
    conf.rxmode.offloads = rx_off;
    conf.txmode.offloads = tx_off;
    if (frame > RTE_ETHER_MAX_LEN) {
        conf.rxmode.mtu = frame - RTE_ETHER_HDR_LEN;
        conf.rxmode.offloads |= info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER;
    }
    conf.txmode.offloads |= info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    if (int rc = rte_eth_dev_configure(port, queues, queues, &conf); rc != 0) {
        return rc;
    }
    for (uint16_t q = 0; q < queues; ++q) {
        if (int rc = rte_eth_rx_queue_setup(port, q, ring, rte_socket_id(), nullptr, mp); rc != 0) {
            return rc;
        }
        if (int rc = rte_eth_tx_queue_setup(port, q, ring, rte_socket_id(), nullptr); rc != 0) {
            return rc;
        }
    }
    if (int rc = rte_eth_dev_start(port); rc != 0) {
        return rc;
    }
    // As testpmd: receive everything, so no driver spends time on a receive filter the
    // other does not have (net_virtio_user leaves filtering to the device).
    const int rc = rte_eth_promiscuous_enable(port);
    return rc == -ENOTSUP ? 0 : rc;
}

inline bool link_up(uint16_t port) {
    rte_eth_link l{};
    return rte_eth_link_get_nowait(port, &l) == 0 && l.link_status == RTE_ETH_LINK_UP;
}

inline void remove_port(const std::string &name) {
    uint16_t port;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port) == 0) {
        rte_eth_dev_stop(port);
        rte_eth_dev_close(port);
    }
    rte_vdev_uninit(name.c_str());
}

inline double percentile(std::vector<uint64_t> &v, double p, uint64_t hz) {
    if (v.empty()) {
        return 0;
    }
    const size_t k = std::min(v.size() - 1, size_t(p * double(v.size())));
    std::nth_element(v.begin(), v.begin() + long(k), v.end());
    return double(v[k]) * 1e6 / double(hz);
}


// A lane: the driver loop of some of a port's queue pairs and the device loop serving
// them, each on its own lcore (EngineContext::lanes).
struct LaneLoops {
    DeviceLoop dev;
    DriverLoop loop;
};

// One driver under test and the net_vhost port that is its device: one lane, or with
// --spread one per queue pair.
struct Pair {
    Driver driver = Driver::vpmd;
    std::string sock, vhost, drv;
    uint16_t vport = 0, dport = 0;
    std::vector<LaneLoops> lanes = std::vector<LaneLoops>(1); // fixed once prepare_loops ran
    std::string error;

    void remove() {
        if (sock.empty()) {
            return; // never named: nothing of it exists
        }
        remove_port(drv);
        if (!vhost.empty()) { // in process: our net_vhost port (another process owns its own)
            remove_port(vhost);
            unlink(sock.c_str());
        }
    }
};

// The pair's device: a net_vhost port listening on its socket (again, after a restart).
inline bool start_device(const EngineContext &ctx, const Scenario &s, Pair &p) {
    unlink(p.sock.c_str());
    // Offload scenarios: TSO needs net_vhost's tso=1; with its rx checksum offload on, the
    // device reports what the driver asked for instead of finishing checksums itself.
    const std::string args = "iface=" + p.sock + ",queues=" + std::to_string(s.queues) +
                             (s.offload == Offload::tso ? ",tso=1" : "");
    const uint64_t rx_off = s.offload == Offload::none ? 0 : RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
    if (rte_vdev_init(p.vhost.c_str(), args.c_str()) != 0 ||
        rte_eth_dev_get_port_by_name(p.vhost.c_str(), &p.vport) != 0 ||
        configure(p.vport, s.queues, ctx.device_pool, 1024, s.size, rx_off) != 0) {
        p.error = "device (net_vhost) bring-up failed";
        return false;
    }
    return true;
}

// Names the pair's socket and ports (unique in this process and on the machine).
inline void name_pair(EngineContext &ctx, Pair &p) {
    const uint32_t id = ++ctx.run_id;
    p.sock = "/tmp/vpmd-perf-" + std::to_string(getpid()) + "-" + std::to_string(id) + ".sock";
    p.vhost = "net_vhost_perf" + std::to_string(id);
    p.drv = (p.driver == Driver::vpmd ? "net_vpmd_perf" : "net_virtio_user_perf") + std::to_string(id);
}

// Brings up the device port (unless another process serves the socket: `external`), then
// hot-plugs the driver on its socket; false with p.error. The pair must be named.
inline bool bring_up(EngineContext &ctx, const Scenario &s, Pair &p, bool external = false) {
    const std::string q = std::to_string(s.queues);
    const bool packed = s.layout == "packed";
    const bool vec = s.best && p.driver == Driver::virtio_user; // see Scenario::best
    const bool in_order = vec ? packed : s.in_order;
    const std::string drv_args = "path=" + p.sock + ",queues=" + q + ",queue_size=" + std::to_string(ctx.ring_size) +
                                 ",packed_vq=" + std::to_string(packed) + ",in_order=" + std::to_string(in_order) +
                                 ",mrg_rxbuf=" + std::to_string(s.mrg) +
                                 (p.driver == Driver::vpmd ? ",vectorized=" + s.vectorized : vec ? ",vectorized=1" : "");
    if (external) {
        p.vhost.clear();
    } else if (!start_device(ctx, s, p)) {
        return false;
    }
    const uint64_t tx_off = s.offload == Offload::none ? 0
                            : s.offload == Offload::csum
                                ? RTE_ETH_TX_OFFLOAD_TCP_CKSUM
                                : RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_TSO;
    int rc = rte_vdev_init(p.drv.c_str(), drv_args.c_str());
    if (rc == 0) {
        rc = rte_eth_dev_get_port_by_name(p.drv.c_str(), &p.dport);
    }
    if (rc == 0) {
        rc = configure(p.dport, s.queues, ctx.driver_pool(p.driver), uint16_t(ctx.ring_size), s.size, 0, tx_off);
    }
    if (rc != 0) {
        p.error = std::string(to_string(p.driver)) + " bring-up failed (" + drv_args + ")" +
                  (rc == -ENOTSUP && tx_off != 0 ? ": the port does not offer the tx offload" : "");
        return false;
    }
    auto links = [&] { return link_up(p.dport) && (external || link_up(p.vport)); };
    const auto deadline = std::chrono::steady_clock::now() + link_wait;
    while (!links() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);
    }
    if (!links()) {
        p.error = "links did not come up";
        return false;
    }
    return true;
}

// The vhost device serving `sock`: net_vhost does not export it without linking the
// driver itself, but the library names every device by its socket path. Device ids are
// below the library's limit of 1024 devices; asking for an unused one logs an error, so
// the library's config log is quiet during the search.
inline int vhost_vid_of(const std::string &sock) {
    constexpr int max_vhost_devices = 1024;
    const int log_type = rte_log_register("lib.vhost.config"); // its id when registered
    const int level = log_type >= 0 ? rte_log_get_level(uint32_t(log_type)) : -1;
    if (level >= 0) {
        rte_log_set_level(uint32_t(log_type), RTE_LOG_CRIT);
    }
    int found = -1;
    char name[PATH_MAX];
    for (int vid = 0; vid < max_vhost_devices && found < 0; ++vid) {
        if (rte_vhost_get_ifname(vid, name, sizeof(name)) == 0 && sock == name) {
            found = vid;
        }
    }
    if (level >= 0) {
        rte_log_set_level(uint32_t(log_type), uint32_t(level));
    }
    return found;
}

// Points the pair's device and driver loops at its ports; false with p.error when the
// rxonly source cannot be set up. The device loops call the vhost library directly unless
// `restarts` (the device goes away under traffic): the rxonly source always does.
// Lane i takes queue pairs [i * queues / lanes, (i + 1) * queues / lanes).
inline bool prepare_loops(const EngineContext &ctx, const Scenario &s, const Template &tmpl, Pair &p,
                          bool restarts = false) {
    const uint16_t lanes = s.lanes();
    p.lanes.resize(lanes);
    const int vid = !s.two_process && (s.dir == Direction::rxonly || !restarts) ? vhost_vid_of(p.sock) : -1;
    for (uint16_t i = 0; i < lanes; ++i) {
        const auto first = uint16_t(i * s.queues / lanes);
        const auto count = uint16_t((i + 1) * s.queues / lanes - first);
        DeviceLoop &d = p.lanes[i].dev;
        d.port = p.vport;
        d.first = first;
        d.queues = count;
        d.dir = s.dir;
        d.size = s.size;
        d.mp = ctx.device_pool;
        d.tmpl = &tmpl;
        d.verify.fmt = tmpl.fmt;
        d.verify.expect_ol = tmpl.expect_rx;
        d.corrupt_every = ctx.corrupt_every;
        d.vid = vid;
        if (s.dir == Direction::rxonly && !s.two_process) {
            if (vid < 0 || !d.prepare_source()) {
                p.error = vid < 0 ? "device: no vhost device on " + p.sock : "device: mempool too small";
                return false;
            }
        }
        DriverLoop &l = p.lanes[i].loop;
        l.port = p.dport;
        l.first = first;
        l.queues = count;
        l.dir = s.dir;
        l.burst = s.burst;
        l.size = s.size;
        l.mp = ctx.driver_pool(p.driver);
        l.tmpl = &tmpl;
        l.verify.fmt = tmpl.fmt;
        l.inline_device = ctx.single_thread ? &d : nullptr;
        l.latency_tsc.reserve(max_latency_samples);
    }
    return true;
}

// Last use of the pair's samples: the percentiles reorder them in place. Mpps is the sum
// of the lanes' rates (each measured over its own turns, which the lanes take together).
inline RunResult result_of(Pair &p, uint32_t size) {
    RunResult r;
    const uint64_t hz = rte_get_tsc_hz();
    uint64_t busy = 0;
    std::vector<uint64_t> latency;
    for (LaneLoops &lane : p.lanes) {
        const DriverLoop &l = lane.loop;
        const double secs = double(l.measured_tsc) / double(hz);
        r.packets += l.packets;
        r.seconds = std::max(r.seconds, secs);
        r.mpps += secs > 0 ? double(l.packets) / secs / 1e6 : 0;
        r.lanes.push_back({l.lcore, l.packets});
        busy += l.busy_tsc;
        latency.insert(latency.end(), l.latency_tsc.begin(), l.latency_tsc.end());
        r.lost += l.verify.lost + lane.dev.verify.lost;
        r.reordered += l.verify.reordered + lane.dev.verify.reordered;
        r.corrupted += l.verify.corrupted + lane.dev.verify.corrupted;
    }
    r.gbps = r.mpps * size * 8 / 1e3;
    r.cycles_per_packet = r.packets ? double(busy) / double(r.packets) : 0;
    r.p50_us = percentile(latency, 0.50, hz);
    r.p99_us = percentile(latency, 0.99, hz);
    r.p999_us = percentile(latency, 0.999, hz);
    const bool intact = r.lost == 0 && r.reordered == 0 && r.corrupted == 0;
    const std::string integrity = "integrity: " + std::to_string(r.lost) + " lost, " + std::to_string(r.reordered) +
                                  " reordered, " + std::to_string(r.corrupted) + " corrupted";
    if (!p.error.empty()) {
        r.error = intact ? p.error : p.error + "; " + integrity; // e.g. mbufs kept and frames lost
    } else if (r.packets == 0) {
        r.error = "no packets moved";
    } else if (!intact) {
        r.error = integrity;
    } else {
        r.ok = true;
    }
    return r;
}

} // namespace vpmd::perf::detail
