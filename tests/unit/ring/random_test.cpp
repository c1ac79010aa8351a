// Randomized: driver and device views driven with random bursts, chains, completion
// orders and features, checked step by step against a simple reference model; and a
// hostile device writing random bytes over the ring, which must never make the driver
// return a buffer it did not post or return one twice. Seeds run in parallel (oneTBB).
#include <gtest/gtest.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <deque>
#include <map>
#include <random>
#include <set>

#include "mock/ring_pair.hpp"

using namespace vpmd::ring;
using namespace vpmd::test;

namespace {

constexpr int seeds = 1000;
constexpr int steps_per_seed = 3000;

struct Posted {
    std::vector<uint32_t> bufs; // test buffer indices, to free on completion
    std::vector<uint32_t> lens;
    std::vector<bool> writes;
    uint32_t writable = 0;
};

template <class Tag, bool InOrder>
class Model {
public:
    using Pair = RingPair<Tag, uint32_t, InOrder>;
    using Chain = typename Pair::Chain;

    explicit Model(uint32_t seed) : rng_(seed) {
        (void)coin(); // IN_ORDER is the queue type's (InOrder); the draw keeps each seed's run
        in_order_ = InOrder;
        indirect_ = coin();
        uint64_t f = feature::version_1;
        f |= in_order_ ? feature::in_order : 0;
        f |= indirect_ ? feature::indirect_desc : 0;
        f |= coin() ? feature::event_idx : 0;
        size_ = Tag::packed ? uint32_t(1 + rng_() % 40) : uint32_t(1u << (rng_() % 6));
        pair_ = std::make_unique<Pair>(size_, f, indirect_ ? 4 : 0, size_ * 4 + 4);
        for (uint32_t i = 0; i < pair_->nbufs(); ++i) {
            free_bufs_.push_back(i);
        }
    }

    // Returns a failure message, or empty when the run matched the model.
    std::string run() {
        if (pair_->init() != SetupError::ok) {
            return "init failed";
        }
        for (int step = 0; step < steps_per_seed; ++step) {
            switch (rng_() % 6) {
            case 0: add(); break;
            case 1: pair_->q.publish(); (void)pair_->q.needs_notify(); published_ = next_cookie_; break;
            case 2: take(); break;
            case 3: complete(); break;
            case 4: pair_->dev.publish_used(); (void)pair_->dev.needs_interrupt(); visible_ = done_; break;
            case 5: if (auto e = collect(uint16_t(1 + rng_() % 8)); !e.empty()) { return e; } break;
            }
            if (!error_.empty()) {
                return error_;
            }
        }
        // Drain: everything posted must come back exactly once.
        pair_->q.publish();
        published_ = next_cookie_;
        for (int guard = 0; guard < 10000 && !posted_.empty(); ++guard) {
            take();
            while (!taken_.empty()) {
                complete();
            }
            pair_->dev.publish_used();
            visible_ = done_;
            if (auto e = collect(8); !e.empty()) {
                return e;
            }
            if (!error_.empty()) {
                return error_;
            }
        }
        if (!posted_.empty()) {
            return "buffers never came back: " + std::to_string(posted_.size());
        }
        if (pair_->q.free_descs() != size_ || pair_->q.in_flight() != 0) {
            return "descriptors leaked";
        }
        if (pair_->q.broken() != Broken::none || pair_->dev.broken() != Broken::none) {
            return "queue broke on valid traffic";
        }
        return {};
    }

private:
    bool coin() { return rng_() & 1; }

    void add() {
        const uint16_t n = uint16_t(1 + rng_() % 4);
        if (free_bufs_.size() < n) {
            return;
        }
        const uint16_t first_writable = uint16_t(rng_() % (n + 1));
        Posted pb;
        Segment segs[4];
        for (uint16_t i = 0; i < n; ++i) {
            const uint32_t b = free_bufs_.back();
            free_bufs_.pop_back();
            const uint32_t len = 4 + rng_() % (buffer_bytes - 4);
            const bool w = i >= first_writable;
            segs[i] = pair_->seg(b, len, w);
            pb.bufs.push_back(b);
            pb.lens.push_back(len);
            pb.writes.push_back(w);
            pb.writable += w ? len : 0;
        }
        std::memcpy(pair_->buf(pb.bufs[0]), &next_cookie_, 4); // the device checks this tag
        const ChainMode mode = coin() ? ChainMode::indirect : ChainMode::chained;
        const uint32_t need = (mode == ChainMode::indirect && indirect_) ? 1 : n;
        const bool fits = pair_->q.free_descs() >= need;
        const bool ok = pair_->q.add_chain(segs, n, next_cookie_, mode);
        if (ok != fits) {
            error_ = "add_chain result does not match free descriptors";
        }
        if (!ok) {
            for (uint32_t b : pb.bufs) {
                free_bufs_.push_back(b);
            }
            return;
        }
        posted_.emplace(next_cookie_++, std::move(pb));
    }

    void take() {
        for (uint32_t k = rng_() % 6; k > 0; --k) {
            Chain c;
            if (!pair_->dev.take(c)) {
                if (pair_->dev.broken() != Broken::none) {
                    error_ = "device view broke on valid descriptors";
                }
                if (took_ < published_) {
                    // Published buffers must be visible to the device.
                    error_ = "device missed a published buffer";
                }
                return;
            }
            uint32_t cookie;
            std::memcpy(&cookie, c.segs[0].ptr, 4);
            auto it = posted_.find(cookie);
            if (it == posted_.end() || cookie != took_) {
                error_ = "device took an unexpected buffer";
                return;
            }
            const Posted &pb = it->second;
            if (c.nsegs != pb.bufs.size()) {
                error_ = "segment count mismatch";
                return;
            }
            for (uint16_t s = 0; s < c.nsegs; ++s) {
                if (c.segs[s].ptr != pair_->buf(pb.bufs[s]) || c.segs[s].len != pb.lens[s] ||
                    c.segs[s].device_writes != pb.writes[s]) {
                    error_ = "segment mismatch";
                    return;
                }
            }
            ++took_;
            taken_.push_back({cookie, c});
        }
    }

    void complete() {
        if (taken_.empty()) {
            return;
        }
        if (in_order_) {
            uint16_t n = uint16_t(1 + rng_() % std::min<size_t>(taken_.size(), 4));
            // Split rings batch only buffers the device merely read (see SplitQueue).
            for (uint16_t i = 0; !Tag::packed && i < n; ++i) {
                if (taken_[i].second.writable_len != 0) {
                    n = 1;
                }
            }
            std::vector<Chain> batch;
            for (uint16_t i = 0; i < n; ++i) {
                batch.push_back(taken_[i].second);
            }
            const uint32_t len = rng_() % (batch.back().writable_len + 1);
            if (!pair_->dev.put_used_batch(batch.data(), n, len)) {
                error_ = "put_used_batch refused a valid length";
            }
            for (uint16_t i = 0; i < n; ++i) {
                expect_.push_back({taken_.front().first, i + 1 == n ? len : 0});
                taken_.pop_front();
            }
            done_ += n;
            return;
        }
        const size_t pick = rng_() % taken_.size();
        const auto [cookie, c] = taken_[pick];
        taken_.erase(taken_.begin() + long(pick));
        const uint32_t len = rng_() % (c.writable_len + 1);
        if (!pair_->dev.put_used(c, len)) {
            error_ = "put_used refused a valid length";
        }
        expect_.push_back({cookie, len});
        ++done_;
    }

    std::string collect(uint16_t max) {
        Used<uint32_t> out[8];
        // ready() must say exactly what collect() then returns, and never consume.
        const uint16_t ready = pair_->q.ready(max);
        if (pair_->q.ready(max) != ready || (max > 1 && pair_->q.ready(uint16_t(max - 1)) != std::min<uint16_t>(ready, uint16_t(max - 1)))) {
            return "ready() is not a pure count";
        }
        const uint16_t got = pair_->q.collect(out, max);
        if (pair_->q.broken() != Broken::none) {
            return std::string("driver broke on valid traffic: ") + std::string(to_string(pair_->q.broken()));
        }
        if (got > max) {
            return "collect overflowed";
        }
        if (got != ready) {
            return "ready() said " + std::to_string(ready) + ", collect returned " + std::to_string(got);
        }
        for (uint16_t i = 0; i < got; ++i) {
            if (collected_ >= expect_.size()) {
                return "driver returned a buffer the device never completed";
            }
            const auto [cookie, len] = expect_[collected_++];
            if (out[i].cookie != cookie || out[i].len != len) {
                return "completion mismatch: cookie " + std::to_string(out[i].cookie) + " expected " +
                       std::to_string(cookie);
            }
            for (uint32_t b : posted_.at(cookie).bufs) {
                free_bufs_.push_back(b);
            }
            posted_.erase(cookie);
        }
        // Everything made visible (and room to return it) must come back.
        if (got < max && collected_ < visible_) {
            return "driver missed visible completions";
        }
        return {};
    }

    std::mt19937 rng_;
    bool in_order_ = false, indirect_ = false;
    uint32_t size_ = 0;
    std::unique_ptr<Pair> pair_;
    std::vector<uint32_t> free_bufs_;
    std::map<uint32_t, Posted> posted_;
    std::deque<std::pair<uint32_t, Chain>> taken_;
    std::vector<std::pair<uint32_t, uint32_t>> expect_; // completion order: cookie, len
    uint32_t next_cookie_ = 0, published_ = 0, took_ = 0;
    size_t done_ = 0, visible_ = 0, collected_ = 0;
    std::string error_;
};

template <class Tag>
void run_seeds() {
    std::vector<std::string> failures(seeds);
    // Half the seeds with each IN_ORDER policy.
    tbb::parallel_for(0, seeds, [&](int seed) {
        failures[seed] = seed % 2 ? Model<Tag, true>(uint32_t(seed)).run() : Model<Tag, false>(uint32_t(seed)).run();
    });
    for (int seed = 0; seed < seeds; ++seed) {
        EXPECT_EQ(failures[seed], "") << "seed " << seed;
    }
}

} // namespace

TEST(RandomModel, Split) { run_seeds<SplitLayoutTag>(); }
TEST(RandomModel, Packed) { run_seeds<PackedLayoutTag>(); }
// The same model over the vector collect paths (simd.hpp), where the CPU has them.
template <class Tag>
void run_seeds_if_cpu_runs() {
    if (!cpu_runs(Tag::simd)) {
        GTEST_SKIP() << "this CPU has no " << simd_name(Tag::simd);
    }
    run_seeds<Tag>();
}
TEST(RandomModel, SplitAvx2) { run_seeds_if_cpu_runs<SplitTag<Simd::avx2>>(); }
TEST(RandomModel, SplitAvx512) { run_seeds_if_cpu_runs<SplitTag<Simd::avx512>>(); }
TEST(RandomModel, PackedAvx2) { run_seeds_if_cpu_runs<PackedTag<Simd::avx2>>(); }
TEST(RandomModel, PackedAvx512) { run_seeds_if_cpu_runs<PackedTag<Simd::avx512>>(); }

// A hostile device overwrites the device-written parts of the ring with random bytes
// between collects. The driver may break, but must only ever return buffers it posted,
// each at most once, and detach must return exactly the rest.
template <class Tag, bool InOrder>
void hostile_device(uint32_t seed) {
    std::mt19937 rng(seed);
    const uint32_t size = Tag::packed ? 8 + seed % 9 : 16;
    const uint64_t f = feature::version_1 | (InOrder ? feature::in_order : 0);
    RingPair<Tag, uint32_t, InOrder> p(size, f);
    ASSERT_EQ(p.init(), SetupError::ok);
    std::set<uint32_t> outstanding;
    uint32_t next = 0;
    for (int round = 0; round < 200; ++round) {
        while (p.q.free_descs() > 0) {
            const Segment s = p.seg(next, 512, true);
            ASSERT_EQ(p.q.add_burst(&s, &next, 1), 1);
            outstanding.insert(next++);
        }
        p.q.publish();
        // Scribble: random bytes over the used area (split) or random descriptors (packed).
        auto *bytes = reinterpret_cast<uint8_t *>(p.ring());
        const size_t from = Tag::packed ? 0 : SplitLayout::of(size).used;
        const size_t to = Tag::packed ? PackedLayout::of(size).driver_event : SplitLayout::of(size).total;
        for (int k = 0; k < 8; ++k) {
            bytes[from + rng() % (to - from)] = uint8_t(rng());
        }
        Used<uint32_t> out[32];
        // Whatever the device wrote, ready() reads only inside the ring and counts at most
        // what is in flight; when collect() finds nothing wrong they agree.
        const uint16_t ready = p.q.ready(32);
        ASSERT_LE(ready, p.q.in_flight());
        const uint16_t got = p.q.collect(out, 32);
        if (p.q.broken() == Broken::none) {
            ASSERT_EQ(got, ready);
        }
        for (uint16_t i = 0; i < got; ++i) {
            ASSERT_EQ(outstanding.erase(out[i].cookie), 1u) << "returned twice or never posted";
            ASSERT_LE(out[i].len, 512u);
        }
        if (p.q.broken() != Broken::none) {
            std::set<uint32_t> back;
            p.q.detach_unused([&](uint32_t c) { back.insert(c); });
            ASSERT_EQ(back, outstanding);
            outstanding.clear();
            p.dev.restore(Tag::packed ? 0x8000 : 0, Tag::packed ? 0x8000 : 0);
        }
    }
}

template <Simd S>
void hostile_devices() {
    if (!cpu_runs(S)) {
        GTEST_SKIP() << "this CPU has no " << simd_name(S);
    }
    tbb::parallel_for(0, 200, [](int seed) {
        if (seed % 2) {
            hostile_device<SplitTag<S>, true>(uint32_t(seed));
            hostile_device<PackedTag<S>, true>(uint32_t(seed));
        } else {
            hostile_device<SplitTag<S>, false>(uint32_t(seed));
            hostile_device<PackedTag<S>, false>(uint32_t(seed));
        }
    });
}

TEST(RandomModel, HostileDeviceNeverYieldsForeignOrDuplicateBuffers) { hostile_devices<Simd::scalar>(); }
TEST(RandomModel, HostileDeviceNeverYieldsForeignOrDuplicateBuffersAvx2) { hostile_devices<Simd::avx2>(); }
TEST(RandomModel, HostileDeviceNeverYieldsForeignOrDuplicateBuffersAvx512) { hostile_devices<Simd::avx512>(); }
