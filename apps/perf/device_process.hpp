// vpmd-perf's two-process device: dpdk-testpmd with one net_vhost port per driver under
// test, forwarding on one lcore of its own, as a user's two-process set-up runs it. The
// drivers in this process take turns as in process; the device polls every port, which
// costs it the same for each (an idle port's empty poll).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "apps/perf/options.hpp"

namespace vpmd::perf {

struct DeviceProcessConfig {
    std::vector<std::string> socks; // one net_vhost port (server) per socket
    uint16_t queues = 1;
    Direction dir = Direction::loopback; // the driver's: io, rxonly or txonly on the device
    uint32_t size = 64;                  // frame size the device sends (driver rxonly)
    unsigned cpu = 1;                    // the device's CPU
    bool huge = true;                    // hugepages (--single-file-segments), else --no-huge
    std::string name;                    // unique: file prefix and log name
};

class DeviceProcess {
public:
    DeviceProcess() = default;
    DeviceProcess(const DeviceProcess &) = delete;
    DeviceProcess &operator=(const DeviceProcess &) = delete;
    ~DeviceProcess() { stop(); }

    // Starts testpmd and waits until every socket listens. False with `error` (which
    // quotes the end of the device's log) when it did not come up within 30 s.
    bool start(const DeviceProcessConfig &c, std::string &error);
    // Closes its stdin (testpmd then stops its ports and exits); killed after 10 s. Removes
    // its sockets, EAL runtime folder and log (the log stays when start() failed).
    void stop();

private:
    pid_t pid_ = -1;
    int stdin_fd_ = -1;
    std::string name_, log_;
    bool keep_log_ = false;
    std::vector<std::string> socks_;
};

// The arguments start() gives testpmd (argv[0] included).
std::vector<std::string> device_process_args(const DeviceProcessConfig &c);

} // namespace vpmd::perf
