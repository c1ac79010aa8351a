// vpmd-ringbench: the ring core's own ceiling. The driver view runs on one core, the
// device view on the other, exchanging descriptors only (no packet data), and we report
// Mpps per layout and burst size. --single-thread --packets N gives a fixed amount of
// work for `valgrind --tool=callgrind` (instructions per packet, repeatable).
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "apps/ringbench/ring_bench.hpp"

namespace {

using namespace vpmd::ring;
using Cookie = uint32_t;

struct Options {
    std::vector<std::string> layouts{"split", "packed"};
    std::vector<uint16_t> bursts{1, 8, 32, 64};
    uint32_t size = 256;
    double seconds = 1.0;
    bool single_thread = false;
    uint64_t packets = 0; // 0 = run for `seconds`
    bool in_order = false;
};

[[noreturn]] void usage(const char *why) {
    std::fprintf(stderr,
                 "vpmd-ringbench: %s\n"
                 "usage: vpmd-ringbench [--layout=split|packed|both] [--bursts=1,8,32,64] [--size=N]\n"
                 "                      [--seconds=S] [--in-order] [--single-thread --packets=N]\n",
                 why);
    std::exit(2);
}

std::vector<uint16_t> parse_list(std::string_view s) {
    std::vector<uint16_t> v;
    while (!s.empty()) {
        const auto comma = s.find(',');
        const std::string part(s.substr(0, comma));
        char *end = nullptr;
        const long n = std::strtol(part.c_str(), &end, 10);
        if (part.empty() || *end != '\0' || n < 1 || n > 512) {
            usage("burst sizes must be integers in 1..512");
        }
        v.push_back(uint16_t(n));
        s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
    }
    return v;
}

Options parse(int argc, char **argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto value = [&](std::string_view key) -> const char * {
            return a.substr(0, key.size()) == key ? argv[i] + key.size() : nullptr;
        };
        if (const char *v = value("--layout=")) {
            std::string_view l = v;
            if (l == "both") {
                o.layouts = {"split", "packed"};
            } else if (l == "split" || l == "packed") {
                o.layouts = {std::string(l)};
            } else {
                usage("--layout must be split, packed or both");
            }
        } else if (const char *v = value("--bursts=")) {
            o.bursts = parse_list(v);
        } else if (const char *v = value("--size=")) {
            o.size = uint32_t(std::strtoul(v, nullptr, 10));
        } else if (const char *v = value("--seconds=")) {
            o.seconds = std::strtod(v, nullptr);
            if (o.seconds <= 0) {
                usage("--seconds must be positive");
            }
        } else if (const char *v = value("--packets=")) {
            o.packets = std::strtoull(v, nullptr, 10);
        } else if (a == "--single-thread") {
            o.single_thread = true;
        } else if (a == "--in-order") {
            o.in_order = true;
        } else if (a == "--help" || a == "-h") {
            usage("help");
        } else {
            usage(("unknown option " + std::string(a)).c_str());
        }
    }
    if (o.single_thread && o.packets == 0) {
        usage("--single-thread needs --packets=N");
    }
    return o;
}

} // namespace

int main(int argc, char **argv) {
    const Options o = parse(argc, argv);
    std::printf("vpmd-ringbench: ring core only, descriptors only; queue size %u%s; %s\n", o.size,
                o.in_order ? ", IN_ORDER" : "",
                o.single_thread ? "single thread (for callgrind)" : "driver on cpu 0, device on cpu 1");
    std::printf("%-8s %6s %12s %10s\n", "layout", "burst", "packets", "Mpps");
    for (const auto &layout : o.layouts) {
        for (uint16_t burst : o.bursts) {
            vpmd::bench::RingBenchConfig c;
            c.size = o.size;
            c.burst = burst;
            c.seconds = o.seconds;
            c.packets = o.packets;
            c.single_thread = o.single_thread;
            c.in_order = o.in_order;
            const auto r = vpmd::bench::run_ring_bench(layout, c);
            if (!r.ok) {
                std::fprintf(stderr, "vpmd-ringbench: %s\n", r.error.c_str());
                return 1;
            }
            std::printf("%-8s %6u %12llu %10.2f\n", layout.c_str(), burst, (unsigned long long)r.packets,
                        r.mpps());
            std::fflush(stdout);
        }
    }
    return 0;
}
