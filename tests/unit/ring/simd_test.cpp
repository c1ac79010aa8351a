// Each SIMD variant of the driver view against the scalar one, step by step on the same
// traffic. The same buffers added must leave the same ring bytes (the group stores write
// exactly what one-by-one stores do), and every collect, from an honest device, from an
// IN_ORDER one completing in batches, and from one scribbling over the ring, must return
// the same buffers and lengths and reach the same verdict.
#include <gtest/gtest.h>
#include <tbb/parallel_for.h>

#include <numeric>
#include <random>
#include <set>

#include "mock/ring_pair.hpp"

using namespace vpmd::ring;
using namespace vpmd::test;

namespace {

constexpr int seeds = 300;
constexpr int rounds = 300;

template <template <Simd> class TagT, bool InOrder, Simd S>
class Twin {
public:
    using A = RingPair<TagT<Simd::scalar>, uint64_t, InOrder>;
    using B = RingPair<TagT<S>, uint64_t, InOrder>;
    static constexpr bool packed = TagT<S>::packed;

    explicit Twin(uint32_t seed)
        : rng_(seed), size_(packed ? 4 + seed % 37 : 1u << (2 + seed % 5)),
          features_(feature::version_1 | (InOrder ? feature::in_order : 0) | (seed & 4 ? feature::event_idx : 0)),
          a_(size_, features_), b_(size_, features_) {}

    std::string run() {
        if (a_.init() != SetupError::ok || b_.init() != SetupError::ok) {
            return "init failed";
        }
        for (int round = 0; round < rounds; ++round) {
            if (auto e = add(); !e.empty()) {
                return e;
            }
            if (auto e = device(); !e.empty()) {
                return e;
            }
            if (rng_() % 6 == 0) {
                scribble();
            }
            if (auto e = collect(); !e.empty()) {
                return "round " + std::to_string(round) + ": " + e;
            }
        }
        return {};
    }

private:
    std::string add() {
        const bool writes = rng_() & 1; // an rx-like or a tx-like burst
        const uint16_t want = uint16_t(1 + rng_() % size_);
        std::vector<Segment> segs;
        std::vector<uint64_t> cookies;
        for (uint16_t i = 0; i < want; ++i) {
            segs.push_back(a_.seg(uint32_t(next_ + i), 60 + rng_() % 1400, writes));
            cookies.push_back(next_ + i);
        }
        const uint16_t na = a_.q.add_burst(segs.data(), cookies.data(), want);
        if (b_.q.add_burst(segs.data(), cookies.data(), want) != na) {
            return "add_burst counts differ";
        }
        next_ += na;
        if (rng_() % 5 != 0) { // else collect while the burst is still unpublished
            a_.q.publish();
            b_.q.publish();
        }
        return same_ring() ? "" : "ring bytes differ after add";
    }

    // The same device work on both: take some chains, complete some (any order: random
    // ones; IN_ORDER: the oldest, one by one or as one batch), lengths up to writable.
    std::string device() {
        for (uint32_t k = rng_() % (size_ + 1); k > 0; --k) {
            typename A::Chain ca;
            typename B::Chain cb;
            const bool ga = a_.dev.take(ca);
            if (b_.dev.take(cb) != ga) {
                return "devices took differently";
            }
            if (!ga) {
                break;
            }
            ta_.push_back(ca);
            tb_.push_back(cb);
        }
        if (InOrder && !ta_.empty() && rng_() % 3 == 0) {
            const size_t n = 1 + rng_() % ta_.size();
            const uint32_t len = rng_() % (ta_[n - 1].writable_len + 1);
            a_.dev.put_used_batch(ta_.data(), uint16_t(n), len);
            b_.dev.put_used_batch(tb_.data(), uint16_t(n), len);
            ta_.erase(ta_.begin(), ta_.begin() + long(n));
            tb_.erase(tb_.begin(), tb_.begin() + long(n));
        } else {
            for (size_t k = rng_() % (ta_.size() + 1); k > 0; --k) {
                const size_t i = InOrder ? 0 : rng_() % ta_.size();
                const uint32_t len = rng_() % (ta_[i].writable_len + 1);
                a_.dev.put_used(ta_[i], len);
                b_.dev.put_used(tb_[i], len);
                ta_.erase(ta_.begin() + long(i));
                tb_.erase(tb_.begin() + long(i));
            }
        }
        a_.dev.publish_used();
        b_.dev.publish_used();
        return same_ring() ? "" : "ring bytes differ after the device";
    }

    // The same random bytes over what the device writes: packed descriptors (ids, lengths,
    // flags), split used entries.
    void scribble() {
        const size_t from = packed ? 0 : SplitLayout::of(size_).used;
        const size_t to = packed ? PackedLayout::of(size_).driver_event : SplitLayout::of(size_).total;
        for (uint32_t k = 1 + rng_() % 6; k > 0; --k) {
            const size_t at = from + rng_() % (to - from);
            a_.ring()[at] = b_.ring()[at] = char(rng_());
        }
    }

    std::string collect() {
        const uint16_t max = uint16_t(1 + rng_() % 40);
        Used<uint64_t> oa[40], ob[40];
        const uint16_t ga = a_.q.collect(oa, max);
        const uint16_t gb = b_.q.collect(ob, max);
        if (ga != gb) {
            return "collected " + std::to_string(gb) + " buffers, scalar " + std::to_string(ga);
        }
        for (uint16_t i = 0; i < ga; ++i) {
            if (oa[i].cookie != ob[i].cookie || oa[i].len != ob[i].len) {
                return "buffer " + std::to_string(i) + " differs";
            }
        }
        if (a_.q.broken() != b_.q.broken() || a_.q.error_count() != b_.q.error_count() ||
            a_.q.ignored_lens() != b_.q.ignored_lens() || a_.q.in_flight() != b_.q.in_flight() ||
            a_.q.free_descs() != b_.q.free_descs()) {
            return std::string("verdicts differ: ") + std::string(to_string(a_.q.broken())) + " vs " +
                   std::string(to_string(b_.q.broken()));
        }
        if (a_.q.broken() != Broken::none || a_.dev.broken() != Broken::none) {
            std::set<uint64_t> da, db;
            a_.q.detach_unused([&](uint64_t c) { da.insert(c); });
            b_.q.detach_unused([&](uint64_t c) { db.insert(c); });
            if (da != db) {
                return "detached different buffers";
            }
            a_.dev.restore(packed ? 0x8000 : 0, packed ? 0x8000 : 0);
            b_.dev.restore(packed ? 0x8000 : 0, packed ? 0x8000 : 0);
            ta_.clear();
            tb_.clear();
        }
        return same_ring() ? "" : "ring bytes differ after collect";
    }

    bool same_ring() const { return std::memcmp(a_.ring(), b_.ring(), A::Queue::ring_bytes(size_)) == 0; }

    std::mt19937 rng_;
    uint32_t size_;
    uint64_t features_;
    A a_;
    B b_;
    uint64_t next_ = 0;
    std::vector<typename A::Chain> ta_;
    std::vector<typename B::Chain> tb_;
};

template <template <Simd> class TagT, Simd S>
void run_twins() {
    if (!cpu_runs(S)) {
        GTEST_SKIP() << "this CPU has no " << simd_name(S);
    }
    std::vector<std::string> failures(seeds);
    tbb::parallel_for(0, seeds, [&](int seed) {
        failures[seed] = seed % 2 ? Twin<TagT, true, S>(uint32_t(seed)).run() : Twin<TagT, false, S>(uint32_t(seed)).run();
    });
    for (int seed = 0; seed < seeds; ++seed) {
        EXPECT_EQ(failures[seed], "") << "seed " << seed;
    }
}

} // namespace

TEST(SimdTwin, SplitAvx2MatchesScalar) { run_twins<SplitTag, Simd::avx2>(); }
TEST(SimdTwin, SplitAvx512MatchesScalar) { run_twins<SplitTag, Simd::avx512>(); }
TEST(SimdTwin, PackedAvx2MatchesScalar) { run_twins<PackedTag, Simd::avx2>(); }
TEST(SimdTwin, PackedAvx512MatchesScalar) { run_twins<PackedTag, Simd::avx512>(); }

namespace {

// The PMD's tx counts each packet inside its segment callback: add_each must ask for each
// buffer it adds exactly once, in order, and for none it does not add (a full ring).
template <template <Simd> class TagT, bool InOrder, Simd S>
void segments_asked_once_per_added_buffer() {
    RingPair<TagT<S>, uint32_t, InOrder> p(16, feature::version_1 | (InOrder ? feature::in_order : 0));
    ASSERT_EQ(p.init(), SetupError::ok);
    std::vector<uint32_t> cookies(16);
    // 13 (groups of four and a tail), then 10 of which 3 fit.
    for (const auto &[want, fits] : {std::pair<uint16_t, uint16_t>{13, 13}, {10, 3}}) {
        std::vector<uint16_t> asked;
        const uint16_t added = p.q.add_each(cookies.data(), want, [&](uint16_t i) {
            asked.push_back(i);
            return p.seg(i, 64, false);
        });
        ASSERT_EQ(added, fits);
        std::vector<uint16_t> once(fits);
        std::iota(once.begin(), once.end(), uint16_t(0));
        EXPECT_EQ(asked, once) << simd_name(S) << (InOrder ? " in order" : " any order") << ", " << want << " asked";
    }
}

template <template <Simd> class TagT>
void segments_asked_once_every_variant() {
    for (Simd s : all_simd) {
        if (!cpu_runs(s)) {
            continue;
        }
        switch (s) {
        case Simd::scalar: segments_asked_once_per_added_buffer<TagT, false, Simd::scalar>();
                           segments_asked_once_per_added_buffer<TagT, true, Simd::scalar>(); break;
        case Simd::avx2: segments_asked_once_per_added_buffer<TagT, false, Simd::avx2>();
                         segments_asked_once_per_added_buffer<TagT, true, Simd::avx2>(); break;
        case Simd::avx512: segments_asked_once_per_added_buffer<TagT, false, Simd::avx512>();
                           segments_asked_once_per_added_buffer<TagT, true, Simd::avx512>(); break;
        }
    }
}

} // namespace

TEST(SimdVariants, SplitAddEachAsksEachAddedSegmentOnce) { segments_asked_once_every_variant<SplitTag>(); }
TEST(SimdVariants, PackedAddEachAsksEachAddedSegmentOnce) { segments_asked_once_every_variant<PackedTag>(); }
