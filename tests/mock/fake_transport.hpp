// Test-only transport: a scripted device behind the transport seam that records every call
// (the test keeps a handle on its state after the port takes the transport), with doorbells
// in plain memory as its MMIO notifiers and a DMA device whose addresses are not VAs. No
// EAL, no socket, no hardware.
#pragma once

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dataplane/dma/local_dma.hpp"
#include "drivers/transport/transport.hpp"

namespace vpmd::test {

// Device address = VA + offset: far above any user VA (< 2^47), so a VA posted to this
// device is never mistaken for one of its addresses.
inline constexpr uint64_t offset_dma_base = 1ULL << 52;

// A DMA device in IOVA mode whose device addresses differ from our pointers.
class OffsetDma final : public dma::DmaDevice {
public:
    OffsetDma() : DmaDevice(dma::AddrMode::iova) {}
    std::string_view name() const override { return "offset"; }
    // LocalDma's memory, at other addresses.
    Expected<ring::DmaRegion, int> alloc(size_t len, size_t align) override {
        auto r = local_.alloc(len, align);
        if (r) {
            r->device_addr = to_device(r->va);
        }
        return r;
    }
    void free(const ring::DmaRegion &r) override { local_.free(r); }
    Expected<uint64_t, int> translate(const void *va, size_t len) const override {
        if (va == nullptr || len == 0) {
            return unexpected(-EFAULT);
        }
        return to_device(va);
    }
    static uint64_t to_device(const void *va) { return uint64_t(reinterpret_cast<uintptr_t>(va)) + offset_dma_base; }

private:
    dma::LocalDma local_;
};

struct FakeDeviceState {
    // What the device offers and does.
    uint64_t offered = 0;
    uint32_t max_pairs = 4;
    bool present = true;        // attach() succeeds
    bool comes_back = true;     // may_come_back()
    bool gone = false;          // gone(): confirms a loss
    bool refuse_reset = false;
    int fail_setup_index = -1;  // setup_queue of this index fails
    bool memory_stale = false;
    transport::QueueStop stop_mode = transport::QueueStop::reset;
    std::optional<bool> link_up;
    std::deque<transport::Event> events; // wait_event() pops one per call

    // What the driver did.
    bool attached = false;
    std::vector<std::string> calls;
    std::vector<transport::QueueSetup> setups;
    std::map<uint16_t, bool> enabled;
    uint64_t wanted = 0;
    uint16_t doorbells[64] = {};

    // What the device hands out.
    OffsetDma data_dma;
    dma::LocalDma control_dma;

    size_t count(const std::string &call) const {
        size_t n = 0;
        for (const auto &c : calls) {
            n += c == call;
        }
        return n;
    }
};

class FakeTransport final : public transport::Transport {
public:
    explicit FakeTransport(std::shared_ptr<FakeDeviceState> s) : s_(std::move(s)) {}

    std::string_view kind() const override { return "fake"; }
    std::string where() const override { return "test"; }

    transport::Status attach(std::chrono::milliseconds) override {
        s_->calls.push_back("attach");
        if (!s_->present) {
            return transport::fail(-ECONNREFUSED, "no device");
        }
        s_->attached = true;
        s_->gone = false;
        return {};
    }
    bool attached() const override { return s_->attached; }
    transport::Event wait_event(std::chrono::milliseconds timeout) override {
        if (s_->events.empty()) {
            // Waits a little, as a real device would, so a watcher thread does not spin.
            std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(2)));
            return transport::Event::none;
        }
        const transport::Event e = s_->events.front();
        s_->events.pop_front();
        return e;
    }
    bool gone() const override { return s_->gone; }
    void detach() override {
        s_->calls.push_back("detach");
        s_->attached = false;
    }
    bool may_come_back() const override { return s_->comes_back; }

    transport::Result<uint64_t> negotiate(uint64_t wanted) override {
        s_->calls.push_back("negotiate");
        s_->wanted = wanted;
        return wanted & s_->offered;
    }
    uint64_t offered() const override { return s_->offered; }
    transport::Result<transport::DeviceInfo> device_info() override {
        transport::DeviceInfo i;
        i.max_queue_pairs = s_->max_pairs;
        i.link_up = s_->link_up;
        return i;
    }
    transport::Status sync_memory() override {
        s_->calls.push_back("sync_memory");
        return {};
    }
    bool memory_stale() override { return std::exchange(s_->memory_stale, false); }
    dma::DmaDevice &dma(transport::QueueRole role) override {
        return role == transport::QueueRole::control ? static_cast<dma::DmaDevice &>(s_->control_dma) : s_->data_dma;
    }
    transport::Status setup_queue(const transport::QueueSetup &q) override {
        s_->calls.push_back("setup " + std::to_string(q.index));
        if (q.index == s_->fail_setup_index) {
            return transport::fail(-EIO, "setup refused");
        }
        s_->setups.push_back(q);
        return {};
    }
    transport::Result<transport::Notifier> notifier(uint16_t index) override {
        transport::Notifier n;
        n.kind = transport::Notifier::Kind::mmio;
        n.queue_index = index;
        n.addr = &s_->doorbells[index];
        return n;
    }
    transport::Status enable_queue(uint16_t index, bool enable) override {
        s_->calls.push_back((enable ? "enable " : "disable ") + std::to_string(index));
        s_->enabled[index] = enable;
        return {};
    }
    transport::Status stop_queue(uint16_t index) override {
        s_->calls.push_back("stop " + std::to_string(index));
        return {};
    }
    transport::QueueStop queue_stop() const override { return s_->stop_mode; }
    transport::Result<int> interrupt_fd(uint16_t) override { return transport::fail(-ENOTSUP, "fake: no interrupts"); }
    transport::Status device_command(uint8_t cls, uint8_t cmd, std::span<const uint8_t>) override {
        s_->calls.push_back("command " + std::to_string(cls) + "." + std::to_string(cmd));
        return {};
    }
    transport::Status driver_ok() override {
        s_->calls.push_back("driver_ok");
        return {};
    }
    transport::Status reset() override {
        s_->calls.push_back("reset");
        if (s_->refuse_reset) {
            return transport::fail(-EIO, "reset refused");
        }
        return {};
    }
    void close() override { s_->calls.push_back("close"); }

private:
    std::shared_ptr<FakeDeviceState> s_;
};

} // namespace vpmd::test
