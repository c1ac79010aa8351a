// vpmd-perf options: parsing, validation and the scenario matrix.
#include "apps/perf/options.hpp"

#include "apps/perf/payload.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>

namespace vpmd::perf {

const char *to_string(Direction d) {
    switch (d) {
    case Direction::loopback: return "loopback";
    case Direction::txonly: return "txonly";
    case Direction::rxonly: return "rxonly";
    }
    return "?";
}

const char *to_string(Offload o) {
    switch (o) {
    case Offload::none: return "none";
    case Offload::csum: return "csum";
    case Offload::tso: return "tso";
    }
    return "?";
}

std::string Scenario::name() const {
    const std::string devargs = best ? " best" : " io" + std::to_string(in_order) + " mrg" + std::to_string(mrg);
    return layout + devargs + " b" + std::to_string(burst) + " " + std::to_string(size) + "B " + to_string(dir) +
           " q" + std::to_string(queues) + (offload == Offload::none ? "" : std::string(" tcp-") + to_string(offload)) +
           (two_process ? " 2proc" : "") + (lanes() > 1 ? " spread" : "") + vec_suffix();
}

std::string Scenario::vec_suffix() const {
    std::string v;
    if (vectorized != "1") {
        v.append(" vec=").append(vectorized);
    }
    return v;
}

std::string usage() {
    return "usage: vpmd-perf [EAL args --] [options]\n"
           "  --compare                 also run DPDK's net_virtio_user on an identical device, in turns\n"
           "  --best                    also best against best per layout: each driver on its fastest\n"
           "                            devargs (net_vpmd in_order=1,mrg_rxbuf=0; net_virtio_user\n"
           "                            vectorized=1,mrg_rxbuf=0, in_order=1 packed, 0 split (its SIMD\n"
           "                            split rx needs that), EAL --force-max-simd-bitwidth=512)\n"
           "  --layout=split,packed     ring layouts\n"
           "  --in-order=1[,0]          IN_ORDER on/off\n"
           "  --mrg=1[,0]               MRG_RXBUF on/off (9000-byte frames need 1)\n"
           "  --burst=32[,...]          burst sizes (1..512)\n"
           "  --size=64[,...]           frame sizes (64..9000)\n"
           "  --dir=loopback[,txonly,rxonly]\n"
           "  --queues=1[,...]          queue pairs (1..8)\n"
           "  --spread                  each queue pair on a driver lcore and a device lcore of its\n"
           "                            own (2 x queues lcores: from the EAL --lcores, else made\n"
           "                            here over this process's CPUs, several lcores per CPU when\n"
           "                            there are fewer); without it one lcore per side polls them all\n"
           "  --vectorized=1[,0,avx2,avx512]\n"
           "                            net_vpmd's bursts: 1 the widest SIMD the CPU and EAL allow,\n"
           "                            0 scalar, or that one (avx512 adds --force-max-simd-bitwidth=512)\n"
           "  --offload=none[,csum,tso] TCP/IPv4 frames with the TCP checksum (csum) or segmentation\n"
           "                            into 1448-byte segments (tso) left to the device; loopback and\n"
           "                            txonly (e.g. --size=1518,9000 --offload=csum,tso --compare)\n"
           "  --device=inproc[,process] the device: DPDK's vhost in this process on the second lcore,\n"
           "                            or a dpdk-testpmd process with net_vhost on that lcore's CPU\n"
           "                            (io forwarding; rxonly/txonly for the other directions), as\n"
           "                            two-process users run it; $VPMD_TESTPMD names the binary\n"
           "  --repeats=5 --seconds=1   runs per scenario and driver (median, min, max)\n"
           "  --slice=0.05              within a run the drivers take turns this long (seconds;\n"
           "                            0 = one turn each)\n"
           "  --packets=N               fixed packet count per run (for valgrind --tool=callgrind)\n"
           "  --single-thread           driver and device alternate on one lcore (deterministic; see\n"
           "                            scripts/callgrind-pmd.sh for instructions per packet)\n"
           "  --ring-size=256           descriptors per queue\n"
           "  --window=N                loopback: packets in flight per queue (default 512; with\n"
           "                            --device=process half a ring, since testpmd drops what finds\n"
           "                            the driver's rx ring full; 32 is testpmd --tx-first's regime)\n"
           "  --full                    the report matrix (all layouts, in-order, mrg, sizes, directions)\n"
           "  --ring-only               the ring core's own ceiling (no packets, no EAL)\n"
           "  --csv=F --json=F --svg=F  write the results there too\n"
           "  --corrupt-every=N         (self-test) the device corrupts every Nth packet\n"
           "  --soak=SECONDS            instead of measuring: net_vpmd loopback for this long per\n"
           "                            scenario, every frame checked, the back-end restarted every\n"
           "  --reconnect-every=10      seconds of traffic (0: never); reports lost, corrupted and\n"
           "                            reordered frames, mbufs and fds (see scripts/soak.sh)\n";
}

namespace {

template <class T>
bool parse_num(std::string_view s, T lo, T hi, T &out) {
    T v{};
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) {
        return false;
    }
    out = v;
    return true;
}

template <class T, class F>
bool parse_list(std::string_view s, std::vector<T> &out, F &&one) {
    out.clear();
    while (true) {
        const size_t c = s.find(',');
        T v{};
        if (!one(s.substr(0, c), v)) {
            return false;
        }
        out.push_back(v);
        if (c == std::string_view::npos) {
            return !out.empty();
        }
        s = s.substr(c + 1);
    }
}

// A duration in seconds, at most `max`; zero only when allowed. Rejects nan.
bool parse_seconds(std::string_view v, bool zero_ok, double &out, double max = 3600) {
    double s = 0;
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
    if (ec != std::errc() || p != v.data() + v.size() || !((s > 0 || (zero_ok && s == 0)) && s <= max)) {
        return false;
    }
    out = s;
    return true;
}

bool parse_bool(std::string_view s, bool &b) {
    if (s == "0" || s == "1") {
        b = s == "1";
        return true;
    }
    return false;
}

} // namespace

bool parse_options(int argc, char **argv, Options &o, std::string &error) {
    bool set_layout = false, set_io = false, set_mrg = false, set_size = false, set_dir = false, set_burst = false;
    for (int i = 0; i < argc; ++i) {
        const std::string_view a = argv[i];
        const size_t eq = a.find('=');
        const std::string_view key = a.substr(0, eq);
        const std::string_view val = eq == std::string_view::npos ? std::string_view{} : a.substr(eq + 1);
        auto bad = [&](const char *allowed) {
            error = "option " + std::string(key) + ": bad value '" + std::string(val) + "' (allowed: " + allowed + ")";
            return false;
        };
        const bool is_flag = key == "--compare" || key == "--best" || key == "--full" || key == "--ring-only" ||
                             key == "--single-thread" || key == "--spread";
        if (is_flag && eq != std::string_view::npos) {
            return bad("none: a flag takes no value");
        }
        if (key == "--best") {
            o.best = true;
        } else if (key == "--compare") {
            o.compare = true;
        } else if (key == "--full") {
            o.full = true;
        } else if (key == "--ring-only") {
            o.ring_only = true;
        } else if (key == "--single-thread") {
            o.single_thread = true;
        } else if (key == "--spread") {
            o.spread = true;
        } else if (key == "--layout") {
            set_layout = true;
            if (!parse_list(val, o.layouts, [](std::string_view s, std::string &v) {
                    v = std::string(s);
                    return s == "split" || s == "packed";
                })) {
                return bad("split, packed");
            }
        } else if (key == "--in-order") {
            set_io = true;
            std::vector<bool> v;
            if (!parse_list(val, v, [](std::string_view s, bool &b) { return parse_bool(s, b); })) {
                return bad("0, 1");
            }
            o.in_order = v;
        } else if (key == "--mrg") {
            set_mrg = true;
            std::vector<bool> v;
            if (!parse_list(val, v, [](std::string_view s, bool &b) { return parse_bool(s, b); })) {
                return bad("0, 1");
            }
            o.mrg = v;
        } else if (key == "--burst") {
            set_burst = true;
            if (!parse_list(val, o.bursts, [](std::string_view s, uint16_t &v) {
                    return parse_num<uint16_t>(s, 1, 512, v);
                })) {
                return bad("1..512");
            }
        } else if (key == "--size") {
            set_size = true;
            if (!parse_list(val, o.sizes, [](std::string_view s, uint32_t &v) {
                    return parse_num<uint32_t>(s, 64, 9000, v);
                })) {
                return bad("64..9000");
            }
        } else if (key == "--offload") {
            if (!parse_list(val, o.offloads, [](std::string_view s, Offload &v) {
                    if (s == "none") {
                        v = Offload::none;
                    } else if (s == "csum") {
                        v = Offload::csum;
                    } else if (s == "tso") {
                        v = Offload::tso;
                    } else {
                        return false;
                    }
                    return true;
                })) {
                return bad("none, csum, tso");
            }
        } else if (key == "--dir") {
            set_dir = true;
            if (!parse_list(val, o.dirs, [](std::string_view s, Direction &d) {
                    if (s == "loopback") {
                        d = Direction::loopback;
                    } else if (s == "txonly") {
                        d = Direction::txonly;
                    } else if (s == "rxonly") {
                        d = Direction::rxonly;
                    } else {
                        return false;
                    }
                    return true;
                })) {
                return bad("loopback, txonly, rxonly");
            }
        } else if (key == "--device") {
            if (!parse_list(val, o.two_process, [](std::string_view s, bool &b) {
                    if (s == "inproc" || s == "process") {
                        b = s == "process";
                        return true;
                    }
                    return false;
                })) {
                return bad("inproc, process");
            }
        } else if (key == "--vectorized") {
            if (!parse_list(val, o.vectorized, [](std::string_view s, std::string &v) {
                    v = std::string(s);
                    return s == "1" || s == "0" || s == "avx2" || s == "avx512";
                })) {
                return bad("1 (auto), 0, avx2, avx512");
            }
        } else if (key == "--queues") {
            if (!parse_list(val, o.queues, [](std::string_view s, uint16_t &v) {
                    return parse_num<uint16_t>(s, 1, 8, v);
                })) {
                return bad("1..8");
            }
        } else if (key == "--repeats") {
            if (!parse_num<uint32_t>(val, 1, 100, o.repeats)) {
                return bad("1..100");
            }
        } else if (key == "--seconds") {
            if (!parse_seconds(val, false, o.seconds)) {
                return bad("0 < seconds <= 3600");
            }
        } else if (key == "--slice") {
            if (!parse_seconds(val, true, o.slice_seconds)) {
                return bad("0 <= seconds <= 3600");
            }
        } else if (key == "--soak") {
            if (!parse_seconds(val, false, o.soak_seconds, max_soak_seconds)) {
                return bad("0 < seconds <= 604800");
            }
        } else if (key == "--reconnect-every") {
            if (!parse_seconds(val, true, o.reconnect_every)) {
                return bad("0 (never) <= seconds <= 3600");
            }
        } else if (key == "--packets") {
            if (!parse_num<uint64_t>(val, 1, uint64_t(1) << 40, o.packets)) {
                return bad("1..2^40");
            }
        } else if (key == "--window") {
            if (!parse_num<uint32_t>(val, 1, 4096, o.window)) {
                return bad("1..4096");
            }
        } else if (key == "--ring-size") {
            if (!parse_num<uint32_t>(val, 64, 4096, o.ring_size)) {
                return bad("64..4096");
            }
        } else if (key == "--corrupt-every") {
            if (!parse_num<uint64_t>(val, 1, uint64_t(1) << 40, o.corrupt_every)) {
                return bad("a positive count");
            }
        } else if (key == "--csv" || key == "--json" || key == "--svg") {
            if (val.empty()) {
                return bad("a file name");
            }
            (key == "--csv" ? o.csv : key == "--json" ? o.json : o.svg) = std::string(val);
        } else if (key == "--help" || key == "-h") {
            error = usage();
            return false;
        } else {
            error = "unknown option '" + std::string(a) + "'\n" + usage();
            return false;
        }
    }
    const bool offloading = std::any_of(o.offloads.begin(), o.offloads.end(), [](Offload v) { return v != Offload::none; });
    if (offloading && std::find(o.dirs.begin(), o.dirs.end(), Direction::rxonly) != o.dirs.end()) {
        error = "--offload=csum,tso applies to loopback and txonly (the driver's transmit side)";
        return false;
    }
    if (offloading && std::any_of(o.sizes.begin(), o.sizes.end(), [](uint32_t s) {
            return s < uint32_t(FrameFormat{tcp_perf_off}.fill());
        })) {
        error = "--offload sends TCP frames: --size of at least " + std::to_string(FrameFormat{tcp_perf_off}.fill());
        return false;
    }
    const bool process = std::find(o.two_process.begin(), o.two_process.end(), true) != o.two_process.end();
    if (process && (offloading || o.single_thread || o.soak_seconds > 0 || o.ring_only || o.corrupt_every != 0)) {
        error = std::string("--device=process does not combine with ") +
                (offloading         ? "--offload (the device process checks nothing)"
                 : o.single_thread  ? "--single-thread"
                 : o.soak_seconds > 0 ? "--soak"
                 : o.ring_only      ? "--ring-only"
                                    : "--corrupt-every");
        return false;
    }
    if (o.spread && (process || o.single_thread || o.soak_seconds > 0 || o.ring_only)) {
        error = std::string("--spread does not combine with ") +
                (process            ? "--device=process (testpmd gives each forwarding core whole ports, so one "
                                      "driver's queue pairs would share a device core)"
                 : o.single_thread  ? "--single-thread"
                 : o.soak_seconds > 0 ? "--soak"
                                    : "--ring-only");
        return false;
    }
    if (o.best && (o.soak_seconds > 0 || o.ring_only)) {
        error = o.ring_only ? "--best does not combine with --ring-only" : "--best does not combine with --soak";
        return false;
    }
    if (offloading && (o.soak_seconds > 0 || o.ring_only)) {
        error = o.ring_only ? "--offload does not combine with --ring-only" : "--offload does not combine with --soak";
        return false;
    }
    if (o.soak_seconds > 0) {
        // A soak is net_vpmd's own long loopback run with back-end restarts.
        const char *clash = o.compare         ? "--compare"
                            : o.single_thread ? "--single-thread"
                            : o.ring_only     ? "--ring-only"
                            : o.full          ? "--full"
                            : o.packets != 0  ? "--packets"
                            : !o.csv.empty()  ? "--csv (a soak writes --json only)"
                            : !o.svg.empty()  ? "--svg (a soak writes --json only)"
                                              : nullptr;
        if (clash != nullptr) {
            error = std::string("--soak does not combine with ") + clash;
            return false;
        }
        if (o.dirs.size() != 1 || o.dirs[0] != Direction::loopback) {
            error = "--soak runs loopback only (every frame comes back and is checked)";
            return false;
        }
    }
    if (o.full) {
        if (!set_layout) {
            o.layouts = {"split", "packed"};
        }
        if (!set_io) {
            o.in_order = {false, true};
        }
        if (!set_mrg) {
            o.mrg = {false, true};
        }
        if (!set_burst) {
            o.bursts = {32};
        }
        if (!set_size) {
            o.sizes = {64, 512, 1518, 9000};
        }
        if (!set_dir) {
            o.dirs = {Direction::loopback, Direction::txonly, Direction::rxonly};
        }
    }
    return true;
}

std::vector<Scenario> expand(const Options &o) {
    std::vector<Scenario> out;
    // Best against best: one row per frame, direction, queue count and device, on fixed
    // devargs (after the matrix; frames that fit one buffer, no offload).
    std::vector<Scenario> best;
    auto add = [&](const Scenario &s) {
        out.push_back(s);
        if (o.best && s.size <= 1518 && s.offload == Offload::none) {
            Scenario b = s;
            b.in_order = true; // net_vpmd's; net_virtio_user's are its own (bring_up)
            b.mrg = false;
            b.best = true;
            b.vectorized = Scenario{}.vectorized; // net_vpmd auto (a literal here trips GCC 12 -Wrestrict)
            if (std::none_of(best.begin(), best.end(), [&](const Scenario &x) { return x.name() == b.name(); })) {
                best.push_back(b);
            }
        }
    };
    for (const auto &l : o.layouts) {
        for (bool io : o.in_order) {
            for (bool m : o.mrg) {
                for (uint16_t b : o.bursts) {
                    for (uint32_t s : o.sizes) {
                        if (s > 1518 && !m) {
                            continue; // jumbo frames need mergeable rx buffers
                        }
                        for (Direction d : o.dirs) {
                            for (uint16_t q : o.queues) {
                                for (Offload f : o.offloads) {
                                    for (bool two : o.two_process) {
                                        for (const std::string &v : o.vectorized) {
                                            Scenario sc{l, io, m, b, s, d, q, f, two};
                                            sc.vectorized = v;
                                            sc.spread = o.spread;
                                            add(sc);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out.insert(out.end(), best.begin(), best.end());
    return out;
}

} // namespace vpmd::perf
