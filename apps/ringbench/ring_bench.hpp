// The ring-core benchmark itself, shared by vpmd-ringbench and vpmd-perf's ring-only
// mode: the driver view on one core, the device view on another, descriptors only.
#pragma once

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/ring/queue.hpp"

namespace vpmd::bench {

using namespace vpmd::ring;

struct RingBenchConfig {
    uint32_t size = 256;
    uint16_t burst = 32;
    double seconds = 1.0;
    uint64_t packets = 0; // stop after this many (0: run for seconds)
    bool single_thread = false;
    bool in_order = false;
};

struct RingBenchResult {
    uint64_t packets = 0;
    double seconds = 0;
    bool ok = true;
    std::string error;
    double mpps() const { return seconds > 0 ? double(packets) / seconds / 1e6 : 0; }
};

inline void pin(int cpu) {
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

template <template <class, bool> class Q, class D, bool InOrder>
RingBenchResult run_ring_bench(const RingBenchConfig &o) {
    const uint16_t burst = o.burst;
    QueueConfig cfg;
    cfg.size = o.size;
    cfg.features = feature::version_1 | (o.in_order ? feature::in_order : 0);
    Arena arena(Q<uint32_t, InOrder>::ring_bytes(o.size) + 4096);
    const ArenaTranslator tr{arena.base, uint64_t(uintptr_t(arena.base)), arena.len};
    Q<uint32_t, InOrder> q;
    if (q.init(cfg, DmaRegion{arena.base, uint64_t(uintptr_t(arena.base)), arena.len}) != SetupError::ok) {
        RingBenchResult bad;
        bad.ok = false;
        bad.error = "bad queue size for this layout";
        return bad;
    }
    D dev;
    dev.init(cfg, arena.base, tr);
    dev.disable_notify(); // a polling device: kicks are never needed
    q.disable_interrupts();

    // Descriptors only: every buffer points at the same 64 bytes the device never reads.
    std::vector<Segment> segs(burst, Segment{uint64_t(uintptr_t(arena.base)), 64, false});
    std::vector<uint32_t> cookies(burst);
    std::vector<Used<uint32_t>> out(burst);
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

    RingBenchResult r;
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
        r.ok = false;
        r.error = "ring broke during the benchmark: " + std::string(to_string(q.broken())) + " / " +
                  std::string(to_string(dev.broken()));
    }
    return r;
}

// Runs one layout ("split" or "packed").
inline RingBenchResult run_ring_bench(const std::string &layout, const RingBenchConfig &c) {
    if (layout == "split") {
        return c.in_order ? run_ring_bench<SplitQueue, SplitDevice<ArenaTranslator>, true>(c)
                          : run_ring_bench<SplitQueue, SplitDevice<ArenaTranslator>, false>(c);
    }
    return c.in_order ? run_ring_bench<PackedQueue, PackedDevice<ArenaTranslator>, true>(c)
                      : run_ring_bench<PackedQueue, PackedDevice<ArenaTranslator>, false>(c);
}

} // namespace vpmd::bench
