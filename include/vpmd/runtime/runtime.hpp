// vpmd runtime: worker lcores running lists of pollers, started and stopped together from
// the control path, with per-lcore busy/idle cycles and per-queue counters read on demand.
// This core is pure C++; an EalLauncher (eal_launcher.hpp) puts the loops on EAL lcores,
// a ThreadLauncher on std::threads (tests, tools without EAL).
//
// Typical use (see dataplane/runtime/README.md):
//
//     vpmd::runtime::EalLauncher eal;
//     vpmd::runtime::Runtime rt(eal);
//     auto &ctr = rt.queues().slot(lcore, port, queue);   // give it to your poller
//     rt.add_worker(lcore, {vpmd::runtime::make_poller(my_stream)});
//     rt.start();                  // rte_eal_remote_launch on every worker lcore
//     ...                          // control plane: rt.lcore_totals(), rt.queues().by_queue()
//     rt.stop();                   // flag seen within one burst, then wait for every lcore
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vpmd/expected.hpp"
#include "vpmd/runtime/counters.hpp"
#include "vpmd/runtime/loop.hpp"
#include "vpmd/runtime/poller.hpp"
#include "vpmd/runtime/stop_flag.hpp"

namespace vpmd::runtime {

// Where loops run. Control path only (the one virtual call per start/stop is fine).
class Launcher {
public:
    virtual ~Launcher() = default;
    // Starts fn(arg) on `lcore`; 0 or a negative errno.
    virtual int launch(unsigned lcore, int (*fn)(void *), void *arg) = 0;
    // Waits until the function launched on `lcore` returns; its return value.
    virtual int wait(unsigned lcore) = 0;
};

// One std::thread per "lcore" id (not pinned): for unit tests and EAL-free tools.
class ThreadLauncher final : public Launcher {
public:
    ThreadLauncher();
    ~ThreadLauncher() override;
    int launch(unsigned lcore, int (*fn)(void *), void *arg) override;
    int wait(unsigned lcore) override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

using Status = Expected<void, std::string>;

class Runtime {
public:
    explicit Runtime(Launcher &launcher);
    ~Runtime(); // stops and waits if still running
    Runtime(const Runtime &) = delete;
    Runtime &operator=(const Runtime &) = delete;

    // Control path, not running: `lcore` will run `pollers` in this order, every round.
    // Errors: running, lcore already has a worker.
    Status add_worker(unsigned lcore, std::vector<Poller> pollers, IdlePolicy idle = {});
    // Launches every worker. If one launch fails, the ones started are stopped again and
    // the error names the lcore.
    Status start();
    // Any thread, or a signal handler (the flag is lock-free).
    void request_stop() noexcept { stop_.request(); }
    // Waits for every launched loop to return; the first non-zero return value, else 0.
    // The flag stays set (a signal's request is not lost); start() clears it, so the same
    // workers may run again.
    int wait();
    int stop() {
        request_stop();
        return wait();
    }

    [[nodiscard]] bool running() const { return running_; }
    [[nodiscard]] StopFlag &stop_flag() { return stop_; }
    [[nodiscard]] CounterTable &queues() { return queues_; }
    [[nodiscard]] const CounterTable &queues() const { return queues_; }
    [[nodiscard]] std::vector<unsigned> lcores() const;
    // Busy/idle cycles per worker lcore (readable while running).
    [[nodiscard]] std::vector<LcoreTotals> lcore_totals() const;
    // Not running: zero every lcore and queue counter (e.g. after a warm-up).
    void reset_counters();

private:
    struct Worker {
        unsigned lcore = 0;
        std::vector<Poller> pollers;
        IdlePolicy idle;
        LcoreCounters counters;
        StopFlag *stop = nullptr;
        bool launched = false;
    };
    static int worker_main(void *arg);

    Launcher &launcher_;
    StopFlag stop_;
    bool running_ = false;
    std::vector<std::unique_ptr<Worker>> workers_; // stable addresses for the loops
    CounterTable queues_;
};

} // namespace vpmd::runtime
