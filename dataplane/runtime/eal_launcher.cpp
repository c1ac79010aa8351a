// EAL lcore launcher for the runtime.
#include "vpmd/runtime/eal_launcher.hpp"

#include <cerrno>

#include <rte_launch.h>
#include <rte_lcore.h>

namespace vpmd::runtime {

int EalLauncher::launch(unsigned lcore, int (*fn)(void *), void *arg) {
    if (lcore >= RTE_MAX_LCORE || !rte_lcore_is_enabled(lcore) || lcore == rte_get_main_lcore()) {
        return -EINVAL;
    }
    if (rte_eal_get_lcore_state(lcore) != WAIT) {
        return -EBUSY;
    }
    return rte_eal_remote_launch(fn, arg, lcore);
}

int EalLauncher::wait(unsigned lcore) {
    return rte_eal_wait_lcore(lcore);
}

std::vector<unsigned> eal_worker_lcores() {
    std::vector<unsigned> v;
    unsigned lcore = 0;
    RTE_LCORE_FOREACH_WORKER(lcore) {
        v.push_back(lcore);
    }
    return v;
}

} // namespace vpmd::runtime
