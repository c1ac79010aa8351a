// Split virtqueue, driver view (virtio 1.2 section 2.7): post buffers, publish them with
// one avail-index store, decide whether to notify, collect used buffers after checking
// every value the device wrote.
#pragma once

#include <algorithm>
#include <cstring>

#include "dataplane/ring/driver_state.hpp"
#include "dataplane/ring/index.hpp"
#include "dataplane/ring/simd.hpp"

namespace vpmd::ring {

// InOrder: the IN_ORDER policy, fixed by the type so add/collect carry no runtime branch
// on it; init() refuses a configuration that negotiated otherwise.
template <class Cookie, bool InOrder = false>
class SplitQueue : public detail::DriverState<Cookie> {
    using Base = detail::DriverState<Cookie>;
    using Base::in_flight_;
    using Base::size_;
    using Base::state_;

public:
    using cookie_type = Cookie;
    static constexpr bool in_order = InOrder;
    static constexpr bool packed = false;

    [[nodiscard]] static constexpr bool valid_size(uint32_t size) {
        return size != 0 && size <= max_queue_size && (size & (size - 1)) == 0;
    }
    [[nodiscard]] static constexpr size_t ring_bytes(uint32_t size) {
        return SplitLayout::of(size).total;
    }

    // Lays the ring out in `ring` (zeroed here) and, with max_indirect, indirect tables
    // in `indirect`; private state goes in `priv`, or on the heap when none is given.
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
        layout_ = SplitLayout::of(cfg.size);
        auto *base = static_cast<char *>(ring.va);
        desc_ = reinterpret_cast<SplitDesc *>(base + layout_.desc);
        avail_ = reinterpret_cast<SplitAvail *>(base + layout_.avail);
        used_ = reinterpret_cast<SplitUsed *>(base + layout_.used);
        avail_ring_ = reinterpret_cast<uint16_t *>(avail_ + 1);
        used_event_ = avail_ring_ + cfg.size;
        used_ring_ = reinterpret_cast<SplitUsedElem *>(used_ + 1);
        avail_event_ = reinterpret_cast<uint16_t *>(used_ring_ + cfg.size);
        mask_ = static_cast<uint16_t>(cfg.size - 1);
        restart();
        return SetupError::ok;
    }

    // Device addresses of the three parts, for the transport to hand to the device.
    [[nodiscard]] uint64_t desc_addr() const { return ring_.device_addr + layout_.desc; }
    [[nodiscard]] uint64_t driver_area_addr() const { return ring_.device_addr + layout_.avail; }
    [[nodiscard]] uint64_t device_area_addr() const { return ring_.device_addr + layout_.used; }
    [[nodiscard]] void *ring_va() const { return ring_.va; }

    // Descriptors free for new buffers (a chained buffer of n segments needs n).
    [[nodiscard]] uint32_t free_descs() const { return num_free_; }
    // Where the next buffer goes and where the next used entry is expected (for
    // transports that save ring state, e.g. vhost-user SET_VRING_BASE).
    [[nodiscard]] uint16_t avail_index() const { return avail_idx_.raw(); }
    [[nodiscard]] uint16_t used_index() const { return last_used_.raw(); }

    // The id the next add_chain/add_burst buffer will get (its head index): lets a caller
    // place per-buffer side data (e.g. a virtio-net header) before adding.
    [[nodiscard]] uint16_t next_id() const { return free_head_; }

    // Posts one buffer of n segments. False when the queue is broken or full; nothing
    // is written then.
    bool add_chain(const Segment *segs, uint16_t n, Cookie cookie, ChainMode mode = ChainMode::chained) {
        if (this->is_broken() || n == 0) [[unlikely]] {
            return false;
        }
        const bool indirect = this->use_indirect(mode, n);
        const uint16_t needed = indirect ? 1 : n;
        if (num_free_ < needed) {
            return false;
        }
        const uint16_t head = alloc_head();
        note_first_unpublished();
        uint16_t last = head;
        if (indirect) {
            auto *table = this->template indirect_table<SplitDesc>(head);
            for (uint16_t i = 0; i < n; ++i) {
                const uint16_t more = i + 1 < n ? desc_f_next : 0;
                table[i] = SplitDesc{segs[i].addr, segs[i].len, flags_of(segs[i], more), uint16_t(i + 1)};
            }
            desc_[head] = SplitDesc{this->indirect_addr(head), uint32_t(n * sizeof(SplitDesc)), desc_f_indirect, 0};
            take_descs(next_of(head), 1);
        } else {
            uint16_t idx = head;
            for (uint16_t i = 0; i < n; ++i) {
                const uint16_t nxt = next_of(idx);
                const uint16_t more = i + 1 < n ? desc_f_next : 0;
                desc_[idx] = SplitDesc{segs[i].addr, segs[i].len, flags_of(segs[i], more), nxt};
                last = idx;
                idx = nxt;
            }
            take_descs(idx, n);
        }
        state_[head] = detail::BufferState<Cookie>{Base::writable_bytes(segs, n), needed, last, cookie};
        set_avail(avail_idx_, head);
        ++avail_idx_;
        ++in_flight_;
        return true;
    }

    // Posts up to n single-segment buffers; returns how many fit (0 when none).
    uint16_t add_burst(const Segment *segs, const Cookie *cookies, uint16_t n) {
        return add_each(cookies, n, [segs](uint16_t i) { return segs[i]; });
    }

    // As add_burst, with buffer i's segment from seg_of(i), called once for each buffer
    // added (i = 0 .. returned count - 1, in order): callers build no array. Hot
    // (rx refill, tx): ring state lives in locals for the loop, since the descriptor and
    // state stores could alias this object and would make the compiler reload it.
    // S: with IN_ORDER (heads in ring order) a vector ISA writes whole cache lines of four
    // descriptors with one store (or two).
    template <Simd S = Simd::scalar, class SegOf>
    uint16_t add_each(const Cookie *cookies, uint16_t n, SegOf &&seg_of) {
        if (this->is_broken()) [[unlikely]] {
            return 0;
        }
        n = static_cast<uint16_t>(std::min<uint32_t>(n, num_free_));
        note_first_unpublished();
        SplitDesc *const desc = desc_;
        uint16_t *const avail_ring = avail_ring_;
        detail::BufferState<Cookie> *const state = state_;
        const uint16_t *const next = this->links_;
        const uint16_t mask = mask_;
                const uint16_t pos = avail_idx_.raw();
        uint16_t head = free_head_;
        for (uint16_t i = 0; i < n; ++i) {
            if constexpr (InOrder && SimdGroup<S>::group_stores) {
                if ((head & (simd_group - 1)) == 0 && n - i >= simd_group && uint32_t(head) + simd_group <= uint32_t(mask) + 1) {
                    uint64_t w[2 * simd_group];
                    for (uint16_t k = 0; k < simd_group; ++k, ++i, ++head) {
                        const Segment s = seg_of(i);
                        w[2 * k] = s.addr;
                        w[2 * k + 1] = s.len | uint64_t(flags_of(s, 0)) << 32;
                        state[head] = detail::BufferState<Cookie>{s.device_writes ? s.len : 0, 1, head, cookies[i]};
                        store_if_changed(avail_ring[uint16_t(pos + i) & mask], head);
                    }
                    SimdGroup<S>::store4(desc + (head - simd_group), w);
                    head = uint16_t(head & mask);
                    --i; // the loop's ++i
                    continue;
                }
            }
            const Segment s = seg_of(i);
            desc[head] = SplitDesc{s.addr, s.len, flags_of(s, 0), 0};
            state[head] = detail::BufferState<Cookie>{s.device_writes ? s.len : 0, 1, head, cookies[i]};
            store_if_changed(avail_ring[uint16_t(pos + i) & mask], head);
            head = InOrder ? uint16_t((head + 1) & mask) : next[head];
        }
        free_head_ = head;
        num_free_ -= n;
        avail_idx_ += n;
        in_flight_ += n;
        return n;
    }

    // Makes everything added since the last publish visible with one release store.
    void publish() {
        published_idx_ = avail_idx_;
        store_release(avail_->idx, avail_idx_.raw());
    }

    // After publish(): must the device be kicked? Honours NO_NOTIFY or avail_event.
    [[nodiscard]] bool needs_notify() {
        const Idx16 old = notified_idx_;
        const Idx16 now = avail_idx_;
        if (now == old) {
            return false;
        }
        notified_idx_ = now;
        full_fence(this->order_);
        if (this->event_idx_) {
            return need_event(Idx16(read_once(*avail_event_)), now, old);
        }
        return (read_once(used_->flags) & used_f_no_notify) == 0;
    }

    // Collects up to max used buffers. Stops at the first invalid entry and marks the
    // queue broken; buffers returned before it are genuine.
    uint16_t collect(Used<Cookie> *out, uint16_t max) {
        return collect_each(max, [out](uint16_t i, Cookie c, uint32_t len) { out[i] = Used<Cookie>{c, len}; });
    }

    // As collect(), handing each completion to sink(index, cookie, len) as it is checked,
    // so a burst function consumes them in one pass with no intermediate array.
    // S: a vector ISA checks groups of four used entries at once (simd.hpp).
    template <Simd S = Simd::scalar, class Sink>
    uint16_t collect_each(uint16_t max, Sink &&sink) {
        if (this->is_broken()) [[unlikely]] {
            return 0;
        }
        const Idx16 used_idx(load_acquire(used_->idx));
        const uint16_t pending = used_idx.since(last_used_);
        // Buffers added since the last publish() are invisible to the device: it cannot
        // have completed them (IN_ORDER: the oldest buffers are the published ones).
        const uint16_t unpublished = avail_idx_.since(published_idx_);
        if (pending > in_flight_ - unpublished) [[unlikely]] {
            this->mark_broken(Broken::used_idx_jump);
            return 0;
        }
        if constexpr (InOrder) {
            return collect_in_order<S>(sink, max, pending);
        } else {
            // Normally nothing is unpublished here (bursts collect before they add): that
            // loop carries no check for it, and only it takes groups.
            return unpublished == 0 ? collect_any_order<false, S>(sink, max, pending, 0)
                                    : collect_any_order<true, Simd::scalar>(sink, max, pending, unpublished);
        }
    }

    // How many completions collect() would return now, at most max, without collecting
    // them (rx_queue_count, descriptor status). A device that is wrong gets 0: collect()
    // is where it is found out and the queue marked broken.
    [[nodiscard]] uint16_t ready(uint16_t max) const {
        if (this->is_broken()) [[unlikely]] {
            return 0;
        }
        const uint16_t pending = Idx16(load_acquire(used_->idx)).since(last_used_);
        if (pending > in_flight_ - avail_idx_.since(published_idx_)) [[unlikely]] {
            return 0;
        }
        return std::min(pending, max);
    }

    // Used-buffer notifications from the device (interrupts / callfd kicks).
    void disable_interrupts() {
        avail_->flags = avail_f_no_interrupt;
        if (this->event_idx_) {
            // With EVENT_IDX flags are ignored; park used_event half a ring-lap away.
            write_once(*used_event_, (last_used_ + 0x8000).raw());
        }
    }
    // Returns true if used buffers are already waiting (poll again before sleeping).
    [[nodiscard]] bool enable_interrupts() {
        avail_->flags = 0;
        if (this->event_idx_) {
            write_once(*used_event_, last_used_.raw());
        }
        full_fence(this->order_);
        return Idx16(load_acquire(used_->idx)) != last_used_;
    }

    // Stop/reset: hands back every buffer still posted and returns the queue to its
    // initial state (indices 0, ring zeroed). Only call with the device stopped.
    template <class F>
    uint32_t detach_unused(F &&f) {
        const uint32_t n = this->detach_all(std::forward<F>(f));
        restart();
        return n;
    }

    // Restarts a queue that holds no buffers; false (and nothing done) if some are posted.
    bool reset() {
        if (in_flight_ != 0) {
            return false;
        }
        restart();
        return true;
    }

private:
    // Writes an avail ring entry only when it changes. With IN_ORDER the entries repeat
    // lap after lap, so the ring's lines stay clean and the device's cached copies valid:
    // no line crosses between cores for them (DPDK's virtio does the same).
    void set_avail(Idx16 pos, uint16_t head) { store_if_changed(avail_ring_[pos.raw() & mask_], head); }
    static void store_if_changed(uint16_t &slot, uint16_t v) {
        if (slot != v) {
            slot = v;
        }
    }

    static uint16_t flags_of(const Segment &s, uint16_t more) {
        return static_cast<uint16_t>((s.device_writes ? desc_f_write : 0) | more);
    }
    uint16_t alloc_head() const { return free_head_; }
    // The first add after a publish starts the unpublished run (once per call, not per
    // buffer): where is_unpublished() looks.
    void note_first_unpublished() {
        if constexpr (!InOrder) {
            if (avail_idx_ == published_idx_) {
                published_head_ = free_head_;
            }
        }
    }
    // Next descriptor after idx in allocation order (private copy; the ring's may be forged).
    uint16_t next_of(uint16_t idx) const { return InOrder ? uint16_t((idx + 1) & mask_) : this->links_[idx]; }
    void take_descs(uint16_t new_free_head, uint16_t n) {
        free_head_ = new_free_head;
        num_free_ -= n;
    }

    template <Simd S>
    static constexpr bool groups = sizeof(detail::BufferState<Cookie>) == 16 &&
                                   (InOrder ? SimdGroup<S>::split_in_order_groups : SimdGroup<S>::split_any_groups);
    // Four used entries from `done` on, none past the end of the ring.
    bool group_at(uint16_t done, uint16_t n) const {
        return n - done >= simd_group && uint32_t((last_used_ + done).raw() & mask_) + simd_group <= size_;
    }

    template <bool SomeUnpublished, Simd S, class Sink>
    uint16_t collect_any_order(Sink &sink, uint16_t max, uint16_t pending, uint16_t unpublished) {
        // Ring state in locals for the loop (see collect_in_order), written back after it.
        // Freed chains join the tail of the free list (FIFO): buffers the device completes
        // in order are handed out again in the same order, so the avail ring's entries
        // repeat lap after lap and set_avail leaves their lines clean (as with IN_ORDER).
        detail::BufferState<Cookie> *const state = state_;
        uint16_t *const links = this->links_;
        const SplitUsedElem *const used = used_ring_;
        const uint16_t mask = mask_;
        const uint16_t base = last_used_.raw();
        uint16_t free_head = free_head_, free_tail = free_tail_;
        uint32_t num_free = num_free_;
        auto release_one = [&](detail::BufferState<Cookie> &st, uint16_t head) {
            // The link is written even when the list was empty: free_tail is then the last
            // descriptor handed out, so buffers added before and after this release stay
            // one chain of links (what is_unpublished() walks).
            links[free_tail] = head;
            if (num_free == 0) {
                free_head = head;
            }
            free_tail = st.last;
            num_free += st.ndesc;
            st.ndesc = 0;
        };
        const uint16_t n = std::min(pending, max);
        uint16_t done = 0;
        for (; done < n; ++done) {
            if constexpr (groups<S>) {
                uint32_t ids[simd_group], lens[simd_group];
                if (group_at(done, n) && SimdGroup<S>::split_used(&used[uint16_t(base + done) & mask], size_, ids, lens)) {
                    // Buffer by buffer (see PackedQueue::collect_any_order); the first odd one
                    // is read again below, which decides.
                    uint16_t k = 0;
                    for (; k < simd_group; ++k) {
                        auto &st = state[ids[k]];
                        if (st.ndesc == 0 || lens[k] > st.writable) [[unlikely]] {
                            break;
                        }
                        sink(done++, st.cookie, lens[k]);
                        release_one(st, uint16_t(ids[k]));
                    }
                    if (k == simd_group) {
                        --done; // the loop's ++done
                        continue;
                    }
                }
            }
            const SplitUsedElem &e = used[uint16_t(base + done) & mask];
            const uint32_t id = read_once(e.id);
            uint32_t len = read_once(e.len);
            if (!check_used(id, len)) [[unlikely]] {
                break;
            }
            if constexpr (SomeUnpublished) {
                if (is_unpublished(uint16_t(id), unpublished)) {
                    this->mark_broken(Broken::used_id_unpublished);
                    break;
                }
            }
            auto &st = state[id];
            sink(done, st.cookie, len);
            release_one(st, uint16_t(id));
        }
        free_head_ = free_head;
        free_tail_ = free_tail;
        num_free_ = num_free;
        in_flight_ -= done;
        last_used_ += done;
        return done;
    }

    // IN_ORDER: buffers complete in ring order and the used index counts them, so the
    // oldest `pending` buffers are done. A buffer the device only read has no length to
    // report: its used entry is not even read (the device may have written just the last
    // entry of a batch, and not touching the used ring saves the cache lines the device is
    // writing). A writable buffer's entry must name exactly that buffer.
    template <Simd S, class Sink>
    uint16_t collect_in_order(Sink &sink, uint16_t max, uint16_t pending) {
        // Ring state in locals for the loop (as add_each): the sink's stores (mbuf fields)
        // could alias this object and would make the compiler reload every member per
        // buffer. Written back after the loop, whatever ended it.
        detail::BufferState<Cookie> *const state = state_;
        const SplitUsedElem *const used = used_ring_;
        const uint16_t mask = mask_;
        const uint16_t base = last_used_.raw();
        uint16_t head = oldest_;
        uint32_t freed = 0; // descriptors
        const uint16_t n = std::min(pending, max);
        uint16_t done = 0;
        for (; done < n; ++done) {
            if constexpr (groups<S>) {
                // Writable buffers (rx) four at a time: their entries name them in order.
                uint32_t lens[simd_group];
                if (state[head].writable != 0 && uint32_t(head) + simd_group <= size_ && group_at(done, n) &&
                    SimdGroup<S>::split_in_order(&used[uint16_t(base + done) & mask], state + head, head, lens)) {
                    for (uint16_t k = 0; k < simd_group; ++k, ++done) {
                        auto &st = state[head];
                        sink(done, st.cookie, lens[k]);
                        st.ndesc = 0; // one each: the group checked it
                        head = static_cast<uint16_t>((head + 1) & mask);
                    }
                    freed += simd_group;
                    --done; // the loop's ++done
                    continue;
                }
            }
            auto &st = state[head];
            uint32_t len = 0;
            if (st.writable != 0) {
                const SplitUsedElem &e = used[uint16_t(base + done) & mask];
                const uint32_t id = read_once(e.id);
                len = read_once(e.len);
                if (id != head) [[unlikely]] {
                    this->mark_broken(id >= size_ ? Broken::used_id_out_of_range : Broken::used_id_not_in_flight);
                    break;
                }
                if (!this->check_len(st.writable, len)) [[unlikely]] {
                    break;
                }
            }
            sink(done, st.cookie, len);
            const uint16_t nd = st.ndesc;
            st.ndesc = 0;
            freed += nd;
            head = static_cast<uint16_t>((head + nd) & mask);
        }
        oldest_ = head;
        num_free_ += freed;
        in_flight_ -= done;
        last_used_ += done;
        return done;
    }

    // Cold (a collect between add and publish): is `head` one of the `count` buffers added
    // since the last publish? They were taken from the free list in order from
    // published_head_, and their links (private memory) are untouched while they are out.
    [[gnu::cold]] bool is_unpublished(uint16_t head, uint16_t count) const {
        uint16_t h = published_head_;
        for (uint16_t k = 0; k < count; ++k) {
            if (h == head) {
                return true;
            }
            for (uint16_t d = 0, n = state_[h].ndesc; d < n; ++d) {
                h = next_of(h);
            }
        }
        return false;
    }

    bool check_used(uint32_t id, uint32_t &len) {
        if (id >= size_) {
            this->mark_broken(Broken::used_id_out_of_range);
            return false;
        }
        if (state_[id].ndesc == 0) {
            this->mark_broken(Broken::used_id_not_in_flight);
            return false;
        }
        return this->check_len(state_[id].writable, len);
    }

    void restart() {
        std::memset(ring_.va, 0, layout_.total);
        for (uint32_t i = 0; i < size_; ++i) {
            this->links_[i] = static_cast<uint16_t>((i + 1) & mask_);
        }
        free_head_ = 0;
        free_tail_ = static_cast<uint16_t>(size_ - 1);
        num_free_ = size_;
        oldest_ = 0;
        avail_idx_ = notified_idx_ = published_idx_ = last_used_ = Idx16(0);
        published_head_ = 0;
        this->broken_ = Broken::none;
        this->in_flight_ = 0;
    }

    // Shared ring memory.
    SplitDesc *desc_ = nullptr;
    SplitAvail *avail_ = nullptr;
    uint16_t *avail_ring_ = nullptr;
    uint16_t *used_event_ = nullptr;
    SplitUsed *used_ = nullptr;
    SplitUsedElem *used_ring_ = nullptr;
    uint16_t *avail_event_ = nullptr;
    DmaRegion ring_{};
    SplitLayout layout_{};
    uint16_t mask_ = 0;

    // Producer side.
    alignas(cache_line) Idx16 avail_idx_;
    Idx16 notified_idx_;
    Idx16 published_idx_;         // avail_idx_ at the last publish()
    uint16_t published_head_ = 0; // head of the first buffer added after it (any order)
    uint16_t free_head_ = 0;
    uint16_t free_tail_ = 0; // last descriptor of the free list (when num_free_ != 0)
    uint32_t num_free_ = 0;

    // Consumer side.
    alignas(cache_line) Idx16 last_used_;
    uint16_t oldest_ = 0; // IN_ORDER: head of the oldest buffer in flight
};

} // namespace vpmd::ring
