// The run-to-completion loop of one worker lcore: call every poller in turn, count the
// cycles of rounds that did work as busy and the rest as idle, stop within one burst of a
// request. Pure C++ (TSC read with rdtsc), so it runs under unit tests without EAL.
#pragma once

#include <x86intrin.h>

#include <cstdint>
#include <span>
#include <thread>
#include <chrono>

#include "vpmd/runtime/counters.hpp"
#include "vpmd/runtime/poller.hpp"
#include "vpmd/runtime/stop_flag.hpp"

namespace vpmd::runtime {

struct IdlePolicy {
    // Consecutive idle rounds before the loop pauses; 0 = never pause (pure busy poll,
    // lowest latency, one core burnt).
    uint32_t idle_rounds_before_pause = 0;
    // 0: one CPU pause instruction (frees the core's pipeline for a sibling thread);
    // > 0: sleep this many microseconds (frees the core for other threads).
    uint32_t pause_us = 0;
};

[[nodiscard]] inline uint64_t tsc_now() noexcept { return __rdtsc(); }

inline void idle_pause(const IdlePolicy &idle) noexcept {
    if (idle.pause_us == 0) {
        _mm_pause();
    } else {
        std::this_thread::sleep_for(std::chrono::microseconds(idle.pause_us));
    }
}

// Runs until `stop` is requested. The flag is checked before every poller call, so a
// request is seen after at most one burst. Counters are updated once per round (own
// cache line, single writer). Time spent pausing is idle time.
template <class Clock = uint64_t (*)() noexcept>
void run_loop(std::span<const Poller> pollers, LcoreCounters &ctr, const StopFlag &stop, const IdlePolicy &idle,
              Clock now = tsc_now) {
    uint32_t idle_streak = 0;
    uint64_t t0 = now();
    for (;;) {
        uint64_t work = 0;
        for (const Poller &p : pollers) {
            if (stop.requested()) [[unlikely]] {
                // Account the partial round before leaving, so busy + idle covers the run.
                (work != 0 ? ctr.busy_cycles : ctr.idle_cycles).add(now() - t0);
                ctr.work.add(work);
                return;
            }
            work += p();
        }
        const uint64_t t1 = now();
        ctr.rounds.add(1);
        if (work != 0) {
            ctr.busy_cycles.add(t1 - t0);
            ctr.busy_rounds.add(1);
            ctr.work.add(work);
            idle_streak = 0;
            t0 = t1;
            continue;
        }
        ctr.idle_cycles.add(t1 - t0);
        t0 = t1;
        if (idle.idle_rounds_before_pause != 0 && ++idle_streak >= idle.idle_rounds_before_pause) {
            idle_pause(idle);
            const uint64_t t2 = now();
            ctr.idle_cycles.add(t2 - t0);
            t0 = t2;
        }
        if (pollers.empty() && stop.requested()) {
            return; // nothing to poll: only the flag ends the loop
        }
    }
}

} // namespace vpmd::runtime
