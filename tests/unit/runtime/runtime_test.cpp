// Worker loops without EAL (ThreadLauncher and run_loop with a fake clock): start/stop,
// stop seen within one burst, busy/idle accounting, launch failure rolled back, restart.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "vpmd/runtime/runtime.hpp"

using namespace vpmd::runtime;
using namespace std::chrono_literals;

namespace {

// A poller that returns `work` per call and counts calls; `late` counts calls that began
// after the stop flag was already set (the loop must start none but the one in flight).
struct CountingPoller {
    std::atomic<uint64_t> calls{0};
    std::atomic<uint64_t> late{0};
    const StopFlag *flag = nullptr;
    uint32_t work = 1;

    uint32_t poll() noexcept {
        if (flag != nullptr && flag->requested()) {
            late.fetch_add(1, std::memory_order_relaxed);
        }
        calls.fetch_add(1, std::memory_order_relaxed);
        return work;
    }
};

template <class F>
bool eventually(F &&cond) {
    const auto end = std::chrono::steady_clock::now() + 10s;
    while (!cond()) {
        if (std::chrono::steady_clock::now() > end) {
            return false;
        }
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

// A fake TSC: every read advances by `step`.
struct FakeClock {
    uint64_t t = 0;
    uint64_t step = 10;
    uint64_t operator()() noexcept { return t += step; }
};

} // namespace

TEST(Runtime, StartsEveryWorkerAndStopsThemAll) {
    ThreadLauncher threads;
    Runtime rt(threads);
    CountingPoller p[4];
    ASSERT_TRUE(rt.add_worker(1, {make_poller(p[0]), make_poller(p[1])}));
    ASSERT_TRUE(rt.add_worker(2, {make_poller(p[2])}));
    ASSERT_TRUE(rt.add_worker(3, {make_poller(p[3])}));
    ASSERT_TRUE(rt.start());
    EXPECT_TRUE(rt.running());
    ASSERT_TRUE(eventually([&] { return p[0].calls > 100 && p[2].calls > 100 && p[3].calls > 100; }));
    EXPECT_EQ(rt.stop(), 0);
    EXPECT_FALSE(rt.running());
    const uint64_t after[4] = {p[0].calls, p[1].calls, p[2].calls, p[3].calls};
    std::this_thread::sleep_for(20ms);
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(p[i].calls, after[i]) << "poller " << i << " ran after stop() returned";
    }
    // Every call's work is in its lcore's total, exactly.
    const auto totals = rt.lcore_totals();
    ASSERT_EQ(totals.size(), 3u);
    EXPECT_EQ(totals[0].lcore, 1u);
    EXPECT_EQ(totals[0].work, p[0].calls + p[1].calls);
    EXPECT_EQ(totals[1].work, p[2].calls);
    EXPECT_EQ(totals[2].work, p[3].calls);
    EXPECT_EQ(rt.lcores(), (std::vector<unsigned>{1, 2, 3}));
}

// The flag is checked before every poller call: after a request each loop finishes at
// most the burst in flight. With eight pollers per loop a per-round check would let up
// to eight late calls through.
TEST(Runtime, StopReachesEveryLoopWithinOneBurst) {
    ThreadLauncher threads;
    Runtime rt(threads);
    constexpr int per_loop = 8;
    CountingPoller a[per_loop], b[per_loop];
    std::vector<Poller> la, lb;
    for (int i = 0; i < per_loop; ++i) {
        a[i].flag = &rt.stop_flag();
        b[i].flag = &rt.stop_flag();
        la.push_back(make_poller(a[i]));
        lb.push_back(make_poller(b[i]));
    }
    ASSERT_TRUE(rt.add_worker(1, la));
    ASSERT_TRUE(rt.add_worker(2, lb));
    for (int round = 0; round < 20; ++round) {
        ASSERT_TRUE(rt.start());
        ASSERT_TRUE(eventually([&] { return a[per_loop - 1].calls > 0 && b[per_loop - 1].calls > 0; }));
        EXPECT_EQ(rt.stop(), 0);
        uint64_t late_a = 0, late_b = 0;
        for (int i = 0; i < per_loop; ++i) {
            late_a += a[i].late.exchange(0);
            late_b += b[i].late.exchange(0);
        }
        EXPECT_LE(late_a, 1u) << "round " << round;
        EXPECT_LE(late_b, 1u) << "round " << round;
    }
}

TEST(Runtime, RefusesBadWorkersAndStartsOnlyOnce) {
    ThreadLauncher threads;
    Runtime rt(threads);
    EXPECT_FALSE(rt.start()) << "no workers";
    CountingPoller p;
    ASSERT_TRUE(rt.add_worker(1, {make_poller(p)}));
    EXPECT_FALSE(rt.add_worker(1, {make_poller(p)})) << "same lcore twice";
    EXPECT_FALSE(rt.add_worker(2, {Poller{}})) << "poller without function";
    ASSERT_TRUE(rt.start());
    EXPECT_FALSE(rt.start()) << "already running";
    EXPECT_FALSE(rt.add_worker(3, {make_poller(p)})) << "running";
    EXPECT_EQ(rt.stop(), 0);
}

// A launcher that fails on one lcore: the loops already started must be stopped again.
class FailingLauncher final : public Launcher {
public:
    explicit FailingLauncher(unsigned bad) : bad_(bad) {}
    int launch(unsigned lcore, int (*fn)(void *), void *arg) override {
        return lcore == bad_ ? -EBUSY : inner_.launch(lcore, fn, arg);
    }
    int wait(unsigned lcore) override { return inner_.wait(lcore); }

private:
    unsigned bad_;
    ThreadLauncher inner_;
};

TEST(Runtime, FailedLaunchLeavesNothingRunning) {
    FailingLauncher launcher(3);
    Runtime rt(launcher);
    CountingPoller p1, p2, p3;
    ASSERT_TRUE(rt.add_worker(1, {make_poller(p1)}));
    ASSERT_TRUE(rt.add_worker(2, {make_poller(p2)}));
    ASSERT_TRUE(rt.add_worker(3, {make_poller(p3)}));
    auto st = rt.start();
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().find("lcore 3"), std::string::npos) << st.error();
    EXPECT_FALSE(rt.running());
    const uint64_t c1 = p1.calls, c2 = p2.calls;
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(p1.calls, c1);
    EXPECT_EQ(p2.calls, c2);
    EXPECT_EQ(p3.calls, 0u);
}

TEST(Runtime, RestartsAndCountersAccumulateUntilReset) {
    ThreadLauncher threads;
    Runtime rt(threads);
    CountingPoller p;
    auto &q = rt.queues().slot(1, 0, 0);
    ASSERT_TRUE(rt.add_worker(1, {make_poller(p)}));
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(rt.start());
        ASSERT_TRUE(eventually([&] { return p.calls > uint64_t(100 * (i + 1)); }));
        q.rx_packets.add(1); // the test plays the poller's queue bookkeeping
        EXPECT_EQ(rt.stop(), 0);
    }
    EXPECT_EQ(rt.lcore_totals()[0].work, p.calls);
    EXPECT_EQ(rt.queues().total().rx_packets, 3u);
    rt.reset_counters();
    EXPECT_EQ(rt.lcore_totals()[0].work, 0u);
    EXPECT_EQ(rt.queues().total().rx_packets, 0u);
}

// Deterministic accounting with a fake clock: rounds with work are busy, others idle,
// and busy + idle covers the whole run.
TEST(RunLoop, BusyAndIdleCyclesWithFakeClock) {
    StopFlag stop;
    LcoreCounters ctr;
    struct Scripted {
        int n = 0;
        StopFlag *stop;
        uint32_t poll() noexcept {
            ++n;
            if (n == 10) {
                stop->request();
            }
            return n % 2 == 0 ? 4 : 0; // even calls do work
        }
    } s{0, &stop};
    std::vector<Poller> pollers{make_poller(s)};
    FakeClock clock;
    run_loop(std::span<const Poller>(pollers), ctr, stop, IdlePolicy{}, std::ref(clock));
    const LcoreTotals t = ctr.read(0);
    EXPECT_EQ(s.n, 10);
    EXPECT_EQ(t.rounds, 10u);
    EXPECT_EQ(t.busy_rounds, 5u);
    EXPECT_EQ(t.work, 20u);
    // One clock read before the loop and one per round: each round spans one step; the
    // last step is the round that only saw the flag (idle).
    EXPECT_EQ(t.busy_cycles, 5u * clock.step);
    EXPECT_EQ(t.idle_cycles, 6u * clock.step);
    EXPECT_EQ(t.busy_cycles + t.idle_cycles, clock.t - clock.step);
}

TEST(RunLoop, PauseTimeIsIdleTime) {
    StopFlag stop;
    LcoreCounters ctr;
    struct Idle {
        int n = 0;
        StopFlag *stop;
        uint32_t poll() noexcept {
            if (++n == 50) {
                stop->request();
            }
            return 0;
        }
    } s{0, &stop};
    std::vector<Poller> pollers{make_poller(s)};
    FakeClock clock;
    run_loop(std::span<const Poller>(pollers), ctr, stop, IdlePolicy{4, 0}, std::ref(clock));
    const LcoreTotals t = ctr.read(0);
    EXPECT_EQ(t.busy_cycles, 0u);
    EXPECT_EQ(t.work, 0u);
    EXPECT_EQ(t.idle_cycles, clock.t - clock.step) << "pauses must be counted as idle";
}

// A loop with no pollers still ends on request (an lcore reserved but given nothing).
TEST(RunLoop, EmptyLoopStops) {
    ThreadLauncher threads;
    Runtime rt(threads);
    ASSERT_TRUE(rt.add_worker(1, {}, IdlePolicy{1, 50}));
    ASSERT_TRUE(rt.start());
    std::this_thread::sleep_for(5ms);
    EXPECT_EQ(rt.stop(), 0);
    EXPECT_EQ(rt.lcore_totals()[0].busy_cycles, 0u);
}
