// net_vpmd's log type (pmd.net.vpmd) and one-line logging through rte_log; needs no EAL.
#pragma once

#include <cstdint>

namespace vpmd::pmd {

int log_type();
// level: RTE_LOG_ERR .. RTE_LOG_DEBUG. One line; the newline is added here.
void log(uint32_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

} // namespace vpmd::pmd
