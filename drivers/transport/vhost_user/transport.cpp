// VhostUserTransport: the transport seam over VhostUserDevice. Errors become the seam's
// value (negative errno + one line) here; the device has logged the detail already.
#include "drivers/transport/vhost_user/transport.hpp"

#include "dataplane/dma/eal_mem_table.hpp"
#include "dataplane/dma/local_dma.hpp"
#include "dataplane/dma/vhost_user_dma.hpp"
#include "drivers/transport/vhost_user/device.hpp"
#include "drivers/transport/vhost_user/log.hpp"

#include <rte_log.h>

#include <atomic>

namespace vpmd::vhost_user {

namespace {

using transport::QueueRole;

Unexpected<transport::Error> seam_error(const Error &e) {
    return transport::fail(to_errno(e), describe(e));
}

// The memory watch needs a process-unique name (EAL's rule for callbacks).
std::string watch_name(const std::string &path) {
    static std::atomic<uint32_t> next{0};
    return "vpmd_vu" + std::to_string(next.fetch_add(1)) + "_" + path;
}

class VhostUserTransport final : public transport::Transport {
public:
    explicit VhostUserTransport(const TransportOptions &o)
        : opts_(o), dev_(DeviceOptions{o.path, o.server ? Mode::server : Mode::client}), data_dma_(o.socket_id) {
        if (auto w = dma::MemEventWatch::create(watch_name(o.path)); w) {
            mem_watch_ = std::move(*w);
        }
    }
    ~VhostUserTransport() override { dev_.close(); }

    transport::Status listen() {
        if (auto st = dev_.listen(); !st) {
            return seam_error(st.error());
        }
        return {};
    }

    std::string_view kind() const override { return "vhost-user"; }
    std::string where() const override { return opts_.path + (opts_.server ? " (server)" : " (client)"); }

    transport::Status attach(std::chrono::milliseconds timeout) override {
        if (auto st = dev_.connect(timeout); !st) {
            return seam_error(st.error());
        }
        return {};
    }
    bool attached() const override { return dev_.connected(); }
    transport::Event wait_event(std::chrono::milliseconds timeout) override {
        // The backend never writes on the socket unasked: readable means hang-up or EOF.
        return dev_.peer_gone(timeout) ? transport::Event::lost : transport::Event::none;
    }
    bool gone() const override { return !dev_.connected() || dev_.peer_gone(std::chrono::milliseconds(0)); }
    void detach() override { dev_.disconnect(); }
    bool may_come_back() const override { return true; }

    transport::Result<uint64_t> negotiate(uint64_t wanted) override {
        auto got = dev_.negotiate(wanted);
        if (!got) {
            return seam_error(got.error());
        }
        return *got;
    }
    uint64_t offered() const override { return dev_.offered_features(); }

    transport::Result<transport::DeviceInfo> device_info() override {
        auto pairs = dev_.queue_pairs();
        if (!pairs) {
            return seam_error(pairs.error());
        }
        transport::DeviceInfo info;
        info.max_queue_pairs = *pairs;
        info.link_up = dev_.connected(); // no device config space: connected is link up
        return info;
    }

    transport::Status sync_memory() override {
        auto table = dma::collect_mem_table();
        if (!table) {
            return transport::fail(table.error(), "cannot build the vhost-user memory table");
        }
        if (table->skipped_runs != 0) {
            log(RTE_LOG_WARNING, "%s: %u EAL memory runs (%lu bytes) have no fd; buffers there are unreachable",
                opts_.path.c_str(), table->skipped_runs, (unsigned long)table->skipped_bytes);
        }
        if (auto st = dev_.set_mem_table(table->regions); !st) {
            return seam_error(st.error());
        }
        return {};
    }
    bool memory_stale() override { return mem_watch_ && mem_watch_->consume(); }
    dma::DmaDevice &dma(QueueRole role) override {
        return role == QueueRole::control ? static_cast<dma::DmaDevice &>(control_dma_) : data_dma_;
    }

    transport::Status setup_queue(const transport::QueueSetup &q) override {
        QueueSetup s;
        s.index = q.index;
        s.size = q.size;
        s.desc_addr = q.desc_addr;
        s.driver_area_addr = q.driver_area_addr;
        s.device_area_addr = q.device_area_addr;
        s.avail_base = q.avail_base;
        s.wrap_counter = q.wrap_counter;
        s.packed = q.packed;
        if (auto st = dev_.setup_queue(s); !st) {
            return seam_error(st.error());
        }
        return {};
    }
    transport::Result<transport::Notifier> notifier(uint16_t index) override {
        const int fd = dev_.kick_fd(index);
        if (fd < 0) {
            return transport::fail(-EINVAL, "vring " + std::to_string(index) + " has no kick eventfd (not set up)");
        }
        transport::Notifier n;
        n.kind = transport::Notifier::Kind::eventfd;
        n.fd = fd;
        n.queue_index = index;
        return n;
    }
    transport::Result<int> interrupt_fd(uint16_t index) override {
        auto fd = dev_.interrupt_fd(index);
        if (!fd) {
            return seam_error(fd.error());
        }
        return *fd;
    }
    transport::Status enable_queue(uint16_t index, bool enable) override {
        if (auto st = dev_.enable_queue(index, enable); !st) {
            return seam_error(st.error());
        }
        return {};
    }
    transport::Status stop_queue(uint16_t index) override {
        if (auto st = dev_.stop_queue(index); !st) {
            return seam_error(st.error());
        }
        return {};
    }
    // SET_VRING_ENABLE, with REPLY_ACK or the GET_FEATURES round trip behind it, needs
    // protocol features; GET_VRING_BASE on one ring stops DPDK's whole device.
    transport::QueueStop queue_stop() const override {
        return dev_.rings_can_be_disabled() ? transport::QueueStop::disable : transport::QueueStop::none;
    }

    // vhost-user has no control queue of its own here: MQ pairs become SET_VRING_ENABLE and
    // the rx filters are applied in the PMD.
    transport::Status device_command(uint8_t, uint8_t, std::span<const uint8_t>) override { return {}; }

    transport::Status driver_ok() override {
        if (auto st = dev_.driver_ok(); !st) {
            return seam_error(st.error());
        }
        return {};
    }
    transport::Status reset() override {
        if (auto st = dev_.reset(); !st) {
            return seam_error(st.error());
        }
        return {};
    }
    void close() override { dev_.close(); }

private:
    TransportOptions opts_;
    VhostUserDevice dev_;
    dma::VhostUserDma data_dma_;
    dma::LocalDma control_dma_; // the mediated control queue is served in this process
    std::unique_ptr<dma::MemEventWatch> mem_watch_;
};

} // namespace

transport::Result<std::unique_ptr<transport::Transport>> open_transport(const TransportOptions &opts) {
    auto t = std::make_unique<VhostUserTransport>(opts);
    if (opts.server) {
        if (auto st = t->listen(); !st) {
            return Unexpected<transport::Error>{st.error()};
        }
    }
    return std::unique_ptr<transport::Transport>(std::move(t));
}

} // namespace vpmd::vhost_user
