// EAL argument planning for vpmd-fwd.
#include "apps/fwd/eal_args.hpp"

#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "apps/fwd/options.hpp"

namespace vpmd::fwd {

namespace {

constexpr long hugetlbfs_magic = 0x958458f6;
// Why 512 MiB: the mbuf pool (tens of MiB), vhost rings and EAL's own heap fit with room;
// with hugepages that is 256 pages of the machine's pool.
constexpr const char *default_mem_mb = "512";
constexpr long default_pages = 256;

bool has(const std::vector<std::string> &v, const std::string &opt) {
    return std::any_of(v.begin(), v.end(), [&](const std::string &a) { return a == opt || a.starts_with(opt + "="); });
}

} // namespace

bool hugepages_usable(long pages) {
    struct statfs fs {};
    if (::statfs("/dev/hugepages", &fs) != 0 || static_cast<long>(fs.f_type) != hugetlbfs_magic) {
        return false;
    }
    std::ifstream f("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
    long free_pages = 0;
    return (f >> free_pages) && free_pages >= pages;
}

EalPlan plan_eal_args(int argc, char **argv) {
    EalPlan plan;
    std::vector<std::string> args(argv + 1, argv + argc);
    const auto dashdash = std::find(args.begin(), args.end(), "--");
    std::vector<std::string> eal;
    if (dashdash != args.end()) {
        eal.assign(args.begin(), dashdash);
        plan.app.assign(dashdash + 1, args.end());
    } else if (!args.empty() && std::all_of(args.begin(), args.end(), [](const std::string &a) {
                   return !a.starts_with("-") || is_app_option(a);
               }) && is_app_option(args.front())) {
        plan.app = args; // only our options: `vpmd-fwd --duration=5`
    } else {
        eal = args;
    }
    plan.eal.push_back(argc > 0 ? argv[0] : "vpmd-fwd");
    if (eal.empty()) {
        plan.defaults = true;
        // Main lcore + one worker; on a single CPU both share it.
        if (std::thread::hardware_concurrency() >= 2) {
            eal = {"-l", "0,1"};
        } else {
            eal = {"--lcores", "0@0,1@0"};
        }
        eal.insert(eal.end(), {"--no-pci", "--file-prefix=vpmd-fwd-" + std::to_string(::getpid()),
                               "--log-level=lib.vhost.*:warning"});
        if (hugepages_usable(default_pages)) {
            // One file per memseg list keeps vhost-user memory regions few (see NOTES).
            eal.insert(eal.end(), {"-m", default_mem_mb, "--single-file-segments"});
        } else {
            eal.insert(eal.end(), {"--no-huge", "-m", default_mem_mb});
            plan.notes.push_back("no hugetlbfs with " + std::to_string(default_pages) +
                                 " free 2 MiB pages at /dev/hugepages: running with --no-huge (slower)");
        }
        std::string line;
        for (const auto &a : eal) {
            line += " " + a;
        }
        plan.notes.push_back("no EAL options given, using:" + line);
    } else if (!has(eal, "--no-huge") && !hugepages_usable(1)) {
        eal.push_back("--no-huge");
        if (!has(eal, "-m") && !has(eal, "--socket-mem")) {
            eal.insert(eal.end(), {"-m", default_mem_mb});
        }
        plan.notes.push_back("no hugetlbfs with free 2 MiB pages at /dev/hugepages: added --no-huge (slower)");
    }
    plan.no_huge = has(eal, "--no-huge");
    plan.eal.insert(plan.eal.end(), eal.begin(), eal.end());
    return plan;
}

} // namespace vpmd::fwd
