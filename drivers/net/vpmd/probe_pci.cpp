// The PCI bus's net_vpmd driver: a modern virtio-net function (1af4:1041) bound to vfio-pci
// -> its BARs mapped through VFIO, in EAL's default container or (dma=own) one of its own
// -> the virtio-pci transport, data queues by IOVA (EAL) or VA (own) -> create_port. Transitional devices (1af4:1000) are not claimed: their legacy
// interface is not supported, and a modern-capable one shows 1041 with disable-legacy=on.
#define ALLOW_EXPERIMENTAL_API // rte_intr_type_get
#include <bus_pci_driver.h>
#include <ethdev_driver.h>
#include <ethdev_pci.h>

#include <rte_bus_pci.h>
#include <rte_eal.h>
#include <rte_interrupts.h>
#include <rte_log.h>

#include <rte_vfio.h>

#include <cstring>
#include <map>
#include <mutex>

#include "dataplane/dma/eal_iova_dma.hpp"
#include "dataplane/dma/own_vfio_dma.hpp"
#include "drivers/net/vpmd/ethdev.hpp"
#include "drivers/net/vpmd/log.hpp"
#include "drivers/transport/pci/transport.hpp"

namespace vpmd::pmd {
namespace {

// pci::Function over the BARs, config space and interrupt handle EAL gives (mapped
// through VFIO).
class EalPciFunction final : public pci::Function {
public:
    explicit EalPciFunction(rte_pci_device *d) : d_(d) {}
    ~EalPciFunction() override {
        if (msix_on_) {
            (void)rte_intr_disable(d_->intr_handle);
            rte_intr_efd_disable(d_->intr_handle); // closes the eventfds
        }
    }
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
    // EAL's VFIO set-up chose MSI-X for the handle when the function has it (vector 0 is the
    // handle's own eventfd); rte_intr_efd_enable makes one eventfd per further vector and
    // rte_intr_enable hands them all to VFIO in one VFIO_DEVICE_SET_IRQS.
    transport::Result<std::vector<int>> enable_msix(uint16_t n) override {
        rte_intr_handle *h = d_->intr_handle;
        const std::string at = address() + ": ";
        if (msix_on_) {
            return transport::fail(-EALREADY, at + "MSI-X is routed already");
        }
        if (h == nullptr || rte_intr_type_get(h) != RTE_INTR_HANDLE_VFIO_MSIX) {
            return transport::fail(-ENOTSUP, at + "rx interrupts need MSI-X through VFIO, and EAL set the function "
                                                  "up for " + (h == nullptr ? "no interrupts" : "INTx or MSI") +
                                                  " (--vfio-intr=msix, vfio-pci)");
        }
        if (n == 0 || n > RTE_MAX_RXTX_INTR_VEC_ID) {
            return transport::fail(-EINVAL, at + std::to_string(n) + " MSI-X vectors asked");
        }
        if (int rc = rte_intr_efd_enable(h, n); rc != 0) {
            rte_intr_efd_disable(h);
            return transport::fail(rc < 0 ? rc : -EIO, at + "no eventfds for " + std::to_string(n) + " MSI-X vectors");
        }
        if (rte_intr_enable(h) != 0) {
            rte_intr_efd_disable(h);
            return transport::fail(-EIO, at + "VFIO did not route " + std::to_string(n + 1) + " MSI-X vectors");
        }
        msix_on_ = true;
        std::vector<int> fds;
        for (uint16_t i = 0; i < n; ++i) {
            fds.push_back(rte_intr_efds_index_get(h, i));
        }
        return fds;
    }

private:
    volatile void *at(uint8_t bar, uint64_t off) const {
        return static_cast<volatile char *>(d_->mem_resource[bar].addr) + off;
    }
    rte_pci_device *d_;
    bool msix_on_ = false;
};

// Every device this driver mapped, with the container it is in (-1: EAL's default), until
// remove. dma=own puts the device's IOMMU group in a container of its own, bound before the
// device is set up, so EAL sets it up there and not in its default container.
std::mutex own_lock;
std::map<const rte_pci_device *, int> own_containers;

struct Mapping {
    rte_pci_device *dev;
    int container = -1;
    bool mapped = false;
    void release() {
        if (mapped) {
            rte_pci_unmap_device(dev);
            mapped = false;
        }
        if (container >= 0) {
            rte_vfio_container_destroy(container);
            container = -1;
        }
    }
};

// Maps the BARs through VFIO, in the container `dma` asks for. Negative errno (logged).
int map_device(rte_pci_device *pdev, Devargs::Dma dma, Mapping &m) {
    const char *name = pdev->device.name;
    if (dma == Devargs::Dma::own) {
        int group = -1;
        if (rte_vfio_get_group_num(rte_pci_get_sysfs_path(), name, &group) != 1) {
            log(RTE_LOG_ERR, "%s: dma=own: no IOMMU group (is it bound to vfio-pci with an IOMMU on?)", name);
            return -ENODEV;
        }
        m.container = rte_vfio_container_create();
        if (m.container < 0) {
            log(RTE_LOG_ERR, "%s: dma=own: cannot create a VFIO container", name);
            return -ENOSPC;
        }
        if (rte_vfio_container_group_bind(m.container, group) < 0) {
            log(RTE_LOG_ERR, "%s: dma=own: IOMMU group %d cannot join a container of its own (already in use?)",
                name, group);
            m.release();
            return -EBUSY;
        }
    }
    if (rte_pci_map_device(pdev) != 0) {
        log(RTE_LOG_ERR, "%s: cannot map the device's BARs through VFIO", name);
        m.release();
        return -EIO;
    }
    m.mapped = true;
    return 0;
}

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
    Mapping m{pdev};
    if (int rc = map_device(pdev, req.args.dma, m); rc != 0) {
        return rc;
    }
    std::unique_ptr<dma::DmaDevice> data_dma;
    pci::TransportOptions to;
    if (req.args.dma == Devargs::Dma::own) {
        auto own = dma::OwnVfioDma::create(m.container, req.numa_node);
        if (!own) {
            log(RTE_LOG_ERR, "%s: dma=own: cannot map EAL memory into the port's container (%s)", name,
                strerror(-own.error()));
            m.release();
            return own.error();
        }
        data_dma = std::move(*own);
        to.need_access_platform = true; // our container's IOVAs are VAs, never physical addresses
    } else {
        data_dma = std::make_unique<dma::EalIovaDma>(req.numa_node);
        // With IOVA as PA a device without ACCESS_PLATFORM still reaches our buffers.
        to.need_access_platform = rte_eal_iova_mode() != RTE_IOVA_PA;
    }
    auto t = pci::open_transport(std::make_unique<EalPciFunction>(pdev), std::move(data_dma), to);
    if (!t) {
        log(RTE_LOG_ERR, "%s: %s", name, t.error().what.c_str());
        m.release();
        return t.error().code;
    }
    req.transport = std::move(*t);
    const int port = create_port(std::move(req), [pdev](size_t sz) { return rte_eth_dev_pci_allocate(pdev, sz); });
    if (port < 0) {
        m.release(); // the transport (and its DMA device) went with the failed port
        return port;
    }
    std::lock_guard g(own_lock);
    own_containers[pdev] = m.container;
    return 0;
}

int pci_remove(rte_pci_device *pdev) {
    rte_eth_dev *dev = rte_eth_dev_allocated(pdev->device.name);
    int rc = 0;
    if (dev != nullptr) {
        (void)rte_eth_dev_stop(dev->data->port_id);
        rc = rte_eth_dev_close(dev->data->port_id);
    }
    int container = -1;
    {
        std::lock_guard g(own_lock);
        if (auto it = own_containers.find(pdev); it != own_containers.end()) {
            container = it->second;
            own_containers.erase(it);
        } else {
            return rc; // never probed by us
        }
    }
    Mapping m{pdev, container, true};
    m.release();
    return rc;
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
    d.drv_flags = 0; // the probe maps the BARs itself, into the container dma= asks for
    d.probe = vpmd::pmd::pci_probe;
    d.remove = vpmd::pmd::pci_remove;
    return d;
}();

RTE_PMD_REGISTER_PCI(net_vpmd_pci, vpmd_pci_driver);
RTE_PMD_REGISTER_PCI_TABLE(net_vpmd_pci, vpmd::pmd::pci_ids);
RTE_PMD_REGISTER_KMOD_DEP(net_vpmd_pci, "vfio-pci");
