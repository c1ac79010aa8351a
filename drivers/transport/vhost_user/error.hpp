// Errors of the vhost-user transport as values: what went wrong, on which request, and the
// system errno behind it; to_errno() gives the negative errno the PMD returns to DPDK.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vpmd/expected.hpp"
#include "drivers/transport/vhost_user/protocol.hpp"

namespace vpmd::vhost_user {

enum class Errc : uint8_t {
    invalid_argument,   // the caller asked for something impossible (index, size, path)
    not_connected,      // no connection: never made, or dropped after an earlier error
    connect_failed,     // client: nobody accepted on the path before the deadline
    listen_failed,      // server: could not bind/listen on the path (or it is in use)
    accept_timeout,     // server: no back-end connected before the deadline
    timeout,            // no complete reply in the reply timeout; the connection is dropped
    disconnected,       // the back-end closed the connection
    io,                 // socket error (sys says which)
    bad_reply,          // reply of the wrong request, flags or size; connection dropped
    nack,               // REPLY_ACK answered non-zero: the back-end refused the request
    not_supported,      // needs a feature or protocol feature that was not negotiated
    too_many_regions,   // memory table larger than the back-end accepts
    features_rejected,  // back-end cleared FEATURES_OK, or changed features on reconnect
};

std::string_view to_string(Errc e);

struct Error {
    Errc code = Errc::io;
    Request request = Request::none; // the request in flight, if any
    int sys = 0;                     // errno behind it, if any

    friend bool operator==(const Error &, const Error &) = default;
};

// "SET_MEM_TABLE: timeout (no reply within the reply timeout)" and the like, one line.
std::string describe(const Error &e);
// Negative errno: -EINVAL, -ENOTCONN, -ECONNREFUSED, -EADDRINUSE, -ETIMEDOUT,
// -ECONNRESET, -EIO, -EPROTO, -EPERM, -ENOTSUP, -E2BIG.
int to_errno(const Error &e);

template <class T>
using Result = Expected<T, Error>;
using Status = Expected<void, Error>;

[[nodiscard]] inline Unexpected<Error> fail(Errc code, Request request = Request::none, int sys = 0) {
    return Unexpected<Error>{Error{code, request, sys}};
}

} // namespace vpmd::vhost_user
