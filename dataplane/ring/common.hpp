// Types shared by both ring layouts and both views: segments, completions, the broken
// state, the memory a queue lives in, and the per-queue configuration.
#pragma once

#include <cstdint>
#include <string_view>

#include "dataplane/ring/barriers.hpp"
#include "dataplane/ring/layout.hpp"

namespace vpmd::ring {

// One buffer segment as the device will see it: an address in the device's space (IOVA,
// or VA for vhost-user), a length, and whether the device writes it (rx) or reads it (tx).
struct Segment {
    uint64_t addr;
    uint32_t len;
    bool device_writes;
};

// How a multi-segment buffer is laid out in the ring.
enum class ChainMode : uint8_t {
    chained,  // one descriptor per segment, linked with NEXT
    indirect, // one ring descriptor pointing at a table (needs INDIRECT_DESC)
};

// A buffer the device has finished with, and how many bytes it wrote into it.
template <class Cookie>
struct Used {
    Cookie cookie;
    uint32_t len;
};

// Why a queue stopped trusting its peer. Once set it stays until reset().
enum class Broken : uint8_t {
    none = 0,
    used_id_out_of_range,   // device returned an id >= queue size
    used_id_not_in_flight,  // device returned an id we did not post (or returned twice)
    used_len_too_long,      // device claims to have written more than the buffer holds
    used_idx_jump,          // split: used index moved past what is in flight
    packed_flags_invalid,   // packed: flags at the next used slot fit neither state
    desc_index_out_of_range,// device view: head or next beyond the table
    desc_chain_loop,        // device view: chain longer than the queue (a loop)
    desc_chain_too_long,    // device view: more segments than the view can hold
    desc_indirect_invalid,  // device view: bad indirect table (size, nesting, NEXT+INDIRECT)
    desc_order_invalid,     // device view: device-readable segment after a writable one
    desc_addr_invalid,      // device view: address not translatable
    avail_idx_jump,         // device view: avail index moved by more than the queue size
    used_len_bad_put,       // device view: caller returned more bytes than writable
    used_id_unpublished,    // device completed a buffer added but not yet published
    count_,
};

constexpr std::string_view to_string(Broken b) {
    switch (b) {
    case Broken::none: return "not broken";
    case Broken::used_id_out_of_range: return "used id out of range";
    case Broken::used_id_not_in_flight: return "used id not in flight";
    case Broken::used_len_too_long: return "used length longer than the buffer";
    case Broken::used_idx_jump: return "used index moved past the buffers in flight";
    case Broken::packed_flags_invalid: return "packed descriptor flags inconsistent";
    case Broken::desc_index_out_of_range: return "descriptor index out of range";
    case Broken::desc_chain_loop: return "descriptor chain loops";
    case Broken::desc_chain_too_long: return "descriptor chain too long";
    case Broken::desc_indirect_invalid: return "malformed indirect descriptor table";
    case Broken::desc_order_invalid: return "readable descriptor after a writable one";
    case Broken::desc_addr_invalid: return "descriptor address not translatable";
    case Broken::avail_idx_jump: return "avail index moved past the queue size";
    case Broken::used_len_bad_put: return "used length longer than the writable segments";
    case Broken::used_id_unpublished: return "used id of a buffer not yet published";
    case Broken::count_: break;
    }
    return "unknown";
}

// A piece of memory both sides can reach: our pointer and the device's address for it.
struct DmaRegion {
    void *va = nullptr;
    uint64_t device_addr = 0;
    size_t len = 0;
};

// Driver-private memory for a queue's bookkeeping (see DriverState::private_bytes).
struct PrivateMem {
    void *va = nullptr;
    size_t len = 0;
};

// Ring-relevant negotiation results and choices, fixed at queue setup.
struct QueueConfig {
    uint32_t size = 256;
    uint64_t features = 0;           // negotiated virtio feature bits (see layout.hpp)
    uint16_t max_indirect = 0;       // entries per indirect table; 0 = no indirect tables
    Ordering order = Ordering::weak; // see barriers.hpp

    bool has(uint64_t f) const { return (features & f) != 0; }
};

// Errors of the control path, as values.
enum class SetupError : uint8_t {
    ok = 0,
    bad_size,          // zero, above 32768, or (split) not a power of two
    ring_memory_small, // ring region smaller than ring_bytes()
    ring_memory_misaligned,
    indirect_memory_small,
    indirect_not_negotiated,
    private_memory_small, // private memory smaller than private_bytes() or misaligned
    in_order_mismatch, // IN_ORDER negotiated (or not) unlike the queue type's policy
};

constexpr std::string_view to_string(SetupError e) {
    switch (e) {
    case SetupError::ok: return "ok";
    case SetupError::bad_size: return "bad queue size";
    case SetupError::ring_memory_small: return "ring memory too small";
    case SetupError::ring_memory_misaligned: return "ring memory not 64-byte aligned";
    case SetupError::indirect_memory_small: return "indirect table memory too small";
    case SetupError::indirect_not_negotiated: return "indirect tables asked for without INDIRECT_DESC";
    case SetupError::private_memory_small: return "private memory too small or misaligned";
    case SetupError::in_order_mismatch: return "IN_ORDER negotiation does not match the queue type";
    }
    return "unknown";
}

} // namespace vpmd::ring
