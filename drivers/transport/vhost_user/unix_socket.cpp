// Socket set-up; non-blocking throughout so codec.cpp's deadlines hold.
#include "drivers/transport/vhost_user/unix_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace vpmd::vhost_user {

namespace {

bool make_addr(const std::string &path, sockaddr_un &addr) {
    addr = sockaddr_un{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(addr.sun_path) || path.find('\0') != std::string::npos) {
        return false;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return true;
}

UniqueFd new_socket() {
    return UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
}

// 0 when connected, else the errno of connect().
int try_connect(int fd, const sockaddr_un &addr) {
    if (::connect(fd, reinterpret_cast<const sockaddr *>(&addr), sizeof(addr)) == 0) {
        return 0;
    }
    return errno;
}

bool retryable(int err) {
    return err == ENOENT || err == ECONNREFUSED || err == EAGAIN || err == EINTR;
}

} // namespace

Result<UniqueFd> connect_unix(const std::string &path, Deadline deadline) {
    sockaddr_un addr;
    if (!make_addr(path, addr)) {
        return fail(Errc::invalid_argument, Request::none, ENAMETOOLONG);
    }
    for (;;) {
        UniqueFd fd = new_socket();
        if (!fd.valid()) {
            return fail(Errc::io, Request::none, errno);
        }
        const int err = try_connect(fd.get(), addr);
        if (err == 0) {
            return fd;
        }
        const auto now = Clock::now();
        if (!retryable(err) || now >= deadline) {
            return fail(Errc::connect_failed, Request::none, err);
        }
        std::this_thread::sleep_for(std::min<Clock::duration>(connect_retry_interval, deadline - now));
    }
}

Result<UniqueFd> listen_unix(const std::string &path) {
    sockaddr_un addr;
    if (!make_addr(path, addr)) {
        return fail(Errc::invalid_argument, Request::none, ENAMETOOLONG);
    }
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            return fail(Errc::listen_failed, Request::none, EEXIST);
        }
        UniqueFd probe = new_socket();
        const int err = probe.valid() ? try_connect(probe.get(), addr) : errno;
        if (err == 0 || err == EAGAIN) {
            return fail(Errc::listen_failed, Request::none, EADDRINUSE);
        }
        if (err == ECONNREFUSED) {
            ::unlink(path.c_str()); // stale: its listener is gone
        }
    }
    UniqueFd fd = new_socket();
    if (!fd.valid()) {
        return fail(Errc::io, Request::none, errno);
    }
    if (::bind(fd.get(), reinterpret_cast<const sockaddr *>(&addr), sizeof(addr)) != 0 || ::listen(fd.get(), 4) != 0) {
        return fail(Errc::listen_failed, Request::none, errno);
    }
    return fd;
}

Result<UniqueFd> accept_unix(int listen_fd, Deadline deadline) {
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        pollfd p{listen_fd, POLLIN, 0};
        const int n = ::poll(&p, 1, static_cast<int>(std::clamp<int64_t>(left, 0, INT32_MAX)));
        if (n < 0 && errno != EINTR) {
            return fail(Errc::io, Request::none, errno);
        }
        if (n > 0) {
            UniqueFd fd(::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
            if (fd.valid()) {
                return fd;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
                return fail(Errc::io, Request::none, errno);
            }
        }
        if (Clock::now() >= deadline) {
            return fail(Errc::accept_timeout);
        }
    }
}

} // namespace vpmd::vhost_user
