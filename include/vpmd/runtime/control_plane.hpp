// The control plane of a runtime: periodic jobs (stats, link watch, ...) and signal
// handling, on the thread that calls run() plus a small oneTBB arena, never on a worker
// lcore. Pure C++ + oneTBB (no EAL), so it is unit-tested without EAL.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vpmd/runtime/stop_flag.hpp"

namespace vpmd::runtime {

class ControlPlane {
public:
    using Clock = std::chrono::steady_clock;

    // `concurrency`: threads the arena may use, the caller's included, capped by the
    // CPUs the caller may run on. TBB creates its threads from the caller, so they
    // inherit its CPU affinity (with EAL: the main lcore's cpuset) and stay off the
    // worker lcores; with one CPU the jobs simply run one after the other.
    explicit ControlPlane(int concurrency = 2);
    ~ControlPlane();
    ControlPlane(const ControlPlane &) = delete;
    ControlPlane &operator=(const ControlPlane &) = delete;

    // `job` runs every `period` (first after one period) while run() runs. Jobs due at the
    // same tick run concurrently in one task_group, so they must not share unguarded state.
    void every(std::chrono::milliseconds period, std::function<void()> job);

    enum class Exit { stopped, deadline };
    // Runs due jobs until `stop` is requested or `deadline` passes. Reacts to the flag
    // within `tick` (sleeping in between, no busy wait).
    Exit run(const StopFlag &stop, std::optional<Clock::time_point> deadline = std::nullopt,
             std::chrono::milliseconds tick = std::chrono::milliseconds(10));

    // SIGINT and SIGTERM request `flag` (async-signal-safe); SA_RESETHAND makes a second
    // signal take the default action, so a stuck shutdown can still be interrupted.
    static void stop_on_signals(StopFlag &flag);
    // The signal that requested the stop, 0 if none.
    [[nodiscard]] static int caught_signal();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace vpmd::runtime
