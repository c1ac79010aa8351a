// Packed virtqueue, driver view (virtio 1.2 section 2.8): descriptors written in ring
// order with wrap counters, the head flags of a burst stored last with release, used
// descriptors read back and checked against what is in flight.
#pragma once

#include <algorithm>
#include <cstring>

#include "dataplane/ring/driver_state.hpp"
#include "dataplane/ring/index.hpp"
#include "dataplane/ring/packed_event.hpp"
#include "dataplane/ring/simd.hpp"

namespace vpmd::ring {

// InOrder: the IN_ORDER policy, fixed by the type so add/collect carry no runtime branch
// on it; init() refuses a configuration that negotiated otherwise.
template <class Cookie, bool InOrder = false>
class PackedQueue : public detail::DriverState<Cookie> {
    using Base = detail::DriverState<Cookie>;
    using Base::in_flight_;
    using Base::size_;
    using Base::state_;

public:
    using cookie_type = Cookie;
    static constexpr bool in_order = InOrder;
    static constexpr bool packed = true;

    [[nodiscard]] static constexpr bool valid_size(uint32_t size) { return size != 0 && size <= max_queue_size; }
    [[nodiscard]] static constexpr size_t ring_bytes(uint32_t size) { return PackedLayout::of(size).total; }

    SetupError init(const QueueConfig &cfg, DmaRegion ring, DmaRegion indirect = {}, PrivateMem priv = {}) {
        if (!valid_size(cfg.size)) {
            return SetupError::bad_size;
        }
        if (ring.va == nullptr || ring.len < ring_bytes(cfg.size)) {
            return SetupError::ring_memory_small;
        }
        if (reinterpret_cast<uintptr_t>(ring.va) % cache_line != 0 || ring.device_addr % cache_line != 0) {
            return SetupError::ring_memory_misaligned;
        }
        if (auto e = Base::init_common(cfg, indirect, InOrder, priv); e != SetupError::ok) {
            return e;
        }
        ring_ = ring;
        layout_ = PackedLayout::of(cfg.size);
        auto *base = static_cast<char *>(ring.va);
        desc_ = reinterpret_cast<PackedDesc *>(base + layout_.desc);
        driver_event_ = reinterpret_cast<PackedEvent *>(base + layout_.driver_event);
        device_event_ = reinterpret_cast<PackedEvent *>(base + layout_.device_event);
        restart();
        return SetupError::ok;
    }

    [[nodiscard]] uint64_t desc_addr() const { return ring_.device_addr + layout_.desc; }
    [[nodiscard]] uint64_t driver_area_addr() const { return ring_.device_addr + layout_.driver_event; }
    [[nodiscard]] uint64_t device_area_addr() const { return ring_.device_addr + layout_.device_event; }
    [[nodiscard]] void *ring_va() const { return ring_.va; }

    [[nodiscard]] uint32_t free_descs() const { return num_free_; }
    // Next slot to fill / to read used from, with the wrap counter in bit 15 (the form
    // vhost-user's SET_VRING_BASE uses for packed rings).
    [[nodiscard]] uint16_t avail_index() const { return uint16_t(next_avail_ | (avail_wrap_ << 15)); }
    [[nodiscard]] uint16_t used_index() const { return uint16_t(last_used_ | (used_wrap_ << 15)); }

    // The id the next add_chain/add_burst buffer will get (see SplitQueue::next_id).
    [[nodiscard]] uint16_t next_id() const { return InOrder ? next_avail_ : free_id_; }

    bool add_chain(const Segment *segs, uint16_t n, Cookie cookie, ChainMode mode = ChainMode::chained) {
        if (this->is_broken() || n == 0) [[unlikely]] {
            return false;
        }
        const bool indirect = this->use_indirect(mode, n);
        const uint16_t needed = indirect ? 1 : n;
        if (num_free_ < needed) {
            return false;
        }
        const uint16_t id = alloc_id();
        const uint16_t head_slot = next_avail_;
        const uint16_t head_flags = avail_bits_ | (indirect ? desc_f_indirect : flags_of(segs[0], n > 1));
        if (indirect) {
            auto *table = this->template indirect_table<PackedDesc>(id);
            for (uint16_t i = 0; i < n; ++i) {
                table[i] = PackedDesc{segs[i].addr, segs[i].len, 0, flags_of(segs[i], false)};
            }
            write_body(head_slot, this->indirect_addr(id), uint32_t(n * sizeof(PackedDesc)), id);
            advance();
        } else {
            write_body(head_slot, segs[0].addr, segs[0].len, id);
            advance();
            for (uint16_t i = 1; i < n; ++i) {
                write_body(next_avail_, segs[i].addr, segs[i].len, id);
                desc_[next_avail_].flags = avail_bits_ | flags_of(segs[i], i + 1 < n);
                advance();
            }
        }
        stage_head(head_slot, head_flags, id);
        ++staged_count_;
        state_[id] = detail::BufferState<Cookie>{Base::writable_bytes(segs, n), needed, 0, cookie};
        num_free_ -= needed;
        ++in_flight_;
        added_ += needed;
        return true;
    }

    uint16_t add_burst(const Segment *segs, const Cookie *cookies, uint16_t n) {
        return add_each(cookies, n, [segs](uint16_t i) { return segs[i]; });
    }

    // As add_burst, with buffer i's segment from seg_of(i) (see SplitQueue::add_each):
    // ring state in locals for the loop, the burst's first head staged (see stage_head).
    // S: a vector ISA writes whole cache lines of four descriptors with one store (or
    // two), one by one up to the next line and for the tail.
    template <Simd S = Simd::scalar, class SegOf>
    uint16_t add_each(const Cookie *cookies, uint16_t n, SegOf &&seg_of) {
        if (this->is_broken()) [[unlikely]] {
            return 0;
        }
        n = static_cast<uint16_t>(std::min<uint32_t>(n, num_free_));
        if (n == 0) {
            return 0;
        }
        PackedDesc *const desc = desc_;
        detail::BufferState<Cookie> *const state = state_;
        const uint16_t *const id_next = this->links_;
        const uint16_t size = uint16_t(size_);
                uint16_t slot = next_avail_;
        uint16_t wrap = avail_wrap_;
        uint16_t bits = avail_bits_;
        uint16_t free_id = free_id_;
        uint16_t i = 0;
        auto one = [&](uint16_t &flags_out) {
            const Segment s = seg_of(i);
            uint16_t id = slot; // IN_ORDER: id = head slot
            if constexpr (!InOrder) {
                id = free_id;
                free_id = id_next[id];
            }
            PackedDesc &d = desc[slot];
            d.addr = s.addr;
            d.len = s.len;
            d.id = id;
            flags_out = uint16_t(bits | (s.device_writes ? desc_f_write : 0));
            state[id] = detail::BufferState<Cookie>{s.device_writes ? s.len : 0, 1, 0, cookies[i]};
            const uint16_t at = slot;
            if (++slot == size) {
                slot = 0;
                wrap ^= 1;
                bits ^= desc_f_avail | desc_f_used;
            }
            ++i;
            return at;
        };
        if (!staged_) {
            uint16_t flags;
            staged_first_id_ = InOrder ? slot : free_id;
            staged_count_ = 0;
            const uint16_t at = one(flags);
            staged_ = true;
            staged_slot_ = at;
            staged_flags_ = flags;
        }
        while (i < n) {
            if constexpr (SimdGroup<S>::group_stores) {
                if ((slot & (simd_group - 1)) == 0 && n - i >= simd_group && slot + simd_group <= size) {
                    uint64_t w[2 * simd_group];
                    for (uint16_t k = 0; k < simd_group; ++k) {
                        const Segment sg = seg_of(i);
                        uint16_t id = uint16_t(slot + k);
                        if constexpr (!InOrder) {
                            id = free_id;
                            free_id = id_next[id];
                        }
                        const uint16_t f = uint16_t(bits | (sg.device_writes ? desc_f_write : 0));
                        w[2 * k] = sg.addr;
                        w[2 * k + 1] = sg.len | uint64_t(id) << 32 | uint64_t(f) << 48;
                        state[id] = detail::BufferState<Cookie>{sg.device_writes ? sg.len : 0, 1, 0, cookies[i]};
                        ++i;
                    }
                    SimdGroup<S>::store4(desc + slot, w);
                    slot = uint16_t(slot + simd_group);
                    if (slot == size) {
                        slot = 0;
                        wrap ^= 1;
                        bits ^= desc_f_avail | desc_f_used;
                    }
                    continue;
                }
            }
            uint16_t flags;
            const uint16_t at = one(flags);
            desc[at].flags = flags;
        }
        next_avail_ = slot;
        avail_wrap_ = wrap;
        avail_bits_ = bits;
        free_id_ = free_id;
        num_free_ -= n;
        in_flight_ += n;
        added_ += n;
        staged_count_ += n;
        return n;
    }

    // The first head of the burst was held back; storing it (release) publishes all.
    void publish() {
        if (staged_) {
            store_release(desc_[staged_slot_].flags, staged_flags_);
            staged_ = false;
            staged_count_ = 0;
        }
    }

    [[nodiscard]] bool needs_notify() {
        const uint32_t added = added_;
        if (added == 0) {
            return false;
        }
        added_ = 0;
        full_fence(this->order_);
        return packed_event_fires(read_event(*device_event_), next_avail_, avail_wrap_, added, size_,
                                  this->event_idx_);
    }

    uint16_t collect(Used<Cookie> *out, uint16_t max) {
        return collect_each(max, [out](uint16_t i, Cookie c, uint32_t len) { out[i] = Used<Cookie>{c, len}; });
    }

    // As collect(), handing each completion to sink(index, cookie, len) (see SplitQueue).
    // S: a vector ISA checks aligned groups of four used descriptors at once (simd.hpp).
    template <Simd S = Simd::scalar, class Sink>
    uint16_t collect_each(uint16_t max, Sink &&sink) {
        if (this->is_broken()) [[unlikely]] {
            return 0;
        }
        // Normally nothing is staged here (bursts collect before they add): those loops
        // carry no check for it, and only they take groups.
        if constexpr (InOrder) {
            return staged_ ? collect_in_order<true, Simd::scalar>(sink, max) : collect_in_order<false, S>(sink, max);
        } else {
            return staged_ ? collect_any_order<true, Simd::scalar>(sink, max) : collect_any_order<false, S>(sink, max);
        }
    }

    // How many completions collect() would return now, at most max, without collecting
    // them (see SplitQueue::ready): a walk over the used descriptors from the cursor that
    // checks each id as collect() does and stops at the first it would refuse.
    [[nodiscard]] uint16_t ready(uint16_t max) const {
        if (this->is_broken()) [[unlikely]] {
            return 0;
        }
        uint16_t last = last_used_;
        uint16_t wrap = used_wrap_;
        int32_t batch_end = InOrder ? batch_end_ : -1;
        uint16_t n = 0;
        for (uint32_t left = in_flight_; n < max && left != 0; --left) {
            if (batch_end < 0) {
                if (staged_ && last == staged_slot_) {
                    break; // the device cannot have reached it
                }
                if (slot_state(load_acquire(desc_[last].flags), wrap) != SlotState::used) {
                    break;
                }
                const uint32_t id = read_once(desc_[last].id);
                if (id >= size_ || state_[id].ndesc == 0) [[unlikely]] {
                    break;
                }
                // IN_ORDER: the id ends a batch that starts at the cursor.
                batch_end = InOrder ? int32_t(id) : -1;
                if constexpr (!InOrder) {
                    last = step(last, wrap, state_[id].ndesc);
                }
            }
            if constexpr (InOrder) {
                const uint16_t head = last;
                if (state_[head].ndesc == 0) [[unlikely]] {
                    break;
                }
                last = step(last, wrap, state_[head].ndesc);
                if (head == batch_end) {
                    batch_end = -1;
                }
            }
            ++n;
        }
        return n;
    }

    void disable_interrupts() { write_event(*driver_event_, event_flags_disable, 0); }
    [[nodiscard]] bool enable_interrupts() {
        if (this->event_idx_) {
            write_event(*driver_event_, event_flags_desc, used_index());
        } else {
            write_event(*driver_event_, event_flags_enable, 0);
        }
        full_fence(this->order_);
        if constexpr (InOrder) {
            // A batch the device completed and collect() stopped inside: the rest of it is
            // done, though the slot at the cursor (one the device skipped) does not say so.
            if (batch_end_ >= 0) {
                return true;
            }
        }
        return device_may_have_used() && used_state() == SlotState::used;
    }

    template <class F>
    uint32_t detach_unused(F &&f) {
        const uint32_t n = this->detach_all(std::forward<F>(f));
        restart();
        return n;
    }
    bool reset() {
        if (in_flight_ != 0) {
            return false;
        }
        restart();
        return true;
    }

private:
    enum class SlotState { posted, used, invalid };

    static uint16_t flags_of(const Segment &s, bool more) {
        return static_cast<uint16_t>((s.device_writes ? desc_f_write : 0) | (more ? desc_f_next : 0));
    }
    uint16_t alloc_id() {
        if constexpr (InOrder) {
            return next_avail_; // IN_ORDER: id = head slot, so completion order is ring order
        }
        const uint16_t id = free_id_;
        free_id_ = this->links_[id];
        return id;
    }
    void write_body(uint16_t slot, uint64_t addr, uint32_t len, uint16_t id) {
        PackedDesc &d = desc_[slot];
        d.addr = addr;
        d.len = len;
        d.id = id;
    }
    void advance() {
        if (++next_avail_ == size_) {
            next_avail_ = 0;
            avail_wrap_ ^= 1;
            avail_bits_ ^= desc_f_avail | desc_f_used;
        }
    }
    // Holds back the burst's first head; later heads go out at once (the device cannot
    // reach them before the first).
    void stage_head(uint16_t slot, uint16_t flags, uint16_t id) {
        if (!staged_) {
            staged_ = true;
            staged_slot_ = slot;
            staged_flags_ = flags;
            staged_first_id_ = id;
            staged_count_ = 0;
        } else {
            desc_[slot].flags = flags;
        }
    }

    // The slot `ndesc` after `slot`, flipping `wrap` when it passes the end.
    uint16_t step(uint16_t slot, uint16_t &wrap, uint16_t ndesc) const {
        uint32_t next = uint32_t(slot) + ndesc;
        if (next >= size_) {
            next -= size_;
            wrap ^= 1;
        }
        return uint16_t(next);
    }

    // False when the slot at last_used_ is one the device cannot have reached yet.
    bool device_may_have_used() const { return in_flight_ != 0 && !(staged_ && last_used_ == staged_slot_); }

    // What a slot's flags say under the used wrap counter: still our posted descriptor, a
    // used one, or something neither side should have written.
    static SlotState slot_state(uint16_t f, uint16_t wrap) {
        const bool avail = f & desc_f_avail;
        const bool used = f & desc_f_used;
        if (avail == used) {
            return avail == bool(wrap) ? SlotState::used : SlotState::invalid;
        }
        return avail == bool(wrap) ? SlotState::posted : SlotState::invalid;
    }
    SlotState used_state() const { return slot_state(load_acquire(desc_[last_used_].flags), used_wrap_); }

    // The consumer side's state, held in locals while one collect runs (the sink's stores
    // could alias this object and would make the compiler reload members per buffer).
    struct Cursor {
        PackedDesc *desc;
        detail::BufferState<Cookie> *state;
        uint16_t *id_next;
        uint16_t size;
        uint16_t last;
        uint16_t wrap;
        uint16_t free_id;
        uint16_t free_tail;
        uint32_t left; // buffers still in flight
        uint32_t freed = 0;
        uint16_t staged_slot;
    };
    Cursor cursor() {
        return Cursor{desc_,    state_, this->links_, uint16_t(size_), last_used_, used_wrap_, free_id_,
                      free_tail_, in_flight_,   0,              staged_slot_};
    }
    void store(const Cursor &c) {
        last_used_ = c.last;
        used_wrap_ = c.wrap;
        free_id_ = c.free_id;
        free_tail_ = c.free_tail;
        num_free_ += c.freed;
        in_flight_ = c.left;
    }

    // Reads and checks the used descriptor at the cursor; false if none yet or (marked)
    // invalid. Staged: some buffers were added and not published (see collect_each).
    template <bool Staged>
    bool read_used(const Cursor &c, uint16_t &id, uint32_t &len) {
        if (c.left == 0 || (Staged && c.last == c.staged_slot)) {
            return false; // nothing the device can have reached
        }
        const PackedDesc &d = c.desc[c.last];
        const SlotState s = slot_state(load_acquire(d.flags), c.wrap);
        if (s != SlotState::used) {
            if (s == SlotState::invalid) [[unlikely]] {
                this->mark_broken(Broken::packed_flags_invalid);
            }
            return false;
        }
        const uint32_t raw_id = read_once(d.id);
        len = read_once(d.len);
        if (raw_id >= c.size) [[unlikely]] {
            this->mark_broken(Broken::used_id_out_of_range);
            return false;
        }
        if (c.state[raw_id].ndesc == 0) [[unlikely]] {
            this->mark_broken(Broken::used_id_not_in_flight);
            return false;
        }
        if constexpr (Staged) {
            if (names_staged(c, uint16_t(raw_id))) {
                this->mark_broken(Broken::used_id_unpublished);
                return false;
            }
        }
        if (!this->check_len(c.state[raw_id].writable, len)) [[unlikely]] {
            return false;
        }
        id = uint16_t(raw_id);
        return true;
    }

    // Cold (a collect between add and publish): does a used id name a buffer added since the
    // last publish? Any order: the staged ids left the free list in order from
    // staged_first_id_ (their links are private and untouched while they are out).
    // IN_ORDER: the id is the last head of a batch, so the batch must end before the staged
    // slot in ring order from the cursor.
    [[gnu::cold]] bool names_staged(const Cursor &c, uint16_t id) const {
        if constexpr (InOrder) {
            const auto ahead = [&](uint16_t slot) { return uint16_t(slot >= c.last ? slot - c.last : slot + c.size - c.last); };
            return ahead(id) >= ahead(c.staged_slot);
        } else {
            uint16_t k = staged_first_id_;
            for (uint16_t i = 0; i < staged_count_; ++i) {
                if (k == id) {
                    return true;
                }
                k = c.id_next[k];
            }
            return false;
        }
    }

    void release(Cursor &c, uint16_t id) const {
        auto &s = c.state[id];
        c.last = uint16_t(c.last + s.ndesc);
        if (c.last >= c.size) {
            c.last = uint16_t(c.last - c.size);
            c.wrap ^= 1;
        }
        c.freed += s.ndesc;
        s.ndesc = 0;
        if constexpr (!InOrder) {
            // FIFO (see SplitQueue::collect_any_order): ids completed in order are reused in
            // order, so a device that completes in order sees id == slot lap after lap.
            // Linked even when the list was empty (free_tail is then the last id handed
            // out), so ids taken before and after stay one list (what names_staged walks).
            c.id_next[c.free_tail] = id;
            if (c.left == c.size) {
                c.free_id = id; // every id was out: the list was empty
            }
            c.free_tail = id;
        }
        --c.left;
    }

    // Groups are taken when four whole used descriptors sit in one line at the cursor
    // (and four buffers are in flight, and four are wanted).
    template <Simd S>
    static constexpr bool groups = sizeof(detail::BufferState<Cookie>) == 16 &&
                                   (InOrder ? SimdGroup<S>::packed_in_order_groups : SimdGroup<S>::packed_any_groups);
    static bool group_at(const Cursor &c, uint16_t done, uint16_t max) {
        return (c.last & (simd_group - 1)) == 0 && max - done >= simd_group && c.left >= simd_group &&
               c.last + simd_group <= c.size;
    }
    static uint16_t used_bits(const Cursor &c) { return c.wrap ? uint16_t(desc_f_avail | desc_f_used) : uint16_t(0); }

    template <bool Staged, Simd S, class Sink>
    uint16_t collect_any_order(Sink &sink, uint16_t max) {
        Cursor c = cursor();
        uint16_t done = 0;
        uint16_t id;
        uint32_t len;
        while (done < max) {
            if constexpr (groups<S>) {
                uint32_t ids[simd_group], lens[simd_group];
                if (group_at(c, done, max) && SimdGroup<S>::packed_used(c.desc + c.last, used_bits(c), c.size, ids, lens)) {
                    // Buffer by buffer, so an id repeated in the group is not in flight the
                    // second time; the first one odd here goes to read_used, which decides.
                    uint16_t k = 0;
                    for (; k < simd_group; ++k) {
                        const auto &st = c.state[ids[k]];
                        if (st.ndesc != 1 || lens[k] > st.writable) [[unlikely]] {
                            break;
                        }
                        sink(done++, st.cookie, lens[k]);
                        release(c, uint16_t(ids[k]));
                    }
                    if (k == simd_group) {
                        continue;
                    }
                }
            }
            if (!read_used<Staged>(c, id, len)) {
                break;
            }
            sink(done++, c.state[id].cookie, len);
            release(c, id);
        }
        store(c);
        return done;
    }

    // IN_ORDER: a used descriptor may carry the id of the last buffer of a batch; every
    // buffer before it in ring order completes too (length 0: only the last is known).
    template <bool Staged, Simd S, class Sink>
    uint16_t collect_in_order(Sink &sink, uint16_t max) {
        Cursor c = cursor();
        int32_t batch_end = batch_end_;
        uint32_t batch_len = batch_len_;
        uint16_t done = 0;
        while (done < max) {
            if constexpr (groups<S>) {
                // Four batches of one (each used descriptor names its own slot), as a
                // device that writes every used descriptor leaves them.
                uint32_t lens[simd_group];
                if (batch_end < 0 && group_at(c, done, max) &&
                    SimdGroup<S>::packed_in_order(c.desc + c.last, c.state + c.last, used_bits(c), c.last, lens)) {
                    for (uint16_t k = 0; k < simd_group; ++k) {
                        const uint16_t head = c.last;
                        sink(done++, c.state[head].cookie, lens[k]);
                        release(c, head);
                    }
                    continue;
                }
            }
            if (batch_end < 0) {
                uint16_t id;
                uint32_t len;
                if (!read_used<Staged>(c, id, len)) {
                    break;
                }
                if (id == c.last) { // a batch of one, as most devices write them
                    sink(done++, c.state[id].cookie, len);
                    release(c, id);
                    continue;
                }
                batch_end = id;
                batch_len = len;
            }
            const uint16_t head = c.last; // oldest buffer's id is its head slot
            const bool last = head == batch_end;
            sink(done++, c.state[head].cookie, last ? batch_len : 0);
            release(c, head);
            if (last) {
                batch_end = -1;
            }
        }
        batch_end_ = batch_end;
        batch_len_ = batch_len;
        store(c);
        return done;
    }

    void restart() {
        std::memset(ring_.va, 0, layout_.total);
        for (uint32_t i = 0; i < size_; ++i) {
            this->links_[i] = uint16_t(i + 1);
        }
        free_id_ = 0;
        free_tail_ = uint16_t(size_ - 1);
        num_free_ = size_;
        next_avail_ = 0;
        avail_wrap_ = 1;
        avail_bits_ = desc_f_avail;
        last_used_ = 0;
        used_wrap_ = 1;
        staged_ = false;
        staged_count_ = 0;
        staged_first_id_ = 0;
        added_ = 0;
        batch_end_ = -1;
        batch_len_ = 0;
        this->broken_ = Broken::none;
        this->in_flight_ = 0;
    }

    PackedDesc *desc_ = nullptr;
    PackedEvent *driver_event_ = nullptr; // we write: do we want used notifications
    PackedEvent *device_event_ = nullptr; // device writes: does it want kicks
    DmaRegion ring_{};
    PackedLayout layout_{};

    // Producer side.
    alignas(cache_line) uint16_t next_avail_ = 0;
    uint16_t avail_wrap_ = 1;
    uint16_t avail_bits_ = desc_f_avail;
    uint16_t free_id_ = 0;
    uint16_t free_tail_ = 0; // last id of the free list (consumer side appends there)
    uint32_t num_free_ = 0;
    uint16_t staged_slot_ = 0;
    uint16_t staged_flags_ = 0;
    uint16_t staged_first_id_ = 0; // the staged buffers: this id and the next ones taken
    uint16_t staged_count_ = 0;
    uint32_t added_ = 0; // slots published since the last notify decision
    bool staged_ = false;

    // Consumer side.
    alignas(cache_line) uint16_t last_used_ = 0;
    uint16_t used_wrap_ = 1;
    int32_t batch_end_ = -1;
    uint32_t batch_len_ = 0;
};

} // namespace vpmd::ring
