// Parsing vpmd-fwd's options: every value range-checked, every error one line.
#include "apps/fwd/options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>

namespace vpmd::fwd {

namespace {

using Error = std::string;
using Status = Expected<void, Error>;

template <class T>
Expected<T, Error> parse_uint(std::string_view name, std::string_view v, uint64_t lo, uint64_t hi) {
    uint64_t x = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size() || x < lo || x > hi) {
        return unexpected("--" + std::string(name) + "=" + std::string(v) + ": expected an integer in [" +
                          std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return T(x);
}

Expected<double, Error> parse_seconds(std::string_view name, std::string_view v) {
    const std::string s(v);
    char *end = nullptr;
    const double x = std::strtod(s.c_str(), &end);
    // Why 1e6: a bound that keeps seconds -> TSC arithmetic far from overflow.
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(x) || x < 0 || x > 1e6) {
        return unexpected("--" + std::string(name) + "=" + s + ": expected seconds, a number in [0, 1000000]");
    }
    return x;
}

Expected<std::array<uint8_t, 6>, Error> parse_mac(std::string_view v) {
    std::array<uint8_t, 6> mac{};
    size_t pos = 0;
    for (int i = 0; i < 6; ++i) {
        if (pos + 2 > v.size()) {
            return unexpected(std::string("bad MAC address '") + std::string(v) + "' (want XX:XX:XX:XX:XX:XX)");
        }
        unsigned x = 0;
        const auto [end, ec] = std::from_chars(v.data() + pos, v.data() + pos + 2, x, 16);
        if (ec != std::errc() || end != v.data() + pos + 2) {
            return unexpected(std::string("bad MAC address '") + std::string(v) + "' (want XX:XX:XX:XX:XX:XX)");
        }
        mac[i] = uint8_t(x);
        pos += 2;
        if (i < 5) {
            if (pos >= v.size() || v[pos] != ':') {
                return unexpected(std::string("bad MAC address '") + std::string(v) + "' (want XX:XX:XX:XX:XX:XX)");
            }
            ++pos;
        }
    }
    if (pos != v.size()) {
        return unexpected(std::string("bad MAC address '") + std::string(v) + "' (want XX:XX:XX:XX:XX:XX)");
    }
    return mac;
}

struct Spec {
    std::string_view name;
    bool takes_value;
    std::string_view help;
    std::function<Status(FwdOptions &, std::string_view)> apply;
};

template <class T, class F>
Status set_uint(std::string_view name, std::string_view v, uint64_t lo, uint64_t hi, F &&store) {
    auto r = parse_uint<T>(name, v, lo, hi);
    if (!r) {
        return unexpected(r.error());
    }
    store(*r);
    return {};
}

const std::vector<Spec> &specs() {
    static const std::vector<Spec> s = {
        {"forward-mode", true, "io|mac|macswap|rxonly|txonly|flowgen|csum (default io)",
         [](FwdOptions &o, std::string_view v) -> Status {
             o.forward_mode = std::string(v);
             return {};
         }},
        {"nb-cores", true, "forwarding lcores (default 1; EAL must give that many worker lcores)",
         [](FwdOptions &o, std::string_view v) {
             return set_uint<unsigned>("nb-cores", v, 1, 1024, [&](unsigned x) { o.nb_cores = x; });
         }},
        {"rxq", true, "rx queues per port (default 1)",
         [](FwdOptions &o, std::string_view v) {
             return set_uint<uint16_t>("rxq", v, 1, max_queues, [&](uint16_t x) { o.rxq = x; });
         }},
        {"txq", true, "tx queues per port (default 1)",
         [](FwdOptions &o, std::string_view v) {
             return set_uint<uint16_t>("txq", v, 1, max_queues, [&](uint16_t x) { o.txq = x; });
         }},
        {"rxd", true, "rx ring size (default: the driver's)",
         [](FwdOptions &o, std::string_view v) {
             return set_uint<uint16_t>("rxd", v, 1, 32768, [&](uint16_t x) { o.rxd = x; });
         }},
        {"txd", true, "tx ring size (default: the driver's)",
         [](FwdOptions &o, std::string_view v) {
             return set_uint<uint16_t>("txd", v, 1, 32768, [&](uint16_t x) { o.txd = x; });
         }},
        {"burst", true, "packets per burst, 1..512 (default 32)",
         [](FwdOptions &o, std::string_view v) {
             return set_uint<uint16_t>("burst", v, 1, max_burst, [&](uint16_t x) { o.burst = x; });
         }},
        {"txpkts", true, "segment lengths of generated packets, e.g. 64 or 64,64,128 (default 64)",
         [](FwdOptions &o, std::string_view v) -> Status {
             std::vector<uint16_t> segs;
             size_t start = 0;
             while (start <= v.size()) {
                 const size_t comma = std::min(v.find(',', start), v.size());
                 auto r = parse_uint<uint16_t>("txpkts", v.substr(start, comma - start), 1, 65535);
                 if (!r) {
                     return unexpected("--txpkts=" + std::string(v) + ": expected a comma list of segment lengths 1..65535");
                 }
                 segs.push_back(*r);
                 start = comma + 1;
             }
             if (segs.size() > max_tx_segments) {
                 return unexpected("--txpkts=" + std::string(v) + ": at most " + std::to_string(max_tx_segments) + " segments");
             }
             uint32_t total = 0;
             for (uint16_t s : segs) {
                 total += s;
             }
             if (total < udp_headers_len || total > 65535) {
                 return unexpected("--txpkts=" + std::string(v) + ": total length " + std::to_string(total) +
                                   " must be in [" + std::to_string(udp_headers_len) +
                                   ", 65535] (Ethernet + IPv4 + UDP headers at least)");
             }
             o.txpkts = std::move(segs);
             return {};
         }},
        {"tx-first", false, "send one burst per stream before forwarding starts",
         [](FwdOptions &o, std::string_view) -> Status {
             o.tx_first = true;
             return {};
         }},
        {"stats-period", true, "seconds between live stats lines, 0 = none (default 1)",
         [](FwdOptions &o, std::string_view v) -> Status {
             auto r = parse_seconds("stats-period", v);
             if (!r) {
                 return unexpected(r.error());
             }
             o.stats_period = *r;
             return {};
         }},
        {"port-topology", true, "paired|chained|loop (default paired)",
         [](FwdOptions &o, std::string_view v) -> Status {
             if (v == "paired") {
                 o.topology = Topology::paired;
             } else if (v == "chained") {
                 o.topology = Topology::chained;
             } else if (v == "loop") {
                 o.topology = Topology::loop;
             } else {
                 return unexpected("--port-topology=" + std::string(v) + ": expected paired, chained or loop");
             }
             return {};
         }},
        {"eth-peer", true, "N,XX:XX:XX:XX:XX:XX: destination MAC for packets sent on port N",
         [](FwdOptions &o, std::string_view v) -> Status {
             const size_t comma = v.find(',');
             if (comma == std::string_view::npos) {
                 return unexpected("--eth-peer=" + std::string(v) + ": expected N,XX:XX:XX:XX:XX:XX");
             }
             auto port = parse_uint<uint16_t>("eth-peer", v.substr(0, comma), 0, 1023);
             if (!port) {
                 return unexpected("--eth-peer=" + std::string(v) + ": bad port number");
             }
             auto mac = parse_mac(v.substr(comma + 1));
             if (!mac) {
                 return unexpected("--eth-peer=" + std::string(v) + ": " + mac.error());
             }
             std::erase_if(o.eth_peers, [&](const EthPeer &p) { return p.port == *port; });
             o.eth_peers.push_back(EthPeer{*port, *mac});
             return {};
         }},
        {"total-num-mbufs", true, "mbufs in the pool (default: sized from rings and lcores)",
         [](FwdOptions &o, std::string_view v) {
             return set_uint<uint32_t>("total-num-mbufs", v, 1024, 1u << 26, [&](uint32_t x) { o.total_num_mbufs = x; });
         }},
        {"max-pkt-len", true, "largest frame to receive, 64..65535 (default: the driver's)",
         [](FwdOptions &o, std::string_view v) {
             return set_uint<uint32_t>("max-pkt-len", v, 64, 65535, [&](uint32_t x) { o.max_pkt_len = x; });
         }},
        {"duration", true, "stop after this many seconds (default: at SIGINT/SIGTERM; embedded: 10)",
         [](FwdOptions &o, std::string_view v) -> Status {
             auto r = parse_seconds("duration", v);
             if (!r) {
                 return unexpected(r.error());
             }
             if (*r <= 0) {
                 return unexpected(std::string("--duration must be more than 0 seconds"));
             }
             o.duration = *r;
             o.duration_given = true;
             return {};
         }},
        {"json", true, "write a machine-readable summary to FILE at exit",
         [](FwdOptions &o, std::string_view v) -> Status {
             if (v.empty()) {
                 return unexpected(std::string("--json needs a file name"));
             }
             o.json = std::string(v);
             return {};
         }},
        {"embedded", false, "create a net_vhost backend in process and hot-plug net_vpmd on it (default when EAL gives no port)",
         [](FwdOptions &o, std::string_view) -> Status {
             o.embedded = true;
             return {};
         }},
        {"vpmd-args", true, "extra devargs for the embedded net_vpmd port, e.g. packed_vq=1,in_order=1",
         [](FwdOptions &o, std::string_view v) -> Status {
             o.vpmd_args = std::string(v);
             return {};
         }},
        {"help", false, "this text",
         [](FwdOptions &o, std::string_view) -> Status {
             o.help = true;
             return {};
         }},
    };
    return s;
}

const Spec *find_spec(std::string_view name) {
    for (const Spec &s : specs()) {
        if (s.name == name) {
            return &s;
        }
    }
    return nullptr;
}

} // namespace

uint32_t FwdOptions::tx_pkt_len() const {
    uint32_t total = 0;
    for (uint16_t s : txpkts) {
        total += s;
    }
    return total;
}

std::string_view topology_name(Topology t) {
    switch (t) {
    case Topology::paired:
        return "paired";
    case Topology::chained:
        return "chained";
    case Topology::loop:
        return "loop";
    }
    return "?";
}

bool is_app_option(std::string_view arg) {
    if (!arg.starts_with("--")) {
        return false;
    }
    arg.remove_prefix(2);
    return find_spec(arg.substr(0, arg.find('='))) != nullptr;
}

Expected<FwdOptions, std::string> parse_options(std::span<const std::string> args,
                                                std::span<const std::string_view> modes) {
    FwdOptions o;
    for (size_t i = 0; i < args.size(); ++i) {
        std::string_view a = args[i];
        if (!a.starts_with("--") || a.size() == 2) {
            return unexpected("unexpected argument '" + std::string(a) + "' (options look like --name=value; see --help)");
        }
        a.remove_prefix(2);
        const size_t eq = a.find('=');
        const std::string_view name = a.substr(0, eq);
        const Spec *spec = find_spec(name);
        if (spec == nullptr) {
            return unexpected("unknown option '--" + std::string(name) + "' (see --help)");
        }
        std::string_view value;
        if (spec->takes_value) {
            if (eq != std::string_view::npos) {
                value = a.substr(eq + 1);
            } else if (i + 1 < args.size()) {
                value = args[++i];
            } else {
                return unexpected("--" + std::string(name) + " needs a value");
            }
        } else if (eq != std::string_view::npos) {
            return unexpected("--" + std::string(name) + " takes no value");
        }
        if (auto st = spec->apply(o, value); !st) {
            return unexpected(st.error());
        }
    }
    if (std::find(modes.begin(), modes.end(), std::string_view(o.forward_mode)) == modes.end()) {
        std::string list;
        for (auto m : modes) {
            list += list.empty() ? "" : ", ";
            list += m;
        }
        return unexpected("--forward-mode=" + o.forward_mode + ": unknown mode (available: " + list + ")");
    }
    return o;
}

std::string usage(std::span<const std::string_view> modes) {
    std::string s =
        "usage: vpmd-fwd [EAL options] -- [options]\n"
        "       vpmd-fwd [options]            (no EAL options: defaults, see below)\n\n"
        "Forwards packets between DPDK ports as testpmd does, starting at once. Without any\n"
        "port (no --vdev, no PCI device) or with --embedded it creates a net_vhost backend in\n"
        "process (iface=/tmp/vpmd-fwd-<pid>.sock), hot-plugs net_vpmd on it, echoes on the\n"
        "vhost side and prints Mpps. Without EAL options it uses -l 0,1 --no-pci and hugepages\n"
        "when /dev/hugepages is mounted with free pages, else --no-huge (and says so).\n\n"
        "options:\n";
    for (const auto &spec : specs()) {
        // Appended piecewise: g++ 12 warns falsely (-Wrestrict) on the chained operator+.
        std::string left = "  --";
        left += spec.name;
        left += spec.takes_value ? "=V" : "";
        left.resize(std::max<size_t>(left.size() + 1, 24), ' ');
        s += left;
        s += spec.help;
        s += '\n';
    }
    s += "\nforwarding modes:";
    for (auto m : modes) {
        s += ' ';
        s += m;
    }
    s += "\n";
    return s;
}

} // namespace vpmd::fwd
