// Mediated control queue, driver side: local memory, send with deadline, kick via eventfd.
#include "drivers/transport/mediated/control_queue.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace vpmd::mediated {

namespace {
// Polling interval while waiting for an ack: short enough that a command costs about a
// millisecond, long enough not to burn the core the mediator runs on.
constexpr auto ack_poll = std::chrono::microseconds(20);
} // namespace

std::unique_ptr<ControlQueue> ControlQueue::create(uint32_t size, uint64_t features, uint16_t max_pairs,
                                                   QueuePairsHook hook, dma::DmaDevice &dma, int *error) {
    std::unique_ptr<ControlQueue> cq(new ControlQueue());
    cq->dma_ = &dma;
    const bool packed = features & ring::feature::ring_packed;
    if (!(packed ? ring::PackedQueue<uint32_t>::valid_size(size) : ring::SplitQueue<uint32_t>::valid_size(size))) {
        *error = -EINVAL;
        return nullptr;
    }
    const size_t ring_len = ring::align_up(packed ? ring::PackedQueue<uint32_t>::ring_bytes(size)
                                                  : ring::SplitQueue<uint32_t>::ring_bytes(size),
                                           ring::cache_line);
    cq->cmd_off_ = ring_len;
    auto mem = cq->dma_->alloc(ring_len + ring::align_up(max_command_bytes + 64, 4096), 4096);
    if (!mem) {
        *error = mem.error();
        return nullptr;
    }
    cq->mem_ = *mem; // zeroed
    cq->kick_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (cq->kick_fd_ < 0) {
        *error = -errno;
        return nullptr;
    }
    const uint64_t base = cq->mem_.device_addr;
    ring::QueueConfig cfg;
    cfg.size = size;
    cfg.features = features & (ring::feature::ring_packed | ring::feature::event_idx |
                               ring::feature::version_1);
    const ring::DmaRegion region{cq->mem_.va, base, ring_len};
    ring::SetupError e;
    if (packed) {
        e = cq->ring_.emplace<ring::PackedQueue<uint32_t>>().init(cfg, region);
    } else {
        e = cq->ring_.emplace<ring::SplitQueue<uint32_t>>().init(cfg, region);
    }
    if (e != ring::SetupError::ok) {
        *error = -EINVAL;
        return nullptr;
    }
    cq->mediator_ = std::make_unique<ControlMediator>(
        cfg, cq->mem_.va, ring::ArenaTranslator{static_cast<char *>(cq->mem_.va), base, cq->mem_.len}, max_pairs,
        std::move(hook));
    cq->mediator_->start(cq->kick_fd_);
    *error = 0;
    return cq;
}

ControlQueue::~ControlQueue() {
    if (mediator_) {
        mediator_->stop();
    }
    if (kick_fd_ >= 0) {
        close(kick_fd_);
    }
    if (dma_ != nullptr) {
        dma_->free(mem_);
    }
}

int ControlQueue::send(uint8_t cls, uint8_t cmd, std::span<const uint8_t> data, std::chrono::milliseconds timeout) {
    if (data.size() > max_command_bytes - sizeof(net::CtrlHdr)) {
        return -EINVAL;
    }
    if (wedged_) {
        return -EIO;
    }
    return std::visit([&](auto &q) { return send_on(q, cls, cmd, data, timeout); }, ring_);
}

template <class Q>
int ControlQueue::send_on(Q &q, uint8_t cls, uint8_t cmd, std::span<const uint8_t> data,
                          std::chrono::milliseconds timeout) {
    auto *area = static_cast<uint8_t *>(mem_.va) + cmd_off_;
    const uint64_t base = mem_.device_addr + cmd_off_;
    area[0] = cls;
    area[1] = cmd;
    if (!data.empty()) {
        std::memcpy(area + 2, data.data(), data.size());
    }
    const size_t ack_off = ring::align_up(2 + data.size(), 8);
    area[ack_off] = net::ctrl_err;
    ring::Segment segs[3];
    uint16_t n = 0;
    segs[n++] = ring::Segment{base, 2, false};
    if (!data.empty()) {
        segs[n++] = ring::Segment{base + 2, uint32_t(data.size()), false};
    }
    segs[n++] = ring::Segment{base + ack_off, 1, true};
    const uint32_t seq = ++seq_;
    if (!q.add_chain(segs, n, seq)) {
        wedged_ = true;
        return -EIO;
    }
    q.publish();
    const uint64_t one = 1;
    (void)!write(kick_fd_, &one, sizeof(one)); // the mediator wants every kick
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    ring::Used<uint32_t> used;
    while (q.collect(&used, 1) == 0) {
        if (q.broken() != ring::Broken::none || std::chrono::steady_clock::now() >= deadline) {
            wedged_ = true; // the command may still be in the mediator's hands
            return q.broken() != ring::Broken::none ? -EIO : -ETIMEDOUT;
        }
        std::this_thread::sleep_for(ack_poll);
    }
    if (used.cookie != seq || used.len != 1) {
        wedged_ = true;
        return -EIO;
    }
    return area[ack_off] == net::ctrl_ok ? 0 : -EIO;
}

} // namespace vpmd::mediated
