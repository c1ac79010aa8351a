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

#include "dataplane/ring/queue.hpp"

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

void pin(int cpu) {
    const unsigned n = std::thread::hardware_concurrency();
    if (n < 2) {
        return;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(unsigned(cpu) % n, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

struct Arena {
    explicit Arena(size_t n) : len(n), base(static_cast<char *>(std::aligned_alloc(4096, n))) {
        std::memset(base, 0, n);
    }
    ~Arena() { std::free(base); }
    size_t len;
    char *base;
};

struct Result {
    uint64_t packets = 0;
    double seconds = 0;
};

template <template <class> class Q, class D>
Result run(const Options &o, uint16_t burst) {
    QueueConfig cfg;
    cfg.size = o.size;
    cfg.features = feature::version_1 | (o.in_order ? feature::in_order : 0);
    Arena arena(Q<Cookie>::ring_bytes(o.size) + 4096);
    const ArenaTranslator tr{arena.base, uint64_t(uintptr_t(arena.base)), arena.len};
    Q<Cookie> q;
    if (q.init(cfg, DmaRegion{arena.base, uint64_t(uintptr_t(arena.base)), arena.len}) != SetupError::ok) {
        usage("bad --size for this layout");
    }
    D dev;
    dev.init(cfg, arena.base, tr);
    dev.disable_notify(); // a polling device: kicks are never needed
    q.disable_interrupts();

    // Descriptors only: every buffer points at the same 64 bytes the device never reads.
    std::vector<Segment> segs(burst, Segment{uint64_t(uintptr_t(arena.base)), 64, false});
    std::vector<Cookie> cookies(burst);
    std::vector<Used<Cookie>> out(burst);
    std::atomic<bool> stop{false};

    auto device_loop = [&](bool once) {
        typename D::Chain c;
        do {
            uint16_t n = 0;
            while (n < burst && dev.take(c)) {
                dev.put_used(c, 0);
                ++n;
            }
            if (n != 0) {
                dev.publish_used();
            }
        } while (!once && !stop.load(std::memory_order_relaxed));
    };
    auto driver_step = [&]() -> uint64_t {
        const uint16_t added = q.add_burst(segs.data(), cookies.data(), burst);
        if (added != 0) {
            q.publish();
            (void)q.needs_notify();
        }
        return q.collect(out.data(), burst);
    };

    Result r;
    const auto t0 = std::chrono::steady_clock::now();
    if (o.single_thread) {
        while (r.packets < o.packets) {
            const uint16_t added = q.add_burst(segs.data(), cookies.data(), burst);
            q.publish();
            (void)added;
            device_loop(true);
            r.packets += q.collect(out.data(), burst);
        }
    } else {
        std::thread device([&] {
            pin(1);
            device_loop(false);
        });
        pin(0);
        const auto deadline = t0 + std::chrono::duration<double>(o.seconds);
        uint64_t iter = 0;
        while (true) {
            r.packets += driver_step();
            if ((++iter & 1023) == 0 && (std::chrono::steady_clock::now() >= deadline ||
                                         (o.packets != 0 && r.packets >= o.packets))) {
                break;
            }
        }
        stop = true;
        device.join();
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (q.broken() != Broken::none || dev.broken() != Broken::none) {
        std::fprintf(stderr, "ring broke during the benchmark: %s / %s\n", to_string(q.broken()).data(),
                     to_string(dev.broken()).data());
        std::exit(1);
    }
    return r;
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
            const Result r = layout == "split"
                                 ? run<SplitQueue, SplitDevice<ArenaTranslator>>(o, burst)
                                 : run<PackedQueue, PackedDevice<ArenaTranslator>>(o, burst);
            std::printf("%-8s %6u %12llu %10.2f\n", layout.c_str(), burst, (unsigned long long)r.packets,
                        double(r.packets) / r.seconds / 1e6);
            std::fflush(stdout);
        }
    }
    return 0;
}
