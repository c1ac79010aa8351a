// The vhost-user wire protocol as the front-end (driver) speaks it: request codes, header
// flags, protocol-feature bits and payload layouts (QEMU docs/interop/vhost-user.rst). Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "drivers/transport/device_status.hpp"

namespace vpmd::vhost_user {

// Front-end -> back-end requests. Only the ones this front-end sends are named.
enum class Request : uint32_t {
    none = 0,
    get_features = 1,
    set_features = 2,
    set_owner = 3,
    reset_owner = 4,
    set_mem_table = 5,
    set_vring_num = 8,
    set_vring_addr = 9,
    set_vring_base = 10,
    get_vring_base = 11,
    set_vring_kick = 12,
    set_vring_call = 13,
    get_protocol_features = 15,
    set_protocol_features = 16,
    get_queue_num = 17,
    set_vring_enable = 18,
    reset_device = 34,
    get_max_mem_slots = 36,
    add_mem_reg = 37,
    rem_mem_reg = 38,
    set_status = 39,
    get_status = 40,
};

std::string_view to_string(Request r);

// Header flags: bits 0-1 version (always 1), bit 2 "this is a reply", bit 3 "reply wanted"
// (REPLY_ACK).
inline constexpr uint32_t flag_version = 0x1;
inline constexpr uint32_t flag_version_mask = 0x3;
inline constexpr uint32_t flag_reply = 1u << 2;
inline constexpr uint32_t flag_need_reply = 1u << 3;

// Virtio feature bit 30: the back-end speaks GET/SET_PROTOCOL_FEATURES. Transport-only; a
// front-end that acks it gets rings that start disabled until SET_VRING_ENABLE.
inline constexpr uint64_t f_protocol_features = 1ULL << 30;

// Protocol feature bits (GET/SET_PROTOCOL_FEATURES).
namespace pf {
inline constexpr uint64_t mq = 1ULL << 0;
inline constexpr uint64_t log_shmfd = 1ULL << 1;
inline constexpr uint64_t rarp = 1ULL << 2;
inline constexpr uint64_t reply_ack = 1ULL << 3;
inline constexpr uint64_t mtu = 1ULL << 4;
inline constexpr uint64_t backend_req = 1ULL << 5;
inline constexpr uint64_t inflight_shmfd = 1ULL << 12;
inline constexpr uint64_t reset_device = 1ULL << 13;
inline constexpr uint64_t inband_notifications = 1ULL << 14;
inline constexpr uint64_t configure_mem_slots = 1ULL << 15;
inline constexpr uint64_t status = 1ULL << 16;
} // namespace pf

// What this front-end implements and asks for by default.
inline constexpr uint64_t supported_protocol_features =
    pf::mq | pf::reply_ack | pf::reset_device | pf::configure_mem_slots | pf::status;

// Device status bits, carried by SET/GET_STATUS (vhost-user) or device_status (PCI).
namespace status = transport::status;

// SET_MEM_TABLE carries at most this many regions (and fds); more need CONFIGURE_MEM_SLOTS.
inline constexpr uint32_t max_table_regions = 8;
// The vring index field of SET_VRING_KICK/CALL is 8 bits wide.
inline constexpr uint32_t max_vrings = 256;
// SET_VRING_KICK/CALL payload: bits 0-7 index, bit 8 "no fd attached" (polling mode).
inline constexpr uint64_t vring_index_mask = 0xff;
inline constexpr uint64_t vring_nofd = 1ULL << 8;
// Packed rings put the wrap counter next to the index in SET/GET_VRING_BASE.
inline constexpr uint32_t packed_wrap_bit = 1u << 15;
inline constexpr uint32_t packed_index_mask = 0x7fff;

struct Header {
    uint32_t request;
    uint32_t flags;
    uint32_t size; // payload bytes that follow
};
static_assert(sizeof(Header) == 12);

struct VringState {
    uint32_t index;
    uint32_t num;
};
static_assert(sizeof(VringState) == 8);

// Note the order on the wire: descriptor table, used (device area), avail (driver area).
struct VringAddr {
    uint32_t index;
    uint32_t flags; // bit 0: log writes to log_guest_addr (not used here)
    uint64_t desc_user_addr;
    uint64_t used_user_addr;
    uint64_t avail_user_addr;
    uint64_t log_guest_addr;
};
static_assert(sizeof(VringAddr) == 40);

struct WireRegion {
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;
    uint64_t mmap_offset;
};
static_assert(sizeof(WireRegion) == 32);

// SET_MEM_TABLE: nregions, padding, then nregions WireRegion (only those are sent).
inline constexpr size_t mem_table_prefix = 8;
// ADD_MEM_REG / REM_MEM_REG: 8 bytes padding, then one WireRegion.
inline constexpr size_t mem_reg_size = 8 + sizeof(WireRegion);

// The largest payload we accept from a peer. Spec'd replies we ask for are 8 bytes; a
// bound keeps a broken peer from making us read without end.
inline constexpr size_t max_payload = 4096;
// At most this many fds travel with one message (SET_MEM_TABLE's 8).
inline constexpr size_t max_fds = 8;

} // namespace vpmd::vhost_user
