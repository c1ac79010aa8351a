// A scripted vhost-user back-end on a thread: it negotiates like a real one, records every
// request (with the inodes of the fds that came along) and can misbehave on a chosen
// request: refuse it, stall (no reply), reply with the wrong request code or the wrong
// size, close in the middle of its reply, or hang up on receipt. Unit tests of the
// front-end use it without EAL; the integration suite puts the real PMD in front of it.
#pragma once

#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "drivers/transport/vhost_user/codec.hpp"
#include "drivers/transport/vhost_user/unix_socket.hpp"

namespace vpmd::vhost_user::test {

struct FakeConfig {
    uint64_t features = (1ULL << 32) | (1ULL << 15) | f_protocol_features; // VERSION_1, MRG_RXBUF
    uint64_t protocol_features = pf::mq | pf::reply_ack | pf::status | pf::configure_mem_slots;
    uint64_t queue_num = 4;
    uint64_t max_mem_slots = 32;
    uint32_t vring_base = 0;
    uint8_t status_mask = 0xff; // GET_STATUS returns the last SET_STATUS & this
    Request nack_on = Request::none;
    Request silent_on = Request::none;  // swallow: no reply, no ack
    Request garble_on = Request::none;  // reply with a wrong request code
    Request hangup_on = Request::none;  // close the connection on receipt
    Request short_on = Request::none;   // reply with a payload shorter than the request's
    Request cut_on = Request::none;     // send half a reply, then close the connection
};

struct Received {
    Message msg;
    std::vector<ino_t> fd_inodes;
    uint64_t connection = 0; // 1 for the first connection, 2 after a reconnect, ...
};

class FakeBackend {
public:
    // listen = true: the back-end is the server (our client mode), else it connects to us.
    FakeBackend(FakeConfig cfg, std::string path, bool listen) : cfg_(cfg), path_(std::move(path)) {
        if (listen) {
            auto fd = listen_unix(path_);
            if (fd) {
                listen_fd_ = std::move(fd.value());
            }
        }
        thread_ = std::thread([this, listen] { run(listen); });
    }
    ~FakeBackend() { stop(); }

    void stop() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
        if (listen_fd_.valid()) {
            listen_fd_.reset();
            ::unlink(path_.c_str());
        }
    }
    // Closes the connection from the back-end side (a crash, as the front-end sees it).
    void hang_up() { hang_up_ = true; }
    // Changes what GET_FEATURES offers from the next request on (a different back-end).
    void offer_features(uint64_t f) { features_override_ = f; }

    [[nodiscard]] bool listening() const { return listen_fd_.valid(); }
    [[nodiscard]] std::vector<Received> received() {
        std::lock_guard lk(mu_);
        return log_;
    }
    [[nodiscard]] std::vector<Request> requests() {
        std::lock_guard lk(mu_);
        std::vector<Request> out;
        for (const auto &r : log_) {
            out.push_back(r.msg.request());
        }
        return out;
    }
    // Waits (generously) until the connection ended from either side.
    bool wait_closed(std::chrono::milliseconds t = std::chrono::seconds(10)) {
        std::unique_lock lk(mu_);
        return cv_.wait_for(lk, t, [&] { return closed_; });
    }
    bool wait_connected(std::chrono::milliseconds t = std::chrono::seconds(10)) {
        std::unique_lock lk(mu_);
        return cv_.wait_for(lk, t, [&] { return connected_; });
    }
    uint64_t connections() {
        std::lock_guard lk(mu_);
        return connections_;
    }
    // Requests of one connection, in order.
    std::vector<Received> received_on(uint64_t connection) {
        std::lock_guard lk(mu_);
        std::vector<Received> out;
        for (const auto &r : log_) {
            if (r.connection == connection) {
                out.push_back(r);
            }
        }
        return out;
    }
    // Waits until `count` requests have arrived in total.
    bool wait_requests(size_t count, std::chrono::milliseconds t = std::chrono::seconds(10)) {
        std::unique_lock lk(mu_);
        return cv_.wait_for(lk, t, [&] { return log_.size() >= count; });
    }

private:
    void run(bool listen) {
        while (!stop_) {
            UniqueFd conn;
            const Deadline d = deadline_in(std::chrono::milliseconds(50));
            if (listen) {
                if (!listen_fd_.valid()) {
                    return;
                }
                auto c = accept_unix(listen_fd_.get(), d);
                if (!c) {
                    continue;
                }
                conn = std::move(c.value());
            } else {
                auto c = connect_unix(path_, d);
                if (!c) {
                    continue;
                }
                conn = std::move(c.value());
            }
            {
                std::lock_guard lk(mu_);
                connected_ = true;
                closed_ = false;
                ++connections_;
            }
            cv_.notify_all();
            serve(conn.get());
            conn.reset();
            {
                std::lock_guard lk(mu_);
                closed_ = true;
                connected_ = false;
            }
            cv_.notify_all();
        }
    }

    void serve(int fd) {
        while (!stop_ && !hang_up_) {
            Message m;
            ReceivedFds fds;
            auto st = recv_message(fd, m, fds, deadline_in(std::chrono::milliseconds(20)));
            if (!st) {
                if (st.error().code == Errc::timeout) {
                    continue;
                }
                return;
            }
            Received r{m, {}, 0};
            {
                std::lock_guard lk(mu_);
                r.connection = connections_;
            }
            for (size_t i = 0; i < fds.count; ++i) {
                struct stat sb;
                r.fd_inodes.push_back(::fstat(fds.fds[i].get(), &sb) == 0 ? sb.st_ino : 0);
            }
            {
                std::lock_guard lk(mu_);
                log_.push_back(r);
            }
            cv_.notify_all();
            if (m.request() == cfg_.hangup_on) {
                return;
            }
            if (m.request() == cfg_.silent_on) {
                continue;
            }
            if (!answer(fd, m)) {
                return;
            }
        }
        hang_up_ = false;
    }

    // Sends the reply to m, spoiled as the configuration says for m's request; false
    // when the connection is to end.
    bool reply(int fd, const Message &m, const void *payload, uint32_t size) {
        const Request req = m.request();
        Message r = make_reply(m, payload, req == cfg_.short_on ? size / 2 : size);
        if (req == cfg_.garble_on) {
            r.hdr.request = static_cast<uint32_t>(Request::get_queue_num) + 100;
        }
        if (req == cfg_.cut_on) {
            // The header promises `size` bytes; a few come, then the connection closes.
            const size_t part = sizeof(r.hdr) + size / 2;
            std::vector<std::byte> bytes(part);
            std::memcpy(bytes.data(), &r.hdr, sizeof(r.hdr));
            std::memcpy(bytes.data() + sizeof(r.hdr), r.payload.data(), part - sizeof(r.hdr));
            (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            return false;
        }
        return static_cast<bool>(send_message(fd, r, {}, deadline_in(std::chrono::seconds(5))));
    }
    bool reply_u64(int fd, const Message &m, uint64_t v) { return reply(fd, m, &v, sizeof(v)); }

    bool answer(int fd, const Message &m) {
        switch (m.request()) {
        case Request::get_features: {
            const uint64_t o = features_override_;
            return reply_u64(fd, m, o != 0 ? o : cfg_.features);
        }
        case Request::get_protocol_features: return reply_u64(fd, m, cfg_.protocol_features);
        case Request::get_queue_num: return reply_u64(fd, m, cfg_.queue_num);
        case Request::get_max_mem_slots: return reply_u64(fd, m, cfg_.max_mem_slots);
        case Request::get_status: return reply_u64(fd, m, status_ & cfg_.status_mask);
        case Request::get_vring_base: {
            VringState s{m.read<VringState>().index, cfg_.vring_base};
            return reply(fd, m, &s, sizeof(s));
        }
        case Request::set_status: status_ = static_cast<uint8_t>(m.read<uint64_t>()); break;
        default: break;
        }
        if (m.needs_reply()) {
            return reply_u64(fd, m, m.request() == cfg_.nack_on ? 1 : 0);
        }
        return true;
    }

    FakeConfig cfg_;
    std::string path_;
    UniqueFd listen_fd_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> hang_up_{false};
    std::atomic<uint64_t> features_override_{0};
    uint8_t status_ = 0;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Received> log_;

    bool connected_ = false;
    bool closed_ = false;
    uint64_t connections_ = 0;
};

// A socket path unique to this process and test, under /tmp.
inline std::string temp_socket_path(const std::string &tag) {
    return "/tmp/vpmd-ut-" + std::to_string(::getpid()) + "-" + tag + ".sock";
}

} // namespace vpmd::vhost_user::test
