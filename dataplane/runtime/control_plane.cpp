// Control plane: periodic jobs in a oneTBB arena, signals to a stop flag.
#include "vpmd/runtime/control_plane.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <thread>

#include <tbb/info.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

namespace vpmd::runtime {

namespace {

std::atomic<StopFlag *> signal_flag{nullptr};
std::atomic<int> signal_seen{0};
static_assert(std::atomic<StopFlag *>::is_always_lock_free && std::atomic<int>::is_always_lock_free);

extern "C" void on_stop_signal(int sig) {
    signal_seen.store(sig, std::memory_order_relaxed);
    if (StopFlag *f = signal_flag.load(std::memory_order_relaxed); f != nullptr) {
        f->request();
    }
}

} // namespace

struct ControlPlane::Impl {
    struct Job {
        std::chrono::milliseconds period;
        std::function<void()> fn;
        Clock::time_point next;
    };
    // TBB's default concurrency follows the process's CPU affinity: asking for more
    // would only make TBB warn and ignore it (e.g. EAL pins the main thread to one CPU).
    explicit Impl(int concurrency) : arena(std::clamp(concurrency, 1, std::max(1, tbb::info::default_concurrency()))) {}
    tbb::task_arena arena;
    std::vector<Job> jobs;
};

ControlPlane::ControlPlane(int concurrency) : impl_(std::make_unique<Impl>(concurrency)) {}
ControlPlane::~ControlPlane() = default;

void ControlPlane::every(std::chrono::milliseconds period, std::function<void()> job) {
    impl_->jobs.push_back(Impl::Job{std::max(period, std::chrono::milliseconds(1)), std::move(job), {}});
}

ControlPlane::Exit ControlPlane::run(const StopFlag &stop, std::optional<Clock::time_point> deadline,
                                     std::chrono::milliseconds tick) {
    const auto start = Clock::now();
    for (auto &j : impl_->jobs) {
        j.next = start + j.period;
    }
    std::vector<Impl::Job *> due;
    for (;;) {
        if (stop.requested()) {
            return Exit::stopped;
        }
        const auto now = Clock::now();
        if (deadline && now >= *deadline) {
            return Exit::deadline;
        }
        due.clear();
        auto wake = now + tick;
        for (auto &j : impl_->jobs) {
            if (j.next <= now) {
                due.push_back(&j);
                // Keep the cadence: skip missed periods rather than running a backlog.
                while (j.next <= now) {
                    j.next += j.period;
                }
            }
            wake = std::min(wake, j.next);
        }
        if (!due.empty()) {
            impl_->arena.execute([&] {
                tbb::task_group g;
                for (Impl::Job *j : due) {
                    g.run([j] { j->fn(); });
                }
                g.wait();
            });
        }
        if (deadline) {
            wake = std::min(wake, *deadline);
        }
        std::this_thread::sleep_until(std::min(wake, Clock::now() + tick));
    }
}

void ControlPlane::stop_on_signals(StopFlag &flag) {
    signal_flag.store(&flag, std::memory_order_relaxed);
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

int ControlPlane::caught_signal() {
    return signal_seen.load(std::memory_order_relaxed);
}

} // namespace vpmd::runtime
