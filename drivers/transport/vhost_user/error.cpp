// Names and errno mappings for requests and errors, for one-line log messages.
#include "drivers/transport/vhost_user/error.hpp"

#include <cerrno>
#include <cstring>

namespace vpmd::vhost_user {

std::string_view to_string(Request r) {
    switch (r) {
    case Request::none: return "NONE";
    case Request::get_features: return "GET_FEATURES";
    case Request::set_features: return "SET_FEATURES";
    case Request::set_owner: return "SET_OWNER";
    case Request::reset_owner: return "RESET_OWNER";
    case Request::set_mem_table: return "SET_MEM_TABLE";
    case Request::set_vring_num: return "SET_VRING_NUM";
    case Request::set_vring_addr: return "SET_VRING_ADDR";
    case Request::set_vring_base: return "SET_VRING_BASE";
    case Request::get_vring_base: return "GET_VRING_BASE";
    case Request::set_vring_kick: return "SET_VRING_KICK";
    case Request::set_vring_call: return "SET_VRING_CALL";
    case Request::get_protocol_features: return "GET_PROTOCOL_FEATURES";
    case Request::set_protocol_features: return "SET_PROTOCOL_FEATURES";
    case Request::get_queue_num: return "GET_QUEUE_NUM";
    case Request::set_vring_enable: return "SET_VRING_ENABLE";
    case Request::reset_device: return "RESET_DEVICE";
    case Request::get_max_mem_slots: return "GET_MAX_MEM_SLOTS";
    case Request::add_mem_reg: return "ADD_MEM_REG";
    case Request::rem_mem_reg: return "REM_MEM_REG";
    case Request::set_status: return "SET_STATUS";
    case Request::get_status: return "GET_STATUS";
    }
    return "UNKNOWN_REQUEST";
}

std::string_view to_string(Errc e) {
    switch (e) {
    case Errc::invalid_argument: return "invalid argument";
    case Errc::not_connected: return "not connected";
    case Errc::connect_failed: return "could not connect to the socket";
    case Errc::listen_failed: return "could not listen on the socket";
    case Errc::accept_timeout: return "no back-end connected in time";
    case Errc::timeout: return "no reply within the reply timeout";
    case Errc::disconnected: return "back-end closed the connection";
    case Errc::io: return "socket error";
    case Errc::bad_reply: return "malformed reply";
    case Errc::nack: return "back-end refused the request";
    case Errc::not_supported: return "not negotiated with the back-end";
    case Errc::too_many_regions: return "too many memory regions for the back-end";
    case Errc::features_rejected: return "back-end rejected the features";
    }
    return "unknown error";
}

std::string describe(const Error &e) {
    std::string s;
    if (e.request != Request::none) {
        s += to_string(e.request);
        s += ": ";
    }
    s += to_string(e.code);
    if (e.sys != 0) {
        s += " (";
        s += std::strerror(e.sys);
        s += ")";
    }
    return s;
}

int to_errno(const Error &e) {
    switch (e.code) {
    case Errc::invalid_argument: return -EINVAL;
    case Errc::not_connected: return -ENOTCONN;
    case Errc::connect_failed: return e.sys != 0 ? -e.sys : -ECONNREFUSED;
    case Errc::listen_failed: return e.sys != 0 ? -e.sys : -EADDRINUSE;
    case Errc::accept_timeout: return -ETIMEDOUT;
    case Errc::timeout: return -ETIMEDOUT;
    case Errc::disconnected: return -ECONNRESET;
    case Errc::io: return e.sys != 0 ? -e.sys : -EIO;
    case Errc::bad_reply: return -EPROTO;
    case Errc::nack: return -EPERM;
    case Errc::not_supported: return -ENOTSUP;
    case Errc::too_many_regions: return -E2BIG;
    case Errc::features_rejected: return -EPROTO;
    }
    return -EIO;
}

} // namespace vpmd::vhost_user
