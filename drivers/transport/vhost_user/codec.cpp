// Message encoding and the socket I/O under it. Every wait is a poll() bounded by the
// caller's deadline, so a silent or half-written peer yields timeout, never a hang.
#include "drivers/transport/vhost_user/codec.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace vpmd::vhost_user {

namespace {

Message with_size(Request r, uint32_t size) {
    Message m;
    m.hdr = Header{static_cast<uint32_t>(r), flag_version, size};
    return m;
}

WireRegion to_wire(const dma::MemRegion &r) {
    return WireRegion{r.guest_phys_addr, r.size, r.userspace_addr, r.mmap_offset};
}

Status check_request_size(const Message &m, uint32_t size) {
    if (m.hdr.size != size) {
        return fail(Errc::bad_reply, m.request());
    }
    return {};
}

int remaining_ms(Deadline deadline) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::clamp<int64_t>(left, 0, INT32_MAX));
}

// Waits until sock is ready for events or the deadline passes.
Status wait_ready(int sock, short events, Deadline deadline, Request r) {
    for (;;) {
        pollfd p{sock, events, 0};
        const int n = ::poll(&p, 1, remaining_ms(deadline));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(Errc::io, r, errno);
        }
        if (n == 0) {
            return fail(Errc::timeout, r);
        }
        if ((p.revents & events) != 0) {
            // Readable includes "EOF pending": recv() will say so.
            return {};
        }
        if ((p.revents & (POLLHUP | POLLERR)) != 0) {
            return fail(Errc::disconnected, r);
        }
        if ((p.revents & POLLNVAL) != 0) {
            return fail(Errc::not_connected, r, EBADF);
        }
    }
}

Errc errc_of(int err) {
    return (err == EPIPE || err == ECONNRESET || err == ENOTCONN) ? Errc::disconnected : Errc::io;
}

// Takes the SCM_RIGHTS fds out of a received control buffer; false if they did not all fit.
bool take_fds(msghdr &mh, ReceivedFds &fds) {
    bool ok = (mh.msg_flags & MSG_CTRUNC) == 0;
    for (cmsghdr *c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        const size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (fds.count < max_fds) {
                fds.fds[fds.count++].reset(fd);
            } else {
                ::close(fd);
                ok = false;
            }
        }
    }
    return ok;
}

// Reads exactly len bytes; the first recvmsg also collects fds when want_fds.
Status recv_exact(int sock, std::byte *buf, size_t len, ReceivedFds *fds, Deadline deadline, Request r) {
    size_t got = 0;
    while (got < len) {
        if (auto st = wait_ready(sock, POLLIN, deadline, r); !st) {
            return st;
        }
        iovec iov{buf + got, len - got};
        alignas(cmsghdr) char control[CMSG_SPACE(max_fds * sizeof(int))];
        msghdr mh{};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        if (fds != nullptr) {
            mh.msg_control = control;
            mh.msg_controllen = sizeof(control);
        }
        const ssize_t n = ::recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                continue;
            }
            return fail(errc_of(errno), r, errno);
        }
        if (n == 0) {
            return fail(Errc::disconnected, r);
        }
        if (fds != nullptr && !take_fds(mh, *fds)) {
            return fail(Errc::bad_reply, r, EMSGSIZE);
        }
        got += static_cast<size_t>(n);
    }
    return {};
}

} // namespace

Message encode(Request r) {
    return with_size(r, 0);
}

Message encode_u64(Request r, uint64_t value) {
    Message m = with_size(r, sizeof(uint64_t));
    m.write(value);
    return m;
}

Message encode_state(Request r, VringState state) {
    Message m = with_size(r, sizeof(VringState));
    m.write(state);
    return m;
}

Message encode_addr(const VringAddr &addr) {
    Message m = with_size(Request::set_vring_addr, sizeof(VringAddr));
    m.write(addr);
    return m;
}

Message encode_vring_file(Request r, uint32_t index, bool has_fd) {
    const uint64_t v = (index & vring_index_mask) | (has_fd ? 0 : vring_nofd);
    return encode_u64(r, v);
}

Result<Message> encode_mem_table(std::span<const dma::MemRegion> regions) {
    if (regions.size() > max_table_regions) {
        return fail(Errc::invalid_argument, Request::set_mem_table);
    }
    const auto n = static_cast<uint32_t>(regions.size());
    Message m = with_size(Request::set_mem_table, static_cast<uint32_t>(mem_table_prefix + n * sizeof(WireRegion)));
    m.write(n, 0);
    m.write(uint32_t{0}, sizeof(uint32_t));
    for (uint32_t i = 0; i < n; ++i) {
        m.write(to_wire(regions[i]), mem_table_prefix + i * sizeof(WireRegion));
    }
    return m;
}

Message encode_mem_reg(Request r, const dma::MemRegion &region) {
    Message m = with_size(r, mem_reg_size);
    m.write(uint64_t{0}, 0);
    m.write(to_wire(region), sizeof(uint64_t));
    return m;
}

Status check_reply(const Message &m, Request expected, uint32_t expected_size) {
    const bool ok = (m.hdr.flags & flag_version_mask) == flag_version && (m.hdr.flags & flag_reply) != 0 &&
                    m.request() == expected && m.hdr.size == expected_size;
    if (!ok) {
        return fail(Errc::bad_reply, expected);
    }
    return {};
}

Result<uint64_t> decode_u64_reply(const Message &m, Request expected) {
    if (auto st = check_reply(m, expected, sizeof(uint64_t)); !st) {
        return unexpected(st.error());
    }
    return m.read<uint64_t>();
}

Result<VringState> decode_state_reply(const Message &m, Request expected) {
    if (auto st = check_reply(m, expected, sizeof(VringState)); !st) {
        return unexpected(st.error());
    }
    return m.read<VringState>();
}

Result<uint64_t> decode_u64(const Message &m) {
    if (auto st = check_request_size(m, sizeof(uint64_t)); !st) {
        return unexpected(st.error());
    }
    return m.read<uint64_t>();
}

Result<VringState> decode_state(const Message &m) {
    if (auto st = check_request_size(m, sizeof(VringState)); !st) {
        return unexpected(st.error());
    }
    return m.read<VringState>();
}

Result<VringAddr> decode_addr(const Message &m) {
    if (auto st = check_request_size(m, sizeof(VringAddr)); !st) {
        return unexpected(st.error());
    }
    return m.read<VringAddr>();
}

Result<std::vector<WireRegion>> decode_mem_table(const Message &m) {
    if (m.hdr.size < mem_table_prefix) {
        return fail(Errc::bad_reply, m.request());
    }
    const auto n = m.read<uint32_t>(0);
    if (n > max_table_regions || m.hdr.size != mem_table_prefix + n * sizeof(WireRegion)) {
        return fail(Errc::bad_reply, m.request());
    }
    std::vector<WireRegion> out(n);
    for (uint32_t i = 0; i < n; ++i) {
        out[i] = m.read<WireRegion>(mem_table_prefix + i * sizeof(WireRegion));
    }
    return out;
}

Result<WireRegion> decode_mem_reg(const Message &m) {
    if (auto st = check_request_size(m, mem_reg_size); !st) {
        return unexpected(st.error());
    }
    return m.read<WireRegion>(sizeof(uint64_t));
}

Message make_reply(const Message &m, const void *payload, uint32_t size) {
    Message r = with_size(m.request(), std::min<uint32_t>(size, max_payload));
    r.hdr.flags = flag_version | flag_reply;
    std::memcpy(r.payload.data(), payload, r.hdr.size);
    return r;
}

Status send_message(int sock, const Message &m, std::span<const int> fds, Deadline deadline) {
    const Request r = m.request();
    if (fds.size() > max_fds || m.hdr.size > max_payload) {
        return fail(Errc::invalid_argument, r);
    }
    // Header and payload are contiguous in Message (Header is 12 bytes, payload bytes).
    static_assert(offsetof(Message, payload) == sizeof(Header));
    const auto *bytes = reinterpret_cast<const std::byte *>(&m);
    const size_t total = sizeof(Header) + m.hdr.size;
    size_t sent = 0;
    bool fds_sent = fds.empty();
    while (sent < total) {
        if (auto st = wait_ready(sock, POLLOUT, deadline, r); !st) {
            return st;
        }
        iovec iov{const_cast<std::byte *>(bytes + sent), total - sent};
        alignas(cmsghdr) char control[CMSG_SPACE(max_fds * sizeof(int))]{};
        msghdr mh{};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        if (!fds_sent) {
            mh.msg_control = control;
            mh.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
            cmsghdr *c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
            std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
        }
        const ssize_t n = ::sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                continue;
            }
            return fail(errc_of(errno), r, errno);
        }
        // The kernel attaches the fds to the first byte sent; later chunks go without.
        fds_sent = true;
        sent += static_cast<size_t>(n);
    }
    return {};
}

Status recv_message(int sock, Message &m, ReceivedFds &fds, Deadline deadline, Request awaiting) {
    fds.clear();
    auto *hdr = reinterpret_cast<std::byte *>(&m.hdr);
    Status st = recv_exact(sock, hdr, sizeof(Header), &fds, deadline, awaiting);
    if (st && ((m.hdr.flags & flag_version_mask) != flag_version || m.hdr.size > max_payload)) {
        st = fail(Errc::bad_reply, awaiting);
    }
    if (st && m.hdr.size != 0) {
        st = recv_exact(sock, m.payload.data(), m.hdr.size, nullptr, deadline, awaiting);
    }
    if (!st) {
        fds.clear();
    }
    return st;
}

} // namespace vpmd::vhost_user
