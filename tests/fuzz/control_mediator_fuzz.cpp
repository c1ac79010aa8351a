// The software-mediated control queue's device side (ControlMediator::serve) on whatever a
// driver posts: chains of any shape (no ack, writable command, split headers, long data)
// carrying any class, command and payload, plus raw bytes scribbled into the ring. The
// mediator must ack or nack each command it can reach, keep its filter within bounds, and
// never read or write outside the chain it was given.
#include "drivers/transport/mediated/control_mediator.hpp"
#include "fuzz_input.hpp"
#include "mock/ring_pair.hpp"

namespace {

using namespace vpmd::ring;
using namespace vpmd::test;
using vpmd::fuzz::Input;
namespace med = vpmd::mediated;

constexpr uint16_t max_pairs = 4;

template <class Tag>
void run(Input &in) {
    constexpr uint32_t size = 16;
    using Pair = RingPair<Tag, uint32_t, false>;
    Pair p(size, feature::version_1, 0, 64);
    if (p.init() != SetupError::ok) {
        return;
    }
    uint16_t pairs_seen = 1;
    med::ControlMediator m(p.cfg(), p.ring(), p.translator(),
                           max_pairs, [&](uint16_t n) {
                               pairs_seen = n;
                               return n == 3 ? -EIO : 0; // a backend that refuses one value
                           });
    uint32_t cookie = 0;
    for (int step = 0; step < 64 && !in.empty(); ++step) {
        // A command: readable segments holding [class, cmd, data...], then (usually) the ack.
        const uint8_t shape = in.byte();
        const uint16_t nread = uint16_t(1 + shape % 3);
        const bool ack = !(shape & 0x40);
        Segment segs[4];
        uint16_t n = 0;
        for (uint16_t i = 0; i < nread; ++i, ++n) {
            const uint32_t len = in.byte() % 64 + ((shape & 0x80) && i == 0 ? 0 : 1);
            in.bytes(p.buf(cookie * 4 + i), len);
            segs[n] = p.seg(cookie * 4 + i, len, (shape & 0x20) && i == 1); // sometimes writable
        }
        if (ack) {
            segs[n++] = p.seg(cookie * 4 + 3, 1 + in.byte() % 2, true);
        }
        Used<uint32_t> out[size];
        if (!p.q.add_chain(segs, n, cookie++)) {
            // Full or broken: take back what was answered, or start over.
            if (p.q.collect(out, size) == 0) {
                p.q.detach_unused([](uint32_t) {});
            }
            continue;
        }
        p.q.publish();
        if (in.byte() % 8 == 0) { // scribble on the ring before the mediator looks
            const size_t off = in.u16() % Pair::Queue::ring_bytes(size);
            p.ring()[off] = char(in.byte());
        }
        (void)m.serve();
        (void)p.q.collect(out, size);
        const med::RxFilter f = m.filter();
        FUZZ_REQUIRE(f.unicast.size() <= med::max_mac_entries && f.multicast.size() <= med::max_mac_entries);
        FUZZ_REQUIRE(m.queue_pairs() >= 1 && m.queue_pairs() <= max_pairs);
        FUZZ_REQUIRE(pairs_seen >= 1 && pairs_seen <= max_pairs);
    }
    p.q.detach_unused([](uint32_t) {});
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Input in(data, size);
    if (in.byte() & 1) {
        run<PackedLayoutTag>(in);
    } else {
        run<SplitLayoutTag>(in);
    }
    return 0;
}
