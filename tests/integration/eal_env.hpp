// EAL for one integration-test process: VPMD_TEST_MEMORY=nohuge (default) runs
// --no-huge -m 256; =huge runs on hugepages with --single-file-segments, or skips every
// test with the reason when the machine has none. Each process gets its own --file-prefix.
#pragma once

#include <gtest/gtest.h>

#include <glob.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <rte_eal.h>

namespace vpmd::test {

// Why 64 MiB with hugepages: small enough to leave the shared 2 MiB pool for others,
// and small enough that a 64 MiB allocation must grow EAL memory (mem event tests).
inline constexpr const char *huge_mem_mb = "64";
inline constexpr long hugetlbfs_magic = 0x958458f6;

class EalEnv : public ::testing::Environment {
public:
    static EalEnv *instance() { return instance_; }
    [[nodiscard]] bool ready() const { return ready_; }
    [[nodiscard]] bool huge() const { return huge_; }
    [[nodiscard]] const std::string &skip_reason() const { return skip_reason_; }
    [[nodiscard]] const std::string &prefix() const { return prefix_; }

    void SetUp() override {
        instance_ = this;
        const char *mode = std::getenv("VPMD_TEST_MEMORY");
        huge_ = mode != nullptr && std::string(mode) == "huge";
        prefix_ = "vpmd-it-" + std::to_string(::getpid());
        // A suite that needs more memory says so with VPMD_TEST_MEM_MB (meson test env).
        const char *mem_env = std::getenv("VPMD_TEST_MEM_MB");
        mem_mb_ = mem_env != nullptr ? mem_env : (huge_ ? huge_mem_mb : "256");
        if (huge_ && !hugepages_available(std::stol(mem_mb_) / 2 + 48)) {
            skip_reason_ = "no hugetlbfs at /dev/hugepages with enough free 2 MiB pages";
            return;
        }
        std::vector<std::string> args{"vpmd-integration", "--no-pci", "-l", "0", "--file-prefix=" + prefix_,
                                      "--log-level=lib.vhost.*:warning", "--log-level=pmd.net.vpmd.vhost:info"};
        // A suite that reads telemetry says so with VPMD_TEST_TELEMETRY=1; the others go without.
        if (const char *t = std::getenv("VPMD_TEST_TELEMETRY"); t == nullptr || std::string(t) != "1") {
            args.emplace_back("--no-telemetry");
        }
        if (huge_) {
            args.insert(args.end(), {"-m", mem_mb_, "--single-file-segments", "--huge-dir", "/dev/hugepages"});
        } else {
            args.insert(args.end(), {"--no-huge", "-m", mem_mb_});
        }
        std::vector<char *> argv;
        for (auto &a : args) {
            argv.push_back(a.data());
        }
        if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
            skip_reason_ = "rte_eal_init failed";
            failed_ = true;
            return;
        }
        ready_ = true;
        runtime_dir_ = rte_eal_get_runtime_dir();
    }

    void TearDown() override {
        if (ready_) {
            rte_eal_cleanup();
        }
        // EAL leaves its runtime directory (config, fbarrays) behind; it is ours alone.
        if (!runtime_dir_.empty() && runtime_dir_.find(prefix_) != std::string::npos) {
            std::error_code ec;
            std::filesystem::remove_all(runtime_dir_, ec);
        }
        // Hugepage files of this prefix outlive the process unless removed.
        if (huge_) {
            glob_t g{};
            const std::string pattern = "/dev/hugepages/" + prefix_ + "map_*";
            if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
                for (size_t i = 0; i < g.gl_pathc; ++i) {
                    ::unlink(g.gl_pathv[i]);
                }
            }
            ::globfree(&g);
        }
    }

    // For fixtures: fail when EAL should have come up, skip when the machine lacks hugepages.
    [[nodiscard]] bool failed() const { return failed_; }

private:
    static bool hugepages_available(long pages_needed) {
        struct statfs fs {};
        if (::statfs("/dev/hugepages", &fs) != 0 || static_cast<long>(fs.f_type) != hugetlbfs_magic) {
            return false;
        }
        std::ifstream f("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
        long free_pages = 0;
        return (f >> free_pages) && free_pages >= pages_needed;
    }

    static inline EalEnv *instance_ = nullptr;
    bool ready_ = false;
    bool failed_ = false;
    bool huge_ = false;
    std::string skip_reason_;
    std::string prefix_;
    std::string mem_mb_;
    std::string runtime_dir_;
};

inline ::testing::Environment *const eal_env_registered = ::testing::AddGlobalTestEnvironment(new EalEnv);

// First line of every integration test body.
#define VPMD_REQUIRE_EAL()                                                                  \
    do {                                                                                    \
        auto *env_ = ::vpmd::test::EalEnv::instance();                                      \
        ASSERT_NE(env_, nullptr);                                                           \
        ASSERT_FALSE(env_->failed()) << env_->skip_reason();                                \
        if (!env_->ready()) {                                                               \
            GTEST_SKIP() << env_->skip_reason();                                            \
        }                                                                                   \
    } while (0)

} // namespace vpmd::test
