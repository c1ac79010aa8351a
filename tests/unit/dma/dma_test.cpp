// The DMA pieces that need no EAL: the local device and how memory runs merge into regions.
#include <gtest/gtest.h>

#include <cerrno>

#include "dataplane/dma/local_dma.hpp"
#include "dataplane/dma/mem_region.hpp"

namespace vpmd::dma {
namespace {

TEST(LocalDma, ZeroedAlignedVaAddressed) {
    LocalDma dma;
    EXPECT_EQ(dma.addr_mode(), AddrMode::va);
    EXPECT_EQ(dma.name(), "local");
    for (size_t align : {size_t{64}, size_t{4096}}) {
        auto r = dma.alloc(1000, align);
        ASSERT_TRUE(r) << r.error();
        EXPECT_EQ(reinterpret_cast<uintptr_t>(r->va) % align, 0u);
        EXPECT_EQ(r->device_addr, reinterpret_cast<uintptr_t>(r->va));
        EXPECT_EQ(r->len % align, 0u);
        EXPECT_GE(r->len, 1000u);
        const auto *b = static_cast<const uint8_t *>(r->va);
        for (size_t i = 0; i < r->len; ++i) {
            ASSERT_EQ(b[i], 0);
        }
        auto t = dma.translate(b + 10, 20);
        ASSERT_TRUE(t);
        EXPECT_EQ(*t, r->device_addr + 10);
        dma.free(*r);
    }
}

TEST(LocalDma, BadRequestsAreErrors) {
    LocalDma dma;
    auto zero = dma.alloc(0);
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error(), -EINVAL);
    EXPECT_FALSE(dma.alloc(64, 32));  // below a cache line
    EXPECT_FALSE(dma.alloc(64, 96));  // not a power of two
    EXPECT_FALSE(dma.alloc(SIZE_MAX - 10, 64));
    auto huge = dma.alloc(size_t{1} << 62, 64);
    ASSERT_FALSE(huge);
    EXPECT_EQ(huge.error(), -ENOMEM);
    EXPECT_FALSE(dma.translate(nullptr, 4));
    dma.free(ring::DmaRegion{}); // ignored
}

TEST(MemRegion, AdjacentRunsOfOneFileMerge) {
    std::vector<MemRegion> t;
    append_run(t, 0x1000000, 0x200000, 7, 0);
    append_run(t, 0x1200000, 0x200000, 7, 0x200000);
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].size, 0x400000u);
    EXPECT_EQ(t[0].guest_phys_addr, 0x1000000u);
    EXPECT_EQ(t[0].userspace_addr, 0x1000000u);
}

TEST(MemRegion, GapsOtherFilesAndOffsetJumpsDoNot) {
    std::vector<MemRegion> t;
    append_run(t, 0x1000000, 0x200000, 7, 0);
    append_run(t, 0x1400000, 0x200000, 7, 0x400000);  // VA gap
    append_run(t, 0x1600000, 0x200000, 8, 0x600000);  // other fd
    append_run(t, 0x1800000, 0x200000, 8, 0x0);       // offset not continuing
    ASSERT_EQ(t.size(), 4u);
    EXPECT_EQ(t[1].mmap_offset, 0x400000u);
    EXPECT_EQ(t[3].fd, 8);
}

} // namespace
} // namespace vpmd::dma
