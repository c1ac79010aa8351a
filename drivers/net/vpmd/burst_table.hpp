// The burst functions of one instruction set: each ring type (layout x IN_ORDER) x address
// mode (x mergeable for rx) instantiated once under a name of its own, so a profiler says
// which path runs (rx_packed_inorder_mrg_iova_avx512 ...). rxtx.cpp defines the scalar
// table and picks one at port start; rxtx_avx2.cpp and rxtx_avx512.cpp define theirs and
// are the only files compiled for those instruction sets (meson.build), so the baseline
// build still runs on any x86-64-v2 CPU (tests/build/baseline_isa.sh checks the objects).
#pragma once

#include "drivers/net/vpmd/rxtx.hpp"

namespace vpmd::pmd {

struct BurstTable {
    eth_rx_burst_t rx[2][2][2][2]; // [packed][in_order][mrg][iova]
    eth_tx_burst_t tx[2][2][2];    // [packed][in_order][iova]
};

extern const BurstTable bursts_scalar;
extern const BurstTable bursts_avx2;
extern const BurstTable bursts_avx512;

// One named function per table entry; flatten: the template body and what it calls are
// inlined into it (the ring's collect loops grew past GCC's own limits with the groups).
#define VPMD_RX(name, Ring, Mode, Mrg, S)                                                                   \
    [[gnu::flatten]] uint16_t rx_##name(void *q, rte_mbuf **p, uint16_t n) {                                                  \
        return rx_burst<Ring, dma::AddrMode::Mode, Mrg, S>(q, p, n);                                              \
    }
#define VPMD_RX_ALL(layout, Ring, S, isa)                                                                   \
    VPMD_RX(layout##_va##isa, Ring, va, false, S)                                                           \
    VPMD_RX(layout##_iova##isa, Ring, iova, false, S)                                                       \
    VPMD_RX(layout##_mrg_va##isa, Ring, va, true, S)                                                        \
    VPMD_RX(layout##_mrg_iova##isa, Ring, iova, true, S)
#define VPMD_TX(name, Ring, Mode, S)                                                                        \
    [[gnu::flatten]] uint16_t tx_##name(void *q, rte_mbuf **p, uint16_t n) { return tx_burst<Ring, dma::AddrMode::Mode, S>(q, p, n); }
#define VPMD_TX_ALL(layout, Ring, S, isa)                                                                   \
    VPMD_TX(layout##_va##isa, Ring, va, S)                                                                  \
    VPMD_TX(layout##_iova##isa, Ring, iova, S)

// Defines `table` (declared above) for instruction set S; isa is the names' suffix.
#define VPMD_DEFINE_BURSTS(table, S, isa)                                                                   \
    namespace {                                                                                                   \
    VPMD_RX_ALL(split, SplitRing, S, isa)                                                                   \
    VPMD_RX_ALL(split_inorder, SplitRingInOrder, S, isa)                                                    \
    VPMD_RX_ALL(packed, PackedRing, S, isa)                                                                 \
    VPMD_RX_ALL(packed_inorder, PackedRingInOrder, S, isa)                                                  \
    VPMD_TX_ALL(split, SplitRing, S, isa)                                                                   \
    VPMD_TX_ALL(split_inorder, SplitRingInOrder, S, isa)                                                    \
    VPMD_TX_ALL(packed, PackedRing, S, isa)                                                                 \
    VPMD_TX_ALL(packed_inorder, PackedRingInOrder, S, isa)                                                  \
    }                                                                                                             \
    const BurstTable table = {                                                                                    \
        {{{{rx_split_va##isa, rx_split_iova##isa}, {rx_split_mrg_va##isa, rx_split_mrg_iova##isa}},               \
          {{rx_split_inorder_va##isa, rx_split_inorder_iova##isa},                                                \
           {rx_split_inorder_mrg_va##isa, rx_split_inorder_mrg_iova##isa}}},                                      \
         {{{rx_packed_va##isa, rx_packed_iova##isa}, {rx_packed_mrg_va##isa, rx_packed_mrg_iova##isa}},           \
          {{rx_packed_inorder_va##isa, rx_packed_inorder_iova##isa},                                              \
           {rx_packed_inorder_mrg_va##isa, rx_packed_inorder_mrg_iova##isa}}}},                                   \
        {{{tx_split_va##isa, tx_split_iova##isa}, {tx_split_inorder_va##isa, tx_split_inorder_iova##isa}},        \
         {{tx_packed_va##isa, tx_packed_iova##isa}, {tx_packed_inorder_va##isa, tx_packed_inorder_iova##isa}}},   \
    };

} // namespace vpmd::pmd
