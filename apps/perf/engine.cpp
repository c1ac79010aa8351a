// vpmd-perf engine: port bring-up, the device loop (loopback, sink, source), the driver
// loop with integrity and latency checks, and teardown.
#include "apps/perf/engine.hpp"

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "apps/perf/payload.hpp"
#include "dataplane/runtime/eal_launcher.hpp"
#include "dataplane/runtime/runtime.hpp"

namespace vpmd::perf {

const char *to_string(Driver d) { return d == Driver::vpmd ? "net_vpmd" : "net_virtio_user"; }

namespace {

using namespace std::chrono_literals;

constexpr uint16_t max_queues = 8;
constexpr uint16_t dev_burst = 32;
constexpr uint32_t window_per_queue = 512; // loopback: packets in flight per queue
constexpr double warmup_seconds = 0.2;
constexpr size_t max_latency_samples = 1 << 20;
constexpr uint64_t latency_sample_every = 8;
constexpr auto link_wait = 10s;

// ---- frames ---------------------------------------------------------------------------

// Copies the template into a fresh mbuf (a chain for frames beyond one buffer) and puts
// the header in; nullptr when the pool is dry.
rte_mbuf *make_packet(rte_mempool *mp, const std::vector<uint8_t> &tmpl, uint32_t len, uint64_t seq) {
    rte_mbuf *head = nullptr, *tail = nullptr;
    uint32_t off = 0;
    while (off < len) {
        rte_mbuf *m = rte_pktmbuf_alloc(mp);
        if (m == nullptr) {
            rte_pktmbuf_free(head);
            return nullptr;
        }
        const uint16_t n = uint16_t(std::min<uint32_t>(rte_pktmbuf_tailroom(m), len - off));
        rte_memcpy(rte_pktmbuf_append(m, n), tmpl.data() + off, n);
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
    const PerfHdr h = make_hdr(tmpl.data(), len, seq, rte_rdtsc());
    rte_memcpy(rte_pktmbuf_mtod_offset(head, uint8_t *, perf_off), &h, sizeof(h));
    return head;
}

// Contiguous bytes of a frame (copied out only when it is a chain).
const uint8_t *frame_bytes(const rte_mbuf *m, std::vector<uint8_t> &scratch) {
    if (m->nb_segs == 1) {
        return rte_pktmbuf_mtod(m, const uint8_t *);
    }
    scratch.resize(m->pkt_len);
    return static_cast<const uint8_t *>(rte_pktmbuf_read(m, 0, m->pkt_len, scratch.data()));
}

// Per-queue sequence bookkeeping on the receiving side.
struct SeqCheck {
    uint64_t expected = 0;
    void see(uint64_t seq, uint64_t &lost, uint64_t &reordered) {
        if (seq == expected) {
            ++expected;
        } else if (seq > expected) {
            lost += seq - expected;
            expected = seq + 1;
        } else {
            ++reordered;
        }
    }
};

struct Verify {
    uint64_t lost = 0, reordered = 0, corrupted = 0;
    std::vector<uint8_t> scratch;
    // Returns the header when the frame is intact. A corrupted frame still arrived: it
    // takes the next expected number (its own cannot be trusted), so it is not also lost.
    bool check(const rte_mbuf *m, SeqCheck &seq, PerfHdr &h) {
        const uint8_t *f = frame_bytes(m, scratch);
        if (f == nullptr || check_frame(f, m->pkt_len, h) != Check::ok) {
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
    uint16_t queues = 1;
    Direction dir = Direction::loopback;
    uint32_t size = 64;
    rte_mempool *mp = nullptr;
    const std::vector<uint8_t> *tmpl = nullptr;
    uint64_t corrupt_every = 0;
    Verify verify; // sink: what the driver sent
    uint64_t handled = 0;

    struct Pending {
        rte_mbuf *pkts[dev_burst];
        uint16_t start = 0, count = 0;
    };

    // Tries to send what waits; true when nothing is left waiting.
    bool flush(uint16_t q, Pending &p) {
        if (p.count != 0) {
            const uint16_t sent = rte_eth_tx_burst(port, q, p.pkts + p.start, p.count);
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

    void corrupt(rte_mbuf **pkts, uint16_t n) {
        for (uint16_t i = 0; i < n; ++i) {
            if (corrupt_every != 0 && ++handled % corrupt_every == 0) {
                // A sampled fill byte: the checksum covers it in every packet.
                rte_pktmbuf_mtod(pkts[i], uint8_t *)[fill_off] ^= 0x5a;
            }
        }
    }

    Pending pending[max_queues];
    SeqCheck seqs[max_queues];
    uint64_t next_seq[max_queues] = {};

    // One pass over every queue; returns the packets handled. The runtime's worker loop
    // repeats it on the device lcore; single-thread mode interleaves it with the driver.
    uint32_t poll() noexcept {
        uint32_t work = 0;
        rte_mbuf *pkts[dev_burst];
        PerfHdr h;
        for (uint16_t q = 0; q < queues; ++q) {
            Pending &p = pending[q];
            switch (dir) {
            case Direction::loopback: {
                if (!flush(q, p)) {
                    break; // the driver's rx ring is full: never drop, retry
                }
                work += send_new(q, p, rte_eth_rx_burst(port, q, p.pkts, dev_burst));
                break;
            }
            case Direction::txonly: {
                const uint16_t n = rte_eth_rx_burst(port, q, pkts, dev_burst);
                work += n;
                corrupt(pkts, n);
                for (uint16_t i = 0; i < n; ++i) {
                    verify.check(pkts[i], seqs[q], h);
                }
                rte_pktmbuf_free_bulk(pkts, n);
                break;
            }
            case Direction::rxonly: {
                if (!flush(q, p)) {
                    break;
                }
                uint16_t n = 0;
                for (; n < dev_burst; ++n) {
                    p.pkts[n] = make_packet(mp, *tmpl, size, next_seq[q]);
                    if (p.pkts[n] == nullptr) {
                        break;
                    }
                    ++next_seq[q];
                }
                work += send_new(q, p, n);
                break;
            }
            }
        }
        return work;
    }

    void release() {
        for (uint16_t q = 0; q < queues; ++q) {
            rte_pktmbuf_free_bulk(pending[q].pkts + pending[q].start, pending[q].count);
            pending[q].count = 0;
        }
    }

};

// ---- driver side ----------------------------------------------------------------------

struct DriverLoop {
    uint16_t port = 0;
    uint16_t queues = 1;
    Direction dir = Direction::loopback;
    uint16_t burst = 32;
    uint32_t size = 64;
    rte_mempool *mp = nullptr;
    const std::vector<uint8_t> *tmpl = nullptr;
    double seconds = 1;
    uint64_t fixed_packets = 0;
    DeviceLoop *inline_device = nullptr; // single-thread mode: step the device here

    Verify verify;
    std::vector<uint64_t> latency_tsc;
    uint64_t packets = 0, busy_tsc = 0, measured_tsc = 0;
    uint64_t inflight[max_queues] = {};

    uint16_t send(uint16_t q, uint64_t &seq, bool limit) {
        uint16_t k = burst;
        if (limit) {
            k = uint16_t(std::min<uint64_t>(k, window_per_queue - std::min<uint64_t>(inflight[q], window_per_queue)));
        }
        rte_mbuf *pkts[512];
        uint16_t built = 0;
        for (; built < k; ++built) {
            pkts[built] = make_packet(mp, *tmpl, size, seq + built);
            if (pkts[built] == nullptr) {
                break;
            }
        }
        const uint16_t sent = built ? rte_eth_tx_burst(port, q, pkts, built) : 0;
        rte_pktmbuf_free_bulk(pkts + sent, built - sent); // their numbers are reused
        seq += sent;
        inflight[q] += sent;
        return sent;
    }

    uint16_t receive(uint16_t q, SeqCheck &seqs, bool measuring) {
        rte_mbuf *pkts[512];
        const uint16_t n = rte_eth_rx_burst(port, q, pkts, burst);
        const uint64_t now = rte_rdtsc();
        PerfHdr h;
        for (uint16_t i = 0; i < n; ++i) {
            if (verify.check(pkts[i], seqs, h) && measuring && dir == Direction::loopback &&
                h.seq % latency_sample_every == 0 && latency_tsc.size() < max_latency_samples) {
                latency_tsc.push_back(now - h.tsc);
            }
        }
        rte_pktmbuf_free_bulk(pkts, n);
        inflight[q] -= std::min<uint64_t>(inflight[q], n);
        return n;
    }

    void run() {
        latency_tsc.reserve(max_latency_samples);
        uint64_t tx_seq[max_queues] = {};
        SeqCheck rx_seq[max_queues];
        const uint64_t hz = rte_get_tsc_hz();
        const uint64_t t0 = rte_rdtsc();
        // A fixed packet count (callgrind) counts every packet: no warm-up by time.
        const uint64_t warm_end = fixed_packets != 0 ? t0 : t0 + uint64_t(warmup_seconds * double(hz));
        const uint64_t end = warm_end + uint64_t(seconds * double(hz));
        bool measuring = false;
        uint64_t measure_start = 0;
        for (uint64_t iter = 0;; ++iter) {
            const uint64_t s = rte_rdtsc();
            uint32_t work = 0;
            for (uint16_t q = 0; q < queues; ++q) {
                if (dir != Direction::rxonly) {
                    const uint16_t sent = send(q, tx_seq[q], dir == Direction::loopback);
                    work += sent;
                    if (measuring && dir == Direction::txonly) {
                        packets += sent;
                    }
                }
                if (dir != Direction::txonly) {
                    const uint16_t got = receive(q, rx_seq[q], measuring);
                    work += got;
                    if (measuring) {
                        packets += got;
                    }
                }
            }
            const uint64_t e = rte_rdtsc();
            if (inline_device != nullptr) {
                (void)inline_device->poll();
            }
            if (measuring && work != 0) {
                busy_tsc += e - s;
            }
            if (!measuring && e >= warm_end) {
                measuring = true;
                measure_start = e;
            }
            if (measuring && ((fixed_packets != 0 && packets >= fixed_packets) || (fixed_packets == 0 && e >= end))) {
                measured_tsc = e - measure_start;
                break;
            }
        }
        // Loopback: everything sent must come back; what does not within a second is lost.
        if (dir == Direction::loopback) {
            const uint64_t drain_end = rte_rdtsc() + hz;
            auto outstanding = [&] {
                uint64_t n = 0;
                for (uint16_t q = 0; q < queues; ++q) {
                    n += inflight[q];
                }
                return n;
            };
            while (outstanding() != 0 && rte_rdtsc() < drain_end) {
                if (inline_device != nullptr) {
                    (void)inline_device->poll();
                }
                for (uint16_t q = 0; q < queues; ++q) {
                    receive(q, rx_seq[q], false);
                    rte_eth_tx_burst(port, q, nullptr, 0);
                }
            }
            verify.lost += outstanding();
        }
    }
};

// ---- ports ----------------------------------------------------------------------------

int configure(uint16_t port, uint16_t queues, rte_mempool *mp, uint16_t ring, uint32_t frame) {
    rte_eth_conf conf{};
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(port, &info); rc != 0) {
        return rc;
    }
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
    return rte_eth_dev_start(port);
}

bool link_up(uint16_t port) {
    rte_eth_link l{};
    return rte_eth_link_get_nowait(port, &l) == 0 && l.link_status == RTE_ETH_LINK_UP;
}

void remove_port(const std::string &name) {
    uint16_t port;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port) == 0) {
        rte_eth_dev_stop(port);
        rte_eth_dev_close(port);
    }
    rte_vdev_uninit(name.c_str());
}

double percentile(std::vector<uint64_t> &v, double p, uint64_t hz) {
    if (v.empty()) {
        return 0;
    }
    const size_t k = std::min(v.size() - 1, size_t(p * double(v.size())));
    std::nth_element(v.begin(), v.begin() + long(k), v.end());
    return double(v[k]) * 1e6 / double(hz);
}

} // namespace

RunResult run_scenario(EngineContext &ctx, const Scenario &s, Driver d, double seconds, uint64_t packets) {
    RunResult r;
    const uint32_t id = ++ctx.run_id;
    const std::string sock = "/tmp/vpmd-perf-" + std::to_string(getpid()) + "-" + std::to_string(id) + ".sock";
    const std::string vhost = "net_vhost_perf" + std::to_string(id);
    const std::string drv = (d == Driver::vpmd ? "net_vpmd_perf" : "net_virtio_user_perf") + std::to_string(id);
    const std::string q = std::to_string(s.queues);
    const std::string drv_args = "path=" + sock + ",queues=" + q + ",queue_size=" + std::to_string(ctx.ring_size) +
                                 ",packed_vq=" + std::to_string(s.layout == "packed") +
                                 ",in_order=" + std::to_string(s.in_order) + ",mrg_rxbuf=" + std::to_string(s.mrg);
    unlink(sock.c_str());
    auto cleanup = [&] {
        remove_port(drv);
        remove_port(vhost);
        unlink(sock.c_str());
    };
    uint16_t vport = 0, dport = 0;
    if (rte_vdev_init(vhost.c_str(), ("iface=" + sock + ",queues=" + q).c_str()) != 0 ||
        rte_eth_dev_get_port_by_name(vhost.c_str(), &vport) != 0 ||
        configure(vport, s.queues, ctx.device_pool, 1024, s.size) != 0) {
        r.error = "device (net_vhost) bring-up failed";
        cleanup();
        return r;
    }
    if (rte_vdev_init(drv.c_str(), drv_args.c_str()) != 0 || rte_eth_dev_get_port_by_name(drv.c_str(), &dport) != 0 ||
        configure(dport, s.queues, ctx.driver_pool, uint16_t(ctx.ring_size), s.size) != 0) {
        r.error = std::string(to_string(d)) + " bring-up failed (" + drv_args + ")";
        cleanup();
        return r;
    }
    const auto deadline = std::chrono::steady_clock::now() + link_wait;
    while (!(link_up(dport) && link_up(vport)) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);
    }
    if (!(link_up(dport) && link_up(vport))) {
        r.error = "links did not come up";
        cleanup();
        return r;
    }

    std::vector<uint8_t> tmpl(s.size);
    build_template(tmpl.data(), s.size);
    DeviceLoop dev;
    dev.port = vport;
    dev.queues = s.queues;
    dev.dir = s.dir;
    dev.size = s.size;
    dev.mp = ctx.device_pool;
    dev.tmpl = &tmpl;
    dev.corrupt_every = ctx.corrupt_every;
    // The device side runs on the runtime the forwarding app uses: one worker, one poller.
    runtime::EalLauncher launcher;
    runtime::Runtime rt(launcher);
    if (!ctx.single_thread) {
        if (auto st = rt.add_worker(ctx.device_lcore, {runtime::make_poller(dev, "vhost device")}); !st) {
            r.error = "device lcore: " + st.error();
            cleanup();
            return r;
        }
        if (auto st = rt.start(); !st) {
            r.error = "device lcore: " + st.error();
            cleanup();
            return r;
        }
    }

    DriverLoop drvl;
    drvl.port = dport;
    drvl.queues = s.queues;
    drvl.dir = s.dir;
    drvl.burst = s.burst;
    drvl.size = s.size;
    drvl.mp = ctx.driver_pool;
    drvl.tmpl = &tmpl;
    drvl.seconds = seconds;
    drvl.fixed_packets = packets;
    drvl.inline_device = ctx.single_thread ? &dev : nullptr;
    drvl.run(); // on this lcore (the driver lcore)

    if (!ctx.single_thread) {
        rt.stop(); // returns once the worker loop has ended
    }
    dev.release();
    if (s.dir == Direction::rxonly) {
        // Whatever the device had already queued still arrives: drain it unchecked.
        rte_mbuf *pkts[64];
        for (int i = 0; i < 1000; ++i) {
            for (uint16_t qi = 0; qi < s.queues; ++qi) {
                rte_pktmbuf_free_bulk(pkts, rte_eth_rx_burst(dport, qi, pkts, 64));
            }
        }
    }
    cleanup();

    const uint64_t hz = rte_get_tsc_hz();
    r.packets = drvl.packets;
    r.seconds = double(drvl.measured_tsc) / double(hz);
    r.mpps = r.seconds > 0 ? double(r.packets) / r.seconds / 1e6 : 0;
    r.gbps = r.mpps * s.size * 8 / 1e3;
    r.cycles_per_packet = r.packets ? double(drvl.busy_tsc) / double(r.packets) : 0;
    r.p50_us = percentile(drvl.latency_tsc, 0.50, hz);
    r.p99_us = percentile(drvl.latency_tsc, 0.99, hz);
    r.p999_us = percentile(drvl.latency_tsc, 0.999, hz);
    r.lost = drvl.verify.lost + dev.verify.lost;
    r.reordered = drvl.verify.reordered + dev.verify.reordered;
    r.corrupted = drvl.verify.corrupted + dev.verify.corrupted;
    if (r.packets == 0) {
        r.error = "no packets moved";
    } else if (r.lost || r.reordered || r.corrupted) {
        r.error = "integrity: " + std::to_string(r.lost) + " lost, " + std::to_string(r.reordered) + " reordered, " +
                  std::to_string(r.corrupted) + " corrupted";
    } else {
        r.ok = true;
    }
    return r;
}

} // namespace vpmd::perf
