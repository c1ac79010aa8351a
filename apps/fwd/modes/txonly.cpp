// txonly: send generated Ethernet/IPv4/UDP packets shaped by --txpkts, never receive
// (testpmd's txonly.c); the template is built once per stream on the control path.
#include "apps/fwd/engine.hpp"

namespace vpmd::fwd {
namespace {

uint32_t txonly_burst(void *arg) noexcept {
    return send_udp_burst(*static_cast<Stream *>(arg));
}

// The shape (s.seg_len) is set by the app for every stream (--tx-first needs it too).
const Engine txonly_engine{"txonly", false, txonly_burst};
VPMD_FWD_ENGINE(txonly_engine);

} // namespace
} // namespace vpmd::fwd
