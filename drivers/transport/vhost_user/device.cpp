// VhostUserDevice: the request sequences of the vhost-user front-end on top of codec.cpp,
// and the bookkeeping they need (memory table sent, each queue's layout).
#include "drivers/transport/vhost_user/device.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>

#include <rte_log.h>

#include "drivers/transport/vhost_user/log.hpp"
#include "drivers/transport/vhost_user/unix_socket.hpp"

namespace vpmd::vhost_user {

namespace {

bool stream_error(Errc e) {
    return e == Errc::timeout || e == Errc::disconnected || e == Errc::io || e == Errc::bad_reply;
}

bool valid_queue_size(const QueueSetup &q) {
    if (q.size == 0 || q.size > 32768) {
        return false;
    }
    return q.packed || (q.size & (q.size - 1)) == 0;
}

} // namespace

VhostUserDevice::VhostUserDevice(DeviceOptions opts) : opts_(std::move(opts)) {}

VhostUserDevice::~VhostUserDevice() {
    close();
}

Unexpected<Error> VhostUserDevice::failed(const Error &e) {
    log(RTE_LOG_ERR, "%s: %s", opts_.path.c_str(), describe(e).c_str());
    if (stream_error(e.code) && sock_.valid()) {
        log(RTE_LOG_ERR, "%s: dropping the connection", opts_.path.c_str());
        sock_.reset();
    }
    return Unexpected<Error>{e};
}

// ---- connection -----------------------------------------------------------------------

Status VhostUserDevice::listen() {
    if (opts_.mode != Mode::server) {
        return failed(Error{Errc::invalid_argument});
    }
    if (listen_sock_.valid()) {
        return {};
    }
    auto fd = listen_unix(opts_.path);
    if (!fd) {
        return failed(fd.error());
    }
    listen_sock_ = std::move(fd.value());
    owns_path_ = true;
    log(RTE_LOG_INFO, "%s: listening for a vhost-user back-end", opts_.path.c_str());
    return {};
}

Status VhostUserDevice::connect(std::chrono::milliseconds timeout) {
    disconnect();
    offered_ = acked_ = features_ = protocol_ = 0;
    max_slots_ = 0;
    slot_mode_ = false;
    sent_regions_.clear();

    const Deadline deadline = deadline_in(timeout);
    Result<UniqueFd> fd = UniqueFd{};
    if (opts_.mode == Mode::client) {
        fd = connect_unix(opts_.path, deadline);
    } else {
        if (auto st = listen(); !st) {
            return st;
        }
        fd = accept_unix(listen_sock_.get(), deadline);
    }
    if (!fd) {
        return failed(fd.error());
    }
    sock_ = std::move(fd.value());
    log(RTE_LOG_INFO, "%s: connected (%s mode)", opts_.path.c_str(),
        opts_.mode == Mode::client ? "client" : "server");
    return {};
}

bool VhostUserDevice::peer_gone(std::chrono::milliseconds wait) const {
    if (!sock_.valid()) {
        return true;
    }
    pollfd p{sock_.get(), POLLIN | POLLRDHUP, 0};
    int n;
    do {
        n = ::poll(&p, 1, static_cast<int>(wait.count()));
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        return false;
    }
    if ((p.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL)) != 0) {
        return true;
    }
    // Readable without a request in flight: either EOF or stray bytes; peek to tell.
    char byte;
    const ssize_t got = ::recv(sock_.get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void VhostUserDevice::disconnect() {
    if (sock_.valid()) {
        log(RTE_LOG_INFO, "%s: disconnected", opts_.path.c_str());
    }
    sock_.reset();
}

void VhostUserDevice::close() {
    disconnect();
    if (listen_sock_.valid()) {
        listen_sock_.reset();
    }
    if (owns_path_) {
        ::unlink(opts_.path.c_str());
        owns_path_ = false;
    }
    for (uint32_t i = 0; i < max_vrings; ++i) {
        kick_[i].reset();
        call_[i].reset();
        packed_[i] = false;
    }
}

// ---- messaging ------------------------------------------------------------------------

Status VhostUserDevice::require_connection(Request r) const {
    if (!sock_.valid()) {
        return fail(Errc::not_connected, r);
    }
    return {};
}

Status VhostUserDevice::send(const Message &m, std::span<const int> fds) {
    if (auto st = require_connection(m.request()); !st) {
        return failed(st.error());
    }
    log(RTE_LOG_DEBUG, "%s: send %s size %u fds %zu", opts_.path.c_str(), std::string(to_string(m.request())).c_str(),
        m.hdr.size, fds.size());
    if (auto st = send_message(sock_.get(), m, fds, deadline_in(opts_.reply_timeout)); !st) {
        return failed(st.error());
    }
    return {};
}

Status VhostUserDevice::receive(Message &m, Request awaiting) {
    ReceivedFds fds; // a reply carries no fds here: any that came are closed on return
    if (auto st = recv_message(sock_.get(), m, fds, deadline_in(opts_.reply_timeout), awaiting); !st) {
        return failed(st.error());
    }
    return {};
}

Status VhostUserDevice::request(Message m, std::span<const int> fds) {
    const bool ack = has_protocol(pf::reply_ack);
    if (ack) {
        m.hdr.flags |= flag_need_reply;
    }
    if (auto st = send(m, fds); !st) {
        return st;
    }
    if (!ack) {
        return {};
    }
    Message reply;
    if (auto st = receive(reply, m.request()); !st) {
        return st;
    }
    auto v = decode_u64_reply(reply, m.request());
    if (!v) {
        return failed(v.error());
    }
    if (*v != 0) {
        return failed(Error{Errc::nack, m.request()});
    }
    return {};
}

Result<Message> VhostUserDevice::call(const Message &m) {
    if (auto st = send(m, {}); !st) {
        return unexpected(st.error());
    }
    Message reply;
    if (auto st = receive(reply, m.request()); !st) {
        return unexpected(st.error());
    }
    return reply;
}

Result<uint64_t> VhostUserDevice::call_u64(Request r) {
    auto reply = call(encode(r));
    if (!reply) {
        return unexpected(reply.error());
    }
    auto v = decode_u64_reply(*reply, r);
    if (!v) {
        return failed(v.error());
    }
    return *v;
}

// ---- negotiation ----------------------------------------------------------------------

Result<uint64_t> VhostUserDevice::negotiate(uint64_t wanted_features) {
    protocol_ = 0; // REPLY_ACK is not in force until SET_PROTOCOL_FEATURES went through
    if (auto st = request(encode(Request::set_owner)); !st) {
        return unexpected(st.error());
    }
    auto offered = call_u64(Request::get_features);
    if (!offered) {
        return unexpected(offered.error());
    }
    offered_ = *offered;
    if ((offered_ & f_protocol_features) != 0) {
        auto offered_pf = call_u64(Request::get_protocol_features);
        if (!offered_pf) {
            return unexpected(offered_pf.error());
        }
        const uint64_t pf = opts_.protocol_features & supported_protocol_features & *offered_pf;
        if (auto st = request(encode_u64(Request::set_protocol_features, pf)); !st) {
            return unexpected(st.error());
        }
        protocol_ = pf;
    }
    if (has_protocol(pf::status)) {
        if (auto st = set_status(status::acknowledge | status::driver); !st) {
            return unexpected(st.error());
        }
    }
    acked_ = (wanted_features & offered_ & ~f_protocol_features) | (offered_ & f_protocol_features);
    if (auto st = request(encode_u64(Request::set_features, acked_)); !st) {
        return unexpected(st.error());
    }
    features_ = acked_ & ~f_protocol_features;
    if (has_protocol(pf::status)) {
        if (auto st = set_status(status::acknowledge | status::driver | status::features_ok); !st) {
            return unexpected(st.error());
        }
        auto s = get_status();
        if (!s) {
            return unexpected(s.error());
        }
        if ((*s & status::features_ok) == 0) {
            return failed(Error{Errc::features_rejected, Request::get_status});
        }
    }
    log(RTE_LOG_INFO, "%s: features offered 0x%" PRIx64 " negotiated 0x%" PRIx64 ", protocol features 0x%" PRIx64,
        opts_.path.c_str(), offered_, features_, protocol_);
    return features_;
}

Result<uint32_t> VhostUserDevice::queue_pairs() {
    if (!has_protocol(pf::mq)) {
        if (auto st = require_connection(Request::get_queue_num); !st) {
            return failed(st.error());
        }
        return 1u;
    }
    auto n = call_u64(Request::get_queue_num);
    if (!n) {
        return unexpected(n.error());
    }
    if (*n == 0) {
        return failed(Error{Errc::bad_reply, Request::get_queue_num});
    }
    return static_cast<uint32_t>(std::min<uint64_t>(*n, max_vrings / 2));
}

Status VhostUserDevice::set_mem_table(std::span<const dma::MemRegion> regions) {
    if (regions.empty()) {
        return failed(Error{Errc::invalid_argument, Request::set_mem_table});
    }
    if (auto st = require_connection(Request::set_mem_table); !st) {
        return failed(st.error());
    }
    const bool slots = has_protocol(pf::configure_mem_slots);
    Status st;
    if (slots && (regions.size() > max_table_regions || slot_mode_)) {
        st = update_slots(regions);
    } else if (regions.size() > max_table_regions) {
        return failed(Error{Errc::too_many_regions, Request::set_mem_table});
    } else {
        st = send_table(regions);
        if (st) {
            sent_regions_.assign(regions.begin(), regions.end());
        }
    }
    if (!st) {
        return st;
    }
    log(RTE_LOG_INFO, "%s: memory table of %zu region(s) sent%s", opts_.path.c_str(), regions.size(),
        slot_mode_ ? " as memory slots" : "");
    return {};
}

Status VhostUserDevice::send_table(std::span<const dma::MemRegion> regions) {
    auto m = encode_mem_table(regions);
    if (!m) {
        return failed(m.error());
    }
    std::array<int, max_table_regions> fds{};
    for (size_t i = 0; i < regions.size(); ++i) {
        fds[i] = regions[i].fd;
    }
    return request(*m, std::span<const int>(fds.data(), regions.size()));
}

Status VhostUserDevice::update_slots(std::span<const dma::MemRegion> regions) {
    if (max_slots_ == 0) {
        auto n = call_u64(Request::get_max_mem_slots);
        if (!n) {
            return unexpected(n.error());
        }
        max_slots_ = static_cast<uint32_t>(std::min<uint64_t>(*n, UINT32_MAX));
    }
    if (regions.size() > max_slots_) {
        return failed(Error{Errc::too_many_regions, Request::add_mem_reg});
    }
    auto wanted = [&](const dma::MemRegion &r) { return std::find(regions.begin(), regions.end(), r) != regions.end(); };
    // Removals first: they free the slots the additions may need.
    for (auto it = sent_regions_.begin(); it != sent_regions_.end();) {
        if (wanted(*it)) {
            ++it;
            continue;
        }
        if (auto st = request(encode_mem_reg(Request::rem_mem_reg, *it)); !st) {
            return st;
        }
        it = sent_regions_.erase(it);
    }
    for (const dma::MemRegion &r : regions) {
        if (std::find(sent_regions_.begin(), sent_regions_.end(), r) != sent_regions_.end()) {
            continue;
        }
        const int fd = r.fd;
        if (auto st = request(encode_mem_reg(Request::add_mem_reg, r), std::span<const int>(&fd, 1)); !st) {
            return st;
        }
        sent_regions_.push_back(r);
    }
    slot_mode_ = true;
    return {};
}

// ---- queues ---------------------------------------------------------------------------

Status VhostUserDevice::check_queue(uint16_t index) const {
    if (index >= max_vrings) {
        return fail(Errc::invalid_argument);
    }
    return {};
}

Status VhostUserDevice::ensure_eventfds(uint16_t index) {
    if (!kick_[index].valid()) {
        kick_[index].reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    }
    if (!call_[index].valid()) {
        call_[index].reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    }
    if (!kick_[index].valid() || !call_[index].valid()) {
        return failed(Error{Errc::io, Request::set_vring_kick, errno});
    }
    return {};
}

Result<int> VhostUserDevice::interrupt_fd(uint16_t index) {
    if (auto st = check_queue(index); !st) {
        return unexpected(st.error());
    }
    if (auto st = ensure_eventfds(index); !st) {
        return unexpected(st.error());
    }
    return call_[index].get();
}

Status VhostUserDevice::setup_queue(const QueueSetup &q) {
    if (auto st = check_queue(q.index); !st || !valid_queue_size(q) || (q.packed && q.avail_base > packed_index_mask)) {
        return failed(Error{Errc::invalid_argument, Request::set_vring_num});
    }
    if (auto st = require_connection(Request::set_vring_num); !st) {
        return failed(st.error());
    }
    if (auto st = ensure_eventfds(q.index); !st) {
        return st;
    }
    const uint32_t base = q.packed ? (q.avail_base | (q.wrap_counter ? packed_wrap_bit : 0)) : q.avail_base;
    const VringAddr addr{q.index, 0, q.desc_addr, q.device_area_addr, q.driver_area_addr, 0};
    const int kick = kick_[q.index].get();
    const int callfd = call_[q.index].get();
    Status st = request(encode_state(Request::set_vring_num, VringState{q.index, q.size}));
    if (st) {
        st = request(encode_state(Request::set_vring_base, VringState{q.index, base}));
    }
    if (st) {
        st = request(encode_addr(addr));
    }
    if (st) {
        st = request(encode_vring_file(Request::set_vring_kick, q.index, true), std::span<const int>(&kick, 1));
    }
    if (st) {
        st = request(encode_vring_file(Request::set_vring_call, q.index, true), std::span<const int>(&callfd, 1));
    }
    if (!st) {
        return st;
    }
    packed_[q.index] = q.packed;
    log(RTE_LOG_DEBUG, "%s: vring %u set up (size %u, base %u, %s)", opts_.path.c_str(), q.index, q.size, q.avail_base,
        q.packed ? "packed" : "split");
    return {};
}

Status VhostUserDevice::enable_queue(uint16_t index, bool enable) {
    if (auto st = check_queue(index); !st) {
        return failed(Error{Errc::invalid_argument, Request::set_vring_enable});
    }
    if (auto st = require_connection(Request::set_vring_enable); !st) {
        return failed(st.error());
    }
    if ((acked_ & f_protocol_features) == 0) {
        if (!enable) {
            return failed(Error{Errc::not_supported, Request::set_vring_enable});
        }
        return {}; // the kick enabled it
    }
    if (auto st = request(encode_state(Request::set_vring_enable, VringState{index, enable ? 1u : 0u})); !st) {
        return st;
    }
    return {};
}

Result<VringBase> VhostUserDevice::stop_queue(uint16_t index) {
    if (auto st = check_queue(index); !st) {
        return failed(Error{Errc::invalid_argument, Request::get_vring_base});
    }
    auto reply = call(encode_state(Request::get_vring_base, VringState{index, 0}));
    if (!reply) {
        return unexpected(reply.error());
    }
    auto state = decode_state_reply(*reply, Request::get_vring_base);
    if (!state) {
        return failed(state.error());
    }
    if (state->index != index) {
        return failed(Error{Errc::bad_reply, Request::get_vring_base});
    }
    VringBase base;
    if (packed_[index]) {
        base = VringBase{static_cast<uint16_t>(state->num & packed_index_mask), (state->num & packed_wrap_bit) != 0};
    } else {
        base = VringBase{static_cast<uint16_t>(state->num), true};
    }
    log(RTE_LOG_DEBUG, "%s: vring %u stopped at %u", opts_.path.c_str(), index, base.index);
    return base;
}

// ---- device status --------------------------------------------------------------------

Status VhostUserDevice::set_status(uint8_t s) {
    if (!has_protocol(pf::status)) {
        return failed(Error{Errc::not_supported, Request::set_status});
    }
    if (auto st = request(encode_u64(Request::set_status, s)); !st) {
        return st;
    }
    return {};
}

Result<uint8_t> VhostUserDevice::get_status() {
    if (!has_protocol(pf::status)) {
        return failed(Error{Errc::not_supported, Request::get_status});
    }
    auto v = call_u64(Request::get_status);
    if (!v) {
        return unexpected(v.error());
    }
    return static_cast<uint8_t>(*v);
}

Status VhostUserDevice::driver_ok() {
    constexpr uint8_t all = status::acknowledge | status::driver | status::features_ok | status::driver_ok;
    if (!has_protocol(pf::status)) {
        if (auto st = require_connection(Request::set_status); !st) {
            return failed(st.error());
        }
        return {};
    }
    return set_status(all);
}

Status VhostUserDevice::reset() {
    const Request r = has_protocol(pf::reset_device) ? Request::reset_device : Request::reset_owner;
    if (auto st = request(encode(r)); !st) {
        return st;
    }
    // The back-end is back to its initial state: negotiate() again before anything else.
    features_ = acked_ = protocol_ = 0;
    max_slots_ = 0;
    slot_mode_ = false;
    sent_regions_.clear();
    log(RTE_LOG_INFO, "%s: device reset (%s)", opts_.path.c_str(), std::string(to_string(r)).c_str());
    return {};
}

} // namespace vpmd::vhost_user
