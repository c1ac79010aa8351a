// Puts runtime loops on EAL worker lcores (rte_eal_remote_launch / rte_eal_wait_lcore).
// The main lcore is refused: it runs the control plane.
#pragma once

#include <vector>

#include "vpmd/runtime/runtime.hpp"

namespace vpmd::runtime {

class EalLauncher final : public Launcher {
public:
    // -EINVAL for the main lcore or an lcore EAL did not enable, -EBUSY if it runs something.
    int launch(unsigned lcore, int (*fn)(void *), void *arg) override;
    int wait(unsigned lcore) override;
};

// The worker lcores EAL enabled (-l / --lcores), main lcore excluded, in id order.
[[nodiscard]] std::vector<unsigned> eal_worker_lcores();

} // namespace vpmd::runtime
