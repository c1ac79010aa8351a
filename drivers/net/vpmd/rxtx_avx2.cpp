// net_vpmd's AVX2 bursts (ring/simd_avx2.hpp's group checks and stores). This file alone is
// compiled with -mavx2 (meson.build): the ring code inlines the kernels only into callers
// compiled for their ISA. Chosen at port start only where the CPU and EAL allow it.
#define VPMD_BURST_ISA avx2
#include "drivers/net/vpmd/burst_table.hpp"

namespace vpmd::pmd {

VPMD_DEFINE_BURSTS(bursts_avx2, ring::Simd::avx2, _avx2)

} // namespace vpmd::pmd
