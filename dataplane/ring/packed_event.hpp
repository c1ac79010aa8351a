// Packed-ring event suppression (virtio 1.2 section 2.8.10), used by both views: the
// publisher asks whether moving its position past `advanced` slots crosses the event
// the peer asked for.
#pragma once

#include <cstdint>

#include "dataplane/ring/barriers.hpp"
#include "dataplane/ring/index.hpp"
#include "dataplane/ring/layout.hpp"

namespace vpmd::ring {

// Reads flags and off_wrap in one single-copy load, so they belong together.
[[nodiscard]] inline uint32_t read_event(const PackedEvent &e) {
    return read_once(*reinterpret_cast<const uint32_t *>(&e));
}

inline void write_event(PackedEvent &e, uint16_t flags, uint16_t off_wrap) {
    write_once(*reinterpret_cast<uint32_t *>(&e), uint32_t(flags) << 16 | off_wrap);
}

// ev: the peer's event word (read_event); next/wrap: our position after publishing;
// advanced: slots published since the last decision.
[[nodiscard]] inline bool packed_event_fires(uint32_t ev, uint16_t next, uint16_t wrap, uint32_t advanced,
                                             uint32_t size, bool event_idx) {
    const uint16_t flags = uint16_t(ev >> 16);
    if (flags == event_flags_disable) {
        return false;
    }
    if (flags != event_flags_desc || !event_idx || advanced >= size) {
        return true; // ENABLE, an unknown mode, or a whole lap passed the event
    }
    const uint16_t off_wrap = uint16_t(ev);
    uint16_t event = off_wrap & uint16_t(~event_wrap_bit);
    if ((off_wrap >> 15) != wrap) {
        event = uint16_t(event - size); // the event lies in the previous lap
    }
    return need_event(Idx16(event), Idx16(next), Idx16(uint16_t(next - advanced)));
}

} // namespace vpmd::ring
