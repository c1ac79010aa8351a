// Test-only emulated modern virtio-pci net function behind pci::Function: config space with
// the virtio capabilities and MSI-X, and BAR 4 holding common config (with its
// select-register semantics), ISR, device config and the notify area. MSI-X vectors are
// delivered to eventfds the device owns (signal() fires one). Knobs make it a bad device.
// No EAL.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <vector>

#include "dataplane/net/virtio_net.hpp"
#include "dataplane/ring/layout.hpp"
#include "drivers/transport/pci/function.hpp"
#include "drivers/transport/pci/virtio_pci.hpp"

namespace vpmd::test {

struct EmulatedQueue {
    uint16_t max_size = 256;
    uint16_t size = 256;
    uint16_t msix = pci::no_vector;
    uint16_t enable = 0;
    uint16_t notify_off = 0;
    uint64_t desc = 0, driver = 0, device = 0;
};

struct EmulatedPciKnobs {
    bool no_common = false;
    bool no_cap_list = false;
    uint64_t bar_len = 0x4000; // what is mapped of BAR 4
    uint32_t notify_mult = 4;
    uint16_t bad_notify_off = 0; // nonzero: queue 1 reports this notify offset
    bool refuse_features_ok = false;
    uint16_t msix_vectors = 4;  // MSI-X table size (0: no MSI-X capability)
    bool msix_delivery = true;  // false: enable_msix fails, as without VFIO interrupts
    bool refuse_vectors = false; // every queue vector reads back NO_VECTOR (mapping failed)
};

class EmulatedVirtioPci final : public pci::Function {
public:
    using Knobs = EmulatedPciKnobs;

    explicit EmulatedVirtioPci(Knobs k = {}) : k_(k) {
        offered = ring::feature::version_1 | ring::feature::access_platform | ring::feature::ring_packed |
                  ring::feature::in_order | ring::feature::indirect_desc | net::feature::mrg_rxbuf |
                  net::feature::mac | net::feature::status | net::feature::mq | net::feature::ctrl_vq;
        queues.resize(3);
        for (uint16_t i = 0; i < 3; ++i) {
            queues[i].notify_off = i;
        }
        if (k_.bad_notify_off != 0) {
            queues[1].notify_off = k_.bad_notify_off;
        }
        build_config();
        bar_.resize(0x4000);
        const uint8_t mac[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x56};
        std::memcpy(&bar_[device_off], mac, 6);
        link_up(true);
    }
    ~EmulatedVirtioPci() override {
        for (int fd : msix_fds_) {
            ::close(fd);
        }
    }

    // Device side knobs and state the tests look at.
    uint64_t offered = 0;
    uint64_t driver_features = 0;
    uint8_t status = 0;
    uint8_t generation = 0;
    std::vector<EmulatedQueue> queues;
    std::vector<uint8_t> status_log; // every status write
    uint32_t queue_resets = 0;
    uint16_t config_msix = pci::no_vector;

    // The device signals MSI-X vector `v` (ignored when not routed, as a masked vector).
    void signal(uint16_t v) {
        if (v >= 1 && size_t(v) <= msix_fds_.size()) {
            const uint64_t one = 1;
            [[maybe_unused]] ssize_t n = ::write(msix_fds_[v - 1], &one, sizeof(one));
        }
    }
    size_t msix_routed() const { return msix_fds_.size(); }

    void set_config(uint16_t mtu, uint16_t max_pairs) {
        std::memcpy(&bar_[device_off + 10], &mtu, 2);
        std::memcpy(&bar_[device_off + 8], &max_pairs, 2);
        ++generation;
    }
    void link_up(bool up) {
        bar_[device_off + 6] = up ? 1 : 0;
        ++generation;
    }
    uint32_t notify_word(uint32_t off) const {
        uint32_t v;
        std::memcpy(&v, &bar_[notify_off + off], 4);
        return v;
    }

    // pci::Function
    std::string address() const override { return "emul:00.0"; }
    bool read_config(uint32_t off, void *buf, uint32_t len) const override {
        if (off + len > cfg_.size()) {
            return false;
        }
        std::memcpy(buf, &cfg_[off], len);
        return true;
    }
    bool write_config(uint32_t off, const void *buf, uint32_t len) override {
        if (off + len > cfg_.size()) {
            return false;
        }
        std::memcpy(&cfg_[off], buf, len);
        return true;
    }
    uint64_t bar_length(uint8_t bar) const override { return bar == 4 ? k_.bar_len : 0; }
    uint32_t read(uint8_t bar, uint64_t off, uint8_t width) const override {
        if (bar != 4 || off + width > bar_.size()) {
            return ~0u;
        }
        if (off < 0x100) {
            return read_common(uint32_t(off), width);
        }
        uint32_t v = 0;
        std::memcpy(&v, &bar_[off], width);
        return v;
    }
    void write(uint8_t bar, uint64_t off, uint8_t width, uint32_t value) override {
        if (bar != 4 || off + width > bar_.size()) {
            return;
        }
        if (off < 0x100) {
            write_common(uint32_t(off), width, value);
            return;
        }
        std::memcpy(&bar_[off], &value, width);
    }
    volatile void *notify_address(uint8_t bar, uint64_t off) override {
        return bar == 4 && off < bar_.size() ? &bar_[off] : nullptr;
    }
    transport::Result<std::vector<int>> enable_msix(uint16_t n) override {
        if (!k_.msix_delivery) {
            return transport::fail(-ENOTSUP, "emulated: no MSI-X delivery");
        }
        if (!msix_fds_.empty() || n == 0 || n + 1 > k_.msix_vectors) {
            return transport::fail(-EINVAL, "emulated: MSI-X asked twice or for too many vectors");
        }
        for (uint16_t i = 0; i < n; ++i) {
            msix_fds_.push_back(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
        }
        return msix_fds_;
    }

    static constexpr uint32_t isr_off = 0x1000, device_off = 0x2000, notify_off = 0x3000;

private:
    EmulatedQueue &sel() { return queues[qsel_ < queues.size() ? qsel_ : 0]; }
    const EmulatedQueue *sel_or_null() const { return qsel_ < queues.size() ? &queues[qsel_] : nullptr; }

    uint32_t read_common(uint32_t off, uint8_t) const {
        namespace c = pci::common;
        const EmulatedQueue *q = sel_or_null();
        switch (off) {
        case c::device_feature: return uint32_t(dfsel_ == 0 ? offered : dfsel_ == 1 ? offered >> 32 : 0);
        case c::driver_feature: return uint32_t(gfsel_ == 0 ? driver_features : driver_features >> 32);
        case c::num_queues: return uint32_t(queues.size());
        case c::device_status: return status;
        case c::config_generation: return generation;
        case c::queue_select: return qsel_;
        case c::queue_size: return q ? q->size : 0;
        case c::queue_enable: return q ? q->enable : 0;
        case c::queue_notify_off: return q ? q->notify_off : 0;
        case c::queue_reset: return 0;
        case c::queue_msix_vector: return q ? q->msix : pci::no_vector;
        case c::config_msix_vector: return config_msix;
        default: return 0;
        }
    }
    void write_common(uint32_t off, uint8_t, uint32_t v) {
        namespace c = pci::common;
        switch (off) {
        case c::device_feature_select: dfsel_ = v; break;
        case c::driver_feature_select: gfsel_ = v; break;
        case c::driver_feature:
            if (gfsel_ == 0) {
                driver_features = (driver_features & ~0xffffffffULL) | v;
            } else if (gfsel_ == 1) {
                driver_features = (driver_features & 0xffffffffULL) | (uint64_t(v) << 32);
            }
            break;
        case c::device_status: {
            uint8_t s = uint8_t(v);
            status_log.push_back(s);
            if (s == 0) {
                driver_features = 0;
                for (auto &q : queues) {
                    q.enable = 0;
                    q.size = q.max_size;
                    q.msix = pci::no_vector;
                }
                config_msix = pci::no_vector;
            }
            if ((s & pci::status::features_ok) && (k_.refuse_features_ok || (driver_features & ~offered))) {
                s &= uint8_t(~pci::status::features_ok);
            }
            status = s;
            break;
        }
        case c::queue_select: qsel_ = uint16_t(v); break;
        case c::queue_reset: // completes at once: the queue is back to its initial state
            if (v == 1) {
                sel().enable = 0;
                sel().size = sel().max_size;
                ++queue_resets;
            }
            break;
        case c::queue_size: sel().size = uint16_t(v); break;
        case c::queue_msix_vector: sel().msix = k_.refuse_vectors ? pci::no_vector : take_vector(uint16_t(v)); break;
        case c::config_msix_vector: config_msix = take_vector(uint16_t(v)); break;
        case c::queue_enable: sel().enable = uint16_t(v); break;
        case c::queue_desc: sel().desc = (sel().desc & ~0xffffffffULL) | v; break;
        case c::queue_desc + 4: sel().desc = (sel().desc & 0xffffffffULL) | (uint64_t(v) << 32); break;
        case c::queue_driver: sel().driver = (sel().driver & ~0xffffffffULL) | v; break;
        case c::queue_driver + 4: sel().driver = (sel().driver & 0xffffffffULL) | (uint64_t(v) << 32); break;
        case c::queue_device: sel().device = (sel().device & ~0xffffffffULL) | v; break;
        case c::queue_device + 4: sel().device = (sel().device & 0xffffffffULL) | (uint64_t(v) << 32); break;
        default: break;
        }
    }

    // A vector past the table is refused: it reads back as NO_VECTOR (virtio 1.2, 4.1.5.1.2).
    uint16_t take_vector(uint16_t v) const { return v < k_.msix_vectors ? v : pci::no_vector; }

    void link_cap(uint8_t at) {
        if (last_cap_ != 0) {
            cfg_[last_cap_ + 1] = at;
        } else {
            cfg_[0x34] = at;
        }
        last_cap_ = at;
    }
    void add_msix_cap() {
        const uint8_t at = next_cap_;
        cfg_[at] = pci::msix_cap_id;
        cfg_[at + 1] = 0;
        const uint16_t control = uint16_t(k_.msix_vectors - 1);
        std::memcpy(&cfg_[at + 2], &control, 2);
        link_cap(at);
        next_cap_ = uint8_t(at + 12);
    }
    void add_cap(uint8_t type, uint32_t off, uint32_t len, bool notify = false) {
        const uint8_t at = next_cap_;
        const uint8_t cap_len = notify ? 20 : 16;
        cfg_[at] = pci::cap::vendor_id;
        cfg_[at + 1] = 0;
        cfg_[at + 2] = cap_len;
        cfg_[at + 3] = type;
        cfg_[at + 4] = 4; // BAR 4
        std::memcpy(&cfg_[at + 8], &off, 4);
        std::memcpy(&cfg_[at + 12], &len, 4);
        if (notify) {
            std::memcpy(&cfg_[at + 16], &k_.notify_mult, 4);
        }
        link_cap(at);
        next_cap_ = uint8_t(at + 24);
    }
    void build_config() {
        cfg_.assign(256, 0);
        const uint16_t vendor = 0x1af4, device = 0x1041;
        std::memcpy(&cfg_[0], &vendor, 2);
        std::memcpy(&cfg_[2], &device, 2);
        if (!k_.no_cap_list) {
            cfg_[6] = 0x10; // status: capability list
        }
        if (!k_.no_common) {
            add_cap(pci::cap::common, 0, 0x40);
        }
        add_cap(pci::cap::isr, isr_off, 4);
        add_cap(pci::cap::device, device_off, 0x20);
        add_cap(pci::cap::notify, notify_off, 0x1000, true);
        if (k_.msix_vectors != 0) {
            add_msix_cap();
        }
    }

    Knobs k_;
    std::vector<uint8_t> cfg_;
    mutable std::vector<uint8_t> bar_;
    uint32_t dfsel_ = 0, gfsel_ = 0;
    uint16_t qsel_ = 0;
    uint8_t next_cap_ = 0x40;
    uint8_t last_cap_ = 0;
    std::vector<int> msix_fds_; // vector v's eventfd at [v - 1]
};

} // namespace vpmd::test
