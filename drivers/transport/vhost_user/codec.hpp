// vhost-user messages: encoding and decoding of payloads (pure), and sending/receiving whole
// messages with SCM_RIGHTS fds on a non-blocking unix stream socket, bounded by a deadline.
#pragma once

#include <array>
#include <chrono>
#include <cstring>
#include <span>
#include <vector>

#include "dataplane/dma/mem_region.hpp"
#include "drivers/transport/vhost_user/error.hpp"
#include "drivers/transport/vhost_user/protocol.hpp"
#include "drivers/transport/vhost_user/unique_fd.hpp"

namespace vpmd::vhost_user {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

[[nodiscard]] inline Deadline deadline_in(std::chrono::milliseconds ms) {
    return Clock::now() + ms;
}

struct Message {
    Header hdr{};
    std::array<std::byte, max_payload> payload{};

    [[nodiscard]] Request request() const { return static_cast<Request>(hdr.request); }
    [[nodiscard]] bool needs_reply() const { return (hdr.flags & flag_need_reply) != 0; }

    // Payload access by value (the payload is bytes; no aliasing through casts).
    template <class T>
    [[nodiscard]] T read(size_t offset = 0) const {
        T v;
        std::memcpy(&v, payload.data() + offset, sizeof(T));
        return v;
    }
    template <class T>
    void write(const T &v, size_t offset = 0) {
        std::memcpy(payload.data() + offset, &v, sizeof(T));
    }
};

// fds that arrived with a message; closed unless the receiver takes them.
struct ReceivedFds {
    std::array<UniqueFd, max_fds> fds;
    size_t count = 0;

    void clear() {
        for (size_t i = 0; i < count; ++i) {
            fds[i].reset();
        }
        count = 0;
    }
};

// Front-end side encoders. Each sets version 1; REPLY_ACK callers add flag_need_reply.
[[nodiscard]] Message encode(Request r);
[[nodiscard]] Message encode_u64(Request r, uint64_t value);
[[nodiscard]] Message encode_state(Request r, VringState state);
[[nodiscard]] Message encode_addr(const VringAddr &addr);
// SET_VRING_KICK / SET_VRING_CALL: has_fd false sets the "no fd" bit (polling).
[[nodiscard]] Message encode_vring_file(Request r, uint32_t index, bool has_fd);
// invalid_argument above max_table_regions regions.
[[nodiscard]] Result<Message> encode_mem_table(std::span<const dma::MemRegion> regions);
// ADD_MEM_REG or REM_MEM_REG for one region.
[[nodiscard]] Message encode_mem_reg(Request r, const dma::MemRegion &region);

// Reply checks: version 1, the reply flag, the request we sent, the size we expect.
// Failures are bad_reply carrying `expected`.
[[nodiscard]] Status check_reply(const Message &m, Request expected, uint32_t expected_size);
[[nodiscard]] Result<uint64_t> decode_u64_reply(const Message &m, Request expected);
[[nodiscard]] Result<VringState> decode_state_reply(const Message &m, Request expected);

// Back-end side decoders (tests, fake devices): payload size checked, bad_reply otherwise.
[[nodiscard]] Result<uint64_t> decode_u64(const Message &m);
[[nodiscard]] Result<VringState> decode_state(const Message &m);
[[nodiscard]] Result<VringAddr> decode_addr(const Message &m);
[[nodiscard]] Result<std::vector<WireRegion>> decode_mem_table(const Message &m);
[[nodiscard]] Result<WireRegion> decode_mem_reg(const Message &m);
// A reply to m carrying payload bytes (back-end side).
[[nodiscard]] Message make_reply(const Message &m, const void *payload, uint32_t size);

// Sends header + payload (and fds with the first byte). sock must be non-blocking.
// Errors: timeout, disconnected (EPIPE/ECONNRESET), io; request = m's request.
[[nodiscard]] Status send_message(int sock, const Message &m, std::span<const int> fds, Deadline deadline);
// Receives one whole message. Errors: timeout, disconnected (EOF/reset), io, bad_reply
// (payload above max_payload, bad version, too many or truncated fds). After any error
// the stream position is unknown: the caller drops the connection.
[[nodiscard]] Status recv_message(int sock, Message &m, ReceivedFds &fds, Deadline deadline,
                                  Request awaiting = Request::none);

} // namespace vpmd::vhost_user
