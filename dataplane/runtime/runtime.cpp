// Runtime: starting and stopping worker loops (control path), and the thread launcher.
#include "vpmd/runtime/runtime.hpp"

#include <map>
#include <thread>

namespace vpmd::runtime {

struct ThreadLauncher::Impl {
    struct Slot {
        std::thread thread;
        int rc = 0;
    };
    std::map<unsigned, std::unique_ptr<Slot>> slots;
};

ThreadLauncher::ThreadLauncher() : impl_(std::make_unique<Impl>()) {}

ThreadLauncher::~ThreadLauncher() {
    for (auto &[lcore, slot] : impl_->slots) {
        if (slot->thread.joinable()) {
            slot->thread.join();
        }
    }
}

int ThreadLauncher::launch(unsigned lcore, int (*fn)(void *), void *arg) {
    auto &slot = impl_->slots[lcore];
    if (slot && slot->thread.joinable()) {
        return -EBUSY;
    }
    slot = std::make_unique<Impl::Slot>();
    Impl::Slot *s = slot.get();
    s->thread = std::thread([s, fn, arg] { s->rc = fn(arg); });
    return 0;
}

int ThreadLauncher::wait(unsigned lcore) {
    auto it = impl_->slots.find(lcore);
    if (it == impl_->slots.end() || !it->second->thread.joinable()) {
        return -EINVAL;
    }
    it->second->thread.join();
    return it->second->rc;
}

Runtime::Runtime(Launcher &launcher) : launcher_(launcher) {}

Runtime::~Runtime() {
    if (running_) {
        stop();
    }
}

Status Runtime::add_worker(unsigned lcore, std::vector<Poller> pollers, IdlePolicy idle) {
    if (running_) {
        return unexpected(std::string("add_worker: the runtime is running"));
    }
    for (const auto &w : workers_) {
        if (w->lcore == lcore) {
            return unexpected("add_worker: lcore " + std::to_string(lcore) + " already has a worker");
        }
    }
    for (const Poller &p : pollers) {
        if (p.fn == nullptr) {
            return unexpected("add_worker: lcore " + std::to_string(lcore) + " got a poller without a function");
        }
    }
    auto w = std::make_unique<Worker>();
    w->lcore = lcore;
    w->pollers = std::move(pollers);
    w->idle = idle;
    w->stop = &stop_;
    workers_.push_back(std::move(w));
    return {};
}

int Runtime::worker_main(void *arg) {
    auto *w = static_cast<Worker *>(arg);
    run_loop(std::span<const Poller>(w->pollers), w->counters, *w->stop, w->idle);
    return 0;
}

Status Runtime::start() {
    if (running_) {
        return unexpected(std::string("start: already running"));
    }
    if (workers_.empty()) {
        return unexpected(std::string("start: no workers"));
    }
    stop_.clear();
    for (auto &w : workers_) {
        if (int rc = launcher_.launch(w->lcore, &Runtime::worker_main, w.get()); rc != 0) {
            // Leave nothing half-started: the loops already launched see the flag at once.
            running_ = true;
            stop();
            return unexpected("start: cannot launch on lcore " + std::to_string(w->lcore) + " (" +
                              std::to_string(rc) + ")");
        }
        w->launched = true;
    }
    running_ = true;
    return {};
}

int Runtime::wait() {
    int first = 0;
    for (auto &w : workers_) {
        if (!w->launched) {
            continue;
        }
        const int rc = launcher_.wait(w->lcore);
        w->launched = false;
        if (rc != 0 && first == 0) {
            first = rc;
        }
    }
    running_ = false;
    return first;
}

std::vector<unsigned> Runtime::lcores() const {
    std::vector<unsigned> v;
    for (const auto &w : workers_) {
        v.push_back(w->lcore);
    }
    return v;
}

std::vector<LcoreTotals> Runtime::lcore_totals() const {
    std::vector<LcoreTotals> v;
    for (const auto &w : workers_) {
        v.push_back(w->counters.read(w->lcore));
    }
    return v;
}

void Runtime::reset_counters() {
    for (auto &w : workers_) {
        w->counters.reset();
    }
    queues_.reset();
}

} // namespace vpmd::runtime
