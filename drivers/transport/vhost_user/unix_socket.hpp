// Unix stream sockets for both connection modes: client connect with retry until a
// deadline, server listen (replacing only a stale socket file) and accept with a deadline.
#pragma once

#include <chrono>
#include <string>

#include "drivers/transport/vhost_user/codec.hpp"
#include "drivers/transport/vhost_user/unique_fd.hpp"

namespace vpmd::vhost_user {

// Why 50 ms: a back-end that is starting up creates its socket within a few of these, and
// a retry costs one failed connect().
inline constexpr std::chrono::milliseconds connect_retry_interval{50};

// Connects to path; while nobody listens (ENOENT, ECONNREFUSED, full backlog) retries until
// the deadline. Errors: invalid_argument (empty or too long path), connect_failed (sys:
// the last errno). The socket is non-blocking and close-on-exec.
[[nodiscard]] Result<UniqueFd> connect_unix(const std::string &path, Deadline deadline);

// Binds and listens on path. A socket file nobody accepts on is stale and replaced; a live
// socket gives listen_failed/EADDRINUSE, any other file listen_failed/EEXIST (never
// deleted).
[[nodiscard]] Result<UniqueFd> listen_unix(const std::string &path);

// Waits for one connection until the deadline: accept_timeout when none came.
[[nodiscard]] Result<UniqueFd> accept_unix(int listen_fd, Deadline deadline);

} // namespace vpmd::vhost_user
