// The PCI bus's net_vpmd driver: a modern virtio-net function (1af4:1041) bound to vfio-pci
// -> the virtio-pci transport over the BARs EAL mapped, data queues in EAL's VFIO container
// by IOVA -> create_port. Transitional devices (1af4:1000) are not claimed: their legacy
// interface is not supported, and a modern-capable one shows 1041 with disable-legacy=on.
#include <bus_pci_driver.h>
#include <ethdev_driver.h>
#include <ethdev_pci.h>

#include <rte_bus_pci.h>
#include <rte_eal.h>
#include <rte_log.h>

#include "dataplane/dma/eal_iova_dma.hpp"
#include "drivers/net/vpmd/ethdev.hpp"
#include "drivers/net/vpmd/log.hpp"
#include "drivers/transport/pci/transport.hpp"

namespace vpmd::pmd {
namespace {

// pci::Function over the BARs and config space EAL gives (mapped through VFIO).
class EalPciFunction final : public pci::Function {
public:
    explicit EalPciFunction(rte_pci_device *d) : d_(d) {}
    std::string address() const override { return d_->name; }
    bool read_config(uint32_t off, void *buf, uint32_t len) const override {
        return rte_pci_read_config(d_, buf, len, off) == int(len);
    }
    bool write_config(uint32_t off, const void *buf, uint32_t len) override {
        return rte_pci_write_config(d_, buf, len, off) == int(len);
    }
    uint64_t bar_length(uint8_t bar) const override {
        return bar < PCI_MAX_RESOURCE && d_->mem_resource[bar].addr != nullptr ? d_->mem_resource[bar].len : 0;
    }
    uint32_t read(uint8_t bar, uint64_t off, uint8_t width) const override {
        const volatile void *p = at(bar, off);
        switch (width) {
        case 1: return *static_cast<const volatile uint8_t *>(p);
        case 2: return *static_cast<const volatile uint16_t *>(p);
        default: return *static_cast<const volatile uint32_t *>(p);
        }
    }
    void write(uint8_t bar, uint64_t off, uint8_t width, uint32_t v) override {
        volatile void *p = at(bar, off);
        switch (width) {
        case 1: *static_cast<volatile uint8_t *>(p) = uint8_t(v); break;
        case 2: *static_cast<volatile uint16_t *>(p) = uint16_t(v); break;
        default: *static_cast<volatile uint32_t *>(p) = v; break;
        }
    }
    volatile void *notify_address(uint8_t bar, uint64_t off) override { return at(bar, off); }

private:
    volatile void *at(uint8_t bar, uint64_t off) const {
        return static_cast<volatile char *>(d_->mem_resource[bar].addr) + off;
    }
    rte_pci_device *d_;
};

int pci_probe(rte_pci_driver *, rte_pci_device *pdev) {
    const char *name = pdev->device.name;
    if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
        log(RTE_LOG_ERR, "%s: secondary processes are not supported", name);
        return -ENOTSUP;
    }
    PortRequest req;
    req.name = name;
    const char *params = pdev->device.devargs != nullptr ? pdev->device.devargs->args : "";
    if (auto r = parse_devargs(params ? params : "", req.args, DevargsFor::pci); !r.ok) {
        log(RTE_LOG_ERR, "%s: %s", name, r.error.c_str());
        return -EINVAL;
    }
    req.numa_node = pdev->device.numa_node;
    pci::TransportOptions to;
    // With IOVA as PA a device without ACCESS_PLATFORM still reaches our buffers.
    to.need_access_platform = rte_eal_iova_mode() != RTE_IOVA_PA;
    auto t = pci::open_transport(std::make_unique<EalPciFunction>(pdev),
                                 std::make_unique<dma::EalIovaDma>(req.numa_node), to);
    if (!t) {
        log(RTE_LOG_ERR, "%s: %s", name, t.error().what.c_str());
        return t.error().code;
    }
    req.transport = std::move(*t);
    const int port = create_port(std::move(req), [pdev](size_t sz) {
        rte_eth_dev *dev = rte_eth_dev_pci_allocate(pdev, sz);
        return dev;
    });
    return port < 0 ? port : 0;
}

int pci_remove(rte_pci_device *pdev) {
    rte_eth_dev *dev = rte_eth_dev_allocated(pdev->device.name);
    if (dev == nullptr) {
        return 0;
    }
    (void)rte_eth_dev_stop(dev->data->port_id);
    return rte_eth_dev_close(dev->data->port_id);
}

const rte_pci_id pci_ids[] = {
    {RTE_PCI_DEVICE(0x1af4, 0x1041)},
    {0, 0, 0, 0, 0},
};

} // namespace
} // namespace vpmd::pmd

static rte_pci_driver vpmd_pci_driver = [] {
    rte_pci_driver d{};
    d.id_table = vpmd::pmd::pci_ids;
    d.drv_flags = RTE_PCI_DRV_NEED_MAPPING;
    d.probe = vpmd::pmd::pci_probe;
    d.remove = vpmd::pmd::pci_remove;
    return d;
}();

RTE_PMD_REGISTER_PCI(net_vpmd_pci, vpmd_pci_driver);
RTE_PMD_REGISTER_PCI_TABLE(net_vpmd_pci, vpmd::pmd::pci_ids);
RTE_PMD_REGISTER_KMOD_DEP(net_vpmd_pci, "vfio-pci");
