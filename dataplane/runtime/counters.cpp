// Summing counter blocks on the control path; nothing here runs on a worker lcore.
#include "vpmd/runtime/counters.hpp"

#include <algorithm>
#include <map>

namespace vpmd::runtime {

QueueTotals &QueueTotals::operator+=(const QueueTotals &o) {
    rx_packets += o.rx_packets;
    rx_bytes += o.rx_bytes;
    tx_packets += o.tx_packets;
    tx_bytes += o.tx_bytes;
    drops += o.drops;
    errors += o.errors;
    nombuf += o.nombuf;
    bad_csum += o.bad_csum;
    return *this;
}

QueueTotals QueueTotals::operator-(const QueueTotals &o) const {
    QueueTotals d;
    d.rx_packets = rx_packets - o.rx_packets;
    d.rx_bytes = rx_bytes - o.rx_bytes;
    d.tx_packets = tx_packets - o.tx_packets;
    d.tx_bytes = tx_bytes - o.tx_bytes;
    d.drops = drops - o.drops;
    d.errors = errors - o.errors;
    d.nombuf = nombuf - o.nombuf;
    d.bad_csum = bad_csum - o.bad_csum;
    return d;
}

QueueTotals QueueCounters::read() const {
    QueueTotals t;
    t.rx_packets = rx_packets.read();
    t.rx_bytes = rx_bytes.read();
    t.tx_packets = tx_packets.read();
    t.tx_bytes = tx_bytes.read();
    t.drops = drops.read();
    t.errors = errors.read();
    t.nombuf = nombuf.read();
    t.bad_csum = bad_csum.read();
    return t;
}

void QueueCounters::reset() {
    for (Counter *c : {&rx_packets, &rx_bytes, &tx_packets, &tx_bytes, &drops, &errors, &nombuf, &bad_csum}) {
        c->reset();
    }
}

LcoreTotals &LcoreTotals::operator+=(const LcoreTotals &o) {
    busy_cycles += o.busy_cycles;
    idle_cycles += o.idle_cycles;
    rounds += o.rounds;
    busy_rounds += o.busy_rounds;
    work += o.work;
    return *this;
}

LcoreTotals LcoreTotals::operator-(const LcoreTotals &o) const {
    LcoreTotals d;
    d.lcore = lcore;
    d.busy_cycles = busy_cycles - o.busy_cycles;
    d.idle_cycles = idle_cycles - o.idle_cycles;
    d.rounds = rounds - o.rounds;
    d.busy_rounds = busy_rounds - o.busy_rounds;
    d.work = work - o.work;
    return d;
}

double LcoreTotals::busy_cycles_per_unit() const {
    return work == 0 ? 0.0 : double(busy_cycles) / double(work);
}

double LcoreTotals::busy_fraction() const {
    const uint64_t all = busy_cycles + idle_cycles;
    return all == 0 ? 0.0 : double(busy_cycles) / double(all);
}

LcoreTotals LcoreCounters::read(unsigned lcore) const {
    LcoreTotals t;
    t.lcore = lcore;
    t.busy_cycles = busy_cycles.read();
    t.idle_cycles = idle_cycles.read();
    t.rounds = rounds.read();
    t.busy_rounds = busy_rounds.read();
    t.work = work.read();
    return t;
}

void LcoreCounters::reset() {
    for (Counter *c : {&busy_cycles, &idle_cycles, &rounds, &busy_rounds, &work}) {
        c->reset();
    }
}

QueueCounters &CounterTable::slot(unsigned lcore, uint16_t port, uint16_t queue) {
    const QueueKey key{port, queue};
    for (Slot &s : slots_) {
        if (s.lcore == lcore && s.key == key) {
            return *s.counters;
        }
    }
    slots_.push_back(Slot{lcore, key, std::make_unique<QueueCounters>()});
    return *slots_.back().counters;
}

std::vector<KeyedTotals> CounterTable::by_queue() const {
    std::map<QueueKey, QueueTotals> sums;
    for (const Slot &s : slots_) {
        sums[s.key] += s.counters->read();
    }
    std::vector<KeyedTotals> out;
    out.reserve(sums.size());
    for (const auto &[k, t] : sums) {
        out.push_back(KeyedTotals{k, t});
    }
    return out;
}

std::vector<KeyedTotals> CounterTable::by_port() const {
    std::map<uint16_t, QueueTotals> sums;
    for (const Slot &s : slots_) {
        sums[s.key.port] += s.counters->read();
    }
    std::vector<KeyedTotals> out;
    out.reserve(sums.size());
    for (const auto &[p, t] : sums) {
        out.push_back(KeyedTotals{QueueKey{p, all_queues}, t});
    }
    return out;
}

QueueTotals CounterTable::total() const {
    QueueTotals t;
    for (const Slot &s : slots_) {
        t += s.counters->read();
    }
    return t;
}

QueueTotals CounterTable::lcore_total(unsigned lcore) const {
    QueueTotals t;
    for (const Slot &s : slots_) {
        if (s.lcore == lcore) {
            t += s.counters->read();
        }
    }
    return t;
}

void CounterTable::reset() {
    for (Slot &s : slots_) {
        s.counters->reset();
    }
}

} // namespace vpmd::runtime
