// Control plane without EAL: periodic jobs run (concurrently when due together), run()
// ends on the flag or the deadline, and SIGTERM/SIGINT request the flag.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "vpmd/runtime/control_plane.hpp"

using namespace vpmd::runtime;
using namespace std::chrono_literals;

TEST(ControlPlane, RunsJobsUntilDeadline) {
    ControlPlane cp(2);
    std::atomic<int> fast{0}, slow{0};
    cp.every(5ms, [&] { ++fast; });
    cp.every(1000ms, [&] { ++slow; });
    StopFlag stop;
    const auto exit = cp.run(stop, ControlPlane::Clock::now() + 100ms);
    EXPECT_EQ(exit, ControlPlane::Exit::deadline);
    EXPECT_GT(fast.load(), 0);
    EXPECT_EQ(slow.load(), 0) << "a job runs only after its first period";
}

TEST(ControlPlane, StopsOnFlagFromAnotherThread) {
    ControlPlane cp;
    std::atomic<int> ticks{0};
    cp.every(1ms, [&] { ++ticks; });
    StopFlag stop;
    std::thread t([&] {
        while (ticks.load() < 3) {
            std::this_thread::sleep_for(1ms);
        }
        stop.request();
    });
    EXPECT_EQ(cp.run(stop), ControlPlane::Exit::stopped);
    t.join();
    EXPECT_GE(ticks.load(), 3);
}

TEST(ControlPlane, SignalRequestsStop) {
    for (int sig : {SIGTERM, SIGINT}) {
        StopFlag stop;
        ControlPlane::stop_on_signals(stop);
        ASSERT_FALSE(stop.requested());
        std::raise(sig);
        EXPECT_TRUE(stop.requested());
        EXPECT_EQ(ControlPlane::caught_signal(), sig);
        ControlPlane cp;
        EXPECT_EQ(cp.run(stop), ControlPlane::Exit::stopped);
    }
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
}
