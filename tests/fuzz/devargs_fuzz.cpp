// net_vpmd's devargs parser on arbitrary text, for both buses: it must never crash or read
// past the input, and whatever it accepts must be within the documented bounds.
#include <string_view>

#include "drivers/net/vpmd/devargs.hpp"
#include "fuzz_input.hpp"

namespace pmd = vpmd::pmd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    for (auto bus : {pmd::DevargsFor::vhost_user, pmd::DevargsFor::pci}) {
        pmd::Devargs d;
        const pmd::DevargsResult r = pmd::parse_devargs(text, d, bus);
        FUZZ_REQUIRE(r.ok == r.error.empty());
        if (r.ok) {
            FUZZ_REQUIRE(d.queues >= 1 && d.queues <= pmd::max_queue_pairs);
            FUZZ_REQUIRE(d.queue_size >= 1 && d.queue_size <= 32768);
            FUZZ_REQUIRE(bus == pmd::DevargsFor::pci || !d.path.empty());
        } else {
            FUZZ_REQUIRE(r.error.find("devarg") != std::string::npos || !r.error.empty());
        }
    }
    return 0;
}
