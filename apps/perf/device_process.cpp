// vpmd-perf's two-process device: testpmd spawned with a pipe as stdin (it runs until the
// pipe closes), its output in a log file next to the sockets, kept only when it failed.
#include "apps/perf/device_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <rte_eal.h>

extern char **environ;

namespace vpmd::perf {

namespace {

using namespace std::chrono_literals;

constexpr auto listen_wait = 30s; // testpmd's start under a loaded machine: a few seconds
constexpr auto exit_wait = 10s;
constexpr uint32_t tx_segment = 1900; // testpmd's --txpkts segments fit one default mbuf
constexpr uint32_t max_plain_frame = 1518; // beyond: jumbo frames, testpmd needs --max-pkt-len

bool listening(const std::string &sock) {
    struct stat st {};
    return stat(sock.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

std::string tail_of(const std::string &path, size_t lines) {
    std::ifstream f(path);
    std::vector<std::string> all;
    for (std::string l; std::getline(f, l);) {
        all.push_back(l);
    }
    std::string out;
    for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
        out += "\n    " + all[i];
    }
    return out;
}

} // namespace

std::vector<std::string> device_process_args(const DeviceProcessConfig &c) {
    const char *bin = std::getenv("VPMD_TESTPMD");
    const std::string cpu = std::to_string(c.cpu);
    std::vector<std::string> a{bin != nullptr && *bin != '\0' ? bin : "dpdk-testpmd",
                               "--lcores", "0@" + cpu + ",1@" + cpu, "--no-pci", "--file-prefix=" + c.name,
                               "-m", "512", c.huge ? "--single-file-segments" : "--no-huge",
                               "--log-level=lib.vhost.*:error", "--log-level=pmd.net.vhost:error"};
    const std::string q = std::to_string(c.queues);
    for (size_t i = 0; i < c.socks.size(); ++i) {
        a.push_back("--vdev");
        a.push_back("net_vhost" + std::to_string(i) + ",iface=" + c.socks[i] + ",queues=" + q);
    }
    const char *mode = c.dir == Direction::loopback ? "io" : c.dir == Direction::txonly ? "rxonly" : "txonly";
    a.insert(a.end(), {"--", std::string("--forward-mode=") + mode, "--port-topology=loop", "--nb-cores=1",
                       "--rxq=" + q, "--txq=" + q, "--rxd=1024", "--txd=1024", "--burst=32"});
    if (c.size > max_plain_frame) {
        a.push_back("--max-pkt-len=" + std::to_string(c.size));
    }
    if (c.dir == Direction::rxonly) {
        std::string segs;
        for (uint32_t left = c.size; left > 0;) {
            const uint32_t n = std::min(left, tx_segment);
            segs += (segs.empty() ? "" : ",") + std::to_string(n);
            left -= n;
        }
        a.push_back("--txpkts=" + segs);
    }
    return a;
}

bool DeviceProcess::start(const DeviceProcessConfig &c, std::string &error) {
    stop();
    socks_ = c.socks;
    for (const auto &s : socks_) {
        unlink(s.c_str());
    }
    name_ = c.name;
    log_ = "/tmp/" + c.name + ".log";
    int in[2];
    if (pipe2(in, O_CLOEXEC) != 0) {
        error = "device process: no pipe";
        return false;
    }
    const std::vector<std::string> args = device_process_args(c);
    std::vector<char *> argv;
    for (const auto &s : args) {
        argv.push_back(const_cast<char *>(s.c_str()));
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    const int rc = posix_spawnp(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    if (rc != 0) {
        close(in[1]);
        pid_ = -1;
        error = "device process: cannot run " + args[0] + " (" + std::string(strerror(rc)) +
                "; install dpdk or set VPMD_TESTPMD)";
        return false;
    }
    stdin_fd_ = in[1];
    const auto deadline = std::chrono::steady_clock::now() + listen_wait;
    for (;;) {
        bool all = true;
        for (const auto &s : socks_) {
            all = all && listening(s);
        }
        if (all) {
            return true;
        }
        int status = 0;
        const bool exited = waitpid(pid_, &status, WNOHANG) == pid_;
        if (exited || std::chrono::steady_clock::now() > deadline) {
            if (exited) {
                pid_ = -1;
            }
            error = std::string("device process (") + args[0] + ") " + (exited ? "exited" : "did not listen within 30 s") +
                    "; the end of " + log_ + ":" + tail_of(log_, 6);
            keep_log_ = true;
            stop();
            return false;
        }
        std::this_thread::sleep_for(10ms);
    }
}

void DeviceProcess::stop() {
    if (stdin_fd_ >= 0) {
        close(stdin_fd_); // "Press enter to exit" reads EOF
        stdin_fd_ = -1;
    }
    if (pid_ > 0) {
        const auto deadline = std::chrono::steady_clock::now() + exit_wait;
        int status = 0;
        while (waitpid(pid_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                kill(pid_, SIGKILL);
                waitpid(pid_, &status, 0);
                break;
            }
            std::this_thread::sleep_for(10ms);
        }
        pid_ = -1;
    }
    for (const auto &s : socks_) {
        unlink(s.c_str());
    }
    socks_.clear();
    if (!log_.empty()) {
        if (!keep_log_) {
            unlink(log_.c_str());
        }
        // EAL's runtime folder of the device's file prefix, beside ours.
        std::error_code ec;
        std::filesystem::remove_all(std::filesystem::path(rte_eal_get_runtime_dir()).parent_path() / name_, ec);
        log_.clear();
    }
    keep_log_ = false;
}

} // namespace vpmd::perf
