// The driver views (split and packed, any order and IN_ORDER) against a device that may be
// honest (the ring core's device view) or write arbitrary bytes anywhere in the ring
// (descriptors, used ring, indices, flags, event areas) between the driver's calls.
// Whatever the device does, the driver must: read nothing out of bounds (ASan), return only
// cookies it posted and still had in flight, never one twice, keep its own count of
// buffers in flight exact, never hand back a buffer the device could not see yet (added,
// not published), never loop past its bounds, and give every posted cookie back through
// collect or detach_unused. Each instruction set's add/collect paths (simd.hpp) run too.
#include <set>

#include "fuzz_input.hpp"
#include "mock/ring_pair.hpp"

namespace {

using namespace vpmd::ring;
using namespace vpmd::test;
using vpmd::fuzz::Input;

constexpr int max_steps = 4096;

template <class Tag, bool InOrder>
void run(Input &in) {
    const uint8_t opts = in.byte();
    const bool indirect = opts & 1;
    uint64_t f = feature::version_1 | (InOrder ? feature::in_order : 0);
    f |= indirect ? feature::indirect_desc : 0;
    f |= (opts & 2) ? feature::event_idx : 0;
    const uint32_t size = Tag::packed ? 1 + in.byte() % 64 : 1u << (in.byte() % 7);
    using Pair = RingPair<Tag, uint32_t, InOrder>;
    Pair p(size, f, indirect ? 4 : 0, 16); // few packet buffers: cookies share them, the ring does not care
    if (p.init() != SetupError::ok) {
        return;
    }
    const size_t ring_bytes = Pair::Queue::ring_bytes(size);
    std::set<uint32_t> in_flight;
    std::set<uint32_t> unpublished; // added since the last publish(): invisible to the device
    uint32_t next_cookie = 0;
    std::vector<typename Pair::Chain> taken;

    auto returned = [&](uint32_t cookie) {
        FUZZ_REQUIRE(in_flight.erase(cookie) == 1); // posted, in flight, not returned before
    };
    auto check_counts = [&] {
        FUZZ_REQUIRE(p.q.in_flight() == in_flight.size());
        FUZZ_REQUIRE(p.q.free_descs() <= size);
    };

    for (int step = 0; step < max_steps && !in.empty(); ++step) {
        switch (in.byte() % 9) {
        case 0: { // a chain of 1..4 segments, some device-writable
            const uint16_t n = uint16_t(1 + in.byte() % 4);
            const uint8_t w = in.byte();
            Segment segs[4];
            for (uint16_t i = 0; i < n; ++i) {
                segs[i] = p.seg(next_cookie * 4 + i, 16 + in.byte() * 7, (w >> i) & 1);
            }
            if (p.q.add_chain(segs, n, next_cookie, (w & 0x80) ? ChainMode::indirect : ChainMode::chained)) {
                in_flight.insert(next_cookie);
                unpublished.insert(next_cookie);
            }
            ++next_cookie;
            break;
        }
        case 1: { // a burst of single buffers
            const uint16_t n = uint16_t(in.byte() % 9);
            Segment segs[8];
            uint32_t cookies[8];
            const bool w = in.byte() & 1;
            for (uint16_t i = 0; i < n; ++i) {
                cookies[i] = next_cookie + i;
                segs[i] = p.seg(cookies[i] * 4, 64, w);
            }
            const uint16_t added = p.q.add_burst(segs, cookies, n);
            FUZZ_REQUIRE(added <= n);
            for (uint16_t i = 0; i < added; ++i) {
                in_flight.insert(cookies[i]);
                unpublished.insert(cookies[i]);
            }
            next_cookie += n;
            break;
        }
        case 2:
            p.q.publish();
            unpublished.clear();
            (void)p.q.needs_notify();
            break;
        case 3: { // the honest device takes what it sees
            for (int k = in.byte() % 5; k > 0; --k) {
                typename Pair::Chain c;
                if (!p.dev.take(c)) {
                    break;
                }
                taken.push_back(c);
            }
            break;
        }
        case 4: { // ... and completes some of it
            const uint8_t k = in.byte();
            for (int i = 0; i < (k % 5) && !taken.empty(); ++i) {
                const size_t pick = InOrder ? 0 : in.byte() % taken.size();
                const auto c = taken[pick];
                taken.erase(taken.begin() + long(pick));
                (void)p.dev.put_used(c, in.u16() % (c.writable_len + 1));
            }
            p.dev.publish_used();
            (void)p.dev.needs_interrupt();
            break;
        }
        case 5: { // a hostile write: up to 8 arbitrary bytes anywhere in the ring
            uint8_t junk[8];
            const size_t len = 1 + in.byte() % 8;
            const size_t off = in.u16() % ring_bytes;
            const size_t k = in.bytes(junk, len < ring_bytes - off ? len : ring_bytes - off);
            std::memcpy(p.ring() + off, junk, k);
            break;
        }
        case 6: { // collect
            Used<uint32_t> out[8];
            const uint16_t max = uint16_t(1 + in.byte() % 8);
            // ready() counts what collect() then returns, unless collect() finds the
            // device out (rx_queue_count and descriptor status read it).
            const uint16_t ready = p.q.ready(max);
            const uint16_t got = p.q.collect(out, max);
            FUZZ_REQUIRE(got <= max);
            FUZZ_REQUIRE(ready == got || p.q.is_broken());
            for (uint16_t i = 0; i < got; ++i) {
                FUZZ_REQUIRE(!unpublished.contains(out[i].cookie));
                returned(out[i].cookie);
            }
            break;
        }
        case 7:
            if (in.byte() & 1) {
                (void)p.q.enable_interrupts();
            } else {
                p.q.disable_interrupts();
            }
            break;
        case 8: { // stop: everything still posted comes back
            p.q.detach_unused([&](uint32_t c) { returned(c); });
            FUZZ_REQUIRE(in_flight.empty());
            FUZZ_REQUIRE(p.q.free_descs() == size);
            unpublished.clear();
            taken.clear();
            FUZZ_REQUIRE(p.init() == SetupError::ok); // the device restarts at index 0 too
            break;
        }
        }
        check_counts();
    }
    p.q.detach_unused([&](uint32_t c) { returned(c); });
    FUZZ_REQUIRE(in_flight.empty());
}

template <Simd S>
void run_layout(Input &in, uint8_t pick) {
    switch (pick % 4) {
    case 0: run<SplitTag<S>, false>(in); break;
    case 1: run<SplitTag<S>, true>(in); break;
    case 2: run<PackedTag<S>, false>(in); break;
    case 3: run<PackedTag<S>, true>(in); break;
    }
}

} // namespace

// The first byte picks the layout, IN_ORDER and the instruction set of add/collect (one
// this CPU lacks runs scalar).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Input in(data, size);
    const uint8_t pick = in.byte();
    const Simd s = all_simd[(pick >> 2) % 3];
    switch (cpu_runs(s) ? s : Simd::scalar) {
    case Simd::scalar: run_layout<Simd::scalar>(in, pick); break;
    case Simd::avx2: run_layout<Simd::avx2>(in, pick); break;
    case Simd::avx512: run_layout<Simd::avx512>(in, pick); break;
    }
    return 0;
}
