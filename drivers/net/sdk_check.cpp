// Compiles the DPDK driver-SDK headers in C++20; fails the build if set-up missed one.
#include <bus_driver.h>
#include <bus_pci_driver.h>
#include <bus_vdev_driver.h>
#include <dev_driver.h>
#include <ethdev_driver.h>
#include <ethdev_pci.h>
#include <ethdev_vdev.h>

// Taking the address of an internal symbol makes the link step prove it is reachable.
extern "C" void *vpmd_sdk_check_symbol() {
    return reinterpret_cast<void *>(&rte_eth_dev_allocate);
}
