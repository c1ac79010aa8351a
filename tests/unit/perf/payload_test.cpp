// vpmd-perf's frame format: a stamped frame checks clean, and a flipped bit anywhere the
// check covers (the header's fields, every sampled fill byte, every fill byte of a fully
// checked frame) is reported, for plain and TCP frames from 64 to 9000 bytes. No EAL.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "apps/perf/payload.hpp"

using namespace vpmd::perf;

namespace {

constexpr uint64_t tsc = 0x0123456789abcdefull;
// A sequence number checked byte for byte, and one whose fill is only sampled.
constexpr uint64_t full_seq = 7 * full_check_every, sampled_seq = full_seq + 5;
// PerfHdr's fields end here; what follows up to the fill is padding nobody reads.
constexpr uint32_t hdr_fields = offsetof(PerfHdr, len) + sizeof(uint32_t);

struct Frame {
    std::vector<uint8_t> bytes;
    FrameFormat fmt;
};

Frame stamped(uint32_t len, bool tcp, uint64_t seq) {
    Frame f;
    f.bytes.resize(len);
    if (tcp) {
        build_tcp_template(f.bytes.data(), len, false);
        f.fmt = FrameFormat{tcp_perf_off};
    } else {
        build_template(f.bytes.data(), len);
    }
    const PerfHdr h = make_hdr(fill_hash(f.bytes.data(), len, f.fmt), len, seq, tsc);
    std::memcpy(f.bytes.data() + f.fmt.hdr_off, &h, sizeof(h));
    return f;
}

Check check(const Frame &f) {
    PerfHdr h;
    return check_frame(f.bytes.data(), uint32_t(f.bytes.size()), h, f.fmt);
}

class Payload : public ::testing::TestWithParam<bool> {
protected:
    // The sizes a frame of this kind comes in (vpmd-perf refuses TCP frames too short to
    // hold the headers and the PerfHdr).
    static std::vector<uint32_t> sizes(std::vector<uint32_t> from = {64, 65, 100, 1518, 9000}) {
        const uint32_t least = GetParam() ? FrameFormat{tcp_perf_off}.fill() : min_frame;
        for (uint32_t &len : from) {
            len = std::max(len, least);
        }
        return from;
    }
};

TEST_P(Payload, StampedFramesCheckCleanAndCarryTheirFields) {
    for (uint32_t len : sizes()) {
        for (uint64_t seq : {full_seq, sampled_seq}) {
            const Frame f = stamped(len, GetParam(), seq);
            PerfHdr h;
            ASSERT_EQ(check_frame(f.bytes.data(), len, h, f.fmt), Check::ok) << len << " " << seq;
            EXPECT_EQ(h.seq, seq);
            EXPECT_EQ(h.tsc, tsc);
            EXPECT_EQ(h.len, len);
        }
    }
}

TEST_P(Payload, EveryBitOfTheHeaderIsCovered) {
    for (uint32_t len : sizes()) {
        const Frame good = stamped(len, GetParam(), sampled_seq);
        for (uint32_t byte = 0; byte < hdr_fields; ++byte) {
            for (int bit = 0; bit < 8; ++bit) {
                Frame f = good;
                f.bytes[f.fmt.hdr_off + byte] ^= uint8_t(1u << bit);
                EXPECT_NE(check(f), Check::ok) << "len " << len << " header byte " << byte << " bit " << bit;
            }
        }
    }
}

TEST_P(Payload, EverySampledFillByteIsCoveredOnEveryFrame) {
    for (uint32_t len : sizes()) {
        const Frame good = stamped(len, GetParam(), sampled_seq);
        for (uint32_t i = good.fmt.fill(); i < len; i += fill_stride) {
            for (int bit = 0; bit < 8; ++bit) {
                Frame f = good;
                f.bytes[i] ^= uint8_t(1u << bit);
                EXPECT_EQ(check(f), Check::bad_csum) << "len " << len << " fill byte " << i << " bit " << bit;
            }
        }
    }
}

TEST_P(Payload, EveryFillByteIsCoveredOnAFullyCheckedFrame) {
    for (uint32_t len : sizes({64, 100, 1518})) {
        const Frame good = stamped(len, GetParam(), full_seq);
        for (uint32_t i = good.fmt.fill(); i < len; ++i) {
            Frame f = good;
            f.bytes[i] ^= 0x10;
            EXPECT_NE(check(f), Check::ok) << "len " << len << " fill byte " << i;
        }
    }
}

TEST_P(Payload, ATruncatedOrPaddedFrameIsNotOk) {
    const Frame f = stamped(100, GetParam(), sampled_seq);
    PerfHdr h;
    EXPECT_EQ(check_frame(f.bytes.data(), 99, h, f.fmt), Check::bad_len);
    std::vector<uint8_t> longer = f.bytes;
    longer.push_back(0);
    EXPECT_EQ(check_frame(longer.data(), 101, h, f.fmt), Check::bad_len);
    EXPECT_EQ(check_frame(f.bytes.data(), f.fmt.fill() - 1, h, f.fmt), Check::bad_len);
}

INSTANTIATE_TEST_SUITE_P(PlainAndTcp, Payload, ::testing::Bool(),
                         [](const auto &info) { return info.param ? "tcp" : "plain"; });

} // namespace
