// virtio-pci as one implementation of the transport seam: a VirtioPci over a pci::Function,
// with the data queues' DMA device given by the caller (the PCI probe: EAL's VFIO
// container, buffers by IOVA; tests: any) and local memory for the mediated control queue.
#pragma once

#include <memory>

#include "dataplane/dma/dma_device.hpp"
#include "drivers/transport/pci/function.hpp"
#include "drivers/transport/transport.hpp"

namespace vpmd::pci {

struct TransportOptions {
    // The device must translate through an IOMMU (ACCESS_PLATFORM): true when the data DMA
    // device hands out IOVAs that are not physical addresses (EAL's IOVA-as-VA mode).
    bool need_access_platform = true;
};

// Checks the device (capabilities, BARs) now: a bad device fails here, left untouched.
[[nodiscard]] transport::Result<std::unique_ptr<transport::Transport>>
open_transport(std::unique_ptr<Function> f, std::unique_ptr<dma::DmaDevice> data_dma, TransportOptions o = {});

} // namespace vpmd::pci
