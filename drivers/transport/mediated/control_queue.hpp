// Driver side of the mediated control virtqueue: a ring in local memory, commands sent
// through the ring core's driver view, served by a ControlMediator on its own thread.
// Every command has a deadline; a command that times out gives -ETIMEDOUT and leaves the
// queue refusing further commands (its buffer may still be in the device's hands).
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <variant>

#include "dataplane/dma/dma_device.hpp"
#include "drivers/transport/mediated/control_mediator.hpp"

namespace vpmd::mediated {

class ControlQueue {
public:
    // size: ring size; features: the ring-relevant negotiated bits (packed, event idx ...);
    // dma: where the ring and command buffers live (the transport's control-queue DMA
    // device; it must outlive the queue). The mediator reaches them in this process.
    static std::unique_ptr<ControlQueue> create(uint32_t size, uint64_t features, uint16_t max_pairs,
                                                QueuePairsHook hook, dma::DmaDevice &dma, int *error);
    ~ControlQueue();
    ControlQueue(const ControlQueue &) = delete;
    ControlQueue &operator=(const ControlQueue &) = delete;

    // Sends one command and waits for the ack. 0 on ack, -EIO on nack or a broken queue,
    // -ETIMEDOUT when nothing came back in time, -EINVAL for oversized data.
    int send(uint8_t cls, uint8_t cmd, std::span<const uint8_t> data,
             std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));

    ControlMediator &mediator() { return *mediator_; }
    bool usable() const { return !wedged_; }

private:
    ControlQueue() = default;
    template <class Q>
    int send_on(Q &q, uint8_t cls, uint8_t cmd, std::span<const uint8_t> data, std::chrono::milliseconds timeout);

    // Memory of the control-queue DMA device (the mediator is the only consumer):
    // [ring | command | ack].
    dma::DmaDevice *dma_ = nullptr;
    ring::DmaRegion mem_{};
    size_t cmd_off_ = 0;
    std::variant<ring::SplitQueue<uint32_t>, ring::PackedQueue<uint32_t>> ring_;
    std::unique_ptr<ControlMediator> mediator_;
    int kick_fd_ = -1;
    uint32_t seq_ = 0;
    bool wedged_ = false;
};

} // namespace vpmd::mediated
