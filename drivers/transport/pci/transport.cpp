// PciTransport: the transport seam over VirtioPci. A running virtio-pci queue can be set
// up again only after RING_RESET; without it, stopping queues resets the device and the
// next setup_queue brings it back to FEATURES_OK with the same features.
#include "drivers/transport/pci/transport.hpp"

#include <array>
#include <bitset>
#include <cstring>
#include <map>
#include <variant>
#include <thread>
#include <vector>

#include "dataplane/dma/local_dma.hpp"
#include "dataplane/net/virtio_net.hpp"
#include "dataplane/ring/layout.hpp"
#include "dataplane/ring/queue.hpp"
#include "drivers/transport/pci/virtio_pci.hpp"

namespace vpmd::pci {

namespace {

using namespace std::chrono_literals;

// Bits the transport negotiates for itself when the device offers them.
constexpr uint64_t transport_bits = ring::feature::access_platform | ring::feature::notification_data |
                                    ring::feature::ring_reset | net::feature::status | net::feature::mac |
                                    net::feature::mtu;
// The device's own control queue and what it can take: the mediated control queue relays
// to it (a shadow control queue), so these go with CTRL_VQ whenever it is offered.
constexpr uint64_t control_bits = net::feature::ctrl_vq | net::feature::ctrl_rx | net::feature::ctrl_vlan |
                                  net::feature::ctrl_mac_addr | net::feature::mq;
constexpr auto event_poll = 10ms;
// Why 1 s: a device acks a control command in microseconds (milliseconds under TCG).
constexpr auto command_timeout = 1s;
constexpr uint16_t cvq_size = 64;
constexpr size_t cvq_buffer = 4096; // [class, cmd, data ... | ack]

using CvqRing = std::variant<std::monostate, ring::SplitQueue<uint32_t, false>, ring::SplitQueue<uint32_t, true>,
                             ring::PackedQueue<uint32_t, false>, ring::PackedQueue<uint32_t, true>>;

class PciTransport final : public transport::Transport {
public:
    PciTransport(std::unique_ptr<Function> f, VirtioPci d, std::unique_ptr<dma::DmaDevice> data_dma, TransportOptions o)
        : f_(std::move(f)), d_(std::move(d)), data_dma_(std::move(data_dma)), opts_(o) {}
    ~PciTransport() override {
        close();
        data_dma_->free(cvq_mem_);
    }

    std::string_view kind() const override { return "virtio-pci"; }
    std::string where() const override { return f_->address(); }

    transport::Status attach(std::chrono::milliseconds) override {
        if (auto st = d_.reset(); !st) {
            return st;
        }
        attached_ = true;
        live_ = false;
        set_up_.reset();
        generation_ = d_.config_generation();
        return {};
    }
    bool attached() const override { return attached_; }
    transport::Event wait_event(std::chrono::milliseconds timeout) override {
        const auto until = std::chrono::steady_clock::now() + timeout;
        do {
            if (gone()) {
                return transport::Event::lost;
            }
            const uint8_t g = d_.config_generation();
            if (g != generation_) {
                generation_ = g;
                return transport::Event::config_changed;
            }
            std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(event_poll, timeout));
        } while (std::chrono::steady_clock::now() < until);
        return transport::Event::none;
    }
    // Surprise removal reads all ones; a device that hit an error asks to be reset.
    bool gone() const override {
        const uint8_t s = d_.status();
        return s == 0xff || (s & status::needs_reset) != 0;
    }
    void detach() override {
        (void)d_.reset();
        attached_ = false;
        live_ = false;
        queue_reset_.reset();
        set_up_.reset();
    }
    bool may_come_back() const override { return true; } // attach() resets and starts over

    transport::Result<uint64_t> negotiate(uint64_t wanted) override {
        const uint64_t offered = d_.device_features();
        offered_ = offered;
        if (opts_.need_access_platform && !(offered & ring::feature::access_platform)) {
            return transport::fail(-ENOTSUP, f_->address() + ": device does not offer ACCESS_PLATFORM, so it would "
                                                             "bypass the IOMMU, while buffers are given by IOVA");
        }
        uint64_t ask = (wanted & ~control_bits) | (offered & transport_bits);
        if (offered & net::feature::ctrl_vq) {
            // The device's control queue always; MQ only when asked for (queues > 1).
            ask |= offered & (control_bits & ~net::feature::mq);
            ask |= offered & wanted & net::feature::mq;
        }
        auto f = d_.negotiate(ask);
        if (!f) {
            return f;
        }
        features_ = *f;
        return *f;
    }
    uint64_t offered() const override { return offered_; }
    transport::Result<transport::DeviceInfo> device_info() override {
        auto c = d_.read_net_config();
        if (!c) {
            return Unexpected<transport::Error>{c.error()};
        }
        transport::DeviceInfo i;
        const bool mq = (features_ & net::feature::mq) && (features_ & net::feature::ctrl_vq);
        i.max_queue_pairs = mq ? std::max<uint16_t>(c->max_virtqueue_pairs, 1) : 1;
        cvq_index_ = uint16_t(2 * i.max_queue_pairs);
        pairs_ = uint16_t(i.max_queue_pairs);
        if (features_ & net::feature::mac) {
            i.mac = c->mac;
        }
        if (features_ & net::feature::mtu) {
            i.mtu = c->mtu;
        }
        i.link_up = (features_ & net::feature::status) ? (c->status & 1) != 0 : true;
        return i;
    }

    transport::Status sync_memory() override { return {}; } // EAL maps its memory for the container
    bool memory_stale() override { return false; }
    dma::DmaDevice &dma(transport::QueueRole role) override {
        return role == transport::QueueRole::control ? static_cast<dma::DmaDevice &>(control_dma_) : *data_dma_;
    }

    transport::Status setup_queue(const transport::QueueSetup &q) override {
        if (q.index >= notifiers_.size()) {
            return transport::fail(-EINVAL, f_->address() + ": queue index " + std::to_string(q.index) + " too large");
        }
        if (live_ && !queue_reset_.test(q.index)) {
            // The queue is live or was stopped by a device reset: bring the device back.
            if (auto st = restart(); !st) {
                return st;
            }
        }
        queue_reset_.reset(q.index); // RING_RESET: reprogrammed while the device runs
        set_up_.set(q.index);
        auto n = d_.setup_queue(q, (features_ & ring::feature::notification_data) != 0, vector_of(q));
        if (!n) {
            return Unexpected<transport::Error>{n.error()};
        }
        notifiers_[q.index] = *n;
        return {};
    }
    transport::Result<transport::Notifier> notifier(uint16_t index) override {
        if (index >= notifiers_.size() || notifiers_[index].kind == transport::Notifier::Kind::none) {
            return transport::fail(-EINVAL, f_->address() + ": queue " + std::to_string(index) + " not set up");
        }
        return notifiers_[index];
    }
    transport::Status enable_queue(uint16_t index, bool enable) override {
        if (!enable) {
            return transport::fail(-ENOTSUP, "virtio-pci queues cannot be disabled once enabled");
        }
        return d_.enable_queue(index);
    }
    // With RING_RESET only this queue stops and the device keeps running (its control
    // queue and settings too); without it one device reset stops every queue.
    transport::Status stop_queue(uint16_t index) override {
        if (!live_ || stopped_ || index >= notifiers_.size()) {
            return {};
        }
        if ((features_ & ring::feature::ring_reset) && d_.reset_queue(index)) {
            queue_reset_.set(index);
            return {};
        }
        stopped_ = true;
        set_up_.reset();
        return d_.reset();
    }
    transport::QueueStop queue_stop() const override {
        return (features_ & ring::feature::ring_reset) ? transport::QueueStop::reset : transport::QueueStop::none;
    }

    // Rx queue q signals MSI-X vector q + 1 (vector 0 would be config changes, which
    // wait_event polls). The first call routes one vector to an eventfd for every rx queue
    // the device has, so later queue-pair changes need no new routing; each rx queue set up
    // from then on is given its vector. Tx and control queues get none: they are polled.
    transport::Result<int> interrupt_fd(uint16_t index) override {
        const std::string at = f_->address() + ": ";
        // Not num_queues: a device without MQ negotiated (yet, or since its last reset) may
        // show one pair there (QEMU does).
        const uint16_t rx_queues = pairs_;
        if (index % 2 != 0 || index / 2 >= rx_queues) {
            return transport::fail(-EINVAL, at + "queue " + std::to_string(index) + " is not one of the device's " +
                                                std::to_string(rx_queues) + " rx queues");
        }
        if (irq_fds_.empty()) {
            const uint16_t vectors = d_.msix_vectors();
            if (vectors == 0) {
                return transport::fail(-ENOTSUP, at + "rx interrupts need MSI-X, and the function has no MSI-X "
                                                      "capability");
            }
            auto fds = f_->enable_msix(std::min<uint16_t>(rx_queues, uint16_t(vectors - 1)));
            if (!fds) {
                return Unexpected<transport::Error>{fds.error()};
            }
            irq_fds_ = std::move(*fds);
        }
        if (index / 2 >= irq_fds_.size()) {
            return transport::fail(-ENOSPC, at + "rx queue " + std::to_string(index / 2) + " needs MSI-X vector " +
                                                std::to_string(index / 2 + 1) + ", and the function has " +
                                                std::to_string(d_.msix_vectors()) + " vectors");
        }
        return irq_fds_[index / 2];
    }
    transport::Status device_command(uint8_t cls, uint8_t cmd, std::span<const uint8_t> data) override {
        if (!relayable(cls, cmd)) {
            return {}; // the device cannot take it: the PMD's own filter state is all there is
        }
        if (data.size() + 3 > cvq_buffer) {
            return transport::fail(-E2BIG, "control command too large for the device's control queue");
        }
        remember(cls, cmd, data);
        if (!live_ || stopped_) {
            return {}; // sent when the device runs again (driver_ok)
        }
        return send_command(cls, cmd, data);
    }

    // DRIVER_OK, with the device's control queue set up first and then brought up to date
    // with every setting the mediator holds (the device forgot them at its last reset).
    transport::Status driver_ok() override {
        if (live_ && !stopped_) {
            return {}; // queues came back from RING_RESET: the device never stopped
        }
        if (features_ & net::feature::ctrl_vq) {
            if (auto st = setup_cvq(); !st) {
                return st;
            }
        }
        d_.add_status(status::driver_ok);
        if (features_ & ring::feature::ring_reset) {
            // A queue not set up now (a deferred start) is, to the device, one just reset:
            // it may be set up and enabled while the others run.
            queue_reset_ |= ~set_up_;
        }
        live_ = true;
        stopped_ = false;
        return replay();
    }
    transport::Status reset() override {
        live_ = false;
        queue_reset_.reset();
        set_up_.reset();
        return d_.reset();
    }
    void close() override {
        if (attached_) {
            (void)d_.reset(); // leave the device reset: it stops all DMA
            attached_ = false;
        }
    }

private:
    // Commands the negotiated features let the device's control queue take.
    bool relayable(uint8_t cls, uint8_t cmd) const {
        if (!(features_ & net::feature::ctrl_vq)) {
            return false;
        }
        switch (cls) {
        case net::ctrl::rx: return features_ & net::feature::ctrl_rx;
        case net::ctrl::mac:
            return cmd == net::ctrl::mac_addr_set ? (features_ & net::feature::ctrl_mac_addr) != 0
                                                  : (features_ & net::feature::ctrl_rx) != 0;
        case net::ctrl::vlan: return features_ & net::feature::ctrl_vlan;
        case net::ctrl::mq: return features_ & net::feature::mq;
        default: return false;
        }
    }

    // The last value of each setting, in the order the device must see them again: MQ
    // first (so later commands apply to the right pairs), then RX mode, MAC, VLAN table.
    void remember(uint8_t cls, uint8_t cmd, std::span<const uint8_t> data) {
        if (cls == net::ctrl::vlan && data.size() == 2) {
            const uint16_t vid = uint16_t(data[0] | (data[1] << 8)) & 0xfff;
            vlans_.set(vid, cmd == net::ctrl::vlan_add);
            return;
        }
        settings_[{cls, cmd}] = std::vector<uint8_t>(data.begin(), data.end());
    }
    transport::Status replay() {
        for (const auto &[key, data] : settings_) {
            if (key.first == net::ctrl::mq) {
                if (auto st = send_command(key.first, key.second, data); !st) {
                    return st;
                }
            }
        }
        for (const auto &[key, data] : settings_) {
            if (key.first != net::ctrl::mq) {
                if (auto st = send_command(key.first, key.second, data); !st) {
                    return st;
                }
            }
        }
        for (uint16_t v = 0; v < 4096; ++v) {
            if (vlans_.test(v)) {
                const uint8_t d[2] = {uint8_t(v & 0xff), uint8_t(v >> 8)};
                if (auto st = send_command(net::ctrl::vlan, net::ctrl::vlan_add, d); !st) {
                    return st;
                }
            }
        }
        return {};
    }

    // The device's control queue: a ring of the negotiated layout in memory of the data DMA
    // device (the device reaches it like the data rings), laid out afresh after each reset.
    transport::Status setup_cvq() {
        const bool packed = features_ & ring::feature::ring_packed;
        const bool in_order = features_ & ring::feature::in_order;
        auto init = [&](auto tag) -> transport::Status {
            using Q = decltype(tag);
            if (cvq_mem_.va == nullptr) {
                auto m = data_dma_->alloc(ring::align_up(Q::ring_bytes(cvq_size), 4096) + cvq_buffer, 4096);
                if (!m) {
                    return transport::fail(m.error(), "no memory for the device's control queue");
                }
                cvq_mem_ = *m;
            }
            ring::QueueConfig cfg;
            cfg.size = cvq_size;
            cfg.features = features_ & (ring::feature::ring_packed | ring::feature::in_order |
                                        ring::feature::version_1);
            const size_t ring_len = ring::align_up(Q::ring_bytes(cvq_size), 4096);
            cmd_off_ = ring_len;
            auto &q = cvq_.template emplace<Q>();
            if (q.init(cfg, ring::DmaRegion{cvq_mem_.va, cvq_mem_.device_addr, ring_len}) != ring::SetupError::ok) {
                return transport::fail(-EINVAL, "cannot lay out the device's control queue");
            }
            q.disable_interrupts();
            transport::QueueSetup s;
            s.role = transport::QueueRole::control;
            s.index = cvq_index_;
            s.size = cvq_size;
            s.desc_addr = q.desc_addr();
            s.driver_area_addr = q.driver_area_addr();
            s.device_area_addr = q.device_area_addr();
            s.packed = packed;
            auto n = d_.setup_queue(s, (features_ & ring::feature::notification_data) != 0);
            if (!n) {
                return Unexpected<transport::Error>{n.error()};
            }
            cvq_notifier_ = *n;
            return d_.enable_queue(cvq_index_);
        };
        if (packed) {
            return in_order ? init(ring::PackedQueue<uint32_t, true>{}) : init(ring::PackedQueue<uint32_t, false>{});
        }
        return in_order ? init(ring::SplitQueue<uint32_t, true>{}) : init(ring::SplitQueue<uint32_t, false>{});
    }

    // One command through the device's control queue: [class, cmd, data] readable, one ack
    // byte writable; waits (bounded) for the device to use it and checks the ack.
    transport::Status send_command(uint8_t cls, uint8_t cmd, std::span<const uint8_t> data) {
        return std::visit(
            [&](auto &q) -> transport::Status {
                if constexpr (std::is_same_v<std::decay_t<decltype(q)>, std::monostate>) {
                    return transport::fail(-EIO, "the device's control queue is not set up");
                } else {
                    auto *buf = static_cast<uint8_t *>(cvq_mem_.va) + cmd_off_;
                    const uint64_t dev = cvq_mem_.device_addr + cmd_off_;
                    const uint32_t len = uint32_t(2 + data.size());
                    buf[0] = cls;
                    buf[1] = cmd;
                    std::memcpy(buf + 2, data.data(), data.size());
                    buf[len] = 0xff;
                    const ring::Segment segs[2] = {{dev, len, false}, {dev + len, 1, true}};
                    if (!q.add_chain(segs, 2, 0, ring::ChainMode::chained)) {
                        return transport::fail(-EIO, "the device's control queue is full or broken (" +
                                                         std::string(ring::to_string(q.broken())) + ")");
                    }
                    q.publish();
                    if (q.needs_notify()) {
                        cvq_notifier_.fire(q.avail_index());
                    }
                    const auto until = std::chrono::steady_clock::now() + command_timeout;
                    while (q.collect_each(1, [](uint16_t, uint32_t, uint32_t) {}) == 0) {
                        if (q.is_broken()) {
                            return transport::fail(-EIO, "the device broke its control queue: " +
                                                             std::string(ring::to_string(q.broken())));
                        }
                        if (std::chrono::steady_clock::now() > until) {
                            // The buffer stays the device's; no further command can be trusted.
                            cvq_ = std::monostate{};
                            return transport::fail(-ETIMEDOUT, "the device did not answer a control command");
                        }
                        std::this_thread::sleep_for(10us);
                    }
                    if (const uint8_t ack = *(volatile uint8_t *)(buf + len); ack != 0) {
                        return transport::fail(-EIO, "the device refused control command " + std::to_string(cls) +
                                                         "." + std::to_string(cmd) + " (ack " + std::to_string(ack) +
                                                         ")");
                    }
                    return {};
                }
            },
            cvq_);
    }

    uint16_t vector_of(const transport::QueueSetup &q) const {
        const bool routed = q.role == transport::QueueRole::rx && q.index % 2 == 0 && q.index / 2 < irq_fds_.size();
        return routed ? uint16_t(q.index / 2 + 1) : no_vector;
    }

    // After a stop: reset (if not done) and the handshake again with the same features.
    transport::Status restart() {
        if (auto st = d_.reset(); !st) {
            return st;
        }
        auto f = d_.negotiate(features_);
        if (!f) {
            return Unexpected<transport::Error>{f.error()};
        }
        live_ = false;
        stopped_ = false;
        queue_reset_.reset();
        set_up_.reset();
        return {};
    }

    std::unique_ptr<Function> f_;
    VirtioPci d_;
    std::unique_ptr<dma::DmaDevice> data_dma_;
    dma::LocalDma control_dma_;
    TransportOptions opts_;
    uint64_t features_ = 0;
    uint64_t offered_ = 0;
    uint8_t generation_ = 0;
    bool attached_ = false;
    bool live_ = false;    // DRIVER_OK given since the last (re)negotiation
    bool stopped_ = false; // queues stopped (device reset) since DRIVER_OK
    std::bitset<256> queue_reset_; // stopped by RING_RESET, to be set up again
    std::bitset<256> set_up_;      // set up since the device was last reset
    std::array<transport::Notifier, 256> notifiers_{};
    std::vector<int> irq_fds_; // rx queue q's MSI-X eventfd at [q] (the Function owns them)
    // The shadow control queue.
    uint16_t cvq_index_ = 2;
    uint16_t pairs_ = 1; // queue pairs the device config gives (device_info)
    CvqRing cvq_;
    ring::DmaRegion cvq_mem_{};
    size_t cmd_off_ = 0;
    transport::Notifier cvq_notifier_{};
    std::map<std::pair<uint8_t, uint8_t>, std::vector<uint8_t>> settings_;
    std::bitset<4096> vlans_;
};

} // namespace

transport::Result<std::unique_ptr<transport::Transport>> open_transport(std::unique_ptr<Function> f,
                                                                         std::unique_ptr<dma::DmaDevice> data_dma,
                                                                         TransportOptions o) {
    auto d = VirtioPci::open(*f);
    if (!d) {
        return Unexpected<transport::Error>{d.error()};
    }
    return std::unique_ptr<transport::Transport>(
        std::make_unique<PciTransport>(std::move(f), std::move(*d), std::move(data_dma), o));
}

} // namespace vpmd::pci
