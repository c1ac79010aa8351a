// VirtioPci: the virtio-pci modern handshake over a pci::Function. The device's config
// space and registers are not trusted: capabilities are walked with a bound, every region
// must fit its BAR, queue sizes and notify offsets are checked before they are used.
#include "drivers/transport/pci/virtio_pci.hpp"

#include <cerrno>
#include <cstring>
#include <thread>

#include "dataplane/ring/layout.hpp"

namespace vpmd::pci {

namespace {

using namespace std::chrono_literals;

// A device that takes longer than this to reset is broken (real ones take microseconds;
// an emulated one under TCG milliseconds).
constexpr auto reset_timeout = 2s;
constexpr uint32_t pci_status = 0x06;
constexpr uint32_t pci_cap_ptr = 0x34;
constexpr uint16_t status_cap_list = 0x10;
constexpr int max_caps = 48; // config space holds at most (256 - 64) / 4

std::string hex(uint64_t v) {
    char b[24];
    snprintf(b, sizeof(b), "0x%lx", (unsigned long)v);
    return b;
}

} // namespace

transport::Result<VirtioPci> VirtioPci::open(Function &f) {
    VirtioPci d(f);
    const std::string at = f.address() + ": ";
    uint16_t st = 0;
    uint8_t ptr = 0;
    if (!f.read_config(pci_status, &st, 2) || !(st & status_cap_list) || !f.read_config(pci_cap_ptr, &ptr, 1)) {
        return transport::fail(-ENODEV, at + "no PCI capability list (not a modern virtio device)");
    }
    bool have_common = false, have_notify = false;
    for (int n = 0; ptr != 0 && n < max_caps; ++n) {
        uint8_t c[20] = {};
        if (ptr < 0x40 || !f.read_config(ptr, c, 16)) {
            return transport::fail(-EINVAL, at + "capability pointer " + hex(ptr) + " outside config space");
        }
        const uint8_t next = c[1];
        if (c[0] == msix_cap_id) {
            const uint16_t control = uint16_t(c[2] | (c[3] << 8));
            d.msix_vectors_ = uint16_t((control & 0x7ff) + 1); // table size is encoded as N - 1
        }
        if (c[0] == cap::vendor_id && c[2] >= 16) {
            Region r;
            r.bar = c[4];
            uint32_t off, len;
            std::memcpy(&off, c + 8, 4);
            std::memcpy(&len, c + 12, 4);
            r.offset = off;
            r.length = len;
            const uint8_t type = c[3];
            const bool wanted = type == cap::common || type == cap::notify || type == cap::device;
            // The first capability of each type the device offers is the one to use
            // (later ones are alternatives); only memory BARs 0..5 are reachable here.
            const bool first = (type == cap::common && !have_common) || (type == cap::notify && !have_notify) ||
                               (type == cap::device && d.device_.length == 0);
            if (wanted && first && r.bar <= 5) {
                const uint64_t bar_len = f.bar_length(r.bar);
                if (r.length == 0 || r.offset > bar_len || bar_len - r.offset < r.length) {
                    return transport::fail(-EINVAL, at + "virtio capability type " + std::to_string(type) +
                                                        " region " + hex(r.offset) + "+" + hex(r.length) +
                                                        " lies outside BAR " + std::to_string(r.bar) + " (" +
                                                        hex(bar_len) + " bytes mapped)");
                }
                switch (type) {
                case cap::common: d.common_ = r; have_common = true; break;
                case cap::device: d.device_ = r; break;
                case cap::notify:
                    if (c[2] < 20 || !f.read_config(ptr + 16, &d.notify_multiplier_, 4)) {
                        return transport::fail(-EINVAL, at + "notify capability too short");
                    }
                    d.notify_ = r;
                    have_notify = true;
                    break;
                }
            }
        }
        ptr = next;
    }
    if (!have_common || !have_notify) {
        return transport::fail(-ENODEV, at + "missing virtio capability: " +
                                            (!have_common ? std::string("common configuration") : "notify"));
    }
    if (d.common_.length < common::min_length) {
        return transport::fail(-EINVAL, at + "common configuration of " + std::to_string(d.common_.length) +
                                            " bytes, need " + std::to_string(common::min_length));
    }
    return d;
}

uint8_t VirtioPci::status() const { return uint8_t(rd(common::device_status, 1)); }

void VirtioPci::add_status(uint8_t bits) { wr(common::device_status, 1, status() | bits); }

transport::Status VirtioPci::reset() {
    wr(common::device_status, 1, 0);
    const auto until = std::chrono::steady_clock::now() + reset_timeout;
    while (status() != 0) {
        if (std::chrono::steady_clock::now() > until) {
            return transport::fail(-ETIMEDOUT, f_->address() + ": device did not complete reset");
        }
        std::this_thread::sleep_for(100us);
    }
    wr(common::config_msix_vector, 2, no_vector);
    return {};
}

uint64_t VirtioPci::device_features() const {
    auto *self = const_cast<VirtioPci *>(this);
    self->wr(common::device_feature_select, 4, 0);
    const uint64_t lo = rd(common::device_feature, 4);
    self->wr(common::device_feature_select, 4, 1);
    const uint64_t hi = rd(common::device_feature, 4);
    return lo | (hi << 32);
}

transport::Result<uint64_t> VirtioPci::negotiate(uint64_t wanted) {
    add_status(status::acknowledge | status::driver);
    const uint64_t offered = device_features();
    if (!(offered & ring::feature::version_1)) {
        add_status(status::failed);
        return transport::fail(-ENOTSUP, f_->address() + ": device does not offer VERSION_1 (legacy virtio-pci "
                                                         "is not supported)");
    }
    const uint64_t f = wanted & offered;
    wr(common::driver_feature_select, 4, 0);
    wr(common::driver_feature, 4, uint32_t(f));
    wr(common::driver_feature_select, 4, 1);
    wr(common::driver_feature, 4, uint32_t(f >> 32));
    add_status(status::features_ok);
    if (!(status() & status::features_ok)) {
        add_status(status::failed);
        return transport::fail(-ENOTSUP, f_->address() + ": device refused features " + hex(f));
    }
    return f;
}

uint16_t VirtioPci::num_queues() const { return uint16_t(rd(common::num_queues, 2)); }

uint16_t VirtioPci::queue_max_size(uint16_t index) {
    if (index >= num_queues()) {
        return 0;
    }
    wr(common::queue_select, 2, index);
    return uint16_t(rd(common::queue_size, 2));
}

transport::Result<transport::Notifier> VirtioPci::setup_queue(const transport::QueueSetup &q, bool notification_data,
                                                              uint16_t vector) {
    const std::string at = f_->address() + ": queue " + std::to_string(q.index) + ": ";
    const uint16_t max = queue_max_size(q.index);
    if (max == 0) {
        return transport::fail(-EINVAL, at + "the device has no such queue (it has " + std::to_string(num_queues()) +
                                            ")");
    }
    if (q.size == 0 || q.size > max) {
        return transport::fail(-EINVAL, at + std::to_string(q.size) + " descriptors asked, the device takes at most " +
                                            std::to_string(max));
    }
    if (q.avail_base != 0) {
        return transport::fail(-ENOTSUP, at + "virtio-pci queues start at index 0");
    }
    wr(common::queue_select, 2, q.index);
    wr(common::queue_size, 2, q.size);
    wr(common::queue_msix_vector, 2, vector);
    if (const uint16_t got = uint16_t(rd(common::queue_msix_vector, 2)); got != vector) {
        return transport::fail(-ENOSPC, at + "the device did not take MSI-X vector " + std::to_string(vector) +
                                            " (it reads back " + std::to_string(got) + ")");
    }
    wr64(common::queue_desc, q.desc_addr);
    wr64(common::queue_driver, q.driver_area_addr);
    wr64(common::queue_device, q.device_area_addr);
    const uint64_t off = uint64_t(rd(common::queue_notify_off, 2)) * notify_multiplier_;
    const uint64_t width = notification_data ? 4 : 2;
    if (off > notify_.length || notify_.length - off < width) {
        return transport::fail(-EINVAL, at + "notify offset " + hex(off) + " outside the notify region");
    }
    transport::Notifier n;
    n.kind = transport::Notifier::Kind::mmio;
    n.queue_index = q.index;
    n.with_data = notification_data;
    n.addr = f_->notify_address(notify_.bar, notify_.offset + off);
    return n;
}

transport::Status VirtioPci::enable_queue(uint16_t index) {
    wr(common::queue_select, 2, index);
    wr(common::queue_enable, 2, 1);
    return {};
}

transport::Status VirtioPci::reset_queue(uint16_t index) {
    if (common_.length < common::queue_reset + 2) {
        return transport::fail(-ENOTSUP, f_->address() + ": no queue_reset register (RING_RESET)");
    }
    wr(common::queue_select, 2, index);
    wr(common::queue_reset, 2, 1);
    const auto until = std::chrono::steady_clock::now() + reset_timeout;
    while (rd(common::queue_reset, 2) != 0) {
        if (std::chrono::steady_clock::now() > until) {
            return transport::fail(-ETIMEDOUT, f_->address() + ": queue reset did not complete");
        }
        std::this_thread::sleep_for(100us);
    }
    return {};
}

uint8_t VirtioPci::config_generation() const { return uint8_t(rd(common::config_generation, 1)); }

transport::Result<NetConfig> VirtioPci::read_net_config() const {
    NetConfig c;
    if (device_.length < 12) {
        return c; // no (or a short) device config: defaults
    }
    for (int tries = 0; tries < 100; ++tries) {
        const uint8_t gen = config_generation();
        for (int i = 0; i < 6; ++i) {
            c.mac[i] = uint8_t(f_->read(device_.bar, device_.offset + i, 1));
        }
        c.status = uint16_t(f_->read(device_.bar, device_.offset + 6, 2));
        c.max_virtqueue_pairs = uint16_t(f_->read(device_.bar, device_.offset + 8, 2));
        c.mtu = uint16_t(f_->read(device_.bar, device_.offset + 10, 2));
        if (gen == config_generation()) {
            return c;
        }
    }
    return transport::fail(-EIO, f_->address() + ": device configuration keeps changing");
}

} // namespace vpmd::pci
