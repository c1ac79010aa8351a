// In-process end to end: DPDK's net_vhost (the real vhost-user device side) and our
// net_vpmd on one socket, both as ethdev ports of this EAL process, with helpers to build
// patterned frames, move them across, and compare them byte for byte.
#pragma once

#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_log.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace vpmd::test {

using Frame = std::vector<uint8_t>;
using namespace std::chrono_literals;

// Generous: vhost start-up and our watcher period are far below this.
inline constexpr auto wait_limit = 10s;

inline std::string unique_socket(const char *tag) {
    return "/tmp/vpmd-it-" + std::to_string(::getpid()) + "-" + tag + ".sock";
}

inline bool port_by_name(const std::string &name, uint16_t &port) {
    return rte_eth_dev_get_port_by_name(name.c_str(), &port) == 0;
}

inline bool link_is(uint16_t port, bool up) {
    rte_eth_link l{};
    return rte_eth_link_get_nowait(port, &l) == 0 && bool(l.link_status) == up;
}

template <class F>
inline bool wait_for(F &&cond, std::chrono::milliseconds limit = wait_limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!cond()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

inline int configure_port(uint16_t port, uint16_t queues, rte_mempool *mp, uint16_t ring = 256, uint64_t rx_off = 0,
                          uint64_t tx_off = 0, bool rx_intr = false) {
    rte_eth_conf conf{};
    conf.intr_conf.rxq = rx_intr ? 1 : 0;
    conf.rxmode.offloads = rx_off;
    conf.txmode.offloads = tx_off;
    // Jumbo frames where the port takes them: net_vpmd drops frames above its MTU.
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(port, &info); rc != 0) {
        return rc;
    }
    conf.rxmode.mtu = std::min<uint16_t>(info.max_mtu, 9000);
    if (int rc = rte_eth_dev_configure(port, queues, queues, &conf); rc != 0) {
        return rc;
    }
    for (uint16_t q = 0; q < queues; ++q) {
        if (int rc = rte_eth_rx_queue_setup(port, q, ring, SOCKET_ID_ANY, nullptr, mp); rc != 0) {
            return rc;
        }
        if (int rc = rte_eth_tx_queue_setup(port, q, ring, SOCKET_ID_ANY, nullptr); rc != 0) {
            return rc;
        }
    }
    return 0;
}

// A frame of `len` bytes: broadcast destination (passes any receive filter), a source,
// an experimental EtherType, then a pattern from `seed`.
inline Frame make_frame(uint32_t len, uint32_t seed) {
    Frame f(len);
    std::memset(f.data(), 0xff, 6);
    const uint8_t src[6] = {0x02, 0, 0, 0, 0, 1};
    std::memcpy(f.data() + 6, src, 6);
    f[12] = 0x88;
    f[13] = 0xb5;
    uint32_t x = seed * 2654435761u + 1;
    for (uint32_t i = 14; i < len; ++i) {
        x = x * 1103515245u + 12345u;
        f[i] = uint8_t(x >> 16);
    }
    return f;
}

// Copies a frame into a (possibly chained) mbuf, `seg` bytes per segment at most.
inline rte_mbuf *to_mbuf(rte_mempool *mp, const Frame &f, uint16_t seg = 2048) {
    rte_mbuf *head = nullptr, *tail = nullptr;
    size_t off = 0;
    do {
        rte_mbuf *m = rte_pktmbuf_alloc(mp);
        if (m == nullptr) {
            rte_pktmbuf_free(head);
            return nullptr;
        }
        const uint16_t n = uint16_t(std::min<size_t>(seg, f.size() - off));
        std::memcpy(rte_pktmbuf_append(m, n), f.data() + off, n);
        off += n;
        if (head == nullptr) {
            head = tail = m;
        } else {
            tail->next = m;
            tail = m;
            head->nb_segs++;
            head->pkt_len += n;
        }
    } while (off < f.size());
    return head;
}

inline Frame from_mbuf(const rte_mbuf *m) {
    Frame f(m->pkt_len);
    const void *p = rte_pktmbuf_read(m, 0, m->pkt_len, f.data());
    if (p != f.data()) {
        std::memcpy(f.data(), p, m->pkt_len);
    }
    return f;
}

// The process's mbuf pool of this name, created on first use: each suite keeps one pool,
// which must be full again after every test.
inline rte_mempool *test_pool(const char *name, unsigned n, unsigned cache = 0) {
    if (rte_mempool *mp = rte_mempool_lookup(name)) {
        return mp;
    }
    return rte_pktmbuf_pool_create(name, n, cache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
}

// A pool's fill level once this lcore's cache is flushed back: what a leak check compares.
inline unsigned pool_available(rte_mempool *mp) {
    rte_mempool_cache_flush(rte_mempool_default_cache(mp, rte_lcore_id()), mp);
    return rte_mempool_avail_count(mp);
}

// Sends every frame on (port, queue), one at a time, waiting while the ring is full; gives
// up when `stop` is set (the receiver stopped polling, so the ring stays full). False only
// when the pool ran dry.
inline bool send_all(rte_mempool *mp, uint16_t port, uint16_t queue, const Frame *frames, size_t n,
                     const std::atomic<bool> *stop = nullptr) {
    for (size_t i = 0; i < n; ++i) {
        rte_mbuf *m = to_mbuf(mp, frames[i]);
        if (m == nullptr) {
            return false;
        }
        while (rte_eth_tx_burst(port, queue, &m, 1) == 0) {
            if (stop != nullptr && stop->load()) {
                rte_pktmbuf_free(m);
                return true;
            }
            std::this_thread::yield();
        }
    }
    return true;
}

// Sends frames on (port, queue) and collects as many from (peer, queue); the result
// holds what arrived in arrival order (fewer if something was lost).
// `limit`: how long to wait for them (a test that expects none waits less).
inline std::vector<Frame> transfer(rte_mempool *mp, uint16_t from, uint16_t to, uint16_t queue,
                                   const std::vector<Frame> &frames, uint16_t seg = 2048,
                                   std::chrono::milliseconds limit = wait_limit) {
    std::vector<Frame> got;
    size_t sent = 0;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (got.size() < frames.size() && std::chrono::steady_clock::now() < deadline) {
        if (sent < frames.size()) {
            rte_mbuf *m = to_mbuf(mp, frames[sent], seg);
            if (m != nullptr) {
                if (rte_eth_tx_burst(from, queue, &m, 1) == 1) {
                    ++sent;
                } else {
                    rte_pktmbuf_free(m);
                }
            }
        } else {
            rte_eth_tx_burst(from, queue, nullptr, 0); // lets the sender reclaim
        }
        rte_mbuf *rx[32];
        const uint16_t n = rte_eth_rx_burst(to, queue, rx, 32);
        for (uint16_t i = 0; i < n; ++i) {
            got.push_back(from_mbuf(rx[i]));
            rte_pktmbuf_free(rx[i]);
        }
        if (n == 0 && sent == frames.size()) {
            std::this_thread::sleep_for(100us);
        }
    }
    return got;
}

// Compact comparison: says which frame differs and where, instead of dumping bytes.
inline ::testing::AssertionResult same_frames(const std::vector<Frame> &got, const std::vector<Frame> &want) {
    if (got.size() != want.size()) {
        return ::testing::AssertionFailure() << got.size() << " frames arrived, " << want.size() << " sent";
    }
    for (size_t i = 0; i < got.size(); ++i) {
        if (got[i].size() != want[i].size()) {
            return ::testing::AssertionFailure() << "frame " << i << ": " << got[i].size() << " bytes, sent "
                                                 << want[i].size();
        }
        for (size_t b = 0; b < got[i].size(); ++b) {
            if (got[i][b] != want[i][b]) {
                return ::testing::AssertionFailure() << "frame " << i << " differs at byte " << b;
            }
        }
    }
    return ::testing::AssertionSuccess();
}

// Value of one xstat by name (~0 if absent).
inline uint64_t xstat(uint16_t port, const std::string &name) {
    uint64_t id = 0, v = ~0ULL;
    if (rte_eth_xstats_get_id_by_name(port, name.c_str(), &id) == 0) {
        rte_eth_xstats_get_by_id(port, &id, &v, 1);
    }
    return v;
}

// Everything the PMD logs, to count its lines.
inline FILE *log_capture() {
    static FILE *f = [] {
        FILE *t = std::tmpfile();
        rte_openlog_stream(t);
        return t;
    }();
    return f;
}
// Everything captured so far.
inline std::string log_text() {
    FILE *f = log_capture();
    std::fflush(f);
    std::rewind(f);
    std::string all;
    char buf[4096];
    while (size_t n = std::fread(buf, 1, sizeof(buf), f)) {
        all.append(buf, n);
    }
    std::fseek(f, 0, SEEK_END);
    return all;
}
// The captured lines that mention `needle` (for a failure's message).
inline std::string log_lines(const std::string &needle) {
    const std::string all = log_text();
    std::string out;
    for (size_t at = 0; at < all.size();) {
        const size_t end = std::min(all.find('\n', at), all.size());
        if (all.substr(at, end - at).find(needle) != std::string::npos) {
            out += all.substr(at, end - at) + "\n";
        }
        at = end + 1;
    }
    return out;
}
inline size_t log_count(const std::string &needle) {
    const std::string all = log_text();
    size_t count = 0;
    for (size_t at = all.find(needle); at != std::string::npos; at = all.find(needle, at + 1)) {
        ++count;
    }
    return count;
}

// One telemetry command's reply (JSON text) from this process's own telemetry socket, ""
// when there is none (EAL started with --no-telemetry: VPMD_TEST_TELEMETRY=1 keeps it).
inline std::string telemetry(const std::string &cmd) {
    const std::string path = std::string(rte_eal_get_runtime_dir()) + "/dpdk_telemetry.v2";
    const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (fd < 0) {
        return {};
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    std::string reply;
    std::vector<char> buf(64 * 1024);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0 &&
        ::recv(fd, buf.data(), buf.size(), 0) > 0 && // the greeting: version, pid, max output
        ::send(fd, cmd.data(), cmd.size(), 0) == ssize_t(cmd.size())) {
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        reply.assign(buf.data(), n > 0 ? size_t(n) : 0);
    }
    ::close(fd);
    return reply;
}

// The value of "key" inside the JSON object named `object` of a telemetry reply (as text:
// a string without its quotes, or a number); "" when absent.
inline std::string telemetry_field(const std::string &json, const std::string &object, const std::string &key) {
    const size_t at = json.find("\"" + object + "\"");
    if (at == std::string::npos) {
        return {};
    }
    const size_t end = json.find('}', at);
    const size_t k = json.find("\"" + key + "\"", at);
    if (k == std::string::npos || k > end) {
        return {};
    }
    size_t v = json.find(':', k) + 1;
    while (v < json.size() && json[v] == ' ') {
        ++v;
    }
    if (json[v] == '"') {
        return json.substr(v + 1, json.find('"', v + 1) - v - 1);
    }
    return json.substr(v, json.find_first_of(",}", v) - v);
}

// Open file descriptors of this process (for leak checks).
inline size_t open_fds() {
    size_t n = 0;
    if (DIR *d = ::opendir("/proc/self/fd")) {
        while (::readdir(d) != nullptr) {
            ++n;
        }
        ::closedir(d);
    }
    return n;
}

// One net_vhost port (device side) and one net_vpmd port (ours) over one socket.
class VhostPair {
public:
    VhostPair(std::string tag, std::string vpmd_args, uint16_t queues, bool vpmd_server = false)
        : sock_(unique_socket(tag.c_str())), vhost_name_("net_vhost_" + tag), vpmd_name_("net_vpmd_" + tag),
          vpmd_args_(std::move(vpmd_args)), queues_(queues), server_(vpmd_server) {
        ::unlink(sock_.c_str());
    }
    ~VhostPair() {
        close_vpmd();
        close_vhost();
        ::unlink(sock_.c_str());
    }

    // The device side: in client mode when our port is the server.
    int start_vhost(rte_mempool *mp) {
        const std::string args = "iface=" + sock_ + ",queues=" + std::to_string(queues_) + (server_ ? ",client=1" : "") +
                                 (vhost_args.empty() ? "" : "," + vhost_args);
        if (int rc = rte_vdev_init(vhost_name_.c_str(), args.c_str()); rc != 0) {
            return rc;
        }
        if (!port_by_name(vhost_name_, vhost)) {
            return -ENODEV;
        }
        if (int rc = configure_port(vhost, queues_, mp); rc != 0) {
            return rc;
        }
        return rte_eth_dev_start(vhost);
    }
    int probe_vpmd() {
        const std::string args = "path=" + sock_ + ",queues=" + std::to_string(queues_) +
                                 (server_ ? ",server=1" : "") + (vpmd_args_.empty() ? "" : "," + vpmd_args_);
        if (int rc = rte_vdev_init(vpmd_name_.c_str(), args.c_str()); rc != 0) {
            return rc;
        }
        return port_by_name(vpmd_name_, vpmd) ? 0 : -ENODEV;
    }
    int start_vpmd(rte_mempool *mp, uint64_t rx_off = 0, uint64_t tx_off = 0) {
        // Ring size 0: the port's default, i.e. devargs queue_size (256 unless given).
        if (int rc = configure_port(vpmd, queues_, mp, 0, rx_off, tx_off); rc != 0) {
            return rc;
        }
        return rte_eth_dev_start(vpmd);
    }
    // Everything up, both links up.
    ::testing::AssertionResult up(rte_mempool *mp, uint64_t rx_off = 0, uint64_t tx_off = 0) {
        int rc = server_ ? probe_vpmd() : start_vhost(mp);
        if (rc == 0) {
            rc = server_ ? start_vhost(mp) : probe_vpmd();
        }
        if (rc == 0) {
            rc = start_vpmd(mp, rx_off, tx_off);
        }
        if (rc != 0) {
            return ::testing::AssertionFailure() << "bring-up failed: " << rc;
        }
        if (!wait_for([&] { return link_is(vpmd, true) && link_is(vhost, true); })) {
            return ::testing::AssertionFailure() << "links did not come up";
        }
        return ::testing::AssertionSuccess();
    }
    void close_vpmd() {
        if (vpmd != RTE_MAX_ETHPORTS) {
            rte_eth_dev_stop(vpmd);
            rte_eth_dev_close(vpmd);
            rte_vdev_uninit(vpmd_name_.c_str());
            vpmd = RTE_MAX_ETHPORTS;
        }
    }
    void close_vhost() {
        if (vhost != RTE_MAX_ETHPORTS) {
            rte_eth_dev_stop(vhost);
            rte_eth_dev_close(vhost);
            rte_vdev_uninit(vhost_name_.c_str());
            vhost = RTE_MAX_ETHPORTS;
        }
    }

    uint16_t vhost = RTE_MAX_ETHPORTS;
    uint16_t vpmd = RTE_MAX_ETHPORTS;
    std::string vhost_args; // appended to net_vhost's devargs (tso=1 ...)
    const std::string &socket() const { return sock_; }

private:
    std::string sock_, vhost_name_, vpmd_name_, vpmd_args_;
    uint16_t queues_;
    bool server_;
};

} // namespace vpmd::test
