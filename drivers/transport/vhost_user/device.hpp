// VhostUserDevice: the transport half of a virtio device whose back-end speaks vhost-user
// over a unix socket. Owns the socket and each queue's kick/call eventfds; notify() is the
// only call on the hot path.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dataplane/dma/mem_region.hpp"
#include "drivers/transport/vhost_user/codec.hpp"
#include "drivers/transport/vhost_user/error.hpp"
#include "drivers/transport/vhost_user/protocol.hpp"
#include "drivers/transport/vhost_user/unique_fd.hpp"

namespace vpmd::vhost_user {

enum class Mode : uint8_t {
    client, // we connect to a listening back-end (DPDK vhost default, QEMU's server=on)
    server, // we listen; the back-end connects (DPDK vhost RTE_VHOST_USER_CLIENT)
};

struct DeviceOptions {
    std::string path;
    Mode mode = Mode::client;
    // Why 5 s: DPDK's vhost answers in microseconds, but a back-end mmaps the whole table
    // on SET_MEM_TABLE and may populate it; seconds are the longest a sane back-end needs.
    std::chrono::milliseconds reply_timeout{5000};
    // Asked for; what is negotiated is this & supported_protocol_features & offered.
    uint64_t protocol_features = supported_protocol_features;
};

struct QueueSetup {
    uint16_t index = 0;            // vring index: rx queue q = 2q, tx queue q = 2q + 1
    uint16_t size = 0;             // descriptors (split: power of two)
    uint64_t desc_addr = 0;        // addresses are user VAs: the back-end translates them
    uint64_t driver_area_addr = 0; // split: avail ring; packed: driver event suppression
    uint64_t device_area_addr = 0; // split: used ring; packed: device event suppression
    uint16_t avail_base = 0;       // next avail index the device reads (packed: < 2^15)
    bool wrap_counter = true;      // packed: the device's wrap counter at avail_base
    bool packed = false;
};

// A stopped ring's position as the back-end reports it (GET_VRING_BASE): where it would
// have read next, and for packed rings the wrap counter that goes with it.
struct VringBase {
    uint16_t index = 0;
    bool wrap_counter = true;

    friend bool operator==(const VringBase &, const VringBase &) = default;
};

// Set-up order (what the PMD does at configure/start):
//   connect(t) -> negotiate(features) -> queue_pairs() -> set_mem_table(table)
//   -> setup_queue(q) for each vring -> enable_queue(q, true) -> driver_ok()
// DPDK's vhost reports new_device only after driver_ok() when STATUS is negotiated.
// stop: stop_queue(q) for each (returns its base) [-> reset()].
//
// Reconnect: a control thread polls socket_fd() (or calls peer_gone()); on hang-up it
// calls disconnect() (eventfds live on, so notify() stays harmless), then connect() again
// (server mode accepts the next back-end on the same listening socket) and runs the set-up
// order again, giving each queue the base it must resume from in QueueSetup::avail_base.
//
// Threads: all calls except notify() come from one control thread at a time (the PMD's
// lock). notify() may run on any lcore concurrently with them; it touches only the queue's
// kick eventfd, which lives until close().
class VhostUserDevice {
public:
    explicit VhostUserDevice(DeviceOptions opts);
    ~VhostUserDevice();
    VhostUserDevice(const VhostUserDevice &) = delete;
    VhostUserDevice &operator=(const VhostUserDevice &) = delete;

    // ---- connection -------------------------------------------------------------------
    // Server mode: binds and listens on the path now (connect() does it when not done), so
    // a back-end can be started after us. invalid_argument in client mode.
    Status listen();
    // Client: connects, retrying until the timeout. Server: waits up to the timeout for a
    // back-end. Drops an existing connection first. Negotiated state starts afresh.
    Status connect(std::chrono::milliseconds timeout);
    [[nodiscard]] bool connected() const { return sock_.valid(); }
    // Pollable by a control thread: readable or hung up when the back-end goes away (the
    // back-end never sends on this socket unasked). -1 when not connected.
    [[nodiscard]] int socket_fd() const { return sock_.get(); }
    // True if the back-end has closed the connection (waits up to `wait` for it). Only
    // peeks, never consumes. Does not drop the connection: call disconnect().
    [[nodiscard]] bool peer_gone(std::chrono::milliseconds wait = std::chrono::milliseconds{0}) const;
    // Closes the connection only; queue eventfds stay.
    void disconnect();
    // Closes everything: connection, listening socket (and unlinks its path), eventfds.
    void close();

    // ---- negotiation ------------------------------------------------------------------
    // SET_OWNER, GET_FEATURES, protocol features, SET_FEATURES and, with STATUS, the
    // FEATURES_OK handshake. Returns the negotiated virtio features (wanted & offered,
    // without the transport-only bit 30).
    Result<uint64_t> negotiate(uint64_t wanted_features);
    [[nodiscard]] uint64_t features() const { return features_; }
    [[nodiscard]] uint64_t offered_features() const { return offered_ & ~f_protocol_features; }
    [[nodiscard]] uint64_t protocol_features() const { return protocol_; }
    [[nodiscard]] bool has_protocol(uint64_t pf_bit) const { return (protocol_ & pf_bit) != 0; }
    // SET_VRING_ENABLE is there (protocol features were acked).
    [[nodiscard]] bool rings_can_be_disabled() const { return (acked_ & f_protocol_features) != 0; }
    // Queue pairs the back-end supports: GET_QUEUE_NUM with MQ, else 1.
    Result<uint32_t> queue_pairs();
    // Sends the memory table: SET_MEM_TABLE for up to 8 regions; with CONFIGURE_MEM_SLOTS
    // and more, GET_MAX_MEM_SLOTS then ADD_MEM_REG/REM_MEM_REG for the difference from
    // what the back-end has. Call again after EAL memory changed. The fds are borrowed.
    Status set_mem_table(std::span<const dma::MemRegion> regions);

    // ---- queues -----------------------------------------------------------------------
    // SET_VRING_NUM, _BASE, _ADDR, _KICK, _CALL. Creates the queue's eventfds on first use.
    Status setup_queue(const QueueSetup &q);
    // SET_VRING_ENABLE. Without protocol features rings are enabled from their kick on and
    // cannot be disabled: enable=false is then not_supported.
    Status enable_queue(uint16_t index, bool enable);
    // GET_VRING_BASE: the back-end stops the ring and reports its position. A stopped
    // queue needs setup_queue() again to run.
    Result<VringBase> stop_queue(uint16_t index);
    // Hot path: kicks the back-end for vring index. Never blocks; unchecked index (< 256).
    void notify(uint16_t index) noexcept {
        const uint64_t one = 1;
        [[maybe_unused]] const ssize_t n = ::write(kick_[index].get(), &one, sizeof(one));
    }
    [[nodiscard]] int kick_fd(uint16_t index) const { return index < max_vrings ? kick_[index].get() : -1; }
    // The back-end signals used buffers here (interrupt mode); -1 before setup_queue().
    [[nodiscard]] int call_fd(uint16_t index) const { return index < max_vrings ? call_[index].get() : -1; }
    // The call eventfd of vring `index`, made now if need be: the same fd is sent with
    // every SET_VRING_CALL until close(), so an application's epoll set stays valid.
    Result<int> interrupt_fd(uint16_t index);

    // ---- device status ----------------------------------------------------------------
    // SET_STATUS / GET_STATUS: not_supported unless STATUS was negotiated.
    Status set_status(uint8_t status);
    Result<uint8_t> get_status();
    // With STATUS: ACKNOWLEDGE|DRIVER|FEATURES_OK|DRIVER_OK. Without: nothing to send.
    Status driver_ok();
    // RESET_DEVICE if negotiated, else RESET_OWNER; forgets queue set-up and status.
    Status reset();

    [[nodiscard]] const DeviceOptions &options() const { return opts_; }

private:
    Status send(const Message &m, std::span<const int> fds);
    Status receive(Message &m, Request awaiting);
    // A request without a reply of its own: with REPLY_ACK waits for the ack.
    Status request(Message m, std::span<const int> fds = {});
    // A request with a reply: returns it checked for request code.
    Result<Message> call(const Message &m);
    Result<uint64_t> call_u64(Request r);
    // Logs e once and, when it leaves the stream unusable (timeout, hang-up, socket error,
    // malformed reply), drops the connection so no later request reads a stale reply.
    Unexpected<Error> failed(const Error &e);
    Status send_table(std::span<const dma::MemRegion> regions);
    Status update_slots(std::span<const dma::MemRegion> regions);
    Status ensure_eventfds(uint16_t index);
    Status check_queue(uint16_t index) const;
    Status require_connection(Request r) const;

    DeviceOptions opts_;
    UniqueFd sock_;
    UniqueFd listen_sock_;
    bool owns_path_ = false; // we created the socket file: unlink it on close()

    // Negotiated state of the current connection.
    uint64_t offered_ = 0;
    uint64_t acked_ = 0;    // what SET_FEATURES carried (with bit 30 when offered)
    uint64_t features_ = 0; // acked_ without bit 30
    uint64_t protocol_ = 0;
    uint32_t max_slots_ = 0;
    bool slot_mode_ = false;
    std::vector<dma::MemRegion> sent_regions_;

    std::array<bool, max_vrings> packed_{}; // each queue's layout, to decode its base

    std::array<UniqueFd, max_vrings> kick_;
    std::array<UniqueFd, max_vrings> call_;
};

} // namespace vpmd::vhost_user
