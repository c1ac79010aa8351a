// Split virtqueue, device view: take available chains (walking chained and indirect
// descriptors, every value checked), return them used with a length, and decide whether
// to interrupt the driver. It trusts nothing the driver wrote either.
#pragma once

#include "dataplane/ring/device_common.hpp"
#include "dataplane/ring/index.hpp"

namespace vpmd::ring {

template <AddressTranslator Translate, uint16_t MaxSegs = 64>
class SplitDevice : public detail::DeviceState {
public:
    using Chain = DeviceChain<MaxSegs>;

    // `ring` points at the layout SplitQueue::init made (for a real device: the three
    // parts translated from the addresses the driver gave).
    void init(const QueueConfig &cfg, void *desc, void *avail, void *used, Translate tr) {
        size_ = cfg.size;
        mask_ = static_cast<uint16_t>(cfg.size - 1);
        order_ = cfg.order;
        event_idx_ = cfg.has(feature::event_idx);
        indirect_ = cfg.has(feature::indirect_desc);
        tr_ = tr;
        desc_ = static_cast<SplitDesc *>(desc);
        avail_ = static_cast<SplitAvail *>(avail);
        used_ = static_cast<SplitUsed *>(used);
        avail_ring_ = reinterpret_cast<uint16_t *>(avail_ + 1);
        used_event_ = avail_ring_ + size_;
        used_ring_ = reinterpret_cast<SplitUsedElem *>(used_ + 1);
        avail_event_ = reinterpret_cast<uint16_t *>(used_ring_ + size_);
        restore(0, 0);
    }
    void init(const QueueConfig &cfg, void *ring, Translate tr) {
        const auto l = SplitLayout::of(cfg.size);
        auto *b = static_cast<char *>(ring);
        init(cfg, b + l.desc, b + l.avail, b + l.used, tr);
    }

    // Resume at saved indices (vhost-user SET_VRING_BASE); clears the broken state.
    void restore(uint16_t last_avail, uint16_t used) {
        last_avail_ = avail_seen_ = Idx16(last_avail);
        used_idx_ = signalled_ = Idx16(used);
        broken_ = Broken::none;
    }
    [[nodiscard]] uint16_t last_avail() const { return last_avail_.raw(); }

    // Takes the next available chain; false when there is none or the ring is bad.
    bool take(Chain &c) {
        if (is_broken()) [[unlikely]] {
            return false;
        }
        if (last_avail_ == avail_seen_) {
            avail_seen_ = Idx16(load_acquire(avail_->idx));
            if (avail_seen_.since(last_avail_) > size_) [[unlikely]] {
                return fail(Broken::avail_idx_jump);
            }
            if (last_avail_ == avail_seen_) {
                return false;
            }
        }
        const uint16_t head = read_once(avail_ring_[last_avail_.raw() & mask_]);
        if (!walk(c, head)) {
            return false;
        }
        ++last_avail_;
        return true;
    }

    // Returns a chain with the bytes written into it; visible after publish_used().
    bool put_used(const Chain &c, uint32_t len) {
        if (len > c.writable_len) {
            return fail(Broken::used_len_bad_put);
        }
        SplitUsedElem &e = used_ring_[used_idx_.raw() & mask_];
        write_once(e.id, uint32_t(c.id));
        write_once(e.len, len);
        ++used_idx_;
        return true;
    }
    // IN_ORDER batch: one used entry with the last chain's id, written where the batch
    // starts; the used index still advances by n (it counts buffers). Only right for
    // buffers the device merely read: a writable buffer needs its own entry and length.
    bool put_used_batch(const Chain *chains, uint16_t n, uint32_t last_len) {
        if (n == 0) {
            return true;
        }
        if (!put_used(chains[n - 1], last_len)) {
            return false;
        }
        used_idx_ += uint16_t(n - 1);
        return true;
    }
    void publish_used() { store_release(used_->idx, used_idx_.raw()); }

    // After publish_used(): must the driver be interrupted? Honours NO_INTERRUPT/used_event.
    [[nodiscard]] bool needs_interrupt() {
        const Idx16 old = signalled_;
        const Idx16 now = used_idx_;
        if (now == old) {
            return false;
        }
        signalled_ = now;
        full_fence(order_);
        if (event_idx_) {
            return need_event(Idx16(read_once(*used_event_)), now, old);
        }
        return (read_once(avail_->flags) & avail_f_no_interrupt) == 0;
    }

    // Driver kicks: suppress while busy polling; re-enable returns true if more work is
    // already there (so the device polls again before waiting).
    void disable_notify() {
        if (!event_idx_) {
            write_once(used_->flags, used_f_no_notify);
        }
    }
    [[nodiscard]] bool enable_notify() {
        if (event_idx_) {
            write_once(*avail_event_, last_avail_.raw());
        } else {
            write_once(used_->flags, uint16_t(0));
        }
        full_fence(order_);
        return Idx16(load_acquire(avail_->idx)) != last_avail_;
    }
    // With EVENT_IDX: ask to be kicked only once the driver's avail index passes `idx`.
    void set_avail_event(uint16_t idx) { write_once(*avail_event_, idx); }

private:
    bool walk(Chain &c, uint16_t head) {
        c.id = head;
        c.ndesc = 1;
        c.nsegs = 0;
        c.readable_len = c.writable_len = 0;
        uint16_t idx = head;
        for (uint32_t hops = 0;; ++hops) {
            if (idx >= size_) {
                return fail(Broken::desc_index_out_of_range);
            }
            if (hops >= size_) {
                return fail(Broken::desc_chain_loop);
            }
            const SplitDesc &d = desc_[idx];
            const uint64_t addr = read_once(d.addr);
            const uint32_t len = read_once(d.len);
            const uint16_t flags = read_once(d.flags);
            if (flags & desc_f_indirect) {
                if (!walk_indirect(c, addr, len, flags)) {
                    return false;
                }
            } else if (!push_segment(c, tr_, addr, len, flags & desc_f_write)) {
                return false;
            }
            if (!(flags & desc_f_next)) {
                return true;
            }
            idx = read_once(d.next);
            ++c.ndesc;
        }
    }

    bool walk_indirect(Chain &c, uint64_t addr, uint32_t len, uint16_t flags) {
        if (!indirect_ || (flags & desc_f_next) || len == 0 || len % sizeof(SplitDesc) != 0) {
            return fail(Broken::desc_indirect_invalid);
        }
        const uint32_t entries = len / sizeof(SplitDesc);
        const auto *table = static_cast<const SplitDesc *>(tr_(addr, len));
        if (table == nullptr) {
            return fail(Broken::desc_addr_invalid);
        }
        // A table must hold whole, aligned descriptors (found by fuzzing: a misaligned one
        // was read through misaligned pointers).
        if (reinterpret_cast<uintptr_t>(table) % alignof(SplitDesc) != 0) {
            return fail(Broken::desc_indirect_invalid);
        }
        uint32_t i = 0;
        for (uint32_t hops = 0;; ++hops) {
            if (i >= entries) {
                return fail(Broken::desc_index_out_of_range);
            }
            if (hops >= entries) {
                return fail(Broken::desc_chain_loop);
            }
            const SplitDesc &d = table[i];
            const uint16_t f = read_once(d.flags);
            if (f & desc_f_indirect) {
                return fail(Broken::desc_indirect_invalid);
            }
            if (!push_segment(c, tr_, read_once(d.addr), read_once(d.len), f & desc_f_write)) {
                return false;
            }
            if (!(f & desc_f_next)) {
                return true;
            }
            i = read_once(d.next);
        }
    }

    Translate tr_{};
    SplitDesc *desc_ = nullptr;
    SplitAvail *avail_ = nullptr;
    uint16_t *avail_ring_ = nullptr;
    uint16_t *used_event_ = nullptr;
    SplitUsed *used_ = nullptr;
    SplitUsedElem *used_ring_ = nullptr;
    uint16_t *avail_event_ = nullptr;
    uint32_t size_ = 0;
    uint16_t mask_ = 0;
    Idx16 last_avail_, avail_seen_;
    Idx16 used_idx_, signalled_;
};

} // namespace vpmd::ring
