// The bridge's data path (one poller per worker lcore) and its control-plane operations.
#include "bridge.hpp"

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <set>

#include "vpmd/runtime/assignment.hpp"

namespace bridge {

namespace rt = vpmd::runtime;

namespace {

struct alignas(64) WorkerCounters {
    rt::Counter forwarded, flooded, acl_denied, same_port, not_ipv4, malformed, learn_full, tx_dropped;
};
static_assert(sizeof(WorkerCounters) == 64);

enum class L3 : uint8_t { not_ipv4, ipv4, malformed };

constexpr uint16_t ether_ipv4 = 0x0800;
constexpr uint16_t ether_vlan = 0x8100;
constexpr uint8_t ip_tcp = 6, ip_udp = 17;

inline uint16_t be16(const uint8_t *p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t be32(const uint8_t *p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

// The 5-tuple of an IPv4 frame (one VLAN tag skipped), from the first segment only.
L3 parse(const uint8_t *p, uint32_t len, FiveTuple &t) noexcept {
    if (len < 14) {
        return L3::malformed;
    }
    uint32_t off = 12;
    uint16_t type = be16(p + off);
    if (type == ether_vlan) {
        if (len < 18) {
            return L3::malformed;
        }
        off += 4;
        type = be16(p + off);
    }
    off += 2;
    if (type != ether_ipv4) {
        return L3::not_ipv4;
    }
    const uint32_t ihl = (p[off] & 0xfu) * 4u;
    if ((p[off] >> 4) != 4 || ihl < 20 || len < off + ihl) {
        return L3::malformed;
    }
    t.proto = p[off + 9];
    t.src = be32(p + off + 12);
    t.dst = be32(p + off + 16);
    const bool first_fragment = (be16(p + off + 6) & 0x1fff) == 0;
    t.has_ports = (t.proto == ip_tcp || t.proto == ip_udp) && first_fragment && len >= off + ihl + 4;
    if (t.has_ports) {
        t.sport = be16(p + off + ihl);
        t.dport = be16(p + off + ihl + 2);
    } else {
        t.sport = t.dport = 0;
    }
    return L3::ipv4;
}

} // namespace

struct Bridge::Worker {
    struct Rx {
        uint16_t index; // port index in opts.ports
        uint16_t port;
        uint16_t queue;
        rt::QueueCounters *ctr;
    };
    struct Out {
        uint16_t n = 0;
        rte_mbuf *pkts[max_burst];
    };

    Bridge *b = nullptr;
    unsigned index = 0; // reader id and tx queue
    std::vector<Rx> rxqs;
    std::vector<rt::QueueCounters *> tx_ctr; // by port index
    std::vector<Out> out;                    // by port index
    WorkerCounters ctr;
    bool online = false;

    uint32_t poll() noexcept {
        if (!online) [[unlikely]] {
            b->qsbr_.online(index);
            online = true;
        }
        // One table of each for the whole poll: a burst never sees two rule sets.
        const RuleSet &acl = *b->rules_.get();
        MacTable &macs = *b->macs_.get_mut();
        const uint32_t now = b->now_.load(std::memory_order_relaxed);
        uint32_t work = 0;
        for (const Rx &rq : rxqs) {
            rte_mbuf *pkts[max_burst];
            const uint16_t n = rte_eth_rx_burst(rq.port, rq.queue, pkts, b->opts_.burst);
            if (n == 0) {
                continue;
            }
            uint64_t bytes = 0;
            for (uint16_t i = 0; i < n; ++i) {
                bytes += pkts[i]->pkt_len;
                forward(pkts[i], rq, acl, macs, now);
            }
            rq.ctr->rx_packets.add(n);
            rq.ctr->rx_bytes.add(bytes);
            flush();
            work += n;
        }
        b->qsbr_.quiescent(index);
        return work;
    }

    void forward(rte_mbuf *m, const Rx &rq, const RuleSet &acl, MacTable &macs, uint32_t now) noexcept {
        const auto *p = rte_pktmbuf_mtod(m, const uint8_t *);
        FiveTuple t;
        switch (parse(p, m->data_len, t)) {
        case L3::malformed:
            ctr.malformed.add(1);
            rq.ctr->errors.add(1);
            rte_pktmbuf_free(m);
            return;
        case L3::not_ipv4:
            ctr.not_ipv4.add(1);
            break;
        case L3::ipv4:
            if (acl.decide(t, index) == Action::deny) {
                ctr.acl_denied.add(1);
                rte_pktmbuf_free(m);
                return;
            }
            break;
        }
        const Mac src = mac_from(p + 6);
        if (!is_multicast(src) && !macs.learn(src, rq.index, now)) [[unlikely]] {
            ctr.learn_full.add(1);
        }
        const Mac dst = mac_from(p);
        const int to = is_multicast(dst) ? MacTable::no_port : macs.lookup(dst);
        if (to == rq.index) {
            ctr.same_port.add(1);
            rte_pktmbuf_free(m);
            return;
        }
        if (to != MacTable::no_port && size_t(to) < out.size()) {
            ctr.forwarded.add(1);
            Out &o = out[size_t(to)];
            o.pkts[o.n++] = m;
            return;
        }
        flood(m, rq.index);
    }

    // Every other port gets the same mbuf, one reference each (drivers only read it).
    void flood(rte_mbuf *m, uint16_t from) noexcept {
        const uint16_t others = uint16_t(out.size() - 1);
        if (others == 0) {
            rte_pktmbuf_free(m);
            return;
        }
        ctr.flooded.add(1);
        if (others > 1) {
            rte_mbuf_refcnt_update(m, int16_t(others - 1));
        }
        for (uint16_t i = 0; i < out.size(); ++i) {
            if (i != from) {
                out[i].pkts[out[i].n++] = m;
            }
        }
    }

    void flush() noexcept {
        for (uint16_t i = 0; i < out.size(); ++i) {
            Out &o = out[i];
            if (o.n == 0) {
                continue;
            }
            uint64_t bytes = 0;
            for (uint16_t k = 0; k < o.n; ++k) {
                bytes += o.pkts[k]->pkt_len;
            }
            const uint16_t sent = rte_eth_tx_burst(b->opts_.ports[i], uint16_t(index), o.pkts, o.n);
            for (uint16_t k = sent; k < o.n; ++k) {
                bytes -= o.pkts[k]->pkt_len;
                rte_pktmbuf_free(o.pkts[k]);
            }
            tx_ctr[i]->tx_packets.add(sent);
            tx_ctr[i]->tx_bytes.add(bytes);
            if (sent != o.n) {
                tx_ctr[i]->drops.add(o.n - sent);
                ctr.tx_dropped.add(o.n - sent);
            }
            o.n = 0;
        }
    }
};

Bridge::Bridge(BridgeOptions opts, std::vector<unsigned> worker_lcores, std::unique_ptr<RuleSet> rules)
    : opts_(std::move(opts)), lcores_(std::move(worker_lcores)), qsbr_(unsigned(lcores_.size())),
      rules_(qsbr_, std::move(rules)), macs_(qsbr_, std::make_unique<MacTable>(opts_.mac_capacity)) {}

Bridge::~Bridge() = default;

vpmd::Expected<void, std::string> Bridge::attach(rt::Runtime &runtime) {
    if (opts_.ports.size() < 2) {
        return vpmd::unexpected(std::string("a bridge needs two ports or more"));
    }
    if (lcores_.empty()) {
        return vpmd::unexpected(std::string("no worker lcore"));
    }
    if (opts_.burst == 0 || opts_.burst > max_burst) {
        return vpmd::unexpected("burst must be 1.." + std::to_string(max_burst));
    }
    if (std::set<uint16_t>(opts_.ports.begin(), opts_.ports.end()).size() != opts_.ports.size()) {
        return vpmd::unexpected(std::string("a port is listed twice"));
    }
    for (uint16_t port : opts_.ports) {
        rte_eth_txq_info ti{};
        rte_eth_rxq_info ri{};
        if (rte_eth_tx_queue_info_get(port, uint16_t(lcores_.size() - 1), &ti) == -EINVAL ||
            rte_eth_rx_queue_info_get(port, uint16_t(opts_.rx_queues - 1), &ri) == -EINVAL) {
            return vpmd::unexpected("port " + std::to_string(port) + " needs " + std::to_string(opts_.rx_queues) +
                                    " rx queues and " + std::to_string(lcores_.size()) +
                                    " tx queues (one per worker)");
        }
    }
    std::vector<rt::QueueKey> keys;
    for (uint16_t port : opts_.ports) {
        for (uint16_t q = 0; q < opts_.rx_queues; ++q) {
            keys.push_back({port, q});
        }
    }
    auto plan = rt::assign_queues(keys, lcores_, rt::AssignPolicy::round_robin);
    if (!plan) {
        return vpmd::unexpected(plan.error());
    }
    for (unsigned w = 0; w < lcores_.size(); ++w) {
        auto wk = std::make_unique<Worker>();
        wk->b = this;
        wk->index = w;
        wk->out.resize(opts_.ports.size());
        for (uint16_t i = 0; i < opts_.ports.size(); ++i) {
            wk->tx_ctr.push_back(&runtime.queues().slot(lcores_[w], opts_.ports[i], uint16_t(w)));
        }
        for (const auto &share : plan->shares) {
            if (share.lcore != lcores_[w]) {
                continue;
            }
            for (size_t k : share.items) {
                const auto idx = uint16_t(k / opts_.rx_queues);
                wk->rxqs.push_back(Worker::Rx{idx, keys[k].port, keys[k].queue,
                                              &runtime.queues().slot(lcores_[w], keys[k].port, keys[k].queue)});
            }
        }
        workers_.push_back(std::move(wk));
    }
    for (unsigned w = 0; w < lcores_.size(); ++w) {
        if (auto r = runtime.add_worker(lcores_[w], {rt::make_poller(*workers_[w], "bridge")}, opts_.idle); !r) {
            return vpmd::unexpected(r.error());
        }
    }
    return {};
}

void Bridge::stopped() {
    for (auto &w : workers_) {
        qsbr_.offline(w->index);
        w->online = false;
    }
}

void Bridge::fold_hits(const RuleSet &old) {
    for (size_t i = 0; i < old.rules().size(); ++i) {
        retired_hits_[old.rules()[i].text] += old.hits(i);
    }
    retired_hits_[old.default_action() == Action::allow ? "default allow" : "default deny"] +=
        old.hits(old.rules().size());
}

void Bridge::swap_rules(std::unique_ptr<RuleSet> rules) {
    std::lock_guard lock(control_);
    std::unique_ptr<RuleSet> old = rules_.replace(std::move(rules));
    fold_hits(*old); // no worker counts into it any more
    swaps_.fetch_add(1);
}

void Bridge::tick(uint32_t now_s) {
    std::lock_guard lock(control_);
    now_.store(now_s, std::memory_order_relaxed);
    MacTable &cur = *macs_.get_mut();
    cur.age(now_s, opts_.max_age_s);
    if (cur.tombstones() > cur.capacity() / 4) {
        auto fresh = std::make_unique<MacTable>(cur.capacity());
        cur.each([&](Mac mac, uint16_t port, uint32_t seen) { fresh->learn(mac, port, seen); });
        (void)macs_.replace(std::move(fresh));
    }
}

BridgeTotals Bridge::totals() const {
    BridgeTotals t;
    for (const auto &w : workers_) {
        const WorkerCounters &c = w->ctr;
        t.forwarded += c.forwarded.read();
        t.flooded += c.flooded.read();
        t.acl_denied += c.acl_denied.read();
        t.same_port += c.same_port.read();
        t.not_ipv4 += c.not_ipv4.read();
        t.malformed += c.malformed.read();
        t.learn_full += c.learn_full.read();
        t.tx_dropped += c.tx_dropped.read();
    }
    return t;
}

std::vector<RuleHits> Bridge::rule_hits() const {
    std::lock_guard lock(control_);
    std::map<std::string, uint64_t> rest = retired_hits_;
    std::vector<RuleHits> out;
    const RuleSet &cur = *rules_.get();
    for (size_t i = 0; i <= cur.rules().size(); ++i) {
        const std::string text = i < cur.rules().size()
                                     ? cur.rules()[i].text
                                     : (cur.default_action() == Action::allow ? "default allow" : "default deny");
        uint64_t n = cur.hits(i);
        if (auto it = rest.find(text); it != rest.end()) {
            n += it->second;
            rest.erase(it);
        }
        out.push_back(RuleHits{text, n});
    }
    for (const auto &[text, n] : rest) {
        out.push_back(RuleHits{text, n});
    }
    return out;
}

size_t Bridge::macs() const {
    std::lock_guard lock(control_);
    return macs_.get()->live();
}

int Bridge::learned_port(Mac mac) const {
    std::lock_guard lock(control_); // tick() may be swapping the table
    return macs_.get()->lookup(mac);
}

} // namespace bridge
