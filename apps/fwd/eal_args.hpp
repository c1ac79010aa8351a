// Splitting vpmd-fwd's command line into EAL and app options, and the EAL defaults it
// adds: a ready-to-run set when none is given, --no-huge when hugepages are missing.
#pragma once

#include <string>
#include <vector>

namespace vpmd::fwd {

struct EalPlan {
    std::vector<std::string> eal;   // argv for rte_eal_init, argv[0] included
    std::vector<std::string> app;   // our options
    std::vector<std::string> notes; // what we added and why, printed before EAL starts
    bool defaults = false;          // the user gave no EAL option: all of eal[] is ours
    bool no_huge = false;           // EAL runs with --no-huge (given or added)
};

[[nodiscard]] EalPlan plan_eal_args(int argc, char **argv);

// True if hugetlbfs is mounted at /dev/hugepages and at least `pages` 2 MiB pages are free.
[[nodiscard]] bool hugepages_usable(long pages);

} // namespace vpmd::fwd
