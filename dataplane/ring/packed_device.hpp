// Packed virtqueue, device view: take available chains in ring order (checking flags,
// indirect tables and addresses), write used descriptors with the first flags of a batch
// stored last, and decide whether to interrupt the driver.
#pragma once

#include "dataplane/ring/device_common.hpp"
#include "dataplane/ring/packed_event.hpp"

namespace vpmd::ring {

template <AddressTranslator Translate, uint16_t MaxSegs = 64>
class PackedDevice : public detail::DeviceState {
public:
    using Chain = DeviceChain<MaxSegs>;

    void init(const QueueConfig &cfg, void *desc, void *driver_event, void *device_event, Translate tr) {
        size_ = cfg.size;
        order_ = cfg.order;
        event_idx_ = cfg.has(feature::event_idx);
        indirect_ = cfg.has(feature::indirect_desc);
        tr_ = tr;
        desc_ = static_cast<PackedDesc *>(desc);
        driver_event_ = static_cast<PackedEvent *>(driver_event);
        device_event_ = static_cast<PackedEvent *>(device_event);
        restore(uint16_t(1u << 15), uint16_t(1u << 15));
    }
    void init(const QueueConfig &cfg, void *ring, Translate tr) {
        const auto l = PackedLayout::of(cfg.size);
        auto *b = static_cast<char *>(ring);
        init(cfg, b + l.desc, b + l.driver_event, b + l.device_event, tr);
    }

    // Resume at saved positions (slot | wrap << 15); clears the broken state.
    void restore(uint16_t avail, uint16_t used) {
        next_avail_ = avail & 0x7fff;
        avail_wrap_ = avail >> 15;
        used_pos_ = used & 0x7fff;
        used_wrap_ = used >> 15;
        staged_ = false;
        advanced_ = 0;
        broken_ = Broken::none;
    }
    [[nodiscard]] uint16_t last_avail() const { return uint16_t(next_avail_ | (avail_wrap_ << 15)); }

    bool take(Chain &c) {
        if (is_broken()) [[unlikely]] {
            return false;
        }
        const uint16_t f = load_acquire(desc_[next_avail_].flags);
        if (bool(f & desc_f_avail) != bool(avail_wrap_) || bool(f & desc_f_used) == bool(avail_wrap_)) {
            return false; // not made available in this lap yet
        }
        c.ndesc = 0;
        c.nsegs = 0;
        c.readable_len = c.writable_len = 0;
        uint16_t slot = next_avail_;
        uint16_t wrap = avail_wrap_;
        for (;;) {
            if (c.ndesc == size_) {
                return fail(Broken::desc_chain_loop);
            }
            const PackedDesc &d = desc_[slot];
            const uint16_t flags = c.ndesc == 0 ? f : read_once(d.flags);
            const uint64_t addr = read_once(d.addr);
            const uint32_t len = read_once(d.len);
            c.id = read_once(d.id); // the last descriptor's id names the buffer
            ++c.ndesc;
            if (++slot == size_) {
                slot = 0;
                wrap ^= 1;
            }
            if (flags & desc_f_indirect) {
                if (!walk_indirect(c, addr, len, flags)) {
                    return false;
                }
            } else if (!push_segment(c, tr_, addr, len, flags & desc_f_write)) {
                return false;
            }
            if (!(flags & desc_f_next)) {
                break;
            }
        }
        if (c.id >= size_) {
            return fail(Broken::desc_index_out_of_range);
        }
        next_avail_ = slot;
        avail_wrap_ = wrap;
        return true;
    }

    bool put_used(const Chain &c, uint32_t len) {
        if (len > c.writable_len) {
            return fail(Broken::used_len_bad_put);
        }
        write_used(c.id, len, c.ndesc);
        return true;
    }
    // IN_ORDER batch: one used descriptor with the last buffer's id; the position skips
    // every descriptor of the batch.
    bool put_used_batch(const Chain *chains, uint16_t n, uint32_t last_len) {
        if (n == 0) {
            return true;
        }
        if (last_len > chains[n - 1].writable_len) {
            return fail(Broken::used_len_bad_put);
        }
        uint32_t total = 0;
        for (uint16_t i = 0; i < n; ++i) {
            total += chains[i].ndesc;
        }
        write_used(chains[n - 1].id, last_len, total);
        return true;
    }
    void publish_used() {
        if (staged_) {
            store_release(desc_[staged_slot_].flags, staged_flags_);
            staged_ = false;
        }
    }

    [[nodiscard]] bool needs_interrupt() {
        const uint32_t advanced = advanced_;
        if (advanced == 0) {
            return false;
        }
        advanced_ = 0;
        full_fence(order_);
        return packed_event_fires(read_event(*driver_event_), used_pos_, used_wrap_, advanced, size_, event_idx_);
    }

    void disable_notify() { write_event(*device_event_, event_flags_disable, 0); }
    [[nodiscard]] bool enable_notify() {
        if (event_idx_) {
            write_event(*device_event_, event_flags_desc, last_avail());
        } else {
            write_event(*device_event_, event_flags_enable, 0);
        }
        full_fence(order_);
        const uint16_t f = load_acquire(desc_[next_avail_].flags);
        return bool(f & desc_f_avail) == bool(avail_wrap_) && bool(f & desc_f_used) != bool(avail_wrap_);
    }

private:
    void write_used(uint16_t id, uint32_t len, uint32_t skip) {
        PackedDesc &d = desc_[used_pos_];
        write_once(d.id, id);
        write_once(d.len, len);
        const uint16_t flags = used_wrap_ ? uint16_t(desc_f_avail | desc_f_used) : uint16_t(0);
        if (!staged_) {
            staged_ = true;
            staged_slot_ = used_pos_;
            staged_flags_ = flags;
        } else {
            write_once(d.flags, flags);
        }
        advanced_ += skip;
        used_pos_ = uint16_t(used_pos_ + skip);
        while (used_pos_ >= size_) {
            used_pos_ = uint16_t(used_pos_ - size_);
            used_wrap_ ^= 1;
        }
    }

    bool walk_indirect(Chain &c, uint64_t addr, uint32_t len, uint16_t flags) {
        if (!indirect_ || (flags & desc_f_next) || len == 0 || len % sizeof(PackedDesc) != 0) {
            return fail(Broken::desc_indirect_invalid);
        }
        const auto *table = static_cast<const PackedDesc *>(tr_(addr, len));
        if (table == nullptr) {
            return fail(Broken::desc_addr_invalid);
        }
        // A table must hold whole, aligned descriptors (found by fuzzing: a misaligned one
        // was read through misaligned pointers).
        if (reinterpret_cast<uintptr_t>(table) % alignof(PackedDesc) != 0) {
            return fail(Broken::desc_indirect_invalid);
        }
        const uint32_t entries = len / sizeof(PackedDesc);
        for (uint32_t i = 0; i < entries; ++i) {
            const uint16_t f = read_once(table[i].flags);
            if (f & (desc_f_indirect | desc_f_next)) {
                return fail(Broken::desc_indirect_invalid); // packed tables are sequential
            }
            if (!push_segment(c, tr_, read_once(table[i].addr), read_once(table[i].len), f & desc_f_write)) {
                return false;
            }
        }
        return true;
    }

    Translate tr_{};
    PackedDesc *desc_ = nullptr;
    PackedEvent *driver_event_ = nullptr;
    PackedEvent *device_event_ = nullptr;
    uint32_t size_ = 0;
    uint16_t next_avail_ = 0, avail_wrap_ = 1;
    uint16_t used_pos_ = 0, used_wrap_ = 1;
    uint16_t staged_slot_ = 0, staged_flags_ = 0;
    uint32_t advanced_ = 0;
    bool staged_ = false;
};

} // namespace vpmd::ring
