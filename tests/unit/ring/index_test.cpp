// Idx16 and need_event: wrapping arithmetic checked against a 64-bit reference model.
#include <gtest/gtest.h>

#include "dataplane/ring/index.hpp"

using vpmd::ring::Idx16;
using vpmd::ring::need_event;

TEST(Idx16, DistanceIsModuloAcrossTheWrap) {
    const Idx16 a(65530);
    const Idx16 b = a + 10;
    EXPECT_EQ(b.raw(), 4);
    EXPECT_EQ(b.since(a), 10);
    EXPECT_EQ(a.since(b), 65526); // the other way round is a long way, not negative
    Idx16 c(65535);
    ++c;
    EXPECT_EQ(c.raw(), 0);
    EXPECT_EQ((Idx16(3) - 5).raw(), 65534);
}

TEST(Idx16, FreeRunningFarPast65536) {
    Idx16 i;
    uint64_t wide = 0;
    for (int step = 0; step < 300000; ++step) {
        const uint16_t n = static_cast<uint16_t>(step % 97);
        const Idx16 before = i;
        i += n;
        wide += n;
        ASSERT_EQ(i.raw(), wide & 0xffff);
        ASSERT_EQ(i.since(before), n);
    }
}

// need_event(e, new, old) must say exactly "e is one of old, old+1, ..., new-1".
TEST(NeedEvent, MatchesReferenceAroundTheWrap) {
    const uint16_t olds[] = {0, 1, 100, 32767, 32768, 65000, 65534, 65535};
    for (uint16_t old : olds) {
        for (uint16_t adv = 0; adv < 300; ++adv) {
            const Idx16 o(old);
            const Idx16 n = o + adv;
            for (int32_t d = -5; d < 305; ++d) {
                const Idx16 e = o + static_cast<uint16_t>(d);
                const bool expected = d >= 0 && d < adv;
                ASSERT_EQ(need_event(e, n, o), expected) << "old=" << old << " adv=" << adv << " d=" << d;
            }
        }
    }
}
