// net_vpmd device arguments: names follow net_virtio_user where the meaning matches.
// Parsing is pure C++ (no EAL) so every bad value can be unit-tested; the error text is
// the one log line the probe prints.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace vpmd::pmd {

struct Devargs {
    std::string path;           // vhost-user socket (required)
    bool server = false;        // we listen, the backend connects
    uint16_t queues = 1;        // queue pairs
    uint32_t queue_size = 256;  // descriptors per data queue
    bool packed_vq = false;
    bool in_order = false;
    bool mrg_rxbuf = true;
    bool event_idx = false;
    bool indirect = true;       // multi-segment tx through indirect tables when offered
    bool cq = true;             // control queue (mediated in process)
    bool have_mac = false;
    std::array<uint8_t, 6> mac{};
    uint32_t speed = 10000;     // Mbps reported by link_get
    uint32_t connect_timeout_ms = 0; // client: keep retrying connect this long
    bool strict_tx_hdr = false; // tx headers zero num_buffers too (see net::clear_tx_hdr)
    // PCI: the data queues' DMA device: EAL's VFIO container (buffers by IOVA), or a
    // container of our own, a separate IOMMU domain with IOVA = VA.
    enum class Dma : uint8_t { eal, own } dma = Dma::eal;
    // The bursts' instruction set: auto (1) takes the widest the CPU has and EAL allows
    // (rte_vect_get_max_simd_bitwidth, so --force-max-simd-bitwidth counts); 0 is scalar;
    // avx2/avx512 insist, and the probe fails where that cannot run.
    enum class Vectorized : uint8_t { automatic, scalar, avx2, avx512 } vectorized = Vectorized::automatic;
};

// The parameter line DPDK shows (RTE_PMD_REGISTER_PARAM_STRING and dpdk-pmdinfo.py).
#define VPMD_PARAM_STRING                                                                                         \
    "path=<path> server=<0|1> queues=<int> queue_size=<int> packed_vq=<0|1> in_order=<0|1> mrg_rxbuf=<0|1> "      \
    "event_idx=<0|1> indirect=<0|1> cq=<0|1> mac=<mac addr> speed=<int> connect_timeout=<seconds> "            \
    "strict_tx_hdr=<0|1> dma=<eal|own> vectorized=<0|1|avx2|avx512>"

// Every key we accept, in the order the help line prints them.
inline constexpr std::string_view devargs_keys =
    "path, server, queues, queue_size, packed_vq, in_order, mrg_rxbuf, event_idx, indirect, cq, mac, speed, "
    "connect_timeout, strict_tx_hdr, dma, vectorized";

inline constexpr uint16_t max_queue_pairs = 64;

struct DevargsResult {
    bool ok = false;
    std::string error; // one line naming the key and what is allowed
};

// Which kind of port the devargs are for: vhost-user needs `path`; a PCI device (-a BDF,...)
// takes the ring and port keys only.
enum class DevargsFor : uint8_t { vhost_user, pci };

// Parses "key=value,key=value" (the part after the device name).
DevargsResult parse_devargs(std::string_view args, Devargs &out, DevargsFor bus = DevargsFor::vhost_user);

} // namespace vpmd::pmd
