// Parsing ACL rule files, and the RuleSet's counters.
#include "acl.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

namespace bridge {

namespace {

constexpr size_t counters_per_line = 64 / sizeof(vpmd::runtime::Counter);

std::vector<std::string_view> fields(std::string_view line) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
            ++i;
        }
        size_t j = i;
        while (j < line.size() && line[j] != ' ' && line[j] != '\t') {
            ++j;
        }
        if (j > i) {
            out.push_back(line.substr(i, j - i));
        }
        i = j;
    }
    return out;
}

bool number(std::string_view s, uint32_t max, uint32_t &out) {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && out <= max;
}

bool address(std::string_view s, uint32_t &addr, uint32_t &mask) {
    if (s == "any") {
        addr = mask = 0;
        return true;
    }
    uint32_t len = 32;
    if (const size_t slash = s.find('/'); slash != std::string_view::npos) {
        if (!number(s.substr(slash + 1), 32, len)) {
            return false;
        }
        s = s.substr(0, slash);
    }
    uint32_t a = 0;
    for (int part = 0; part < 4; ++part) {
        const size_t dot = s.find('.');
        if ((part < 3) != (dot != std::string_view::npos)) {
            return false;
        }
        uint32_t b = 0;
        if (!number(s.substr(0, dot), 255, b)) {
            return false;
        }
        a = (a << 8) | b;
        s = part < 3 ? s.substr(dot + 1) : std::string_view();
    }
    mask = len == 0 ? 0 : ~0u << (32 - len);
    addr = a & mask;
    return true;
}

bool port_range(std::string_view s, uint16_t &lo, uint16_t &hi, bool &given) {
    if (s == "any") {
        lo = 0;
        hi = 0xffff;
        return true;
    }
    const size_t dash = s.find('-');
    uint32_t a = 0, b = 0;
    if (!number(s.substr(0, dash), 0xffff, a) ||
        !number(dash == std::string_view::npos ? s : s.substr(dash + 1), 0xffff, b) || a > b) {
        return false;
    }
    lo = uint16_t(a);
    hi = uint16_t(b);
    given = true;
    return true;
}

bool protocol(std::string_view s, int &proto) {
    if (s == "any") {
        proto = -1;
    } else if (s == "tcp") {
        proto = 6;
    } else if (s == "udp") {
        proto = 17;
    } else if (s == "icmp") {
        proto = 1;
    } else {
        uint32_t n = 0;
        if (!number(s, 255, n)) {
            return false;
        }
        proto = int(n);
    }
    return true;
}

bool action(std::string_view s, Action &a) {
    if (s == "allow") {
        a = Action::allow;
    } else if (s == "deny") {
        a = Action::deny;
    } else {
        return false;
    }
    return true;
}

} // namespace

RuleSet::RuleSet(std::vector<Rule> rules, Action default_action, unsigned lcores)
    : rules_(std::move(rules)), default_(default_action), lcores_(lcores),
      stride_((rules_.size() + 1 + counters_per_line - 1) / counters_per_line * counters_per_line),
      hits_(std::make_unique<vpmd::runtime::Counter[]>(stride_ * lcores)) {}

uint64_t RuleSet::hits(size_t i) const {
    uint64_t n = 0;
    for (unsigned l = 0; l < lcores_; ++l) {
        n += hits_[l * stride_ + i].read();
    }
    return n;
}

uint64_t RuleSet::total_hits() const {
    uint64_t n = 0;
    for (size_t i = 0; i <= rules_.size(); ++i) {
        n += hits(i);
    }
    return n;
}

ParseResult parse_rules(std::string_view text, unsigned lcores) {
    std::vector<Rule> rules;
    Action dflt = Action::deny;
    size_t lineno = 0;
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++lineno;
        line = line.substr(0, line.find('#'));
        const auto f = fields(line);
        if (f.empty()) {
            continue;
        }
        auto bad = [&](const char *what, std::string_view v) {
            return vpmd::unexpected("line " + std::to_string(lineno) + ": bad " + what + " '" + std::string(v) + "'");
        };
        if (f[0] == "default") {
            if (f.size() != 2 || !action(f[1], dflt)) {
                return bad("default (want: default allow|deny)", line);
            }
            continue;
        }
        if (f.size() != 6) {
            return bad("rule (want: action proto src sport dst dport)", line);
        }
        Rule r;
        r.text = std::string(line.substr(0, line.find_last_not_of(" \t") + 1));
        if (!action(f[0], r.action)) {
            return bad("action", f[0]);
        }
        if (!protocol(f[1], r.proto)) {
            return bad("protocol", f[1]);
        }
        if (!address(f[2], r.src, r.src_mask)) {
            return bad("address", f[2]);
        }
        if (!port_range(f[3], r.sport_lo, r.sport_hi, r.ports)) {
            return bad("port", f[3]);
        }
        if (!address(f[4], r.dst, r.dst_mask)) {
            return bad("address", f[4]);
        }
        if (!port_range(f[5], r.dport_lo, r.dport_hi, r.ports)) {
            return bad("port", f[5]);
        }
        if (r.ports && r.proto != -1 && r.proto != 6 && r.proto != 17) {
            return bad("rule: ports need tcp, udp or any", line);
        }
        rules.push_back(std::move(r));
    }
    return std::make_unique<RuleSet>(std::move(rules), dflt, lcores);
}

ParseResult load_rules(const std::string &path, unsigned lcores) {
    std::ifstream in(path);
    if (!in) {
        return vpmd::unexpected("cannot read " + path);
    }
    std::stringstream ss;
    ss << in.rdbuf();
    auto r = parse_rules(ss.str(), lcores);
    if (!r) {
        return vpmd::unexpected(path + ": " + r.error());
    }
    return r;
}

} // namespace bridge
