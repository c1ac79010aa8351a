// Which worker lcore polls which (port, queue): decided once on the control path, so the
// loops never share a queue and never take a lock. Pure C++: unit-tested without EAL.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "vpmd/expected.hpp"
#include "vpmd/runtime/counters.hpp"

namespace vpmd::runtime {

enum class AssignPolicy {
    // Contiguous blocks, sizes differing by at most one (testpmd's stream-to-lcore split):
    // queues of one port tend to land on one lcore.
    blocks,
    // Item i goes to lcore i % n: spreads the queues of one port over lcores.
    round_robin,
};

struct LcoreShare {
    unsigned lcore = 0;
    std::vector<size_t> items; // indices into the queue list given to assign_queues
};

struct Assignment {
    std::vector<LcoreShare> shares; // only lcores that got work, in the order given
    size_t idle_lcores = 0;         // lcores left without work (more lcores than queues)
};

// Assigns each (port, queue) to one lcore. Errors: no queues, no lcores, an lcore listed
// twice, a queue listed twice (two lcores would then poll it without a lock).
[[nodiscard]] Expected<Assignment, std::string> assign_queues(std::span<const QueueKey> queues,
                                                              std::span<const unsigned> lcores,
                                                              AssignPolicy policy = AssignPolicy::blocks);

} // namespace vpmd::runtime
