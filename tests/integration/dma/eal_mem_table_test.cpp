// EAL memory as a vhost-user memory table: every region's fd really holds our bytes at its
// offset (mapped again, as a back-end would), --no-huge is memfd-backed, and the memory
// event watch fires when hugepage memory grows. Also the vhost-user DMA device.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include <rte_malloc.h>

#include "dataplane/dma/eal_mem_table.hpp"
#include "dataplane/dma/vhost_user_dma.hpp"
#include "tests/integration/eal_env.hpp"

namespace vpmd::dma {
namespace {

std::string fd_target(int fd) {
    char link[PATH_MAX] = {};
    const std::string proc = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = ::readlink(proc.c_str(), link, sizeof(link) - 1);
    return n > 0 ? std::string(link, static_cast<size_t>(n)) : std::string();
}

const MemRegion *region_of(const MemTable &t, const void *p, size_t len) {
    const auto a = reinterpret_cast<uintptr_t>(p);
    for (const MemRegion &r : t.regions) {
        if (a >= r.userspace_addr && a + len <= r.userspace_addr + r.size) {
            return &r;
        }
    }
    return nullptr;
}

// Maps the region's fd the way DPDK's vhost does (from offset 0 to offset + size) and
// checks that bytes written through our VA are there.
void expect_same_bytes(const MemRegion &r, const uint8_t *ours, size_t len) {
    const uint64_t off = reinterpret_cast<uintptr_t>(ours) - r.userspace_addr + r.mmap_offset;
    const size_t map_len = ((off + len + (2u << 20) - 1) / (2u << 20)) * (2u << 20); // hugepage multiple
    void *m = ::mmap(nullptr, map_len, PROT_READ, MAP_SHARED, r.fd, 0);
    ASSERT_NE(m, MAP_FAILED) << std::strerror(errno);
    EXPECT_EQ(std::memcmp(static_cast<uint8_t *>(m) + off, ours, len), 0);
    ::munmap(m, map_len);
}

class EalMemTable : public ::testing::Test {
protected:
    void SetUp() override { VPMD_REQUIRE_EAL(); }
};

TEST_F(EalMemTable, RegionsAreFdBackedOrderedAndMergeable) {
    auto t = collect_mem_table();
    ASSERT_TRUE(t) << t.error();
    EXPECT_EQ(t->skipped_runs, 0u);
    ASSERT_FALSE(t->regions.empty());
    for (size_t i = 0; i < t->regions.size(); ++i) {
        const MemRegion &r = t->regions[i];
        EXPECT_GE(r.fd, 0);
        EXPECT_GT(r.size, 0u);
        EXPECT_EQ(r.guest_phys_addr, r.userspace_addr); // virtio-user: "guest physical" = VA
        if (i > 0) {
            const MemRegion &p = t->regions[i - 1];
            EXPECT_LE(p.userspace_addr + p.size, r.userspace_addr) << "overlap";
            // Adjacent runs of one file would have been merged.
            EXPECT_FALSE(p.fd == r.fd && p.userspace_addr + p.size == r.userspace_addr &&
                         p.mmap_offset + p.size == r.mmap_offset);
        }
    }
    // --single-file-segments and --no-huge keep the table within SET_MEM_TABLE's 8.
    EXPECT_LE(t->regions.size(), 8u);
}

TEST_F(EalMemTable, NoHugeIsMemfdHugeIsHugetlbfs) {
    auto t = collect_mem_table();
    ASSERT_TRUE(t);
    const std::string target = fd_target(t->regions[0].fd);
    if (test::EalEnv::instance()->huge()) {
        EXPECT_EQ(target.rfind("/dev/hugepages/", 0), 0u) << target;
    } else {
        // DPDK 22.11 backs --no-huge memory with a memfd: a vhost-user back-end can map it.
        EXPECT_EQ(target.rfind("/memfd:", 0), 0u) << target;
        EXPECT_EQ(t->regions.size(), 1u);
    }
}

TEST_F(EalMemTable, FdAtOffsetHoldsOurBytes) {
    auto *buf = static_cast<uint8_t *>(rte_malloc("vpmd_it_pattern", 1 << 20, 4096));
    ASSERT_NE(buf, nullptr);
    for (size_t i = 0; i < (1u << 20); ++i) {
        buf[i] = static_cast<uint8_t>(i * 7 + 3);
    }
    auto t = collect_mem_table();
    ASSERT_TRUE(t);
    const MemRegion *r = region_of(*t, buf, 1 << 20);
    ASSERT_NE(r, nullptr) << "rte_malloc memory missing from the table";
    expect_same_bytes(*r, buf, 1 << 20);
    rte_free(buf);
}

TEST_F(EalMemTable, WatchFiresWhenHugepageMemoryGrows) {
    auto w = MemEventWatch::create("vpmd-it-watch");
    ASSERT_TRUE(w) << w.error();
    if (!test::EalEnv::instance()->huge()) {
        // Legacy memory (--no-huge) never changes; EAL refuses callbacks and we say so.
        EXPECT_FALSE((*w)->active());
        EXPECT_FALSE((*w)->consume());
        return;
    }
    ASSERT_TRUE((*w)->active());
    EXPECT_FALSE((*w)->consume());
    // Larger than all memory EAL preallocated (-m 64): the heap must grow.
    auto *big = static_cast<uint8_t *>(rte_malloc("vpmd_it_grow", 96u << 20, 4096));
    ASSERT_NE(big, nullptr);
    EXPECT_GE((*w)->generation(), 1u);
    EXPECT_TRUE((*w)->consume());
    EXPECT_FALSE((*w)->consume()); // drained
    std::memset(big, 0x5a, 4096);
    auto t = collect_mem_table();
    ASSERT_TRUE(t);
    const MemRegion *r = region_of(*t, big, 96u << 20);
    ASSERT_NE(r, nullptr) << "grown memory missing from the new table";
    expect_same_bytes(*r, big, 4096);
    rte_free(big); // shrinking is an event too
    EXPECT_TRUE((*w)->consume());
}

TEST_F(EalMemTable, VhostUserDmaAllocatesZeroedAlignedSharedMemory) {
    VhostUserDma dma;
    EXPECT_EQ(dma.addr_mode(), AddrMode::va);
    auto r = dma.alloc(10000, 4096);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(r->va) % 4096, 0u);
    EXPECT_EQ(r->device_addr, reinterpret_cast<uintptr_t>(r->va));
    EXPECT_GE(r->len, 10000u);
    const auto *bytes = static_cast<const uint8_t *>(r->va);
    for (size_t i = 0; i < r->len; ++i) {
        ASSERT_EQ(bytes[i], 0) << "at " << i;
    }
    auto tr = dma.translate(r->va, r->len);
    ASSERT_TRUE(tr);
    EXPECT_EQ(*tr, r->device_addr);
    auto t = collect_mem_table();
    ASSERT_TRUE(t);
    EXPECT_NE(region_of(*t, r->va, r->len), nullptr);
    dma.free(*r);

    int on_stack = 0;
    auto bad = dma.translate(&on_stack, sizeof(on_stack));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), -EFAULT);
    auto misaligned = dma.alloc(64, 48);
    ASSERT_FALSE(misaligned);
    EXPECT_EQ(misaligned.error(), -EINVAL);
    EXPECT_FALSE(dma.alloc(0));
}

} // namespace
} // namespace vpmd::dma
