// Port bring-up and teardown for vpmd-fwd.
#include "apps/fwd/ports.hpp"

#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_errno.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace vpmd::fwd {

namespace {

// When the driver says nothing about its ring size (nb_desc 0 picks its default), count
// this many descriptors for pool sizing: DPDK's fallback ring sizes are 512/1024.
constexpr uint32_t assumed_ring = 1024;
// Why: per-lcore mempool caches hold up to 1.5x their size; bursts in flight per stream.
constexpr uint32_t pool_cache = 256;

std::string err(const std::string &what, int rc) {
    return what + ": " + rte_strerror(rc < 0 ? -rc : rc);
}

uint32_t ring_or_assumed(uint16_t configured, uint16_t preferred) {
    if (configured != 0) {
        return configured;
    }
    return preferred != 0 ? preferred : assumed_ring;
}

} // namespace

uint16_t mbuf_data_room(const FwdOptions &o) {
    uint32_t room = RTE_MBUF_DEFAULT_BUF_SIZE;
    for (uint16_t s : o.txpkts) {
        room = std::max<uint32_t>(room, uint32_t(s) + RTE_PKTMBUF_HEADROOM);
    }
    return uint16_t(std::min<uint32_t>(room, UINT16_MAX));
}

uint32_t pool_size_for(const std::vector<Port> &ports, const FwdOptions &o, unsigned lcores) {
    uint64_t n = 0;
    for (const Port &p : ports) {
        rte_eth_dev_info info{};
        uint16_t pr = 0, pt = 0;
        if (rte_eth_dev_info_get(p.id, &info) == 0) {
            pr = info.default_rxportconf.ring_size;
            pt = info.default_txportconf.ring_size;
        }
        n += uint64_t(p.rxq) * ring_or_assumed(o.rxd, pr);
        n += uint64_t(p.txq) * ring_or_assumed(o.txd, pt) * o.txpkts.size();
    }
    // Ports that do not exist yet (embedded: vhost + vpmd), when none were listed.
    if (ports.empty()) {
        n += 2ull * (o.rxq + o.txq) * assumed_ring * o.txpkts.size();
    }
    n += uint64_t(lcores + 1) * (pool_cache * 3 / 2 + uint64_t(o.burst) * o.txpkts.size() * 2);
    n = std::max<uint64_t>(n, 8192);
    // rte_mempool is most memory-efficient at 2^k - 1 elements.
    uint64_t p2 = 1;
    while (p2 - 1 < n) {
        p2 <<= 1;
    }
    return uint32_t(std::min<uint64_t>(p2 - 1, 1u << 26));
}

Port describe_port(uint16_t id, PortRole role, const FwdOptions &o) {
    Port p;
    p.id = id;
    p.role = role;
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    rte_eth_dev_get_name_by_port(id, name);
    p.name = name;
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(id, &info) == 0 && info.driver_name != nullptr) {
        p.driver = info.driver_name;
    }
    p.rxq = o.rxq;
    p.txq = o.txq;
    return p;
}

Status configure_and_start(Port &p, const FwdOptions &o, rte_mempool *pool) {
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(p.id, &info); rc != 0) {
        return unexpected(err("port " + std::to_string(p.id) + ": dev_info", rc));
    }
    if (p.rxq > info.max_rx_queues || p.txq > info.max_tx_queues) {
        return unexpected("port " + std::to_string(p.id) + " (" + p.name + "): " + std::to_string(p.rxq) + " rx / " +
                          std::to_string(p.txq) + " tx queues asked, the driver allows " +
                          std::to_string(info.max_rx_queues) + " / " + std::to_string(info.max_tx_queues));
    }
    rte_eth_conf conf{};
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    }
    if (o.max_pkt_len != 0) {
        if (o.max_pkt_len > info.max_rx_pktlen) {
            return unexpected("port " + std::to_string(p.id) + " (" + p.name + "): --max-pkt-len=" +
                              std::to_string(o.max_pkt_len) + " beyond the driver's " +
                              std::to_string(info.max_rx_pktlen));
        }
        const uint32_t overhead = RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
        conf.rxmode.mtu = o.max_pkt_len > overhead ? o.max_pkt_len - overhead : RTE_ETHER_MIN_MTU;
        const uint32_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
        if (o.max_pkt_len > room) {
            if (!(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)) {
                return unexpected("port " + std::to_string(p.id) + " (" + p.name + "): --max-pkt-len=" +
                                  std::to_string(o.max_pkt_len) + " needs rx scatter, which the driver lacks");
            }
            conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
        }
    }
    if (o.forward_mode == "csum" && p.role == PortRole::forward) {
        constexpr uint64_t rx_ck = RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
        constexpr uint64_t tx_ck = RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
        p.rx_csum = (info.rx_offload_capa & rx_ck) == rx_ck;
        p.tx_csum = (info.tx_offload_capa & tx_ck) == tx_ck;
        conf.rxmode.offloads |= p.rx_csum ? rx_ck : 0;
        conf.txmode.offloads |= p.tx_csum ? tx_ck : 0;
        std::printf("vpmd-fwd: port %u (%s): TCP/UDP checksums: rx %s, tx %s\n", p.id, p.name.c_str(),
                    p.rx_csum ? "state from the driver" : "checked in software",
                    p.tx_csum ? "offloaded" : "in software");
    }
    if (int rc = rte_eth_dev_configure(p.id, p.rxq, p.txq, &conf); rc != 0) {
        return unexpected(err("port " + std::to_string(p.id) + " (" + p.name + "): configure", rc));
    }
    uint16_t rxd = o.rxd, txd = o.txd;
    if (rxd != 0 || txd != 0) {
        uint16_t r = rxd != 0 ? rxd : info.default_rxportconf.ring_size;
        uint16_t t = txd != 0 ? txd : info.default_txportconf.ring_size;
        if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(p.id, &r, &t); rc != 0) {
            return unexpected(err("port " + std::to_string(p.id) + ": ring sizes", rc));
        }
        rxd = rxd != 0 ? r : 0;
        txd = txd != 0 ? t : 0;
    }
    const int socket = rte_eth_dev_socket_id(p.id) >= 0 ? rte_eth_dev_socket_id(p.id) : int(SOCKET_ID_ANY);
    for (uint16_t q = 0; q < p.rxq; ++q) {
        if (int rc = rte_eth_rx_queue_setup(p.id, q, rxd, socket, nullptr, pool); rc != 0) {
            return unexpected(err("port " + std::to_string(p.id) + " rx queue " + std::to_string(q), rc));
        }
    }
    for (uint16_t q = 0; q < p.txq; ++q) {
        if (int rc = rte_eth_tx_queue_setup(p.id, q, txd, socket, nullptr); rc != 0) {
            return unexpected(err("port " + std::to_string(p.id) + " tx queue " + std::to_string(q), rc));
        }
    }
    p.rxd = rxd;
    p.txd = txd;
    if (int rc = rte_eth_dev_start(p.id); rc != 0) {
        return unexpected(err("port " + std::to_string(p.id) + " (" + p.name + "): start", rc));
    }
    p.started = true;
    // As testpmd: accept every frame (forwarding rewrites or keeps foreign addresses).
    if (int rc = rte_eth_promiscuous_enable(p.id); rc != 0 && rc != -ENOTSUP) {
        std::fprintf(stderr, "vpmd-fwd: port %u: promiscuous mode: %s\n", p.id, rte_strerror(-rc));
    }
    rte_eth_macaddr_get(p.id, &p.mac);
    return {};
}

uint64_t drain_rx(const Port &p) {
    // Bounded: a port that keeps producing (net_null) must not hold shutdown forever.
    constexpr int max_bursts = 4096;
    uint64_t n = 0;
    rte_mbuf *pkts[64];
    for (uint16_t q = 0; q < p.rxq; ++q) {
        for (int i = 0; i < max_bursts; ++i) {
            const uint16_t got = rte_eth_rx_burst(p.id, q, pkts, 64);
            if (got == 0) {
                break;
            }
            rte_pktmbuf_free_bulk(pkts, got);
            n += got;
        }
    }
    return n;
}

void stop_and_close(Port &p) {
    if (!rte_eth_dev_is_valid_port(p.id)) {
        return;
    }
    if (p.started) {
        if (int rc = rte_eth_dev_stop(p.id); rc != 0) {
            std::fprintf(stderr, "vpmd-fwd: port %u: stop: %s\n", p.id, rte_strerror(-rc));
        }
        p.started = false;
    }
    if (int rc = rte_eth_dev_close(p.id); rc != 0) {
        std::fprintf(stderr, "vpmd-fwd: port %u: close: %s\n", p.id, rte_strerror(-rc));
    }
}

Embedded::Embedded()
    : sock_("/tmp/vpmd-fwd-" + std::to_string(::getpid()) + ".sock"), vhost_name_("net_vhost_fwd"),
      vpmd_name_("net_vpmd_fwd") {}

Embedded::~Embedded() {
    remove();
}

Expected<Port, std::string> Embedded::start_vhost(const FwdOptions &o, rte_mempool *pool) {
    ::unlink(sock_.c_str());
    const uint16_t queues = std::max(o.rxq, o.txq);
    const std::string args = "iface=" + sock_ + ",queues=" + std::to_string(queues);
    if (int rc = rte_vdev_init(vhost_name_.c_str(), args.c_str()); rc != 0) {
        return unexpected(err("embedded: cannot create " + vhost_name_ + "," + args, rc));
    }
    vhost_created_ = true;
    uint16_t id = 0;
    if (rte_eth_dev_get_port_by_name(vhost_name_.c_str(), &id) != 0) {
        return unexpected(std::string("embedded: no port for ") + vhost_name_);
    }
    Port p = describe_port(id, PortRole::echo, o);
    p.rxq = p.txq = queues;
    // The echo side keeps the driver's ring sizes: --rxd/--txd describe the ports under test.
    FwdOptions echo = o;
    echo.rxd = echo.txd = 0;
    echo.max_pkt_len = 0;
    if (auto st = configure_and_start(p, echo, pool); !st) {
        return unexpected(st.error());
    }
    return p;
}

Expected<Port, std::string> Embedded::attach_vpmd(const FwdOptions &o, rte_mempool *pool) {
    const uint16_t queues = std::max(o.rxq, o.txq);
    std::string devargs = vpmd_name_ + ",path=" + sock_ + ",queues=" + std::to_string(queues);
    if (!o.vpmd_args.empty()) {
        devargs += "," + o.vpmd_args;
    }
    if (int rc = rte_dev_probe(devargs.c_str()); rc != 0) {
        return unexpected(err("embedded: rte_dev_probe(" + devargs + ")", rc));
    }
    vpmd_created_ = true;
    uint16_t id = 0;
    if (rte_eth_dev_get_port_by_name(vpmd_name_.c_str(), &id) != 0) {
        return unexpected(std::string("embedded: no port for ") + vpmd_name_);
    }
    Port p = describe_port(id, PortRole::forward, o);
    if (auto st = configure_and_start(p, o, pool); !st) {
        return unexpected(st.error());
    }
    return p;
}

void Embedded::remove() {
    // The driver side first: it talks to the backend while it goes.
    if (vpmd_created_) {
        rte_vdev_uninit(vpmd_name_.c_str());
        vpmd_created_ = false;
    }
    if (vhost_created_) {
        rte_vdev_uninit(vhost_name_.c_str());
        vhost_created_ = false;
    }
    ::unlink(sock_.c_str());
}

} // namespace vpmd::fwd
