// vpmd-perf options: defaults, lists, the --full matrix (jumbo frames only with mrg=1), and
// one error naming the option for every bad value. No EAL.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "apps/perf/options.hpp"

using namespace vpmd::perf;

namespace {

// Parses app arguments as main() passes them (after "--").
bool parse(const std::vector<const char *> &args, Options &o, std::string &error) {
    std::vector<std::string> storage(args.begin(), args.end());
    std::vector<char *> argv;
    for (auto &s : storage) {
        argv.push_back(s.data());
    }
    return parse_options(int(argv.size()), argv.data(), o, error);
}
bool parse(std::initializer_list<const char *> args, Options &o, std::string &error) {
    return parse(std::vector<const char *>(args), o, error);
}

} // namespace

TEST(PerfOptions, Defaults) {
    Options o;
    std::string err;
    ASSERT_TRUE(parse({}, o, err)) << err;
    EXPECT_EQ(o.layouts, (std::vector<std::string>{"split", "packed"}));
    EXPECT_EQ(o.in_order, std::vector<bool>{true});
    EXPECT_EQ(o.mrg, std::vector<bool>{true});
    EXPECT_EQ(o.bursts, std::vector<uint16_t>{32});
    EXPECT_EQ(o.sizes, std::vector<uint32_t>{64});
    EXPECT_EQ(o.dirs, std::vector<Direction>{Direction::loopback});
    EXPECT_EQ(o.queues, std::vector<uint16_t>{1});
    EXPECT_EQ(o.repeats, 5u);
    EXPECT_DOUBLE_EQ(o.seconds, 1.0);
    EXPECT_EQ(o.packets, 0u);
    EXPECT_EQ(o.ring_size, 256u);
    EXPECT_FALSE(o.compare);
    EXPECT_FALSE(o.ring_only);
    EXPECT_FALSE(o.full);
    EXPECT_EQ(o.corrupt_every, 0u);
    EXPECT_TRUE(o.csv.empty() && o.json.empty() && o.svg.empty());

    const auto sc = expand(o);
    ASSERT_EQ(sc.size(), 2u);
    EXPECT_EQ(sc[0].name(), "split io1 mrg1 b32 64B loopback q1");
    EXPECT_EQ(sc[1].name(), "packed io1 mrg1 b32 64B loopback q1");
}

TEST(PerfOptions, ScalarsAndFlags) {
    Options o;
    std::string err;
    ASSERT_TRUE(parse({"--compare", "--repeats=5", "--seconds=0.25", "--slice=0.02", "--packets=1000", "--ring-size=1024",
                       "--corrupt-every=7", "--csv=a.csv", "--json=b.json", "--svg=c.svg"},
                      o, err))
        << err;
    EXPECT_TRUE(o.compare);
    EXPECT_EQ(o.repeats, 5u);
    EXPECT_DOUBLE_EQ(o.seconds, 0.25);
    EXPECT_DOUBLE_EQ(o.slice_seconds, 0.02);
    EXPECT_EQ(o.packets, 1000u);
    EXPECT_EQ(o.ring_size, 1024u);
    EXPECT_EQ(o.corrupt_every, 7u);
    EXPECT_EQ(o.csv, "a.csv");
    EXPECT_EQ(o.json, "b.json");
    EXPECT_EQ(o.svg, "c.svg");

    Options r;
    ASSERT_TRUE(parse({"--ring-only"}, r, err)) << err;
    EXPECT_TRUE(r.ring_only);
}

TEST(PerfOptions, ListsAndTheirProduct) {
    Options o;
    std::string err;
    ASSERT_TRUE(parse({"--layout=packed", "--in-order=0,1", "--mrg=1", "--burst=1,32,512", "--size=64,1518",
                       "--dir=txonly,rxonly", "--queues=1,8"},
                      o, err))
        << err;
    EXPECT_EQ(o.layouts, std::vector<std::string>{"packed"});
    EXPECT_EQ(o.in_order, (std::vector<bool>{false, true}));
    EXPECT_EQ(o.bursts, (std::vector<uint16_t>{1, 32, 512}));
    EXPECT_EQ(o.sizes, (std::vector<uint32_t>{64, 1518}));
    EXPECT_EQ(o.dirs, (std::vector<Direction>{Direction::txonly, Direction::rxonly}));
    EXPECT_EQ(o.queues, (std::vector<uint16_t>{1, 8}));

    const auto sc = expand(o);
    ASSERT_EQ(sc.size(), 1u * 2 * 1 * 3 * 2 * 2 * 2);
    // Outermost layout, innermost queues: the first two differ only in queue count.
    EXPECT_EQ(sc[0].name(), "packed io0 mrg1 b1 64B txonly q1");
    EXPECT_EQ(sc[1].name(), "packed io0 mrg1 b1 64B txonly q8");
    EXPECT_EQ(sc.back().name(), "packed io1 mrg1 b512 1518B rxonly q8");
    // A later value of an option replaces the earlier list, it does not append.
    ASSERT_TRUE(parse({"--burst=8"}, o, err)) << err;
    EXPECT_EQ(o.bursts, std::vector<uint16_t>{8});
}

TEST(PerfOptions, FullMatrixJumboOnlyWithMrg) {
    Options o;
    std::string err;
    ASSERT_TRUE(parse({"--full"}, o, err)) << err;
    EXPECT_EQ(o.in_order, (std::vector<bool>{false, true}));
    EXPECT_EQ(o.mrg, (std::vector<bool>{false, true}));
    EXPECT_EQ(o.sizes, (std::vector<uint32_t>{64, 512, 1518, 9000}));
    EXPECT_EQ(o.dirs.size(), 3u);

    const auto sc = expand(o);
    // Per layout and in-order: mrg=0 has 3 sizes, mrg=1 has 4; times 3 directions.
    EXPECT_EQ(sc.size(), 2u * 2 * (3 + 4) * 3);
    size_t jumbo = 0;
    for (const auto &s : sc) {
        if (s.size > 1518) {
            ++jumbo;
            EXPECT_TRUE(s.mrg) << s.name();
        }
    }
    EXPECT_EQ(jumbo, 2u * 2 * 3);
}

TEST(PerfOptions, FullKeepsExplicitLists) {
    Options o;
    std::string err;
    ASSERT_TRUE(parse({"--full", "--layout=split", "--size=64", "--dir=loopback", "--mrg=1", "--in-order=1"}, o, err))
        << err;
    const auto sc = expand(o);
    ASSERT_EQ(sc.size(), 1u);
    EXPECT_EQ(sc[0].name(), "split io1 mrg1 b32 64B loopback q1");
    // The order of --full and the explicit option does not matter.
    Options p;
    ASSERT_TRUE(parse({"--size=512", "--full"}, p, err)) << err;
    EXPECT_EQ(p.sizes, std::vector<uint32_t>{512});
}

TEST(PerfOptions, EveryBadValueNamesTheOption) {
    const std::vector<std::pair<const char *, const char *>> bad = {
        {"--layout=foo", "--layout"},      {"--layout=", "--layout"},         {"--layout=split,", "--layout"},
        {"--layout", "--layout"},          {"--in-order=2", "--in-order"},    {"--mrg=yes", "--mrg"},
        {"--burst=0", "--burst"},          {"--burst=513", "--burst"},        {"--burst=x", "--burst"},
        {"--burst=32,,64", "--burst"},     {"--burst=-1", "--burst"},         {"--size=10", "--size"},
        {"--size=63", "--size"},           {"--size=9001", "--size"},         {"--size=64B", "--size"},
        {"--dir=sideways", "--dir"},       {"--queues=0", "--queues"},        {"--queues=9", "--queues"},
        {"--repeats=0", "--repeats"},      {"--repeats=101", "--repeats"},    {"--seconds=0", "--seconds"},
        {"--seconds=-1", "--seconds"},     {"--seconds=abc", "--seconds"},    {"--seconds=3601", "--seconds"},
        {"--seconds=inf", "--seconds"},    {"--slice=-0.1", "--slice"},       {"--slice=nan", "--slice"},
        {"--slice=3601", "--slice"},       {"--slice=", "--slice"},           {"--slice=1s", "--slice"},
        {"--packets=0", "--packets"},      {"--ring-size=63", "--ring-size"},
        {"--ring-size=4097", "--ring-size"}, {"--corrupt-every=0", "--corrupt-every"}, {"--csv=", "--csv"},
        {"--vectorized=sse", "--vectorized"},
        {"--json=", "--json"},             {"--svg=", "--svg"},               {"--nonsense", "--nonsense"},
        {"positional", "positional"},
    };
    for (const auto &[arg, name] : bad) {
        Options o;
        std::string err;
        EXPECT_FALSE(parse({arg}, o, err)) << arg;
        EXPECT_NE(err.find(name), std::string::npos) << arg << ": " << err;
    }
}

TEST(PerfOptions, SliceZeroMeansOneTurnEach) {
    Options o;
    std::string err;
    EXPECT_DOUBLE_EQ(o.slice_seconds, 0.05);
    ASSERT_TRUE(parse({"--slice=0"}, o, err)) << err;
    EXPECT_DOUBLE_EQ(o.slice_seconds, 0.0);
}

TEST(PerfOptions, HelpIsUsageNotSuccess) {
    Options o;
    std::string err;
    EXPECT_FALSE(parse({"--help"}, o, err));
    EXPECT_EQ(err, usage());
    EXPECT_NE(usage().find("--corrupt-every"), std::string::npos);
}

// Regressions found while writing these tests; they fail against the current options.cpp
// and are enabled together with the fix (see the commit message).
TEST(PerfOptions, RegressionSecondsNanRejected) {
    Options o;
    std::string err;
    EXPECT_FALSE(parse({"--seconds=nan"}, o, err));
    EXPECT_NE(err.find("--seconds"), std::string::npos) << err;
}

TEST(PerfOptions, RegressionFlagsTakeNoValue) {
    for (const char *arg : {"--compare=0", "--full=0", "--ring-only=0"}) {
        Options o;
        std::string err;
        EXPECT_FALSE(parse({arg}, o, err)) << arg;
    }
}

TEST(PerfOptions, SoakTakesDaysAndRestartPeriods) {
    Options o;
    std::string err;
    ASSERT_TRUE(parse({"--soak=86400", "--reconnect-every=2.5", "--layout=packed", "--json=s.json"}, o, err)) << err;
    EXPECT_DOUBLE_EQ(o.soak_seconds, 86400);
    EXPECT_DOUBLE_EQ(o.reconnect_every, 2.5);
    Options never;
    ASSERT_TRUE(parse({"--soak=5", "--reconnect-every=0"}, never, err)) << err;
    EXPECT_DOUBLE_EQ(never.reconnect_every, 0);
    Options dflt;
    ASSERT_TRUE(parse({"--soak=5"}, dflt, err)) << err;
    EXPECT_DOUBLE_EQ(dflt.reconnect_every, 10);
    EXPECT_DOUBLE_EQ(Options{}.soak_seconds, 0); // measuring, not soaking, by default
}

TEST(PerfOptions, SoakRefusesWhatItCannotDo) {
    const std::vector<std::pair<std::vector<const char *>, std::string>> cases = {
        {{"--soak=5", "--compare"}, "--compare"},
        {{"--soak=5", "--single-thread"}, "--single-thread"},
        {{"--soak=5", "--ring-only"}, "--ring-only"},
        {{"--soak=5", "--full"}, "--full"},
        {{"--soak=5", "--packets=100"}, "--packets"},
        {{"--soak=5", "--svg=x.svg"}, "--svg"},
        {{"--soak=5", "--dir=loopback,rxonly"}, "loopback only"},
        {{"--soak=0"}, "--soak"},
        {{"--soak=700000"}, "--soak"},
        {{"--soak=5", "--reconnect-every=3601"}, "--reconnect-every"},
    };
    for (const auto &[args, name] : cases) {
        Options o;
        std::string err;
        EXPECT_FALSE(parse(args, o, err)) << args[args.size() - 1];
        EXPECT_NE(err.find(name), std::string::npos) << err;
    }
}

TEST(PerfOptions, OffloadScenariosAndWhereTheyApply) {
    Options o;
    std::string e;
    ASSERT_TRUE(parse({"--offload=none,csum,tso", "--size=1518", "--dir=txonly,loopback"}, o, e)) << e;
    const auto v = expand(o);
    ASSERT_EQ(v.size(), 2u * 2u * 3u); // layouts x dirs x offloads
    EXPECT_EQ(v[1].offload, Offload::csum);
    EXPECT_EQ(v[1].name(), "split io1 mrg1 b32 1518B txonly q1 tcp-csum");
    EXPECT_EQ(v[0].name(), "split io1 mrg1 b32 1518B txonly q1") << "no suffix without an offload";
    Options r;
    EXPECT_FALSE(parse({"--offload=csum", "--dir=rxonly"}, r, e));
    EXPECT_NE(e.find("loopback and txonly"), std::string::npos) << e;
    Options s;
    EXPECT_FALSE(parse({"--offload=tso", "--size=64"}, s, e)) << "TCP frames need room for their headers";
    EXPECT_NE(e.find("--size of at least"), std::string::npos) << e;
    Options t;
    EXPECT_FALSE(parse({"--offload=csum", "--soak=5"}, t, e));
    Options u;
    EXPECT_FALSE(parse({"--offload=lro"}, u, e));
    EXPECT_NE(e.find("--offload"), std::string::npos) << e;
}

TEST(PerfOptions, VectorizedIsNetVpmdsAndNamesItsRows) {
    Options o;
    std::string err;
    ASSERT_TRUE(parse({"--layout=split", "--vectorized=0,avx512"}, o, err)) << err;
    const auto sc = expand(o);
    ASSERT_EQ(sc.size(), 2u);
    EXPECT_EQ(sc[0].vectorized, "0");
    EXPECT_EQ(sc[0].name(), "split io1 mrg1 b32 64B loopback q1 vec=0");
    EXPECT_EQ(sc[1].name(), "split io1 mrg1 b32 64B loopback q1 vec=avx512");
    Options d;
    ASSERT_TRUE(parse({"--layout=split"}, d, err)) << err;
    EXPECT_EQ(expand(d)[0].name(), "split io1 mrg1 b32 64B loopback q1") << "the default (auto) adds nothing";
}

TEST(PerfOptions, SpreadGivesEachQueuePairItsOwnLanes) {
    Options o;
    std::string err;
    ASSERT_TRUE(parse({"--layout=split", "--queues=1,2,4", "--spread"}, o, err)) << err;
    const auto sc = expand(o);
    ASSERT_EQ(sc.size(), 3u);
    EXPECT_EQ(sc[0].lanes(), 1);
    EXPECT_EQ(sc[1].lanes(), 2);
    EXPECT_EQ(sc[2].lanes(), 4);
    EXPECT_EQ(sc[0].name(), "split io1 mrg1 b32 64B loopback q1") << "one queue pair: one lane either way";
    EXPECT_EQ(sc[2].name(), "split io1 mrg1 b32 64B loopback q4 spread");
    Options d;
    ASSERT_TRUE(parse({"--layout=split", "--queues=4"}, d, err)) << err;
    EXPECT_EQ(expand(d)[0].lanes(), 1) << "without --spread one lcore per side polls every queue pair";
    EXPECT_EQ(expand(d)[0].name(), "split io1 mrg1 b32 64B loopback q4");
    Options b;
    ASSERT_TRUE(parse({"--layout=packed", "--queues=2", "--spread", "--best"}, b, err)) << err;
    ASSERT_EQ(expand(b).size(), 2u);
    EXPECT_EQ(expand(b)[1].name(), "packed best b32 64B loopback q2 spread") << "best rows spread too";
}

TEST(PerfOptions, SpreadRefusesWhatHasNoLanes) {
    const std::vector<std::pair<std::vector<const char *>, std::string>> cases = {
        {{"--spread", "--device=process"}, "--device=process"},
        {{"--spread", "--single-thread"}, "--single-thread"},
        {{"--spread", "--soak=5"}, "--soak"},
        {{"--spread", "--ring-only"}, "--ring-only"},
        {{"--spread=1"}, "a flag takes no value"},
    };
    for (const auto &[args, name] : cases) {
        Options o;
        std::string err;
        EXPECT_FALSE(parse(args, o, err)) << args[args.size() - 1];
        EXPECT_NE(err.find(name), std::string::npos) << err;
    }
}
