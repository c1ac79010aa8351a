// The embedding API's Port (include/vpmd/port.hpp): devargs and typed configs become a
// device probe, the port's rte_ethdev calls become error values that say what failed and why
// (the driver's own log line when it refused).
#include "vpmd/port.hpp"

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include <atomic>
#include <cstring>
#include <set>

#include "drivers/net/vpmd/devargs.hpp"
#include "drivers/net/vpmd/inspect.hpp"
#include "drivers/net/vpmd/log.hpp"

namespace vpmd {

namespace {

// vdev names net_vpmd's vdev driver takes (the vdev bus matches drivers by name prefix).
constexpr std::string_view vpmd_vdev_prefix = "net_vpmd";

Unexpected<Error> fail(int rc, std::string what) {
    // The driver's reason beats the errno's text: "path: no such socket" vs "Invalid argument".
    const std::string why = pmd::take_last_error();
    if (!why.empty()) {
        what += ": " + why;
    } else {
        what += std::string(": ") + rte_strerror(rc < 0 ? -rc : rc);
    }
    return unexpected(Error{rc < 0 ? rc : -rc, std::move(what)});
}

std::string opt(const char *key, const std::optional<bool> &v) {
    return v ? std::string(",") + key + "=" + (*v ? "1" : "0") : std::string();
}

std::string common_keys(const PortConfig &c) {
    std::string s = ",queues=" + std::to_string(c.queue_pairs);
    if (c.queue_size != 0) {
        s += ",queue_size=" + std::to_string(c.queue_size);
    }
    s += opt("packed_vq", c.packed) + opt("in_order", c.in_order) + opt("mrg_rxbuf", c.mrg_rxbuf);
    if (!c.mac.empty()) {
        s += ",mac=" + c.mac;
    }
    if (!c.extra.empty()) {
        s += "," + c.extra;
    }
    return s;
}

std::set<uint16_t> current_ports() {
    std::set<uint16_t> ids;
    uint16_t p = 0;
    RTE_ETH_FOREACH_DEV(p) {
        ids.insert(p);
    }
    return ids;
}

} // namespace

std::string to_devargs(const PortConfig &c) {
    if (const auto *v = std::get_if<VhostUserConfig>(&c.transport)) {
        std::string name = c.name;
        if (name.empty()) {
            static std::atomic<unsigned> next{0};
            name = std::string(vpmd_vdev_prefix) + "_app" + std::to_string(next++);
        }
        std::string s = name + ",path=" + v->path;
        if (v->server) {
            s += ",server=1";
        }
        if (v->connect_timeout_s != 0) {
            s += ",connect_timeout=" + std::to_string(v->connect_timeout_s);
        }
        return s + common_keys(c);
    }
    const auto &pci = std::get<PciConfig>(c.transport);
    return pci.address + common_keys(c) + (pci.own_dma ? ",dma=own" : "");
}

Result<Port> Port::open(std::string_view devargs) {
    const size_t comma = devargs.find(',');
    const std::string name(devargs.substr(0, comma));
    const std::string args(comma == std::string_view::npos ? std::string_view() : devargs.substr(comma + 1));
    if (name.empty()) {
        return unexpected(Error{-EINVAL, "no device name in devargs \"" + std::string(devargs) + "\""});
    }
    // Our own vdev's keys are checked here, so the error names the key instead of "probe failed".
    if (name.starts_with(vpmd_vdev_prefix)) {
        pmd::Devargs parsed;
        if (auto r = pmd::parse_devargs(args, parsed); !r.ok) {
            return unexpected(Error{-EINVAL, name + ": " + r.error});
        }
    }
    const std::set<uint16_t> before = current_ports();
    (void)pmd::take_last_error();
    if (int rc = rte_dev_probe(std::string(devargs).c_str()); rc < 0) {
        return fail(rc, "cannot open " + name);
    }
    for (uint16_t id : current_ports()) {
        if (!before.contains(id)) {
            return Port(id, true);
        }
    }
    // Probed, but no port: not a network device, or one that was there already.
    (void)rte_eal_hotplug_remove(name.starts_with("net_") ? "vdev" : "pci", name.c_str());
    return unexpected(Error{-ENODEV, name + ": probed, but no new ethdev port appeared"});
}

Result<Port> Port::open(const PortConfig &config) {
    if (const auto *v = std::get_if<VhostUserConfig>(&config.transport); v != nullptr && v->path.empty()) {
        return unexpected(Error{-EINVAL, "vhost-user port: no socket path"});
    }
    if (const auto *p = std::get_if<PciConfig>(&config.transport); p != nullptr && p->address.empty()) {
        return unexpected(Error{-EINVAL, "PCI port: no address"});
    }
    if (!config.name.empty() && !config.name.starts_with(vpmd_vdev_prefix)) {
        return unexpected(Error{-EINVAL, "port name \"" + config.name + "\" must start with net_vpmd"});
    }
    return open(to_devargs(config));
}

Result<Port> Port::attach(uint16_t port_id) {
    if (!rte_eth_dev_is_valid_port(port_id)) {
        return unexpected(Error{-ENODEV, "no port " + std::to_string(port_id)});
    }
    return Port(port_id, false);
}

Port::Port(uint16_t id, bool owned) : id_(id), owned_(owned) {
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    rte_eth_dev_get_name_by_port(id, name);
    name_ = name;
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(id, &info) == 0) {
        driver_ = info.driver_name != nullptr ? info.driver_name : "";
        if (info.device != nullptr) {
            device_ = rte_dev_name(info.device);
            bus_ = rte_bus_name(rte_dev_bus(info.device));
        }
    }
}

Port::Port(Port &&o) noexcept
    : id_(std::exchange(o.id_, RTE_MAX_ETHPORTS)), owned_(std::exchange(o.owned_, false)), name_(std::move(o.name_)),
      driver_(std::move(o.driver_)), device_(std::move(o.device_)), bus_(std::move(o.bus_)) {}

Port &Port::operator=(Port &&o) noexcept {
    if (this != &o) {
        close();
        id_ = std::exchange(o.id_, RTE_MAX_ETHPORTS);
        owned_ = std::exchange(o.owned_, false);
        name_ = std::move(o.name_);
        driver_ = std::move(o.driver_);
        device_ = std::move(o.device_);
        bus_ = std::move(o.bus_);
    }
    return *this;
}

Port::~Port() { close(); }

void Port::close() {
    if (id_ >= RTE_MAX_ETHPORTS) {
        return;
    }
    if (owned_) {
        (void)rte_eth_dev_stop(id_); // ethdev refuses to close a started port
        (void)rte_eth_dev_close(id_);
        // The bus device goes too, so the same name can be opened again.
        if (!device_.empty()) {
            (void)rte_eal_hotplug_remove(bus_.c_str(), device_.c_str());
        }
    }
    id_ = RTE_MAX_ETHPORTS;
    owned_ = false;
}

bool Port::is_vpmd() const { return pmd::queue_reports(id_).has_value(); }

Result<void> Port::configure(const QueueConfig &c) {
    const std::string who = "port " + name_;
    if (c.rx_queues > 0 && c.pool == nullptr) {
        return unexpected(Error{-EINVAL, who + ": rx queues need a mempool"});
    }
    (void)pmd::take_last_error();
    rte_eth_conf conf{};
    conf.rxmode.offloads = c.rx_offloads;
    conf.txmode.offloads = c.tx_offloads;
    if (c.link_events) {
        rte_eth_dev_info info{};
        if (rte_eth_dev_info_get(id_, &info) == 0 && info.dev_flags != nullptr &&
            (*info.dev_flags & RTE_ETH_DEV_INTR_LSC) != 0) {
            conf.intr_conf.lsc = 1; // else ethdev refuses the configuration
        }
    }
    if (int rc = rte_eth_dev_configure(id_, c.rx_queues, c.tx_queues, &conf); rc != 0) {
        return fail(rc, who + ": configure " + std::to_string(c.rx_queues) + " rx / " + std::to_string(c.tx_queues) +
                            " tx queues");
    }
    const int socket = c.socket < 0 ? SOCKET_ID_ANY : c.socket;
    for (uint16_t q = 0; q < c.rx_queues; ++q) {
        if (int rc = rte_eth_rx_queue_setup(id_, q, c.rx_ring, socket, nullptr, c.pool); rc != 0) {
            return fail(rc, who + ": rx queue " + std::to_string(q) + " setup");
        }
    }
    for (uint16_t q = 0; q < c.tx_queues; ++q) {
        if (int rc = rte_eth_tx_queue_setup(id_, q, c.tx_ring, socket, nullptr); rc != 0) {
            return fail(rc, who + ": tx queue " + std::to_string(q) + " setup");
        }
    }
    if (c.promiscuous) {
        if (int rc = rte_eth_promiscuous_enable(id_); rc != 0) {
            return fail(rc, who + ": promiscuous mode");
        }
    }
    return {};
}

Result<void> Port::start() {
    (void)pmd::take_last_error();
    if (int rc = rte_eth_dev_start(id_); rc != 0) {
        return fail(rc, "port " + name_ + ": start");
    }
    return {};
}

Result<void> Port::stop() {
    (void)pmd::take_last_error();
    if (int rc = rte_eth_dev_stop(id_); rc != 0) {
        return fail(rc, "port " + name_ + ": stop");
    }
    return {};
}

Result<Link> Port::link() const {
    rte_eth_link l{};
    if (int rc = rte_eth_link_get_nowait(id_, &l); rc != 0) {
        return fail(rc, "port " + name_ + ": link");
    }
    return Link{l.link_status == RTE_ETH_LINK_UP, l.link_speed, l.link_duplex == RTE_ETH_LINK_FULL_DUPLEX};
}

Result<PortStats> Port::stats() const {
    rte_eth_stats s{};
    if (int rc = rte_eth_stats_get(id_, &s); rc != 0) {
        return fail(rc, "port " + name_ + ": stats");
    }
    PortStats out;
    out.rx_packets = s.ipackets;
    out.rx_bytes = s.ibytes;
    out.rx_missed = s.imissed;
    out.rx_errors = s.ierrors;
    out.rx_nombuf = s.rx_nombuf;
    out.tx_packets = s.opackets;
    out.tx_bytes = s.obytes;
    out.tx_errors = s.oerrors;
    return out;
}

Result<std::vector<Xstat>> Port::xstats() const {
    const int n = rte_eth_xstats_get_names(id_, nullptr, 0);
    if (n < 0) {
        return fail(n, "port " + name_ + ": xstats");
    }
    std::vector<rte_eth_xstat_name> names(static_cast<size_t>(n));
    std::vector<rte_eth_xstat> values(static_cast<size_t>(n));
    if (rte_eth_xstats_get_names(id_, names.data(), unsigned(n)) != n ||
        rte_eth_xstats_get(id_, values.data(), unsigned(n)) != n) {
        return unexpected(Error{-EAGAIN, "port " + name_ + ": xstats changed while read"});
    }
    std::vector<Xstat> out;
    out.reserve(size_t(n));
    for (const rte_eth_xstat &v : values) {
        out.push_back(Xstat{names[v.id].name, v.value});
    }
    return out;
}

Result<void> Port::reset_stats() {
    if (int rc = rte_eth_stats_reset(id_); rc != 0) {
        return fail(rc, "port " + name_ + ": stats reset");
    }
    (void)rte_eth_xstats_reset(id_);
    return {};
}

Result<std::vector<QueueState>> Port::queue_states() const {
    if (!rte_eth_dev_is_valid_port(id_)) {
        return unexpected(Error{-ENODEV, "port " + name_ + " is closed"});
    }
    std::vector<QueueState> out;
    for (const pmd::QueueReport &r : pmd::queue_reports(id_).value_or(std::vector<pmd::QueueReport>{})) {
        out.push_back(QueueState{r.rx, r.queue, r.broken != ring::Broken::none,
                                 r.broken != ring::Broken::none ? std::string(ring::to_string(r.broken)) : "",
                                 r.ring_errors});
    }
    return out;
}

std::vector<uint16_t> vpmd_ports() {
    std::vector<uint16_t> out;
    for (uint16_t id : current_ports()) {
        if (pmd::queue_reports(id)) {
            out.push_back(id);
        }
    }
    return out;
}

} // namespace vpmd
