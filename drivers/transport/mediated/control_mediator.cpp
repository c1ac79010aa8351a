// Control-queue mediator: command parsing and validation, filter state, serving thread.
#include "drivers/transport/mediated/control_mediator.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vpmd::mediated {

using namespace vpmd::net;

namespace {
// The serving thread re-checks its stop flag at least this often while idle.
constexpr int idle_poll_ms = 50;

bool read_u32(std::span<const uint8_t> d, size_t off, uint32_t &v) {
    if (d.size() < off + 4) {
        return false;
    }
    std::memcpy(&v, d.data() + off, 4);
    return true;
}

// One MAC table of the TABLE_SET command: u32 count, then count addresses.
bool parse_table(std::span<const uint8_t> d, size_t &off, std::vector<MacAddr> &out) {
    uint32_t n;
    if (!read_u32(d, off, n) || n > max_mac_entries || d.size() - off - 4 < size_t(n) * 6) {
        return false;
    }
    off += 4;
    out.resize(n);
    for (uint32_t i = 0; i < n; ++i, off += 6) {
        std::memcpy(out[i].data(), d.data() + off, 6);
    }
    return true;
}
} // namespace

ControlMediator::ControlMediator(const ring::QueueConfig &cfg, void *ring_va, Translate memory, uint16_t max_pairs,
                                 QueuePairsHook pairs_hook)
    : max_pairs_(max_pairs), pairs_hook_(std::move(pairs_hook)) {
    if (cfg.has(ring::feature::ring_packed)) {
        dev_.emplace<Packed>().init(cfg, ring_va, memory);
    } else {
        dev_.emplace<Split>().init(cfg, ring_va, memory);
    }
    scratch_.reserve(256);
}

ControlMediator::~ControlMediator() { stop(); }

template <class Dev>
uint32_t ControlMediator::serve_on(Dev &dev) {
    typename Dev::Chain c;
    uint32_t handled = 0;
    while (dev.take(c)) {
        // Shape: readable {class, cmd} + data ..., then a writable ack byte at the end.
        uint8_t ack = ctrl_err;
        const bool has_ack = c.nsegs >= 2 && c.segs[c.nsegs - 1].device_writes && c.segs[c.nsegs - 1].len >= 1;
        const uint32_t readable = c.readable_len;
        if (has_ack && readable >= sizeof(CtrlHdr) && readable <= max_command_bytes &&
            c.writable_len == c.segs[c.nsegs - 1].len) {
            scratch_.resize(readable);
            size_t off = 0;
            for (uint16_t s = 0; s < c.nsegs && !c.segs[s].device_writes; ++s) {
                std::memcpy(scratch_.data() + off, c.segs[s].ptr, c.segs[s].len);
                off += c.segs[s].len;
            }
            ack = apply(scratch_[0], scratch_[1], std::span<const uint8_t>(scratch_).subspan(2));
        }
        if (has_ack) {
            *static_cast<uint8_t *>(c.segs[c.nsegs - 1].ptr) = ack;
        }
        (ack == ctrl_ok ? ok_ : failed_).fetch_add(1);
        dev.put_used(c, has_ack ? 1 : 0);
        ++handled;
    }
    dev.publish_used();
    return handled;
}

uint32_t ControlMediator::serve() {
    std::lock_guard lock(mu_);
    return std::visit([this](auto &dev) { return serve_on(dev); }, dev_);
}

void ControlMediator::set_relay(RelayHook relay) {
    std::lock_guard lock(mu_);
    relay_ = std::move(relay);
}

// Applied here first (that validates it), then relayed; a refusal by the device undoes it.
uint8_t ControlMediator::apply(uint8_t cls, uint8_t cmd, std::span<const uint8_t> data) {
    if (!relay_) {
        return apply_local(cls, cmd, data);
    }
    const RxFilter saved = filter_;
    const uint16_t saved_pairs = pairs_.load();
    const uint8_t r = apply_local(cls, cmd, data);
    if (r != ctrl_ok || relay_(cls, cmd, data) == 0) {
        return r;
    }
    filter_ = saved;
    if (pairs_.load() != saved_pairs) {
        if (pairs_hook_) {
            (void)pairs_hook_(saved_pairs);
        }
        pairs_.store(saved_pairs);
    }
    return ctrl_err;
}

uint8_t ControlMediator::apply_local(uint8_t cls, uint8_t cmd, std::span<const uint8_t> data) {
    switch (cls) {
    case ctrl::rx: return apply_rx(cmd, data);
    case ctrl::mac: return apply_mac(cmd, data);
    case ctrl::vlan: return apply_vlan(cmd, data);
    case ctrl::mq: return apply_mq(cmd, data);
    default: return ctrl_err;
    }
}

uint8_t ControlMediator::apply_rx(uint8_t cmd, std::span<const uint8_t> data) {
    if (data.size() != 1 || data[0] > 1) {
        return ctrl_err;
    }
    const bool on = data[0] != 0;
    switch (cmd) {
    case ctrl::rx_promisc: filter_.promisc = on; break;
    case ctrl::rx_allmulti: filter_.allmulti = on; break;
    case ctrl::rx_alluni: filter_.alluni = on; break;
    case ctrl::rx_nomulti: filter_.nomulti = on; break;
    case ctrl::rx_nouni: filter_.nouni = on; break;
    case ctrl::rx_nobcast: filter_.nobcast = on; break;
    default: return ctrl_err;
    }
    return ctrl_ok;
}

uint8_t ControlMediator::apply_mac(uint8_t cmd, std::span<const uint8_t> data) {
    if (cmd == ctrl::mac_addr_set) {
        if (data.size() != 6 || (data[0] & 1) != 0) { // a multicast address cannot be ours
            return ctrl_err;
        }
        std::memcpy(filter_.mac.data(), data.data(), 6);
        return ctrl_ok;
    }
    if (cmd == ctrl::mac_table_set) {
        std::vector<MacAddr> uc, mc;
        size_t off = 0;
        if (!parse_table(data, off, uc) || !parse_table(data, off, mc) || off != data.size()) {
            return ctrl_err;
        }
        filter_.unicast = std::move(uc);
        filter_.multicast = std::move(mc);
        return ctrl_ok;
    }
    return ctrl_err;
}

uint8_t ControlMediator::apply_vlan(uint8_t cmd, std::span<const uint8_t> data) {
    uint16_t vid;
    if (data.size() != 2) {
        return ctrl_err;
    }
    std::memcpy(&vid, data.data(), 2);
    if (vid >= 4096 || (cmd != ctrl::vlan_add && cmd != ctrl::vlan_del)) {
        return ctrl_err;
    }
    filter_.vlans.set(vid, cmd == ctrl::vlan_add);
    return ctrl_ok;
}

uint8_t ControlMediator::apply_mq(uint8_t cmd, std::span<const uint8_t> data) {
    uint16_t pairs;
    if (cmd != ctrl::mq_vq_pairs_set || data.size() != 2) {
        return ctrl_err;
    }
    std::memcpy(&pairs, data.data(), 2);
    if (pairs < ctrl::mq_vq_pairs_min || pairs > max_pairs_) {
        return ctrl_err;
    }
    if (pairs_hook_ && pairs_hook_(pairs) != 0) {
        return ctrl_err;
    }
    pairs_.store(pairs);
    return ctrl_ok;
}

void ControlMediator::start(int kick_fd) {
    stop();
    stop_ = false;
    thread_ = std::thread([this, kick_fd] {
        pollfd p{kick_fd, POLLIN, 0};
        while (!stop_.load()) {
            if (poll(&p, 1, idle_poll_ms) > 0 && (p.revents & POLLIN)) {
                uint64_t v;
                (void)!read(kick_fd, &v, sizeof(v));
            }
            serve();
        }
    });
}

void ControlMediator::stop() {
    stop_ = true;
    if (thread_.joinable()) {
        thread_.join();
    }
}

RxFilter ControlMediator::filter() const {
    std::lock_guard lock(mu_);
    return filter_;
}

ring::Broken ControlMediator::broken() const {
    return std::visit([](const auto &dev) { return dev.broken(); }, dev_);
}

} // namespace vpmd::mediated
