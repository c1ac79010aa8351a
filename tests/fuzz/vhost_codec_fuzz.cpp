// The vhost-user codec fed what a hostile back-end might send as a reply (or, for the
// back-end-side decoders, as a request): any header, any payload size field, any bytes.
// Decoders must refuse what does not fit and never read past the payload they were given.
#include "drivers/transport/vhost_user/codec.hpp"
#include "fuzz_input.hpp"

using vpmd::fuzz::Input;
namespace vu = vpmd::vhost_user;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Input in(data, size);
    vu::Message m;
    in.bytes(&m.hdr, sizeof(m.hdr));
    // What the receive path guarantees: the payload holds at most max_payload bytes.
    const size_t got = in.bytes(m.payload.data(), m.payload.size());
    (void)got;
    const auto expected = static_cast<vu::Request>(m.hdr.request ^ (size & 1));
    (void)vu::check_reply(m, expected, m.hdr.size);
    if (auto r = vu::decode_u64_reply(m, expected)) {
        FUZZ_REQUIRE(m.hdr.size == sizeof(uint64_t));
    }
    (void)vu::decode_state_reply(m, expected);
    (void)vu::decode_u64(m);
    (void)vu::decode_state(m);
    (void)vu::decode_addr(m);
    if (auto regions = vu::decode_mem_table(m)) {
        FUZZ_REQUIRE(regions->size() <= vu::max_payload / sizeof(vu::WireRegion));
    }
    return 0;
}
