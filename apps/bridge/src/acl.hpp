// The bridge's ACL: IPv4 5-tuple rules, first match wins, a default action, loaded from a
// text file. A RuleSet is immutable once built (the data path reads it through
// Published<RuleSet>); its per-rule hit counters have one writer per lcore.
//
// Rule file, one rule per line, '#' starts a comment:
//     allow  udp  10.0.0.0/8  any  10.1.0.1  5000-5010     # action proto src sport dst dport
//     deny   tcp  any         any  any       22
//     default allow                                          # when no rule matches (else deny)
// proto: tcp, udp, icmp, any or a number; addresses: A.B.C.D[/len] or any; ports: N, N-M or
// any (a rule with ports matches TCP and UDP only).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vpmd/expected.hpp"
#include "vpmd/runtime/counters.hpp"

namespace bridge {

enum class Action : uint8_t { allow, deny };

struct FiveTuple {
    uint32_t src = 0, dst = 0; // host order
    uint8_t proto = 0;
    uint16_t sport = 0, dport = 0; // host order; 0 when the protocol has none
    bool has_ports = false;        // TCP/UDP, first fragment
};

struct Rule {
    Action action = Action::deny;
    int proto = -1; // -1: any
    uint32_t src = 0, src_mask = 0, dst = 0, dst_mask = 0;
    uint16_t sport_lo = 0, sport_hi = 0xffff, dport_lo = 0, dport_hi = 0xffff;
    bool ports = false; // a port range was given
    std::string text;   // the line it came from, for reports

    [[nodiscard]] bool matches(const FiveTuple &t) const noexcept {
        if ((proto >= 0 && t.proto != proto) || (t.src & src_mask) != src || (t.dst & dst_mask) != dst) {
            return false;
        }
        if (!ports) {
            return true;
        }
        return t.has_ports && t.sport >= sport_lo && t.sport <= sport_hi && t.dport >= dport_lo && t.dport <= dport_hi;
    }
};

class RuleSet {
public:
    // `lcores`: how many data-path lcores count hits (each its own row of counters).
    RuleSet(std::vector<Rule> rules, Action default_action, unsigned lcores);

    // Data path: the action for `t`, counting the hit on `lcore`'s row.
    Action decide(const FiveTuple &t, unsigned lcore) const noexcept {
        for (size_t i = 0; i < rules_.size(); ++i) {
            if (rules_[i].matches(t)) {
                hits_[lcore * stride_ + i].add(1);
                return rules_[i].action;
            }
        }
        hits_[lcore * stride_ + rules_.size()].add(1);
        return default_;
    }

    [[nodiscard]] const std::vector<Rule> &rules() const { return rules_; }
    [[nodiscard]] Action default_action() const { return default_; }
    // Hits of rule i summed over lcores; i == rules().size() is the default action.
    [[nodiscard]] uint64_t hits(size_t i) const;
    [[nodiscard]] uint64_t total_hits() const;

private:
    std::vector<Rule> rules_;
    Action default_;
    unsigned lcores_;
    size_t stride_; // counters per lcore row, padded to whole cache lines
    std::unique_ptr<vpmd::runtime::Counter[]> hits_;
};

using ParseResult = vpmd::Expected<std::unique_ptr<RuleSet>, std::string>;
// Errors name the line and the field: "line 3: bad address '10.0.0/8'".
ParseResult parse_rules(std::string_view text, unsigned lcores);
ParseResult load_rules(const std::string &path, unsigned lcores);

} // namespace bridge
