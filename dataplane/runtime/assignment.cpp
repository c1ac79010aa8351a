// Queue-to-lcore assignment (control path).
#include "vpmd/runtime/assignment.hpp"

#include <algorithm>

namespace vpmd::runtime {

namespace {

template <class T>
bool has_duplicates(std::span<const T> v) {
    std::vector<T> sorted(v.begin(), v.end());
    std::sort(sorted.begin(), sorted.end());
    return std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
}

} // namespace

Expected<Assignment, std::string> assign_queues(std::span<const QueueKey> queues, std::span<const unsigned> lcores,
                                                AssignPolicy policy) {
    if (queues.empty()) {
        return unexpected(std::string("no queues to assign"));
    }
    if (lcores.empty()) {
        return unexpected(std::string("no worker lcores to assign queues to"));
    }
    if (has_duplicates(lcores)) {
        return unexpected(std::string("an lcore is listed twice"));
    }
    if (has_duplicates(queues)) {
        return unexpected(std::string("a (port, queue) is listed twice: two loops would poll it without a lock"));
    }
    const size_t used = std::min(queues.size(), lcores.size());
    Assignment a;
    a.idle_lcores = lcores.size() - used;
    a.shares.resize(used);
    for (size_t l = 0; l < used; ++l) {
        a.shares[l].lcore = lcores[l];
    }
    if (policy == AssignPolicy::round_robin) {
        for (size_t i = 0; i < queues.size(); ++i) {
            a.shares[i % used].items.push_back(i);
        }
        return a;
    }
    // Blocks: the first (n % used) lcores take one extra item.
    const size_t base = queues.size() / used;
    const size_t extra = queues.size() % used;
    size_t next = 0;
    for (size_t l = 0; l < used; ++l) {
        const size_t n = base + (l < extra ? 1 : 0);
        for (size_t k = 0; k < n; ++k) {
            a.shares[l].items.push_back(next++);
        }
    }
    return a;
}

} // namespace vpmd::runtime
