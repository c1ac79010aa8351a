// net_vpmd's AVX-512 bursts (ring/simd_avx512.hpp's group checks and stores). This file
// alone is compiled for AVX-512 F/BW/VL/DQ (meson.build; see rxtx_avx2.cpp). Chosen at
// port start only where the CPU has it and EAL allows 512-bit SIMD
// (--force-max-simd-bitwidth=512).
#define VPMD_BURST_ISA avx512
#include "drivers/net/vpmd/burst_table.hpp"

namespace vpmd::pmd {

VPMD_DEFINE_BURSTS(bursts_avx512, ring::Simd::avx512, _avx512)

} // namespace vpmd::pmd
