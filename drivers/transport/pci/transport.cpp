// PciTransport: the transport seam over VirtioPci. A virtio-pci queue cannot be set up
// again while the device runs, so stopping queues resets the device and brings it back to
// FEATURES_OK with the same features: the next setup_queue finds it ready.
#include "drivers/transport/pci/transport.hpp"

#include <array>
#include <thread>

#include "dataplane/dma/local_dma.hpp"
#include "dataplane/net/virtio_net.hpp"
#include "dataplane/ring/layout.hpp"
#include "drivers/transport/pci/virtio_pci.hpp"

namespace vpmd::pci {

namespace {

using namespace std::chrono_literals;

// Bits the transport negotiates for itself when the device offers them.
constexpr uint64_t transport_bits = ring::feature::access_platform | ring::feature::notification_data |
                                    net::feature::status | net::feature::mac | net::feature::mtu;
// Not offered to the device yet: MQ needs the device's own control queue (CTRL_VQ), which
// the mediated control queue does not relay to yet; one queue pair until it does.
constexpr uint64_t withheld_bits = net::feature::mq | net::feature::ctrl_vq;
constexpr auto event_poll = 10ms;

class PciTransport final : public transport::Transport {
public:
    PciTransport(std::unique_ptr<Function> f, VirtioPci d, std::unique_ptr<dma::DmaDevice> data_dma, TransportOptions o)
        : f_(std::move(f)), d_(std::move(d)), data_dma_(std::move(data_dma)), opts_(o) {}
    ~PciTransport() override { close(); }

    std::string_view kind() const override { return "virtio-pci"; }
    std::string where() const override { return f_->address(); }

    transport::Status attach(std::chrono::milliseconds) override {
        if (auto st = d_.reset(); !st) {
            return st;
        }
        attached_ = true;
        live_ = false;
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
    }
    bool may_come_back() const override { return true; } // attach() resets and starts over

    transport::Result<uint64_t> negotiate(uint64_t wanted) override {
        const uint64_t offered = d_.device_features();
        if (opts_.need_access_platform && !(offered & ring::feature::access_platform)) {
            return transport::fail(-ENOTSUP, f_->address() + ": device does not offer ACCESS_PLATFORM, so it would "
                                                             "bypass the IOMMU, while buffers are given by IOVA");
        }
        auto f = d_.negotiate((wanted & ~withheld_bits) | (offered & transport_bits));
        if (!f) {
            return f;
        }
        features_ = *f;
        return *f;
    }
    transport::Result<transport::DeviceInfo> device_info() override {
        auto c = d_.read_net_config(features_);
        if (!c) {
            return Unexpected<transport::Error>{c.error()};
        }
        transport::DeviceInfo i;
        i.max_queue_pairs = 1; // see withheld_bits
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
        if (live_) { // queues were stopped: the device went through reset; bring it back
            if (auto st = restart(); !st) {
                return st;
            }
        }
        auto n = d_.setup_queue(q, (features_ & ring::feature::notification_data) != 0);
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
    transport::Status stop_queue(uint16_t) override {
        if (live_ && !stopped_) {
            stopped_ = true; // one reset stops every queue
            return d_.reset();
        }
        return {};
    }

    transport::Status driver_ok() override {
        d_.add_status(status::driver_ok);
        live_ = true;
        stopped_ = false;
        return {};
    }
    transport::Status reset() override {
        live_ = false;
        return d_.reset();
    }
    void close() override {
        if (attached_) {
            (void)d_.reset(); // leave the device reset: it stops all DMA
            attached_ = false;
        }
    }

private:
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
        return {};
    }

    std::unique_ptr<Function> f_;
    VirtioPci d_;
    std::unique_ptr<dma::DmaDevice> data_dma_;
    dma::LocalDma control_dma_;
    TransportOptions opts_;
    uint64_t features_ = 0;
    uint8_t generation_ = 0;
    bool attached_ = false;
    bool live_ = false;    // DRIVER_OK given since the last (re)negotiation
    bool stopped_ = false; // queues stopped (device reset) since DRIVER_OK
    std::array<transport::Notifier, 256> notifiers_{};
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
