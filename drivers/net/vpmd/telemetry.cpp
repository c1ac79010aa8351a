// Telemetry endpoints (dpdk-telemetry.py, or any client of the telemetry socket):
//   /vpmd/ports          every net_vpmd port: name, ring layout, negotiated features, link,
//                        reconnects and back-end losses
//   /vpmd/queues,<port>  each set-up queue of that port: whether it is broken and why,
//                        ring errors, and its packet counters
// Control path only: reads what xstats read.
#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>

#include "drivers/net/vpmd/inspect.hpp"

namespace vpmd::pmd {
namespace {

int ports_cmd(const char *, const char *, rte_tel_data *d) {
    rte_tel_data_start_dict(d);
    uint16_t id = 0;
    RTE_ETH_FOREACH_DEV(id) {
        const auto r = port_report(id);
        if (!r) {
            continue;
        }
        rte_tel_data *p = rte_tel_data_alloc();
        if (p == nullptr) {
            return -ENOMEM;
        }
        rte_tel_data_start_dict(p);
        rte_tel_data_add_dict_string(p, "name", r->name.c_str());
        rte_tel_data_add_dict_string(p, "layout", r->packed ? "packed" : "split");
        rte_tel_data_add_dict_int(p, "in_order", r->in_order ? 1 : 0);
        rte_tel_data_add_dict_u64(p, "features", r->features);
        rte_tel_data_add_dict_int(p, "link_up", r->link_up ? 1 : 0);
        rte_tel_data_add_dict_u64(p, "reconnects", r->reconnects);
        rte_tel_data_add_dict_u64(p, "backend_losses", r->backend_losses);
        rte_tel_data_add_dict_container(d, std::to_string(id).c_str(), p, 0);
    }
    return 0;
}

// The port id parameter: digits only, an existing net_vpmd port.
bool port_param(const char *params, uint16_t &port) {
    if (params == nullptr) {
        return false;
    }
    const char *end = params + std::strlen(params);
    const auto [p, ec] = std::from_chars(params, end, port);
    return ec == std::errc() && p == end && p != params;
}

int queues_cmd(const char *, const char *params, rte_tel_data *d) {
    uint16_t port = 0;
    if (!port_param(params, port)) {
        return -EINVAL;
    }
    const auto reports = queue_reports(port);
    if (!reports) {
        return -EINVAL; // no such port, or not net_vpmd's
    }
    rte_tel_data_start_dict(d);
    for (const QueueReport &q : *reports) {
        rte_tel_data *e = rte_tel_data_alloc();
        if (e == nullptr) {
            return -ENOMEM;
        }
        rte_tel_data_start_dict(e);
        rte_tel_data_add_dict_string(e, "broken", std::string(ring::to_string(q.broken)).c_str());
        rte_tel_data_add_dict_u64(e, "ring_errors", q.ring_errors);
        rte_tel_data_add_dict_u64(e, "packets", q.packets);
        rte_tel_data_add_dict_u64(e, "bytes", q.bytes);
        rte_tel_data_add_dict_u64(e, "errors", q.errors);
        rte_tel_data_add_dict_u64(e, "dropped", q.dropped);
        const std::string key = std::string(q.rx ? "rx" : "tx") + std::to_string(q.queue);
        rte_tel_data_add_dict_container(d, key.c_str(), e, 0);
    }
    return 0;
}

} // namespace
} // namespace vpmd::pmd

RTE_INIT(vpmd_telemetry_register) {
    rte_telemetry_register_cmd("/vpmd/ports", vpmd::pmd::ports_cmd,
                               "net_vpmd ports: name, layout, negotiated features, link, reconnects. No parameters");
    rte_telemetry_register_cmd("/vpmd/queues", vpmd::pmd::queues_cmd,
                               "Health of a net_vpmd port's queues: broken reason, ring errors, counters. "
                               "Parameter: port id");
}
