// The vdev bus's net_vpmd driver: devargs -> the vhost-user transport -> create_port. The
// one file of drivers/net/vpmd that knows a transport by name.
#include <bus_vdev_driver.h>
#include <ethdev_vdev.h>

#include <rte_log.h>

#include "drivers/net/vpmd/ethdev.hpp"
#include "drivers/net/vpmd/log.hpp"
#include "drivers/transport/vhost_user/transport.hpp"

namespace vpmd::pmd {
namespace {

int vpmd_probe(rte_vdev_device *vdev) {
    const char *name = rte_vdev_device_name(vdev);
    const char *params = rte_vdev_device_args(vdev);
    if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
        log(RTE_LOG_ERR, "%s: secondary processes are not supported", name);
        return -ENOTSUP;
    }
    PortRequest req;
    req.name = name;
    if (auto r = parse_devargs(params ? params : "", req.args); !r.ok) {
        log(RTE_LOG_ERR, "%s: %s", name, r.error.c_str());
        return -EINVAL;
    }
    req.numa_node = vdev->device.numa_node;
    vhost_user::TransportOptions to;
    to.path = req.args.path;
    to.server = req.args.server;
    to.socket_id = req.numa_node;
    auto t = vhost_user::open_transport(to);
    if (!t) {
        log(RTE_LOG_ERR, "%s: cannot listen on %s: %s", name, to.path.c_str(), t.error().what.c_str());
        return t.error().code;
    }
    req.transport = std::move(*t);
    req.device_arrives_later = req.args.server;
    if (req.args.connect_timeout_ms == 0) {
        req.attach_hint = " (connect_timeout=SECONDS waits for it; server=1 lets it connect to us)";
    }
    const int port = create_port(std::move(req), [vdev](size_t sz) { return rte_eth_vdev_allocate(vdev, sz); });
    return port < 0 ? port : 0;
}

int vpmd_remove(rte_vdev_device *vdev) {
    rte_eth_dev *dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));
    if (dev == nullptr) {
        return 0; // already closed
    }
    (void)rte_eth_dev_stop(dev->data->port_id); // ethdev refuses to close a started port
    return rte_eth_dev_close(dev->data->port_id);
}

} // namespace
} // namespace vpmd::pmd

// DPDK's registration macros paste the driver's name into identifiers: a plain global.
static rte_vdev_driver vpmd_vdev_driver = [] {
    rte_vdev_driver d{};
    d.probe = vpmd::pmd::vpmd_probe;
    d.remove = vpmd::pmd::vpmd_remove;
    return d;
}();

RTE_PMD_REGISTER_VDEV(net_vpmd, vpmd_vdev_driver);
RTE_PMD_REGISTER_PARAM_STRING(net_vpmd, VPMD_PARAM_STRING);

// What dpdk-pmdinfo.py reads from the plugin (DPDK's own build generates this string).
extern "C" {
extern const char vpmd_pmd_info[];
__attribute__((used)) const char vpmd_pmd_info[] =
    "PMD_INFO_STRING= {\"name\": \"net_vpmd\", \"params\": \"" VPMD_PARAM_STRING "\", \"pci_ids\": []}";
}
